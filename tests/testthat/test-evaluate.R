test_that("evaluate() is the objective and gradient with the draws keyed by seed and row", {
  x <- digits_x(150)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, learn_obs_sd = TRUE), batch_size = 50,
                 iterations = 20, seed = 1, n_threads = 1)
  ev <- evaluate(fit, x, samples = 4, seed = 5, n_threads = 1)
  expect_s3_class(ev, "tbl_df")
  expect_named(ev, c("objective", "reconstruction", "kl", "grad_norm_sq",
                     "grad_norm_sq_theta", "grad_norm_sq_phi"))
  # Draws keyed by (seed, "estimate" stream, iteration 0, row * samples + draw).
  eps <- t(cpp_normals(5, stream_id("estimate"), 0, 0, nrow(x) * 4, 2))
  want <- cpp_objective(fit$model, elbo(), fit$state$par, x, eps, 4L, TRUE)
  expect_equal(ev$objective, want$objective, tolerance = 1e-12)
  expect_equal(ev$objective, ev$reconstruction - ev$kl, tolerance = 1e-12)
  expect_equal(ev$grad_norm_sq, sum(want$gradient^2), tolerance = 1e-10)
  layout <- cpp_layout(fit$model, 64)
  group <- rep(layout$group, layout$rows * layout$cols)
  expect_equal(ev$grad_norm_sq_theta, sum(want$gradient[group == "theta"]^2), tolerance = 1e-10)
  expect_equal(ev$grad_norm_sq_phi, sum(want$gradient[group == "phi"]^2), tolerance = 1e-10)
  # The same for any number of threads; another seed, other draws.
  expect_identical(evaluate(fit, x, samples = 4, seed = 5, n_threads = 2), ev)
  expect_false(identical(evaluate(fit, x, samples = 4, seed = 6, n_threads = 1), ev))
  # seed = NULL takes one draw from R's generator.
  set.seed(3)
  a <- evaluate(fit, x, n_threads = 1)
  after <- stats::runif(1)
  set.seed(3)
  expect_identical(evaluate(fit, x, n_threads = 1), a)
  set.seed(3)
  stats::runif(1)
  expect_identical(stats::runif(1), after)
})

test_that("evaluate() equals the trajectory's full-data columns at the same parameters", {
  # Linear VAE with the exact ELBO: no draws, so the values must be the same
  # bits. Iteration 30 of a fit evaluates at the parameters after 29 steps.
  set.seed(2)
  x <- matrix(stats::rnorm(300 * 5), 300, 5) %*% matrix(stats::rnorm(25), 5, 5)
  model <- linear_vae(latent_dim = 2, learn_obs_sd = TRUE)
  first <- fit_vae(x, model, objective = elbo(exact = TRUE), optimizer = adam(lr = 0.05),
                   batch_size = 100, iterations = 29, seed = 4, n_threads = 1)
  more <- fit_vae(x, init = first, iterations = 1, eval_every = 30, n_threads = 2)
  row <- trajectory(more)[30, ]
  ev <- evaluate(first, x, n_threads = 2)
  expect_identical(ev$objective, row$full_objective)
  expect_identical(ev$grad_norm_sq, row$full_grad_norm_sq)
  expect_equal(ev$grad_norm_sq, ev$grad_norm_sq_theta + ev$grad_norm_sq_phi, tolerance = 1e-12)
})

test_that("evaluate() takes another objective, and K at a schedule's end", {
  x <- digits_x(120)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8), objective = iwae(K = k_schedule(1, 5, 2)),
                 batch_size = 40, iterations = 12, seed = 2, n_threads = 1)
  ev <- evaluate(fit, x, seed = 1, n_threads = 1)
  expect_true(is.na(ev$reconstruction) && is.na(ev$kl))
  # K = 5 at iteration 12
  expect_identical(ev, evaluate(fit, x, objective = iwae(K = 5), seed = 1, n_threads = 1))
  expect_false(identical(ev, evaluate(fit, x, objective = iwae(K = 4), seed = 1, n_threads = 1)))
  el <- evaluate(fit, x, objective = elbo(), seed = 1, n_threads = 1)
  expect_equal(el$objective, el$reconstruction - el$kl, tolerance = 1e-12)
  # The IWAE bound with K = 5 lies above the ELBO here (same parameters).
  big <- evaluate(fit, x, objective = iwae(K = 5), samples = 20, seed = 1, n_threads = 1)
  ref <- evaluate(fit, x, objective = elbo(), samples = 100, seed = 1, n_threads = 1)
  expect_gt(big$objective, ref$objective)
})

test_that("bad input to evaluate() gets clear errors", {
  x <- digits_x(60)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 4), batch_size = 20, iterations = 2,
                 seed = 1, n_threads = 1)
  expect_snapshot(error = TRUE, {
    evaluate(list(), x)
    evaluate(fit, x[, 1:10])
    evaluate(fit, x, objective = "elbo")
    evaluate(fit, x, objective = elbo(exact = TRUE))
    evaluate(fit, x, samples = 0)
    evaluate(fit, x, seed = 1.5)
  })
})

test_that("Ctrl-C while the progress bar shows stops evaluate() with R's interrupt, and the session goes on", {
  rs <- bar_session()
  on.exit(rs$close(), add = TRUE)
  evaluate_in_child <- function() {
    x <- as.matrix(vaeconv::digits[, 1:64]) / 16
    fit <- vaeconv::fit_vae(x, vaeconv::gaussian_vae(4, hidden = 256), iterations = 20,
                            seed = 1, n_threads = 1, progress = FALSE)
    tryCatch(
      vaeconv::evaluate(fit, x, samples = 2000, seed = 1, n_threads = 2, progress = TRUE),
      interrupt = function(cnd) "interrupt"
    )
  }
  r <- interrupt_after(rs, evaluate_in_child, "Evaluating", 0.5)
  expect_clean_stop(r, "Evaluating")
  expect_null(r$error)
  expect_identical(r$result, "interrupt")
  expect_identical(rs$run(function() 1 + 1), 2)
})
