# Helpers for the linear VAE's tests.

# Data from probabilistic PCA: x = W z + mu + noise, W with orthogonal
# columns of norms `scales`, z ~ N(0, I), noise ~ N(0, sd^2 I).
simulate_ppca <- function(n = 2000, d = 10, scales = c(4, 2.5, 1.5), sd = 0.5,
                          seed = 1) {
  withr::with_seed(seed, {
    k <- length(scales)
    W <- qr.Q(qr(matrix(stats::rnorm(d * k), d, k))) %*% diag(scales, k, k)
    z <- matrix(stats::rnorm(n * k), n, k)
    mu <- seq(-1, 1, length.out = d)
    z %*% t(W) + rep(mu, each = n) + matrix(stats::rnorm(n * d, sd = sd), n, d)
  })
}

# A flat parameter vector of a linear VAE from its blocks (log_obs_sd only
# when the model learns it).
linear_par <- function(model, W, mu, V, b, log_tau2, obs_sd = model$obs_sd) {
  blocks <- list(W = W, mu = mu, log_obs_sd = log(obs_sd), V = V, b = b,
                 log_tau2 = log_tau2)
  if (!model$learn_obs_sd) blocks$log_obs_sd <- NULL
  layout <- cpp_layout(model, nrow(W))
  stopifnot(identical(layout$name, names(blocks)))
  unlist(lapply(blocks, as.double), use.names = FALSE)
}

# The encoder at the exact posterior of the decoder N(W z + mu, c^2 I) when
# W'W is diagonal: V = M^-1 W', b = -V mu, tau^2 = c^2 / diag(M).
exact_posterior <- function(W, mu, obs_sd) {
  M <- crossprod(W) + obs_sd^2 * diag(ncol(W))
  V <- solve(M, t(W))
  list(V = V, b = -drop(V %*% mu), log_tau2 = log(obs_sd^2 / diag(M)))
}

# The exact ELBO (mean over the rows of x) at a flat parameter vector.
exact_elbo <- function(model, par, x, beta = 1) {
  cpp_objective(model, elbo(beta = beta, exact = TRUE), par, x,
                matrix(0, model$latent_dim, 0), 1L, FALSE)$objective
}
