# The ELBO beside the sum of three entropies (Damm et al. 2023) at a fitted
# (approximately) stationary point, for a learned scalar decoder sd c and
# for a decoder variance c_j^2(z) from a second head (VAE-3), same data,
# network, optimiser and budget. Prints the figures and their standard
# errors (the ELBO and the decoder entropy are Monte Carlo estimates).
#
#     Rscript inst/scripts/entropy-from-z.R [iterations]
suppressPackageStartupMessages(library(vaeconv))
args <- commandArgs(trailingOnly = TRUE)
iterations <- if (length(args)) as.integer(args[[1]]) else 20000L
x <- as.matrix(digits[, 1:64]) / 16
models <- list(
  "learned c" = gaussian_vae(2, hidden = 32, activation = "tanh", obs_sd = 0.3,
                             learn_obs_sd = TRUE),
  "c(z)" = gaussian_vae(2, hidden = 32, activation = "tanh", obs_sd = 0.3,
                        obs_sd_from_z = TRUE)
)
rows <- lapply(names(models), function(nm) {
  # Adam with a constant step, then a smaller one, on large batches.
  fit <- fit_vae(x, models[[nm]], optimizer = adam(lr = 3e-3, decay = 0),
                 batch_size = 512, iterations = iterations, seed = 1, n_threads = 2)
  fit <- fit_vae(x, init = fit, optimizer = adam(lr = 3e-4, decay = 0),
                 iterations = iterations %/% 2, n_threads = 2)
  ev <- evaluate(fit, x, samples = 20, seed = 2, n_threads = 2)
  es <- lapply(1:5, function(s) entropy_sum(fit, x, draws = 20, seed = s, n_threads = 2))
  es <- do.call(rbind, es)
  # The two halves of the difference (see the stationary-points vignette):
  # the decoder part E_q[log p(x|z)] + E[H(p(x|z))] = mean_j E (1 - r_j^2 / c_j^2) D / 2,
  # zero where the derivative in each c_j vanishes, and the prior part
  # -(E_q ||z||^2 - d_z) / 2; and the share of variances at the floor min_var.
  q <- list(mean = encode(fit, x), var = encode(fit, x, type = "variance"))
  set.seed(3)
  z <- q$mean + sqrt(q$var) * matrix(rnorm(length(q$mean)), nrow(q$mean))
  g <- decode(fit, z)
  v <- vaeconv:::cpp_decode(fit$model, fit$state$par, z, ncol(x), "variance")
  data.frame(decoder = nm, elbo = mean(es$elbo), entropy_sum = mean(es$entropy_sum),
             relative_difference = mean(es$relative_difference),
             se_difference = stats::sd(es$elbo - es$entropy_sum) / sqrt(nrow(es)),
             decoder_part = mean(rowSums(1 - (x - g)^2 / v)) / 2,
             prior_part = -(mean(rowSums(z^2)) - ncol(z)) / 2,
             at_floor = mean(v < 1.01 * fit$model$min_var),
             full_grad_norm_sq = ev$grad_norm_sq)
})
print(do.call(rbind, rows), digits = 4)
