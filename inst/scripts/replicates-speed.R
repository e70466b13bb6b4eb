# Wall-clock time of 4 replicates of a small deep Gaussian VAE on the digits
# data (64-32-4, batch 64, 500 iterations each), run
#   seq1: one after another, on 1 thread,
#   seq2: one after another, with 2 threads in each minibatch,
#   par2: 2 at a time, each on 1 thread (fit_vae_replicates(parallel = TRUE)).
# The fits are identical in the three cases. Median of 9 rounds; run on an
# otherwise idle machine:
#   Rscript inst/scripts/replicates-speed.R [hidden widths, default 32]

library(vaeconv)

hidden <- as.integer(commandArgs(trailingOnly = TRUE))
if (length(hidden) == 0) hidden <- 32L
x <- as.matrix(digits[, 1:64]) / 16
model <- gaussian_vae(latent_dim = 4, hidden = hidden)
time_fits <- function(parallel, n_threads) {
  system.time(fit_vae_replicates(x, model, iterations = 500, batch_size = 64,
                                 seeds = 1:4, parallel = parallel,
                                 n_threads = n_threads, progress = FALSE))[["elapsed"]]
}
rounds <- replicate(9, c(seq1 = time_fits(FALSE, 1), seq2 = time_fits(FALSE, 2),
                         par2 = time_fits(TRUE, 2)))
med <- apply(rounds, 1, stats::median)
cat(sprintf("hidden %s: median seconds seq1 %.3f, seq2 %.3f, par2 %.3f\n",
            paste(hidden, collapse = "-"), med[["seq1"]], med[["seq2"]], med[["par2"]]))
cat(sprintf("parallel replicates: %.2fx faster than one after another on 1 thread, %.2fx faster than 2 threads in the minibatch\n",
            med[["seq1"]] / med[["par2"]], med[["seq2"]] / med[["par2"]]))
