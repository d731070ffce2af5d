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
for l in $LIBCS; do add virtio/$l/console-timeout-dump kvm case_console_timeout_dump $l; done

# ---- virtio-console: stdin, stdout and stderr as three ports ----

case_console_timeout_dump() { # libc: --verbose --timeout on a program blocked on stdin: exit 124 with the vCPU and queue state
	local l=$1
	prepare "$l" stdin
	mkfifo "$W/fifo" || fail "mkfifo"
	sleep 30 >"$W/fifo" &  # a writer that never writes: the read blocks, no end of file
	local sp=$!
	STDIN=$W/fifo kvm --verbose --timeout 1 ./stdin
	kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
	expect_rc 124
	grep -q "timeout: the program ran longer than 1 seconds" "$W/k.err" || problem "no timeout line" "$(excerpt "$W/k.err")"
	grep -q "vCPU state at the timeout" "$W/k.err" || problem "no vCPU state" "$(excerpt "$W/k.err")"
	grep -qE "virtio-console: status 0xf isr 0x[0-9a-f]+, [0-9]+ notifications" "$W/k.err" ||
		problem "no virtio-console state line" "$(excerpt "$W/k.err" 40)"
	# Port 0's receive buffer is posted and taken by the device (waiting for host input), nothing used yet.
	sed -n '/virtio-console: status/,$p' "$W/k.err" |
		grep -qE "^kvmbox:   queue 0: avail idx 1 \(device took 1, avail_event [0-9]+\), used idx 0 " ||
		problem "port 0's receiveq is not shown waiting with its buffer taken" "$(grep 'queue' "$W/k.err" | sed 's/^/      /')"
	finish
}

case_console_sort() { # busybox sort reads stdin to its end of file through port 0
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp /bin/busybox ./busybox
	printf 'b\na\n' >"$W/input"
	STDIN=$W/input kvm --verbose ./busybox sort
	expect_rc 0
	expect_out_is "$(printf 'a\nb')"
	local n; n=$(virtio_stat virtio-console "queue notifications")
	[ "${n:-0}" -ge 1 ] || problem "--verbose reports no virtio-console queue notification (${n:-no line})"
	printf 'abc' >"$W/input"
	STDIN=$W/input kvm ./busybox wc -c
	expect_out_is "3"
	finish
}

case_console_streams() { # libc: stdout and stderr stay separate, each in order; 2>/dev/null drops only stderr
	local l=$1
	prepare "$l" console_flood
	kvm ./console_flood interleave 300
	(cd "$W/n" && native ./console_flood interleave 300)
	compare_native
	run_limited "$W/d" "$KVMBOX" run ./console_flood interleave 300 2>/dev/null
	cmp -s "$W/d.out" "$W/n.out" || problem "with 2>/dev/null stdout differs from native stdout"
	grep -q '^err' "$W/d.out" && problem "stderr lines reached stdout"
	finish
}

case_console_bytes() { # libc [slow]: 16 MiB of output byte-identical to native (slow: into a slowly read pipe)
	local l=$1 slow=${2:-}
	prepare "$l" console_flood
	local reader=cat; [ -n "$slow" ] && reader="$W/k/console_flood slowcat"
	timeout -k 5 "$LIMIT" sh -c "\"$KVMBOX\" run ./console_flood bytes 16 2>\"$W/k.err\" | $reader >\"$W/k.out\"; echo \$? >\"$W/k.rc\""
	(cd "$W/n" && native ./console_flood bytes 16)
	[ "$(cat "$W/k.rc" 2>/dev/null)" = 0 ] || problem "the pipeline ended with status $(cat "$W/k.rc" 2>/dev/null)"
	[ "$(stat -c %s "$W/n.out")" = $((16 << 20)) ] || problem "the native run wrote $(stat -c %s "$W/n.out") bytes"
	cmp -s "$W/n.out" "$W/k.out" || problem "stdout differs from native ($(stat -c %s "$W/k.out") bytes, native $(stat -c %s "$W/n.out"))"
	finish
}

case_console_exits() { # libc: output costs no exit to the VMM (QueueNotify on an ioeventfd, interrupts by irqfd)
	local l=$1 e1 e16
	prepare "$l" console_flood
	kvm --verbose ./console_flood bytes 1
	expect_rc 0
	e1=$(sed -n 's/.*vCPU exits to the VMM: [0-9]* (port I\/O [0-9]*, MMIO \([0-9]*\).*/\1/p' "$W/k.err")
	kvm --verbose ./console_flood bytes 16
	expect_rc 0
	e16=$(sed -n 's/.*vCPU exits to the VMM: [0-9]* (port I\/O [0-9]*, MMIO \([0-9]*\).*/\1/p' "$W/k.err")
	local n; n=$(virtio_stat virtio-console "queue notifications")
	if [ -z "$e1" ] || [ -z "$e16" ]; then problem "--verbose printed no \"vCPU exits\" line"
	# An exit per write would add hundreds for the 15 MiB more; a few differ from run to run
	# (a register access the driver's set-up or interrupt handling makes once more or less).
	elif ((e16 > e1 + 15)); then problem "MMIO exits grow with the output: $e1 for 1 MiB, $e16 for 16 MiB"
	fi
	# Kicks that arrive while the I/O thread works coalesce in its eventfd (fast CPL0: many do).
	[ "${n:-0}" -ge 1 ] || problem "--verbose reports no virtio-console queue notification (${n:-no line})"
	finish
}

case_console_notty() { # libc: redirected fds are no terminal: TIOCGWINSZ says ENOTTY on each, as natively
	local lib=$1
	prepare "$lib" console_flood
	kvm ./console_flood winsize
	(cd "$W/n" && native ./console_flood winsize)
	! grep -q "^fd 1: [0-9]" "$W/n.out" || skip "natively fd 1 is a terminal here: $(head -c 100 "$W/n.out")"
	compare_native
	finish
}

case_console_early() { # libc: a program's first small writes take no device set-up (hypercalls); later ones the device
	local lib=$1
	prepare "$lib" hello
	kvm --verbose ./hello
	(cd "$W/n" && native ./hello)
	compare_native "out rc"
	# The device was never initialized (status 0) and never notified.
	grep -q "virtio-console at .*: 0 queue notifications, 0 interrupts, status 0x0$" "$W/k.err" ||
		problem "one write set virtio-console up" "$(grep 'virtio-console' "$W/k.err" | sed 's/^/      /')"
	# Many writes: the device takes over, and the output stays whole and in order.
	prepare "$lib" console_flood
	kvm --verbose ./console_flood bytes 1
	local n; n=$(virtio_stat virtio-console "queue notifications")
	[ "${n:-0}" -ge 1 ] || problem "1 MiB of output never reached the device (${n:-no} notifications)"
	(cd "$W/n" && native ./console_flood bytes 1)
	compare_native "out rc"
	finish
}

case_console_winsize() { # libc: a terminal's size reaches TIOCGWINSZ (kvmbox under script(1)'s pty)
	local l=$1
	command -v script >/dev/null || skip "no script(1) (apt-get install bsdutils)"
	prepare "$l" console_flood
	run_limited "$W/k" script -qec "stty rows 33 cols 101; \"$KVMBOX\" run ./console_flood winsize" /dev/null
	(cd "$W/n" && run_limited "$W/n" script -qec "stty rows 33 cols 101; ./console_flood winsize" /dev/null)
	grep -q "fd 1: 33 101" "$W/n.out" || skip "script(1) gave no 33x101 terminal natively: $(head -c 100 "$W/n.out")"
	compare_native out
	finish
}

case_console_fallback() { # libc: without the irqchip the console hypercalls carry the same bytes
	local l=$1
	prepare "$l" console_flood
	KVMBOX_IRQCHIP=0 kvm --verbose ./console_flood bytes 2
	(cd "$W/n" && native ./console_flood bytes 2)
	compare_native out rc
	! grep -q "virtio-console at" "$W/k.err" || problem "a virtio-console device exists without the irqchip"
	finish
}

add virtio/busybox/console-sort-stdin kvm case_console_sort
for l in $LIBCS; do
	add virtio/$l/console-streams kvm case_console_streams $l
	add virtio/$l/console-16mib kvm case_console_bytes $l
	add virtio/$l/console-16mib-slow-pipe kvm case_console_bytes $l slow
	add virtio/$l/console-exits kvm case_console_exits $l
	add virtio/$l/console-winsize kvm case_console_winsize $l
	add virtio/$l/console-notty kvm case_console_notty $l
	add virtio/$l/console-early kvm case_console_early $l
	add virtio/$l/console-fallback kvm case_console_fallback $l
done
