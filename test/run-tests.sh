#!/bin/bash
# kvmbox's test runner: host unit tests, then end-to-end runs of real programs
# in microVMs, checked against the same binaries run natively. Builds nothing
# (make test builds first). Prints one line per case -- PASS name / FAIL name:
# why (details indented below) / SKIP name: reason -- and, last, exactly one
# line "N passed, N failed, N skipped". Exits 1 if anything failed.
#
#   test/run-tests.sh [--unit | --e2e] [--list]
#   T=regex    run only the cases whose name matches (bash =~, unanchored)
#   JOBS=n     parallel cases (default 2)
#   BUILD=dir  build directory (default build)
#   KEEP=1     keep the scratch directory (printed at the end)
#   SKIP_CASES=file   SKIP the cases whose name matches a line's ERE, with that
#              line's reason: "ERE<TAB>reason" (for platform limits probed by
#              the caller, e.g. test/svm: QEMU TCG raises no #AC)
#
# Case names: unit/<binary>, native/<libc>/<prog> (the test programs on the
# host, no KVM), e2e/<libc>/<what>, err/<what>, initrd/<what>. Every case that
# starts a microVM is SKIPped (never passed) when /dev/kvm cannot be opened.

set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
T=${T:-}
JOBS=${JOBS:-2}
KVMBOX=$B/kvmbox
KERNEL=$B/guest/kernel.elf
LIBCS="musl glibc"
MODE=all
LIST=0
for a in "$@"; do
	case $a in
	--unit) MODE=unit ;;
	--e2e) MODE=e2e ;;
	--list) LIST=1 ;;
	*) echo "usage: $0 [--unit|--e2e] [--list]" >&2; exit 2 ;;
	esac
done

ulimit -s 8192 2>/dev/null # native runs get the guest's 8 MiB stack limit (crash_stack)
ulimit -c 0 # crashing test programs must not leave cores (or "dumped core" notes)
# Per-case wall-clock limit for every program we start (a hang is a FAIL).
LIMIT=120

# ---- can we run microVMs at all? -------------------------------------------------
# (KVM_DEV only exists to exercise this check.)
KVM_DEV=${KVM_DEV:-/dev/kvm}
KVM_SKIP=""
if [ ! -e "$KVM_DEV" ]; then
	KVM_SKIP="$KVM_DEV does not exist (no KVM on this host)"
elif ! ( exec 3<>"$KVM_DEV" ) 2>/dev/null; then
	KVM_SKIP="$KVM_DEV cannot be opened read-write by $(id -un) (add the user to group kvm)"
fi

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/kvmbox-tests.XXXXXX") || exit 2
cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then echo "scratch directory kept: $SCRATCH" >&2; else rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ==== helpers used inside a case (each case runs in its own subshell, in $W) ======

# Finish the case. Details for FAIL come from $W/problems (one problem per block).
pass() { echo PASS >"$W/result"; exit 0; }
skip() { printf 'SKIP\n%s\n' "$1" >"$W/result"; exit 0; }
fail() { printf 'FAIL\n%s\n' "$1" >"$W/result"; [ -s "$W/problems" ] && cat "$W/problems" >>"$W/result"; exit 0; }
# Record a problem (first line = summary, further lines = details) and go on.
# The last microVM run's stderr is appended once (unless already shown).
problem() {
	local first=$1; shift
	echo "$first" >>"$W/summaries"
	{
		echo "- $first"
		for l in "$@"; do [ -n "$l" ] && printf '%s\n' "$l"; done
		if [ -s "$W/k.err" ] && ! cmp -s "$W/k.err" "$W/shown.err"; then
			echo "    kvmbox stderr:"; excerpt "$W/k.err" 12; cp "$W/k.err" "$W/shown.err"
		fi
	} >>"$W/problems"
}
# PASS if no problem was recorded, else FAIL with the summaries joined by "; ".
finish() {
	if [ -s "$W/summaries" ]; then fail "$(awk '!seen[$0]++' "$W/summaries" | paste -sd';' | sed 's/;/; /g')"; fi
	pass
}
excerpt() { # file [lines]: the first lines of a file, indented, for a FAIL's details
	if [ -s "$1" ]; then head -n "${2:-15}" "$1" | cut -c1-200 | sed 's/^/      | /'; else echo "      (empty)"; fi
}

# Run a command with the wall-clock limit: run_limited OUT cmd...
# -> OUT.out OUT.err OUT.rc (OUT.hung if the limit killed it). stdin is $STDIN or
# /dev/null; MERGE=1 sends stderr to OUT.out too.
run_limited() {
	local o=$1; shift
	local t0=$SECONDS
	if [ -n "${MERGE:-}" ]; then # stdout and stderr into one file, in the order written
		timeout -k 5 "$LIMIT" "$@" <"${STDIN:-/dev/null}" >"$o.out" 2>&1; : >"$o.err"
	else
		timeout -k 5 "$LIMIT" "$@" <"${STDIN:-/dev/null}" >"$o.out" 2>"$o.err"
	fi
	echo $? >"$o.rc"
	if (( SECONDS - t0 >= LIMIT )); then echo "killed after ${LIMIT}s" >"$o.hung"; fi
	return 0
}
# kvmbox run ARGS... in the current directory, results in $W/k.*
kvm() { run_limited "$W/k" "$KVMBOX" run "$@"; }
# The native counterpart, results in $W/n.*
native() { run_limited "$W/n" "$@"; }
rc() { cat "$1.rc"; }

# Set up $W/k and $W/n with a copy of program NAME of libc L as ./NAME; cd to $W/k.
prepare() { # libc prog
	local src=$B/test/$1/$2
	[ -f "$src" ] || fail "$src is missing (make images-test)"
	mkdir -p "$W/k" "$W/n"
	cp "$src" "$W/k/$2" && cp "$src" "$W/n/$2"
	cd "$W/k" || exit 1
}

# Compare the microVM run with the native one: stdout, stderr, exit status.
# what = "out err rc" subset (default all three).
compare_native() {
	local what=${1:-out err rc} x
	if [ -e "$W/k.hung" ]; then
		problem "kvmbox hung (killed after ${LIMIT}s)"
		return
	fi
	for x in $what; do
		case $x in
		rc)
			[ "$(rc "$W/k")" = "$(rc "$W/n")" ] ||
				problem "exit status $(rc "$W/k"), native $(rc "$W/n")"
			;;
		out | err)
			if ! cmp -s "$W/n.$x" "$W/k.$x"; then
				local name=stdout; [ $x = err ] && name=stderr
				problem "$name differs from native" "    diff -u native kvmbox ($name):" \
					"$(diff -u "$W/n.$x" "$W/k.$x" | tail -n +3 | head -25 | cut -c1-200 | sed 's/^/      /')"
			fi
			;;
		esac
	done
}

expect_rc() { # want [file-prefix]
	local o=${2:-$W/k} got; got=$(rc "${2:-$W/k}")
	local e=""; [ "$o" != "$W/k" ] && e="$(echo "    stderr:"; excerpt "$o.err" 8)"
	if [ -e "$o.hung" ]; then problem "hung (killed after ${LIMIT}s)" "$e"
	elif [ "$got" != "$1" ]; then problem "exit status $got, expected $1" "$e"
	fi
}
# stderr (or the given file) contains a fixed string (case-insensitive with -i).
expect_err_has() { # [-i] string [file]
	local flags=-qF
	if [ "$1" = -i ]; then flags=-qiF; shift; fi
	grep $flags -- "$1" "${2:-$W/k.err}" || problem "stderr lacks \"$1\""
}
expect_out_is() { # expected-text
	printf '%s\n' "$1" >"$W/expected"
	cmp -s "$W/expected" "$W/k.out" ||
		problem "stdout is not as expected" "    diff -u expected kvmbox:" \
			"$(diff -u "$W/expected" "$W/k.out" | tail -n +3 | head -25 | sed 's/^/      /')"
}

need_kvmbox() {
	[ -x "$KVMBOX" ] || fail "$KVMBOX is missing (make all)"
	[ -f "$KERNEL" ] || fail "$KERNEL is missing (make all)"
}

# ==== the cases ===================================================================

# ---- unit tests: TAP binaries; one case per binary ----
case_unit() { # binary [args...]
	local bin=$1; shift
	run_limited "$W/u" "$bin" "$@"
	local r; r=$(rc "$W/u")
	if [ -e "$W/u.hung" ]; then fail "hung (killed after ${LIMIT}s)"; fi
	local notok; notok=$(grep -c '^not ok' "$W/u.out")
	local plan; plan=$(grep -m1 -E '^1\.\.[0-9]+' "$W/u.out")
	if [ -z "$plan" ]; then
		problem "exit status $r, no TAP plan line (crashed?)" "    last lines of stdout:" \
			"$(tail -n 5 "$W/u.out" | sed 's/^/      /')" "    stderr:" "$(excerpt "$W/u.err" 8)"
	elif [ "$r" != 0 ] || [ "$notok" != 0 ]; then
		problem "exit status $r, $notok of ${plan#1..} checks failed" \
			"$(grep -E '^not ok|^#' "$W/u.out" | head -20 | sed 's/^/      /')"
	fi
	finish
}

case_unit_elf() {
	local args=() l f
	for l in $LIBCS; do
		f=$B/test/$l/hello; [ -f "$f" ] && args+=("static:$f")
		f=$B/test/$l/hello-pie; [ -f "$f" ] && args+=("pie:$f")
		f=$B/test/$l/malloc; [ -f "$f" ] && args+=("static:$f")
	done
	f=$B/test/bad/dynamic; [ -f "$f" ] && args+=("dynamic:$f")
	f=$B/images/hello-musl; [ -f "$f" ] && args+=("static:$f")
	if [ -f /bin/busybox ] && ! readelf -l /bin/busybox 2>/dev/null | grep -q INTERP; then
		args+=("static:/bin/busybox")
	fi
	[ ${#args[@]} -ge 3 ] || fail "test programs missing under $B/test (make images-test)"
	case_unit "$B/test/unit/test_elf" "${args[@]}"
}

case_unit_cpio() {
	local r=$W/root
	mkdir -p "$r/bin" "$r/etc/deep/er" "$r/empty"
	printf 'hello\n' >"$r/etc/a.txt"
	: >"$r/etc/zero-length"
	printf 'x' >"$r/etc/deep/er/one-byte"
	head -c 70001 /dev/urandom >"$r/bin/random.bin"
	cp "$B/test/musl/hello" "$r/bin/hello" 2>/dev/null || printf 'stand-in\n' >"$r/bin/hello"
	chmod 755 "$r/bin/hello"
	local name="name with spaces"
	printf 'spaces\n' >"$r/etc/$name"
	(cd "$r" && find . -mindepth 1 | sed 's|^\./||' | cpio -o -H newc --quiet >"$W/real.cpio") ||
		fail "cpio -o -H newc failed"
	case_unit "$B/test/unit/test_cpio" "$W/real.cpio" "$r" etc/a.txt etc/zero-length etc/deep/er/one-byte \
		bin/random.bin bin/hello "etc/$name"
}

# ---- native: the test programs themselves, on the host (no KVM) ----
case_native_selfcheck() { # libc prog [args]
	local l=$1 p=$2; shift 2
	prepare "$l" "$p"
	cd "$W/n" || exit 1
	native "./$p" "$@"
	expect_rc 0 "$W/n"
	grep -qx "PASS $p" "$W/n.out" || problem "no \"PASS $p\" line natively" "$(excerpt "$W/n.out")"
	finish
}

case_native_clock() { # libc: the host time as argv[1], taken when the case runs
	case_native_selfcheck "$1" clock "$(date +%s)"
}

# The fatal-signal programs, natively: they die of the right signal, and
# --catch reports si_code/si_addr (the microVM cases use those as expected).
CRASHES="crash_null crash_rodata crash_ud2 crash_div0 crash_int3 crash_hlt crash_cli crash_align crash_abort crash_stack"
declare -A CRASH_SIG=([crash_null]=11 [crash_rodata]=11 [crash_ud2]=4 [crash_div0]=8 [crash_int3]=5
	[crash_hlt]=11 [crash_cli]=11 [crash_align]=7 [crash_abort]=6 [crash_stack]=11)
# Where the fault address is not the same natively and in the guest: for
# abort() si_addr overlays si_pid/si_uid; stack addresses differ.
declare -A CRASH_ANY_ADDR=([crash_abort]=1 [crash_stack]=1)
# The function the backtrace must name (an ERE): abort() dies inside libc
# (raise, pthread_kill), whose frames have no frame pointer, so the walk may
# stop there; a stack overflow's backtrace is all trigger_stack (and is cut
# off before main).
declare -A CRASH_BT=([crash_abort]='raise|abort|pthread_kill')
declare -A CRASH_BT_MAIN=([crash_abort]=0 [crash_stack]=0)
declare -A SIG_NAME=([4]=SIGILL [5]=SIGTRAP [6]=SIGABRT [7]=SIGBUS [8]=SIGFPE [11]=SIGSEGV)
# si_code names as in <asm-generic/siginfo.h>, keyed by signal:code.
declare -A CODE_NAME=([11:1]=SEGV_MAPERR [11:2]=SEGV_ACCERR [11:128]=SI_KERNEL [4:1]=ILL_ILLOPC [4:2]=ILL_ILLOPN
	[4:5]=ILL_PRVOPC [8:1]=FPE_INTDIV [7:1]=BUS_ADRALN [7:2]=BUS_ADRERR [5:1]=TRAP_BRKPT [5:2]=TRAP_TRACE
	[5:128]=SI_KERNEL [6:-6]=SI_TKILL [6:0]=SI_USER)

case_native_crash() { # libc prog
	local l=$1 p=$2 sig=${CRASH_SIG[$2]}
	prepare "$l" "$p"
	cd "$W/n" || exit 1
	native "./$p"
	expect_rc $((128 + sig)) "$W/n"
	native "./$p" --catch
	grep -q "^caught signo=$sig " "$W/n.out" ||
		problem "--catch did not report signal $sig natively" "$(excerpt "$W/n.out")"
	finish
}

# ---- end-to-end: microVM vs native ----
case_e2e_same() { # libc prog [args...]: everything identical to native
	local l=$1 p=$2; shift 2
	prepare "$l" "$p"
	kvm "./$p" "$@"
	(cd "$W/n" && native "./$p" "$@")
	compare_native
	finish
}

case_e2e_hello_many() { # libc: 500 arguments and a 10 KB one
	local l=$1 args=() i
	for ((i = 0; i < 500; i++)); do args+=("arg-$i"); done
	args+=("$(head -c 10000 /dev/zero | tr '\0' 'x')" "" "last")
	case_e2e_same "$l" hello "${args[@]}"
}

case_e2e_env() { # libc: --env vs env -i
	local l=$1
	prepare "$l" env
	kvm --env A=1 --env 'B=x y' ./env
	(cd "$W/n" && native env -i A=1 'B=x y' ./env)
	compare_native
	finish
}

case_e2e_env_edge() { # libc: an '=' in a value, an empty value, no variables
	local l=$1
	prepare "$l" env
	kvm --env 'C=a=b' --env 'D=' --env 'E=  spaced  ' ./env
	(cd "$W/n" && native env -i 'C=a=b' 'D=' 'E=  spaced  ' ./env)
	compare_native
	kvm ./env
	(cd "$W/n" && native env -i ./env)
	compare_native
	finish
}

case_e2e_stdio_merged() { # libc: 2>&1 keeps the order in which the program wrote
	local l=$1
	prepare "$l" stdio
	MERGE=1 kvm ./stdio
	(cd "$W/n" && MERGE=1 native ./stdio)
	compare_native
	finish
}

case_e2e_stdin() { # libc: the host's stdin reaches the program, then EOF
	local l=$1
	prepare "$l" stdin
	make_input "$W/input"
	STDIN=$W/input kvm ./stdin
	(cd "$W/n" && STDIN=$W/input native ./stdin)
	compare_native
	finish
}

case_e2e_clock() { # libc: the host time as argv[1]
	local l=$1
	prepare "$l" clock
	kvm ./clock "$(date +%s)"
	(cd "$W/n" && native ./clock "$(date +%s)")
	compare_native
	finish
}

case_e2e_props() { # libc prog: stdout and status as native (stderr has raw values)
	local l=$1 p=$2
	prepare "$l" "$p"
	kvm "./$p"
	(cd "$W/n" && native "./$p")
	compare_native "out rc"
	finish
}

make_input() { # a deterministic ~150 KB file with text and binary bytes: make_input PATH
	{ printf 'first line of the input file\n'; seq 1 20000; printf '\0\1\2\377 binary tail\n'; } >"$1"
}

case_e2e_readfile() { # libc: --file HOST lands at /work/<basename>; read by relative and absolute path
	local l=$1
	prepare "$l" readfile
	mkdir -p "$W/host"
	make_input "$W/host/input.data"
	cp "$W/host/input.data" "$W/n/input.data"
	kvm --file "$W/host/input.data" ./readfile input.data
	(cd "$W/n" && native ./readfile input.data)
	compare_native
	kvm --file "$W/host/input.data" ./readfile /work/input.data
	compare_native
	finish
}

case_e2e_cwd() { # libc: the program runs in /work as ./prog (guest-only expectations)
	local l=$1
	prepare "$l" cwd
	kvm ./cwd
	expect_rc 0
	expect_out_is "cwd=/work
argv0=./cwd
stat(argv[0]): regular file
stat(cwd/basename): found"
	finish
}

case_e2e_verbose_enosys() { # libc: --verbose reports syscall 999 once although called twice
	local l=$1
	prepare "$l" enosys
	kvm --verbose ./enosys
	(cd "$W/n" && native ./enosys)
	compare_native "out rc"
	local n; n=$(grep -cw 999 "$W/k.err")
	[ "$n" = 1 ] || problem "--verbose: $n stderr lines name syscall 999, expected exactly 1"
	finish
}

case_e2e_verbose_each() { # libc: --verbose names every distinct unknown number, in and past the table
	local l=$1 nr n
	prepare "$l" enosys
	kvm --verbose ./enosys
	expect_rc 0
	for nr in 999 511 512 100000; do
		n=$(grep -cw -- "$nr" "$W/k.err")
		[ "$n" = 1 ] || problem "--verbose: $n stderr lines name syscall $nr, expected exactly 1"
	done
	finish
}

case_e2e_crash() { # libc prog: fatal signal -> 128+N and a crash report with Linux's si_code/si_addr
	local l=$1 p=$2 sig=${CRASH_SIG[$2]}
	local name=${SIG_NAME[$sig]} fn=${CRASH_BT[$2]:-trigger_${2#crash_}}
	prepare "$l" "$p"
	(cd "$W/n" && native "./$p" --catch)
	local caught; caught=$(grep -m1 '^caught ' "$W/n.out")
	[[ $caught =~ ^caught\ signo=([0-9]+)\ code=(-?[0-9]+)\ addr=(0x[0-9a-f]+)$ ]] ||
		fail "the native --catch run did not report the signal: $(head -c 200 "$W/n.out")"
	local code=${BASH_REMATCH[2]} addr=${BASH_REMATCH[3]}
	local cname=${CODE_NAME[$sig:$code]:-}
	[ -n "$cname" ] || fail "no name known for si_code $code of signal $sig (extend CODE_NAME)"
	(cd "$W/n" && native "./$p")
	kvm "./$p"
	expect_rc $((128 + sig))
	compare_native out
	grep -qE "program .*$p.* killed by signal $name \($sig\)" "$W/k.err" ||
		problem "no \"program ...$p... killed by signal $name ($sig)\" line"
	if ((code <= 0)); then # sent by a process (SI_USER, SI_TKILL...): there is no fault address
		expect_err_has "si_code $cname ($code)"
	elif [ -n "${CRASH_ANY_ADDR[$p]:-}" ]; then
		grep -qE "si_code $cname \($code\), fault address 0x[0-9a-f]{16}" "$W/k.err" ||
			problem "no \"si_code $cname ($code), fault address 0x...\" line"
	else
		expect_err_has "si_code $cname ($code), fault address $addr"
	fi
	if grep -q 'backtrace:' "$W/k.err"; then
		sed -n '/backtrace:/,$p' "$W/k.err" >"$W/bt"
		grep -qE "$fn" "$W/bt" || problem "the backtrace does not name $fn"
		if [ "${CRASH_BT_MAIN[$p]:-1}" = 1 ]; then
			sed -nE "/($fn)/,\$p" "$W/bt" | tail -n +2 | grep -qw main ||
				problem "the backtrace does not name main after $fn"
		fi
	else
		problem "no backtrace in the crash report"
	fi
	finish
}

case_e2e_timeout() { # libc: --timeout 1 on an endless loop -> 124, says so, promptly
	local l=$1
	prepare "$l" loop
	local t0=$SECONDS
	kvm --timeout 1 ./loop
	local took=$((SECONDS - t0))
	expect_rc 124
	expect_err_has -i timeout
	((took <= 15)) || problem "took ${took}s to stop (--timeout 1)"
	finish
}

case_kernel_panic() { # a fault in the guest kernel (injected with KVMBOX_TEST_KERNEL_FAULT): 125 and a panic report
	prepare musl hello
	KVMBOX_TEST_KERNEL_FAULT=1 kvm ./hello
	expect_rc 125
	expect_err_has "guest kernel panic: kernel fault: #PF"
	expect_err_has "cr2 0x000000000dead000"
	expect_err_has "kmain+0x"
	expect_err_has "backtrace:"
	finish
}

case_e2e_pie() { # libc: static PIE hello
	local l=$1
	[ -f "$B/test/$l/hello-pie" ] || {
		[ -f "$B/test/$l/hello-pie.skip" ] && skip "$(cat "$B/test/$l/hello-pie.skip")"
		fail "$B/test/$l/hello-pie is missing (make images-test)"
	}
	case_e2e_same "$l" hello-pie "static" "PIE" "with spaces" ""
}

case_e2e_demo() {
	local d=$B/images/hello-musl
	[ -f "$d" ] || fail "$d is missing (make images)"
	mkdir -p "$W/k" "$W/n"
	cd "$W/k" || exit 1
	kvm "$d" hello from 'a microVM'
	(cd "$W/n" && native "$d" hello from 'a microVM')
	compare_native
	finish
}

# ---- errors: refused with the documented status and a reason ----
case_err() { # status reason-substring|- kvmbox-run-args...
	local want=$1 why=$2; shift 2
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	kvm "$@"
	expect_rc "$want"
	if [ "$why" != - ]; then expect_err_has -i "$why"; fi
	[ -s "$W/k.err" ] || problem "nothing on stderr"
	finish
}

case_err_bad() { # fixture status reason: the fixture copied in as ./NAME
	local f=$1 want=$2 why=$3
	[ -e "$B/test/bad/$f" ] || fail "$B/test/bad/$f is missing (make images-test)"
	mkdir -p "$W/k" && cp -r "$B/test/bad/$f" "$W/k/$f" && cd "$W/k" || exit 1
	kvm "./$f"
	expect_rc "$want"
	expect_err_has -i "$why"
	finish
}

case_e2e_abs_path() { # libc: an absolute program path runs at its own path, argv[0] as given
	local l=$1
	prepare "$l" hello
	kvm "$W/k/hello" x 'y z'
	(cd "$W/n" && native "$W/k/hello" x 'y z')
	compare_native
	finish
}

case_e2e_rel_subdir() { # libc: sub/dir/prog lands at /work/sub/dir/prog, argv[0] unchanged
	local l=$1
	prepare "$l" cwd
	mkdir -p "$W/k/sub/dir"
	mv "$W/k/cwd" "$W/k/sub/dir/cwd"
	kvm sub/dir/cwd
	expect_rc 0
	expect_out_is "cwd=/work
argv0=sub/dir/cwd
stat(argv[0]): regular file
stat(cwd/basename): No such file or directory"
	finish
}

case_e2e_mem() { # libc: --mem sizes that must work
	local l=$1 m
	prepare "$l" hello
	(cd "$W/n" && native ./hello mem)
	for m in 32M 64M 1G 2048M; do
		kvm --mem "$m" ./hello mem
		compare_native
	done
	finish
}

case_err_missing() {
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	kvm ./does-not-exist arg
	expect_rc 127
	expect_err_has does-not-exist
	kvm /nonexistent/dir/prog
	expect_rc 127
	expect_err_has /nonexistent/dir/prog
	finish
}

# ---- initrd: a cpio made by `cpio -o -H newc`, program chosen with --init ----
make_initrd() { # -> $W/initrd.cpio with bin/hello (musl and glibc), bin/busybox
	mkdir -p "$W/rootfs/bin" "$W/rootfs/etc"
	cp "$B/test/musl/hello" "$W/rootfs/bin/hello-musl" || fail "no $B/test/musl/hello"
	cp "$B/test/glibc/hello" "$W/rootfs/bin/hello-glibc" || fail "no $B/test/glibc/hello"
	[ -f /bin/busybox ] && cp /bin/busybox "$W/rootfs/bin/busybox"
	echo "kvmbox test initrd" >"$W/rootfs/etc/motd"
	(cd "$W/rootfs" && find . -mindepth 1 | sed 's|^\./||' | cpio -o -H newc --quiet >"$W/initrd.cpio") ||
		fail "cpio -o -H newc failed"
}

case_initrd_prog() { # libc
	local l=$1
	make_initrd
	mkdir -p "$W/k" "$W/n" && cd "$W/k" || exit 1
	kvm --initrd "$W/initrd.cpio" --init "/bin/hello-$l" one 'two words' ''
	cp "$B/test/$l/hello" "$W/n/hello"
	(cd "$W/n" && native bash -c 'exec -a "/bin/hello-'"$l"'" ./hello one "two words" ""')
	compare_native
	finish
}

case_initrd_busybox() {
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	readelf -l /bin/busybox 2>/dev/null | grep -q INTERP && skip "/bin/busybox is dynamically linked"
	make_initrd
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	kvm --initrd "$W/initrd.cpio" --init /bin/busybox echo hello from busybox
	expect_rc 0
	expect_out_is "hello from busybox"
	kvm --initrd "$W/initrd.cpio" --init /bin/busybox cat /etc/motd
	expect_rc 0
	expect_out_is "kvmbox test initrd"
	finish
}

case_dir_tree() { # --dir HOST and HOST:GUEST: a tree with subdirectories and a symlink, as busybox sees it
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	mkdir -p "$W/k/tree/sub/deep" && cd "$W/k" || exit 1
	echo alpha >tree/a.txt
	echo beta >tree/sub/b.txt
	printf 'gamma\n%.0s' 1 2 3 >tree/sub/deep/c.txt
	chmod 0640 tree/sub/b.txt
	ln -s a.txt tree/link
	cp /bin/busybox ./busybox
	busybox find tree | sort >"$W/expected"
	kvm --dir tree ./busybox find tree
	expect_rc 0
	sort "$W/k.out" | cmp -s - "$W/expected" ||
		problem "find tree differs from the host's" "$(sort "$W/k.out" | diff -u "$W/expected" - | sed 's/^/      /')"
	kvm --dir tree ./busybox cat tree/sub/deep/c.txt tree/link
	expect_rc 0
	expect_out_is "$(printf 'gamma\ngamma\ngamma\nalpha')"
	kvm --dir tree ./busybox readlink tree/link
	expect_out_is "a.txt"
	kvm --dir tree ./busybox stat -c '%a %s' tree/sub/b.txt
	expect_out_is "640 5"
	kvm --dir "$W/k/tree:/data/t" ./busybox cat /data/t/sub/b.txt
	expect_rc 0
	expect_out_is "beta"
	kvm --file tree/a.txt:/etc/renamed.txt ./busybox cat /etc/renamed.txt
	expect_rc 0
	expect_out_is "alpha"
	kvm --dir /nonexistent-dir ./busybox true
	expect_rc 125
	expect_err_has "/nonexistent-dir"
	finish
}

case_kvm_permission() { # /dev/kvm not openable by the user: 125 and the fix named
	command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
	[ "$(id -u)" = 0 ] || skip "needs root to drop to an unprivileged user"
	local nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	$nobody test -w /dev/kvm && skip "/dev/kvm is writable by everyone here"
	$nobody test -x "$KVMBOX" -a -r "$KERNEL" || skip "the build tree is not readable by an unprivileged user"
	local d; d=$(mktemp -d /tmp/kvmbox-perm.XXXXXX)
	chmod 755 "$d" && cp "$B/test/musl/hello" "$d/hello" && chmod 755 "$d/hello"
	(cd / && run_limited "$W/k" $nobody "$KVMBOX" run "$d/hello")
	rm -rf "$d"
	expect_rc 125
	expect_err_has "no permission to open /dev/kvm"
	expect_err_has "kvm group"
	finish
}

case_initrd_missing() {
	make_initrd
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	kvm --initrd "$W/initrd.cpio" --init /missing
	expect_rc 127
	expect_err_has /missing
	finish
}

# ==== the list of cases ===========================================================

NAMES=() KINDS=() CMDS=()
add() { # name kind(unit|native|kvm) command...
	local n=$1 k=$2; shift 2
	case $MODE in unit) [ "$k" = unit ] || return 0 ;; e2e) [ "$k" != unit ] || return 0 ;; esac
	if [ -n "$T" ] && ! [[ $n =~ $T ]]; then return 0; fi
	if [ -n "${SKIP_CASES:-}" ] && [ -f "$SKIP_CASES" ]; then
		local re why
		while IFS=$'\t' read -r re why; do
			if [ -n "$re" ] && [[ $n =~ $re ]]; then set -- skip "$why"; break; fi
		done <"$SKIP_CASES"
	fi
	NAMES+=("$n") KINDS+=("$k") CMDS+=("$(printf '%q ' "$@")")
}

for bin in "$B"/test/unit/test_*; do
	[ -x "$bin" ] || continue
	u=${bin##*/}
	case $u in
	test_elf) add unit/$u unit case_unit_elf ;;
	test_cpio) add unit/$u unit case_unit_cpio ;;
	*) add unit/$u unit case_unit "$bin" ;;
	esac
done

SELFCHECK="auxv efault enosys mmap malloc writeread ids uname"
for l in $LIBCS; do
	for p in $SELFCHECK; do add native/$l/$p native case_native_selfcheck $l $p; done
	add native/$l/clock native case_native_clock $l
	for p in $CRASHES; do add native/$l/$p native case_native_crash $l $p; done
done

for l in $LIBCS; do
	add e2e/$l/hello-args kvm case_e2e_same $l hello one 'two words' '' '  leading' 'trailing  ' \
		'*' '$HOME' "$(printf 'tab\there')" 'ünïcödé' ''
	add e2e/$l/hello-noargs kvm case_e2e_same $l hello
	add e2e/$l/hello-many kvm case_e2e_hello_many $l
	add e2e/$l/hello-pie kvm case_e2e_pie $l
	add e2e/$l/env kvm case_e2e_env $l
	add e2e/$l/env-edge kvm case_e2e_env_edge $l
	add e2e/$l/auxv kvm case_e2e_same $l auxv
	for s in 0 1 42 255; do add e2e/$l/exit-$s kvm case_e2e_same $l exit $s; done
	add e2e/$l/exit-256 kvm case_e2e_same $l exit 256
	add e2e/$l/exit-7-_exit kvm case_e2e_same $l exit 7 _exit
	add e2e/$l/exit-3-return kvm case_e2e_same $l exit 3 return
	add e2e/$l/malloc kvm case_e2e_same $l malloc
	add e2e/$l/mmap kvm case_e2e_same $l mmap
	add e2e/$l/readfile kvm case_e2e_readfile $l
	add e2e/$l/writeread kvm case_e2e_same $l writeread
	add e2e/$l/cwd kvm case_e2e_cwd $l
	add e2e/$l/stdio kvm case_e2e_same $l stdio
	add e2e/$l/stdin kvm case_e2e_stdin $l
	add e2e/$l/stdio-merged kvm case_e2e_stdio_merged $l
	add e2e/$l/efault kvm case_e2e_same $l efault
	add e2e/$l/enosys kvm case_e2e_same $l enosys
	add e2e/$l/enosys-verbose kvm case_e2e_verbose_enosys $l
	add e2e/$l/enosys-verbose-each kvm case_e2e_verbose_each $l
	add e2e/$l/clock kvm case_e2e_clock $l
	add e2e/$l/uname kvm case_e2e_props $l uname
	add e2e/$l/ids kvm case_e2e_props $l ids
	for p in $CRASHES; do
		add e2e/$l/$p kvm case_e2e_crash $l $p
	done
	add e2e/$l/timeout kvm case_e2e_timeout $l
	add e2e/$l/abs-path kvm case_e2e_abs_path $l
	add e2e/$l/rel-subdir kvm case_e2e_rel_subdir $l
	add e2e/$l/mem-sizes kvm case_e2e_mem $l
	add initrd/$l/prog kvm case_initrd_prog $l
done
add e2e/demo kvm case_e2e_demo
add initrd/busybox kvm case_initrd_busybox
add initrd/missing-init kvm case_initrd_missing
add err/kernel-panic kvm case_kernel_panic
add e2e/dir-tree kvm case_dir_tree
add err/kvm-permission kvm case_kvm_permission

# More cases by area (processes, signals, pipes, ...): each file defines case_* functions
# with the helpers above and registers them with `add`.
for f in "$(dirname "$0")"/cases/*.sh; do
	[ -f "$f" ] && . "$f"
done
add err/missing-program kvm case_err_missing
add err/text-file kvm case_err_bad text.txt 126 "not an ELF"
add err/aarch64-elf kvm case_err_bad aarch64 126 AArch64
add err/32-bit-elf kvm case_err_bad elf32 126 32-bit
add err/truncated-phdrs kvm case_err_bad truncated-phdrs 126 truncated
add err/truncated-half kvm case_err_bad truncated-half 126 truncated
add err/dynamic kvm case_err_bad dynamic 126 /lib64/ld-linux-x86-64.so.2
add err/directory kvm case_err_bad directory 126 directory
add err/empty-file kvm case_err_bad empty 126 "not an ELF"
add err/object-file kvm case_err_bad object.o 126 "./object.o"
add err/big-endian kvm case_err_bad bigendian 126 "big-endian"
add err/mem-bogus kvm case_err 125 bogus --mem bogus "$B/test/musl/hello"
add err/file-missing kvm case_err 125 /nonexistent --file /nonexistent "$B/test/musl/hello"
add err/unknown-option kvm case_err 125 --no-such-option --no-such-option "$B/test/musl/hello"
add err/no-program kvm case_err 125 - 

if [ $LIST = 1 ]; then printf '%s\n' "${NAMES[@]}"; exit 0; fi

# ==== run them, JOBS at a time, and report as they finish ========================

passed=0 failed=0 skipped=0
declare -A PID_CASE=()

report() { # index
	local i=$1 r=$SCRATCH/$1/result status msg
	if [ ! -s "$r" ]; then
		printf 'FAIL %s: the case ended without a result (runner bug?)\n' "${NAMES[$i]}"
		excerpt "$SCRATCH/$i.stderr"
		failed=$((failed + 1))
		return
	fi
	status=$(head -n 1 "$r")
	msg=$(sed -n 2p "$r")
	case $status in
	PASS) echo "PASS ${NAMES[$i]}"; passed=$((passed + 1)) ;;
	SKIP) echo "SKIP ${NAMES[$i]}: $msg"; skipped=$((skipped + 1)) ;;
	*)
		echo "FAIL ${NAMES[$i]}: $msg"
		tail -n +3 "$r" | head -n 60 | sed 's/^/  /'
		failed=$((failed + 1))
		;;
	esac
}

run_one() { # index: in a subshell, in its own directory
	local i=$1
	W=$SCRATCH/$i
	mkdir -p "$W" && cd "$W" || exit 1
	if [ "${KINDS[$i]}" = kvm ]; then
		[ -z "$KVM_SKIP" ] || skip "$KVM_SKIP"
		need_kvmbox
	fi
	eval "${CMDS[$i]}"
	echo "FAIL" >"$W/result"; echo "the case returned without a verdict (runner bug)" >>"$W/result"
}

running=0
for i in "${!NAMES[@]}"; do
	while ((running >= JOBS)); do
		wait -n -p done_pid
		report "${PID_CASE[$done_pid]}"
		running=$((running - 1))
	done
	(run_one "$i") 2>"$SCRATCH/$i.stderr" &
	PID_CASE[$!]=$i
	running=$((running + 1))
done
while ((running > 0)); do
	wait -n -p done_pid
	report "${PID_CASE[$done_pid]}"
	running=$((running - 1))
done

if [ ${#NAMES[@]} = 0 ]; then echo "note: no case matches T='$T'"; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
