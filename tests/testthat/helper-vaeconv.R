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

# Interrupting a child R session ---------------------------------------------

# A child R session (callr) with the package under test loaded and cli's
# progress bar forced on: shown at once (cli.progress_show_after = 0), drawn
# as in a terminal (cli.dynamic) and redrawn every 10 ms (CLI_TICK_TIME), so
# that cli's R code runs at nearly every poll of the bar and an interrupt is
# likely to arrive while it runs (the race of issue 12).
bar_session <- function() {
  skip_on_cran()
  skip_on_os("windows")
  skip_if_not_installed("callr")
  skip_if_not_installed("ps")
  rs <- callr::r_session$new(options = callr::r_session_options(
    libpath = c(dirname(getNamespaceInfo("vaeconv", "path")), .libPaths()),
    env = c(CLI_TICK_TIME = "10")
  ))
  rs$run(function() {
    options(cli.progress_show_after = 0, cli.dynamic = TRUE)
    library(vaeconv)
    invisible()
  })
  rs
}

# CPU seconds used by a process, all its threads together.
child_cpu <- function(pid) {
  t <- ps::ps_cpu_times(ps::ps_handle(pid))
  t[["user"]] + t[["system"]]
}

# Calls fun(...) in the session, waits until the progress bar `bar` shows
# (up to 30 s), sends SIGINT `after` seconds later and waits for the call to
# return. Returns the call's result (or NULL) and error, what it wrote to
# stderr (the bar), the seconds from the SIGINT to the return, and the CPU
# seconds the child used in the half second after the return (0 when no
# thread works).
interrupt_after <- function(rs, fun, bar, after, ...) {
  rs$call(fun, list(...))
  # callr writes the call's stderr to a file while it runs (a private field:
  # without it, the wait is the fixed `after` alone).
  err <- rs$.__enclos_env__$private$tmp_error_file
  if (is.character(err)) {
    deadline <- Sys.time() + 30
    repeat {
      shown <- file.exists(err) &&
        any(grepl(bar, readLines(err, warn = FALSE), fixed = TRUE))
      if (shown || Sys.time() > deadline) break
      Sys.sleep(0.02)
    }
  }
  Sys.sleep(after)
  busy <- identical(rs$get_state(), "busy")
  sent <- Sys.time()
  rs$interrupt()
  ready <- rs$poll_process(20000)
  returned <- as.numeric(difftime(Sys.time(), sent, units = "secs"))
  res <- rs$read()
  cpu0 <- child_cpu(rs$get_pid())
  Sys.sleep(0.5)
  list(busy = busy, ready = ready, result = res$result, error = res$error,
       stderr = paste(res$stderr, collapse = ""), seconds = returned,
       idle_cpu = child_cpu(rs$get_pid()) - cpu0)
}

# What every interrupted call must show: it was running, returned within
# `within` seconds of the SIGINT (a generous bound for a loaded machine: the
# loops stop within 0.1 s), the bar had been drawn, and no thread works
# after the return.
expect_clean_stop <- function(r, bar, within = 5) {
  expect_true(r$busy)
  expect_identical(r$ready, "ready")
  expect_lt(r$seconds, within)
  expect_match(r$stderr, bar, fixed = TRUE)
  expect_lt(r$idle_cpu, 0.1)
}

# The decoder's outputs for the rows of z (n x latent_dim), from the model's
# definition: G (n x dx) and, with obs_sd_from_z, the variance head U.
r_decoder <- function(model, p, z) {
  f <- r_activation(model$activation)
  H <- length(model$hidden)
  h <- t(z)
  for (l in seq_len(H)) {
    h <- f(p[[sprintf("decoder.%d.weight", l)]] %*% h + c(p[[sprintf("decoder.%d.bias", l)]]))
  }
  G <- p[[sprintf("decoder.%d.weight", H + 1)]] %*% h + c(p[[sprintf("decoder.%d.bias", H + 1)]])
  U <- NULL
  if (isTRUE(model$obs_sd_from_z)) U <- t(p$decoder.var.weight %*% h + c(p$decoder.var.bias))
  list(G = t(G), U = U)
}

# log p(x_i | z_i) for the rows of x and z, written from the densities:
# Gaussian (c fixed, learned or c(z)), Bernoulli, continuous Bernoulli with
# C(eta) = eta / tanh(eta / 2).
r_log_px <- function(model, p, x, z) {
  d <- r_decoder(model, p, z)
  if (inherits(model, "vae_bernoulli")) {
    eta <- d$G
    ll <- x * eta - log1p(exp(eta))
    if (model$continuous) ll <- ll + log(ifelse(eta == 0, 2, eta / tanh(eta / 2)))
  } else if (isTRUE(model$obs_sd_from_z)) {
    ll <- stats::dnorm(x, d$G, sqrt(model$min_var + log1p(exp(d$U))), log = TRUE)
  } else {
    sd <- if (model$learn_obs_sd) exp(p$log_obs_sd[[1]]) else model$obs_sd
    ll <- stats::dnorm(x, d$G, sd, log = TRUE)
  }
  rowSums(ll)
}

# The encoder's mean (n x latent_dim) and covariances (a list of
# latent_dim x latent_dim matrices) from its definition: diagonal
# min_var + softplus, or min_var I + L L'.
r_encoder <- function(model, p, x) {
  f <- r_activation(model$activation)
  h <- t(x)
  for (l in seq_along(model$hidden)) {
    h <- f(p[[sprintf("encoder.%d.weight", l)]] %*% h + c(p[[sprintf("encoder.%d.bias", l)]]))
  }
  mean <- t(p$mean.weight %*% h + c(p$mean.bias))
  dz <- ncol(mean)
  cov <- if (identical(model$covariance, "full")) {
    u <- p$cov.weight %*% h + c(p$cov.bias)
    lapply(seq_len(nrow(x)), function(i) {
      L <- matrix(0, dz, dz)
      L[lower.tri(L, diag = TRUE)] <- u[, i]
      model$min_var * diag(dz) + L %*% t(L)
    })
  } else {
    v <- model$min_var + log1p(exp(p$var.weight %*% h + c(p$var.bias)))
    lapply(seq_len(nrow(x)), function(i) diag(v[, i], dz))
  }
  list(mean = mean, cov = cov)
}

# Draws z = mu + t(chol(Sigma)) eps of the rows of x (S per row), with the
# KL to N(0, I) and log q(z | x), in plain R (chol() and solve()).
r_draws <- function(q, eps, S) {
  n <- nrow(q$mean)
  dz <- ncol(q$mean)
  row <- rep(seq_len(n), each = S)
  z <- t(vapply(seq_along(row), function(c) {
    q$mean[row[c], ] + drop(t(chol(q$cov[[row[c]]])) %*% eps[, c])
  }, numeric(dz)))
  if (dz == 1) z <- t(z)
  log_q <- vapply(seq_along(row), function(c) {
    Sigma <- q$cov[[row[c]]]
    d <- z[c, ] - q$mean[row[c], ]
    -0.5 * dz * log(2 * pi) - 0.5 * determinant(Sigma)$modulus[[1]] -
      0.5 * drop(t(d) %*% solve(Sigma, d))
  }, numeric(1))
  kl <- vapply(seq_len(n), function(i) {
    Sigma <- q$cov[[i]]
    0.5 * (sum(diag(Sigma)) + sum(q$mean[i, ]^2) - dz - determinant(Sigma)$modulus[[1]])
  }, numeric(1))
  list(z = z, row = row, log_q = log_q, kl = kl)
}

# The ELBO (S draws per row, closed-form KL) and the log weights
# log p(x|z) + log p(z) - log q(z|x) of any deep model, in plain R.
r_elbo_any <- function(model, par, x, eps, S, beta = 1) {
  p <- vaeconv:::unflatten(model, ncol(x), par)
  d <- r_draws(r_encoder(model, p, x), eps, S)
  rec <- tapply(r_log_px(model, p, x[d$row, , drop = FALSE], d$z), d$row, mean)
  mean(rec - beta * d$kl)
}
r_log_weights_any <- function(model, par, x, eps, S) {
  p <- vaeconv:::unflatten(model, ncol(x), par)
  d <- r_draws(r_encoder(model, p, x), eps, S)
  log_pz <- -0.5 * ncol(d$z) * log(2 * pi) - rowSums(d$z^2) / 2
  r_log_px(model, p, x[d$row, , drop = FALSE], d$z) + log_pz - d$log_q
}

# Small models of each new likelihood and of the full-covariance encoder,
# with data they accept, and parameters
# away from their initial values.
small_likelihoods <- function(dx = 4, n = 3, seed = 1) {
  withr::with_seed(seed, {
    xg <- matrix(stats::rnorm(n * dx), n, dx)
    xb <- matrix(stats::rbinom(n * dx, 1, 0.5), n, dx)
    xc <- matrix(stats::runif(n * dx), n, dx)
  })
  cases <- list(
    bernoulli = list(model = bernoulli_vae(2, hidden = c(4, 3), activation = "tanh"), x = xb),
    continuous_bernoulli = list(
      model = bernoulli_vae(2, hidden = c(4, 3), activation = "tanh", continuous = TRUE), x = xc
    ),
    obs_sd_from_z = list(
      model = gaussian_vae(2, hidden = c(4, 3), activation = "tanh", obs_sd = 0.8,
                           obs_sd_from_z = TRUE), x = xg
    ),
    obs_sd_from_z_no_hidden = list(
      model = gaussian_vae(2, hidden = NULL, obs_sd = 0.8, obs_sd_from_z = TRUE), x = xg
    ),
    full_covariance = list(
      model = gaussian_vae(2, hidden = c(4, 3), activation = "tanh", obs_sd = 0.8,
                           learn_obs_sd = TRUE, covariance = "full"), x = xg
    ),
    full_covariance_bernoulli = list(
      model = bernoulli_vae(2, hidden = 4, activation = "tanh", covariance = "full"), x = xb
    )
  )
  lapply(cases, function(cs) {
    cs$par <- perturbed_par(cs$model, dx, seed + 100)
    cs
  })
}
