# fit_vi(): exact optima on a Gaussian target, logistic regression against
# an independent quadrature answer, determinism, continuation, methods.

gaussian_test_target <- function() {
  gaussian_target(c(1, -1, 0.5), matrix(c(1, 0.6, 0.2, 0.6, 2, -0.3, 0.2, -0.3, 0.5), 3))
}

# KL(N(m1, S1) || N(m2, S2)).
kl_gauss <- function(m1, S1, m2, S2) {
  P2 <- solve(S2)
  0.5 * (sum(diag(P2 %*% S1)) + sum((m2 - m1) * (P2 %*% (m2 - m1))) - length(m1) +
           as.numeric(determinant(S2)$modulus - determinant(S1)$modulus))
}

# Gauss-Hermite nodes and weights for N(0, 1) (Golub-Welsch).
gauss_hermite <- function(n) {
  J <- matrix(0, n, n)
  off <- sqrt(seq_len(n - 1))
  J[cbind(1:(n - 1), 2:n)] <- off
  J[cbind(2:n, 1:(n - 1))] <- off
  e <- eigen(J, symmetric = TRUE)
  list(x = e$values, w = e$vectors[1, ]^2)
}

# The full-covariance Gaussian VI optimum of Bayesian logistic regression,
# computed independently: the ELBO's expectations are one-dimensional
# (x_i' z ~ N(x_i' m, |L' x_i|^2)), taken by Gauss-Hermite quadrature, with
# their exact gradients (Bonnet and Price), maximised by BFGS to convergence.
logistic_vi_reference <- function(x, y, prior_sd, nodes = 80) {
  q <- gauss_hermite(nodes)
  d <- ncol(x)
  unpack <- function(p) {
    L <- matrix(0, d, d)
    L[lower.tri(L, diag = TRUE)] <- p[-(1:d)]
    list(m = p[1:d], L = L)
  }
  moments <- function(u) {
    xl <- x %*% u$L
    eta <- outer(c(x %*% u$m), rep(1, nodes)) + outer(sqrt(rowSums(xl^2)), q$x)
    list(xl = xl, eta = eta)
  }
  elbo <- function(p) {
    u <- unpack(p)
    eta <- moments(u)$eta
    ll <- y * eta - log1p(exp(-abs(eta))) - pmax(eta, 0)
    sum(ll %*% q$w) - (sum(u$m^2) + sum(u$L^2)) / (2 * prior_sd^2) + sum(log(abs(diag(u$L))))
  }
  grad <- function(p) {
    u <- unpack(p)
    mo <- moments(u)
    s <- stats::plogis(mo$eta)
    e1 <- c((y - s) %*% q$w)
    e2 <- c((-s * (1 - s)) %*% q$w)
    gm <- c(crossprod(x, e1)) - u$m / prior_sd^2
    gL <- crossprod(x * e2, mo$xl) - u$L / prior_sd^2 + diag(1 / diag(u$L), d)
    c(gm, gL[lower.tri(gL, diag = TRUE)])
  }
  p <- c(rep(0, d), diag(d)[lower.tri(diag(d), diag = TRUE)])
  for (i in 1:3) {
    p <- stats::optim(p, elbo, grad, method = "BFGS",
                      control = list(fnscale = -1, reltol = 1e-16, maxit = 10000))$par
  }
  c(unpack(p), list(grad = grad(p)))
}

test_that("the full-covariance Gaussian family reaches KL(q || p) < 1e-3", {
  target <- gaussian_test_target()
  fit <- fit_vi(target, gaussian_family("full"), optimizer = adam(lr = 0.05),
                iterations = 6000, draws = 50, seed = 1, n_threads = 1, record_every = 10)
  tr <- trajectory(fit)
  kl <- tr$kl_to_target[nrow(tr)]
  expect_lt(kl, 1e-3)
  # The column is the exact KL at the parameters the gradient was taken at
  # (the last recorded row is the last iteration; the KL there is before
  # its step), computed here in R from the parameters after the step: close.
  co <- coef(fit)
  expect_equal(kl_gauss(co$mean, co$cov, target$mean, target$cov), kl, tolerance = 0.05)
  # The ELBO of a normalised target is -KL.
  expect_lt(abs(mean(tail(tr$objective, 50)) + kl), 0.05)
})

test_that("the diagonal Gaussian family reaches the mean-field optimum", {
  target <- gaussian_test_target()
  P <- solve(target$cov)
  for (scale in c("softplus", "exp", "linear")) {
    fit <- fit_vi(target, gaussian_family("diagonal", scale), optimizer = adam(lr = 0.05),
                  iterations = 6000, draws = 50, seed = 2, n_threads = 1, record_every = 10)
    co <- coef(fit)
    # q* = N(mean, diag(1 / diag(P))): KL(q || q*) small, and the exact KL
    # to the target near its minimum over the family.
    expect_lt(kl_gauss(co$mean, co$cov, target$mean, diag(1 / diag(P))), 1e-3, label = scale)
    kl_min <- kl_gauss(target$mean, diag(1 / diag(P)), target$mean, target$cov)
    kl <- utils::tail(trajectory(fit)$kl_to_target, 1)
    expect_gte(kl, kl_min)
    expect_lt(kl - kl_min, 1e-3, label = scale)
  }
})

test_that("Gaussian VI on logistic regression reaches the quadrature optimum's mean within 0.01", {
  skip_on_cran()
  dat <- withr::with_seed(7, {
    x <- cbind(1, stats::rnorm(30))
    list(x = x, y = stats::rbinom(30, 1, stats::plogis(x %*% c(0.5, -1.2))))
  })
  ref <- logistic_vi_reference(dat$x, dat$y, prior_sd = 1)
  expect_lt(max(abs(ref$grad)), 1e-6)
  # The quadrature is converged: more nodes move nothing.
  expect_equal(logistic_vi_reference(dat$x, dat$y, 1, nodes = 120)$m, ref$m, tolerance = 1e-8)
  fit <- fit_vi(logistic_target(dat$x, dat$y, prior_sd = 1), gaussian_family("full"),
                optimizer = sgd(lr = 0.2, decay = 0.7), iterations = 10000, draws = 100,
                seed = 1, n_threads = 2, record_every = 100)
  expect_lt(max(abs(coef(fit)$mean - ref$m)), 0.01)
  expect_lt(max(abs(coef(fit)$cov - ref$L %*% t(ref$L))), 0.01)
})

test_that("fits are the same to the bit on 1 and 2 threads, and continue as one long fit", {
  dat <- withr::with_seed(3, {
    x <- cbind(1, matrix(stats::rnorm(700 * 3), 700))
    list(x = x, y = stats::rbinom(700, 1, stats::plogis(x %*% c(0.2, 1, -1, 0.5))))
  })
  target <- logistic_target(dat$x, dat$y)
  run <- function(n_threads, iterations = 40, init = NULL) {
    if (is.null(init)) {
      fit_vi(target, gaussian_family("full"), iwae(K = 3), adam(lr = 0.05),
             iterations = iterations, draws = 2, seed = 9, n_threads = n_threads,
             eval_every = 10, eval_samples = 20)
    } else {
      fit_vi(init = init, iterations = iterations, n_threads = n_threads,
             eval_every = 10, eval_samples = 20)
    }
  }
  one <- run(1)
  two <- run(2)
  expect_identical(without_seconds(trajectory(one)), without_seconds(trajectory(two)))
  expect_identical(one$state$par, two$state$par)
  half <- run(2, 25)
  rest <- run(1, 15, init = half)
  expect_identical(without_seconds(trajectory(rest)), without_seconds(trajectory(one)))
  expect_identical(rest$state[c("par", "par0", "opt_m", "opt_v", "iteration")],
                   one$state[c("par", "par0", "opt_m", "opt_v", "iteration")])
  # Every family, flows included.
  for (family in list(sinh_arcsinh_family("full"), flow_family(2))) {
    a <- fit_vi(funnel_target(3), family, optimizer = adam(lr = 0.01), iterations = 20,
                draws = 40, seed = 2, n_threads = 1, eval_every = 5)
    b <- fit_vi(funnel_target(3), family, optimizer = adam(lr = 0.01), iterations = 20,
                draws = 40, seed = 2, n_threads = 2, eval_every = 5)
    expect_identical(without_seconds(trajectory(a)), without_seconds(trajectory(b)))
  }
})

test_that("the trajectory has the package's columns and a K column under a schedule", {
  fit <- fit_vi(gaussian_test_target(), gaussian_family(), optimizer = adam(lr = 0.05),
                iterations = 30, seed = 1, n_threads = 1, record_every = 5, eval_every = 10)
  tr <- trajectory(fit)
  expect_named(tr, c("iteration", "objective", "grad_norm_sq", "lr", "seconds",
                     "weight_change", "full_objective", "full_grad_norm_sq", "kl_to_target"))
  expect_identical(tr$iteration, seq(5L, 30L, by = 5L))
  expect_identical(!is.na(tr$full_objective), tr$iteration %% 10 == 0)
  expect_equal(tr$lr, 0.05 / sqrt(tr$iteration))
  sched <- fit_vi(gaussian_test_target(), gaussian_family(), iwae(k_schedule(1, 4, 10)),
                  iterations = 30, seed = 1, n_threads = 1)
  expect_identical(trajectory(sched)$K, pmin(4L, 1L + (1:30 - 1L) %/% 10L))
  # No exact KL for a family that is not Gaussian or a target that is not.
  flow <- fit_vi(gaussian_test_target(), flow_family(1), iterations = 3, seed = 1, n_threads = 1)
  expect_true(all(is.na(trajectory(flow)$kl_to_target)))
})

test_that("a diverging fit stops, warns and keeps its trajectory", {
  expect_warning(
    fit <- fit_vi(funnel_target(2), gaussian_family(scale = "exp"),
                  optimizer = sgd(lr = 50, decay = 0), iterations = 200, seed = 1,
                  n_threads = 1),
    class = "vaeconv_warning_diverged"
  )
  expect_identical(fit$status, "diverged")
  tr <- trajectory(fit)
  expect_gt(nrow(tr), 0)
  expect_lt(max(tr$iteration), 200)
  expect_true(all(is.finite(tr$objective)))
  expect_error(rate_compare(fit), class = "vaeconv_error_input")
})

test_that("an interrupt stops a fit cleanly with a warning", {
  skip_on_cran()
  target <- logistic_target(cbind(1, matrix(stats::rnorm(4000 * 9), 4000)),
                            rep(c(0, 1), 2000))
  expect_warning(
    fit <- with_time_limit(1, function() {
      fit_vi(target, gaussian_family("full"), iterations = 1e6, draws = 10, seed = 1,
             n_threads = 1, record_every = 100)
    }),
    class = "vaeconv_warning_interrupted"
  )
  expect_identical(fit$status, "interrupted")
  expect_lt(fit$state$iteration, 1e6)
  more <- fit_vi(init = fit, iterations = 3)
  expect_identical(more$state$iteration, fit$state$iteration + 3)
  # Also while the R functions of a custom target run.
  slow <- custom_target(function(z) {
    for (i in 1:2000) i <- i + 1
    -sum(z^2) / 2
  }, function(z) -z, 2)
  expect_warning(
    fit <- with_time_limit(0.5, function() {
      fit_vi(slow, gaussian_family(), iterations = 1e6, seed = 1, n_threads = 1)
    }),
    class = "vaeconv_warning_interrupted"
  )
  expect_identical(fit$status, "interrupted")
  expect_identical(nrow(trajectory(fit)), as.integer(fit$state$iteration))
})

test_that("generate() draws from q and log_density() is log q", {
  target <- gaussian_test_target()
  fit <- fit_vi(target, gaussian_family("full"), optimizer = adam(lr = 0.05),
                iterations = 500, draws = 10, seed = 1, n_threads = 1)
  z <- generate(fit, 4000, seed = 1)
  expect_identical(z, generate(fit, 4000, seed = 1))
  expect_identical(colnames(z), c("z1", "z2", "z3"))
  co <- coef(fit)
  expect_lt(max(abs(colMeans(z) - co$mean) / sqrt(diag(co$cov) / 4000)), 4)
  expect_lt(max(abs(stats::cov(z) - co$cov)), 0.15)
  C <- t(chol(co$cov))
  ref <- apply(z[1:5, ], 1, function(x) {
    r <- forwardsolve(C, x - co$mean)
    -1.5 * log(2 * pi) - sum(log(diag(C))) - sum(r^2) / 2
  })
  expect_equal(log_density(fit, z[1:5, ]), unname(ref), tolerance = 1e-10)
  expect_equal(log_density(fit, z[1, ]), unname(ref[1]), tolerance = 1e-10)
  withr::with_seed(5, a <- generate(fit, 3))
  withr::with_seed(5, b <- generate(fit, 3))
  expect_identical(a, b)
})

test_that("methods: print, summary, coef, autoplot, rate_compare, saveRDS", {
  fit <- fit_vi(mixture_target(c(-1, 2), sds = c(1, 0.5), weights = c(0.7, 0.3)),
                sinh_arcsinh_family(), optimizer = adam(lr = 0.05), iterations = 200,
                draws = 4, seed = 1, n_threads = 1, eval_every = 10, eval_samples = 50)
  expect_output(print(fit), "sinh-arcsinh")
  s <- summary(fit)
  expect_named(s, c("iterations", "status", "objective", "full_objective", "grad_norm_sq",
                    "kl_to_target", "weight_change", "seconds", "ms_per_iteration"))
  expect_identical(s$iterations, 200L)
  expect_named(coef(fit), c("mean", "scale", "cov", "skewness", "tailweight"))
  rate <- rate_compare(fit, "full_grad_norm_sq")
  expect_s3_class(rate, "vae_rate")
  expect_identical(nrow(rate), 20L)
  skip_if_not_installed("ggplot2")
  expect_s3_class(ggplot2::autoplot(fit), "ggplot")
  expect_s3_class(ggplot2::autoplot(rate), "ggplot")
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_identical(back, fit)
  a <- fit_vi(init = back, iterations = 5)
  b <- fit_vi(init = fit, iterations = 5)
  expect_identical(without_seconds(trajectory(a)), without_seconds(trajectory(b)))
  expect_identical(a$state$par, b$state$par)
})
