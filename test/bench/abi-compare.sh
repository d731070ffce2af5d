#!/bin/bash
# Before/after in one run: abibench benchmarks natively and under several
# kvmbox builds, interleaved round-robin (machine noise hits all alike),
# median ns per operation, plus each build's --count-cpl0 medians.
#
#   test/bench/abi-compare.sh [--rounds N] LABEL=KVMBOX ... -- WHAT:N-native:N-kvmbox ...
#
# e.g. test/bench/abi-compare.sh main=/tmp/main/build/kvmbox new=build/kvmbox -- pipe:2000:100 mmap1000:2000:100
# (each KVMBOX uses the guest/kernel.elf beside it). abibench is this tree's.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
ROUNDS=3
[ "${1:-}" = --rounds ] && { ROUNDS=$2; shift 2; }
LABELS=() BINS=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	LABELS+=("${1%%=*}") BINS+=("$(realpath "${1#*=}")")
	shift
done
[ "${1:-}" = -- ] && shift
[ ${#BINS[@]} -gt 0 ] && [ $# -gt 0 ] || { echo "usage: $0 [--rounds N] LABEL=KVMBOX ... -- WHAT:NN:NK ..." >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$B/bench/abibench" "$TMP/abibench"
cd "$TMP"
median() { sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "?"}'; }
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
for r in $(seq "$ROUNDS"); do
	for b in "$@"; do
		IFS=: read -r w nn nk <<<"$b"
		./abibench "$w" "$nn" | awk '{print $3}' >>"native.$w" || echo "native $w failed" >&2
		for i in "${!BINS[@]}"; do
			"${BINS[$i]}" run ./abibench "$w" "$nk" | awk '{print $3}' >>"$i.$w" || echo "${LABELS[$i]} $w failed" >&2
		done
	done
done
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
printf '| benchmark | native ns/op |'
for l in "${LABELS[@]}"; do printf ' %s ns/op |' "$l"; done
printf ' %s ÷ %s |\n' "${LABELS[-1]}" "${LABELS[0]}"
printf '|---|--:|'
for _ in "${LABELS[@]}"; do printf -- '--:|'; done
printf -- '--:|\n'
for b in "$@"; do
	w=${b%%:*}
	printf '| %s | %s |' "$w" "$(median <"native.$w")"
	for i in "${!BINS[@]}"; do printf ' %s |' "$(median <"$i.$w")"; done
	awk -v a="$(median <"$(( ${#BINS[@]} - 1 )).$w")" -v b="$(median <"0.$w")" 'BEGIN {printf " %.2f× |\n", a / b}'
done
echo
echo "CPL0 instructions (--count-cpl0 medians, abibench WHAT 10):"
for b in "$@"; do
	w=${b%%:*}
	for i in "${!BINS[@]}"; do
		printf '%s %s: ' "$w" "${LABELS[$i]}"
		"${BINS[$i]}" run --count-cpl0 ./abibench "$w" 10 2>&1 >/dev/null |
			awk '/\((read|write|mmap|munmap|fork)\)/ {for (i = 1; i <= NF; i++) if ($i ~ /^median=/) printf "%s %s  ", $5, $i} END {print ""}'
	done
done
