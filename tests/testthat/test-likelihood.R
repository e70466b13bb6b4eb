test_that("log_likelihood() on a linear VAE converges to the exact value", {
  x <- as.matrix(digits[1:300, 1:64]) / 16
  x <- x[, apply(x, 2, stats::sd) > 0]
  fit <- fit_vae(x, small_linear()$model, optimizer = adam(lr = 0.01),
                 iterations = 300, seed = 1, n_threads = 2)
  p <- coef(fit)
  exact <- ppca_loglik(x, p$W, drop(p$mu), exp(p$log_obs_sd[[1]]))
  auto <- log_likelihood(fit, x, n_threads = 1)
  expect_identical(auto, tibble::tibble(estimate = exact, std_error = 0, ess = NA_real_))
  est <- lapply(c(100, 400, 1600), function(L) {
    log_likelihood(fit, x, samples = L, seed = L, n_threads = 2, method = "importance")
  })
  err <- vapply(est, function(e) abs(e$estimate - exact), numeric(1))
  se <- vapply(est, `[[`, numeric(1), "std_error")
  expect_s3_class(est[[1]], "tbl_df")
  expect_named(est[[1]], c("estimate", "std_error", "ess"))
  # The error shrinks as the number of samples grows, to within a few
  # standard errors (plus the O(1/L) downward bias of the log of a mean).
  expect_lt(err[3], err[2])
  expect_lt(err[2], err[1])
  expect_lt(err[3], 3 * se[3])
  # The standard error shrinks like 1 / sqrt(samples): x4 samples, / 2 error.
  expect_equal(se[1:2] / se[2:3], c(2, 2), tolerance = 0.1)
})

test_that("log_likelihood() is deterministic for any thread count and reproducible from set.seed()", {
  x <- as.matrix(digits[1:60, 1:64]) / 16
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8), batch_size = 20, iterations = 30,
                 seed = 1, n_threads = 1)
  a <- log_likelihood(fit, x, samples = 300, seed = 7, n_threads = 1)
  b <- log_likelihood(fit, x, samples = 300, seed = 7, n_threads = 2)
  expect_identical(a, b)
  expect_true(a$std_error > 0 && is.finite(a$estimate))
  expect_false(identical(a, log_likelihood(fit, x, samples = 300, seed = 8, n_threads = 1)))
  c1 <- withr::with_seed(3, log_likelihood(fit, x, samples = 50, n_threads = 1))
  c2 <- withr::with_seed(3, log_likelihood(fit, x, samples = 50, n_threads = 2))
  expect_identical(c1, c2)
})

test_that("log_likelihood() of a deep model lies above the IWAE and ELBO bounds", {
  x <- as.matrix(digits[1:100, 1:64]) / 16
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8), iterations = 100, seed = 2, n_threads = 2)
  ll <- log_likelihood(fit, x, samples = 500, seed = 1, n_threads = 2)
  eps <- cpp_normals(1, stream_id("user"), 0, 0, nrow(x) * 50, 2)
  elbo_value <- cpp_objective(fit$model, elbo(), fit$state$par, x, t(eps), 50, FALSE)$objective
  iwae5 <- cpp_objective(fit$model, iwae(5), fit$state$par, x, t(eps), 10, FALSE)$objective
  expect_gt(ll$estimate, iwae5)
  expect_gt(iwae5, elbo_value)
})

test_that("log_likelihood() rejects bad input", {
  x <- as.matrix(digits[1:60, 1:64]) / 16
  fit <- fit_vae(x, gaussian_vae(2, hidden = 4), batch_size = 20, iterations = 2,
                 seed = 1, n_threads = 1)
  bad <- rlang::exprs(
    log_likelihood(x, x),
    log_likelihood(fit, x[, 1:10]),
    log_likelihood(fit, "x"),
    log_likelihood(fit, x, samples = 1),
    log_likelihood(fit, x, samples = 2.5),
    log_likelihood(fit, x, seed = -1),
    log_likelihood(fit, x, n_threads = 0),
    log_likelihood(fit, x, method = "exact")
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, log_likelihood(fit, x[, 1:10]))
  expect_snapshot(error = TRUE, log_likelihood(fit, x, samples = 1))
  expect_snapshot(error = TRUE, log_likelihood(fit, x, method = "exact"))
})
