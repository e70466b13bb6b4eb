use_fit <- function() {
  fit_vae(digits_x(200), gaussian_vae(latent_dim = 3, hidden = 8), iterations = 20,
          seed = 2, n_threads = 1)
}

test_that("encode, decode and reconstruct fit together", {
  fit <- use_fit()
  x <- digits_x(7)
  z <- encode(fit, x)
  expect_identical(dim(z), c(7L, 3L))
  expect_identical(colnames(z), c("z1", "z2", "z3"))
  v <- encode(fit, x, type = "variance")
  expect_true(all(v >= fit$model$min_var))
  xh <- decode(fit, z)
  expect_identical(dim(xh), c(7L, 64L))
  expect_identical(colnames(xh), colnames(digits)[1:64])
  expect_identical(reconstruct(fit, x), xh)
  expect_identical(predict(fit, x), z)
  expect_identical(predict(fit, x, type = "reconstruction"), xh)
  expect_identical(predict(fit, as.data.frame(x), type = "variance"), v)
})

test_that("encode and decode agree with the R implementation", {
  fit <- use_fit()
  x <- digits_x(4)
  p <- coef(fit)
  h <- r_activation(fit$model$activation)(p$encoder.1.weight %*% t(x) + c(p$encoder.1.bias))
  mu <- t(p$mean.weight %*% h + c(p$mean.bias))
  expect_equal(unname(encode(fit, x)), unname(mu), tolerance = 1e-12)
  z <- matrix(c(0.1, -1, 2), 1)
  g <- r_activation(fit$model$activation)(p$decoder.1.weight %*% t(z) + c(p$decoder.1.bias))
  expect_equal(unname(decode(fit, z)), t(p$decoder.2.weight %*% g + c(p$decoder.2.bias)),
               tolerance = 1e-12)
})

test_that("generate() is reproducible from its seed", {
  fit <- use_fit()
  a <- generate(fit, 5, seed = 1)
  expect_identical(dim(a), c(5L, 64L))
  expect_identical(a, generate(fit, 5, seed = 1))
  expect_false(identical(a, generate(fit, 5, seed = 2)))
  noisy <- generate(fit, 5, seed = 1, noise = TRUE)
  expect_false(identical(a, noisy))
  set.seed(3)
  b <- generate(fit, 2)
  set.seed(3)
  expect_identical(b, generate(fit, 2))
})

test_that("coef() gives every block with its shape", {
  fit <- use_fit()
  p <- coef(fit)
  expect_named(p, c("decoder.1.weight", "decoder.1.bias", "decoder.2.weight",
                    "decoder.2.bias", "encoder.1.weight", "encoder.1.bias",
                    "mean.weight", "mean.bias", "var.weight", "var.bias"))
  expect_identical(dim(p$decoder.1.weight), c(8L, 3L))
  expect_identical(dim(p$encoder.1.weight), c(8L, 64L))
  expect_identical(sum(lengths(p)), length(fit$state$par))
})

test_that("use functions reject bad input", {
  fit <- use_fit()
  x <- digits_x(3)
  for (call in list(
    quote(encode(fit, x[, 1:10])),
    quote(encode(list(), x)),
    quote(encode(fit, x, type = "median")),
    quote(decode(fit, matrix(0, 2, 2))),
    quote(decode(fit, matrix(NA_real_, 2, 3))),
    quote(reconstruct(fit, replace(x, 1, Inf))),
    quote(generate(fit, 0)),
    quote(generate(fit, 2.5)),
    quote(generate(fit, 2, seed = NA)),
    quote(generate(fit, 2, noise = "yes")),
    quote(predict(fit, x, type = "z"))
  )) {
    expect_error(eval(call), class = "vaeconv_error_input")
  }
  skip_on_cran()
  expect_snapshot(error = TRUE, {
    encode(fit, x[, 1:10])
    decode(fit, matrix(0, 2, 2))
    generate(fit, 0)
  })
})

test_that("new data's columns are matched to the fit's by name", {
  fit <- use_fit()
  x <- digits_x(9)
  df <- as.data.frame(x)
  shuffled <- df[, 64:1]
  expect_identical(encode(fit, shuffled), encode(fit, df))
  expect_identical(encode(fit, x[, c(2:64, 1)], type = "variance"),
                   encode(fit, x, type = "variance"))
  expect_identical(reconstruct(fit, shuffled), reconstruct(fit, df))
  expect_identical(predict(fit, shuffled, type = "reconstruction"),
                   predict(fit, df, type = "reconstruction"))
  expect_identical(log_likelihood(fit, shuffled, samples = 4, seed = 1, n_threads = 1),
                   log_likelihood(fit, x, samples = 4, seed = 1, n_threads = 1))
  expect_identical(evaluate(fit, shuffled, seed = 1, n_threads = 1),
                   evaluate(fit, x, seed = 1, n_threads = 1))
  expect_identical(gradient_snr(fit, shuffled, batch_size = 3, draws = 3, seed = 1,
                                n_threads = 1),
                   gradient_snr(fit, x, batch_size = 3, draws = 3, seed = 1,
                                n_threads = 1))
  expect_identical(gradient(fit, shuffled, seed = 1, n_threads = 1),
                   gradient(fit, x, seed = 1, n_threads = 1))
  expect_identical(latent_activity(fit, shuffled), latent_activity(fit, x))
  # Without names on either side, the columns are taken in order.
  expect_identical(encode(fit, unname(x)), encode(fit, x))
  unnamed <- fit
  unnamed$feature_names <- NULL
  expect_identical(encode(unnamed, shuffled), encode(unnamed, unname(as.matrix(shuffled))))
  expect_false(identical(encode(unnamed, shuffled), encode(fit, df)))
  # Latents named as encode() names them are matched by name too.
  z <- encode(fit, x)
  expect_identical(decode(fit, z[, 3:1]), decode(fit, z))
  expect_identical(decode(fit, unname(z)), decode(fit, z))
  expect_error(encode(fit, df[, -1]), class = "vaeconv_error_input")
  expect_error(encode(fit, cbind(df, extra = 1)), class = "vaeconv_error_input")
  expect_error(decode(fit, z[, 1:2]), class = "vaeconv_error_input")
  skip_on_cran()
  expect_snapshot(error = TRUE, encode(fit, df[, -(1:7)]))
  expect_snapshot(error = TRUE, reconstruct(fit, cbind(df, extra = 1, other = 2)))
  expect_snapshot(error = TRUE, encode(fit, unname(x)[, 1:10]))
  expect_snapshot(error = TRUE, decode(fit, cbind(z, z4 = 0)))
})

test_that("predict() without newdata says what it needs", {
  fit <- use_fit()
  expect_error(predict(fit), "must be supplied", class = "vaeconv_error_input")
  expect_error(predict(fit, type = "reconstruction"), "does not keep the data",
               class = "vaeconv_error_input")
  skip_on_cran()
  expect_snapshot(error = TRUE, predict(fit))
})
