# Figures of the full-covariance encoder and the score-function estimator
# (issue 16's closing note), on the digits / 16:
# 1. the worst finite-difference error of each block of the full-covariance
#    encoder (every objective);
# 2. unbiasedness of the score-function gradient: z-scores of the mean
#    difference to the pathwise gradient over many draws at fixed parameters;
# 3. the SNR of the pathwise and score-function gradients at a fitted model
#    (gradient_snr(), phi group) and their ratio;
# 4. ms per iteration (CPU) of a full-covariance fit beside the diagonal one.
#
#     Rscript inst/scripts/full-score-figures.R
suppressPackageStartupMessages(library(vaeconv))
x <- as.matrix(digits[, 1:64]) / 16

# 1. finite differences of every block
set.seed(1)
xs <- matrix(rnorm(18), 6, 3)
m <- gaussian_vae(3, hidden = c(5, 4), activation = "tanh", obs_sd = 0.8,
                  learn_obs_sd = TRUE, covariance = "full")
par <- vaeconv:::cpp_init(m, 3L, 7) + 0.3 * rnorm(length(vaeconv:::cpp_init(m, 3L, 7)))
lay <- vaeconv:::cpp_layout(m, 3L)
blk <- factor(rep(lay$name, lay$rows * lay$cols), levels = lay$name)
fd_err <- NULL
for (o in list(elbo(beta = 0.7), iwae(K = 3), iwae(K = 3, alpha = 0.5))) {
  S <- if (o$type == "elbo") 2L else 1L
  eps <- matrix(rnorm(3 * 6 * S * o$K), 3)
  f <- function(p) vaeconv:::cpp_objective(m, o, p, xs, eps, S, FALSE)$objective
  g <- vaeconv:::cpp_objective(m, o, par, xs, eps, S, TRUE)$gradient
  h <- 1e-5
  fd <- sapply(seq_along(par), function(i) {
    e <- replace(numeric(length(par)), i, h)
    (f(par + e) - f(par - e)) / (2 * h)
  })
  fd_err <- rbind(fd_err, tapply(abs(g - fd), blk, max) / tapply(abs(fd), blk, max))
}
cat("1. worst finite-difference error per block (full covariance, ELBO/IWAE/VR-IWAE):\n")
print(signif(apply(fd_err, 2, max), 2))

# 2. and 3. at a fitted model
fits <- list(
  diagonal = fit_vae(x, gaussian_vae(3, hidden = 32, activation = "tanh", obs_sd = 0.3),
                     optimizer = adam(lr = 0.003), iterations = 1500, seed = 1),
  full = fit_vae(x, gaussian_vae(3, hidden = 32, activation = "tanh", obs_sd = 0.3,
                                 covariance = "full"),
                 optimizer = adam(lr = 0.003), iterations = 1500, seed = 1)
)
lay <- vaeconv:::cpp_layout(fits$full$model, 64L)
phi <- rep(lay$group, lay$rows * lay$cols) == "phi"
for (nm in names(fits)) {
  f <- fits[[nm]]
  for (pr in list(list(elbo(K = 4), elbo(K = 4, estimator = "score")),
                  list(iwae(K = 4), iwae(K = 4, estimator = "score")))) {
    draws <- 400
    g <- lapply(pr, function(o) {
      vaeconv:::cpp_gradient_draws(f$model, o, f$state$par, x, 64L, 4L, draws, 11, 2L,
                                   vaeconv:::chunk_rows())
    })
    ph <- rep(vaeconv:::cpp_layout(f$model, 64L)$group,
              vaeconv:::cpp_layout(f$model, 64L)$rows * vaeconv:::cpp_layout(f$model, 64L)$cols) == "phi"
    d <- g[[2]][, ph] - g[[1]][, ph]
    d <- d[, apply(d, 2, sd) > 0, drop = FALSE]  # coordinates that move (not the blank pixels' weights)
    z <- colMeans(d) / (apply(d, 2, sd) / sqrt(draws))
    snr <- vapply(pr, function(o) {
      s <- gradient_snr(f, x, objective = o, draws = 200, seed = 5)
      s$snr_mean[s$group == "phi"]
    }, numeric(1))
    cat(sprintf("2./3. %s, %s: unbiasedness max |z| = %.2f over %d coordinates (mean |z| %.2f, %.1f%% beyond 3); phi SNR pathwise %.3f, score %.3f, ratio %.1f\n",
                nm, vaeconv:::describe_objective(pr[[2]]), max(abs(z)), length(z), mean(abs(z)),
                100 * mean(abs(z) > 3),
                snr[1], snr[2], snr[1] / snr[2]))
  }
}

# 4. CPU ms per iteration, same configuration (the digits, 64-32-3, batch 64)
cpu <- function(model, n) {
  t0 <- proc.time()
  fit_vae(x, model, iterations = n, seed = 1, n_threads = 1, progress = FALSE)
  t1 <- proc.time() - t0
  t1[["user.self"]] + t1[["sys.self"]]
}
for (cov in c("diagonal", "full")) {
  model <- gaussian_vae(3, hidden = 32, activation = "tanh", covariance = cov)
  invisible(cpu(model, 20))
  a <- cpu(model, 500)
  b <- cpu(model, 1500)
  cat(sprintf("4. %s covariance: %.3f ms per iteration (CPU, one thread)\n", cov, (b - a) / 1000 * 1000))
}
