#!/bin/bash
# What gdb attached in process mode costs a program that runs on without
# breakpoints (BENCHMARKS.md "gdb attached, no breakpoints"):
#   plain     kvmbox run PROG ARGS                        (wall time, spawn to exit)
#   attached  kvmbox run --gdb unix:SOCK PROG ARGS, gdb -batch -ex continue
#             (gdb's own clock around `continue`: the program's whole run from
#             its first instruction to its exit, boot and gdb's start-up excluded)
# for two programs: build/bench/getpid 20000 (syscall-bound: with a debugger
# every syscall takes the kernel's slow path) and build/bench/cpuloop
# (computation, few syscalls). RUNS rounds, interleaved; medians and their
# ratio from one run. Prints a markdown table. Never pass/fail on a timing.
#
#   test/bench/gdb-attached.sh [--runs R]
set -euo pipefail
BUILD=${BUILD:-build}
RUNS=5
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	*) echo "usage: $0 [--runs R]" >&2; exit 2 ;;
	esac
done
KVMBOX=$BUILD/kvmbox
for f in "$KVMBOX" "$BUILD/bench/getpid" "$BUILD/bench/cpuloop"; do
	[ -e "$f" ] || { echo "gdb-attached: $f missing: run make bench-bins all" >&2; exit 1; }
done
command -v gdb >/dev/null || { echo "gdb-attached: gdb is not installed" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gdb-attached.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

now() { date +%s.%N; }

plain_once() { # prog args...
	local t0 t1
	t0=$(now)
	"$KVMBOX" run "$@" >/dev/null 2>&1
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

attached_once() { # prog args...
	rm -f "$TMP/g.sock"
	"$KVMBOX" run --gdb "unix:$TMP/g.sock" "$@" >/dev/null 2>"$TMP/k.err" &
	local vm=$!
	while [ ! -S "$TMP/g.sock" ]; do
		kill -0 $vm 2>/dev/null || { cat "$TMP/k.err" >&2; exit 1; }
		sleep 0.02
	done
	gdb -batch -nx "$1" -ex "target remote $TMP/g.sock" \
		-ex 'python import time; t0 = time.perf_counter()' -ex 'continue' \
		-ex 'python print("RUN_SECONDS %.6f" % (time.perf_counter() - t0))' 2>&1 |
		sed -n 's/^RUN_SECONDS //p'
	wait $vm || true
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| program | plain kvmbox run, s (median of $RUNS) | gdb attached, continue to exit, s | attached / plain |"
echo "|---|---|---|---|"
for w in "getpid 20000" "cpuloop 300000000"; do
	set -- $w
	prog=$BUILD/bench/$1
	: >"$TMP/plain"; : >"$TMP/att"
	for ((r = 0; r < RUNS; r++)); do
		plain_once "$prog" "$2" >>"$TMP/plain"
		attached_once "$prog" "$2" >>"$TMP/att"
	done
	[ "$(grep -c . "$TMP/att")" = "$RUNS" ] || { echo "gdb-attached: the attached runs did not all report a time" >&2; exit 1; }
	a=$(median <"$TMP/plain"); b=$(median <"$TMP/att")
	echo "| \`$1 $2\` | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }') |"
done
echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)$( [ -e /sys/module/kvm_pvm ] && echo ', kvm_pvm (guest CPL0 interpreted)')"
