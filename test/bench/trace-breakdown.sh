#!/bin/bash
# Where the cold start of `kvmbox run` goes, phase by phase, from kernel trace
# events (tracefs: syscalls, context switches, KVM port I/O, page faults) —
# no ptrace, so the process runs at nearly full speed (strace -f would add
# tens of µs per syscall). Needs root and tracefs; uses its own tracefs
# instance and removes it.
#
#   test/bench/trace-breakdown.sh [-n RUNS] [-o DIR] [-- CMD ARGS...]
#
# Default CMD: $BUILD/kvmbox run $BUILD/images/hello-musl. Prints a markdown
# table (median over RUNS runs of each phase's wall and on-CPU time) and
# keeps the raw trace in DIR (default $BUILD/bench/trace).
set -euo pipefail
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=20
OUT=$BUILD/bench/trace
while [ $# -gt 0 ]; do
	case $1 in
	-n) RUNS=$2; shift 2 ;;
	-o) OUT=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "usage: $0 [-n RUNS] [-o DIR] [-- CMD ARGS...]" >&2; exit 2 ;;
	esac
done
if [ $# -eq 0 ]; then
	set -- "$BUILD/kvmbox" run "$BUILD/images/hello-musl"
fi

TRACEFS=/sys/kernel/tracing
[ -w "$TRACEFS/instances" ] || TRACEFS=/sys/kernel/debug/tracing
if [ ! -w "$TRACEFS/instances" ]; then
	echo "trace-breakdown: needs root and tracefs ($TRACEFS/instances not writable): skipped" >&2
	exit 3
fi
INST=$TRACEFS/instances/kvmbox-bench-$$
mkdir "$INST"
cleanup() {
	echo 0 > "$INST/tracing_on" 2>/dev/null || true
	rmdir "$INST" 2>/dev/null || true
}
trap cleanup EXIT

echo global > "$INST/trace_clock"
echo 16384 > "$INST/buffer_size_kb"
# Syscalls, port I/O and page faults of the benchmark's processes only (by
# name: benchrun, and CMD after its exec); scheduler events of every
# task, since KVM's per-VM worker thread (created without a fork event) and
# the neighbours that preempt us matter too.
PROG=$(basename "$1" | cut -c1-15)
COMMS="comm == \"benchrun\" || comm == \"kvmbox\" || comm == \"$PROG\""
for e in raw_syscalls/sys_enter raw_syscalls/sys_exit kvm/kvm_pio exceptions/page_fault_user \
	exceptions/page_fault_kernel sched/sched_process_fork sched/sched_process_exit \
	sched/sched_switch sched/sched_wakeup sched/sched_wakeup_new; do
	if [ ! -e "$INST/events/$e/enable" ]; then
		echo "trace-breakdown: no event $e (its column will be empty)" >&2
		continue
	fi
	case $e in
	raw_syscalls/* | kvm/* | exceptions/*) echo "$COMMS" > "$INST/events/$e/filter" ;;
	esac
	echo 1 > "$INST/events/$e/enable"
done

mkdir -p "$OUT"
: > "$INST/trace"
"$BUILD/bench/benchrun" -n "$RUNS" -w 1 -p "$OUT/parent.pid" -- traced "$@" > "$OUT/benchrun.txt"
echo 0 > "$INST/tracing_on"
cp "$INST/trace" "$OUT/trace.txt"
if grep -q 'LOST.*EVENTS' "$OUT/trace.txt"; then
	echo "trace-breakdown: the trace buffer overflowed (events lost): use fewer runs" >&2
fi

"$BUILD/bench/kvm_ioctl_names" > "$OUT/kvm_ioctls.txt"
awk -v parent="$(cat "$OUT/parent.pid")" -f "$HERE/breakdown.awk" "$OUT/kvm_ioctls.txt" "$OUT/trace.txt"
echo
echo "benchrun under tracing: $(cat "$OUT/benchrun.txt")"
