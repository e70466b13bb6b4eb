test_that("entropy_sum() equals the ELBO at the pPCA optimum with learned c", {
  x <- simulate_ppca(n = 300, d = 6, scales = c(2, 1), sd = 0.5, seed = 7)
  p <- ppca(x, 2)
  model <- linear_vae(2, learn_obs_sd = TRUE)
  fit <- fit_vae(x, model, elbo(exact = TRUE), iterations = 1, seed = 1,
                 n_threads = 1, progress = FALSE)
  # The optimum's W has orthogonal columns, so the exact posterior is an
  # encoder of the model: a stationary point of the ELBO in all parameters.
  q <- exact_posterior(p$W, p$mu, p$obs_sd)
  fit$state$par <- linear_par(model, p$W, p$mu, q$V, q$b, q$log_tau2,
                              obs_sd = p$obs_sd)
  es <- entropy_sum(fit, x, n_threads = 1)
  expect_s3_class(es, "tbl_df")
  expect_named(es, c("elbo", "entropy_sum", "relative_difference"))
  expect_equal(nrow(es), 1L)
  expect_lt(abs(es$elbo - p$loglik), 1e-10)
  expect_lt(abs(es$relative_difference), 1e-12)
  # The formula: -(D/2) log(2 pi e c^2) + (1/2) sum_h log tau_h^2.
  expect_equal(es$entropy_sum,
               -6 / 2 * log(2 * pi * exp(1) * p$obs_sd^2) + 0.5 * sum(q$log_tau2),
               tolerance = 1e-14)
  expect_equal(es$relative_difference,
               (es$elbo - es$entropy_sum) / abs(es$elbo), tolerance = 1e-14)

  # With c fixed away from the optimum there is no such equality.
  fixed <- linear_vae(2, obs_sd = 1)
  fit_fixed <- fit_vae(x, fixed, elbo(exact = TRUE), iterations = 1, seed = 1,
                       n_threads = 1, progress = FALSE)
  q <- exact_posterior(p$W, p$mu, 1)
  fit_fixed$state$par <- linear_par(fixed, p$W, p$mu, q$V, q$b, q$log_tau2)
  # ... and entropy_sum() says so.
  expect_warning(es_fixed <- entropy_sum(fit_fixed, x, n_threads = 1),
                 class = "vaeconv_warning_fixed_obs_sd")
  expect_gt(abs(es_fixed$relative_difference), 0.05)
  expect_no_warning(entropy_sum(fit, x, n_threads = 1))
  skip_on_cran()
  expect_snapshot(invisible(entropy_sum(fit_fixed, x, n_threads = 1)))
})

test_that("a linear VAE trained with the exact ELBO reaches the pPCA optimum", {
  skip_on_cran()
  x <- simulate_ppca(n = 2000, d = 10, scales = c(4, 2.5, 1.5), sd = 0.5, seed = 1)
  p <- ppca(x, 3)
  fit <- fit_vae(x, linear_vae(3, learn_obs_sd = TRUE), elbo(exact = TRUE),
                 adam(lr = 0.1, decay = 0.3), batch_size = 500,
                 iterations = 2000, eval_every = 100, seed = 1, n_threads = 2,
                 progress = FALSE)
  expect_identical(fit$status, "completed")
  cf <- coef(fit)
  loglik <- ppca_loglik(x, cf$W, cf$mu, exp(cf$log_obs_sd[[1]]))
  expect_lt(p$loglik - loglik, 0.01)
  expect_gt(p$loglik - loglik, -1e-8)  # the optimum is the maximum
  tr <- trajectory(fit)
  last <- tr[tr$iteration == 2000, ]
  expect_lt(last$loglik_gap, 0.01)
  expect_equal(last$loglik_gap, p$loglik - last$full_loglik, tolerance = 1e-12)

  es <- entropy_sum(fit, x, n_threads = 1)
  expect_lt(abs(es$relative_difference), 0.01)
  expect_equal(es$elbo, exact_elbo(fit$model, fit$state$par, x), tolerance = 1e-12)
  expect_lte(es$elbo, loglik)
})

test_that("entropy_sum() of a deep VAE: Monte Carlo ELBO keyed by the seed", {
  x <- as.matrix(digits[1:200, 1:64]) / 16
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, learn_obs_sd = TRUE),
                 iterations = 20, seed = 1, n_threads = 1, progress = FALSE)
  es <- entropy_sum(fit, x, draws = 30, seed = 5, n_threads = 1)
  # The entropies from the encoder's variances.
  var <- encode(fit, x, type = "variance")
  c_sd <- exp(coef(fit)$log_obs_sd[[1]])
  expect_equal(es$entropy_sum,
               -64 / 2 * log(2 * pi * exp(1) * c_sd^2) + 0.5 * mean(rowSums(log(var))),
               tolerance = 1e-14)
  # The ELBO with the draws keyed by (seed, "estimate" stream, row, draw).
  eps <- t(cpp_normals(5, stream_id("estimate"), 0, 0, nrow(x) * 30, 2))
  direct <- cpp_objective(fit$model, elbo(), fit$state$par, x, eps, 30L, FALSE)
  expect_equal(es$elbo, direct$objective, tolerance = 1e-12)
  # Deterministic for any thread count; another seed gives other draws.
  expect_identical(entropy_sum(fit, x, draws = 30, seed = 5, n_threads = 2), es)
  expect_false(identical(entropy_sum(fit, x, draws = 30, seed = 6, n_threads = 1), es))
  # seed = NULL takes one draw from R's generator.
  set.seed(10)
  a <- entropy_sum(fit, x, draws = 30, n_threads = 1)
  after <- stats::runif(1)
  set.seed(10)
  b <- entropy_sum(fit, x, draws = 30, n_threads = 1)
  expect_identical(a, b)
  set.seed(10)
  stats::runif(1)
  expect_identical(stats::runif(1), after)
})

test_that("entropy_sum() of a linear VAE uses no draws and leaves R's generator alone", {
  x <- simulate_ppca(n = 100, d = 5, scales = c(2, 1), seed = 8)
  fit <- fit_vae(x, linear_vae(2, learn_obs_sd = TRUE), elbo(exact = TRUE),
                 iterations = 50, seed = 1, n_threads = 1, progress = FALSE)
  set.seed(1)
  before <- .Random.seed
  es <- entropy_sum(fit, x, n_threads = 1)
  expect_identical(.Random.seed, before)
  expect_identical(entropy_sum(fit, x, draws = 7, seed = 3, n_threads = 2), es)
  expect_equal(es$elbo, exact_elbo(fit$model, fit$state$par, x), tolerance = 1e-12)
})

test_that("entropy_sum() rejects bad input", {
  x <- simulate_ppca(n = 100, d = 5, scales = c(2, 1), seed = 8)
  fit <- fit_vae(x, linear_vae(2), elbo(exact = TRUE), iterations = 5, seed = 1,
                 n_threads = 1, progress = FALSE)
  bad <- rlang::exprs(
    entropy_sum(),
    entropy_sum(x, x),
    entropy_sum(fit),
    entropy_sum(fit, x[, 1:3]),
    entropy_sum(fit, "x"),
    entropy_sum(fit, x, draws = 0),
    entropy_sum(fit, x, seed = -1),
    entropy_sum(fit, x, n_threads = 0)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, entropy_sum(fit))
  expect_snapshot(error = TRUE, entropy_sum(x, x))
  expect_snapshot(error = TRUE, entropy_sum(fit, x[, 1:3]))
  expect_snapshot(error = TRUE, entropy_sum(fit, x, draws = 0))
  expect_snapshot(error = TRUE, entropy_sum(fit, x, seed = 1.5))
})

test_that("Ctrl-C while the progress bar shows stops entropy_sum() with R's interrupt, and the session goes on", {
  rs <- bar_session()
  on.exit(rs$close(), add = TRUE)
  entropy_in_child <- function(n_threads) {
    x <- as.matrix(vaeconv::digits[, 1:64]) / 16
    fit <- vaeconv::fit_vae(x, vaeconv::gaussian_vae(4, hidden = 256, learn_obs_sd = TRUE),
                            iterations = 20, seed = 1, n_threads = 1, progress = FALSE)
    tryCatch(
      vaeconv::entropy_sum(fit, x, draws = 3000, seed = 1, n_threads = n_threads,
                           progress = TRUE),
      interrupt = function(cnd) "interrupt"
    )
  }
  for (cs in list(list(after = 0.05, n_threads = 2), list(after = 1, n_threads = 1))) {
    r <- interrupt_after(rs, entropy_in_child, "Entropy sum", cs$after, n_threads = cs$n_threads)
    expect_clean_stop(r, "Entropy sum")
    expect_match(r$stderr, "chunk [0-9]+/1797")
    expect_null(r$error)
    expect_identical(r$result, "interrupt")
  }
  expect_identical(rs$run(function() 1 + 1), 2)
})

test_that("the ELBO of entropy_sum() decoded in pieces equals the engine's to the bit", {
  # Width 300: pieces of 832 columns, so a row's 2000 draws (a chunk of its
  # own) are decoded in three pieces; the value without the gradient takes
  # the bounded-memory path, the one with it the engine's.
  x <- digits_x(5)
  fit <- fit_vae(x, gaussian_vae(3, hidden = c(300, 40), learn_obs_sd = TRUE),
                 batch_size = 5, iterations = 5, seed = 1, n_threads = 1)
  for (threads in 1:2) {
    value <- vaeconv:::cpp_evaluate(fit$model, elbo(beta = 0.5), fit$state$par, x, 1L, 2000L,
                                    3, threads, 0L)
    engine <- vaeconv:::cpp_evaluate(fit$model, elbo(beta = 0.5), fit$state$par, x, 1L, 2000L,
                                     3, threads, 0L, gradient = TRUE)
    expect_identical(value[c("objective", "reconstruction", "kl")],
                     engine[c("objective", "reconstruction", "kl")])
  }
})

test_that("entropy_sum() with a decoder variance that depends on z", {
  x <- digits_x(120)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, obs_sd = 0.3, obs_sd_from_z = TRUE),
                 batch_size = 40, iterations = 30, seed = 1, n_threads = 1)
  # with the variance head's weights at zero, c_j(z) is constant: the sum
  # of entropies in closed form
  lay <- cpp_layout(fit$model, 64L)
  idx <- function(name) lay$offset[lay$name == name] + seq_len(lay$rows[lay$name == name] * lay$cols[lay$name == name])
  flat <- fit
  flat$state$par[idx("decoder.var.weight")] <- 0
  c2 <- fit$model$min_var + log1p(exp(flat$state$par[idx("decoder.var.bias")]))
  var <- encode(flat, x, type = "variance")
  want <- -32 * log(2 * pi * exp(1)) - 0.5 * sum(log(c2)) + 0.5 * mean(rowSums(log(var)))
  got <- entropy_sum(flat, x, draws = 3, seed = 1, n_threads = 1)
  expect_equal(got$entropy_sum, want, tolerance = 1e-12)
  # the general case: independent of n_threads, reproducible, finite
  a <- entropy_sum(fit, x, draws = 5, seed = 2, n_threads = 1)
  expect_identical(entropy_sum(fit, x, draws = 5, seed = 2, n_threads = 2), a)
  expect_true(is.finite(a$entropy_sum))
})

test_that("the ELBO's value decoded in pieces equals the engine's to the bit for every encoder and likelihood", {
  xg <- digits_x(5)
  xb <- 1 * (xg >= 0.5)
  cases <- list(
    list(model = bernoulli_vae(3, hidden = c(300, 40), covariance = "full"), x = xb),
    list(model = bernoulli_vae(3, hidden = c(300, 40), continuous = TRUE), x = xg),
    list(model = gaussian_vae(3, hidden = c(300, 40), obs_sd_from_z = TRUE,
                              covariance = "full"), x = xg)
  )
  for (cs in cases) {
    fit <- fit_vae(cs$x, cs$model, batch_size = 5, iterations = 5, seed = 1, n_threads = 1,
                   progress = FALSE)
    for (threads in 1:2) {
      value <- vaeconv:::cpp_evaluate(fit$model, elbo(beta = 0.5), fit$state$par, cs$x, 1L,
                                      2000L, 3, threads, 0L)
      engine <- vaeconv:::cpp_evaluate(fit$model, elbo(beta = 0.5), fit$state$par, cs$x, 1L,
                                       2000L, 3, threads, 0L, gradient = TRUE)
      expect_identical(value[c("objective", "reconstruction", "kl")],
                       engine[c("objective", "reconstruction", "kl")])
    }
  }
})
