# The figures of black-box VI (issue 17), printed: the KL reached on a
# Gaussian target, the logistic-regression check against an independent
# quadrature optimum, the worst finite-difference errors of the families and
# targets, and the ms per iteration of a 10-dimensional logistic regression on
# 1000 rows on 1 and 2 threads.
#   Rscript inst/scripts/vi-figures.R
library(vaeconv)
testthat_dir <- system.file("tests", "testthat", package = "vaeconv")
if (!nzchar(testthat_dir)) testthat_dir <- "tests/testthat"
for (f in c("helper-vaeconv.R")) source(file.path(testthat_dir, f))
# The reference and the test objects of the tests.
source_defs <- function(file, names) {
  exprs <- parse(file.path(testthat_dir, file))
  for (e in exprs) {
    if (is.call(e) && identical(e[[1]], as.name("<-")) && as.character(e[[2]]) %in% names)
      eval(e, globalenv())
  }
}
source_defs("test-vi.R", c("gaussian_test_target", "kl_gauss", "gauss_hermite",
                           "logistic_vi_reference"))
source_defs("test-families.R", c("vi_test_families", "vi_test_par"))
source_defs("test-targets.R", c("logistic_data", "eval_target", "vi_test_targets"))

cat("== KL(q || p) on the Gaussian target (3-D, full covariance, adam(0.05), 6000 x 50 draws)\n")
fit <- fit_vi(gaussian_test_target(), gaussian_family("full"), optimizer = adam(lr = 0.05),
              iterations = 6000, draws = 50, seed = 1, n_threads = 1, record_every = 10)
cat("KL at the last iteration:", format(tail(trajectory(fit)$kl_to_target, 1), digits = 4), "\n")

cat("\n== Logistic regression (30 rows, 2 coefficients, prior sd 1)\n")
dat <- withr::with_seed(7, {
  x <- cbind(1, stats::rnorm(30))
  list(x = x, y = stats::rbinom(30, 1, stats::plogis(x %*% c(0.5, -1.2))))
})
ref <- logistic_vi_reference(dat$x, dat$y, prior_sd = 1)
fit <- fit_vi(logistic_target(dat$x, dat$y, prior_sd = 1), gaussian_family("full"),
              optimizer = sgd(lr = 0.2, decay = 0.7), iterations = 10000, draws = 100,
              seed = 1, n_threads = 2, record_every = 100)
print(rbind(vi = coef(fit)$mean, reference = ref$m, difference = coef(fit)$mean - ref$m))

cat("\n== Worst relative finite-difference errors\n")
target <- mixture_target(rbind(c(-1, 0.5), c(1.5, -0.5)), sds = c(1, 0.7), weights = c(0.4, 0.6))
fam_err <- sapply(names(vi_test_families()), function(nm) {
  f <- vi_test_families()[[nm]]
  par <- vi_test_par(f, 2, seed = 5)
  max(sapply(list(c(1, 0, 3), c(3, 0, 6), c(3, 0.5, 6)), function(case) {
    eps <- t(vaeconv:::cpp_normals(21, 7L, 0, 0, case[3], 2))
    obj <- function(p) vaeconv:::cpp_vi_objective(target, f, p, eps, case[1], case[2])$objective
    g <- vaeconv:::cpp_vi_objective(target, f, par, eps, case[1], case[2])$gradient
    fd <- fd_gradient(obj, par)
    max(abs(g - fd)) / max(abs(fd), 1e-8)
  }))
})
print(signif(fam_err, 3))
z <- rbind(c(0.1, -0.3, 0.7), c(1.2, 0.4, -0.8), c(-0.5, 1.5, 0.2))
tgt_err <- sapply(names(vi_test_targets()), function(nm) {
  tg <- vi_test_targets()[[nm]]
  out <- eval_target(tg, z)
  max(sapply(seq_len(nrow(z)), function(i) {
    fd <- fd_gradient(function(x) eval_target(tg, rbind(x))$log_density, z[i, ])
    max(abs(out$gradient[, i] - fd)) / max(abs(fd), 1e-8)
  }))
})
print(signif(tgt_err, 3))

cat("\n== ms per iteration: logistic regression, 10 coefficients, 1000 rows\n")
big <- withr::with_seed(1, {
  x <- cbind(1, matrix(stats::rnorm(1000 * 9), 1000))
  list(x = x, y = stats::rbinom(1000, 1, stats::plogis(x %*% stats::rnorm(10, 0, 0.5))))
})
tg <- logistic_target(big$x, big$y)
for (draws in c(1, 10)) {
  for (threads in 1:2) {
    ms <- sapply(1:3, function(r) {
      f <- fit_vi(tg, gaussian_family("full"), optimizer = adam(lr = 0.01), iterations = 2000,
                  draws = draws, seed = r, n_threads = threads, record_every = 100)
      summary(f)$ms_per_iteration
    })
    cat(sprintf("draws %2d, %d thread%s: %.4f ms per iteration (median of 3 fits of 2000)\n",
                draws, threads, if (threads > 1) "s" else "", stats::median(ms)))
  }
}
