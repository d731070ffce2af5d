#!/bin/bash
# `make bench-svm`: test/bench's figures measured with kvmbox on a genuine
# kvm_amd — inside the SVM test guest (Debian's kernel under QEMU TCG,
# test/svm/run-svm.sh) — printed here. Wall times there are TCG times, not
# native times; CPL0 instruction counts compare with any host's.
#   test/svm/bench-svm.sh [run-bench.sh ARGS]   (default: --no-trace --runs 20)
set -u
cd "$(dirname "$0")/../.." || exit 2
export BUILD=${BUILD:-build}
export SVM_TIMEOUT=${SVM_TIMEOUT:-1800}
exec test/svm/run-svm.sh --bench "$@"
