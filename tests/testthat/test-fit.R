# fit_vae() with the linear VAE --------------------------------------------------

test_that("fit_vae() trains a linear VAE with the exact or the sampled ELBO", {
  x <- simulate_ppca(n = 200, d = 6, scales = c(2, 1), seed = 9)
  for (objective in list(elbo(exact = TRUE), elbo())) {
    fit <- fit_vae(x, linear_vae(2, learn_obs_sd = TRUE), objective,
                   adam(lr = 0.05), batch_size = 50, iterations = 40,
                   seed = 2, n_threads = 1, progress = FALSE)
    expect_s3_class(fit, "vae_fit")
    expect_identical(fit$status, "completed")
    cf <- coef(fit)
    expect_named(cf, c("W", "mu", "log_obs_sd", "V", "b", "log_tau2"))
    expect_identical(dim(cf$W), c(6L, 2L))
    expect_identical(dim(cf$V), c(2L, 6L))
    expect_identical(dim(cf$log_tau2), c(2L, 1L))
    expect_true(all(is.finite(trajectory(fit)$objective)))
    out <- capture.output(print(fit))
    expect_match(out[[1]], "linear VAE: latent_dim 2, obs_sd 1 (learned)", fixed = TRUE)
    expect_match(out[[3]], if (objective$exact) "exact" else "ELBO \\(beta = 1\\)$")
  }
})

test_that("the exact ELBO makes the minibatch the only noise", {
  x <- simulate_ppca(n = 200, d = 6, scales = c(2, 1), seed = 9)
  model <- linear_vae(2)
  # With the whole data as the batch, the gradient is deterministic: the
  # minibatch objective is the exact ELBO at the current parameters.
  one <- fit_vae(x, model, elbo(exact = TRUE), sgd(lr = 0.01), batch_size = 200,
                 iterations = 3, seed = 2, n_threads = 1, progress = FALSE)
  two <- fit_vae(x, model, elbo(exact = TRUE), sgd(lr = 0.01), batch_size = 200,
                 iterations = 2, seed = 2, n_threads = 1, progress = FALSE)
  expect_equal(trajectory(one)$objective[[3]], exact_elbo(model, two$state$par, x),
               tolerance = 1e-12)
  # Another seed changes the initial parameters, not the draws (there are none):
  # from the same parameters, the same steps.
  three <- fit_vae(x, model, elbo(exact = TRUE), sgd(lr = 0.01), batch_size = 200,
                   iterations = 1, seed = 2, n_threads = 1, init = two,
                   progress = FALSE)
  expect_identical(three$state$par, one$state$par)
})

test_that("a linear VAE's trajectory carries the exact log-likelihood and its gap", {
  x <- simulate_ppca(n = 300, d = 6, scales = c(2, 1), seed = 10)
  model <- linear_vae(2, learn_obs_sd = TRUE)
  args <- list(x = x, model = model, objective = elbo(exact = TRUE),
               optimizer = adam(lr = 0.05), batch_size = 60, seed = 3,
               n_threads = 1, progress = FALSE)
  fit <- do.call(fit_vae, c(args, iterations = 30, eval_every = 10))
  tr <- trajectory(fit)
  expect_true(all(c("full_loglik", "loglik_gap") %in% names(tr)))
  evaluated <- tr$iteration %in% c(10, 20, 30)
  expect_true(all(is.na(tr$full_loglik[!evaluated])))
  expect_true(all(is.na(tr$loglik_gap[!evaluated])))
  expect_true(all(is.finite(tr$full_loglik[evaluated])))
  optimum <- ppca(x, 2)$loglik
  expect_equal(tr$loglik_gap[evaluated], optimum - tr$full_loglik[evaluated],
               tolerance = 1e-12)
  expect_true(all(tr$loglik_gap[evaluated] > 0))
  # Evaluated at the parameters the gradient of that iteration was taken at,
  # i.e. those after 19 steps for iteration 20.
  before <- do.call(fit_vae, c(args, iterations = 19))
  cf <- coef(before)
  at20 <- tr[tr$iteration == 20, ]
  expect_equal(at20$full_loglik,
               ppca_loglik(x, cf$W, cf$mu, exp(cf$log_obs_sd[[1]])), tolerance = 1e-12)
  expect_equal(at20$full_objective, exact_elbo(model, before$state$par, x),
               tolerance = 1e-12)
  # The ELBO is a lower bound on the log-likelihood.
  expect_true(all(tr$full_objective[evaluated] <= tr$full_loglik[evaluated]))
})

test_that("the log-likelihood columns are NA without evaluation and for deep models", {
  x <- simulate_ppca(n = 100, d = 5, scales = c(2, 1), seed = 11)
  lin <- fit_vae(x, linear_vae(2), iterations = 5, batch_size = 20, seed = 1,
                 n_threads = 1, progress = FALSE)
  deep <- fit_vae(x, gaussian_vae(2, hidden = 4), iterations = 5, batch_size = 20,
                  eval_every = 2, seed = 1, n_threads = 1, progress = FALSE)
  for (tr in list(trajectory(lin), trajectory(deep))) {
    expect_identical(names(tr)[(ncol(tr) - 1):ncol(tr)], c("full_loglik", "loglik_gap"))
    expect_true(all(is.na(tr$full_loglik)))
    expect_true(all(is.na(tr$loglik_gap)))
  }
  expect_true(any(!is.na(trajectory(deep)$full_objective)))
})

test_that("linear fits are identical for 1 and 2 threads and continue exactly", {
  x <- simulate_ppca(n = 400, d = 6, scales = c(2, 1), seed = 12)
  for (objective in list(elbo(exact = TRUE), elbo())) {
    args <- list(x = x, model = linear_vae(2, learn_obs_sd = TRUE),
                 objective = objective, optimizer = adam(lr = 0.05),
                 batch_size = 200, eval_every = 5, seed = 4, progress = FALSE)
    one <- do.call(fit_vae, c(args, iterations = 20, n_threads = 1))
    two <- do.call(fit_vae, c(args, iterations = 20, n_threads = 2))
    drop_time <- function(tr) tr[setdiff(names(tr), "seconds")]
    expect_identical(one$state$par, two$state$par)
    expect_identical(drop_time(trajectory(one)), drop_time(trajectory(two)))
    half <- do.call(fit_vae, c(args, iterations = 10, n_threads = 1))
    rest <- fit_vae(x, init = half, iterations = 10, eval_every = 5, n_threads = 2,
                    progress = FALSE)
    expect_identical(rest$state$par, one$state$par)
    expect_identical(drop_time(trajectory(rest)), drop_time(trajectory(one)))
  }
})

test_that("fit_vae() rejects the exact ELBO for a deep model", {
  x <- simulate_ppca(n = 50, d = 4, scales = 1, seed = 1)
  expect_error(
    fit_vae(x, gaussian_vae(2, hidden = 4), elbo(exact = TRUE), batch_size = 10,
            iterations = 1, n_threads = 1),
    class = "vaeconv_error_input"
  )
  expect_snapshot(error = TRUE,
    fit_vae(x, gaussian_vae(2, hidden = 4), elbo(exact = TRUE), batch_size = 10,
            iterations = 1, n_threads = 1)
  )
})
