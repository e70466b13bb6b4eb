#!/bin/sh
# Where the time of a one-thread fit goes: a `perf` profile of one fit of a
# benchmark configuration, its samples grouped into the parts of an
# iteration.
#
#     sh inst/bench/profile.sh [small|iwae|large] [iterations]
#
# Run from anywhere, with vaeconv installed (R_LIBS selects the library) and
# Linux's `perf` on the PATH (Debian: apt-get install linux-perf). The fit is
# the one inst/bench/bench.R times, of the configuration's row of
# inst/bench/configs.csv (a d_x-h-d_z Gaussian VAE with tanh hidden units,
# c^2 = 0.1, batch 128, Adam with lr 1e-3, 4096 rows of U(0, 1) data,
# record_every = 1), on one thread with OpenBLAS held to one thread. The
# default iterations make the fit last several seconds, so that R's start and
# the data's simulation ("outside the fit") stay small.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
config=${1:-large}
case "$config" in
  small) iters=${2:-15000} ;;
  iwae) iters=${2:-800} ;;
  large) iters=${2:-600} ;;
  *) echo "profile.sh: the configuration must be small, iwae or large" >&2; exit 2 ;;
esac
# The configuration's row of configs.csv: name,dx,hidden,dz,K,batch,obs_var,lr,activation,rows
row=$(awk -F, -v c="$config" '$1 == c' "$here/configs.csv")
field() { echo "$row" | cut -d, -f"$1"; }
dims="$(field 2), $(field 3), $(field 4)"; K=$(field 5); batch=$(field 6)
obs_var=$(field 7); lr=$(field 8); activation=$(field 9); rows=$(field 10)
command -v perf >/dev/null 2>&1 || {
  echo "profile.sh: perf is missing; install it with: apt-get install linux-perf" >&2
  exit 1
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/fit.R" <<EOF
library(vaeconv)
d <- c($dims)
set.seed(1)
x <- matrix(runif($rows * d[1]), $rows, d[1])
objective <- if ($K > 1) iwae(K = $K) else elbo()
fit <- fit_vae(x, gaussian_vae(latent_dim = d[3], hidden = d[2], activation = "$activation",
                               obs_sd = sqrt($obs_var)),
               objective = objective, optimizer = adam(lr = $lr, decay = 0),
               batch_size = $batch, iterations = $iters, seed = 1, n_threads = 1,
               record_every = 1, progress = FALSE)
s <- trajectory(fit)\$seconds
cat(sprintf("%s: %d iterations, median %.3f ms per iteration\n", "$config", $iters,
            1000 * median(diff(s))))
EOF

OPENBLAS_NUM_THREADS=1 perf record -q -F 2000 -o "$dir/perf.data" \
  Rscript "$dir/fit.R" 2>/dev/null
perf report -i "$dir/perf.data" --no-children --sort dso,symbol --stdio -q 2>/dev/null |
  awk '
    /%/ {
      share = $1; sub("%", "", share); dso = $2
      sym = ""; for (i = 4; i <= NF; i++) sym = sym " " $i
      if (dso ~ /blas/ || sym ~ /tile_(pair_)?avx512|gemm_(pair_)?avx512|column_avx512|pack_[ab]/) part = "products: dgemm or the core'"'"'s kernels, and their packing"
      else if (sym ~ /optimizer_step|sweep|adam_/) part = "optimiser step (Adam) and weight change"
      else if (sym ~ /for_blocks|sum_sq/) part = "sum of the chunk gradients, their norms"
      else if (sym ~ /philox|box_muller|normals/) part = "normals (Philox, Box-Muller)"
      else if (sym ~ /apply_smooth|Activation|activation|exact_kernel/) part = "activations, their derivatives, the encoder'"'"'s variances"
      else if (sym ~ /Engine::run|memcpy|memmove/) part = "chunk set-up: gather of the minibatch rows, copies"
      else if (sym ~ /memset/) part = "memset (zeroing)"
      else if (dso ~ /vaeconv/) part = "other model passes (heads, residuals, weights, biases)"
      else part = "outside the fit: R, its start, the kernel"
      total[part] += share
    }
    END { for (p in total) printf "%6.1f%%  %s\n", total[p], p }
  ' | sort -rn
