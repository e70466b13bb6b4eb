# Log-log slopes of the gradient's signal-to-noise ratio against K under the
# IWAE bound on the digits data: the decoder's (theta) and the encoder's
# (phi) with the pathwise estimator, and the encoder's with DReG, beside the
# +1/2 and -1/2 of Rainforth et al. (2018) (and DReG's +1/2, Tucker et al.
# 2019).
#
# Run from the package's source directory (one to two minutes on 2 cores):
#   Rscript inst/scripts/snr-slopes.R
# or, from anywhere once installed:
#   Rscript "$(Rscript -e 'cat(system.file("scripts", "snr-slopes.R", package = "vaeconv"))')"
# Optional arguments: draws (default 500) and threads (default 2), e.g.
#   Rscript inst/scripts/snr-slopes.R 1000 2
#
# The model: a Gaussian VAE with latent_dim 2 and one hidden layer of 32
# soft-clipping units, fitted with the ELBO and Adam (lr 1e-3, decay 1/2)
# for 1000 iterations of 64 rows (seed 1): "fitted" but not at a stationary
# point, where the mean gradient, hence every SNR, would be ~0.
#
# SNR: gradient_snr() at the fitted parameters, the median over the group's
# coordinates of |mean| / sd of `draws` independent gradient draws; the
# slope is the least-squares slope of log SNR on log K, K = 1, 4, 16, 64.
# Two settings:
# * "fixed batch": the same 64 rows in every draw (batch_size = nrow(x)),
#   so the only noise is that of the K draws: the setting of the theory.
# * "minibatch": 16 rows drawn from all 1797 in each draw; the minibatch
#   noise does not shrink with K, so the decoder's SNR levels off.
# An estimated SNR cannot go much below 0.67 / sqrt(draws) (the median of
# |N(0, 1)| / sqrt(draws)).

library(vaeconv)

args <- as.numeric(commandArgs(trailingOnly = TRUE))
draws <- if (length(args) >= 1) args[[1]] else 500
n_threads <- if (length(args) >= 2) args[[2]] else 2
Ks <- c(1, 4, 16, 64)

x <- as.matrix(digits[, 1:64]) / 16
fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 32), elbo(), adam(lr = 1e-3),
               batch_size = 64, iterations = 1000, seed = 1, n_threads = n_threads,
               progress = FALSE)

settings <- list(
  `fixed batch` = list(x = x[1:64, ], batch_size = 64),
  minibatch = list(x = x, batch_size = 16)
)
snr <- do.call(rbind, lapply(names(settings), function(setting) {
  s <- settings[[setting]]
  do.call(rbind, lapply(c("reparam", "dreg"), function(estimator) {
    do.call(rbind, lapply(Ks, function(K) {
      r <- gradient_snr(fit, s$x, iwae(K = K, estimator = estimator),
                        batch_size = s$batch_size, draws = draws, seed = 1,
                        n_threads = n_threads)
      data.frame(setting = setting, estimator = estimator, K = K, r)
    }))
  }))
}))

slope <- function(setting, estimator, group, column) {
  d <- snr[snr$setting == setting & snr$estimator == estimator & snr$group == group, ]
  unname(stats::coef(stats::lm(log(d[[column]]) ~ log(d$K)))[2])
}
slopes <- do.call(rbind, lapply(names(settings), function(setting) {
  data.frame(
    setting = setting,
    quantity = c("theta, pathwise", "phi, pathwise", "phi, DReG"),
    theory = c(0.5, -0.5, 0.5),
    median_snr = c(slope(setting, "reparam", "theta", "snr_median"),
                   slope(setting, "reparam", "phi", "snr_median"),
                   slope(setting, "dreg", "phi", "snr_median")),
    mean_snr = c(slope(setting, "reparam", "theta", "snr_mean"),
                 slope(setting, "reparam", "phi", "snr_mean"),
                 slope(setting, "dreg", "phi", "snr_mean")),
    dsnr = c(slope(setting, "reparam", "theta", "dsnr"),
             slope(setting, "reparam", "phi", "dsnr"),
             slope(setting, "dreg", "phi", "dsnr"))
  )
}))

cat("Fitted model: ELBO ", format(summary(fit)$objective, digits = 6),
    " nats per point (minibatch mean over the last tenth of 1000 iterations)\n",
    "draws = ", draws, ", K = ", paste(Ks, collapse = ", "),
    "; SNR floor ~ ", format(0.674 / sqrt(draws), digits = 2), "\n\n", sep = "")
print(snr, digits = 3, row.names = FALSE)
cat("\nLog-log slopes of the SNR against K:\n")
print(slopes, digits = 2, row.names = FALSE)
