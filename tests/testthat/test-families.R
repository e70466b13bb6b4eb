# Families of black-box VI: densities that integrate to 1, draws that follow
# them, and gradients against central finite differences.

# Every family, with parameters away from the start (so nothing is special).
vi_test_families <- function() {
  list(
    "gaussian diagonal softplus" = gaussian_family(),
    "gaussian diagonal exp" = gaussian_family(scale = "exp"),
    "gaussian diagonal linear" = gaussian_family(scale = "linear"),
    "gaussian full softplus" = gaussian_family("full"),
    "gaussian full exp" = gaussian_family("full", "exp"),
    "gaussian full linear" = gaussian_family("full", "linear"),
    "sinh-arcsinh diagonal" = sinh_arcsinh_family(),
    "sinh-arcsinh full" = sinh_arcsinh_family("full"),
    "planar flow" = flow_family(layers = 3, init_sd = 0.8)
  )
}

vi_test_par <- function(family, d, seed = 1, scale = 0.4) {
  par <- vaeconv:::cpp_vi_init(family, d, seed)
  par <- withr::with_seed(seed, par + scale * stats::rnorm(length(par)))
  par
}

log_q <- function(family, par, z) vaeconv:::cpp_vi_log_density(family, par, t(z))

test_that("every family's density integrates to 1 in one and two dimensions", {
  for (nm in names(vi_test_families())) {
    f <- vi_test_families()[[nm]]
    par1 <- vi_test_par(f, 1)
    total <- stats::integrate(function(z) exp(log_q(f, par1, cbind(z))), -Inf, Inf,
                              rel.tol = 1e-10)$value
    expect_equal(total, 1, tolerance = 1e-6, info = nm)
    # Two dimensions: a fine grid over a box holding all but a negligible mass.
    par2 <- vi_test_par(f, 2, seed = 2, scale = 0.3)
    draws <- t(vaeconv:::cpp_vi_sample(f, par2, matrix(stats::qnorm(c(1e-7, 1 - 1e-7)), 2, 2))$z)
    lim <- 1.5 * max(abs(draws)) + 3
    h <- lim / 400
    g <- seq(-lim + h / 2, lim - h / 2, by = h)
    grid <- as.matrix(expand.grid(g, g))
    mass <- sum(exp(log_q(f, par2, grid))) * h^2
    expect_equal(mass, 1, tolerance = 2e-4, info = nm)
  }
})

test_that("draws follow the density: log q at a draw, moments and a KS test", {
  n <- 4000
  for (nm in names(vi_test_families())) {
    f <- vi_test_families()[[nm]]
    # log q of a draw from the change of variables equals log q by inversion.
    par2 <- vi_test_par(f, 2, seed = 3)
    eps <- t(vaeconv:::cpp_normals(11, 7L, 0, 0, 200, 2))
    s <- vaeconv:::cpp_vi_sample(f, par2, eps)
    expect_equal(log_q(f, par2, t(s$z)), s$log_density, tolerance = 1e-9, info = nm)
    # One dimension: mean and variance from quadrature against the draws.
    par1 <- vi_test_par(f, 1, seed = 4)
    eps1 <- t(vaeconv:::cpp_normals(12, 7L, 0, 0, n, 1))
    z <- c(vaeconv:::cpp_vi_sample(f, par1, eps1)$z)
    dens <- function(x) exp(log_q(f, par1, cbind(x)))
    m1 <- stats::integrate(function(x) x * dens(x), -Inf, Inf, rel.tol = 1e-10)$value
    m2 <- stats::integrate(function(x) x^2 * dens(x), -Inf, Inf, rel.tol = 1e-10)$value
    v <- m2 - m1^2
    mu4 <- stats::integrate(function(x) (x - m1)^4 * dens(x), -Inf, Inf, rel.tol = 1e-10)$value
    expect_lt(abs(mean(z) - m1), 4 * sqrt(v / n), label = nm)
    expect_lt(abs(stats::var(z) - v), 4 * sqrt((mu4 - v^2) / n), label = nm)
    # The CDF by cumulative quadrature on a fine grid.
    lim <- max(abs(z)) + 5 * sqrt(v)
    grid <- seq(-lim, lim, length.out = 40001)
    dg <- dens(grid)
    cdf <- cumsum(c(0, (dg[-1] + dg[-length(dg)]) / 2 * diff(grid)))
    cdf <- stats::approxfun(grid, cdf / max(cdf))
    expect_gt(suppressWarnings(stats::ks.test(z, cdf)$p.value), 0.01)
  }
})

test_that("the sinh-arcsinh family at a = 0, delta = 1 and the Gaussian family agree", {
  d <- 2
  g <- gaussian_family("full")
  par_g <- vi_test_par(g, d)
  sas <- sinh_arcsinh_family("full")
  par_s <- c(par_g, 0, 0, rep(log(expm1(1)), d))
  z <- matrix(c(-1, 0.5, 2, 0.3, -0.7, 1), ncol = 2)
  expect_equal(log_q(sas, par_s, z), log_q(g, par_g, z), tolerance = 1e-12)
  # And the Gaussian family's log q is that of N(m, L L').
  co <- vaeconv:::family_coef(g, d, par_g)
  ref <- apply(z, 1, function(x) {
    r <- backsolve(t(chol(co$cov)), x - co$mean, upper.tri = FALSE)
    -log(2 * pi) - sum(log(diag(chol(co$cov)))) - sum(r^2) / 2
  })
  expect_equal(log_q(g, par_g, z), ref, tolerance = 1e-12)
})

test_that("each family's ELBO and IWAE gradients match central finite differences", {
  target <- mixture_target(rbind(c(-1, 0.5), c(1.5, -0.5)), sds = c(1, 0.7),
                           weights = c(0.4, 0.6))
  worst <- 0
  for (nm in names(vi_test_families())) {
    f <- vi_test_families()[[nm]]
    par <- vi_test_par(f, 2, seed = 5)
    for (case in list(c(K = 1, alpha = 0, n = 3), c(K = 3, alpha = 0, n = 6),
                      c(K = 3, alpha = 0.5, n = 6))) {
      eps <- t(vaeconv:::cpp_normals(21, 7L, 0, 0, case[["n"]], 2))
      obj <- function(p) {
        vaeconv:::cpp_vi_objective(target, f, p, eps, case[["K"]], case[["alpha"]])$objective
      }
      grad <- vaeconv:::cpp_vi_objective(target, f, par, eps, case[["K"]], case[["alpha"]])$gradient
      fd <- fd_gradient(obj, par, h = 1e-5)
      err <- max(abs(grad - fd)) / max(abs(fd), 1e-8)
      worst <- max(worst, err)
      expect_lt(err, 1e-6, label = paste(nm, "K", case[["K"]], "alpha", case[["alpha"]]))
    }
  }
  expect_lt(worst, 1e-6)
})

test_that("the linear scale is projected onto L_jj >= min_scale", {
  # The optimum's first sd (0.01) is below min_scale (0.05): the projection
  # holds L_11 at min_scale.
  target <- gaussian_target(c(0, 0), diag(c(1e-4, 1)))
  fit <- fit_vi(target, gaussian_family(scale = "linear", min_scale = 0.05),
                optimizer = adam(lr = 0.05, decay = 0), iterations = 300, seed = 1,
                n_threads = 1)
  expect_identical(fit$status, "completed")
  expect_identical(diag(coef(fit)$scale)[[1]], 0.05)
  expect_gt(diag(coef(fit)$scale)[[2]], 0.5)
})

test_that("family specifications validate their arguments", {
  expect_snapshot(error = TRUE, gaussian_family("ful"))
  expect_snapshot(error = TRUE, gaussian_family(scale = "log"))
  expect_snapshot(error = TRUE, gaussian_family(min_scale = 0))
  expect_snapshot(error = TRUE, flow_family(layers = 0))
  expect_snapshot(error = TRUE, sinh_arcsinh_family(covariance = NA))
  expect_snapshot(gaussian_family("full", "linear"))
  expect_snapshot(flow_family(2))
})
