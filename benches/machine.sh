#!/usr/bin/env bash
# One line naming this machine for a benchmark's output: the CPU model, the widest vector
# extension gruf's kernels use on it (AVX-512, AVX2, or neither), the cores and the date.
# Figures from different lines are not to be compared (see CONTRIBUTING, Benchmarks).
set -euo pipefail
model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
flags=$(sed -n 's/^flags[[:space:]]*: *//p' /proc/cpuinfo | head -1)
case " $flags " in
  *" avx512f "*) vector=AVX-512 ;;
  *" avx2 "*) vector=AVX2 ;;
  *) vector="no AVX2" ;;
esac
echo "machine: ${model:-unknown CPU}, $vector, $(nproc) cores; $(date -u +%F)"
