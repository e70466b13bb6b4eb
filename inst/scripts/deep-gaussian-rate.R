# The experiments of the vignette "Deep Gaussian VAEs under Adam and SGD:
# the convergence rate", run longer: the running mean of the full-data
# squared gradient norm against log(n) / sqrt(n) for Adam and SGD (step
# sizes lr * n^(-1/2)), and for the soft-clipping sharpness s against ReLU.
#
# Run from anywhere, with vaeconv installed:
#   Rscript inst/scripts/deep-gaussian-rate.R [plot.pdf]
# or, from an installed package:
#   Rscript "$(Rscript -e 'cat(system.file("scripts", "deep-gaussian-rate.R", package = "vaeconv"))')"
# With a file name, the rate plots are saved there (needs ggplot2).
# Environment variables: VAECONV_DEEP_ITERATIONS (default 20000),
# VAECONV_DEEP_REPLICATES (default 8), VAECONV_DEEP_ROWS (how many of the
# first digits to use, default 600; 1797 for all), VAECONV_DEEP_ACTIVATIONS
# (default "true": also compare the activations). The defaults take a few
# minutes on 2 cores.

library(vaeconv)

args <- commandArgs(trailingOnly = TRUE)
iterations <- as.integer(Sys.getenv("VAECONV_DEEP_ITERATIONS", "20000"))
replicates <- as.integer(Sys.getenv("VAECONV_DEEP_REPLICATES", "8"))
rows <- as.integer(Sys.getenv("VAECONV_DEEP_ROWS", "600"))
activations <- as.logical(Sys.getenv("VAECONV_DEEP_ACTIVATIONS", "true"))
eval_every <- max(1L, iterations %/% 200L)

x <- as.matrix(digits[, 1:64]) / 16
x <- x[seq_len(min(rows, nrow(x))), , drop = FALSE]
vae <- function(activation = soft_clip(s = 1)) {
  gaussian_vae(latent_dim = 4, hidden = 32, activation = activation, obs_sd = 0.2)
}
fit_rate <- function(model, optimizer) {
  fit_vae_replicates(x, model, optimizer = optimizer, batch_size = 32,
                     iterations = iterations, eval_every = eval_every,
                     seeds = seq_len(replicates), progress = FALSE)
}
describe <- function(label, fits) {
  ok <- summary(fits)$status == "completed"
  rate <- rate_compare(fits[ok], "full_grad_norm_sq")
  s <- summary(rate)
  cat(sprintf("%-16s %d/%d completed  slope %6.3f [%6.3f, %6.3f]  reference %6.3f  C %8.1f  ELBO %7.2f  (%.0f s)\n",
              label, sum(ok), length(ok), s$slope, s$conf_low, s$conf_high,
              s$reference_slope, s$constant,
              mean(summary(fits[ok])$full_objective), attr(fits, "seconds")))
  rate
}

cat(sprintf("%d rows, %d iterations, full-data gradient every %d, %d replicates\n",
            nrow(x), iterations, eval_every, replicates))
cat("Log-log slope of the running mean of full_grad_norm_sq over the last half of the run:\n")
runs <- list(
  "Adam lr 0.01" = list(vae(), adam(lr = 0.01, bound = 0.5)),
  "SGD lr 0.001" = list(vae(), sgd(lr = 0.001, bound = 0.5))
)
if (activations) {
  runs <- c(runs, list(
    "Adam s = 2" = list(vae(soft_clip(s = 2)), adam(lr = 0.01, bound = 0.5)),
    "Adam s = 5" = list(vae(soft_clip(s = 5)), adam(lr = 0.01, bound = 0.5)),
    "Adam s = 10" = list(vae(soft_clip(s = 10)), adam(lr = 0.01, bound = 0.5)),
    "Adam ReLU" = list(vae("relu"), adam(lr = 0.01, bound = 0.5))
  ))
}
rates <- lapply(names(runs), function(label) {
  describe(label, fit_rate(runs[[label]][[1]], runs[[label]][[2]]))
})
names(rates) <- names(runs)

if (length(args) > 0 && requireNamespace("ggplot2", quietly = TRUE)) {
  grDevices::pdf(args[[1]], width = 8, height = 5)
  for (label in names(rates)) print(ggplot2::autoplot(rates[[label]]) + ggplot2::ggtitle(label))
  grDevices::dev.off()
  cat("Saved the rate plots to", args[[1]], "\n")
}
