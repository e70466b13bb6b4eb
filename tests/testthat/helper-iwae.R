# Helpers for the tests of the importance weighted objectives and diagnostics.

# Indices of the decoder (theta) coordinates.
theta_index <- function(model, dx) {
  layout <- cpp_layout(model, dx)
  seq_len(sum((layout$rows * layout$cols)[layout$group == "theta"]))
}

# log w = log p(x | z) + log p(z) - log q(z | x) for the draws eps (latent_dim x
# nrow(x) * S, column i * S + s), computed in R from the encoder and decoder.
log_weights_r <- function(model, par, x, eps, S) {
  q <- cpp_encode(model, par, x)
  row <- rep(seq_len(nrow(x)), each = S)
  sd <- sqrt(q$var[row, , drop = FALSE])
  z <- q$mean[row, , drop = FALSE] + sd * t(eps)
  xhat <- cpp_decode(model, par, z, ncol(x))
  c2 <- obs_sd_of(model, par, ncol(x))^2
  log_px <- -0.5 * ncol(x) * log(2 * pi * c2) - rowSums((x[row, , drop = FALSE] - xhat)^2) / (2 * c2)
  log_pz <- -0.5 * ncol(z) * log(2 * pi) - rowSums(z^2) / 2
  log_qz <- -0.5 * ncol(z) * log(2 * pi) - rowSums(log(sd)) - rowSums(t(eps)^2) / 2
  log_px + log_pz - log_qz
}

obs_sd_of <- function(model, par, dx) {
  if (!isTRUE(model$learn_obs_sd)) return(model$obs_sd)
  layout <- cpp_layout(model, dx)
  exp(par[layout$offset[layout$name == "log_obs_sd"] + 1])
}

# The VR bound of the K log weights of each group, averaged over all groups.
vr_bound_r <- function(lw, K, alpha) {
  g <- matrix(lw, nrow = K)
  a <- (1 - alpha) * g
  m <- apply(a, 2, max)
  mean((m + log(colMeans(exp(sweep(a, 2, m))))) / (1 - alpha))
}

# A small deep model with a learned observation sd and parameters away from
# their initial values, on a few rows.
small_deep <- function(seed = 1, dx = 5, n = 3, obs_sd = 0.8, learn_obs_sd = TRUE) {
  withr::with_seed(seed, {
    model <- gaussian_vae(2, hidden = c(4, 3), activation = "tanh",
                          obs_sd = obs_sd, learn_obs_sd = learn_obs_sd)
    x <- matrix(stats::rnorm(n * dx), n, dx)
  })
  list(model = model, par = perturbed_par(model, dx, seed + 100), x = x)
}

# A small linear VAE with a learned observation sd.
small_linear <- function(seed = 1, dx = 5, n = 3) {
  withr::with_seed(seed, {
    model <- linear_vae(2, obs_sd = 0.8, learn_obs_sd = TRUE)
    x <- matrix(stats::rnorm(n * dx), n, dx)
  })
  list(model = model, par = perturbed_par(model, dx, seed + 100), x = x)
}
