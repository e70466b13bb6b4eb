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
