#!/usr/bin/env bash
# Compares the core's elementwise kernels of this working tree with those of
# another commit, byte for byte: builds tools/kernel-bits.cpp against each
# version of inst/include, runs both and compares their outputs (about 1 GB
# each, in a temporary directory). For a change to vmath.hpp, activation.hpp,
# rng.hpp or optimizer.hpp that must keep every bit.
#
#     bash tools/kernel-bits.sh [COMMIT]      # COMMIT: HEAD by default
#
# Needs g++ and RcppArmadillo's headers (tools/setup.sh installs them).
# Exits 0 when the outputs are identical, 1 when they differ.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
commit=${1:-HEAD}
arma=$(Rscript -e 'cat(system.file("include", package = "RcppArmadillo"))')
[ -n "$arma" ] || { echo "kernel-bits.sh: RcppArmadillo is not installed" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

git archive "$commit" inst/include | tar -x -C "$dir"
flags=(-std=c++17 -O2 -DARMA_DONT_USE_OPENMP -DARMA_NO_DEBUG -DARMA_DONT_USE_WRAPPER
       -I"$arma")
g++ "${flags[@]}" -I"$dir/inst/include" tools/kernel-bits.cpp -o "$dir/then" \
  -llapack -lblas 2>/dev/null
g++ "${flags[@]}" -I inst/include tools/kernel-bits.cpp -o "$dir/now" -llapack -lblas \
  2>/dev/null
"$dir/then" "$dir/then.bin"
"$dir/now" "$dir/now.bin"
if cmp -s "$dir/then.bin" "$dir/now.bin"; then
  echo "kernel-bits: identical to $commit ($(stat -c %s "$dir/now.bin") bytes)"
else
  echo "kernel-bits: DIFFERENT from $commit: $(cmp "$dir/then.bin" "$dir/now.bin" | head -1)"
  exit 1
fi
