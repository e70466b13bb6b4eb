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

# The exact ELBO of the linear VAE -------------------------------------------

linear_setup <- function(learn_obs_sd, n = 40, d = 6, k = 2, seed = 11) {
  model <- linear_vae(k, obs_sd = 0.7, learn_obs_sd = learn_obs_sd)
  withr::with_seed(seed, {
    x <- matrix(stats::rnorm(n * d), n, d) %*% matrix(stats::rnorm(d * d), d, d)
    par <- cpp_init(model, d, seed)
    par <- par + 0.3 * stats::rnorm(length(par))
  })
  list(model = model, x = x, par = par)
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
    h <- 1e-5
    fd <- vapply(seq_along(s$par), function(i) {
      e <- replace(numeric(length(s$par)), i, h)
      (value(s$par + e) - value(s$par - e)) / (2 * h)
    }, numeric(1))
    layout <- cpp_layout(s$model, ncol(s$x))
    expected <- c("W", "mu", if (learn) "log_obs_sd", "V", "b", "log_tau2")
    expect_identical(layout$name, expected)
    for (b in seq_len(nrow(layout))) {
      idx <- layout$offset[[b]] + seq_len(layout$rows[[b]] * layout$cols[[b]])
      rel <- max(abs(grad[idx] - fd[idx])) / max(abs(fd[idx]))
      expect_lt(rel, 1e-6, label = paste(layout$name[[b]], "learn_obs_sd =", learn))
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
