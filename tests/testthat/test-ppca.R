test_that("ppca() is the Tipping & Bishop solution of an eigendecomposition", {
  x <- simulate_ppca(n = 500, d = 8, scales = c(3, 2), sd = 0.7, seed = 2)
  colnames(x) <- paste0("v", 1:8)
  k <- 2
  p <- ppca(x, latent_dim = k)
  expect_s3_class(p, "vae_ppca")
  expect_named(p, c("W", "mu", "obs_sd", "loglik", "eigenvalues", "latent_dim",
                    "n_obs"))

  # The eigendecomposition, computed here.
  n <- nrow(x)
  d <- ncol(x)
  xbar <- colMeans(x)
  xc <- sweep(x, 2, xbar)
  S <- t(xc) %*% xc / n
  e <- eigen(S, symmetric = TRUE)
  sigma2 <- mean(e$values[(k + 1):d])
  W <- e$vectors[, 1:k] %*% diag(sqrt(e$values[1:k] - sigma2))

  expect_equal(unname(p$mu), xbar, tolerance = 1e-12, ignore_attr = TRUE)
  expect_equal(p$obs_sd^2, sigma2, tolerance = 1e-12)
  expect_equal(p$eigenvalues, e$values, tolerance = 1e-12)
  # W is unique up to a rotation (here: signs): compare W W'.
  expect_equal(unname(p$W %*% t(p$W)), W %*% t(W), tolerance = 1e-10)
  expect_equal(abs(unname(p$W)), abs(W), tolerance = 1e-10)
  expect_identical(dimnames(p$W), list(colnames(x), c("z1", "z2")))
  expect_identical(names(p$mu), colnames(x))
  # The closed-form maximum agrees with the exact log-likelihood there, and
  # with a direct computation from the d x d covariance.
  expect_equal(p$loglik, ppca_loglik(x, p$W, p$mu, p$obs_sd), tolerance = 1e-12)
  C <- W %*% t(W) + sigma2 * diag(d)
  direct <- -0.5 * (d * log(2 * pi) + as.numeric(determinant(C)$modulus) +
                      sum(diag(solve(C, S))))
  expect_equal(p$loglik, direct, tolerance = 1e-12)
  expect_identical(p$latent_dim, 2L)
  expect_identical(p$n_obs, 500L)
})

test_that("ppca()'s log-likelihood is larger than at perturbed parameters", {
  x <- simulate_ppca(n = 300, d = 6, scales = c(2, 1), sd = 0.5, seed = 3)
  p <- ppca(x, 2)
  withr::with_seed(4, {
    for (scale in c(1e-3, 1e-2, 0.3)) {
      for (r in 1:10) {
        W <- p$W + scale * stats::rnorm(length(p$W))
        mu <- p$mu + scale * stats::rnorm(length(p$mu))
        c_sd <- p$obs_sd * exp(scale * stats::rnorm(1))
        expect_lt(ppca_loglik(x, W, mu, c_sd), p$loglik)
        expect_lt(ppca_loglik(x, W, p$mu, p$obs_sd), p$loglik)
        expect_lt(ppca_loglik(x, p$W, mu, p$obs_sd), p$loglik)
        expect_lt(ppca_loglik(x, p$W, p$mu, c_sd), p$loglik)
      }
    }
  })
  # A rotation of W leaves it unchanged.
  R <- qr.Q(qr(matrix(c(1, 2, -1, 3), 2)))
  expect_equal(ppca_loglik(x, p$W %*% R, p$mu, p$obs_sd), p$loglik,
               tolerance = 1e-12)
})

test_that("ppca_loglik() is exact and stable in high dimension and for small c", {
  withr::with_seed(5, {
    n <- 30
    d <- 40
    k <- 3
    x <- matrix(stats::rnorm(n * d), n, d)
    W <- matrix(stats::rnorm(d * k), d, k)
    mu <- stats::rnorm(d)
  })
  dense <- function(c_sd) {
    C <- W %*% t(W) + c_sd^2 * diag(d)
    L <- chol(C)
    r <- t(x) - mu
    quad <- colSums(backsolve(L, r, transpose = TRUE)^2)
    mean(-0.5 * (d * log(2 * pi) + 2 * sum(log(diag(L))) + quad))
  }
  for (c_sd in c(2, 0.5, 0.05)) {
    expect_equal(ppca_loglik(x, W, mu, c_sd), dense(c_sd), tolerance = 1e-12)
  }
  # With a data frame and integer input.
  expect_equal(ppca_loglik(as.data.frame(x), W, mu, 1L), dense(1),
               tolerance = 1e-12)
  # d = 784, the size of MNIST images: no d x d matrix is formed.
  withr::with_seed(6, {
    x <- matrix(stats::rnorm(20 * 784), 20, 784)
    W <- matrix(stats::rnorm(784 * 5), 784, 5)
  })
  value <- ppca_loglik(x, W, numeric(784), 0.3)
  expect_true(is.finite(value))
  # log N(x; 0, W W' + c^2 I) through the eigenvalues of W W' + c^2 I
  sv <- svd(W)$d
  log_det <- 784 * log(0.09) + sum(log1p(sv^2 / 0.09))
  U <- svd(W)$u
  proj <- x %*% U
  quad <- (rowSums(x^2) - rowSums(proj^2)) / 0.09 +
    rowSums(sweep(proj^2, 2, sv^2 + 0.09, "/"))
  expect_equal(value, mean(-0.5 * (784 * log(2 * pi) + log_det + quad)),
               tolerance = 1e-12)
})

test_that("ppca() rejects bad input", {
  x <- simulate_ppca(n = 50, d = 4, scales = 1, seed = 1)
  bad <- rlang::exprs(
    ppca(x),
    ppca(x, 0),
    ppca(x, 1.5),
    ppca(x, 4),
    ppca(x, 5),
    ppca(x, "1"),
    ppca(x[1, , drop = FALSE], 1),
    ppca("x", 1),
    ppca(cbind(x, NA), 1),
    ppca(cbind(x[, 1:2], x[, 1] - x[, 2]), 2)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, ppca(x))
  expect_snapshot(error = TRUE, ppca(x, 4))
  expect_snapshot(error = TRUE, ppca(x, 1.5))
  expect_snapshot(error = TRUE, ppca(x[1, , drop = FALSE], 1))
  # Rank at most latent_dim: no variance left for the noise.
  low_rank <- outer(1:20, c(1, 2, 3)) + outer((1:20)^2, c(0, 1, -1))
  expect_snapshot(error = TRUE, ppca(low_rank, 2))
})

test_that("ppca() prints", {
  x <- simulate_ppca(n = 200, d = 5, scales = c(2, 1), seed = 1)
  expect_snapshot(ppca(x, 2))
})

test_that("ppca() and the trajectory's loglik_gap do not depend on the BLAS's threads", {
  skip_on_cran()
  skip_if_not_installed("callr")
  # In a fresh R process whose BLAS runs on `threads` threads (OpenBLAS reads
  # OPENBLAS_NUM_THREADS when it loads).
  run <- function(threads) {
    callr::r(function() {
      set.seed(11)
      x <- matrix(stats::rnorm(300 * 6), 300, 6) %*% matrix(stats::rnorm(36), 6, 6)
      fit <- vaeconv::fit_vae(x, vaeconv::linear_vae(2), batch_size = 32, iterations = 10,
                              eval_every = 10, seed = 5, n_threads = 1, progress = FALSE)
      list(blas = vaeconv:::cpp_blas_threads(), loglik = vaeconv::ppca(x, 2)$loglik,
           W = vaeconv::ppca(x, 2)$W, gap = vaeconv::trajectory(fit)$loglik_gap[[10]])
    }, env = c(callr::rcmd_safe_env(), OPENBLAS_NUM_THREADS = as.character(threads),
               OMP_NUM_THREADS = as.character(threads)))
  }
  one <- run(1)
  two <- run(2)
  skip_if(!identical(c(one$blas, two$blas), c(1L, 2L)),
          "the BLAS's thread count cannot be set here")
  expect_identical(two$loglik, one$loglik)
  expect_identical(two$W, one$W)
  expect_identical(two$gap, one$gap)
})
