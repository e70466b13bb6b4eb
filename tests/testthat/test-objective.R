test_that("elbo() builds the documented structure", {
  objective <- elbo()
  expect_s3_class(objective, c("vae_elbo", "vae_objective"), exact = TRUE)
  expect_identical(
    unclass(objective),
    list(type = "elbo", beta = 1, exact = FALSE, K = 1L, alpha = 0,
         estimator = "reparam")
  )
  expect_identical(elbo(beta = 0L)$beta, 0)
  expect_identical(elbo(beta = 4, exact = TRUE)$exact, TRUE)
})

test_that("elbo() rejects bad input", {
  bad <- rlang::exprs(
    elbo(beta = -1),
    elbo(beta = NA),
    elbo(beta = NaN),
    elbo(beta = Inf),
    elbo(beta = "1"),
    elbo(beta = c(1, 2)),
    elbo(beta = NULL),
    elbo(exact = NA),
    elbo(exact = 1),
    elbo(exact = "TRUE"),
    elbo(exact = c(TRUE, FALSE))
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, elbo(beta = -1))
  expect_snapshot(error = TRUE, elbo(exact = "yes"))
})

test_that("check_objective() accepts objectives only", {
  objective <- elbo()
  expect_identical(check_objective(objective), objective)
  bad <- rlang::exprs(
    check_objective(gaussian_vae(2)),
    check_objective(adam()),
    check_objective(unclass(objective)),
    check_objective(elbo),
    check_objective("elbo"),
    check_objective(NULL)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  fit <- function(objective) check_objective(objective)
  expect_snapshot(error = TRUE, fit("elbo"))
})

test_that("objectives print", {
  expect_snapshot({
    elbo()
    elbo(beta = 4, exact = TRUE)
  })
})

# The ELBO's value and gradient in the C++ core ------------------------------

elbo_case <- function(activation, learn_obs_sd = TRUE, hidden = c(5, 4), S = 2,
                      beta = 0.7, n = 6, dx = 3) {
  model <- gaussian_vae(latent_dim = 2, hidden = hidden, activation = activation,
                        obs_sd = 0.8, learn_obs_sd = learn_obs_sd, min_var = 1e-3)
  withr::with_seed(11, {
    x <- matrix(stats::rnorm(n * dx), n, dx)
    eps <- matrix(stats::rnorm(2 * n * S), 2, n * S)
  })
  par <- perturbed_par(model, dx)
  list(model = model, objective = elbo(beta = beta), x = x, eps = eps, S = S, par = par)
}

core_elbo <- function(case, par = case$par, gradient = FALSE) {
  vaeconv:::cpp_objective(case$model, case$objective, par, case$x, case$eps,
                          case$S, gradient)
}

activations <- list(
  soft_clip = soft_clip(s = 2, s1 = -1, s2 = 1.5),
  tanh = "tanh", relu = "relu", softplus = "softplus", sigmoid = "sigmoid",
  identity = "identity"
)

test_that("the ELBO matches a plain R implementation of its formula", {
  for (name in names(activations)) {
    case <- elbo_case(activations[[name]])
    got <- core_elbo(case)
    want <- r_elbo(case$model, case$par, case$x, case$eps, S = case$S, beta = 0.7)
    expect_equal(got$objective, want$objective, tolerance = 1e-12, label = name)
    expect_equal(got$reconstruction, want$reconstruction, tolerance = 1e-12, label = name)
    expect_equal(got$kl, want$kl, tolerance = 1e-12, label = name)
  }
})

test_that("every gradient block matches central finite differences", {
  for (name in names(activations)) {
    for (learn in c(TRUE, FALSE)) {
      case <- elbo_case(activations[[name]], learn_obs_sd = learn)
      grad <- core_elbo(case, gradient = TRUE)$gradient
      fd <- fd_gradient(function(p) core_elbo(case, p)$objective, case$par)
      errs <- block_errors(case$model, ncol(case$x), grad, fd)
      expect_lt(max(errs), 1e-6, label = paste(name, "learn_obs_sd =", learn,
                                              "worst block", names(which.max(errs))))
      expect_equal(length(errs) > 0 && all(is.finite(errs)), TRUE)
    }
  }
})

test_that("gradients are right without hidden layers and with one draw", {
  case <- elbo_case("tanh", hidden = NULL, S = 1, beta = 1)
  grad <- core_elbo(case, gradient = TRUE)$gradient
  fd <- fd_gradient(function(p) core_elbo(case, p)$objective, case$par)
  expect_lt(max(block_errors(case$model, ncol(case$x), grad, fd)), 1e-6)
})

test_that("the ELBO is in nats per point, with the Gaussian constant", {
  # A decoder that outputs x exactly and q equal to the prior: the ELBO is
  # the normalising constant -d/2 log(2 pi c^2).
  case <- elbo_case("identity", learn_obs_sd = FALSE, hidden = NULL, S = 1, beta = 1)
  par <- case$par
  layout <- vaeconv:::cpp_layout(case$model, 3)
  zero <- function(name) {
    b <- layout[layout$name == name, ]
    par[b$offset + seq_len(b$rows * b$cols)] <<- 0
  }
  for (b in c("decoder.1.weight", "decoder.1.bias", "mean.weight", "mean.bias", "var.weight")) zero(b)
  b <- layout[layout$name == "var.bias", ]
  par[b$offset + seq_len(b$rows)] <- log(expm1(1 - 1e-3))
  x0 <- case
  x0$x[] <- 0
  got <- core_elbo(x0, par)
  expect_equal(got$kl, 0, tolerance = 1e-12)
  expect_equal(got$objective, -3 / 2 * log(2 * pi * 0.8^2), tolerance = 1e-12)
})
