#!/bin/bash
# Single-step rate driven by gdb (BENCHMARKS.md "gdb single-step rate"):
# `stepi N` in Debian's gdb (batch mode, timed by gdb's own python around the
# command) against
#   kernel  kvmbox run --gdb unix:SOCK --gdb-kernel build/bench/getpid 100000
#           (stepping the guest kernel from its first instruction: boot code)
#   process kvmbox run --gdb unix:SOCK build/bench/getpid 100000
#           (process mode: stepping the program's user code from its first
#           instruction, the same code gdbserver steps below)
#   native  gdbserver on the same static getpid binary, natively, over a pipe
#           (stepping its user code: the getpid loop)
# RUNS rounds, the two interleaved; medians and their ratio from one run.
# Prints a markdown table. Never pass/fail on a timing.
#
#   test/bench/gdb-stepi.sh [--steps N] [--runs R]
set -euo pipefail
BUILD=${BUILD:-build}
STEPS=10000
RUNS=5
while [ $# -gt 0 ]; do
	case $1 in
	--steps) STEPS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	*) echo "usage: $0 [--steps N] [--runs R]" >&2; exit 2 ;;
	esac
done
KVMBOX=$BUILD/kvmbox
KERNEL=$BUILD/guest/kernel.elf
PROG=$BUILD/bench/getpid
for f in "$KVMBOX" "$KERNEL" "$PROG"; do
	[ -e "$f" ] || { echo "gdb-stepi: $f missing: run make bench-bins all" >&2; exit 1; }
done
command -v gdb >/dev/null || { echo "gdb-stepi: gdb is not installed" >&2; exit 1; }
HAVE_GDBSERVER=1
command -v gdbserver >/dev/null || HAVE_GDBSERVER=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gdb-stepi.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Seconds for `stepi $STEPS` after `target remote $1` (gdb's own clock).
timed_stepi() { # symbol-file target
	gdb -batch -nx "$1" -ex "target remote $2" \
		-ex 'python import time; t0 = time.perf_counter()' \
		-ex "stepi $STEPS" \
		-ex 'python print("STEPI_SECONDS %.6f" % (time.perf_counter() - t0))' \
		-ex 'kill' 2>&1 | sed -n 's/^STEPI_SECONDS //p' || true
}

kvmbox_once() { # symbol-file [--gdb-kernel]
	rm -f "$TMP/g.sock"
	"$KVMBOX" run --gdb "unix:$TMP/g.sock" ${2:-} "$PROG" 100000 >/dev/null 2>"$TMP/k.err" &
	local vm=$!
	while [ ! -S "$TMP/g.sock" ]; do
		kill -0 $vm 2>/dev/null || { cat "$TMP/k.err" >&2; exit 1; }
		sleep 0.02
	done
	timed_stepi "$1" "$TMP/g.sock"
	wait $vm || true
}
kernel_once() { kvmbox_once "$KERNEL" --gdb-kernel; }
process_once() { kvmbox_once "$PROG"; }

native_once() {
	timed_stepi "$PROG" "| gdbserver - $PROG 100000"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$TMP/kernel" ; : >"$TMP/process" ; : >"$TMP/native"
for ((r = 0; r < RUNS; r++)); do
	kernel_once >>"$TMP/kernel"
	process_once >>"$TMP/process"
	[ $HAVE_GDBSERVER = 1 ] && native_once >>"$TMP/native"
done
for f in kernel process native; do
	[ $f = native ] && [ $HAVE_GDBSERVER = 0 ] && continue
	[ "$(grep -c . "$TMP/$f")" = "$RUNS" ] || { echo "gdb-stepi: the $f runs did not all report a time" >&2; exit 1; }
done
k=$(median <"$TMP/kernel")
p=$(median <"$TMP/process")
echo "| what | stepi/s (median of $RUNS, $STEPS steps each) | seconds per $STEPS steps (all runs) |"
echo "|---|---|---|"
echo "| kvmbox --gdb-kernel (guest kernel boot code) | $(awk -v s="$k" -v n="$STEPS" 'BEGIN { printf "%.0f", n / s }') | $(paste -sd' ' "$TMP/kernel") |"
echo "| kvmbox --gdb, process mode (getpid's user code) | $(awk -v s="$p" -v n="$STEPS" 'BEGIN { printf "%.0f", n / s }') | $(paste -sd' ' "$TMP/process") |"
if [ $HAVE_GDBSERVER = 1 ]; then
	n=$(median <"$TMP/native")
	echo "| gdbserver, native getpid (user code) | $(awk -v s="$n" -v c="$STEPS" 'BEGIN { printf "%.0f", c / s }') | $(paste -sd' ' "$TMP/native") |"
	echo
	echo "kernel mode / gdbserver rate: $(awk -v a="$n" -v b="$k" 'BEGIN { printf "%.2f", a / b }')"
	echo "process mode / gdbserver rate: $(awk -v a="$n" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
else
	echo
	echo "gdbserver is not installed: no native reference"
fi
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)$( [ -e /sys/module/kvm_pvm ] && echo ', kvm_pvm (guest CPL0 interpreted)')"
