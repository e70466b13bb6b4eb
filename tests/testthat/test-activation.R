test_that("soft_clip() builds a vae_activation", {
  expect_identical(
    unclass(soft_clip()),
    list(name = "soft_clip", s = 1, s1 = 0, s2 = 50)
  )
  act <- soft_clip(s = 10L, s1 = -1, s2 = 1)
  expect_s3_class(act, "vae_activation", exact = TRUE)
  expect_identical(act$s, 10)
  expect_identical(act$s1, -1)
  expect_identical(act$s2, 1)
})

test_that("soft_clip() rejects bad parameters", {
  bad <- rlang::exprs(
    soft_clip(s = 0),
    soft_clip(s = -1),
    soft_clip(s = NA),
    soft_clip(s = NaN),
    soft_clip(s = Inf),
    soft_clip(s = "1"),
    soft_clip(s = c(1, 2)),
    soft_clip(s1 = NA),
    soft_clip(s1 = -Inf),
    soft_clip(s2 = Inf),
    soft_clip(s2 = "50"),
    soft_clip(s1 = 1, s2 = 1),
    soft_clip(s1 = 60)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, soft_clip(s = 0))
  expect_snapshot(error = TRUE, soft_clip(s1 = 60))
})

test_that("as_activation() accepts objects and names", {
  act <- soft_clip(s = 3)
  expect_identical(as_activation(act), act)
  expect_identical(as_activation("soft_clip"), soft_clip())
  for (name in c("tanh", "softplus", "sigmoid", "relu", "identity")) {
    expect_identical(
      as_activation(name),
      structure(list(name = name, s = 1, s1 = 0, s2 = 50), class = "vae_activation")
    )
  }
})

test_that("as_activation() rejects other input", {
  bad <- rlang::exprs(
    as_activation("Tanh"),
    as_activation("leaky_relu"),
    as_activation(NA_character_),
    as_activation(c("tanh", "relu")),
    as_activation(NA),
    as_activation(1),
    as_activation(NULL),
    as_activation(tanh),
    as_activation(list(name = "tanh"))
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  model <- function(activation) as_activation(activation)
  expect_snapshot(error = TRUE, model("Tanh"))
  expect_snapshot(error = TRUE, model(tanh))
})

test_that("activations print", {
  expect_snapshot({
    soft_clip()
    soft_clip(s = 10, s1 = -1, s2 = 1)
    as_activation("relu")
  })
})

# The C++ activations ---------------------------------------------------------

test_that("the C++ activations and derivatives match their definitions", {
  x <- c(-3, -1.2, -0.4, 0.3, 0.9, 1.7, 4)
  for (act in list(soft_clip(), soft_clip(s = 3, s1 = -1, s2 = 1), "tanh", "softplus",
                   "sigmoid", "relu", "identity")) {
    a <- vaeconv:::as_activation(act)
    got <- vaeconv:::cpp_activation(a, x)
    f <- r_activation(a)
    expect_equal(got$value, f(x), tolerance = 1e-13, label = a$name)
    fd <- (f(x + 1e-6) - f(x - 1e-6)) / 2e-6
    expect_equal(got$derivative, fd, tolerance = 1e-8, label = a$name)
  }
})

test_that("soft-clipping is stable and bounded for large |s x|", {
  a <- soft_clip(s = 50, s1 = -1, s2 = 2)
  x <- c(-1e300, -1e8, -30, -1, 0.5, 2, 30, 1e8, 1e300)
  got <- vaeconv:::cpp_activation(a, x)
  expect_true(all(is.finite(got$value)))
  expect_true(all(got$value >= -1 & got$value <= 2))
  expect_equal(got$value[c(1, 2, 8, 9)], c(-1, -1, 2, 2))
  expect_true(all(got$derivative >= 0 & got$derivative <= 1))
  # Far inside the bounds it is the identity; past them, the bound.
  expect_equal(got$value[5], 0.5, tolerance = 1e-12)
  # The default soft_clip(s2 = 50) is the identity's positive part with a
  # smooth elbow at 0.
  d <- vaeconv:::cpp_activation(soft_clip(), c(-40, 0, 10))
  expect_equal(d$value, c(log1p(exp(-40)), log(2) - log1p(exp(-50)), 10 + log1p(exp(-10)) - log1p(exp(-40))),
               tolerance = 1e-12)
})
