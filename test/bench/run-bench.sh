#!/bin/bash
# The kvmbox benchmarks (`make bench`; BENCHMARKS.md says what each figure means).
#
#   test/bench/run-bench.sh [--write] [--runs N] [--syscalls N] [--no-trace]
#
# In one run: cold start of `kvmbox run hello` against the raw-KVM floor and
# native exec (interleaved, medians), the guest kernel's CPL0 instruction
# counts (boot, getpid), peak RSS, the per-syscall cost, and the cold-start
# breakdown from kernel trace events. Prints a markdown summary (also kept in
# $BUILD/bench/results/figures.md); --write puts it into BENCHMARKS.md (or
# $BENCH_DOC) between the "bench:figures" markers. Never a pass/fail on
# timings: the exit status is non-zero only when something could not be
# measured. BENCH_COMMIT names the tree when it is not a git checkout.
set -euo pipefail
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=30
WARMUP=3
SYSCALL_N=10000
SYSCALL_RUNS=20
TRACE_RUNS=20
WRITE=0
TRACE=1
while [ $# -gt 0 ]; do
	case $1 in
	--write) WRITE=1; shift ;;
	--runs) RUNS=$2; shift 2 ;;
	--syscalls) SYSCALL_N=$2; shift 2 ;;
	--no-trace) TRACE=0; shift ;;
	*) echo "usage: $0 [--write] [--runs N (>= 20)] [--syscalls N] [--no-trace]" >&2; exit 2 ;;
	esac
done

KVMBOX=$BUILD/kvmbox
HELLO=$BUILD/images/hello-musl
FLOOR=$BUILD/bench/kvm_floor
GETPID=$BUILD/bench/getpid
BENCHRUN=$BUILD/bench/benchrun
OUT=$BUILD/bench/results
for f in "$KVMBOX" "$BUILD/guest/kernel.elf" "$HELLO" "$FLOOR" "$GETPID" "$BENCHRUN" "$BUILD/bench/rss_at_exit"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "run-bench: $f missing: run make bench" >&2; exit 1; }
done
mkdir -p "$OUT"
say() { printf '%s\n' "$*" >&2; }

# field FILE NAME KEY: KEY=value from benchrun's line for NAME
field() { awk -v n="$2" -v k="$3" '$1 == n { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1000 }'; }
median_of() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- the machine -------------------------------------------------------------
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
NCPU=$(nproc)
KERNEL=$(uname -r)
if [ -e /sys/module/kvm_pvm ]; then
	KVMKIND="kvm_pvm (emulated-CPL0 host: guest CPL0 code is interpreted)"
elif [ -e /sys/module/kvm_intel ] || [ -e /sys/module/kvm_amd ]; then
	KVMKIND="hardware-virtualized ($( (ls -d /sys/module/kvm_intel /sys/module/kvm_amd 2>/dev/null || true) | xargs -n1 basename | tr '\n' ' ')loaded)"
else
	KVMKIND="unknown KVM provider"
fi
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
if [ -n "${BENCH_COMMIT:-}" ]; then
	COMMIT=$BENCH_COMMIT
else
	COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- vmm guest shared devices 2>/dev/null | head -1 || true)
	[ -n "$DIRTY" ] && COMMIT="$COMMIT (+ uncommitted changes in vmm/guest/shared/devices)"
fi
say "run-bench: $CPU, $NCPU CPUs, Linux $KERNEL, $KVMKIND; load $LOAD0"

# ---- 1. cold start: floor, native, kvmbox — interleaved, one run ------------
say "run-bench: cold start, $RUNS runs each (+$WARMUP warm-up), interleaved..."
"$BENCHRUN" -n "$RUNS" -w "$WARMUP" -o "$OUT/cold.txt" -- \
	floor "$FLOOR" :: native "$HELLO" :: kvmbox "$KVMBOX" run "$HELLO" >&2
F_MED=$(field "$OUT/cold.txt" floor median);   F_MIN=$(field "$OUT/cold.txt" floor min);   F_P90=$(field "$OUT/cold.txt" floor p90)
N_MED=$(field "$OUT/cold.txt" native median);  N_MIN=$(field "$OUT/cold.txt" native min);  N_P90=$(field "$OUT/cold.txt" native p90)
K_MED=$(field "$OUT/cold.txt" kvmbox median);  K_MIN=$(field "$OUT/cold.txt" kvmbox min);  K_P90=$(field "$OUT/cold.txt" kvmbox p90)
F_CPU=$(field "$OUT/cold.txt" floor cpu); N_CPU=$(field "$OUT/cold.txt" native cpu); K_CPU=$(field "$OUT/cold.txt" kvmbox cpu)
R_FLOOR=$(ratio "$K_MED" "$F_MED")
R_FLOOR_CPU=$(ratio "$K_CPU" "$F_CPU")
R_NATIVE_CPU=$(ratio "$K_CPU" "$N_CPU")
R_NATIVE=$(ratio "$K_MED" "$N_MED")
R_FLOOR_MIN=$(ratio "$K_MIN" "$F_MIN")
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# Cross-check with hyperfine (sequential, not interleaved), when installed.
HF_LINE="hyperfine not installed: no cross-check"
if command -v hyperfine > /dev/null; then
	say "run-bench: hyperfine cross-check..."
	if hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style none --export-json "$OUT/hyperfine.json" \
		-n floor "$FLOOR" -n native "$HELLO" -n kvmbox "$KVMBOX run $HELLO" > "$OUT/hyperfine.txt" 2>&1; then
		HF=$(tr -d ' \n' < "$OUT/hyperfine.json" | grep -o '"median":[0-9.e+-]*' | cut -d: -f2 |
			awk '{ printf "%s%.0f", (NR > 1 ? " / " : ""), $1 * 1e6 }')
		HF_LINE="hyperfine -N (sequential, not interleaved) medians floor / native / kvmbox: $HF µs"
	else
		HF_LINE="hyperfine failed (see $OUT/hyperfine.txt)"
	fi
fi

# The floor's own steps (kvm_floor -v), median of 11 runs.
for i in $(seq 11); do "$FLOOR" -v 2>&1 >/dev/null; done > "$OUT/floor-steps.txt"
FLOOR_STEPS=$(awk '{ sub(/^kvm_floor: /, ""); us = $(NF - 1); $NF = ""; $(NF - 1) = ""; sub(/ +$/, "");
		if (!($0 in n)) order[++k] = $0; v[$0, ++n[$0]] = us }
	END { for (i = 1; i <= k; i++) { s = order[i]; m = n[s]
		for (a = 1; a <= m; a++) x[a] = v[s, a]
		for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
		printf "%s%s %.0f", (i > 1 ? ", " : ""), s, x[int((m + 1) / 2)] } }' "$OUT/floor-steps.txt")

# ---- 2. CPL0 instruction counts (deterministic) ------------------------------
say "run-bench: CPL0 counts (single-stepping the guest)..."
CPL0_BOOT="n/a"; CPL0_GETPID="n/a"; CPL0_HELLO_SYSCALLS=""
if "$KVMBOX" run --help 2>/dev/null | grep -q -- --count-cpl0; then
	"$KVMBOX" run --count-cpl0 "$HELLO" > /dev/null 2> "$OUT/cpl0-hello.txt"
	"$KVMBOX" run --count-cpl0 "$GETPID" 100 > /dev/null 2> "$OUT/cpl0-getpid.txt"
	CPL0_BOOT=$(sed -n 's/.*cpl0 boot-to-user \([0-9]*\) instructions.*/\1/p' "$OUT/cpl0-hello.txt")
	CPL0_GETPID_LINE=$(grep 'cpl0 syscall 39 ' "$OUT/cpl0-getpid.txt" || true)
	CPL0_GETPID=$(sed -n 's/.*median=\([0-9]*\).*/\1/p' <<< "$CPL0_GETPID_LINE")
	CPL0_HELLO_SYSCALLS=$(grep 'cpl0 syscall\|cpl0 trap\|cpl0 other' "$OUT/cpl0-hello.txt" |
		sed 's/^kvmbox: cpl0 //' | awk -F': ' '{ sub(/n=[0-9]* /, "", $2); printf "%s%s: %s", (NR > 1 ? "; " : ""), $1, $2 }')
else
	say "run-bench: this kvmbox has no --count-cpl0: CPL0 counts skipped"
fi

# ---- 3. peak RSS ---------------------------------------------------------------
K_RSS=$(field "$OUT/cold.txt" kvmbox maxrss_kib)
F_RSS=$(field "$OUT/cold.txt" floor maxrss_kib)
K_FLT=$(field "$OUT/cold.txt" kvmbox minflt)
"$BUILD/bench/rss_at_exit" "$KVMBOX" run "$HELLO" > "$OUT/rss.txt"
kv() { sed -n "s/.*\\b$1=\\([0-9-]*\\).*/\\1/p" "$OUT/rss.txt"; }
RSS_EXIT=$(kv rss_kib); RSS_GUEST=$(kv guest_kib); RSS_ANON=$(kv anon_kib); RSS_FILE=$(kv file_kib); RSS_HWM=$(kv vmhwm_kib)

# ---- 4. per-syscall cost: getpid N vs getpid 0, inside kvmbox and natively ------
say "run-bench: syscall cost, getpid x $SYSCALL_N, $SYSCALL_RUNS runs each..."
"$BENCHRUN" -n "$SYSCALL_RUNS" -w 2 -o "$OUT/syscall.txt" -- \
	native-0 "$GETPID" 0 :: native-N "$GETPID" "$SYSCALL_N" :: \
	kvmbox-0 "$KVMBOX" run "$GETPID" 0 :: kvmbox-N "$KVMBOX" run "$GETPID" "$SYSCALL_N" >&2
S_N0=$(field "$OUT/syscall.txt" native-0 median); S_NN=$(field "$OUT/syscall.txt" native-N median)
S_K0=$(field "$OUT/syscall.txt" kvmbox-0 median); S_KN=$(field "$OUT/syscall.txt" kvmbox-N median)
PER_NATIVE_NS=$(awk -v a="$S_NN" -v b="$S_N0" -v n="$SYSCALL_N" 'BEGIN { printf "%.0f", (a - b) * 1000 / n }')
PER_KVMBOX_US=$(awk -v a="$S_KN" -v b="$S_K0" -v n="$SYSCALL_N" 'BEGIN { printf "%.1f", (a - b) / n }')
PER_RATIO=$(awk -v k="$PER_KVMBOX_US" -v n="$PER_NATIVE_NS" 'BEGIN { if (n > 0) printf "%.0f", k * 1000 / n; else print "n/a" }')

# ---- 5. cold-start breakdown (kernel trace events) -----------------------------
BREAKDOWN="(skipped: --no-trace)"
BREAKDOWN_FLOOR="(skipped: --no-trace)"
breakdown() { # NAME CMD...: the breakdown table of CMD, or why there is none
	local name=$1; shift
	if BUILD=$BUILD "$HERE/trace-breakdown.sh" -n "$TRACE_RUNS" -o "$BUILD/bench/trace-$name" -- "$@" \
		> "$OUT/breakdown-$name.md" 2> "$OUT/breakdown-$name.err"; then
		cat "$OUT/breakdown-$name.md"
	else
		echo "(not measured: $(tail -1 "$OUT/breakdown-$name.err"))"
	fi
}
if [ "$TRACE" = 1 ]; then
	say "run-bench: cold-start breakdown, $TRACE_RUNS traced runs each of kvmbox and the floor..."
	BREAKDOWN=$(breakdown kvmbox "$KVMBOX" run "$HELLO")
	BREAKDOWN_FLOOR=$(breakdown floor "$FLOOR")
fi

# ---- summary ---------------------------------------------------------------------
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "" || v == "n/a") print "not measured"; else if (v + 0 <= t + 0) print "met"; else print "**not met**" }'; }
RSS_MIB=$(awk -v k="$K_RSS" 'BEGIN { printf "%.2f", k / 1024 }')
{
	echo "### Run of $DATE (commit $COMMIT)"
	echo
	echo "Machine: $CPU, $NCPU CPUs, Linux $KERNEL; /dev/kvm: $KVMKIND."
	echo "Load average $LOAD0 at the start, $LOAD1 after the cold-start runs (other work shares this machine)."
	echo "Command: \`make bench\` = \`test/bench/run-bench.sh\` (runs $RUNS, warm-up $WARMUP, getpid N=$SYSCALL_N)."
	echo
	echo "**Cold start** — \`$BENCHRUN -n $RUNS -w $WARMUP -- floor $FLOOR :: native $HELLO :: kvmbox $KVMBOX run $HELLO\`"
	echo "(interleaved round-robin; wall time from posix_spawn to wait4, and CPU time = the child's user + system"
	echo "time from wait4, all threads; µs):"
	echo
	echo "| what | command | wall median | wall min | wall p90 | CPU median | kvmbox ÷ this, wall | kvmbox ÷ this, CPU |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|"
	echo "| raw-KVM floor | \`$FLOOR\` | $F_MED | $F_MIN | $F_P90 | $F_CPU | **$R_FLOOR** (min ÷ min $R_FLOOR_MIN) | **$R_FLOOR_CPU** |"
	echo "| native exec | \`$HELLO\` | $N_MED | $N_MIN | $N_P90 | $N_CPU | **$R_NATIVE** | $R_NATIVE_CPU |"
	echo "| kvmbox | \`$KVMBOX run $HELLO\` | $K_MED | $K_MIN | $K_P90 | $K_CPU | | |"
	echo
	echo "Target kvmbox ≤ 3× floor: wall $(verdict "$R_FLOOR" 3) (${R_FLOOR}×); CPU time $(verdict "$R_FLOOR_CPU" 3) (${R_FLOOR_CPU}×)."
	echo "$HF_LINE."
	echo "The floor's own steps (\`$FLOOR -v\`, median of 11, µs): $FLOOR_STEPS."
	echo
	echo "**Guest kernel CPL0 instructions** (\`$KVMBOX run --count-cpl0 …\`; deterministic):"
	echo
	echo "| what | instructions | target |"
	echo "|---|--:|---|"
	echo "| boot: kernel entry point → program's first instruction (\`--count-cpl0 $HELLO\`) | **$CPL0_BOOT** | ≤ 3,000: $(verdict "$CPL0_BOOT" 3000) |"
	echo "| getpid round trip, median of 100 (\`--count-cpl0 $GETPID 100\`) | **$CPL0_GETPID** | report |"
	echo
	echo "hello's syscalls: $CPL0_HELLO_SYSCALLS."
	echo
	echo "**Peak RSS** of the kvmbox process for \`kvmbox run hello\`: **$K_RSS KiB = $RSS_MIB MiB** (largest ru_maxrss over the"
	echo "$RUNS runs, from wait4; target ≤ 8 MiB: $(verdict "$RSS_MIB" 8)). At exit (\`$BUILD/bench/rss_at_exit\`, page-table walk):"
	echo "Rss $RSS_EXIT KiB = guest memory touched (memfd) $RSS_GUEST + anonymous $RSS_ANON + file-backed $RSS_FILE (kvmbox, libc,"
	echo "libfdt, ld.so); VmHWM $RSS_HWM KiB. Floor program: $F_RSS KiB. Minor faults per kvmbox run: $K_FLT."
	echo
	echo "**Syscall cost** — \`getpid N\` (raw syscall loop), $SYSCALL_RUNS interleaved runs, median µs:"
	echo
	echo "| | N=0 | N=$SYSCALL_N | per getpid |"
	echo "|---|--:|--:|--:|"
	echo "| native | $S_N0 | $S_NN | $PER_NATIVE_NS ns |"
	echo "| kvmbox run | $S_K0 | $S_KN | $PER_KVMBOX_US µs (**${PER_RATIO}×** native) |"
	echo
	echo "**Cold-start breakdown of kvmbox** — \`test/bench/trace-breakdown.sh -n $TRACE_RUNS -- $KVMBOX run $HELLO\`"
	echo "(tracefs events; method below):"
	echo
	echo "$BREAKDOWN"
	echo
	echo "**The floor, the same way** — \`test/bench/trace-breakdown.sh -n $TRACE_RUNS -- $FLOOR\`:"
	echo
	echo "$BREAKDOWN_FLOOR"
} > "$OUT/figures.md"
cat "$OUT/figures.md"

if [ "$WRITE" = 1 ]; then
	DOC=${BENCH_DOC:-$ROOT/BENCHMARKS.md}
	if ! grep -q '<!-- bench:figures:begin -->' "$DOC" || ! grep -q '<!-- bench:figures:end -->' "$DOC"; then
		echo "run-bench: $DOC has no bench:figures markers: not written" >&2
		exit 1
	fi
	awk -v fig="$OUT/figures.md" '
		/<!-- bench:figures:begin -->/ { print; while ((getline l < fig) > 0) print l; skip = 1; next }
		/<!-- bench:figures:end -->/ { skip = 0 }
		!skip' "$DOC" > "$DOC.tmp" && mv "$DOC.tmp" "$DOC"
	say "run-bench: figures written to $DOC"
fi
