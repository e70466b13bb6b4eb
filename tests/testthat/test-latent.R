test_that("latent_activity() follows its definitions", {
  x <- digits_x(300)
  fit <- fit_vae(x, gaussian_vae(3, hidden = 8, obs_sd = 0.3), batch_size = 50,
                 iterations = 50, seed = 2, n_threads = 1)
  la <- latent_activity(fit, x)
  expect_s3_class(la, "tbl_df")
  expect_named(la, c("latent", "activity", "entropy", "kl", "collapsed"))
  expect_identical(la$latent, c("z1", "z2", "z3"))
  mu <- encode(fit, x)
  v <- encode(fit, x, type = "variance")
  n <- nrow(x)
  expect_equal(la$activity, unname(apply(mu, 2, stats::var)) * (n - 1) / n, tolerance = 1e-12)
  expect_equal(la$entropy, unname(colMeans(0.5 * log(2 * pi * exp(1) * v))), tolerance = 1e-12)
  expect_identical(la$collapsed, la$activity < 0.01)
  expect_identical(latent_activity(fit, x, threshold = 1)$collapsed, la$activity < 1)
  # The KL per latent adds up to the ELBO's KL term (closed form, no draws).
  expect_equal(sum(la$kl), evaluate(fit, x, seed = 1, n_threads = 1)$kl, tolerance = 1e-10)
  expect_true(all(la$kl >= 0))
})

test_that("latent_activity() tells collapsed latents from active ones", {
  skip_on_cran()
  x <- digits_x()
  # The README's first fit (obs_sd = 0.1) learns a latent space; with
  # obs_sd = 1 the reconstruction term is weak beside the KL, and the
  # posterior collapses onto the prior.
  weak <- fit_vae(x, gaussian_vae(4, hidden = c(64, 64)), optimizer = adam(lr = 1e-2),
                  iterations = 2000, seed = 1, n_threads = 2)
  la <- latent_activity(weak, x)
  expect_true(all(la$collapsed))
  expect_true(all(la$kl < 0.01))
  # The prior's entropy, (1/2) log(2 pi e), for a collapsed latent.
  expect_true(all(abs(la$entropy - 0.5 * log(2 * pi * exp(1))) < 0.05))
  strong <- fit_vae(x, gaussian_vae(4, hidden = c(64, 64), obs_sd = 0.1),
                    optimizer = adam(lr = 1e-2), iterations = 2000, seed = 1, n_threads = 2)
  la <- latent_activity(strong, x)
  expect_false(any(la$collapsed))
  expect_true(all(la$kl > 1))
  expect_true(all(la$activity > 0.1))
  # The fit keeps the count, and print() says it.
  expect_identical(weak$latents$collapsed, rep(TRUE, 4))
  expect_output(print(weak), "4 of 4 collapsed")
  expect_output(print(strong), "0 of 4 collapsed")
})

test_that("a fit keeps the latent activity of at most 256 rows of its data", {
  x <- digits_x(600)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 4), batch_size = 100, iterations = 3,
                 seed = 1, n_threads = 1)
  rows <- unique(round(seq(1, 600, length.out = 256)))
  expect_identical(fit$latents, latent_activity(fit, x[rows, ]))
  small <- fit_vae(x[1:50, ], gaussian_vae(2, hidden = 4), batch_size = 10, iterations = 3,
                   seed = 1, n_threads = 1)
  expect_identical(small$latents, latent_activity(small, x[1:50, ]))
})

test_that("bad input to latent_activity() gets clear errors", {
  x <- digits_x(60)
  fit <- fit_vae(x, gaussian_vae(2, hidden = 4), batch_size = 20, iterations = 2,
                 seed = 1, n_threads = 1)
  expect_snapshot(error = TRUE, {
    latent_activity(list(), x)
    latent_activity(fit)
    latent_activity(fit, x[, -1])
    latent_activity(fit, x, threshold = -1)
  })
})
