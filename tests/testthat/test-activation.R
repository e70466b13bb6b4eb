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
