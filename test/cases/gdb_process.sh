# gdb's process mode (kvmbox run --gdb): Debian's gdb in batch mode drives
# the test/e2e/progs/dbg_* programs inside the microVM, and the same script
# drives the same binary natively under gdbserver. Each case asserts what gdb
# must show, and compares with the gdbserver session wherever the behaviour
# is the same (after normalizing process ids and gdbserver-only notes).

# gdb's command line for SCRIPT: one -ex per line (batch mode goes on after a
# failing -ex; a failing line of a -x file would end the session).
gdb_args() {
	local line
	# remotetimeout: the stub answers once the guest has booted to the program's first
	# instruction; on a loaded host that can take longer than gdb's 2 s, and gdb then resends
	# qSupported and takes the second answer for its next packet's ("vMustReplyEmpty").
	GDB_ARGS=(-batch -nx -ex 'set pagination off' -ex 'set sysroot /' -ex "set debug remote ${GDB_DEBUG:-0}"
		-ex 'set remotetimeout 60')
	while IFS= read -r line; do GDB_ARGS+=(-ex "$line"); done <"$1"
}

# gdb_kvm SCRIPT PROG: the kvmbox session (gdb -> $W/kg.out, kvmbox -> $W/k.{out,err,rc}).
gdb_kvm() {
	local sock=$W/gdb.sock i
	(timeout -k 5 "$LIMIT" "$KVMBOX" run --gdb "unix:$sock" "./$2" ${GDB_PROG_ARGS:-} >"$W/k.out" 2>"$W/k.err"
		echo $? >"$W/k.rc") &
	local kpid=$!
	for i in $(seq 300); do [ -S "$sock" ] && break; sleep 0.1; done
	gdb_args "$1"
	timeout -k 5 "$LIMIT" gdb "${GDB_ARGS[@]:0:10}" -ex "target remote $sock" "${GDB_ARGS[@]:10}" "./$2" \
		>"$W/kg.out" 2>&1
	wait "$kpid"
	sed -i 's#[^ ]*test/e2e/progs/##g' "$W/kg.out"
}

# gdb_native SCRIPT PROG: the same under gdbserver (stdio pipe) -> $W/ng.out.
gdb_native() {
	gdb_args "$1"
	(cd "$W/n" && timeout -k 5 "$LIMIT" gdb "${GDB_ARGS[@]:0:10}" -ex "target remote | exec gdbserver - ./$2 ${GDB_PROG_ARGS:-}" \
		"${GDB_ARGS[@]:10}" "./$2" >"$W/ng.out" 2>&1)
	sed -i 's#[^ ]*test/e2e/progs/##g' "$W/ng.out"
}

# gdb's lines with what legitimately differs taken out: pids, thread names,
# gdbserver's own notes, the program's output (gdbserver mixes it in).
gdb_norm() {
	{ cat "$W/k.out"; echo 'stdin/stdout redirected'; } >"$W/prog.lines"
	sed -E -e 's/process [0-9]+/process P/g' -e 's/Thread [0-9]+\.[0-9]+( "[^"]*")?/Thread T/g' \
		-e 's/^Remote debugging using .*/Remote debugging using X/' "$1" |
		grep -vxF -f "$W/prog.lines" |
		grep -vE '^(Reading |warning: |Process .* created|Remote debugging using|Detaching from process|\[Detaching after|\[New Thread|\[Switching to)'
}

gdb_has() { # fixed-string [file]: gdb's output shows it
	grep -qF -- "$1" "${2:-$W/kg.out}" || problem "gdb does not show \"$1\"" "    gdb said:" "$(excerpt "${2:-$W/kg.out}" 40)"
}
gdb_count() { # n fixed-string: shown exactly n times
	local got; got=$(grep -cF -- "$2" "$W/kg.out")
	[ "$got" = "$1" ] || problem "gdb shows \"$2\" $got times, expected $1" "$(excerpt "$W/kg.out" 40)"
}
gdb_same() { # [ERE [sort]]: the normalized sessions (the lines matching ERE, maybe sorted) must be identical
	local re=${1:-.}
	local order=cat; [ "${2:-}" = sort ] && order=sort
	gdb_norm "$W/kg.out" | grep -E -- "$re" | sed -E 's/^Thread [0-9]+ ("[^"]*" )?//' | $order >"$W/kg.norm"
	gdb_norm "$W/ng.out" | grep -E -- "$re" | sed -E 's/^Thread [0-9]+ ("[^"]*" )?//' | $order >"$W/ng.norm"
	cmp -s "$W/kg.norm" "$W/ng.norm" ||
		problem "the session differs from gdbserver's" "    diff -u gdbserver kvmbox:" \
			"$(diff -u "$W/ng.norm" "$W/kg.norm" | tail -n +3 | head -30 | cut -c1-200 | sed 's/^/      /')"
}

prog_said() { # fixed-string why: the program's output (in the microVM) shows it
	grep -qF -- "$1" "$W/k.out" || problem "$2" "    the program said:" "$(excerpt "$W/k.out")"
}

need_gdb() {
	command -v gdb >/dev/null || skip "no gdb on this host (apt-get install gdb)"
	command -v gdbserver >/dev/null || skip "no gdbserver on this host (apt-get install gdbserver)"
}

# case_gdb LIBC PROG SCENARIO [ARG]: the script is gdb_script_SCENARIO, the checks gdb_check_SCENARIO;
# ARG is the program's argument.
case_gdb() {
	local l=$1 p=$2 s=$3
	GDB_PROG_ARGS=${4:-}
	need_gdb
	prepare "$l" "$p"
	"gdb_script_$s" >"$W/script.gdb"
	gdb_kvm "$W/script.gdb" "$p"
	gdb_native "$W/script.gdb" "$p"
	if [ -e "$W/k.rc" ] && [ "$(cat "$W/k.rc")" = 124 ]; then problem "kvmbox hung (killed after ${LIMIT}s)"; fi
	"gdb_check_$s"
	finish
}

# ---- break at a function, backtrace, info locals, finish, next, step, print and set, exit code ----
gdb_script_basic() {
	printf '%s\n' 'break leaf' continue bt 'info locals' finish next step 'print v' 'set var v = 10' 'print v' continue
}
gdb_check_basic() {
	gdb_has 'Breakpoint 1, leaf (x=x@entry=6) at dbg_basic.c:8'
	gdb_has '#2  0x'
	gdb_has 'in top (x=x@entry=5) at dbg_basic.c:22'
	gdb_has 'in main () at dbg_basic.c:29'
	gdb_has 'sq = 0'
	gdb_has 'Value returned is $1 = 36'
	gdb_has 'top (x=x@entry=5) at dbg_basic.c:23'
	gdb_has '$2 = 38'
	gdb_has '$3 = 10'
	gdb_has 'exited with code 024' # v * 2 = 20, as set
	expect_rc 20
	prog_said 'basic done' "the program's output is missing"
	gdb_same
}

# ---- a write watchpoint: the right line, old and new values ----
gdb_script_watch() { printf '%s\n' 'watch watched' continue continue; }
gdb_check_watch() {
	gdb_has 'Hardware watchpoint 1: watched'
	gdb_has 'Old value = 0'
	gdb_has 'New value = 37'
	gdb_has 'leaf (x=x@entry=6) at dbg_basic.c:11'
	gdb_has 'exited with code 0114'
	expect_rc 76
	gdb_same
}

# ---- catch syscall write, with the arguments ----
gdb_script_catch() { printf '%s\n' 'catch syscall write' continue 'print $rdi' 'print $rdx' 'x/s $rsi' continue continue; }
gdb_check_catch() {
	gdb_has 'Catchpoint 1 (call to syscall write)'
	gdb_has 'Catchpoint 1 (returned from syscall write)'
	gdb_has '$1 = 1'
	gdb_has '$2 = 11'
	gdb_has '"basic done\n"'
	gdb_has 'exited with code 0114'
	# gdbserver's session names the first stop "returned from" (gdb guesses the
	# direction without the stub's syscall_entry): compare the values only.
	gdb_same '^\$[0-9]|basic done|exited'
}

# ---- SIGSEGV: the faulting line and $_siginfo ----
gdb_script_segv() { printf '%s\n' continue 'print $_siginfo.si_signo' 'print $_siginfo._sifields._sigfault.si_addr' continue; }
gdb_check_segv() {
	gdb_has 'Program received signal SIGSEGV, Segmentation fault.'
	gdb_has 'poke (p=p@entry=0x10) at dbg_segv.c:6'
	gdb_has '$1 = 11'
	gdb_has '$2 = (void *) 0x10'
	gdb_has 'Program terminated with signal SIGSEGV'
	expect_rc 139
	gdb_same
}

# ---- two threads hit the same breakpoint; info threads ----
gdb_script_threads() { printf '%s\n' 'break worker_body' continue 'info threads' continue 'info threads' continue; }
gdb_check_threads() {
	gdb_count 2 'hit Breakpoint 1, worker_body'
	gdb_has 'worker_body (id=1) at dbg_threads.c:9'
	gdb_has 'worker_body (id=2) at dbg_threads.c:9'
	gdb_has '* 2    Thread 1.2'
	gdb_has '* 3    Thread 1.3'
	gdb_has 'exited with code 03'
	expect_rc 3
	# Which thread gets there first is the scheduler's business (two CPUs natively): compare as sets.
	gdb_same 'hit Breakpoint|^9|exited' sort
}

# ---- a thread blocked in a syscall: its callee-saved registers, read and written ----
gdb_script_blocked() {
	printf '%s\n' 'break stop_here' continue 'thread 2' 'p/x $rbx' 'p/x $r12' 'set var $r12 = 0x4242' 'p/x $r12' continue
}
gdb_check_blocked() {
	gdb_has '$1 = 0x1111111111111111'
	gdb_has '$2 = 0x1212121212121212'
	gdb_has '$3 = 0x4242'
	gdb_has 'exited normally'
	expect_out_is "rbx 1111111111111111 r12 4242"
	gdb_same '^\$|exited'
}

# ---- stepi: exactly one instruction each, across a syscall and page faults ----
gdb_script_steps() {
	cat >"$W/steps.gdb" <<'EOF'
break seq
continue
set $n = 0
while $pc != seq_end
  stepi
  set $n = $n + 1
end
printf "STEPS %d\n", $n
stepi
printf "BACK_IN_MAIN %d\n", $pc > (long)main && $pc < (long)main + 64
continue
EOF
	echo "source $W/steps.gdb"
}
gdb_check_steps() {
	gdb_has 'STEPS 12'
	gdb_has 'BACK_IN_MAIN 1'
	gdb_has 'exited normally'
	prog_said 'steps done 3' "the program's output is not 'steps done 3'"
	gdb_has 'STEPS 12' "$W/ng.out" # gdbserver counts the same sequence the same way
	gdb_same '^STEPS|^BACK|exited'
}

# ---- fork follows the parent; the child does not see gdb's breakpoint (copy-on-write) ----
gdb_script_fork() { printf '%s\n' 'break hit' continue bt continue; }
gdb_check_fork() {
	gdb_count 1 'Breakpoint 1, hit ()'
	gdb_has 'exited normally'
	prog_said 'child exited 5, parent hits 1' "the child did not run on untouched"
	gdb_same 'Breakpoint 1,|exited'
}

# ---- fork events: catch fork; follow-fork-mode child stops at a breakpoint in the child ----
gdb_script_catchfork() { printf '%s\n' 'catch fork' continue continue; }
gdb_check_catchfork() {
	gdb_has 'Catchpoint 1 (forked process 2)'
	gdb_has '[Detaching after fork from child process 2]'
	gdb_has 'exited normally'
	prog_said 'child exited 5, parent hits 1' "the child did not run on"
	gdb_same '^(Catchpoint 1 \(|\[Inferior)'
}
gdb_script_followchild() { printf '%s\n' 'set follow-fork-mode child' 'break hit' continue bt continue; }
gdb_check_followchild() {
	gdb_has '[Attaching after Thread 1.1 fork to child Thread 2.2]'
	gdb_has '[Inferior 1 (process 1) detached]'
	gdb_has 'Thread 2.1 hit Breakpoint 1, hit () at dbg_fork.c:14'
	gdb_has 'in main () at dbg_fork.c:21'
	gdb_has '[Inferior 2 (process 2) exited with code 05]'
	expect_rc 0 # the parent ran on, undebugged
	prog_said 'child exited 5, parent hits 1' "the parent did not run on"
	gdb_same '^(\[Attaching|\[Inferior|Thread T hit|#)'
}

# ---- exec events: catch exec (gdb reads the new program through vFile), a breakpoint after it ----
gdb_script_catchexec() {
	printf '%s\n' 'set sysroot target:' 'catch exec' 'break reached' continue 'info proc' continue continue
}
gdb_check_catchexec() {
	gdb_has 'process 1 is executing new program: /work/dbg_exec'
	gdb_has "Catchpoint 1 (exec'd /work/dbg_exec)"
	gdb_has "cmdline = './dbg_exec done'"
	gdb_has 'Breakpoint 2, reached () at dbg_exec.c:15'
	gdb_has 'exited with code 07'
	expect_rc 7
	prog_said 'done after exec' "the new program's output is missing"
	gdb_same '^(Breakpoint 2,|\[Inferior|cmdline)'
}

# ---- a watchpoint set before an exec works in the new program (the old image's is forgotten) ----
gdb_script_execwatch() { printf '%s\n' 'set sysroot target:' 'watch reached_count' continue continue continue; }
gdb_check_execwatch() {
	gdb_has 'process 1 is executing new program: /work/dbg_exec'
	gdb_count 2 'Hardware watchpoint 1: reached_count'
	gdb_has 'New value = 1'
	gdb_has 'exited with code 07'
	expect_rc 7
	gdb_same '^(Hardware|Old|New|\[Inferior)'
}

# ---- vfork: catch vfork (the parent waits for vforkdone); follow the child through its exec ----
gdb_script_catchvfork() { printf '%s\n' 'catch vfork' continue continue; }
gdb_check_catchvfork() {
	gdb_has 'Catchpoint 1 (vforked process 2)'
	gdb_has 'exited with code 03'
	expect_rc 3
	prog_said 'vfork child exited 7' "the vfork child did not run on"
	gdb_same '^(Catchpoint 1 \(|\[Inferior)'
}
gdb_script_vforkchild() { printf '%s\n' 'set sysroot target:' 'set follow-fork-mode child' 'break reached' continue bt continue; }
gdb_check_vforkchild() {
	gdb_has '[Detaching vfork parent process 1 after child exec]'
	gdb_has 'process 2 is executing new program: /work/dbg_exec'
	gdb_has 'Thread 2.1 hit Breakpoint 1, reached () at dbg_exec.c:15'
	gdb_has '[Inferior 2 (process 2) exited with code 07]'
	expect_rc 3
	prog_said 'vfork child exited 7' "the parent did not run on"
	gdb_same '^(\[Attaching|\[Detaching vfork|\[Inferior|Thread T hit)'
}

# ---- the program's own int3 and a handled signal, passed on ----
gdb_script_sigs() { printf '%s\n' continue 'signal SIGTRAP' continue; }
gdb_check_sigs() {
	gdb_has 'Program received signal SIGTRAP, Trace/breakpoint trap.'
	gdb_has 'Program received signal SIGUSR1, User defined signal 1.'
	gdb_has 'exited with code 013' # both handlers ran
	expect_rc 11
	gdb_same
}

# ---- negative: a breakpoint at an unmapped address, a fifth debug-register slot; the session goes on ----
gdb_script_bad() {
	printf '%s\n' 'break *0x10' continue 'delete' 'watch *(char*)&watched' 'watch *((char*)&watched+1)' \
		'awatch *((char*)&watched+2)' 'rwatch *((char*)&watched+3)' 'hbreak leaf' continue 'delete' \
		'break top' continue continue
}
gdb_check_bad() {
	gdb_has 'Cannot access memory at address 0x10'
	gdb_has 'You may have requested too many hardware breakpoints/watchpoints.'
	gdb_has 'Breakpoint 7, top (x=x@entry=5)'
	gdb_has 'exited with code 0114'
	expect_rc 76
	gdb_same '^(Could not|Breakpoint|Hardware|exited)'
}

# ---- read and access watchpoints (page protection), a hardware breakpoint (an int3 standing in) ----
gdb_script_rwatch() { printf '%s\n' 'rwatch counter' continue continue continue; }
gdb_check_rwatch() {
	gdb_count 3 'Hardware read watchpoint 1: counter' # set, then both reads (not the write between)
	gdb_has 'Value = 5'
	gdb_has 'Value = 12'
	gdb_has 'in reader () at dbg_rwatch.c:7'
	gdb_has 'exited with code 031'
	expect_rc 25
	gdb_same
}
gdb_script_awatch() { printf '%s\n' 'awatch counter' continue continue continue continue continue; }
gdb_check_awatch() {
	gdb_has 'Hardware access (read/write) watchpoint 1: counter'
	gdb_has 'New value = 5'
	gdb_has 'Old value = 5'
	gdb_has 'New value = 12'
	gdb_has 'Value = 12'
	gdb_has 'writer (v=12) at dbg_rwatch.c:13'
	gdb_has 'exited with code 031'
	expect_rc 25
	gdb_same
}
gdb_script_hbreak() { printf '%s\n' 'hbreak reader' continue bt continue 'info breakpoints' continue; }
gdb_check_hbreak() {
	gdb_has 'Hardware assisted breakpoint 1 at'
	gdb_count 2 'Breakpoint 1, reader () at dbg_rwatch.c:7'
	gdb_has 'breakpoint already hit 2 times'
	gdb_has 'exited with code 031'
	expect_rc 25
	gdb_same
}

# ---- info proc mappings and info proc (vFile reads of /proc/PID/* in the guest) ----
gdb_script_maps() { printf '%s\n' 'break leaf' continue 'info proc mappings' 'info proc' continue; }
gdb_check_maps() {
	gdb_has 'Mapped address spaces:'
	gdb_has 'r-xp   /work/dbg_basic'
	gdb_has '[stack]'
	gdb_has "cmdline = './dbg_basic'"
	gdb_has "cwd = '/work'"
	gdb_has "exe = '/work/dbg_basic'"
	gdb_has 'exited with code 0114'
	expect_rc 76
	# The program's own mappings (a static, non-PIE binary: the same addresses, offsets and
	# permissions as natively; the writable one differs, natively .bss is a mapping of its own).
	local re='^ +0x[0-9a-f]+ +0x[0-9a-f]+ +0x[0-9a-f]+ +0x[0-9a-f]+ +r[-x]-p +[^ ]*dbg_basic$'
	grep -E "$re" "$W/kg.out" | awk '{print $1, $2, $3, $4, $5}' >"$W/kmaps"
	grep -E "$re" "$W/ng.out" | awk '{print $1, $2, $3, $4, $5}' >"$W/nmaps"
	[ -s "$W/kmaps" ] && cmp -s "$W/kmaps" "$W/nmaps" ||
		problem "the program's read-only mappings differ from gdbserver's" "$(diff "$W/nmaps" "$W/kmaps")"
	gdb_same '^cmdline'
}

# ---- detach: the program runs on to its own end ----
gdb_script_detach() { printf '%s\n' 'break middle' continue detach; }
gdb_check_detach() {
	gdb_has 'Breakpoint 1, middle (x=x@entry=5)'
	gdb_has '[Inferior 1 (process 1) detached]'
	expect_rc 76
	prog_said 'basic done' "the program did not run on after detach"
}

for l in $LIBCS; do
	for s in basic watch catch bad detach maps; do add e2e/$l/gdb-$s kvm case_gdb $l dbg_basic $s; done
	add e2e/$l/gdb-segv kvm case_gdb $l dbg_segv segv
	add e2e/$l/gdb-threads kvm case_gdb $l dbg_threads threads
	add e2e/$l/gdb-blocked kvm case_gdb $l dbg_blocked blocked
	add e2e/$l/gdb-steps kvm case_gdb $l dbg_steps steps
	add e2e/$l/gdb-fork kvm case_gdb $l dbg_fork fork
	add e2e/$l/gdb-catch-fork kvm case_gdb $l dbg_fork catchfork
	add e2e/$l/gdb-follow-child kvm case_gdb $l dbg_fork followchild
	add e2e/$l/gdb-catch-exec kvm case_gdb $l dbg_exec catchexec exec
	add e2e/$l/gdb-exec-watch kvm case_gdb $l dbg_exec execwatch exec
	add e2e/$l/gdb-catch-vfork kvm case_gdb $l dbg_exec catchvfork vfork
	add e2e/$l/gdb-vfork-child kvm case_gdb $l dbg_exec vforkchild vfork
	add e2e/$l/gdb-sigs kvm case_gdb $l dbg_sigs sigs
	for s in rwatch awatch hbreak; do add e2e/$l/gdb-$s kvm case_gdb $l dbg_rwatch $s; done
done

GDB_RAW=${GDB_RAW:-$B/test/gdb/gdb_raw}

# ---- 0x03 stops a running program with SIGINT (the raw client: no gdb needed) ----
# In user mode (dbg_spin) and asleep in the kernel (busybox sleep, the idle HLT).
case_gdb_interrupt() { # libc|busybox prog [args...]
	[ -x "$GDB_RAW" ] || fail "$GDB_RAW is missing (make images-test)"
	need_kvmbox
	local l=$1 p=$2; shift 2
	if [ "$l" = busybox ]; then
		[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
		mkdir -p "$W/k" && cd "$W/k" || exit 1
		cp /bin/busybox ./busybox
	else
		prepare "$l" "$p"
	fi
	rm -f "$W/g.sock"
	run_limited "$W/k" "$KVMBOX" run --gdb "unix:$W/g.sock" "./$p" "$@" &
	local vm=$!
	while [ ! -S "$W/g.sock" ]; do
		kill -0 "$vm" 2>/dev/null || { problem "kvmbox exited without listening"; finish; }
		sleep 0.05
	done
	GDB_RAW_LIMIT=$LIMIT run_limited "$W/r" "$GDB_RAW" "$W/g.sock" interrupt
	wait "$vm"
	[ "$(rc "$W/r")" = 0 ] || problem "the raw client's checks failed: $(grep -m1 FAIL "$W/r.out")" "$(excerpt "$W/r.out")"
	expect_rc 137 # killed by the debugger
	finish
}
for l in $LIBCS; do add e2e/$l/gdb-interrupt kvm case_gdb_interrupt $l dbg_spin; done
# vFile: what gdb's `info proc` sends, and malformed packets (E or F-1 replies, never a crash).
case_gdb_vfile() {
	[ -x "$GDB_RAW" ] || fail "$GDB_RAW is missing (make images-test)"
	need_kvmbox
	prepare glibc dbg_basic
	rm -f "$W/g.sock"
	run_limited "$W/k" "$KVMBOX" run --gdb "unix:$W/g.sock" ./dbg_basic &
	local vm=$!
	while [ ! -S "$W/g.sock" ]; do
		kill -0 "$vm" 2>/dev/null || { problem "kvmbox exited without listening"; finish; }
		sleep 0.05
	done
	GDB_RAW_EXIT=4c GDB_RAW_LIMIT=$LIMIT run_limited "$W/r" "$GDB_RAW" "$W/g.sock" vfile
	wait "$vm"
	[ "$(rc "$W/r")" = 0 ] || problem "the raw client's checks failed: $(grep -m1 FAIL "$W/r.out")" "$(excerpt "$W/r.out")"
	expect_rc 76
	finish
}
add e2e/glibc/gdb-vfile kvm case_gdb_vfile
add busybox/gdb-interrupt-sleep kvm case_gdb_interrupt busybox busybox sleep 1000
