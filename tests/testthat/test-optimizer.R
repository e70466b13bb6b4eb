optimizer_fields <- c("type", "lr", "decay", "momentum", "beta1", "beta2",
                      "rho", "eps", "bound")

test_that("optimizers build the documented structure", {
  expect_identical(
    unclass(sgd(lr = 0.1)),
    list(type = "sgd", lr = 0.1, decay = 0.5, momentum = 0, beta1 = 0,
         beta2 = 0, rho = 0, eps = 0, bound = Inf)
  )
  expect_identical(
    unclass(adam()),
    list(type = "adam", lr = 1e-3, decay = 0.5, momentum = 0, beta1 = 0.9,
         beta2 = 0.999, rho = 0, eps = 1e-8, bound = Inf)
  )
  expect_identical(
    unclass(adagrad()),
    list(type = "adagrad", lr = 0.01, decay = 0.5, momentum = 0, beta1 = 0,
         beta2 = 0, rho = 0, eps = 1e-10, bound = Inf)
  )
  expect_identical(
    unclass(rmsprop()),
    list(type = "rmsprop", lr = 1e-3, decay = 0.5, momentum = 0, beta1 = 0,
         beta2 = 0, rho = 0.99, eps = 1e-8, bound = Inf)
  )
})

test_that("every optimizer has every field, numeric, and its classes", {
  optimizers <- list(
    sgd = sgd(lr = 1L, decay = 0L, momentum = 0.9, bound = 5L),
    adam = adam(lr = 1L, decay = 1L, beta1 = 0, beta2 = 0.5, eps = 1L, bound = 5L),
    adagrad = adagrad(lr = 1L, decay = 0L, eps = 1L, bound = 5L),
    rmsprop = rmsprop(lr = 1L, decay = 0L, rho = 0L, eps = 1L, bound = 5L)
  )
  for (type in names(optimizers)) {
    opt <- optimizers[[type]]
    expect_s3_class(opt, c(paste0("vae_", type), "vae_optimizer"), exact = TRUE)
    expect_identical(names(opt), optimizer_fields)
    expect_identical(opt$type, type)
    for (field in optimizer_fields[-1]) {
      expect_true(is.double(opt[[field]]) && length(opt[[field]]) == 1,
                  info = paste(type, field))
    }
    expect_identical(opt$lr, 1)
    expect_identical(opt$bound, 5)
  }
  expect_identical(optimizers$sgd$momentum, 0.9)
})

test_that("optimizers accept the edges of their ranges", {
  expect_identical(sgd(1, decay = 0)$decay, 0)
  expect_identical(sgd(1, decay = 1)$decay, 1)
  expect_identical(adam(beta1 = 0, beta2 = 1e-6)$beta1, 0)
  expect_identical(adam(beta1 = 0.5, beta2 = 0.2501)$beta1, 0.5)
  expect_identical(rmsprop(rho = 0)$rho, 0)
})

test_that("optimizers reject bad input", {
  bad <- rlang::exprs(
    sgd(),
    sgd(lr = 0),
    sgd(lr = -1),
    sgd(lr = NA),
    sgd(lr = NaN),
    sgd(lr = Inf),
    sgd(lr = "0.1"),
    sgd(lr = c(0.1, 0.2)),
    sgd(lr = NULL),
    sgd(1, decay = -0.1),
    sgd(1, decay = 1.5),
    sgd(1, decay = NA),
    sgd(1, momentum = 1),
    sgd(1, momentum = -0.1),
    sgd(1, momentum = NA),
    sgd(1, bound = 0),
    sgd(1, bound = -1),
    sgd(1, bound = -Inf),
    sgd(1, bound = NA),
    sgd(1, bound = "Inf"),
    adam(lr = 0),
    adam(lr = Inf),
    adam(decay = 2),
    adam(beta1 = 1),
    adam(beta1 = -0.1),
    adam(beta1 = NA),
    adam(beta2 = 0),
    adam(beta2 = 1),
    adam(beta2 = NaN),
    adam(beta1 = 0.99, beta2 = 0.9),
    adam(beta1 = 0.5, beta2 = 0.25),
    adam(eps = 0),
    adam(eps = -1e-8),
    adam(eps = Inf),
    adam(bound = 0),
    adagrad(lr = -1),
    adagrad(decay = NA),
    adagrad(eps = 0),
    adagrad(bound = c(1, 2)),
    rmsprop(lr = "a"),
    rmsprop(rho = 1),
    rmsprop(rho = -0.5),
    rmsprop(rho = NA),
    rmsprop(eps = 0),
    rmsprop(bound = -1)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
})

test_that("optimizer errors are informative", {
  expect_snapshot(error = TRUE, sgd())
  expect_snapshot(error = TRUE, sgd(lr = -1))
  expect_snapshot(error = TRUE, sgd(lr = 0.1, decay = 2))
  expect_snapshot(error = TRUE, sgd(lr = 0.1, momentum = 1))
  expect_snapshot(error = TRUE, sgd(lr = 0.1, bound = 0))
  expect_snapshot(error = TRUE, adam(beta2 = 1))
  expect_snapshot(error = TRUE, adam(beta1 = 0.99, beta2 = 0.9))
  expect_snapshot(error = TRUE, adagrad(eps = 0))
  expect_snapshot(error = TRUE, rmsprop(rho = NA))
})

test_that("check_optimizer() accepts optimizers only", {
  optimizer <- adam()
  expect_identical(check_optimizer(optimizer), optimizer)
  bad <- rlang::exprs(
    check_optimizer(elbo()),
    check_optimizer(gaussian_vae(2)),
    check_optimizer(unclass(optimizer)),
    check_optimizer(adam),
    check_optimizer("adam"),
    check_optimizer(NULL)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  fit <- function(optimizer) check_optimizer(optimizer)
  expect_snapshot(error = TRUE, fit(adam))
})

test_that("optimizers print", {
  expect_snapshot({
    sgd(lr = 0.1, decay = 0, momentum = 0.9, bound = 10)
    adam()
    adagrad()
    rmsprop(lr = 0.01)
  })
})

# The C++ optimiser steps -----------------------------------------------------

step <- function(opt, n, par, grad, m = 0 * par, v = 0 * par) {
  vaeconv:::cpp_optimizer_step(opt, n, par, grad, m, v)
}

test_that("the step size is lr * n^(-decay)", {
  for (n in c(1, 2, 10, 1000)) {
    expect_equal(step(sgd(lr = 0.3, decay = 0.5), n, 1, 1)$lr, 0.3 / sqrt(n))
    expect_equal(step(sgd(lr = 0.3, decay = 0), n, 1, 1)$lr, 0.3)
    expect_equal(step(adam(lr = 0.3, decay = 1), n, 1, 1)$lr, 0.3 / n)
  }
})

test_that("each optimiser's step matches a hand computation", {
  w <- c(0.5, -1, 2)
  g <- c(0.1, -0.4, 3)
  m <- c(0.02, 0.1, -0.3)
  v <- c(0.5, 0.01, 2)
  n <- 4
  gam <- 0.1 / sqrt(n)

  s <- step(sgd(lr = 0.1), n, w, g, m, v)
  expect_equal(s$par, w - gam * g)

  s <- step(sgd(lr = 0.1, momentum = 0.9), n, w, g, m, v)
  expect_equal(s$m, 0.9 * m + g)
  expect_equal(s$par, w - gam * (0.9 * m + g))

  s <- step(adam(lr = 0.1, beta1 = 0.8, beta2 = 0.99, eps = 1e-3), n, w, g, m, v)
  m1 <- 0.8 * m + 0.2 * g
  v1 <- 0.99 * v + 0.01 * g^2
  expect_equal(s$m, m1)
  expect_equal(s$v, v1)
  expect_equal(s$par, w - gam * (m1 / (1 - 0.8^n)) / (sqrt(v1 / (1 - 0.99^n)) + 1e-3))

  s <- step(adagrad(lr = 0.1, eps = 1e-3), n, w, g, m, v)
  expect_equal(s$v, v + g^2)
  expect_equal(s$par, w - gam * g / (sqrt(v + g^2) + 1e-3))

  s <- step(rmsprop(lr = 0.1, rho = 0.9, eps = 1e-3), n, w, g, m, v)
  expect_equal(s$v, 0.9 * v + 0.1 * g^2)
  expect_equal(s$par, w - gam * g / (sqrt(0.9 * v + 0.1 * g^2) + 1e-3))
})

test_that("the projection keeps every parameter in [-bound, bound]", {
  w <- c(0.5, -1, 2)
  g <- c(-10, 10, 0.1)
  s <- step(sgd(lr = 1, decay = 0, bound = 1.5), 1, w, g)
  expect_equal(s$par, c(1.5, -1.5, 1.5))
  s <- step(adam(lr = 0.01, decay = 0, bound = 1), 1, w, g)
  expect_equal(s$par, pmin(1, pmax(-1, w - 0.01 * sign(g) / (1 + 1e-8 / abs(g)))), tolerance = 1e-12)
  expect_equal(step(sgd(lr = 1, decay = 0), 1, w, g)$par, w - g)
})

test_that("Adam's step has the same bits at every kernel width", {
  # The trainer's pass: the scaled gradient, the squared change from the
  # initial weights and the gradient cleared, over ranges whose ends take
  # the eight-lane (AVX-512), four-lane (AVX2 without FMA), two-lane and
  # scalar paths; level 2 runs the eight-lane kernel where the CPU has
  # AVX-512 (the level is capped at what it has).
  previous <- vaeconv:::cpp_simd_override(-1L)
  on.exit(vaeconv:::cpp_simd_override(previous))
  set.seed(4)
  p <- 1003
  w <- rnorm(p)
  w0 <- w + rnorm(p, sd = 0.01)
  g <- rnorm(p, sd = 10)
  g[c(17, 400)] <- c(0, -1e-300)
  m <- rnorm(p, sd = 0.1)
  v <- rexp(p)
  sweep <- function(opt, level, range, par0, clear) {
    vaeconv:::cpp_optimizer_step(opt, 9, w, g, m, v, par0, 1 / 128, clear,
                                 range[1], range[2], level)
  }
  for (opt in list(adam(lr = 0.01, decay = 0.5), adam(lr = 1, bound = 0.5),
                   adam(lr = 1, bound = 0.05))) {
    for (range in list(c(0, p), c(5, 1000), c(3, 10), c(0, 7), c(8, 24), c(1000, 1003))) {
      for (par0 in list(NULL, w0)) {
        runs <- lapply(c(0L, 1L, 2L), sweep, opt = opt, range = range, par0 = par0,
                       clear = !is.null(par0))
        inside <- seq_len(p) > range[1] & seq_len(p) <= range[2]
        for (k in 2:3) {
          expect_identical(runs[[k]], runs[[1]])
        }
        expect_false(any(runs[[1]]$par[inside] == w[inside]))
        expect_identical(runs[[1]]$par[!inside], w[!inside])
        if (is.null(par0)) {
          expect_identical(runs[[1]]$change, 0)
          expect_identical(runs[[1]]$grad, g)
        } else {
          expect_true(all(runs[[1]]$grad[inside] == 0))
          expect_identical(runs[[1]]$grad[!inside], g[!inside])
          expect_equal(runs[[1]]$change, sum((runs[[1]]$par - w0)[inside]^2),
                       tolerance = 1e-13)
        }
      }
    }
  }
})
