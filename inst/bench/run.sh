#!/bin/sh
# vaeconv's benchmark, by one command, from the root of the repository:
#
#     sh inst/bench/run.sh [all|compare|curves|parts|calls] [options of that script]
#
#   compare  vaeconv against PyTorch in float64 and float32 on the
#            configurations of configs.csv, in interleaved rounds, with the
#            machine's dgemm rate, the 2-thread speed-up and the peak memory
#            (bench.R);
#   curves   ms per iteration against the width, K, the batch size and the
#            latent dimension, and one full-data evaluation against n, beside
#            the dense layers' FLOP count, drawn to man/figures/cost-curves.png
#            (curves.R);
#   parts    the likelihoods, encoders and estimators beyond the diagonal
#            Gaussian VAE against it, on the small and large configurations
#            (parts.R);
#   calls    what bounds the parts' elementwise cost: the C library calls
#            their likelihoods must make, timed alone on one iteration's
#            pixels, against the Gaussian VAE's iteration, and the continuous
#            Bernoulli's functions one by one, libm.hpp's kernels against
#            the C library's calls (calls.R; prints its tables, writes
#            nothing; not part of all);
#   all      the three, one after the other (the default). Options go to each
#            script: --out, --readme, --rounds and --iters-scale are common to all
#            (curves ignores --rounds: its --repeats sets the fits per point).
#
# Each writes its table to inst/bench/results/<name>.md and .csv and, with
# --readme README.md (the default here), into README.md between the markers
# <!-- bench:<name>:start --> and <!-- bench:<name>:end -->.
#
# vaeconv must be installed (set R_LIBS to use a library other than the
# default one). PyTorch is Debian's python3-torch, run with /usr/bin/python3;
# both sides use Debian's OpenBLAS (libopenblas0-pthread) on one thread
# (OPENBLAS_NUM_THREADS=1; vaeconv's threads are its own). When either package
# is missing this script installs it with apt-get (as root, or through sudo);
# set VAECONV_NO_APT=1 to stop instead.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(pwd)

what=all
case "${1:-}" in
  all|compare|curves|parts|calls) what=$1; shift ;;
esac

apt_install() {
  if [ "${VAECONV_NO_APT:-0}" = 1 ]; then
    echo "run.sh: $1 is missing; install it with: apt-get install $1" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "run.sh: installing $1 with apt-get" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1" >&2 || {
    $sudo apt-get update >&2 &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1" >&2
  }
}

dpkg -s libopenblas0-pthread >/dev/null 2>&1 || apt_install libopenblas0-pthread
if [ "$what" = all ] || [ "$what" = compare ]; then
  /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || apt_install python3-torch
fi

export OPENBLAS_NUM_THREADS=1
readme=""
[ -f "$root/README.md" ] && readme="$root/README.md"

case "$what" in
  compare) Rscript "$here/bench.R" --root "$root" --readme "$readme" "$@" ;;
  curves) Rscript "$here/curves.R" --root "$root" --readme "$readme" "$@" ;;
  parts) Rscript "$here/parts.R" --root "$root" --readme "$readme" "$@" ;;
  calls) Rscript "$here/calls.R" --root "$root" "$@" ;;
  all)
    Rscript "$here/bench.R" --root "$root" --readme "$readme" "$@"
    Rscript "$here/curves.R" --root "$root" --readme "$readme" "$@"
    Rscript "$here/parts.R" --root "$root" --readme "$readme" "$@"
    ;;
esac
