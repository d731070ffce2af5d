# The syscall fuzzer inside the guest (test/e2e/progs/fuzz_syscalls.c): random
# numbers and hostile arguments from child processes that may kill
# themselves. Passes when the first process finishes: the guest kernel
# survived every call (no panic, no hang). `make fuzz-syscalls` runs
# 1,000,000 calls; the suite runs FUZZ_CALLS (10,000 by default).

case_fuzz_syscalls() { # libc
	prepare "$1" fuzz_syscalls
	local n=${FUZZ_CALLS:-10000}
	LIMIT=${FUZZ_LIMIT:-300} kvm ./fuzz_syscalls "$n" 100 0x5eed
	expect_rc 0
	local made; made=$(sed -n 's/^fuzz done: \([0-9]*\) calls.*/\1/p' "$W/k.out")
	[ -n "$made" ] && [ "$made" -ge "$n" ] || problem "the fuzzer did not finish $n calls: $(tail -c 300 "$W/k.out")"
	grep -qF "guest kernel panic" "$W/k.err" && problem "guest kernel panic" "$(grep -A12 'guest kernel panic' "$W/k.err" | head -20)"
	finish
}

add fuzz/musl/syscalls kvm case_fuzz_syscalls musl
