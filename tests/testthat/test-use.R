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
