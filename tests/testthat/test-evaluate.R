test_that("evaluate() is the objective and gradient with the draws keyed by seed and row", {
  x <- digits_x(150)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, learn_obs_sd = TRUE), batch_size = 50,
                 iterations = 20, seed = 1, n_threads = 1)
  ev <- evaluate(fit, x, samples = 4, seed = 5, n_threads = 1)
  expect_s3_class(ev, "tbl_df")
  expect_named(ev, c("objective", "reconstruction", "kl", "grad_norm_sq",
                     "grad_norm_sq_theta", "grad_norm_sq_phi", "grad_norm_sq_unbiased"))
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

test_that("gradient() is the full-data gradient whose squared norm evaluate() reports", {
  x <- digits_x(150)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, learn_obs_sd = TRUE), batch_size = 50,
                 iterations = 20, seed = 1, n_threads = 1)
  g <- gradient(fit, x, samples = 4, seed = 5, n_threads = 1)
  # The blocks of coef(), with their names and shapes.
  expect_identical(names(g), names(coef(fit)))
  expect_identical(lapply(g, dim), lapply(coef(fit), dim))
  # The gradient of the mean objective (to be maximised) with the draws of
  # evaluate(): keyed by (seed, "estimate" stream, iteration 0, row * samples + draw).
  eps <- t(cpp_normals(5, stream_id("estimate"), 0, 0, nrow(x) * 4, 2))
  want <- cpp_objective(fit$model, elbo(), fit$state$par, x, eps, 4L, TRUE)
  expect_equal(unlist(g, use.names = FALSE), want$gradient, tolerance = 1e-10)
  ev <- evaluate(fit, x, samples = 4, seed = 5, n_threads = 1)
  flat <- unlist(g, use.names = FALSE)
  expect_equal(sum(flat^2), ev$grad_norm_sq, tolerance = 1e-12)
  layout <- cpp_layout(fit$model, 64)
  group <- rep(layout$group, layout$rows * layout$cols)
  expect_equal(sum(flat[group == "theta"]^2), ev$grad_norm_sq_theta, tolerance = 1e-12)
  expect_equal(sum(flat[group == "phi"]^2), ev$grad_norm_sq_phi, tolerance = 1e-12)
  # Central finite differences of the objective with the same draws.
  objective_at <- function(par) {
    f <- fit
    f$state$par <- par
    evaluate(f, x, samples = 4, seed = 5, n_threads = 1)$objective
  }
  par <- fit$state$par
  h <- 1e-5
  for (j in c(1, 40, length(par) %/% 2, length(par) - 3, length(par))) {
    up <- replace(par, j, par[j] + h)
    down <- replace(par, j, par[j] - h)
    fd <- (objective_at(up) - objective_at(down)) / (2 * h)
    expect_lt(abs(flat[j] - fd), 1e-6 * max(1, abs(fd)))
  }
  expect_identical(gradient(fit, x, samples = 4, seed = 5, n_threads = 2), g)
})

test_that("gradient() of the linear VAE's exact ELBO matches finite differences", {
  x <- simulate_ppca(n = 200, d = 5, scales = c(2, 1), seed = 3)
  model <- linear_vae(2, learn_obs_sd = TRUE)
  fit <- fit_vae(x, model, elbo(exact = TRUE), batch_size = 50, iterations = 30,
                 seed = 1, n_threads = 1)
  g <- unlist(gradient(fit, x, n_threads = 1), use.names = FALSE)
  par <- fit$state$par
  h <- 1e-6
  fd <- vapply(seq_along(par), function(j) {
    (exact_elbo(model, replace(par, j, par[j] + h), x) -
       exact_elbo(model, replace(par, j, par[j] - h), x)) / (2 * h)
  }, numeric(1))
  expect_equal(g, fd, tolerance = 1e-6)
  ev <- evaluate(fit, x, n_threads = 1)
  # No draws: the unbiased estimate is the squared norm itself.
  expect_identical(ev$grad_norm_sq_unbiased, ev$grad_norm_sq)
})

test_that("grad_norm_sq_unbiased is the inner product of two halves of the draws", {
  x <- digits_x(150)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, learn_obs_sd = TRUE), batch_size = 50,
                 iterations = 20, seed = 1, n_threads = 1)
  for (samples in c(4L, 5L)) {
    ev <- evaluate(fit, x, samples = samples, seed = 5, n_threads = 1)
    eps <- t(cpp_normals(5, stream_id("estimate"), 0, 0, nrow(x) * samples, 2))
    h <- samples %/% 2
    first <- rep((seq_len(nrow(x)) - 1) * samples, each = h) + rep(seq_len(h), nrow(x))
    second <- rep((seq_len(nrow(x)) - 1) * samples, each = samples - h) +
      rep(h + seq_len(samples - h), nrow(x))
    ga <- cpp_objective(fit$model, elbo(), fit$state$par, x, eps[, first], h, TRUE)$gradient
    gb <- cpp_objective(fit$model, elbo(), fit$state$par, x, eps[, second], samples - h,
                        TRUE)$gradient
    expect_equal(ev$grad_norm_sq_unbiased, sum(ga * gb), tolerance = 1e-9)
  }
  expect_true(is.na(evaluate(fit, x, samples = 1, seed = 5, n_threads = 1)$grad_norm_sq_unbiased))
})

test_that("grad_norm_sq_unbiased is unbiased where grad_norm_sq is not, and can be negative", {
  skip_on_cran()
  x <- digits_x(60)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, obs_sd = 0.5), optimizer = adam(lr = 0.01),
                 batch_size = 30, iterations = 600, seed = 1, n_threads = 1)
  negative <- logical(0)
  for (objective in list(elbo(), iwae(K = 3), iwae(K = 3, estimator = "dreg"))) {
    # The reference: 4000 replicates per row (its own standard error is small).
    ref <- evaluate(fit, x, objective = objective, samples = 4000, seed = 99,
                    n_threads = 2)$grad_norm_sq_unbiased
    draws <- do.call(rbind, lapply(1:300, function(s) {
      evaluate(fit, x, objective = objective, samples = 2, seed = s, n_threads = 1)
    }))
    u <- draws$grad_norm_sq_unbiased
    se <- stats::sd(u) / sqrt(length(u))
    expect_lt(abs(mean(u) - ref), 4 * se)
    # The squared norm of the estimate is biased up by its variance.
    b <- draws$grad_norm_sq
    expect_gt(mean(b) - ref, 4 * stats::sd(b) / sqrt(length(b)))
    negative <- c(negative, any(u < 0))
  }
  # Being an inner product, it can be negative (here under the ELBO and IWAE).
  expect_identical(negative[1:2], c(TRUE, TRUE))
})

test_that("the trajectory records the full-data gradient's parts and its unbiased estimate", {
  skip_on_cran()
  x <- digits_x(60)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 8, obs_sd = 0.5), optimizer = adam(lr = 0.01),
                 batch_size = 30, iterations = 600, seed = 1, n_threads = 1)
  ref <- evaluate(fit, x, samples = 4000, seed = 99, n_threads = 2)$grad_norm_sq_unbiased
  # Steps of 1e-12 leave the parameters where they are: 300 evaluations at
  # (nearly) the same point, each with its own draws.
  still <- suppressMessages(fit_vae(x, init = fit, optimizer = sgd(lr = 1e-12, decay = 0),
                                    iterations = 300, eval_every = 1, eval_samples = 2,
                                    n_threads = 1))
  tr <- trajectory(still)[601:900, ]
  expect_equal(tr$full_grad_norm_sq_theta + tr$full_grad_norm_sq_phi, tr$full_grad_norm_sq,
               tolerance = 1e-12)
  u <- tr$full_grad_norm_sq_unbiased
  expect_lt(abs(mean(u) - ref), 4 * stats::sd(u) / sqrt(length(u)))
  expect_gt(mean(tr$full_grad_norm_sq) - ref,
            4 * stats::sd(tr$full_grad_norm_sq) / sqrt(length(u)))
  expect_true(any(u < 0))
  # One replicate: no halves.
  one <- fit_vae(x, gaussian_vae(2, hidden = 4), iterations = 4, eval_every = 2,
                 batch_size = 30, seed = 1, n_threads = 1)
  tr1 <- trajectory(one)
  expect_true(all(is.na(tr1$full_grad_norm_sq_unbiased)))
  expect_true(all(!is.na(tr1$full_grad_norm_sq_theta[c(2, 4)])))
})

test_that("bad input to gradient() gets clear errors", {
  x <- digits_x(60)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 4), batch_size = 20, iterations = 2,
                 seed = 1, n_threads = 1)
  expect_snapshot(error = TRUE, {
    gradient(list(), x)
    gradient(fit)
    gradient(fit, x[, -1])
    gradient(fit, x, objective = elbo(exact = TRUE))
    gradient(fit, x, samples = 0)
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
