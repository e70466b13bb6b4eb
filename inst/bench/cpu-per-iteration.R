# CPU milliseconds per iteration of a one-thread fit of a benchmark
# configuration (small, iwae, large; as bench.R), (cpu(3n) - cpu(n)) / (2n):
# CPU time, unlike the trajectory's elapsed seconds, hardly moves when other
# processes load the machine. Used by compare-builds.sh.
#     Rscript inst/bench/cpu-per-iteration.R small 1000
args <- commandArgs(TRUE); cfn <- args[[1]]; iters <- as.integer(args[[2]])
suppressPackageStartupMessages(library(vaeconv))
cf <- list(small = list(dx = 64L, h = 100L, dz = 8L, K = 1L),
           iwae = list(dx = 64L, h = 100L, dz = 8L, K = 50L),
           large = list(dx = 784L, h = 400L, dz = 20L, K = 1L))[[cfn]]
set.seed(1); x <- matrix(runif(4096 * cf$dx), 4096, cf$dx)
m <- gaussian_vae(latent_dim = cf$dz, hidden = cf$h, activation = "tanh", obs_sd = sqrt(0.1))
o <- if (cf$K == 1) elbo() else iwae(K = cf$K)
cpu <- function(n) {
  t0 <- proc.time()
  fit_vae(x, m, o, adam(lr = 1e-3, decay = 0), batch_size = 128, iterations = n,
          seed = 1, n_threads = 1, progress = FALSE)
  t1 <- proc.time() - t0
  t1[["user.self"]] + t1[["sys.self"]]
}
invisible(cpu(10))
a <- cpu(iters); b <- cpu(3 * iters)
cat((b - a) / (2 * iters) * 1000, "\n")
