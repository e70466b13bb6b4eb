methods_fit <- function(...) {
  fit_vae(digits_x(100), gaussian_vae(2, hidden = 4), iterations = 20, seed = 1,
          n_threads = 1, ...)
}

test_that("print() shows the model, the status and the last values", {
  fit <- methods_fit(eval_every = 10)
  out <- capture.output(print(fit))
  expect_match(out[1], "<vae_fit> Gaussian VAE: latent_dim 2, hidden 4")
  expect_true(any(grepl("completed after 20 iterations", out)))
  expect_true(any(grepl("full data:", out)))
  capture.output(vis <- withVisible(print(fit)))
  expect_false(vis$visible)
  expect_identical(vis$value, fit)
})

test_that("summary() is a one-row tibble of the key figures", {
  fit <- methods_fit(eval_every = 10)
  s <- summary(fit)
  expect_s3_class(s, "tbl_df")
  expect_identical(nrow(s), 1L)
  tr <- trajectory(fit)
  expect_identical(s$iterations, 20L)
  expect_equal(s$objective, mean(tr$objective[19:20]))
  expect_equal(s$full_objective, tr$full_objective[20])
  expect_equal(s$weight_change, tr$weight_change[20])
  expect_identical(s$model_description, describe_model(fit$model))
  expect_identical(s$objective_description, describe_objective(fit$objective))
})

test_that("plot() and autoplot() draw the trajectory", {
  fit <- methods_fit(eval_every = 5)
  pdf(NULL)
  on.exit(dev.off())
  expect_invisible(plot(fit))
  skip_if_not_installed("ggplot2")
  p <- ggplot2::autoplot(fit)
  expect_s3_class(p, "ggplot")
  expect_setequal(unique(p$data$source), c("minibatch", "full data"))
  ggplot2::ggplot_build(p)
})

test_that("autoplot() works without full-data evaluations", {
  skip_if_not_installed("ggplot2")
  p <- ggplot2::autoplot(methods_fit())
  expect_s3_class(p, "ggplot")
  expect_identical(unique(p$data$source), "minibatch")
})
