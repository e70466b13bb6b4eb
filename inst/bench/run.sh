#!/bin/sh
# vaeconv against PyTorch on the CPU: ms per iteration, ratios, GFLOP/s
# against the dgemm rate, 2-thread speed-up, peak memory and running threads.
#
#     sh inst/bench/run.sh [--torch-dir DIR] [--rounds N] [--iters N]
#                          [--configs small,iwae,large] [--torch-threads 1,2]
#                          [--no-memory]
#
# Run from the root of the repository, with vaeconv installed (set R_LIBS to
# use a library other than the default one). torch_vae.py is looked for in
# ../shared/bench (override with --torch-dir or VAECONV_TORCH_DIR).
#
# Needs Debian's python3-torch (PyTorch for /usr/bin/python3) and an
# optimised BLAS, libopenblas0-pthread, used by both R and PyTorch. When
# either is missing, this script installs it with apt-get (as root, or
# through sudo); set VAECONV_NO_APT=1 to stop instead. See bench.R for what
# is timed and how.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(pwd)
torch_dir=${VAECONV_TORCH_DIR:-"$root/../shared/bench"}

apt_install() {
  if [ "${VAECONV_NO_APT:-0}" = 1 ]; then
    echo "run.sh: $1 is missing; install it with: apt-get install $1" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "run.sh: installing $1 with apt-get" >&2
  $sudo apt-get install -y --no-install-recommends "$1" >&2 || {
    $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends "$1" >&2
  }
}

dpkg -s libopenblas0-pthread >/dev/null 2>&1 || apt_install libopenblas0-pthread
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || apt_install python3-torch

exec Rscript "$here/bench.R" --root "$root" --torch-dir "$torch_dir" "$@"
