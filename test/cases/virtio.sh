# virtio devices (sourced by test/run-tests.sh): virtio-rng feeds getrandom and
# /dev/urandom; the fallback without a device; the descriptor-chain fuzzer's short run.

# The --verbose device line: virtio_stat DEVICE WORD -> the number before WORD ("" if absent).
virtio_stat() {
	sed -n "s/.*$1 at .* \([0-9][0-9]*\) $2.*/\1/p" "$W/k.err" | head -n 1
}

case_rng_pattern() { # libc: the VMM's test-only rng mode serves 0x5a: every random byte is 0x5a
	local l=$1
	prepare "$l" rng_check
	KVMBOX_TEST_RNG_PATTERN=0x5a kvm --verbose ./rng_check pattern 0x5a
	expect_rc 0
	expect_out_is "PASS rng_check pattern"
	local n; n=$(virtio_stat virtio-rng "queue notifications")
	[ "${n:-0}" -ge 1 ] || problem "--verbose reports no virtio-rng queue notification (${n:-no line})"
	# The same program natively gets real entropy, never a page of 0x5a.
	(cd "$W/n" && native ./rng_check pattern 0x5a)
	[ "$(rc "$W/n")" = 1 ] || problem "the native run passed the pattern check (the check cannot fail?)"
	finish
}

case_rng_entropy() { # libc: real entropy from the device: not constant, different per run
	local l=$1
	prepare "$l" rng_check
	kvm --verbose ./rng_check entropy
	expect_rc 0
	local a; a=$(head -n 1 "$W/k.out")
	grep -qx "PASS rng_check entropy" "$W/k.out" || problem "no PASS line" "$(excerpt "$W/k.out")"
	local n; n=$(virtio_stat virtio-rng "queue notifications")
	[ "${n:-0}" -ge 1 ] || problem "--verbose reports no virtio-rng queue notification (${n:-no line})"
	kvm ./rng_check entropy
	[ "$(head -n 1 "$W/k.out")" != "$a" ] || problem "two runs drew the same 16 bytes: $a"
	finish
}

case_rng_fallback() { # libc: without an interrupt controller there is no device: the seeded generator
	local l=$1
	prepare "$l" rng_check
	KVMBOX_IRQCHIP=0 KVMBOX_TEST_RNG_PATTERN=0x5a kvm --verbose ./rng_check entropy small
	expect_rc 0
	grep -qx "PASS rng_check entropy" "$W/k.out" || problem "no PASS line" "$(excerpt "$W/k.out")"
	! grep -q "virtio-rng at" "$W/k.err" || problem "a virtio-rng device exists without the irqchip"
	finish
}

case_fuzz_virtq_short() { # the descriptor-chain walker under libFuzzer + ASan/UBSan, fixed seed and run count
	local f=$B/test/fuzz/fuzz_virtq
	[ -x "$f" ] || fail "$f is missing (make unit-bins)"
	run_limited "$W/f" "$f" -runs=300000 -seed=1 -max_len=4097
	if [ "$(rc "$W/f")" != 0 ]; then
		problem "fuzz_virtq exited with $(rc "$W/f")" "$(grep -m5 -E 'ERROR|SUMMARY|runtime error' "$W/f.err" | sed 's/^/      /')"
	fi
	grep -q "Done 300000 runs" "$W/f.err" || problem "no \"Done 300000 runs\" line" "$(excerpt "$W/f.err" 5)"
	finish
}

for l in $LIBCS; do
	add virtio/$l/rng-pattern kvm case_rng_pattern $l
	add virtio/$l/rng-entropy kvm case_rng_entropy $l
	add virtio/$l/rng-fallback kvm case_rng_fallback $l
	add virtio/$l/rng-efault kvm case_e2e_same $l rng_check efault
done
add fuzz/virtq-short unit case_fuzz_virtq_short
