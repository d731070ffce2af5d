#!/bin/bash
# Inside the SVM test guest (images/svm/init, mode bench; `make bench-svm`):
# test/bench/run-bench.sh's figures with kvmbox on kvm_amd, then the cost of
# a page fault (test/svm/pagefault.c), both in wall time (TCG time, not
# native time) and in guest CPL0 instructions (comparable across hosts).
#   test/svm/bench-guest.sh [run-bench.sh ARGS]   (default: --no-trace --runs 20)
# and last the console output benchmark (test/bench/console-bench.sh).
set -u
cd "$(dirname "$0")/../.." || exit 2
export BUILD=${BUILD:-build}
KVMBOX=$BUILD/kvmbox
BENCHRUN=$BUILD/bench/benchrun
PF=$BUILD/svm/pagefault
PF_N=2000
PF_STRIDE=16
RUNS=20
[ $# -gt 0 ] || set -- --no-trace --runs "$RUNS"
export BENCH_COMMIT=${BENCH_COMMIT:-$(cat /svm/commit 2>/dev/null || echo unknown)}
rc=0

echo "## test/bench/run-bench.sh $* (inside the SVM guest)"
echo
bash test/bench/run-bench.sh "$@" || { echo "(run-bench.sh failed: status $?)"; rc=1; }

median_of() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { awk -v n="$2" -v k="$3" '$1 == n { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$1"; }
echo
echo "**Page faults** — \`$PF $PF_N $PF_STRIDE\` (write one byte to each of $PF_N fresh anonymous pages, $PF_STRIDE pages"
echo "apart) against \`$PF 0\`; $RUNS interleaved runs, median µs:"
echo
if [ -x "$PF" ] && [ -x "$BENCHRUN" ]; then
	"$BENCHRUN" -n "$RUNS" -w 2 -o /tmp/pf.txt -- \
		native-0 "$PF" 0 :: native-N "$PF" "$PF_N" "$PF_STRIDE" :: \
		kvmbox-0 "$KVMBOX" run "$PF" 0 :: kvmbox-N "$KVMBOX" run "$PF" "$PF_N" "$PF_STRIDE" >&2
	N0=$(field /tmp/pf.txt native-0 median); NN=$(field /tmp/pf.txt native-N median)
	K0=$(field /tmp/pf.txt kvmbox-0 median); KN=$(field /tmp/pf.txt kvmbox-N median)
	per() { awk -v a="$1" -v b="$2" -v n="$PF_N" 'BEGIN { printf "%.2f", (a - b) / n }'; }
	echo "| | N=0 | N=$PF_N | per fault |"
	echo "|---|--:|--:|--:|"
	echo "| native (the guest's Linux) | $N0 | $NN | $(per "$NN" "$N0") µs |"
	echo "| kvmbox run (kvm_amd) | $K0 | $KN | $(per "$KN" "$K0") µs |"
	"$KVMBOX" run --count-cpl0 "$PF" 200 "$PF_STRIDE" >/dev/null 2>/tmp/pf-cpl0.txt
	echo
	t14=$(grep 'cpl0 trap 14' /tmp/pf-cpl0.txt | sed 's/^kvmbox: cpl0 //')
	# KVM single-steps with RFLAGS.TF, which an exception gate clears before the handler runs.
	echo "CPL0 instructions per page fault (\`kvmbox run --count-cpl0 $PF 200 $PF_STRIDE\`):" \
		"${t14:-not countable on this host (the #PF gate clears the TF that KVM single-steps with)}"
else
	echo "(not measured: $PF or $BENCHRUN missing)"
	rc=1
fi

# Console output: native and kvmbox both run inside this guest, so their
# ratio compares like with like (both under TCG) on a host whose guest CPL0
# is native (the development host's figure is dominated by emulated CPL0).
echo
echo "## test/bench/console-bench.sh --runs 3 --mib 16 (inside the SVM guest)"
echo
bash test/bench/console-bench.sh --runs 3 --mib 16 || { echo "(console-bench.sh failed: status $?)"; rc=1; }
exit $rc
