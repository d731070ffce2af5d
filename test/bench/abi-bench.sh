#!/bin/bash
# Process-ABI benchmarks (issue 3, BENCHMARKS.md "Process ABI"): each
# `abibench WHAT N` natively and in `kvmbox run`, interleaved round-robin
# (machine noise hits both alike, so the ratios are from one run), median
# ns per operation; then the CPL0 instruction counts of the same operations
# from `kvmbox run --count-cpl0` (deterministic). Prints markdown.
#
#   test/bench/abi-bench.sh [--rounds N]
#
# The ring-crossing floor (a syscall whose handler only returns) is not a
# path the kernel has; it is estimated from two syscalls whose CPL0 counts
# differ (getppid, clock_gettime): time = floor + count x per-instruction
# cost, solved for the floor.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
KVMBOX=$B/kvmbox
AB=$B/bench/abibench
ROUNDS=5
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	*) echo "usage: $0 [--rounds N]" >&2; exit 2 ;;
	esac
done
for f in "$KVMBOX" "$AB"; do
	[ -x "$f" ] || { echo "$0: $f missing (make all bench-bins)" >&2; exit 1; }
done

# what N-native N-kvmbox: kvmbox's operations are ~100x slower, so fewer of them.
BENCHES="getppid:20000:2000 clock:20000:500 fault:2000:200 touch:4000:1000 fork:200:20 vfork:200:20
pipe:2000:100 pingpong:5000:200 yield:5000:200"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
cp "$AB" ./abibench

median() { sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "?"}'; }

echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
for r in $(seq "$ROUNDS"); do
	for b in $BENCHES; do
		IFS=: read -r w nn nk <<<"$b"
		./abibench "$w" "$nn" | awk '{print $3}' >>"n.$w" || echo "native $w failed" >&2
		"$KVMBOX" run ./abibench "$w" "$nk" | awk '{print $3}' >>"k.$w" || echo "kvmbox $w failed" >&2
	done
done
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."

# CPL0 counts: the median over the operations of one --count-cpl0 run.
cpl0() { # what n key
	"$KVMBOX" run --count-cpl0 ./abibench "$1" "$2" 2>&1 >/dev/null |
		awk -v k="$3" 'index($0, k) {for (i = 1; i <= NF; i++) if ($i ~ /^median=/) {sub("median=", "", $i); print $i; exit}}'
}
C_GETPPID=$(cpl0 getppid 50 "(getppid)")
C_CLOCK=$(cpl0 clock 50 "(clock_gettime)")
C_FAULT=$(cpl0 fault 50 "trap 14:")
C_TOUCH=$(cpl0 touch 256 "trap 14:")
C_FORK=$(cpl0 fork 10 "(fork)")
C_FORK_WAIT=$(cpl0 fork 10 "(wait4)")
C_FORK_EXIT=$(cpl0 fork 10 "(exit_group)")
C_VFORK=$(cpl0 vfork 10 "(vfork)")
C_EXECVE=$(cpl0 vfork 10 "(execve)")
C_PIPE_W=$(cpl0 pipe 10 "(write)")
C_PIPE_R=$(cpl0 pipe 10 "(read)")
C_PP_W=$(cpl0 pingpong 50 "(write)")
C_PP_R=$(cpl0 pingpong 50 "(read)")
C_YIELD=$(cpl0 yield 50 "(sched_yield)")

echo
echo "| benchmark (\`abibench WHAT N\`) | native ns/op | kvmbox ns/op | kvmbox ÷ native | CPL0 instructions |"
echo "|---|--:|--:|--:|---|"
row() { # what label cpl0-text
	local n k
	n=$(median <"n.$1") k=$(median <"k.$1")
	printf '| %s | %s | %s | %s | %s |\n' "$2" "$n" "$k" "$(awk -v a="$k" -v b="$n" 'BEGIN {if (b > 0) printf "%.0f×", a / b; else print "?"}')" "$3"
}
row getppid "getppid (raw syscall)" "$C_GETPPID per round trip (target ≤ 40)"
row clock "clock_gettime (raw syscall, no vDSO)" "$C_CLOCK"
row fault "first touch, isolated pages (stride 16 pages)" "$C_FAULT per fault (target ≤ 150)"
row touch "first touch, consecutive pages (per page)" "$C_TOUCH per fault, fault-around maps up to 8 pages"
row fork "fork + child _exit + wait" "fork $C_FORK, the child's exit_group $C_FORK_EXIT, wait4 $C_FORK_WAIT"
row vfork "vfork + execve + _exit + wait" "vfork $C_VFORK, execve $C_EXECVE"
row pipe "pipe, 64 KiB writes to a reader process (per 64 KiB)" "write $C_PIPE_W, read $C_PIPE_R (medians)"
row pingpong "pipe ping-pong, 1 byte each way (per round trip)" "write $C_PP_W, read $C_PP_R (medians)"
row yield "sched_yield between two processes (per switch)" "sched_yield $C_YIELD"

# Floor fit: t = floor + count * per_instruction.
TG=$(median <k.getppid) TC=$(median <k.clock)
awk -v tg="$TG" -v tc="$TC" -v cg="$C_GETPPID" -v cc="$C_CLOCK" 'BEGIN {
	if (cc == cg || cg == "" || cc == "") { print "\nRing-crossing floor: not estimated."; exit }
	k = (tc - tg) / (cc - cg); f = tg - k * cg
	printf "\nRing-crossing floor, fitted from getppid (%d instructions, %d ns) and clock_gettime (%d, %d ns): ", cg, tg, cc, tc
	printf "%.0f ns per instruction, floor %.0f ns; getppid = %.1f× the floor.\n", k, f, (f > 0 ? tg / f : 0)
}'
TP=$(median <k.pipe) NP=$(median <n.pipe)
awk -v k="$TP" -v n="$NP" 'BEGIN { printf "Pipe throughput: kvmbox %.1f MiB/s, native %.0f MiB/s.\n", 65536 / k * 1e9 / 1048576, 65536 / n * 1e9 / 1048576 }'
