small_fit <- function(..., iterations = 30, x = digits_x(300)) {
  fit_vae(x, gaussian_vae(latent_dim = 2, hidden = c(16, 8)), batch_size = 50,
          iterations = iterations, seed = 3, ...)
}

test_that("a fit returns a vae_fit with the documented trajectory", {
  fit <- small_fit(n_threads = 1)
  expect_s3_class(fit, "vae_fit")
  expect_identical(fit$status, "completed")
  tr <- trajectory(fit)
  expect_s3_class(tr, "tbl_df")
  expect_named(tr, c("iteration", "objective", "reconstruction", "kl", "grad_norm_sq",
                     "grad_norm_sq_theta", "grad_norm_sq_phi", "lr", "seconds",
                     "weight_change", "full_objective", "full_grad_norm_sq"))
  expect_identical(tr$iteration, 1:30)
  expect_equal(tr$grad_norm_sq, tr$grad_norm_sq_theta + tr$grad_norm_sq_phi)
  expect_equal(tr$objective, tr$reconstruction - tr$kl)
  expect_equal(tr$lr, 1e-3 * (1:30)^-0.5)
  expect_true(all(diff(tr$seconds) >= 0))
  expect_true(all(is.na(tr$full_objective)))
  par <- fit$state$par
  par0 <- fit$state$par0
  expect_equal(tr$weight_change[30], sqrt(sum((par - par0)^2) / sum(par0^2)))
  expect_identical(fit$state$iteration, 30)
})

test_that("one and two threads give identical fits", {
  f1 <- small_fit(n_threads = 1, eval_every = 10, eval_samples = 2)
  f2 <- small_fit(n_threads = 2, eval_every = 10, eval_samples = 2)
  expect_identical(without_seconds(trajectory(f1)), without_seconds(trajectory(f2)))
  expect_identical(f1$state$par, f2$state$par)
  expect_identical(f1$state$opt_v, f2$state$opt_v)
})

test_that("set.seed() reproduces a fit, which takes exactly one draw of R's stream", {
  unseeded <- function() {
    fit_vae(digits_x(100), gaussian_vae(2, hidden = 4), iterations = 3, n_threads = 1)
  }
  set.seed(42)
  f1 <- unseeded()
  after_fit <- stats::runif(1)
  set.seed(42)
  f2 <- unseeded()
  expect_identical(f1$state$par, f2$state$par)
  expect_identical(f1$seed, f2$seed)
  set.seed(42)
  stats::runif(1)
  expect_identical(after_fit, stats::runif(1))
  # A given seed leaves R's stream alone.
  set.seed(42)
  fit_vae(digits_x(100), gaussian_vae(2, hidden = 4), iterations = 2, seed = 1,
          n_threads = 1)
  a <- stats::runif(1)
  set.seed(42)
  expect_identical(a, stats::runif(1))
})

test_that("different seeds give different fits", {
  f1 <- small_fit(n_threads = 1, iterations = 5)
  f2 <- fit_vae(digits_x(300), gaussian_vae(2, hidden = c(16, 8)), batch_size = 50,
                iterations = 5, seed = 4, n_threads = 1)
  expect_false(identical(f1$state$par, f2$state$par))
})

test_that("the full-data evaluation is the objective and gradient on all rows", {
  x <- digits_x(120)
  model <- gaussian_vae(latent_dim = 2, hidden = 6)
  fit10 <- fit_vae(x, model, batch_size = 40, iterations = 10, seed = 5,
                   eval_every = 5, eval_samples = 3, n_threads = 2)
  tr <- trajectory(fit10)
  expect_identical(which(!is.na(tr$full_objective)), c(5L, 10L))
  # Iteration 10 evaluates at the parameters after 9 steps, with draws keyed
  # by (seed, eval stream, iteration 10, row * samples + draw).
  fit9 <- fit_vae(x, model, batch_size = 40, iterations = 9, seed = 5, n_threads = 1)
  eps <- t(vaeconv:::cpp_normals(5, vaeconv:::stream_id("eval"), 10, 0, 120 * 3, 2))
  want <- vaeconv:::cpp_objective(model, elbo(), fit9$state$par, x, eps, 3, TRUE)
  expect_equal(tr$full_objective[10], want$objective, tolerance = 1e-12)
  expect_equal(tr$full_grad_norm_sq[10], sum(want$gradient^2), tolerance = 1e-10)
})

test_that("record_every thins the trajectory and keeps evaluated iterations", {
  fit <- small_fit(n_threads = 1, record_every = 4, eval_every = 10)
  expect_identical(trajectory(fit)$iteration, sort(unique(c(seq(4L, 30L, 4L), c(10L, 20L, 30L)))))
})

test_that("continuing a fit is the same as fitting in one go", {
  x <- digits_x(200)
  model <- gaussian_vae(latent_dim = 2, hidden = 8)
  opt <- adam(lr = 0.01)
  # 200 rows, batches of 64: epochs of 3 iterations, so the split falls
  # inside an epoch.
  whole <- fit_vae(x, model, optimizer = opt, iterations = 40, seed = 9, n_threads = 1,
                   eval_every = 4)
  first <- fit_vae(x, model, optimizer = opt, iterations = 17, seed = 9, n_threads = 1,
                   eval_every = 4)
  both <- fit_vae(x, init = first, iterations = 23, n_threads = 2, eval_every = 4)
  expect_identical(both$state$par, whole$state$par)
  expect_identical(both$state$opt_m, whole$state$opt_m)
  expect_identical(without_seconds(trajectory(both)), without_seconds(trajectory(whole)))
  expect_identical(both$state$iteration, 40)
})

test_that("fits survive saveRDS() and readRDS() and continue from them", {
  fit <- small_fit(n_threads = 1, iterations = 10)
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_identical(back, fit)
  more1 <- fit_vae(digits_x(300), init = back, iterations = 5, n_threads = 1)
  more2 <- fit_vae(digits_x(300), init = fit, iterations = 5, n_threads = 1)
  expect_identical(more1$state$par, more2$state$par)
  expect_identical(without_seconds(trajectory(more1)), without_seconds(trajectory(more2)))
})

test_that("a fit on digits improves its objective", {
  skip_on_cran()
  fit <- fit_vae(digits_x(), gaussian_vae(latent_dim = 4, hidden = c(64, 64)),
                 iterations = 600, seed = 1, n_threads = 2)
  tr <- trajectory(fit)
  expect_gt(mean(tail(tr$objective, 50)), mean(head(tr$objective, 50)) + 10)
})

test_that("a diverging fit stops, warns and keeps what it had", {
  x <- digits_x(100)
  expect_warning(
    fit <- fit_vae(x, gaussian_vae(2, hidden = 4), optimizer = sgd(lr = 1e6, decay = 0),
                   batch_size = 20, iterations = 50, seed = 1, n_threads = 1),
    class = "vaeconv_warning_diverged"
  )
  expect_identical(fit$status, "diverged")
  tr <- trajectory(fit)
  expect_lt(nrow(tr), 50)
  expect_true(all(is.finite(tr$objective)))
  expect_true(all(is.finite(fit$state$par)))
  expect_identical(fit$state$iteration, as.double(nrow(tr)))
})

test_that("fit_vae() rejects bad input before running", {
  x <- digits_x(100)
  m <- gaussian_vae(2, hidden = 4)
  bad <- list(
    list(x = "a", model = m),
    list(x = x[0, ], model = m),
    list(x = x[1, , drop = FALSE], model = m),
    list(x = replace(x, 5, NA), model = m),
    list(x = replace(x, 5, Inf), model = m),
    list(x = data.frame(a = letters[1:3], b = 1:3), model = m),
    list(x = x, model = "gaussian"),
    list(x = x, model = m, objective = adam()),
    list(x = x, model = m, optimizer = elbo()),
    list(x = x, model = m, objective = elbo(exact = TRUE)),
    list(x = x, model = m, batch_size = 0),
    list(x = x, model = m, batch_size = 101),
    list(x = x, model = m, batch_size = 2.5),
    list(x = x, model = m, iterations = -1),
    list(x = x, model = m, iterations = NA),
    list(x = x, model = m, seed = -1),
    list(x = x, model = m, seed = "a"),
    list(x = x, model = m, n_threads = 0),
    list(x = x, model = m, record_every = 0),
    list(x = x, model = m, eval_every = -1),
    list(x = x, model = m, eval_samples = 0),
    list(x = x, model = m, progress = NA),
    list(x = x, model = m, init = list()),
    list(x = x)
  )
  for (args in bad) {
    expect_error(do.call(fit_vae, args), class = "vaeconv_error_input")
  }
})

test_that("fit_vae() error messages", {
  skip_on_cran()
  x <- digits_x(100)
  m <- gaussian_vae(2, hidden = 4)
  expect_snapshot(error = TRUE, {
    fit_vae(x)
    fit_vae(replace(x, 5, NA), m)
    fit_vae(x, m, batch_size = 101)
    fit_vae(x, m, objective = elbo(exact = TRUE))
    fit_vae(x, m, optimizer = elbo())
    fit_vae(x, m, init = list())
  })
  fit <- fit_vae(x, m, iterations = 2, seed = 1, n_threads = 1)
  expect_snapshot(error = TRUE, {
    fit_vae(x[, 1:10], init = fit)
    fit_vae(x, gaussian_vae(3), init = fit)
  })
})
