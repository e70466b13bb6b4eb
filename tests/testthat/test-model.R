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
      min_var = 1e-4,
      covariance = "diagonal",
      obs_sd_from_z = FALSE
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

# Bernoulli decoders and a decoder variance that depends on z -------------------

test_that("bernoulli_vae() and gaussian_vae(obs_sd_from_z) make valid specifications", {
  b <- bernoulli_vae(3, hidden = c(8, 4), continuous = TRUE)
  expect_s3_class(b, c("vae_bernoulli", "vae_model"))
  expect_identical(b[c("type", "latent_dim", "hidden", "covariance", "continuous")],
                   list(type = "bernoulli", latent_dim = 3L, hidden = c(8L, 4L),
                        covariance = "diagonal", continuous = TRUE))
  g <- gaussian_vae(2, obs_sd_from_z = TRUE)
  expect_true(g$obs_sd_from_z)
  expect_identical(g$covariance, "diagonal")
  layout <- cpp_layout(gaussian_vae(2, hidden = 5, obs_sd_from_z = TRUE), 7L)
  expect_identical(layout$name[layout$group == "theta"],
                   c("decoder.1.weight", "decoder.1.bias", "decoder.2.weight",
                     "decoder.2.bias", "decoder.var.weight", "decoder.var.bias"))
  expect_identical(layout$rows[layout$name == "decoder.var.weight"], 7L)
  # the decoder's variance starts at obs_sd^2 where the head's weights vanish
  m <- gaussian_vae(2, hidden = 5, obs_sd = 0.3, obs_sd_from_z = TRUE)
  par <- cpp_init(m, 7L, 1)
  lay <- cpp_layout(m, 7L)
  w <- lay$offset[lay$name == "decoder.var.weight"] + seq_len(35)
  par[w] <- 0
  v <- cpp_decode(m, par, matrix(stats::rnorm(6), 3), 7L, "variance")
  expect_equal(v, matrix(0.09, 3, 7), tolerance = 1e-14)
  expect_identical(cpp_layout(bernoulli_vae(2, hidden = 5), 7L)$name,
                   cpp_layout(gaussian_vae(2, hidden = 5), 7L)$name)
  expect_snapshot({
    bernoulli_vae(2, hidden = c(16, 8))
    bernoulli_vae(2, hidden = NULL, continuous = TRUE)
    gaussian_vae(2, hidden = 16, obs_sd_from_z = TRUE)
  })
})

test_that("the names of choices come from the core", {
  ch <- cpp_choices()
  expect_setequal(names(ch), c("model", "likelihood", "covariance", "activation",
                               "objective", "estimator", "k_growth", "optimizer"))
  expect_identical(ch$model, c("gaussian", "bernoulli", "linear"))
  expect_identical(eval(formals(iwae)$estimator), ch$estimator)
  expect_identical(activation_names(), ch$activation)
  # an unknown model type is an error in the core, not a Gaussian VAE
  bad <- structure(modifyList(unclass(gaussian_vae(2)), list(type = "poisson")),
                   class = c("vae_gaussian", "vae_model"))
  expect_error(cpp_layout(bad, 4L), "unknown model type 'poisson'")
})

test_that("bad likelihood settings and data are refused, naming the argument", {
  expect_snapshot(error = TRUE, {
    gaussian_vae(2, covariance = "ful")
    gaussian_vae(2, learn_obs_sd = TRUE, obs_sd_from_z = TRUE)
    bernoulli_vae(2, continuous = NA)
    fit_vae(digits_x(20), bernoulli_vae(2, hidden = 4), iterations = 1)
    fit_vae(digits_x(20) * 2 - 0.5, bernoulli_vae(2, hidden = 4, continuous = TRUE),
            iterations = 1)
  })
  xb <- (digits_x(40) >= 0.5) * 1
  fit <- fit_vae(xb, bernoulli_vae(2, hidden = 4), batch_size = 20, iterations = 2,
                 seed = 1, n_threads = 1)
  bad <- replace(xb, 3, 0.5)
  for (f in list(function(x) log_likelihood(fit, x, samples = 4, seed = 1),
                 function(x) evaluate(fit, x, seed = 1),
                 function(x) gradient_snr(fit, x, draws = 3, seed = 1))) {
    expect_error(f(bad), class = "vaeconv_error_input", regexp = "`x` must contain only 0 and 1")
  }
  expect_snapshot(error = TRUE, entropy_sum(fit, xb))
})

test_that("the continuous Bernoulli density integrates to 1 and its constant is stable", {
  cb <- function(eta) cpp_cb_log_norm(eta)
  etas <- c(seq(-30, 30, by = 2.5), -1e-3, 1e-6, 0.2, 0.2499999, 0.25, 0.2500001, 3e-17)
  for (eta in etas) {
    lc <- cb(eta)$value
    dens <- function(x) exp(x * eta - (pmax(eta, 0) + log1p(exp(-abs(eta)))) + lc)
    expect_equal(stats::integrate(dens, 0, 1, rel.tol = 1e-12)$value, 1, tolerance = 1e-10,
                 label = paste("eta =", eta))
  }
  # against the plain formula log(eta / tanh(eta / 2)) where it is accurate
  plain <- c(-30, -4, -0.3, 0.26, 1, 7, 30)
  expect_equal(cb(plain)$value, log(plain / tanh(plain / 2)), tolerance = 1e-14)
  expect_identical(cb(0)$value, log(2))
  expect_identical(cb(c(-1e4, 1e4))$value, log(c(1e4, 1e4)))  # no overflow
  # even, continuous across the series switch at |eta| = 0.25, derivative too
  expect_identical(cb(-etas)$value, cb(etas)$value)
  below <- cb(0.25 * (1 - 1e-15))
  above <- cb(0.25 * (1 + 1e-15))
  expect_lt(abs(below$value - above$value), 1e-15)
  expect_lt(abs(below$derivative - above$derivative), 1e-14)
  # the derivative against central differences of the value
  for (eta in c(-20, -2, -0.25, -0.1, 0, 0.05, 0.249, 0.251, 1, 12)) {
    h <- 1e-5
    fd <- (cb(eta + h)$value - cb(eta - h)$value) / (2 * h)
    expect_equal(cb(eta)$derivative, fd, tolerance = 1e-8, label = paste("eta =", eta))
  }
})

test_that("fits of the new likelihoods are the same on 1 and 2 threads", {
  x <- digits_x(300)
  cases <- list(
    list((x >= 0.5) * 1, bernoulli_vae(2, hidden = c(12, 6)), elbo()),
    list(x, bernoulli_vae(2, hidden = c(12, 6), continuous = TRUE),
         iwae(K = 5, alpha = 0.2, estimator = "dreg")),
    list(x, gaussian_vae(2, hidden = c(12, 6), obs_sd = 0.4, obs_sd_from_z = TRUE),
         iwae(K = 5))
  )
  for (cs in cases) {
    run <- function(threads) {
      f <- fit_vae(cs[[1]], cs[[2]], cs[[3]], batch_size = 150, iterations = 8,
                   eval_every = 4, seed = 3, n_threads = threads)
      list(without_seconds(trajectory(f)), f$state$par,
           log_likelihood(f, cs[[1]][1:50, ], samples = 20, seed = 2, n_threads = threads),
           evaluate(f, cs[[1]], seed = 2, n_threads = threads),
           gradient_snr(f, cs[[1]], draws = 4, seed = 2, n_threads = threads))
    }
    one <- run(1)
    expect_true(all(is.finite(one[[1]]$full_grad_norm_sq[!is.na(one[[1]]$full_grad_norm_sq)])))
    expect_identical(run(2), one)
  }
})

test_that("generate() gives the mean of p(x | z) or draws from it", {
  x <- digits_x(200)
  fb <- fit_vae((x >= 0.5) * 1, bernoulli_vae(2, hidden = 8), batch_size = 50,
                iterations = 20, seed = 1, n_threads = 1)
  fc <- fit_vae(x, bernoulli_vae(2, hidden = 8, continuous = TRUE), batch_size = 50,
                iterations = 20, seed = 1, n_threads = 1)
  fz <- fit_vae(x, gaussian_vae(2, hidden = 8, obs_sd = 0.3, obs_sd_from_z = TRUE),
                batch_size = 50, iterations = 20, seed = 1, n_threads = 1)
  n <- 4000
  for (f in list(fb, fc, fz)) {
    m <- generate(f, n, seed = 4)
    d <- generate(f, n, seed = 4, noise = TRUE)
    if (inherits(f$model, "vae_bernoulli")) {
      expect_true(all(m > 0 & m < 1))
      expect_true(all(d >= 0 & d <= 1))
    }
    # draws of x given the same z: their mean is the mean of p(x | z)
    se <- apply(d - m, 2, stats::sd) / sqrt(n)
    expect_lt(max(abs(colMeans(d - m)) / se), 4.5)
  }
  expect_true(all(generate(fb, 50, seed = 1, noise = TRUE) %in% c(0, 1)))
  # the probabilities are the sigmoid of the logits
  z <- matrix(stats::rnorm(6), 3)
  expect_equal(decode(fb, z), unname(stats::plogis(cpp_decode(fb$model, fb$state$par, z, 64L, "output"))),
               ignore_attr = TRUE, tolerance = 1e-15)
  # the continuous Bernoulli's mean against its integral
  eta <- cpp_decode(fc$model, fc$state$par, z, 64L, "output")[1, 1:5]
  mean_cb <- vapply(eta, function(e) {
    lc <- cpp_cb_log_norm(e)$value
    stats::integrate(function(x) x * exp(x * e - log1p(exp(e)) + lc), 0, 1)$value
  }, numeric(1))
  expect_equal(unname(decode(fc, z)[1, 1:5]), unname(mean_cb), tolerance = 1e-8)
})

# The full-covariance encoder ---------------------------------------------------

test_that("the full-covariance encoder's eigenvalues are at least min_var, however large L", {
  m <- gaussian_vae(3, hidden = 5, min_var = 0.01, covariance = "full")
  lay <- cpp_layout(m, 6L)
  expect_identical(lay$rows[lay$name == "cov.weight"], 6L)  # dz (dz + 1) / 2
  x <- withr::with_seed(1, matrix(stats::rnorm(40 * 6, sd = 3), 40, 6))
  for (scale in c(0.3, 3, 30)) {
    par <- perturbed_par(m, 6, seed = 2, scale = scale)
    q <- cpp_encode(m, par, x)
    ev <- vapply(seq_len(nrow(x)), function(i) {
      min(eigen(matrix(q$covariance[i, ], 3, 3), symmetric = TRUE, only.values = TRUE)$values)
    }, numeric(1))
    # min_var exactly, up to the rounding of Sigma's largest entries
    big <- apply(abs(q$covariance), 1, max)
    expect_true(all(ev >= 0.01 - 1e-12 * big), label = paste("scale", scale))
    expect_equal(q$log_det, vapply(seq_len(nrow(x)), function(i) {
      determinant(matrix(q$covariance[i, ], 3, 3))$modulus[[1]]
    }, numeric(1)), tolerance = 1e-10)
  }
  # Sigma = I where the head's weights vanish (the initial bias)
  par <- cpp_init(m, 6L, 1)
  par[lay$offset[lay$name == "cov.weight"] + seq_len(30)] <- 0
  expect_equal(matrix(cpp_encode(m, par, x[1:2, ])$covariance[2, ], 3, 3), diag(3),
               tolerance = 1e-15)
})

test_that("encode(type = 'covariance') gives the covariances of both encoders", {
  x <- digits_x(60)
  for (cov in c("diagonal", "full")) {
    fit <- fit_vae(x, gaussian_vae(2, hidden = 8, covariance = cov), batch_size = 30,
                   iterations = 5, seed = 1, n_threads = 1)
    S <- encode(fit, x[1:4, ], type = "covariance")
    expect_identical(dim(S), c(2L, 2L, 4L))
    expect_equal(t(apply(S, 3, diag)), unname(encode(fit, x[1:4, ], type = "variance")),
                 ignore_attr = TRUE)
    if (cov == "diagonal") expect_true(all(S[1, 2, ] == 0))
    expect_match(describe_model(fit$model), if (cov == "full") "full covariance" else "Gaussian")
  }
  expect_snapshot(gaussian_vae(2, hidden = 8, covariance = "full"))
})

test_that("full-covariance fits are the same on 1 and 2 threads, under every estimator", {
  x <- digits_x(300)
  m <- gaussian_vae(3, hidden = c(12, 6), obs_sd = 0.3, learn_obs_sd = TRUE, covariance = "full")
  for (obj in list(elbo(), iwae(K = 4, estimator = "dreg"), iwae(K = 4, estimator = "score"),
                   elbo(K = 2, estimator = "score"))) {
    run <- function(threads) {
      f <- fit_vae(x, m, obj, batch_size = 150, iterations = 6, eval_every = 3, seed = 3,
                   n_threads = threads)
      list(without_seconds(trajectory(f)), f$state$par,
           log_likelihood(f, x[1:40, ], samples = 10, seed = 2, n_threads = threads),
           entropy_sum(f, x, draws = 2, seed = 2, n_threads = threads))
    }
    one <- run(1)
    expect_true(all(is.finite(one[[2]])))
    expect_identical(run(2), one)
  }
  # the entropy sum's encoder part is (1/2) mean log det Sigma
  f <- fit_vae(x, m, batch_size = 150, iterations = 6, seed = 3, n_threads = 1)
  S <- encode(f, x, type = "covariance")
  want <- -32 * log(2 * pi * exp(1) * exp(coef(f)$log_obs_sd[[1]])^2) +
    0.5 * mean(apply(S, 3, function(s) determinant(s)$modulus[[1]]))
  expect_equal(entropy_sum(f, x, draws = 2, seed = 1)$entropy_sum, want, tolerance = 1e-10)
})

# The dense layers' products (gemm.hpp): with AVX-512 the core's own kernels,
# which must sum every element in the documented order (gemm_reference(),
# one element at a time), so that a fit is the same to the bit as through
# the BLAS the fixtures were recorded with.
products_agree <- function(how_a, how_b, shapes) {
  set.seed(42)
  for (s in shapes) {
    m <- s[[1]]; n <- s[[2]]; k <- s[[3]]; ta <- s[[4]]; tb <- s[[5]]; beta <- s[[6]]
    A <- matrix(rnorm(m * k), if (ta) k else m)
    B <- matrix(rnorm(k * n), if (tb) n else k)
    C <- matrix(rnorm(m * n), m)
    a <- vaeconv:::cpp_gemm_product(A, B, ta, tb, C, beta, how_a)
    b <- vaeconv:::cpp_gemm_product(A, B, ta, tb, C, beta, how_b)
    if (!identical(a, b)) return(sprintf("m %d n %d k %d trans %d %d beta %g", m, n, k, ta, tb, beta))
  }
  TRUE
}

product_shapes <- function() {
  g <- expand.grid(m = c(1, 2, 3, 4, 5, 8, 9, 13, 16, 17, 31), n = c(1, 2, 3, 4, 7, 12, 13, 25),
                   k = c(1, 7, 9, 100, 257, 784), ta = c(FALSE, TRUE), tb = c(FALSE, TRUE),
                   beta = c(0, 1))
  c(lapply(seq_len(nrow(g)), function(i) as.list(g[i, ])),
    # the large and iwae configurations' shapes
    list(list(400, 64, 784, FALSE, FALSE, 1), list(400, 784, 64, FALSE, TRUE, 1),
         list(784, 64, 400, TRUE, FALSE, 0), list(64, 650, 100, FALSE, FALSE, 1),
         list(100, 650, 64, TRUE, FALSE, 0), list(20, 63, 400, TRUE, FALSE, 0),
         # operands past the prefetch threshold (2^17 doubles) with partial
         # panels and tiles and an odd last column
         list(401, 65, 333, TRUE, FALSE, 1), list(333, 401, 65, FALSE, TRUE, 1),
         list(411, 23, 330, FALSE, FALSE, 0),
         # a last panel of 8 columns (its own tile width), full and partial rows
         list(16, 8, 100, FALSE, FALSE, 1), list(17, 20, 64, TRUE, FALSE, 0),
         list(100, 8, 64, FALSE, TRUE, 1), list(31, 21, 257, FALSE, TRUE, 0),
         list(8, 20, 9, TRUE, TRUE, 1), list(32, 44, 300, FALSE, FALSE, 0)))
}

test_that("the products sum every element in the documented order, to the bit", {
  skip_on_cran()
  skip_if_not(vaeconv:::cpp_gemm_uses_kernels(), "no AVX-512: the products go to the BLAS")
  expect_true(products_agree("core", "reference", product_shapes()))
  previous <- vaeconv:::cpp_gemm_override(0L)
  on.exit(vaeconv:::cpp_gemm_override(previous))
  expect_false(vaeconv:::cpp_gemm_uses_kernels())
})

test_that("a product with a bias has the bits of the bias in every column, then the product added", {
  # gemm_bias() (the dense layers' forward pass) adds the first block of
  # terms to the bias instead of to C set to it; every element must be the
  # same, through the kernels and through the BLAS.
  bias_agree <- function(shapes) {
    set.seed(7)
    for (s in shapes) {
      m <- s[[1]]; n <- s[[2]]; k <- s[[3]]; ta <- s[[4]]; tb <- s[[5]]
      A <- matrix(rnorm(m * k), if (ta) k else m)
      B <- matrix(rnorm(k * n), if (tb) n else k)
      C <- matrix(rnorm(m * n), m)
      want <- vaeconv:::cpp_gemm_product(A, B, ta, tb, matrix(C[, 1], m, n), 1, "core")
      got <- vaeconv:::cpp_gemm_product(A, B, ta, tb, C, 1, "core_bias")
      if (!identical(got, want)) return(sprintf("m %d n %d k %d trans %d %d", m, n, k, ta, tb))
    }
    TRUE
  }
  shapes <- product_shapes()
  expect_true(bias_agree(shapes[seq(1, length(shapes), by = 3)]))
  expect_true(bias_agree(tail(shapes, 15)))
  previous <- vaeconv:::cpp_gemm_override(0L)
  on.exit(vaeconv:::cpp_gemm_override(previous))
  expect_true(bias_agree(shapes[seq(1, length(shapes), by = 50)]))
})

test_that("a fit through the kernels equals one through a BLAS that sums in the same order", {
  skip_on_cran()
  skip_if_not(vaeconv:::cpp_gemm_uses_kernels(), "no AVX-512: the products go to the BLAS")
  s <- product_shapes()
  skip_if_not(isTRUE(products_agree("blas", "reference", c(s[1:40], s[700:720], tail(s, 6)))),
              "R's BLAS sums in another order")
  x <- as.matrix(digits[1:101, 1:64]) / 16
  fit <- function(mode) {
    previous <- vaeconv:::cpp_gemm_override(mode)
    on.exit(vaeconv:::cpp_gemm_override(previous))
    f <- fit_vae(x, gaussian_vae(3, hidden = c(17, 9), activation = "tanh"), batch_size = 33,
                 iterations = 15, seed = 2, n_threads = 2, eval_every = 5, progress = FALSE)
    tr <- as.data.frame(trajectory(f))
    tr[setdiff(names(tr), c("seconds", "eval_seconds"))]
  }
  expect_identical(fit(1L), fit(0L))
})
