# Shared helpers for the tests: small data, a plain R implementation of the
# objective, and central finite differences.

digits_x <- function(n = nrow(digits)) {
  as.matrix(digits[seq_len(n), 1:64]) / 16
}

# Activations written directly from their definitions.
r_activation <- function(act) {
  switch(act$name,
    soft_clip = function(x) {
      (1 / act$s) * log((1 + exp(act$s * (x - act$s1))) / (1 + exp(act$s * (x - act$s2)))) + act$s1
    },
    tanh = tanh,
    softplus = function(x) log1p(exp(x)),
    sigmoid = stats::plogis,
    relu = function(x) pmax(x, 0),
    identity = identity
  )
}

# The ELBO of the rows of x with the noise eps (latent_dim x nrow(x) * S,
# column (i - 1) * S + s), from the model's definition.
r_elbo <- function(model, par, x, eps, S = 1, beta = 1) {
  p <- vaeconv:::unflatten(model, ncol(x), par)
  f <- r_activation(model$activation)
  H <- length(model$hidden)
  h <- t(x)
  for (l in seq_len(H)) {
    h <- f(p[[sprintf("encoder.%d.weight", l)]] %*% h + c(p[[sprintf("encoder.%d.bias", l)]]))
  }
  mu <- p$mean.weight %*% h + c(p$mean.bias)
  v <- model$min_var + log1p(exp(p$var.weight %*% h + c(p$var.bias)))
  obs_sd <- if (model$learn_obs_sd) exp(p$log_obs_sd[[1]]) else model$obs_sd
  n <- nrow(x)
  rec <- kl <- numeric(n)
  for (i in seq_len(n)) {
    for (s in seq_len(S)) {
      g <- mu[, i] + sqrt(v[, i]) * eps[, (i - 1) * S + s]
      for (l in seq_len(H + 1)) {
        g <- p[[sprintf("decoder.%d.weight", l)]] %*% g + c(p[[sprintf("decoder.%d.bias", l)]])
        if (l <= H) g <- f(g)
      }
      rec[i] <- rec[i] + sum(stats::dnorm(x[i, ], g, obs_sd, log = TRUE)) / S
    }
    kl[i] <- 0.5 * sum(v[, i] + mu[, i]^2 - 1 - log(v[, i]))
  }
  list(objective = mean(rec - beta * kl), reconstruction = mean(rec), kl = mean(kl))
}

# Central finite differences of f at par.
fd_gradient <- function(f, par, h = 1e-5) {
  vapply(seq_along(par), function(i) {
    e <- numeric(length(par))
    e[i] <- h
    (f(par + e) - f(par - e)) / (2 * h)
  }, numeric(1))
}

# The largest relative error of a gradient against finite differences in
# each parameter block.
block_errors <- function(model, dx, grad, fd) {
  layout <- vaeconv:::cpp_layout(model, dx)
  errs <- vapply(seq_len(nrow(layout)), function(b) {
    idx <- layout$offset[b] + seq_len(layout$rows[b] * layout$cols[b])
    max(abs(grad[idx] - fd[idx])) / max(abs(fd[idx]), 1e-8)
  }, numeric(1))
  stats::setNames(errs, layout$name)
}

# Parameters away from the initial values, so no gradient block is special.
perturbed_par <- function(model, dx, seed = 1, scale = 0.3) {
  par <- vaeconv:::cpp_init(model, dx, seed)
  withr::with_seed(seed, par + scale * stats::rnorm(length(par)))
}

# Trajectories compared without the timing column.
without_seconds <- function(tr) {
  tr[setdiff(names(tr), c("seconds", "eval_seconds"))]
}

# Runs f() under an elapsed time limit of `seconds`.
with_time_limit <- function(seconds, f) {
  setTimeLimit(elapsed = seconds, transient = TRUE)
  on.exit(setTimeLimit(), add = TRUE)
  f()
}

# CPU seconds used by this R process, all its threads together (getrusage()
# on Unix, GetProcessTimes() on Windows).
process_cpu <- function() sum(proc.time()[c("user.self", "sys.self")])
