# The empirical convergence rate of a deep Gaussian VAE on the digits data,
# beside the log(n) / sqrt(n) bound of Surendran, Godichon-Baggioni and
# Le Corff (2025): Adam with step sizes lr * n^(-1/2), 4 replicates, the
# full-data gradient every 50 of 2000 iterations.
#
# Run from anywhere, with vaeconv installed:
#   Rscript inst/scripts/rate-digits.R [plot.png]
# or, from an installed package:
#   Rscript "$(Rscript -e 'cat(system.file("scripts", "rate-digits.R", package = "vaeconv"))')"
# With a file name, the plot of the full-data rate is saved there (needs
# ggplot2). The environment variables VAECONV_RATE_LR (Adam's lr, default
# 0.01) and VAECONV_RATE_OBS_SD (the model's obs_sd, default 1) vary the
# set-up. About a minute on 2 cores.

library(vaeconv)

args <- commandArgs(trailingOnly = TRUE)
lr <- as.numeric(Sys.getenv("VAECONV_RATE_LR", "0.01"))
obs_sd <- as.numeric(Sys.getenv("VAECONV_RATE_OBS_SD", "1"))

x <- as.matrix(digits[, 1:64]) / 16
model <- gaussian_vae(latent_dim = 4, hidden = c(64, 64), obs_sd = obs_sd)

cat("Fitting 4 replicates, 2000 iterations each, on 2 threads ...\n")
elapsed <- system.time(
  fits <- fit_vae_replicates(
    x, model,
    optimizer = adam(lr = lr, decay = 0.5),
    batch_size = 64, iterations = 2000, eval_every = 50, eval_samples = 1,
    replicates = 4, seeds = 1:4, parallel = TRUE, n_threads = 2,
    progress = FALSE
  )
)[["elapsed"]]
print(fits)
# Each of the 2 threads runs 2 replicates of 2000 iterations.
cat(sprintf("Wall time: %.1f s, %.2f ms per iteration on each thread (evaluations included)\n\n",
            elapsed, 1000 * elapsed / (2 * 2000)))

full <- rate_compare(fits, "full_grad_norm_sq")
minibatch <- rate_compare(fits, "grad_norm_sq")
slopes <- rbind(
  cbind(column = "full_grad_norm_sq", summary(full)),
  cbind(column = "grad_norm_sq", summary(minibatch))
)
cat("Log-log slope of the running mean over the last half of the iterations\n")
cat("(the theorem's rate log(n)/sqrt(n) has local slope -1/2 + 1/log(n), see reference_slope):\n")
print(as.data.frame(slopes), digits = 4)

cat("\nPer replicate, full data:\n")
per_replicate <- do.call(rbind, lapply(seq_along(fits), function(i) {
  cbind(replicate = i, summary(rate_compare(fits[[i]], "full_grad_norm_sq"))[, 1:4])
}))
print(as.data.frame(per_replicate), digits = 4)

if (length(args) > 0 && requireNamespace("ggplot2", quietly = TRUE)) {
  p <- ggplot2::autoplot(full) + ggplot2::ggtitle("full_grad_norm_sq")
  ggplot2::ggsave(args[[1]], p, width = 8, height = 5)
  cat("\nSaved the plot of the full-data rate to", args[[1]], "\n")
}
