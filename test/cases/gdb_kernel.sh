# The gdb stub in kernel mode (--gdb-kernel): Debian's gdb in batch mode
# against the guest kernel (break on a syscall function, backtrace, stepi,
# continue to the program's exit), a raw protocol client (test/gdb/gdb_raw.c,
# static: it runs inside make test-svm's guest too) feeding it bad input,
# a breakpoint without gdb, an interrupt with 0x03, and the CLI's errors.

GDB_RAW=$B/test/gdb/gdb_raw
gdb_raw_need() { [ -x "$GDB_RAW" ] || fail "$GDB_RAW is missing (make images-test)"; }
# A kernel symbol's address (hex, no 0x), read from the ELF without binutils.
kernel_sym() { # name
	"$GDB_RAW" --symbol "$KERNEL" "$1"
}

gdb_need() { # tools...
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || skip "$t is not installed here (Debian package $t)"
	done
}

# Start `kvmbox run --gdb unix:$W/g.sock --gdb-kernel ARGS...` in the
# background (results in $W/k.*, as kvm() leaves them) and wait until it
# listens; it waits for the debugger before running anything.
gdb_vm_start() {
	rm -f "$W/g.sock"
	run_limited "$W/k" "$KVMBOX" run --gdb "unix:$W/g.sock" --gdb-kernel "$@" &
	GDB_VM=$!
	while [ ! -S "$W/g.sock" ]; do
		if ! kill -0 "$GDB_VM" 2>/dev/null; then
			problem "kvmbox exited without listening on $W/g.sock"
			finish
		fi
		sleep 0.05
	done
}
gdb_vm_wait() { wait "$GDB_VM"; }

# gdb -batch on the guest kernel's symbols, connected to the VM: output in $W/g.out.
gdb_batch() { # gdb -ex commands...
	local args=() c
	for c in "$@"; do args+=(-ex "$c"); done
	MERGE=1 run_limited "$W/g" gdb -batch -nx "$KERNEL" -ex "target remote $W/g.sock" "${args[@]}"
}
gdb_out_has() { # extended regex: a line of gdb's output must match
	grep -qE -- "$1" "$W/g.out" || problem "gdb's output lacks /$1/" "$(excerpt "$W/g.out" 40)"
}

case_gdb_kernel_session() { # libc
	gdb_need gdb
	need_kvmbox
	prepare "$1" exit
	gdb_vm_start ./exit 3
	gdb_batch 'break sys_exit_group' 'continue' 'bt' 'x/2i $pc' 'stepi' 'p/x $pc' 'info threads' 'delete' 'continue'
	gdb_vm_wait
	gdb_out_has '^Breakpoint 1 at 0x[0-9a-f]+: file guest/kernel/proc\.c'
	gdb_out_has '^Breakpoint 1, sys_exit_group \(status=3\) at guest/kernel/proc\.c'
	gdb_out_has '^#0  sys_exit_group \(status=3\)'
	gdb_out_has '^#1  0x[0-9a-f]+ in [a-z_]+ '
	# stepi lands on the instruction after the breakpoint's (stepping over
	# a debug-register breakpoint with it disabled, as this host needs).
	local next pc
	next=$(grep -A1 '^=> 0x' "$W/g.out" | sed -n '2s/^ *\(0x[0-9a-f]*\) .*/\1/p')
	pc=$(sed -n 's/^\$1 = \(0x[0-9a-f]*\)$/\1/p' "$W/g.out")
	[ -n "$next" ] && [ "$pc" = "$next" ] ||
		problem "after stepi \$pc is '$pc', expected the next instruction '$next'" "$(excerpt "$W/g.out" 40)"
	gdb_out_has '^\* 1    Thread 1 '
	gdb_out_has '^\[Inferior 1 \(Remote target\) exited with code 03\]$'
	expect_rc 3
	expect_out_is "exiting with 3 via exit"
	expect_err_has "waiting for gdb on unix:$W/g.sock"
	finish
}

case_gdb_kernel_bad_input() {
	gdb_raw_need
	need_kvmbox
	prepare musl exit
	local start; start=$(kernel_sym _start) || fail "no _start in $KERNEL"
	gdb_vm_start ./exit 3
	# Kernel text for the breakpoint and watchpoint addresses: always mapped.
	GDB_RAW_LIMIT=$LIMIT run_limited "$W/r" "$GDB_RAW" "$W/g.sock" bad-input "$start"
	gdb_vm_wait
	[ "$(rc "$W/r")" = 0 ] || problem "the raw client's checks failed: $(grep -m1 FAIL "$W/r.out")" "$(tail -5 "$W/r.out" | excerpt /dev/stdin)"
	grep -q "^ok the program's exit is reported with W" "$W/r.out" || problem "the session did not reach the program's exit"
	expect_rc 3
	finish
}

# Z0 on the exit syscall's function, hit, stepped off, removed: without gdb.
case_gdb_kernel_raw_breakpoint() {
	gdb_raw_need
	need_kvmbox
	prepare musl exit
	local fn; fn=$(kernel_sym sys_exit_group) || fail "no sys_exit_group in $KERNEL"
	gdb_vm_start ./exit 3
	GDB_RAW_LIMIT=$LIMIT run_limited "$W/r" "$GDB_RAW" "$W/g.sock" breakpoint "$fn"
	gdb_vm_wait
	[ "$(rc "$W/r")" = 0 ] || problem "the raw client's checks failed: $(grep -m1 FAIL "$W/r.out")" "$(tail -5 "$W/r.out" | excerpt /dev/stdin)"
	grep -q "^ok the program's exit is reported with W" "$W/r.out" || problem "the session did not reach the program's exit"
	expect_rc 3
	expect_out_is "exiting with 3 via exit"
	finish
}

case_gdb_kernel_interrupt() {
	gdb_raw_need
	need_kvmbox
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp /bin/busybox ./busybox
	gdb_vm_start ./busybox sleep 1000
	GDB_RAW_LIMIT=$LIMIT run_limited "$W/r" "$GDB_RAW" "$W/g.sock" interrupt
	gdb_vm_wait
	[ "$(rc "$W/r")" = 0 ] || problem "the raw client's checks failed: $(grep -m1 FAIL "$W/r.out")"
	expect_rc 137 # killed by the debugger: 128 + SIGKILL
	finish
}

# The target description as gdb reads it: fs_base, gs_base, orig_rax, eflags
# flags, x87 and SSE registers; writes (P/G) read back, also the FPU state.
case_gdb_kernel_registers() {
	gdb_need gdb
	need_kvmbox
	prepare musl exit
	gdb_vm_start ./exit 3
	gdb_batch 'info registers fs_base gs_base orig_rax eflags cs' 'p $st7' 'p $fctrl' \
		'set $rbx = 0x1234abcd' 'p/x $rbx' 'set var $xmm15.uint128 = 77' 'p $xmm15.uint128' \
		'set $fs_base = 0x5000' 'p/x $fs_base' 'p/x $pc' 'continue'
	gdb_vm_wait
	gdb_out_has '^fs_base +0x0 +0$'
	gdb_out_has '^gs_base +0x[0-9a-f]{8,} '
	gdb_out_has '^orig_rax +0xffffffffffffffff +-1$'
	gdb_out_has '^eflags +0x2 +\[ \]$'
	gdb_out_has '^cs +0x8 +8$'
	gdb_out_has '^\$1 = 0$'
	gdb_out_has '^\$3 = 0x1234abcd$'
	gdb_out_has '^\$4 = 77$'
	gdb_out_has '^\$5 = 0x5000$'
	gdb_out_has '^\$6 = 0x[0-9a-f]+$'
	# The writes were real: the kernel (entry point, rbx and fs_base unused there) still runs the program.
	gdb_out_has 'exited with code 03\]$'
	expect_rc 3
	finish
}

# kill ends the VM (137) after gdb got its answer; detach lets the program finish.
case_gdb_kernel_kill_detach() { # kill|detach
	gdb_need gdb
	need_kvmbox
	prepare musl exit
	gdb_vm_start ./exit 3
	gdb_batch 'break sys_exit_group' 'continue' "$1"
	gdb_vm_wait
	gdb_out_has '^Breakpoint 1, sys_exit_group \(status=3\)'
	if [ "$1" = kill ]; then
		gdb_out_has '^\[Inferior 1 \(Remote target\) killed\]$'
		expect_rc 137
	else
		gdb_out_has '^\[Inferior 1 \(Remote target\) detached\]$'
		expect_rc 3
		expect_out_is "exiting with 3 via exit"
	fi
	finish
}

# 0x03 while the program is blocked reading stdin (a fifo nobody writes):
# through virtio-console (the vCPU idles in the guest) and, with
# KVMBOX_IRQCHIP=0, through the console hypercall (the vCPU thread blocks
# in the VMM's read: the kick's EINTR must park it there).
case_gdb_kernel_interrupt_stdin() { # irqchip: default|0
	gdb_raw_need
	need_kvmbox
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp /bin/busybox ./busybox
	mkfifo "$W/in"
	sleep "$LIMIT" >"$W/in" &
	local writer=$!
	if [ "$1" = 0 ]; then export KVMBOX_IRQCHIP=0; fi
	STDIN=$W/in gdb_vm_start ./busybox cat
	unset KVMBOX_IRQCHIP
	GDB_RAW_INTERRUPT_AFTER_MS=1000 GDB_RAW_LIMIT=$LIMIT run_limited "$W/r" "$GDB_RAW" "$W/g.sock" interrupt
	gdb_vm_wait
	kill "$writer" 2>/dev/null
	[ "$(rc "$W/r")" = 0 ] || problem "the raw client's checks failed: $(grep -m1 FAIL "$W/r.out")"
	expect_rc 137
	finish
}

# gdb through tcp, on a port the kernel picks (tcp::0), named on stderr.
case_gdb_kernel_tcp() {
	gdb_need gdb
	need_kvmbox
	prepare musl exit
	run_limited "$W/k" "$KVMBOX" run --gdb tcp:127.0.0.1:0 --gdb-kernel ./exit 7 &
	GDB_VM=$!
	local port=""
	while [ -z "$port" ]; do
		kill -0 "$GDB_VM" 2>/dev/null || { problem "kvmbox exited without listening"; finish; }
		port=$(sed -n 's/^kvmbox: waiting for gdb on tcp:127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$W/k.err" 2>/dev/null)
		[ -n "$port" ] || sleep 0.05
	done
	MERGE=1 run_limited "$W/g" gdb -batch -nx "$KERNEL" -ex "target remote 127.0.0.1:$port" \
		-ex 'break sys_exit_group' -ex 'continue' -ex 'continue'
	gdb_vm_wait
	gdb_out_has '^Breakpoint 1 at 0x'
	gdb_out_has '^Breakpoint 1, sys_exit_group \(status=7\)'
	gdb_out_has 'exited with code 07\]$'
	expect_rc 7
	finish
}

case_gdb_cli_errors() {
	need_kvmbox
	prepare musl exit
	kvm --gdb tcp:0.0.0.0:1234 --gdb-kernel ./exit 0
	expect_rc 125
	expect_err_has "is not a loopback address"
	expect_err_has "--gdb-allow-remote"
	kvm --gdb ftp:x --gdb-kernel ./exit 0
	expect_rc 125
	expect_err_has "expected tcp:HOST:PORT or unix:PATH"
	kvm --gdb tcp:127.0.0.1:99999 --gdb-kernel ./exit 0
	expect_rc 125
	expect_err_has "bad port 99999"
	kvm --gdb-kernel ./exit 0
	expect_rc 125
	expect_err_has "--gdb-kernel needs --gdb ADDRESS"
	: >"$W/k/plain-file"
	kvm --gdb "unix:$W/k/plain-file" --gdb-kernel ./exit 0
	expect_rc 125
	expect_err_has "exists and is not a socket"
	finish
}

add gdb/kernel/session-musl kvm case_gdb_kernel_session musl
add gdb/kernel/session-glibc kvm case_gdb_kernel_session glibc
add gdb/kernel/bad-input kvm case_gdb_kernel_bad_input
add gdb/kernel/raw-breakpoint kvm case_gdb_kernel_raw_breakpoint
add gdb/kernel/interrupt kvm case_gdb_kernel_interrupt
add gdb/kernel/interrupt-stdin kvm case_gdb_kernel_interrupt_stdin default
add gdb/kernel/interrupt-stdin-hypercall kvm case_gdb_kernel_interrupt_stdin 0
add gdb/kernel/tcp kvm case_gdb_kernel_tcp
add gdb/kernel/registers kvm case_gdb_kernel_registers
add gdb/kernel/kill kvm case_gdb_kernel_kill_detach kill
add gdb/kernel/detach kvm case_gdb_kernel_kill_detach detach
add gdb/cli-errors kvm case_gdb_cli_errors

# The libFuzzer target over framing and packet parsing (test/fuzz/fuzz_gdb.c),
# a short deterministic run; `make fuzz-gdb` is the long one.
case_gdb_fuzz() {
	local bin=$B/test/fuzz/fuzz_gdb
	[ -x "$bin" ] || skip "$bin is not built (needs clang and libclang-rt-14-dev)"
	"$bin" -help=1 >/dev/null 2>&1 || skip "$bin does not run here"
	mkdir -p "$W/corpus"
	run_limited "$W/f" "$bin" -runs="${FUZZ_GDB_RUNS:-30000}" -seed=1 "$W/corpus" "$ROOT/test/fuzz/gdb-corpus"
	[ "$(rc "$W/f")" = 0 ] || problem "the fuzzer found a failure (exit $(rc "$W/f"))" "$(grep -m3 -E 'ERROR|SUMMARY|abort' "$W/f.err")"
	grep -qE '^Done [0-9]+ runs' "$W/f.err" || problem "the fuzzer did not finish its runs" "$(tail -3 "$W/f.err" | excerpt /dev/stdin)"
	finish
}
add gdb/fuzz-packets native case_gdb_fuzz
