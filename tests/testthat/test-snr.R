test_that("snr_summary() computes the documented quantities", {
  g <- rbind(c(1, 2, 0, 3), c(3, 2, 0, -1), c(2, 5, 0, 1))
  s <- snr_summary(g)
  snr <- c(2 / 1, 3 / sqrt(3), 1 / 2)  # the constant-zero column is left out
  expect_equal(s$snr_mean, mean(snr))
  expect_equal(s$snr_median, stats::median(snr))
  u <- colMeans(g) / sqrt(sum(colMeans(g)^2))
  along <- drop(g %*% u)
  across <- sqrt(rowSums((g - outer(along, u))^2))
  expect_equal(s$dsnr, mean(abs(along)) / mean(across))
})

fitted_small <- function() {
  x <- as.matrix(digits[1:500, 1:64]) / 16
  list(x = x, fit = fit_vae(x, gaussian_vae(2, hidden = 16), batch_size = 32,
                            iterations = 500, seed = 1, n_threads = 2))
}

test_that("gradient_snr() is deterministic and has the documented shape", {
  f <- fitted_small()
  a <- gradient_snr(f$fit, f$x, draws = 20, seed = 3, n_threads = 1)
  b <- gradient_snr(f$fit, f$x, draws = 20, seed = 3, n_threads = 2)
  expect_identical(a, b)
  expect_s3_class(a, "tbl_df")
  expect_named(a, c("group", "snr_mean", "snr_median", "dsnr"))
  expect_identical(a$group, c("theta", "phi"))
  expect_true(all(a[-1] > 0))
  c1 <- withr::with_seed(4, gradient_snr(f$fit, f$x, iwae(3), batch_size = 8, draws = 5, n_threads = 1))
  c2 <- withr::with_seed(4, gradient_snr(f$fit, f$x, iwae(3), batch_size = 8, draws = 5, n_threads = 2))
  expect_identical(c1, c2)
  expect_false(identical(a, gradient_snr(f$fit, f$x, draws = 20, seed = 4, n_threads = 1)))
})

test_that("the SNR grows with K for theta and falls for phi, but not under DReG", {
  f <- fitted_small()
  snr <- function(K, estimator) {
    gradient_snr(f$fit, f$x, iwae(K, estimator = estimator), batch_size = 16,
                 draws = 100, seed = 2, n_threads = 2)$snr_median
  }
  std1 <- snr(1, "reparam")
  std16 <- snr(16, "reparam")
  dreg1 <- snr(1, "dreg")
  dreg16 <- snr(16, "dreg")
  expect_gt(std16[1], 1.5 * std1[1])  # theta
  expect_lt(std16[2], std1[2] / 2)    # phi, pathwise
  expect_gt(dreg16[2], dreg1[2])      # phi, DReG
  expect_identical(dreg16[1], std16[1])  # the same decoder gradient
})

test_that("gradient_snr() rejects bad input", {
  f <- fitted_small()
  x <- f$x[1:40, ]
  bad <- rlang::exprs(
    gradient_snr(x, x),
    gradient_snr(f$fit, x[, 1:3]),
    gradient_snr(f$fit, x, objective = "iwae"),
    gradient_snr(f$fit, x, objective = elbo(exact = TRUE)),
    gradient_snr(f$fit, x, batch_size = 41),
    gradient_snr(f$fit, x, draws = 1),
    gradient_snr(f$fit, x, seed = NA),
    gradient_snr(f$fit, x, n_threads = 1.5)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, gradient_snr(f$fit, x, objective = "iwae"))
  expect_snapshot(error = TRUE, gradient_snr(f$fit, x, batch_size = 41))
  expect_snapshot(error = TRUE, gradient_snr(f$fit, x, draws = 1))
})

test_that("Ctrl-C while the progress bar shows stops gradient_snr() with R's interrupt, and the session goes on", {
  rs <- bar_session()
  on.exit(rs$close(), add = TRUE)
  snr_in_child <- function() {
    x <- as.matrix(vaeconv::digits[, 1:64]) / 16
    fit <- vaeconv::fit_vae(x, vaeconv::gaussian_vae(4, hidden = 32), iterations = 20,
                            seed = 1, n_threads = 1, progress = FALSE)
    tryCatch(
      vaeconv::gradient_snr(fit, x, batch_size = nrow(x), draws = 5000, seed = 1,
                            n_threads = 2, progress = TRUE),
      interrupt = function(cnd) "interrupt"
    )
  }
  r <- interrupt_after(rs, snr_in_child, "Gradient draws", 0.5)
  expect_clean_stop(r, "Gradient draws")
  expect_match(r$stderr, "draw [0-9]+/5000")
  expect_null(r$error)
  expect_identical(r$result, "interrupt")
  expect_identical(rs$run(function() 1 + 1), 2)
})
