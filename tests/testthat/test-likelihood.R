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

test_that("Ctrl-C while the progress bar shows stops log_likelihood() with R's interrupt, and the session goes on", {
  rs <- bar_session()
  on.exit(rs$close(), add = TRUE)
  ll_in_child <- function(n_threads) {
    x <- as.matrix(vaeconv::digits[, 1:64]) / 16
    fit <- vaeconv::fit_vae(x, vaeconv::gaussian_vae(4, hidden = 256), iterations = 20,
                            seed = 1, n_threads = 1, progress = FALSE)
    tryCatch(
      vaeconv::log_likelihood(fit, x, samples = 5000, seed = 1, n_threads = n_threads,
                              progress = TRUE),
      interrupt = function(cnd) "interrupt"
    )
  }
  for (cs in list(list(after = 0.05, n_threads = 2), list(after = 1, n_threads = 1))) {
    r <- interrupt_after(rs, ll_in_child, "Log-likelihood", cs$after, n_threads = cs$n_threads)
    expect_clean_stop(r, "Log-likelihood")
    expect_match(r$stderr, "row [0-9]+/1797")
    expect_null(r$error)
    expect_identical(r$result, "interrupt")
  }
  expect_identical(rs$run(function() 1 + 1), 2)
})

test_that("a time limit stops log_likelihood() with its error and leaves no thread working", {
  skip_on_cran()
  x <- digits_x(500)
  fit <- fit_vae(x, gaussian_vae(4, hidden = 128), iterations = 10, seed = 1, n_threads = 1)
  start <- Sys.time()
  expect_error(
    with_time_limit(0.5, function() {
      log_likelihood(fit, x, samples = 20000, seed = 1, n_threads = 2, progress = FALSE)
    }),
    "time limit"
  )
  expect_lt(as.numeric(difftime(Sys.time(), start, units = "secs")), 5)
  before <- process_cpu()
  Sys.sleep(0.5)
  expect_lt(process_cpu() - before, 0.1)
})

test_that("log_likelihood() reports the effective sample size of the weights", {
  x <- digits_x(30)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8), batch_size = 10, iterations = 30,
                 seed = 1, n_threads = 1)
  ll <- log_likelihood(fit, x, samples = 200, seed = 2, n_threads = 1)
  expect_gt(ll$ess, 0)
  expect_lte(ll$ess, 1)
  # The same from the rows: ESS / L = 1 / (L sum wbar^2), where the variance
  # column is (L sum wbar^2 - 1) / (L - 1).
  rows <- vaeconv:::cpp_log_likelihood(fit$model, fit$state$par, x, 200, 2, 1)
  s2 <- (rows$variance * 199 + 1) / 200
  expect_equal(rows$ess, 1 / (200 * s2))
  expect_equal(ll$ess, mean(rows$ess))

  # A linear VAE whose encoder is the exact posterior: every weight is p(x),
  # so the ESS is all the samples; an encoder four times too wide puts the
  # weight on few draws.
  model <- linear_vae(2, obs_sd = 0.5)
  xl <- simulate_ppca(n = 50, d = 6, scales = c(3, 2), seed = 2)
  W <- qr.Q(qr(matrix(withr::with_seed(3, stats::rnorm(12)), 6, 2))) %*% diag(c(3, 2))
  mu <- colMeans(xl)
  q <- exact_posterior(W, mu, 0.5)
  exact <- fit
  exact$model <- model
  exact$n_features <- 6L
  exact$state$par <- linear_par(model, W, mu, q$V, q$b, q$log_tau2)
  ll_exact <- log_likelihood(exact, xl, samples = 100, seed = 1, n_threads = 1,
                             method = "importance")
  expect_equal(ll_exact$ess, 1, tolerance = 1e-10)
  expect_equal(ll_exact$std_error, 0, tolerance = 1e-6)
  wide <- exact
  wide$state$par <- linear_par(model, W, mu, q$V, q$b, q$log_tau2 + log(16))
  expect_lt(log_likelihood(wide, xl, samples = 100, seed = 1, n_threads = 1,
                           method = "importance")$ess, 0.5)
})

test_that("log_likelihood() warns about a fit that did not complete", {
  x <- digits_x(60)
  expect_warning(
    fit <- fit_vae(x, gaussian_vae(2, hidden = 8), optimizer = sgd(lr = 1e8, decay = 0),
                   batch_size = 20, iterations = 20, seed = 1, n_threads = 1),
    class = "vaeconv_warning_diverged"
  )
  expect_warning(
    log_likelihood(fit, x, samples = 10, seed = 1, n_threads = 1),
    class = "vaeconv_warning_fit_status"
  )
  expect_snapshot(invisible(log_likelihood(fit, x, samples = 10, seed = 1, n_threads = 1)))
})

test_that("the bounded-memory estimator serves every encoder and likelihood: its rows average to the IWAE bound with K = samples", {
  # Width 300: pieces of 832 columns, so a row's 2000 draws are decoded in
  # three pieces. evaluate() under iwae(K = samples) keys the same draws
  # (stream "estimate", iteration 0, draw row * samples + s) and computes
  # them in one product per chunk: the same numbers, summed in another order.
  xg <- digits_x(4)
  xb <- 1 * (xg >= 0.5)
  cases <- list(
    list(model = bernoulli_vae(2, hidden = c(300, 20), covariance = "full"), x = xb),
    list(model = bernoulli_vae(2, hidden = c(300, 20), continuous = TRUE), x = xg),
    list(model = gaussian_vae(2, hidden = c(300, 20), obs_sd_from_z = TRUE,
                              covariance = "full"), x = xg)
  )
  for (cs in cases) {
    fit <- fit_vae(cs$x, cs$model, batch_size = 4, iterations = 3, seed = 1, n_threads = 1,
                   progress = FALSE)
    for (threads in 1:2) {
      ll <- log_likelihood(fit, cs$x, samples = 2000, seed = 7, n_threads = threads,
                           progress = FALSE)
      ev <- evaluate(fit, cs$x, objective = iwae(K = 2000), samples = 1, seed = 7,
                     n_threads = threads, progress = FALSE)
      expect_equal(ll$estimate, ev$objective, tolerance = 1e-12)
      expect_true(ll$ess > 0 && ll$ess <= 1)
    }
  }
})

test_that("the kernels of the likelihoods' exp, log1p, log, expm1 and sinh return the C library's own bits", {
  # libm.hpp computes these for the Bernoulli likelihoods, c^2(z) and the
  # IWAE weights several values at a time; every value must be identical to
  # the C library's, as R's exp(), log1p(), log(), expm1() and sinh() return
  # it. Width 0 is the C library's own call, value by value.
  set.seed(5)
  eta <- c(rnorm(2e4, sd = 3), rnorm(2e4, sd = 300), runif(2e4, -745, 710))
  tiny <- c(2^-54 * (1 + (-3:3) * 2^-52), 2^-29 * (1 + (-3:3) * 2^-52), 2^-28 * (1 + (-3:3) * 2^-52),
            1e-300, 4.9e-324)
  edges <- c(0, -0, 1, 0.25, 22, -22, 512, -512, 511.9999999, 745.2, -745.2, 709.8, 38.82, -38.82,
             Inf, -Inf, NaN, NA, tiny, -tiny)
  x <- c(eta, edges)
  e <- c(exp(-abs(eta)), runif(2e4), tiny, 0.41421, 0.41422, 0.4142135623730950,
         1 - 2^-20, 1 - 2^-53, 1, 2, -0.5, 0, Inf, NaN)
  pos <- c(abs(eta), runif(2e4, 0.9, 1.1), 1 + (-50:50) * 2^-52, 0.9375, 1.064, 2^-1022,
           .Machine$double.xmax, 1e-320, 0, -1, Inf, NaN)
  cases <- list(exp = list(x, exp), exp_neg_abs = list(x, function(v) exp(-abs(v))),
                log1p = list(e, log1p), log = list(pos, log),
                expm1 = list(x, expm1), expm1_neg_abs = list(x, function(v) expm1(-abs(v))),
                sinh = list(x, sinh))
  has_kernels <- !inherits(try(cpp_libm("exp", 1, 4L), silent = TRUE), "try-error")
  widths <- c(0L, if (has_kernels) 4L, if (has_kernels && cpp_simd_level() >= 2) 8L)
  for (w in widths) {
    for (fun in names(cases)) {
      arg <- cases[[fun]][[1]]
      expect_identical(suppressWarnings(cpp_libm(fun, arg, w)),
                       suppressWarnings(cases[[fun]][[2]](arg)),
                       label = sprintf("%s at width %d", fun, w))
    }
  }
  # The kernels are in use wherever the CPU has them and the C library
  # agreed with them at load (here: glibc, whose routines they follow).
  if (has_kernels && identical(R.version$os, "linux-gnu")) {
    for (fun in c("exp", "log1p", "log", "expm1", "sinh")) {
      expect_identical(cpp_libm_width(fun), if (cpp_simd_level() >= 2) 8L else 4L, label = fun)
    }
  }
  expect_error(cpp_libm("tanh", 1, 0L), "fun must be one of")
})
