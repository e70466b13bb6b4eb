# Squared norms C n^(-1/2) times log-normal noise.
noisy_root_n <- function(n, C = 3, sdlog = 0.5, seed = 1) {
  withr::with_seed(seed, C / sqrt(n) * stats::rlnorm(length(n), 0, sdlog))
}

# Squared norms whose running mean is exactly C log(n) / sqrt(n): the n-th
# value is n m_n - (n - 1) m_(n-1) (non-negative, as sqrt(n) log(n) grows).
on_reference <- function(n, C = 2) {
  m <- C * log(n) / sqrt(n)
  n * m - c(0, (n[-1] - 1) * m[-length(m)])
}

test_that("rate_reference() is log(n) / sqrt(n)", {
  expect_identical(rate_reference(1), 0)
  expect_equal(rate_reference(c(10, 100L)), log(c(10, 100)) / sqrt(c(10, 100)))
  # Its local log-log slope is -1/2 + 1/log(n).
  n <- 1000
  h <- 1e-4
  slope <- (log(rate_reference(n * exp(h))) - log(rate_reference(n * exp(-h)))) / (2 * h)
  expect_equal(slope, -1 / 2 + 1 / log(n), tolerance = 1e-7)
})

test_that("the running mean of C n^(-1/2) noise has log-log slope -1/2", {
  n <- 1:4000
  tr <- data.frame(iteration = n, grad_norm_sq = noisy_root_n(n))
  rate <- rate_compare(tr)
  s <- summary(rate)
  expect_lt(abs(s$slope + 1 / 2), 0.05)
  expect_identical(s$interval, "regression")
  expect_identical(c(s$n_from, s$n_to), c(2001L, 4000L))
  expect_lt(s$conf_low, s$slope)
  expect_gt(s$conf_high, s$slope)
  # The reference's own slope over the tail is -1/2 + 1/log(n), on average.
  expect_equal(s$reference_slope, -1 / 2 + 1 / log(2800), tolerance = 0.01)
  expect_equal(s$ratio_slope, s$slope - s$reference_slope)
  # The values themselves fall like n^(-1/2) too.
  expect_lt(abs(s$value_slope + 1 / 2), 0.05)
  expect_identical(rate$value, tr$grad_norm_sq)
})

test_that("values falling faster than 1/n give a running mean of slope -1", {
  n <- 1:4000
  tr <- data.frame(iteration = n, grad_norm_sq = 5 * n^-1.5)
  s <- summary(rate_compare(tr))
  # The running mean is about 5 zeta(3/2) / n.
  expect_lt(abs(s$slope + 1), 0.02)
  expect_equal(s$value_slope, -1.5)
})

test_that("several replicates give a t interval across their slopes", {
  n <- 1:3000
  tr <- do.call(rbind, lapply(1:5, function(r) {
    data.frame(replicate = r, iteration = n, grad_norm_sq = noisy_root_n(n, seed = r))
  }))
  rate <- rate_compare(tr)
  expect_identical(names(rate), c("replicate", "n", "value", "running_mean", "reference", "ratio"))
  s <- summary(rate)
  slopes <- vapply(1:5, function(r) {
    summary(rate_compare(tr[tr$replicate == r, ]))$slope
  }, double(1))
  expect_equal(s$slope, mean(slopes))
  half <- stats::qt(0.975, 4) * stats::sd(slopes) / sqrt(5)
  expect_equal(c(s$conf_low, s$conf_high), mean(slopes) + c(-1, 1) * half)
  expect_identical(s$interval, "replicates")
  expect_identical(s$replicates, 5L)
  expect_lt(abs(s$slope + 1 / 2), 0.05)
  # A wider level gives a wider interval.
  s99 <- summary(rate, level = 0.99)
  expect_lt(s99$conf_low, s$conf_low)
})

test_that("a single run's interval is the regression's", {
  n <- seq(10, 2000, by = 10)
  tr <- data.frame(iteration = n, full_grad_norm_sq = noisy_root_n(n))
  rate <- rate_compare(tr, "full_grad_norm_sq", tail = 0.7)
  s <- summary(rate)
  use <- rate$n > 0.3 * 2000
  lm_fit <- stats::lm(log(running_mean) ~ log(n), data = rate[use, ])
  expect_equal(s$slope, unname(stats::coef(lm_fit)[[2]]))
  expect_equal(c(s$conf_low, s$conf_high), unname(stats::confint(lm_fit)[2, ]))
})

test_that("a running mean on C log(n) / sqrt(n) is matched by the reference", {
  n <- 1:2000
  tr <- data.frame(iteration = n, grad_norm_sq = on_reference(n, C = 2))
  rate <- rate_compare(tr)
  expect_s3_class(rate, "vae_rate")
  expect_equal(rate$running_mean, 2 * log(n) / sqrt(n))
  expect_equal(attr(rate, "constant"), 2)
  expect_equal(rate$reference, 2 * rate_reference(n))
  expect_equal(rate$ratio[-1], rep(1, 1999))
  expect_identical(rate$ratio[[1]], NaN) # 0 / 0 at n = 1
  s <- summary(rate)
  expect_equal(s$constant, 2)
  expect_equal(s$ratio_slope, 0, tolerance = 1e-10)
  expect_equal(s$slope, s$reference_slope)

  # With multiplicative noise the ratio stays near a constant over the tail.
  noisy <- tr
  noisy$grad_norm_sq <- on_reference(n, C = 2) * withr::with_seed(3, stats::rlnorm(2000, 0, 0.3))
  rate <- rate_compare(noisy)
  tail_ratio <- rate$ratio[rate$n > 1000]
  expect_lt(max(abs(tail_ratio - 1)), 0.05)
  expect_lt(abs(summary(rate)$ratio_slope), 0.05)
  # The constant is fitted on the log scale over the tail: there the log
  # ratio has mean zero.
  expect_equal(mean(log(tail_ratio)), 0)
  expect_equal(attr(rate, "constant"), 2, tolerance = 0.05)
})

test_that("the running mean skips missing values and sorts by iteration", {
  tr <- data.frame(
    iteration = c(4L, 1L, 3L, 2L, 5L, 6L),
    grad_norm_sq = c(1, 9, 2, 4, 3, 6),
    full_grad_norm_sq = c(NA, NA, 5, NA, NA, 1)
  )
  rate <- rate_compare(tr, "grad_norm_sq", tail = 1)
  expect_identical(rate$n, 1:6)
  expect_equal(rate$running_mean, cumsum(c(9, 4, 2, 1, 3, 6)) / 1:6)
  full <- rate_compare(tr, "full_grad_norm_sq", tail = 1)
  expect_identical(full$n, c(3L, 6L))
  expect_equal(full$running_mean, c(5, 3))
  expect_equal(attr(full, "constant"), exp(mean(log(c(5, 3) / rate_reference(c(3, 6))))))
})

test_that("rate_compare() takes a vae_fit, a vae_fits or a trajectory", {
  x <- digits_x(200)
  model <- gaussian_vae(latent_dim = 2, hidden = 8)
  fits <- fit_vae_replicates(x, model, iterations = 40, eval_every = 10,
                             seeds = 1:2, n_threads = 2, progress = FALSE)
  from_fits <- rate_compare(fits, "full_grad_norm_sq")
  expect_identical(from_fits$replicate, rep(1:2, each = 4))
  expect_identical(from_fits$n, rep(c(10L, 20L, 30L, 40L), 2))
  expect_identical(unclass(from_fits), unclass(rate_compare(trajectory(fits), "full_grad_norm_sq")))
  from_fit <- rate_compare(fits[[2]], "full_grad_norm_sq")
  expect_identical(names(from_fit), c("n", "value", "running_mean", "reference", "ratio"))
  expect_equal(from_fit$running_mean, from_fits$running_mean[5:8])
  grad <- rate_compare(fits[[1]], "grad_norm_sq")
  expect_identical(attr(grad, "column"), "grad_norm_sq")
  expect_equal(grad$running_mean, cumsum(trajectory(fits[[1]])$grad_norm_sq) / 1:40)
})

test_that("rate_compare() leaves out diverged replicates, with a warning", {
  x <- digits_x(200)
  fits <- suppressWarnings(fit_vae_replicates(
    x, gaussian_vae(latent_dim = 2, hidden = 8), optimizer = sgd(lr = 1, decay = 0),
    iterations = 40, seeds = 1:4, n_threads = 2, progress = FALSE
  ))
  status <- summary(fits)$status
  expect_identical(status, c("completed", "completed", "completed", "diverged"))
  expect_warning(rate <- rate_compare(fits), class = "vaeconv_warning_diverged")
  expect_identical(unique(rate$replicate), 1:3)
  kept <- suppressWarnings(rate_compare(fits[1:3]))
  expect_identical(unclass(rate), unclass(kept))
  # trajectory(fits) keeps them all
  expect_silent(all <- rate_compare(trajectory(fits)))
  expect_identical(unique(all$replicate), 1:4)
  expect_error(rate_compare(fits[[4]]), class = "vaeconv_error_input")
  expect_error(rate_compare(fits[4]), class = "vaeconv_error_input")
  expect_snapshot(error = TRUE, rate_compare(fits[[4]]))
  expect_snapshot(rate <- rate_compare(fits))
})

test_that("autoplot() of a rate comparison returns a ggplot", {
  skip_if_not_installed("ggplot2")
  n <- 1:500
  one <- rate_compare(data.frame(iteration = n, grad_norm_sq = noisy_root_n(n)))
  p <- ggplot2::autoplot(one)
  expect_s3_class(p, "ggplot")
  expect_silent(ggplot2::ggplot_build(p))
  several <- rate_compare(data.frame(
    replicate = rep(1:3, each = 500), iteration = rep(n, 3),
    grad_norm_sq = noisy_root_n(rep(n, 3))
  ))
  p <- ggplot2::autoplot(several)
  expect_s3_class(p, "ggplot")
  expect_silent(ggplot2::ggplot_build(p))
  expect_setequal(unique(p$data$line),
                  c("running mean", "mean over replicates", "C log(n) / sqrt(n)"))
  # The subtitle fits ggsave()'s default width of 7 inches, in the theme's
  # font size: it starts above the panel, after the y axis's title and labels
  # (about an inch with the margins), so it has less than 6 inches.
  pdf(NULL)
  on.exit(dev.off())
  size <- ggplot2::calc_element("plot.subtitle", ggplot2::theme_minimal())$size
  widths <- vapply(strsplit(p$labels$subtitle, "\n")[[1]], function(line) {
    grid::convertWidth(grid::grobWidth(grid::textGrob(line, gp = grid::gpar(fontsize = size))),
                       "inches", valueOnly = TRUE)
  }, numeric(1))
  expect_lt(max(widths), 5.5)
})

test_that("bad input to the rate functions gets clear errors", {
  tr <- data.frame(iteration = 1:10, grad_norm_sq = 10:1,
                   full_grad_norm_sq = NA_real_, objective = -(1:10))
  expect_snapshot(error = TRUE, {
    rate_reference(0.5)
    rate_reference("10")
    rate_reference(c(2, NA))
    rate_compare(1:10)
    rate_compare(data.frame(grad_norm_sq = 1))
    rate_compare(data.frame(iteration = c(1, 1.5), grad_norm_sq = 1))
    rate_compare(tr, "grad_norm")
    rate_compare(tr, "full_grad_norm_sq")
    rate_compare(tr, "objective")
    rate_compare(rbind(tr, tr))
    rate_compare(tr, tail = 0)
    rate_compare(tr, "grad_norm_sq", 0.5, 1)
    summary(rate_compare(tr), tail = 0.1)
    summary(rate_compare(tr), level = 95)
  })
})

test_that("rate_compare() defaults to the full-data column when there is one", {
  x <- digits_x(200)
  model <- gaussian_vae(latent_dim = 2, hidden = 8)
  evaluated <- fit_vae(x, model, iterations = 40, eval_every = 10, seed = 1, n_threads = 1)
  expect_identical(attr(rate_compare(evaluated), "column"), "full_grad_norm_sq")
  expect_identical(rate_compare(evaluated), rate_compare(evaluated, "full_grad_norm_sq"))
  plain <- fit_vae(x, model, iterations = 40, seed = 1, n_threads = 1)
  expect_identical(attr(rate_compare(plain), "column"), "grad_norm_sq")
  # A trajectory data frame: the same rule.
  tr <- data.frame(iteration = 1:6, grad_norm_sq = c(1, 9, 2, 4, 3, 6),
                   full_grad_norm_sq = c(NA, NA, 5, NA, NA, 1))
  expect_identical(attr(rate_compare(tr), "column"), "full_grad_norm_sq")
  tr$full_grad_norm_sq <- NA_real_
  expect_identical(attr(rate_compare(tr), "column"), "grad_norm_sq")
  skip_on_cran()
  # The error lists only the columns that can be used: the squared norms
  # with values (not the all-NA full-data ones of a fit without evaluations).
  expect_snapshot(error = TRUE, rate_compare(plain, "objective"))
  expect_snapshot(error = TRUE, rate_compare(plain, "full_grad_norm_sq"))
  expect_snapshot(error = TRUE, rate_compare(data.frame(iteration = 1:3, a = -1)))
})
