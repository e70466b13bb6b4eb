test_that("trajectory(), as_tibble() and as.data.frame() give the same rows", {
  fit <- fit_vae(digits_x(100), gaussian_vae(2, hidden = 4), iterations = 5, seed = 1,
                 n_threads = 1)
  tr <- trajectory(fit)
  expect_s3_class(tr, "tbl_df")
  expect_identical(tibble::as_tibble(fit), tr)
  df <- as.data.frame(fit)
  expect_false(inherits(df, "tbl_df"))
  expect_equal(df, as.data.frame(tr))
  expect_type(tr$iteration, "integer")
})

test_that("trajectory() wants a fit", {
  expect_error(trajectory(list()), class = "vaeconv_error_input")
  skip_on_cran()
  expect_snapshot(trajectory(1), error = TRUE)
})
