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
test_that("the core's activation kernels match R's functions to a few ulp", {
  # Every kernel width: the base (2-wide) kernels, and the AVX2 + FMA (4-wide)
  # and AVX-512 (8-wide) ones where the CPU has them (simd caps the level).
  # Scalar and array evaluations share the kernels.
  x <- c(-1e300, -800, -750, -709, -40, -22.5, -22, -5, -0.7, -0.625, -0.6,
         -1e-3, -1e-300, 0, 1e-300, 1e-8, 0.3, 0.625, 0.7, 1, 5, 20, 22.5, 40,
         709, 750, 1e300, seq(-30, 30, length.out = 2001))
  softplus <- function(u) pmax(u, 0) + log1p(exp(-abs(u)))
  sigmoid <- function(u) stats::plogis(u)
  rel <- function(a, b) max(abs(a - b) / pmax(abs(b), .Machine$double.xmin))
  for (simd in c(0L, 1L, -1L)) {
    y <- cpp_activation_kernels(as_activation("tanh"), x, FALSE, simd)
    expect_lte(rel(y, tanh(x)), 4 * .Machine$double.eps)
    expect_identical(sign(y), sign(tanh(x)))
    expect_lte(rel(cpp_activation_kernels(as_activation("sigmoid"), x, FALSE, simd), sigmoid(x)),
               4 * .Machine$double.eps)
    keep <- x > -700  # below, sigmoid(x) is subnormal; the kernel returns ~0
    expect_lte(rel(cpp_activation_kernels(as_activation("softplus"), x, FALSE, simd)[keep],
                   softplus(x)[keep]), 4 * .Machine$double.eps)
    expect_lte(rel(cpp_activation_kernels(as_activation("softplus"), x, TRUE, simd), sigmoid(x)),
               4 * .Machine$double.eps)
    expect_equal(cpp_activation_kernels(as_activation("tanh"), x, TRUE, simd),
                 1 - tanh(x)^2, tolerance = 1e-14)
    for (act in list(soft_clip(), soft_clip(s = 3, s1 = -1, s2 = 2),
                     soft_clip(s = 50, s1 = -5, s2 = 5))) {
      a <- act$s * (x - act$s1)
      b <- act$s * (x - act$s2)
      low <- x <= (act$s1 + act$s2) / 2
      f <- ifelse(low, act$s1 + (softplus(a) - softplus(b)) / act$s,
                  act$s2 + (softplus(-a) - softplus(-b)) / act$s)
      df <- ifelse(low, sigmoid(a) - sigmoid(b), sigmoid(-b) - sigmoid(-a))
      scale <- max(1, abs(act$s1), abs(act$s2))
      expect_lte(max(abs(cpp_activation_kernels(act, x, FALSE, simd) - f)),
                 8 * scale * .Machine$double.eps)
      expect_lte(max(abs(cpp_activation_kernels(act, x, TRUE, simd) - df)),
                 8 * .Machine$double.eps)
    }
    # Non-finite input propagates as the functions' limits.
    special <- c(-Inf, Inf, NaN)
    expect_identical(cpp_activation_kernels(as_activation("tanh"), special, FALSE, simd),
                     c(-1, 1, NaN))
    expect_identical(cpp_activation_kernels(as_activation("sigmoid"), special, FALSE, simd),
                     c(0, 1, NaN))
  }
  # A value does not depend on its position in the array (tails are padded).
  for (n in 1:17) {
    expect_identical(cpp_activation_kernels(soft_clip(), x[seq_len(n)], FALSE, -1L),
                     cpp_activation_kernels(soft_clip(), x, FALSE, -1L)[seq_len(n)])
  }
})

test_that("the tanh and sigmoid derivatives are 1 - y^2 and y (1 - y) to the bit", {
  # f'(x) from y = f(x) runs on base-exact kernels (four lanes without FMA
  # where the CPU has AVX2): at every width each value is the rounded
  # product and difference, as R computes them.
  x <- c(seq(-30, 30, length.out = 2003), -Inf, Inf, NaN)
  for (simd in c(0L, 1L, -1L)) {
    y <- cpp_activation_kernels(as_activation("tanh"), x, FALSE, simd)
    expect_identical(cpp_activation_kernels(as_activation("tanh"), x, TRUE, simd), 1 - y * y)
    y <- cpp_activation_kernels(as_activation("sigmoid"), x, FALSE, simd)
    expect_identical(cpp_activation_kernels(as_activation("sigmoid"), x, TRUE, simd),
                     y * (1 - y))
  }
})
