# Targets of black-box VI: log densities from their definitions, gradients
# against central finite differences, normalisation, threads, validation.

logistic_data <- function(n = 40, seed = 1) {
  withr::with_seed(seed, {
    x <- cbind(1, stats::rnorm(n), stats::runif(n, -1, 1))
    y <- stats::rbinom(n, 1, stats::plogis(x %*% c(0.3, -1, 0.8)))
  })
  list(x = x, y = y)
}

eval_target <- function(target, z, n_threads = 1) {
  vaeconv:::cpp_vi_target(vaeconv:::target_for_cpp(target), t(z), n_threads)
}

vi_test_targets <- function() {
  dat <- logistic_data()
  list(
    gaussian = gaussian_target(c(0.5, -1, 2), matrix(c(2, 0.3, -0.4, 0.3, 1, 0.2, -0.4, 0.2, 0.5), 3)),
    logistic = logistic_target(dat$x, dat$y, prior_sd = 2),
    mixture = mixture_target(rbind(c(-1, 0, 1), c(1, 1, -1)), sds = rbind(c(1, 0.5, 2), c(0.7, 1, 1)),
                             weights = c(0.3, 0.7)),
    funnel = funnel_target(3, scale = 1.5),
    custom = custom_target(function(z) -sum(z^4) / 4 - sum(z^2), function(z) -z^3 - 2 * z, dim = 3)
  )
}

test_that("log densities equal their definitions", {
  z <- rbind(c(0.1, -0.3, 0.7), c(1.2, 0.4, -0.8))
  tg <- vi_test_targets()
  g <- tg$gaussian
  ref <- apply(z, 1, function(x) {
    C <- t(chol(g$cov))
    r <- forwardsolve(C, x - g$mean)
    -1.5 * log(2 * pi) - sum(log(diag(C))) - sum(r^2) / 2
  })
  expect_equal(eval_target(g, z)$log_density, ref, tolerance = 1e-12)
  l <- tg$logistic
  ref <- apply(z, 1, function(b) {
    eta <- c(l$x %*% b)
    sum(stats::dbinom(l$y, 1, stats::plogis(eta), log = TRUE)) +
      sum(stats::dnorm(b, 0, l$prior_sd, log = TRUE))
  })
  expect_equal(eval_target(l, z)$log_density, ref, tolerance = 1e-12)
  m <- tg$mixture
  ref <- apply(z, 1, function(x) {
    log(sum(vapply(1:2, function(k) m$weights[k] * prod(stats::dnorm(x, m$means[k, ], m$sds[k, ])), 0)))
  })
  expect_equal(eval_target(m, z)$log_density, ref, tolerance = 1e-12)
  f <- tg$funnel
  ref <- apply(z, 1, function(x) {
    stats::dnorm(x[1], 0, 1.5, log = TRUE) + sum(stats::dnorm(x[-1], 0, exp(x[1] / 2), log = TRUE))
  })
  expect_equal(eval_target(f, z)$log_density, ref, tolerance = 1e-12)
  expect_equal(eval_target(tg$custom, z)$log_density, apply(z, 1, tg$custom$log_density))
})

test_that("every target's gradient matches central finite differences", {
  z <- rbind(c(0.1, -0.3, 0.7), c(1.2, 0.4, -0.8), c(-0.5, 1.5, 0.2))
  worst <- 0
  for (nm in names(vi_test_targets())) {
    tg <- vi_test_targets()[[nm]]
    out <- eval_target(tg, z)
    for (i in seq_len(nrow(z))) {
      fd <- fd_gradient(function(x) eval_target(tg, rbind(x))$log_density, z[i, ])
      err <- max(abs(out$gradient[, i] - fd)) / max(abs(fd), 1e-8)
      worst <- max(worst, err)
      expect_lt(err, 1e-7, label = paste(nm, "point", i))
    }
  }
  expect_lt(worst, 1e-7)
})

test_that("the normalised targets integrate to 1", {
  # One dimension by integrate(), two on a grid.
  one <- list(gaussian_target(0.5, 2), mixture_target(c(-2, 1), sds = c(0.5, 1.5), weights = c(1, 3)))
  for (tg in one) {
    total <- stats::integrate(function(z) exp(eval_target(tg, cbind(z))$log_density), -Inf, Inf,
                              rel.tol = 1e-10)$value
    expect_equal(total, 1, tolerance = 1e-8)
  }
  two <- list(gaussian_target(c(0.5, -1), matrix(c(1, 0.5, 0.5, 2), 2)),
              mixture_target(rbind(c(-1, 0), c(1, 1)), sds = c(0.6, 1), weights = c(0.5, 0.5)),
              funnel_target(2, scale = 1))
  for (tg in two) {
    h <- 0.02
    g <- seq(-12 + h / 2, 12 - h / 2, by = h)
    grid <- as.matrix(expand.grid(g, g))
    mass <- sum(exp(eval_target(tg, grid)$log_density)) * h^2
    expect_equal(mass, 1, tolerance = 1e-4)
  }
})

test_that("the logistic target is the same to the bit on 1 and 2 threads", {
  dat <- logistic_data(n = 1000, seed = 2)
  tg <- logistic_target(dat$x, dat$y)
  z <- withr::with_seed(1, matrix(stats::rnorm(3 * 7), 7))
  expect_identical(eval_target(tg, z, 1), eval_target(tg, z, 2))
})

test_that("targets reject bad parameters with classed errors naming the argument", {
  expect_error(gaussian_target(c(0, NA), diag(2)), class = "vaeconv_error_input")
  expect_error(gaussian_target(c(0, Inf), diag(2)), class = "vaeconv_error_input")
  cnd <- rlang::catch_cnd(gaussian_target(c(0, 0), matrix(c(1, 2, 2, 1), 2)))
  expect_s3_class(cnd, "vaeconv_error_input")
  expect_identical(cnd$arg, "cov")
  expect_snapshot(error = TRUE, gaussian_target(c(0, 0), matrix(c(1, 2, 2, 1), 2)))
  expect_snapshot(error = TRUE, gaussian_target(c(0, 0), matrix(c(1, 0.5, 0.4, 1), 2)))
  expect_snapshot(error = TRUE, gaussian_target(c(0, 0), diag(3)))
  expect_snapshot(error = TRUE, gaussian_target(c(0, 0), c(1, -1)))
  dat <- logistic_data(10)
  expect_snapshot(error = TRUE, logistic_target(dat$x, replace(dat$y, 3, 2)))
  expect_snapshot(error = TRUE, logistic_target(dat$x, dat$y[-1]))
  expect_snapshot(error = TRUE, logistic_target(dat$x, replace(dat$y, 2, NA)))
  expect_snapshot(error = TRUE, logistic_target(replace(dat$x, 3, Inf), dat$y))
  expect_snapshot(error = TRUE, logistic_target(dat$x, dat$y, prior_sd = 0))
  expect_snapshot(error = TRUE, mixture_target(c(0, NaN)))
  expect_snapshot(error = TRUE, mixture_target(c(0, 1), sds = c(1, -1)))
  expect_snapshot(error = TRUE, mixture_target(c(0, 1), weights = c(0, 0)))
  expect_snapshot(error = TRUE, funnel_target(1))
  expect_snapshot(error = TRUE, funnel_target(2, scale = Inf))
})

test_that("custom targets are checked at z = 0 and during a fit", {
  expect_snapshot(error = TRUE, custom_target("f", function(z) z, 2))
  expect_snapshot(error = TRUE, custom_target(function(z) c(1, 2), function(z) z, 2))
  expect_snapshot(error = TRUE, custom_target(function(z) NaN, function(z) z, 2))
  expect_snapshot(error = TRUE, custom_target(function(z) 0, function(z) 1, 2))
  expect_snapshot(error = TRUE, custom_target(function(z) 0, function(z) c(0, Inf), 2))
  expect_snapshot(error = TRUE, custom_target(function(z) stop("boom"), function(z) z, 2))
  # Fine at 0, wrong away from it: the fit stops with a clean R error.
  bad_len <- custom_target(function(z) -sum(z^2) / 2,
                           function(z) if (abs(z[1]) > 1e-12) 1 else -z, 2)
  cnd <- rlang::catch_cnd(fit_vi(bad_len, gaussian_family(), iterations = 5, seed = 1,
                                 n_threads = 1))
  expect_s3_class(cnd, "vaeconv_error_custom_target")
  expect_identical(cnd$arg, "target")
  expect_match(conditionMessage(cnd), "gradient", fixed = TRUE)
  failing <- custom_target(function(z) if (sum(z^2) > 0) stop("no good") else 0,
                           function(z) -z, 2)
  expect_error(fit_vi(failing, gaussian_family(), iterations = 5, seed = 1, n_threads = 1),
               "no good", class = "vaeconv_error_custom_target")
  # The same fit as the C++ Gaussian target, to the bit.
  g <- gaussian_target(c(1, -1), diag(2))
  cu <- custom_target(function(z) sum(stats::dnorm(z, c(1, -1), log = TRUE)),
                      function(z) -(z - c(1, -1)), 2)
  a <- fit_vi(g, gaussian_family(), optimizer = adam(lr = 0.05), iterations = 30, draws = 2,
              seed = 3, n_threads = 2)
  b <- fit_vi(cu, gaussian_family(), optimizer = adam(lr = 0.05), iterations = 30, draws = 2,
              seed = 3, n_threads = 2)
  expect_equal(b$state$par, a$state$par, tolerance = 1e-12)
})

test_that("targets print", {
  expect_snapshot({
    gaussian_target(c(0, 1), diag(2))
    funnel_target(4)
    mixture_target(c(-1, 1))
  })
})
