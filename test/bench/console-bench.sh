#!/bin/bash
# Console output (BENCHMARKS.md "console output"): 64 MiB written to stdout in
# 64 KiB writes (build/bench/console_write) into a pipe drained by
# `cat > /dev/null`, kvmbox against the same static binary run natively,
# RUNS rounds interleaved (and, for comparison, kvmbox with KVMBOX_IRQCHIP=0:
# the console hypercall), medians and their ratio from one run; the CPL0
# instructions of one 64 KiB console write (--count-cpl0, median of 16); vCPU
# exits to the VMM per MiB of output (--verbose counts, 64 MiB minus 1 MiB
# runs, so the one-time device set-up cancels out). Prints a markdown table.
# Never pass/fail on a timing.
#
#   test/bench/console-bench.sh [--runs R] [--mib N]
set -euo pipefail
BUILD=${BUILD:-build}
RUNS=5
MIB=64
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--mib) MIB=$2; shift 2 ;;
	*) echo "usage: $0 [--runs R] [--mib N]" >&2; exit 2 ;;
	esac
done
KVMBOX=$BUILD/kvmbox
PROG=$BUILD/bench/console_write
for f in "$KVMBOX" "$PROG"; do
	[ -e "$f" ] || { echo "console-bench: $f missing: run make bench-bins all" >&2; exit 1; }
done

secs() { # command...: wall seconds of `command | cat > /dev/null`
	local t0 t1
	t0=$(date +%s.%N)
	"$@" | cat >/dev/null
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

: >"$BUILD/bench/console-native" && : >"$BUILD/bench/console-kvmbox" && : >"$BUILD/bench/console-hc"
for ((r = 0; r < RUNS; r++)); do
	secs "$PROG" "$MIB" >>"$BUILD/bench/console-native"
	secs "$KVMBOX" run "$PROG" "$MIB" >>"$BUILD/bench/console-kvmbox"
	secs env KVMBOX_IRQCHIP=0 "$KVMBOX" run "$PROG" "$MIB" >>"$BUILD/bench/console-hc"
done
n=$(median <"$BUILD/bench/console-native")
k=$(median <"$BUILD/bench/console-kvmbox")
h=$(median <"$BUILD/bench/console-hc")

cpl0=$("$KVMBOX" run --count-cpl0 "$PROG" 1 2>&1 >/dev/null | sed -n 's/.*syscall 1 (write): .*median=\([0-9]*\).*/\1/p')
exits() { "$KVMBOX" run --verbose "$PROG" "$1" 2>&1 >/dev/null | sed -n 's/.*vCPU exits to the VMM: \([0-9]*\).*/\1/p'; }
e1=$(exits 1)
eN=$(exits "$MIB")

echo "| console output ($MIB MiB in 64 KiB writes into \`cat > /dev/null\`) | value |"
echo "|---|---|"
printf '| native, median of %d | %.3f s (%.0f MiB/s) |\n' "$RUNS" "$n" "$(echo "$MIB / $n" | bc -l)"
printf '| kvmbox run, median of %d | %.3f s (%.1f MiB/s) |\n' "$RUNS" "$k" "$(echo "$MIB / $k" | bc -l)"
printf '| throughput ratio kvmbox / native | %.4f× |\n' "$(echo "$n / $k" | bc -l)"
printf '| for comparison: KVMBOX_IRQCHIP=0 (no devices: one CONSOLE_WRITE hypercall a write), median of %d | %.3f s (%.1f MiB/s, %.4f× native) |\n' \
	"$RUNS" "$h" "$(echo "$MIB / $h" | bc -l)" "$(echo "$n / $h" | bc -l)"
echo "| CPL0 instructions per 64 KiB console write (median) | $cpl0 |"
printf '| vCPU exits to the VMM per MiB of output | %.2f (%s for 1 MiB, %s for %d MiB) |\n' \
	"$(echo "($eN - $e1) / ($MIB - 1)" | bc -l)" "$e1" "$eN" "$MIB"
