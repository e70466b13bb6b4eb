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

test_that("the ELBO gradient matches central finite differences", {
  # Noise held fixed; every parameter block, for smooth activations, two
  # draws per row, a learned observation scale and no hidden layer.
  set.seed(21)
  x <- matrix(stats::runif(7 * 6), 7, 6)
  cases <- list(
    list(model = gaussian_vae(3, hidden = c(5, 4), learn_obs_sd = TRUE),
         objective = elbo(), samples = 2L),
    list(model = gaussian_vae(3, hidden = 5, activation = "tanh", obs_sd = 0.5),
         objective = elbo(beta = 0.5), samples = 1L),
    list(model = gaussian_vae(2, hidden = NULL, activation = "softplus"),
         objective = elbo(), samples = 3L)
  )
  for (case in cases) {
    layout <- cpp_layout(case$model, ncol(x))
    par <- cpp_init(case$model, ncol(x), 4) + stats::rnorm(sum(layout$rows * layout$cols), sd = 0.1)
    eps <- matrix(stats::rnorm(case$model$latent_dim * nrow(x) * case$samples),
                  case$model$latent_dim)
    value <- function(p) {
      cpp_objective(case$model, case$objective, p, x, eps, case$samples, FALSE)$objective
    }
    grad <- cpp_objective(case$model, case$objective, par, x, eps, case$samples, TRUE)$gradient
    h <- 1e-5
    fd <- vapply(seq_along(par), function(i) {
      e <- replace(numeric(length(par)), i, h)
      (value(par + e) - value(par - e)) / (2 * h)
    }, numeric(1))
    for (b in seq_len(nrow(layout))) {
      idx <- layout$offset[b] + seq_len(layout$rows[b] * layout$cols[b])
      err <- sqrt(sum((grad[idx] - fd[idx])^2)) / max(sqrt(sum(fd[idx]^2)), 1e-8)
      expect_lt(err, 1e-6, label = paste(layout$name[b], "relative error"))
    }
  }
})
