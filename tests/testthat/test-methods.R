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
  expect_identical(as.character(unique(p$data$source)), "minibatch")
})

test_that("print() counts the collapsed latents and summary() times evaluations apart", {
  fit <- methods_fit(eval_every = 10)
  out <- capture.output(print(fit))
  expect_true(any(grepl(sprintf("latents:    %d of 2 collapsed", sum(fit$latents$collapsed)),
                        out, fixed = TRUE)))
  expect_true(any(grepl("s of full-data evaluations", out, fixed = TRUE)))
  s <- summary(fit)
  expect_named(s, c("iterations", "status", "objective", "full_objective", "grad_norm_sq",
                    "weight_change", "seconds", "eval_seconds", "ms_per_iteration",
                    "model_description", "objective_description"))
})

# A fit whose full-data squared gradient norm lies far below the minibatch
# one, and whose first objectives lie thousands of nats below the rest.
plot_fit <- function() {
  fit_vae(digits_x(600), gaussian_vae(3, hidden = 16, obs_sd = 0.1),
          optimizer = adam(lr = 1e-2), batch_size = 60, iterations = 300,
          eval_every = 30, seed = 1, n_threads = 1)
}

test_that("plot() shows the full-data line and the objective after the first iterations", {
  fit <- plot_fit()
  tr <- trajectory(fit)
  full <- tr$full_grad_norm_sq[!is.na(tr$full_grad_norm_sq)]
  expect_lt(min(full), min(tr$grad_norm_sq))  # what this test is about
  usr <- NULL
  pdf(NULL)
  on.exit(dev.off())
  # The plot region of each panel, as plot() leaves it.
  trace("lines", function() usr <<- c(usr, list(graphics::par("usr"))), print = FALSE,
        where = asNamespace("graphics"))
  on.exit(untrace("lines", where = asNamespace("graphics")), add = TRUE)
  plot(fit)
  right <- usr[[2]]  # log10 scale
  expect_lte(10^right[[3]], min(full))
  expect_gte(10^right[[4]], max(tr$grad_norm_sq))
  # The objective's panel runs from a little below its 5% quantile: the
  # first iterations do not set it.
  left <- usr[[1]]
  expect_gt(left[[3]], min(tr$objective))
  expect_gt(left[[3]], stats::quantile(tr$objective, 0.05) - 0.2 * diff(range(tr$objective[-(1:15)])))
})

test_that("autoplot() keeps the objective's panel for the iterations after the first", {
  skip_if_not_installed("ggplot2")
  fit <- plot_fit()
  tr <- trajectory(fit)
  p <- ggplot2::autoplot(fit)
  b <- ggplot2::ggplot_build(p)
  objective_range <- b$layout$panel_params[[1]]$y.range
  expect_gt(objective_range[[1]], min(tr$objective))
  expect_lte(objective_range[[1]], stats::quantile(tr$objective, 0.05))
  expect_gte(objective_range[[2]], max(tr$objective))
  gradient_range <- b$layout$panel_params[[2]]$y.range
  expect_lte(gradient_range[[1]], log10(min(tr$full_grad_norm_sq, na.rm = TRUE)))
  # The panels are labelled on the left, as y axes; a caption says what is left out.
  expect_identical(p$facet$params$strip.position, "left")
  expect_match(p$labels$caption, "first iterations")
  skip_on_cran()
  path <- withr::local_tempfile(fileext = ".png")
  suppressMessages(ggplot2::ggsave(path, p, dpi = 50))
  expect_true(file.exists(path))
})
