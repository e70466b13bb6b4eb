# Figures for the linear VAE (issue 3): the closing note's numbers.
# Usage, from the package root after installing:
#   Rscript tools/linear-figures.R [library]
args <- commandArgs(trailingOnly = TRUE)
library(vaeconv, lib.loc = if (length(args)) args[[1]] else NULL)
ns <- asNamespace("vaeconv")
env <- new.env(parent = ns)
sys.source("tests/testthat/helper-linear.R", envir = env)

# 1. Training to the pPCA optimum (the test's settings).
x <- env$simulate_ppca(n = 2000, d = 10, scales = c(4, 2.5, 1.5), sd = 0.5, seed = 1)
p <- ppca(x, 3)
t0 <- proc.time()[["elapsed"]]
fit <- fit_vae(x, linear_vae(3, learn_obs_sd = TRUE), elbo(exact = TRUE),
               adam(lr = 0.1, decay = 0.3), batch_size = 500, iterations = 2000,
               eval_every = 100, seed = 1, n_threads = 2, progress = FALSE)
secs <- proc.time()[["elapsed"]] - t0
cf <- coef(fit)
final <- ns$ppca_loglik(x, cf$W, cf$mu, exp(cf$log_obs_sd[[1]]))
tr <- trajectory(fit)
ev <- tr[!is.na(tr$loglik_gap), c("iteration", "full_objective", "full_loglik", "loglik_gap")]
below <- ev$loglik_gap < 0.01
needed <- ev$iteration[max(which(!below)) + 1]
es <- entropy_sum(fit, x, n_threads = 1)
cat(sprintf("pPCA optimum: %.6f nats/point; fitted model: %.6f; gap %.2e\n",
            p$loglik, final, p$loglik - final))
cat(sprintf("iterations after which the gap stays < 0.01 (evaluated every 100): %d; fit took %.2f s\n",
            needed, secs))
cat(sprintf("entropy_sum(): elbo %.6f, entropy sum %.6f, relative difference %.2e\n",
            es$elbo, es$entropy_sum, es$relative_difference))
print(as.data.frame(ev), digits = 6)

# Over other fit seeds and data sets of the same design.
runs <- expand.grid(data = 1:4, seed = 1:3)
runs$needed <- runs$gap <- runs$rel <- NA
for (i in seq_len(nrow(runs))) {
  xi <- env$simulate_ppca(n = 2000, d = 10, scales = c(4, 2.5, 1.5), sd = 0.5, seed = runs$data[i])
  f <- fit_vae(xi, linear_vae(3, learn_obs_sd = TRUE), elbo(exact = TRUE),
               adam(lr = 0.1, decay = 0.3), batch_size = 500, iterations = 2000,
               eval_every = 50, seed = runs$seed[i], n_threads = 2, progress = FALSE)
  e <- trajectory(f)
  e <- e[!is.na(e$loglik_gap), ]
  ok <- e$loglik_gap < 0.01
  runs$needed[i] <- if (all(ok)) 50 else e$iteration[max(which(!ok)) + 1]
  runs$gap[i] <- e$loglik_gap[nrow(e)]
  runs$rel[i] <- entropy_sum(f, xi, n_threads = 1)$relative_difference
}
print(runs, digits = 3)

# 2. Finite differences of the exact ELBO's gradient, every block.
for (learn in c(FALSE, TRUE)) {
  model <- linear_vae(2, obs_sd = 0.7, learn_obs_sd = learn)
  set.seed(11)
  xs <- matrix(rnorm(240), 40, 6) %*% matrix(rnorm(36), 6, 6)
  par <- ns$cpp_init(model, 6, 11)
  par <- par + 0.3 * rnorm(length(par))
  obj <- elbo(beta = 1.3, exact = TRUE)
  val <- function(q) ns$cpp_objective(model, obj, q, xs, matrix(0, 2, 0), 1L, FALSE)$objective
  g <- ns$cpp_objective(model, obj, par, xs, matrix(0, 2, 0), 1L, TRUE)$gradient
  fd <- vapply(seq_along(par), function(i) {
    e <- replace(numeric(length(par)), i, 1e-5)
    (val(par + e) - val(par - e)) / 2e-5
  }, numeric(1))
  lay <- ns$cpp_layout(model, 6)
  rel <- vapply(seq_len(nrow(lay)), function(b) {
    idx <- lay$offset[b] + seq_len(lay$rows[b] * lay$cols[b])
    max(abs(g[idx] - fd[idx])) / max(abs(fd[idx]))
  }, numeric(1))
  cat("learn_obs_sd =", learn, ": FD relative errors\n")
  print(setNames(signif(rel, 3), lay$name))
}

# 3. ELBO at the exact posterior against the exact log-likelihood.
set.seed(3)
xs <- matrix(rnorm(60 * 7, sd = 2), 60, 7)
W <- qr.Q(qr(matrix(rnorm(21), 7, 3))) %*% diag(c(3, 1.5, 0.4))
mu <- rnorm(7)
model <- linear_vae(3, learn_obs_sd = TRUE)
q <- env$exact_posterior(W, mu, 1.3)
par <- env$linear_par(model, W, mu, q$V, q$b, q$log_tau2, obs_sd = 1.3)
cat(sprintf("exact posterior: ELBO - loglik = %.2e\n",
            env$exact_elbo(model, par, xs) - ns$ppca_loglik(xs, W, mu, 1.3)))
