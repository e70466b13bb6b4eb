test_that("elbo() builds the documented structure", {
  objective <- elbo()
  expect_s3_class(objective, c("vae_elbo", "vae_objective"), exact = TRUE)
  expect_identical(
    unclass(objective),
    list(type = "elbo", beta = 1, exact = FALSE, K = 1L, alpha = 0,
         estimator = "reparam")
  )
  expect_identical(elbo(beta = 0L)$beta, 0)
  expect_identical(elbo(beta = 4, exact = TRUE)$exact, TRUE)
})

test_that("elbo() rejects bad input", {
  bad <- rlang::exprs(
    elbo(beta = -1),
    elbo(beta = NA),
    elbo(beta = NaN),
    elbo(beta = Inf),
    elbo(beta = "1"),
    elbo(beta = c(1, 2)),
    elbo(beta = NULL),
    elbo(exact = NA),
    elbo(exact = 1),
    elbo(exact = "TRUE"),
    elbo(exact = c(TRUE, FALSE))
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, elbo(beta = -1))
  expect_snapshot(error = TRUE, elbo(exact = "yes"))
})

test_that("check_objective() accepts objectives only", {
  objective <- elbo()
  expect_identical(check_objective(objective), objective)
  bad <- rlang::exprs(
    check_objective(gaussian_vae(2)),
    check_objective(adam()),
    check_objective(unclass(objective)),
    check_objective(elbo),
    check_objective("elbo"),
    check_objective(NULL)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  fit <- function(objective) check_objective(objective)
  expect_snapshot(error = TRUE, fit("elbo"))
})

test_that("objectives print", {
  expect_snapshot({
    elbo()
    elbo(beta = 4, exact = TRUE)
  })
})

# The ELBO's value and gradient in the C++ core ------------------------------

elbo_case <- function(activation, learn_obs_sd = TRUE, hidden = c(5, 4), S = 2,
                      beta = 0.7, n = 6, dx = 3) {
  model <- gaussian_vae(latent_dim = 2, hidden = hidden, activation = activation,
                        obs_sd = 0.8, learn_obs_sd = learn_obs_sd, min_var = 1e-3)
  withr::with_seed(11, {
    x <- matrix(stats::rnorm(n * dx), n, dx)
    eps <- matrix(stats::rnorm(2 * n * S), 2, n * S)
  })
  par <- perturbed_par(model, dx)
  list(model = model, objective = elbo(beta = beta), x = x, eps = eps, S = S, par = par)
}

core_elbo <- function(case, par = case$par, gradient = FALSE) {
  vaeconv:::cpp_objective(case$model, case$objective, par, case$x, case$eps,
                          case$S, gradient)
}

activations <- list(
  soft_clip = soft_clip(s = 2, s1 = -1, s2 = 1.5),
  tanh = "tanh", relu = "relu", softplus = "softplus", sigmoid = "sigmoid",
  identity = "identity"
)

test_that("the ELBO matches a plain R implementation of its formula", {
  for (name in names(activations)) {
    case <- elbo_case(activations[[name]])
    got <- core_elbo(case)
    want <- r_elbo(case$model, case$par, case$x, case$eps, S = case$S, beta = 0.7)
    expect_equal(got$objective, want$objective, tolerance = 1e-12, label = name)
    expect_equal(got$reconstruction, want$reconstruction, tolerance = 1e-12, label = name)
    expect_equal(got$kl, want$kl, tolerance = 1e-12, label = name)
  }
})

test_that("every gradient block matches central finite differences", {
  for (name in names(activations)) {
    for (learn in c(TRUE, FALSE)) {
      case <- elbo_case(activations[[name]], learn_obs_sd = learn)
      grad <- core_elbo(case, gradient = TRUE)$gradient
      fd <- fd_gradient(function(p) core_elbo(case, p)$objective, case$par)
      errs <- block_errors(case$model, ncol(case$x), grad, fd)
      expect_lt(max(errs), 1e-6, label = paste(name, "learn_obs_sd =", learn,
                                              "worst block", names(which.max(errs))))
      expect_equal(length(errs) > 0 && all(is.finite(errs)), TRUE)
    }
  }
})

test_that("gradients are right without hidden layers and with one draw", {
  case <- elbo_case("tanh", hidden = NULL, S = 1, beta = 1)
  grad <- core_elbo(case, gradient = TRUE)$gradient
  fd <- fd_gradient(function(p) core_elbo(case, p)$objective, case$par)
  expect_lt(max(block_errors(case$model, ncol(case$x), grad, fd)), 1e-6)
})

test_that("the ELBO is in nats per point, with the Gaussian constant", {
  # A decoder that outputs x exactly and q equal to the prior: the ELBO is
  # the normalising constant -d/2 log(2 pi c^2).
  case <- elbo_case("identity", learn_obs_sd = FALSE, hidden = NULL, S = 1, beta = 1)
  par <- case$par
  layout <- vaeconv:::cpp_layout(case$model, 3)
  zero <- function(name) {
    b <- layout[layout$name == name, ]
    par[b$offset + seq_len(b$rows * b$cols)] <<- 0
  }
  for (b in c("decoder.1.weight", "decoder.1.bias", "mean.weight", "mean.bias", "var.weight")) zero(b)
  b <- layout[layout$name == "var.bias", ]
  par[b$offset + seq_len(b$rows)] <- log(expm1(1 - 1e-3))
  x0 <- case
  x0$x[] <- 0
  got <- core_elbo(x0, par)
  expect_equal(got$kl, 0, tolerance = 1e-12)
  expect_equal(got$objective, -3 / 2 * log(2 * pi * 0.8^2), tolerance = 1e-12)
})

# The exact ELBO of the linear VAE -------------------------------------------

linear_setup <- function(learn_obs_sd, n = 40, d = 6, k = 2, seed = 11) {
  model <- linear_vae(k, obs_sd = 0.7, learn_obs_sd = learn_obs_sd)
  x <- withr::with_seed(seed, {
    matrix(stats::rnorm(n * d), n, d) %*% matrix(stats::rnorm(d * d), d, d)
  })
  list(model = model, x = x, par = perturbed_par(model, d, seed))
}

test_that("the exact ELBO agrees with a Monte Carlo estimate with many draws", {
  for (learn in c(FALSE, TRUE)) {
    s <- linear_setup(learn)
    n <- nrow(s$x)
    k <- s$model$latent_dim
    beta <- 1.3
    exact <- cpp_objective(s$model, elbo(beta = beta, exact = TRUE), s$par, s$x,
                           matrix(0, k, 0), 1L, FALSE)
    expect_equal(exact$objective, exact$reconstruction - beta * exact$kl,
                 tolerance = 1e-14)
    # 400 independent estimates, each with 25 draws per row.
    reps <- 400
    draws <- 25L
    mc <- vapply(seq_len(reps), function(r) {
      eps <- t(cpp_normals(7, stream_id("user"), r, 0, n * draws, k))
      unlist(cpp_objective(s$model, elbo(beta = beta), s$par, s$x, eps, draws,
                           FALSE))
    }, numeric(3))
    # The KL part is exact in both.
    expect_equal(mc["kl", ], rep(exact$kl, reps), tolerance = 1e-12)
    for (part in c("objective", "reconstruction")) {
      se <- stats::sd(mc[part, ]) / sqrt(reps)
      expect_lt(abs(mean(mc[part, ]) - exact[[part]]), 4 * se,
                label = paste(part, "learn_obs_sd =", learn))
      expect_gt(se, 0)
    }
  }
})

test_that("the exact ELBO's gradient matches central finite differences, every block", {
  for (learn in c(FALSE, TRUE)) {
    s <- linear_setup(learn)
    k <- s$model$latent_dim
    objective <- elbo(beta = 1.3, exact = TRUE)
    value <- function(p) {
      cpp_objective(s$model, objective, p, s$x, matrix(0, k, 0), 1L, FALSE)$objective
    }
    grad <- cpp_objective(s$model, objective, s$par, s$x, matrix(0, k, 0), 1L,
                          TRUE)$gradient
    errs <- block_errors(s$model, ncol(s$x), grad, fd_gradient(value, s$par))
    expect_named(errs, c("W", "mu", if (learn) "log_obs_sd", "V", "b", "log_tau2"))
    for (b in names(errs)) {
      expect_lt(errs[[b]], 1e-6, label = paste(b, "learn_obs_sd =", learn))
    }
  }
})

test_that("the exact ELBO equals the log-likelihood at the exact posterior only", {
  d <- 7
  k <- 3
  n <- 60
  withr::with_seed(3, {
    x <- matrix(stats::rnorm(n * d, sd = 2), n, d)
    W <- qr.Q(qr(matrix(stats::rnorm(d * k), d, k))) %*% diag(c(3, 1.5, 0.4))
    mu <- stats::rnorm(d)
    W_skew <- matrix(stats::rnorm(d * k), d, k)
  })
  expect_lt(max(abs(crossprod(W) - diag(diag(crossprod(W))))), 1e-12)
  for (learn in c(FALSE, TRUE)) {
    model <- linear_vae(k, obs_sd = 0.8, learn_obs_sd = learn)
    c_sd <- if (learn) 1.3 else 0.8
    q <- exact_posterior(W, mu, c_sd)
    par <- linear_par(model, W, mu, q$V, q$b, q$log_tau2, obs_sd = c_sd)
    loglik <- ppca_loglik(x, W, mu, c_sd)
    expect_lt(abs(exact_elbo(model, par, x) - loglik), 1e-10)

    # Any other encoder gives a strictly smaller ELBO.
    layout <- cpp_layout(model, d)
    phi <- which(rep(layout$group == "phi", layout$rows * layout$cols))
    gaps <- numeric(0)
    for (scale in c(1e-3, 0.1, 1)) {
      for (r in 1:10) {
        other <- par
        withr::with_seed(r, {
          other[phi] <- other[phi] + scale * stats::rnorm(length(phi))
        })
        gaps <- c(gaps, loglik - exact_elbo(model, other, x))
      }
    }
    expect_true(all(gaps > 0))

    # Without orthogonal columns the same formulas are not the posterior.
    q <- exact_posterior(W_skew, mu, c_sd)
    par <- linear_par(model, W_skew, mu, q$V, q$b, q$log_tau2, obs_sd = c_sd)
    expect_gt(ppca_loglik(x, W_skew, mu, c_sd) - exact_elbo(model, par, x), 1e-6)
  }
})

# iwae() and k_schedule() ------------------------------------------------------

test_that("iwae() builds the documented structure", {
  objective <- iwae()
  expect_s3_class(objective, c("vae_iwae", "vae_objective"), exact = TRUE)
  expect_identical(
    unclass(objective),
    list(type = "iwae", beta = 1, exact = FALSE, K = 5L, alpha = 0,
         estimator = "reparam")
  )
  expect_identical(names(objective), names(elbo()))
  expect_identical(iwae(K = 20, alpha = 0.5, estimator = "dreg")[c("K", "alpha", "estimator")],
                   list(K = 20L, alpha = 0.5, estimator = "dreg"))
  expect_identical(iwae(K = 1L)$K, 1L)
  sched <- k_schedule(1, 10, 100)
  expect_identical(iwae(K = sched)$K, sched)
})

test_that("k_schedule() builds the documented structure and schedule", {
  s <- k_schedule(2, 5, 3)
  expect_s3_class(s, "vae_k_schedule", exact = TRUE)
  expect_identical(unclass(s), list(start = 2L, max = 5L, every = 3L, growth = "linear"))
  expect_identical(k_schedule(1, 64, 10, "doubling")$growth, "doubling")
  # K_n = min(max, start + floor((n - 1) / every)), n from 1
  n <- 1:20
  expect_identical(objective_K(iwae(K = s), n), pmin(5L, 2L + (n - 1L) %/% 3L))
  # K_n = min(max, start * 2^floor((n - 1) / every))
  d <- iwae(K = k_schedule(3, 40, 4, "doubling"))
  expect_identical(objective_K(d, n), as.integer(pmin(40, 3 * 2^((n - 1) %/% 4))))
  expect_identical(objective_K(d, 1e9), 40L)
  expect_identical(objective_K(iwae(K = 7), c(1, 1e6)), c(7L, 7L))
  expect_identical(objective_K(elbo(), c(1, 1e6)), c(1L, 1L))
  expect_identical(objective_K(iwae(K = k_schedule(4, 4, 1)), c(1, 50)), c(4L, 4L))
})

test_that("iwae() and k_schedule() reject bad input", {
  bad <- rlang::exprs(
    iwae(K = 0),
    iwae(K = 2.5),
    iwae(K = NA),
    iwae(K = "5"),
    iwae(K = c(1, 5)),
    iwae(K = list(start = 1)),
    iwae(K = elbo()),
    iwae(alpha = 1),
    iwae(alpha = -0.1),
    iwae(alpha = NA),
    iwae(alpha = c(0, 0.5)),
    iwae(estimator = "DReG"),
    iwae(estimator = NA),
    k_schedule(),
    k_schedule(1, 10),
    k_schedule(0, 10, 5),
    k_schedule(5, 4, 5),
    k_schedule(1, 10, 0),
    k_schedule(1, 10, 2.5),
    k_schedule(1, 10, 5, growth = "exponential")
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, iwae(K = 0))
  expect_snapshot(error = TRUE, iwae(K = list(start = 1)))
  expect_snapshot(error = TRUE, iwae(alpha = 1))
  expect_snapshot(error = TRUE, iwae(estimator = "dreq"))
  expect_snapshot(error = TRUE, k_schedule(1, 10))
  expect_snapshot(error = TRUE, k_schedule(5, 4, 5))
  expect_snapshot(error = TRUE, k_schedule(1, 10, 5, growth = "exp"))
})

test_that("iwae objectives and schedules print", {
  expect_snapshot({
    iwae()
    iwae(K = 20, alpha = 0.5, estimator = "dreg")
    k_schedule(1, 10, 100)
    iwae(K = k_schedule(2, 64, 50, growth = "doubling"))
  })
})

# The (VR-)IWAE bound and its gradients --------------------------------------

test_that("the IWAE bound with K = 1 is the ELBO with the same noise", {
  # elbo() takes the KL in closed form, log w_1 samples it: with the same
  # noise the two differ by D = sum_j mu_j sd_j eps_j + (var_j - 1)(eps_j^2 - 1) / 2,
  # which has mean zero; the decoder gradients are the same.
  for (m in list(small_deep(), small_linear())) {
    eps <- withr::with_seed(2, matrix(stats::rnorm(2 * 3 * 4), 2))
    e <- cpp_objective(m$model, elbo(), m$par, m$x, eps, 4, TRUE)
    w <- cpp_objective(m$model, iwae(K = 1), m$par, m$x, eps, 4, TRUE)
    D <- function(par) {
      q <- cpp_encode(m$model, par, m$x)
      row <- rep(1:3, each = 4)
      ep <- t(eps)
      mean(rowSums(q$mean[row, ] * sqrt(q$var[row, ]) * ep + (q$var[row, ] - 1) * (ep^2 - 1) / 2)) * 1
    }
    expect_equal(w$objective, e$objective - D(m$par), tolerance = 1e-12)
    th <- theta_index(m$model, 5)
    expect_equal(w$gradient[th], e$gradient[th], tolerance = 1e-12)
    phi <- -th
    fd <- fd_gradient(D, m$par)
    diff <- e$gradient - w$gradient
    expect_lt(sqrt(sum((diff[phi] - fd[phi])^2)) / sqrt(sum(fd[phi]^2)), 1e-6)
    expect_true(all(is.na(c(w$reconstruction, w$kl))))
  }
})

test_that("the (VR-)IWAE bound matches its definition, and alpha -> 0 gives IWAE", {
  m <- small_deep()
  K <- 6
  eps <- withr::with_seed(3, matrix(stats::rnorm(2 * 3 * K * 2), 2))
  lw <- log_weights_r(m$model, m$par, m$x, eps, K * 2)
  for (alpha in c(0, 0.3, 0.8)) {
    v <- cpp_objective(m$model, iwae(K, alpha = alpha), m$par, m$x, eps, 2, FALSE)
    expect_equal(v$objective, vr_bound_r(lw, K, alpha), tolerance = 1e-12)
  }
  a0 <- cpp_objective(m$model, iwae(K), m$par, m$x, eps, 2, TRUE)
  a <- cpp_objective(m$model, iwae(K, alpha = 1e-10), m$par, m$x, eps, 2, TRUE)
  expect_equal(a$objective, a0$objective, tolerance = 1e-8)
  expect_equal(a$gradient, a0$gradient, tolerance = 1e-8)
  # alpha -> 1: the average of the log weights
  a1 <- cpp_objective(m$model, iwae(K, alpha = 1 - 1e-9), m$par, m$x, eps, 2, FALSE)
  expect_equal(a1$objective, mean(lw), tolerance = 1e-6)
  # stable for log weights far below exp()'s range
  far <- small_deep(obs_sd = 1e-3, learn_obs_sd = FALSE)
  lw <- log_weights_r(far$model, far$par, far$x, eps, K * 2)
  expect_lt(max(lw), -1000)
  v <- cpp_objective(far$model, iwae(K, alpha = 0.5), far$par, far$x, eps, 2, TRUE)
  expect_equal(v$objective, vr_bound_r(lw, K, 0.5), tolerance = 1e-12)
  expect_true(all(is.finite(v$gradient)))
})

test_that("(VR-)IWAE gradients match finite differences in every block", {
  for (m in list(small_deep(), small_linear())) {
    for (obj in list(iwae(K = 4), iwae(K = 3, alpha = 0.4), iwae(K = 1, alpha = 0.7))) {
      samples <- 2
      eps <- withr::with_seed(4, matrix(stats::rnorm(2 * 3 * obj$K * samples), 2))
      f <- function(par) cpp_objective(m$model, obj, par, m$x, eps, samples, FALSE)$objective
      g <- cpp_objective(m$model, obj, m$par, m$x, eps, samples, TRUE)$gradient
      err <- block_errors(m$model, 5, g, fd_gradient(f, m$par))
      expect_true(all(err < 1e-6), info = paste(class(m$model)[1], describe_objective(obj),
                                                 names(err)[err >= 1e-6]))
    }
  }
})

test_that("DReG has the pathwise estimator's expectation and its decoder gradient", {
  # DReG is not the gradient of the fixed-noise objective: compare the
  # expectations of the two encoder gradients over the noise instead.
  m <- small_deep(dx = 4, n = 2)
  th <- theta_index(m$model, 4)
  K <- 5
  n_draws <- 3000
  for (alpha in c(0, 0.6)) {
    std <- iwae(K, alpha = alpha)
    dreg <- iwae(K, alpha = alpha, estimator = "dreg")
    diffs <- withr::with_seed(5, t(replicate(n_draws, {
      eps <- matrix(stats::rnorm(2 * 2 * K), 2)
      a <- cpp_objective(m$model, std, m$par, m$x, eps, 1, TRUE)
      b <- cpp_objective(m$model, dreg, m$par, m$x, eps, 1, TRUE)
      c(b$objective - a$objective,
        max(abs(b$gradient[th] - a$gradient[th])) / max(abs(a$gradient[th])),
        b$gradient[-th] - a$gradient[-th])
    })))
    expect_true(all(diffs[, 1] == 0))
    expect_lt(max(diffs[, 2]), 1e-13)
    d <- diffs[, -(1:2)]
    expect_true(all(apply(d, 2, stats::sd) > 0))  # the estimators differ draw by draw
    z <- colMeans(d) / (apply(d, 2, stats::sd) / sqrt(n_draws))
    # ~30 coordinates: |z| < 4.5 fails with probability < 2e-4 if unbiased
    expect_lt(max(abs(z)), 4.5)
  }
})

test_that("the expected IWAE bound grows with K", {
  m <- small_deep(n = 4)
  reps <- 30
  samples <- 20
  bound <- function(K, seed) {
    withr::with_seed(seed, vapply(seq_len(reps), function(r) {
      eps <- matrix(stats::rnorm(2 * 4 * K * samples), 2)
      cpp_objective(m$model, iwae(K), m$par, m$x, eps, samples, FALSE)$objective
    }, numeric(1)))
  }
  est <- lapply(c(1, 4, 16), function(K) bound(K, K))
  means <- vapply(est, mean, numeric(1))
  ses <- vapply(est, function(v) stats::sd(v) / sqrt(reps), numeric(1))
  for (i in 1:2) {
    expect_gt(means[i + 1] - means[i], 4 * sqrt(ses[i]^2 + ses[i + 1]^2))
  }
})

test_that("fits under IWAE are deterministic, continue their K schedule and record NA parts", {
  x <- as.matrix(digits[1:200, 1:64]) / 16
  model <- gaussian_vae(2, hidden = 8)
  obj <- iwae(K = k_schedule(1, 8, 10, growth = "doubling"), alpha = 0.2, estimator = "dreg")
  fit1 <- fit_vae(x, model, obj, iterations = 40, seed = 3, n_threads = 1,
                  eval_every = 20, eval_samples = 2)
  fit2 <- fit_vae(x, model, obj, iterations = 40, seed = 3, n_threads = 2,
                  eval_every = 20, eval_samples = 2)
  expect_identical(fit1$state$par, fit2$state$par)
  cols <- setdiff(names(trajectory(fit1)), c("seconds", "eval_seconds"))
  expect_identical(trajectory(fit1)[cols], trajectory(fit2)[cols])
  tr <- trajectory(fit1)
  expect_true(all(is.na(tr$reconstruction)) && all(is.na(tr$kl)))
  expect_true(all(is.finite(tr$objective)))
  expect_identical(which(!is.na(tr$full_objective)), c(20L, 40L))
  part <- fit_vae(x, model, obj, iterations = 25, seed = 3, n_threads = 1,
                  eval_every = 20, eval_samples = 2)
  cont <- fit_vae(x, init = part, iterations = 15, eval_every = 20, eval_samples = 2,
                  n_threads = 2)
  expect_identical(cont$state$par, fit1$state$par)
  # K at the iteration matters: a constant K = 1 gives another fit
  const <- fit_vae(x, model, iwae(K = 1, alpha = 0.2, estimator = "dreg"),
                   iterations = 40, seed = 3, n_threads = 1)
  expect_identical(trajectory(const)$objective[1:10], tr$objective[1:10])
  expect_false(identical(trajectory(const)$objective[11:40], tr$objective[11:40]))
})

test_that("fits describe their importance weighted objective", {
  expect_identical(describe_objective(iwae(5, estimator = "dreg")), "IWAE, K = 5, DReG")
  expect_identical(describe_objective(iwae(k_schedule(1, 8, 10), alpha = 0.5)),
                   "VR-IWAE, alpha = 0.5, K from 1 to 8, +1 every 10 iterations")
})

# Every objective over every likelihood ----------------------------------------

test_that("objectives over Bernoulli, continuous Bernoulli and c(z) decoders match plain R", {
  for (nm in names(cases <- small_likelihoods())) {
    cs <- cases[[nm]]
    S <- 3
    eps <- withr::with_seed(6, matrix(stats::rnorm(2 * 3 * S), 2))
    e <- cpp_objective(cs$model, elbo(beta = 0.7), cs$par, cs$x, eps, S, FALSE)
    expect_equal(e$objective, r_elbo_any(cs$model, cs$par, cs$x, eps, S, beta = 0.7),
                 tolerance = 1e-12, info = nm)
    lw <- r_log_weights_any(cs$model, cs$par, cs$x, eps, S)
    for (alpha in c(0, 0.4)) {
      v <- cpp_objective(cs$model, iwae(S, alpha = alpha), cs$par, cs$x, eps, 1, FALSE)
      expect_equal(v$objective, vr_bound_r(lw, S, alpha), tolerance = 1e-12, info = nm)
    }
  }
})

test_that("pathwise gradients over every likelihood match finite differences in every block", {
  objectives <- list(elbo(beta = 0.7), iwae(K = 3), iwae(K = 3, alpha = 0.4),
                     iwae(K = 1, alpha = 0.7))
  for (nm in names(cases <- small_likelihoods())) {
    cs <- cases[[nm]]
    for (obj in objectives) {
      samples <- 2
      eps <- withr::with_seed(4, matrix(stats::rnorm(2 * 3 * obj$K * samples), 2))
      f <- function(par) cpp_objective(cs$model, obj, par, cs$x, eps, samples, FALSE)$objective
      g <- cpp_objective(cs$model, obj, cs$par, cs$x, eps, samples, TRUE)$gradient
      err <- block_errors(cs$model, 4, g, fd_gradient(f, cs$par))
      expect_true(all(err < 1e-6), info = paste(nm, describe_objective(obj),
                                                 names(err)[err >= 1e-6]))
    }
  }
})

test_that("DReG over every likelihood has the pathwise decoder gradient and expectation", {
  K <- 4
  n_draws <- 1500
  for (nm in names(cases <- small_likelihoods(n = 2))) {
    cs <- cases[[nm]]
    th <- theta_index(cs$model, 4)
    std <- iwae(K, alpha = 0.3)
    dreg <- iwae(K, alpha = 0.3, estimator = "dreg")
    diffs <- withr::with_seed(5, t(replicate(n_draws, {
      eps <- matrix(stats::rnorm(2 * 2 * K), 2)
      a <- cpp_objective(cs$model, std, cs$par, cs$x, eps, 1, TRUE)
      b <- cpp_objective(cs$model, dreg, cs$par, cs$x, eps, 1, TRUE)
      c(max(abs(b$gradient[th] - a$gradient[th])) / max(abs(a$gradient[th])),
        b$gradient[-th] - a$gradient[-th])
    })))
    expect_lt(max(diffs[, 1]), 1e-13)
    d <- diffs[, -1]
    z <- colMeans(d) / (apply(d, 2, stats::sd) / sqrt(n_draws))
    # ~30 coordinates per model: |z| < 4.5 fails with probability < 2e-4 if unbiased
    expect_lt(max(abs(z)), 4.5, label = nm)
  }
})

# The score-function estimator ---------------------------------------------------

test_that("the score-function gradient is unbiased and keeps the pathwise decoder gradient", {
  for (covariance in c("diagonal", "full")) {
    m <- small_deep(dx = 4, n = 2)
    if (covariance == "full") {
      m$model$covariance <- "full"
      m$par <- perturbed_par(m$model, 4, 101)
    }
    th <- theta_index(m$model, 4)
    n_draws <- 3000
    pairs <- list(list(elbo(), elbo(estimator = "score")),
                  list(elbo(K = 3), elbo(K = 3, estimator = "score")),
                  list(iwae(3), iwae(3, estimator = "score")),
                  list(iwae(3, alpha = 0.5), iwae(3, alpha = 0.5, estimator = "score")))
    for (pr in pairs) {
      K <- pr[[1]]$K
      g <- withr::with_seed(7, replicate(n_draws, {
        eps <- matrix(stats::rnorm(2 * 2 * K), 2)
        a <- cpp_objective(m$model, pr[[1]], m$par, m$x, eps, 1, TRUE)
        b <- cpp_objective(m$model, pr[[2]], m$par, m$x, eps, 1, TRUE)
        c(b$objective != a$objective || any(b$gradient[th] != a$gradient[th]),
          a$gradient[-th], b$gradient[-th])
      }))
      expect_false(any(g[1, ] != 0))  # the same objective and decoder gradient
      g <- g[-1, ]
      np <- nrow(g) / 2
      path <- t(g[seq_len(np), ])
      score <- t(g[np + seq_len(np), ])
      d <- score - path
      z <- colMeans(d) / (apply(d, 2, stats::sd) / sqrt(n_draws))
      # ~30 coordinates: |z| < 4.5 fails with probability < 2e-4 if unbiased
      expect_lt(max(abs(z)), 4.5, label = describe_objective(pr[[2]]))
      # under the ELBO the score function's SNR is well below the pathwise
      # one's (under IWAE, VIMCO's baseline brings it close at small K)
      if (pr[[1]]$type == "elbo") {
        snr <- function(g) mean(abs(colMeans(g)) / apply(g, 2, stats::sd))
        expect_lt(snr(score), 0.8 * snr(path), label = describe_objective(pr[[2]]))
      }
    }
  }
})

test_that("elbo() takes the score-function estimator and draws per row", {
  expect_identical(elbo()[c("K", "estimator")], list(K = 1L, estimator = "reparam"))
  expect_identical(elbo(estimator = "score", K = 4)[c("K", "estimator")],
                   list(K = 4L, estimator = "score"))
  expect_identical(iwae(estimator = "score")$estimator, "score")
  expect_snapshot({
    elbo(estimator = "score", K = 4)
    iwae(K = 8, estimator = "score")
  })
  expect_snapshot(error = TRUE, {
    elbo(estimator = "dreg")
    elbo(exact = TRUE, estimator = "score")
    elbo(exact = TRUE, K = 2)
    elbo(K = 0)
  })
  # K draws per row: the ELBO averages them
  x <- digits_x(100)
  f <- fit_vae(x, gaussian_vae(2, hidden = 8), elbo(estimator = "score", K = 3),
               batch_size = 50, iterations = 5, seed = 1, n_threads = 1)
  expect_identical(f$objective$K, 3L)
  expect_match(describe_objective(f$objective), "K = 3, score function")
})
