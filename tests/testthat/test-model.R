test_that("gaussian_vae() builds the documented structure", {
  model <- gaussian_vae(2)
  expect_s3_class(model, c("vae_gaussian", "vae_model"), exact = TRUE)
  expect_identical(
    unclass(model),
    list(
      type = "gaussian",
      latent_dim = 2L,
      hidden = c(64L, 64L),
      activation = soft_clip(),
      obs_sd = 1,
      learn_obs_sd = FALSE,
      min_var = 1e-4
    )
  )
})

test_that("gaussian_vae() normalises its arguments", {
  model <- gaussian_vae(
    latent_dim = 8L, hidden = c(128, 32), activation = "tanh", obs_sd = 2L,
    learn_obs_sd = TRUE, min_var = 1e-3
  )
  expect_identical(model$latent_dim, 8L)
  expect_identical(model$hidden, c(128L, 32L))
  expect_identical(model$activation, as_activation("tanh"))
  expect_identical(model$obs_sd, 2)
  expect_true(model$learn_obs_sd)
  expect_identical(model$min_var, 1e-3)
  expect_identical(gaussian_vae(2, hidden = NULL)$hidden, integer(0))
  expect_identical(gaussian_vae(2, hidden = integer(0))$hidden, integer(0))
  expect_identical(gaussian_vae(2, activation = soft_clip(s = 5))$activation,
                   soft_clip(s = 5))
})

test_that("gaussian_vae() rejects bad input", {
  bad <- rlang::exprs(
    gaussian_vae(),
    gaussian_vae(0),
    gaussian_vae(-1),
    gaussian_vae(2.5),
    gaussian_vae(NA),
    gaussian_vae(Inf),
    gaussian_vae("2"),
    gaussian_vae(c(2, 3)),
    gaussian_vae(2, hidden = c(64, 0)),
    gaussian_vae(2, hidden = c(64, -1)),
    gaussian_vae(2, hidden = c(64, 2.5)),
    gaussian_vae(2, hidden = c(64, NA)),
    gaussian_vae(2, hidden = "64"),
    gaussian_vae(2, hidden = list(64)),
    gaussian_vae(2, activation = "Tanh"),
    gaussian_vae(2, activation = 1),
    gaussian_vae(2, activation = tanh),
    gaussian_vae(2, obs_sd = 0),
    gaussian_vae(2, obs_sd = -1),
    gaussian_vae(2, obs_sd = Inf),
    gaussian_vae(2, obs_sd = NA),
    gaussian_vae(2, learn_obs_sd = NA),
    gaussian_vae(2, learn_obs_sd = "yes"),
    gaussian_vae(2, min_var = 0),
    gaussian_vae(2, min_var = NaN)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, gaussian_vae())
  expect_snapshot(error = TRUE, gaussian_vae(latent_dim = 2.5))
  expect_snapshot(error = TRUE, gaussian_vae(2, hidden = c(64, -1)))
  expect_snapshot(error = TRUE, gaussian_vae(2, hidden = "64"))
  expect_snapshot(error = TRUE, gaussian_vae(2, activation = "Tanh"))
  expect_snapshot(error = TRUE, gaussian_vae(2, obs_sd = 0))
  expect_snapshot(error = TRUE, gaussian_vae(2, learn_obs_sd = NA))
})

test_that("check_model() accepts models only", {
  model <- gaussian_vae(2)
  expect_identical(check_model(model), model)
  bad <- rlang::exprs(
    check_model(elbo()),
    check_model(adam()),
    check_model(soft_clip()),
    check_model(unclass(model)),
    check_model(gaussian_vae),
    check_model(NULL),
    check_model("gaussian")
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  fit <- function(model) check_model(model)
  expect_snapshot(error = TRUE, fit(elbo()))
})

test_that("models print", {
  expect_snapshot({
    gaussian_vae(2)
    gaussian_vae(8, hidden = c(128, 32), activation = "tanh")
    gaussian_vae(2, hidden = NULL, obs_sd = 0.5, learn_obs_sd = TRUE)
  })
})

test_that("linear_vae() builds the documented structure", {
  model <- linear_vae(2)
  expect_s3_class(model, c("vae_linear", "vae_model"), exact = TRUE)
  expect_identical(
    unclass(model),
    list(type = "linear", latent_dim = 2L, obs_sd = 1, learn_obs_sd = FALSE)
  )
  model <- linear_vae(latent_dim = 3L, obs_sd = 2L, learn_obs_sd = TRUE)
  expect_identical(model$latent_dim, 3L)
  expect_identical(model$obs_sd, 2)
  expect_true(model$learn_obs_sd)
  expect_identical(check_model(model), model)
})

test_that("linear_vae() has the documented parameter blocks", {
  layout <- cpp_layout(linear_vae(2, learn_obs_sd = TRUE), 5L)
  expect_identical(layout$name, c("W", "mu", "log_obs_sd", "V", "b", "log_tau2"))
  expect_identical(layout$group, c("theta", "theta", "theta", "phi", "phi", "phi"))
  expect_identical(layout$rows, c(5L, 5L, 1L, 2L, 2L, 2L))
  expect_identical(layout$cols, c(2L, 1L, 1L, 5L, 1L, 1L))
  expect_identical(cpp_layout(linear_vae(2), 5L)$name,
                   c("W", "mu", "V", "b", "log_tau2"))
})

test_that("linear_vae() rejects bad input", {
  bad <- rlang::exprs(
    linear_vae(),
    linear_vae(0),
    linear_vae(2.5),
    linear_vae(NA),
    linear_vae("2"),
    linear_vae(c(2, 3)),
    linear_vae(2, obs_sd = 0),
    linear_vae(2, obs_sd = -1),
    linear_vae(2, obs_sd = Inf),
    linear_vae(2, obs_sd = NA),
    linear_vae(2, obs_sd = "1"),
    linear_vae(2, learn_obs_sd = NA),
    linear_vae(2, learn_obs_sd = 1)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, linear_vae())
  expect_snapshot(error = TRUE, linear_vae(0))
  expect_snapshot(error = TRUE, linear_vae(2, obs_sd = -1))
  expect_snapshot(error = TRUE, linear_vae(2, learn_obs_sd = "yes"))
})

test_that("linear models print", {
  expect_snapshot({
    linear_vae(2)
    linear_vae(3, obs_sd = 0.5, learn_obs_sd = TRUE)
  })
})
