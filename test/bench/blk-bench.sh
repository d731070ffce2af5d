#!/bin/bash
# virtio-blk benchmark (`make bench`; BENCHMARKS.md "virtio-blk"), all figures from one run:
# a 256 MiB image read and written with 1 MiB requests and read with random
# 4 KiB requests by test/bench/blk_bench.c, in a microVM on /dev/vda and on
# the host on the same file with O_DIRECT (interleaved, median of --runs);
# CPL0 instructions per request (--count-cpl0); exits to userspace per 1000
# requests (perf's kvm:kvm_userspace_exit, N=2000 minus N=0). Never pass/fail
# on a timing.
#   test/bench/blk-bench.sh [--write] [--runs N]
set -euo pipefail
BUILD=${BUILD:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=3
WRITE=0
while [ $# -gt 0 ]; do
	case $1 in
	--write) WRITE=1; shift ;;
	--runs) RUNS=$2; shift 2 ;;
	*) shift ;; # run-bench.sh's options pass through make's BENCH_ARGS
	esac
done
KVMBOX=$BUILD/kvmbox
BB=$BUILD/bench/blk_bench
OUT=$BUILD/bench/results
IMG=$BUILD/bench/blk.img
MIB=256
RAND=2000
for f in "$KVMBOX" "$BB"; do [ -x "$f" ] || { echo "blk-bench: $f missing: run make bench" >&2; exit 1; }; done
mkdir -p "$OUT"
say() { printf '%s\n' "$*" >&2; }
val() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -n 1; }
median_of() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
say "blk-bench: $MIB MiB image, $RUNS runs of each, load $LOAD0"
head -c $((MIB << 20)) /dev/urandom >"$IMG"

# One measurement: where (native|guest) mode N -> the figure (MBps or IOPS).
measure() {
	local where=$1 mode=$2 n=$3 key=$4
	if [ "$where" = native ]; then "$BB" "$mode" "$IMG" "$n"; else "$KVMBOX" run --disk "$IMG" "$BB" "$mode" /dev/vda "$n"; fi | val "$key"
}
declare -A R
for ((i = 0; i < RUNS; i++)); do
	for w in native guest; do
		R[$w.seqread]+="$(measure $w seqread $MIB MBps) "
		R[$w.seqwrite]+="$(measure $w seqwrite $MIB MBps) "
		R[$w.randread]+="$(measure $w randread $RAND IOPS) "
	done
done
med() { tr ' ' '\n' <<<"${R[$1]}" | grep . | median_of; }
NSR=$(med native.seqread); GSR=$(med guest.seqread)
NSW=$(med native.seqwrite); GSW=$(med guest.seqwrite)
NRR=$(med native.randread); GRR=$(med guest.randread)

# CPL0 instructions per request: the whole pread64 (driver, kick, halt, interrupt, wakeup).
C4K=$("$KVMBOX" run --count-cpl0 --disk "$IMG" "$BB" randread /dev/vda 200 2>&1 >/dev/null | sed -n 's/.*(pread64): .*median=\([0-9]*\).*/\1/p')
C1M=$("$KVMBOX" run --count-cpl0 --disk "$IMG" "$BB" seqread /dev/vda 16 2>&1 >/dev/null | sed -n 's/.*(pread64): .*median=\([0-9]*\).*/\1/p')
C1W=$("$KVMBOX" run --count-cpl0 --disk "$IMG" "$BB" seqwrite /dev/vda 16 2>&1 >/dev/null | sed -n 's/.*(pwrite64): .*median=\([0-9]*\).*/\1/p')

# Exits to userspace per 1000 requests.
EXITS="not measured (needs perf and root)"
if command -v perf >/dev/null && [ "$(id -u)" = 0 ]; then
	exits() { perf stat -x, -e kvm:kvm_userspace_exit "$KVMBOX" run --disk "$IMG" "$BB" randread /dev/vda "$1" 2>&1 >/dev/null | awk -F, '/kvm_userspace_exit/ { print $1 }'; }
	E0=$(exits 0); EN=$(exits $RAND)
	EXITS="$(awk -v a="$EN" -v b="$E0" -v n="$RAND" 'BEGIN { printf "%.1f", (a - b) * 1000 / n }') (a run with $RAND random 4 KiB reads: $EN exits, with none: $E0)"
fi

{
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, \`test/bench/blk-bench.sh --runs $RUNS\`;"
	echo "$CPU, $(nproc) CPUs, Linux $(uname -r), $( [ -e /sys/module/kvm_pvm ] && echo kvm_pvm || echo hardware KVM); load at start $LOAD0."
	echo "Median of $RUNS interleaved runs; the host reads and writes the same 256 MiB image file with O_DIRECT."
	echo
	echo "| | host, O_DIRECT | kvmbox, /dev/vda | ratio | target |"
	echo "|---|---|---|---|---|"
	echo "| sequential 1 MiB reads | $NSR MB/s | $GSR MB/s | **$(ratio "$GSR" "$NSR")×** | ≥ 0.5× |"
	echo "| sequential 1 MiB writes (+ fdatasync) | $NSW MB/s | $GSW MB/s | **$(ratio "$GSW" "$NSW")×** | ≥ 0.5× |"
	echo "| random 4 KiB reads | $NRR IOPS | $GRR IOPS | **$(ratio "$GRR" "$NRR")×** | ≥ 0.3× |"
	echo
	echo "CPL0 instructions per request (the whole syscall, \`--count-cpl0\`): 4 KiB pread $C4K, 1 MiB pread $C1M, 1 MiB pwrite $C1W."
	echo "vCPU exits to userspace per 1000 block requests: $EXITS."
} >"$OUT/blk.md"
cat "$OUT/blk.md"

if [ "$WRITE" = 1 ]; then
	DOC=${BENCH_DOC:-$ROOT/BENCHMARKS.md}
	grep -q '<!-- bench:blk:begin -->' "$DOC" || { echo "blk-bench: no bench:blk markers in $DOC" >&2; exit 1; }
	awk -v fig="$OUT/blk.md" '
		/<!-- bench:blk:begin -->/ { print; while ((getline l < fig) > 0) print l; skip = 1; next }
		/<!-- bench:blk:end -->/ { skip = 0 }
		!skip' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
	say "blk-bench: figures written to $DOC"
fi
rm -f "$IMG"
