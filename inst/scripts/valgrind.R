# Exercises the compiled paths under valgrind:
#   R -d "valgrind --leak-check=full --error-limit=no" --vanilla -f inst/scripts/valgrind.R
# (expects vaeconv installed). It calls every compiled entry point (cpp_* in
# R/RcppExports.R) through the exported functions where there is one, with 1
# and 2 threads, and stops on any result that is wrong.
# Last runs (valgrind 3.19, R 4.2.2, Debian's TBB 2021.8, AVX2 kernels): no
# invalid read or write, no use of uninitialised values; definitely and
# indirectly lost 0 bytes. Possibly lost: 0 bytes in the latest run (ERROR
# SUMMARY: 0 errors), 352 bytes in 1 block in three earlier ones (their one
# error): the thread-local storage glibc allocates in pthread_create() for
# TBB's worker thread, which TBB keeps, idle, in its pool until R exits.
library(vaeconv)
x <- as.matrix(digits[1:200, 1:64]) / 16
for (act in list(soft_clip(), "tanh", "relu")) {
  m <- gaussian_vae(latent_dim = 3, hidden = c(8, 5), activation = act, learn_obs_sd = TRUE)
  f1 <- fit_vae(x, m, batch_size = 50, iterations = 20, seed = 1, n_threads = 1, eval_every = 10, eval_samples = 2)
  f2 <- fit_vae(x, m, batch_size = 50, iterations = 20, seed = 1, n_threads = 2, eval_every = 10, eval_samples = 2)
  stopifnot(identical(f1$state$par, f2$state$par))
  f3 <- fit_vae(x, init = f2, iterations = 5, n_threads = 2)
}
m0 <- gaussian_vae(latent_dim = 2, hidden = NULL)
f <- fit_vae(x, m0, batch_size = 33, iterations = 7, seed = 2, n_threads = 2)
for (o in list(sgd(lr = 0.01, momentum = 0.9), adagrad(), rmsprop(bound = 0.5))) f <- fit_vae(x, m0, optimizer = o, iterations = 5, seed = 2, n_threads = 1)
z <- encode(f, x[1:7, ]); v <- encode(f, x[1:7, ], type = "variance")
d <- decode(f, z); r <- reconstruct(f, x[1:3, ]); g <- generate(f, 5, seed = 1, noise = TRUE)
case <- vaeconv:::cpp_objective(m0, elbo(beta = 0.5), f$state$par, x[1:9, ], matrix(rnorm(2 * 9 * 3), 2, 27), 3, TRUE)
a <- vaeconv:::cpp_activation(soft_clip(s = 50), c(-1e300, 0, 1e300))
s <- vaeconv:::cpp_optimizer_step(adam(), 3, c(1, 2), c(0.1, 0.2), c(0, 0), c(0, 0))
n <- vaeconv:::cpp_normals(1, 3, 1, 0, 11, 3)
suppressWarnings(fd <- fit_vae(x, m0, optimizer = sgd(lr = 1e8, decay = 0), iterations = 20, seed = 1, n_threads = 2))
stopifnot(fd$status == "diverged")

# Importance weighted objectives: IWAE and VR-IWAE, pathwise and DReG, fixed K
# and K schedules; full-data evaluation with several draws.
m1 <- gaussian_vae(latent_dim = 2, hidden = 6, learn_obs_sd = TRUE)
xs <- x[1:60, ]
for (o in list(iwae(K = 3), iwae(K = 3, alpha = 0.5), iwae(K = 3, estimator = "dreg"),
               iwae(K = 2, alpha = 0.3, estimator = "dreg"),
               iwae(K = k_schedule(1, 4, 3)), iwae(K = k_schedule(1, 8, 2, growth = "doubling")))) {
  a <- fit_vae(xs, m1, objective = o, batch_size = 20, iterations = 6, seed = 3, n_threads = 1,
               eval_every = 3, eval_samples = 2)
  b <- fit_vae(xs, m1, objective = o, batch_size = 20, iterations = 6, seed = 3, n_threads = 2,
               eval_every = 3, eval_samples = 2)
  stopifnot(identical(a$state$par, b$state$par), all(is.finite(a$state$par)))
}
for (o in list(iwae(K = 3), iwae(K = 3, alpha = 0.5, estimator = "dreg"))) {
  eps <- vaeconv:::cpp_normals(1, 1, 1, 0, 5 * 6, 2)
  case <- vaeconv:::cpp_objective(m1, o, a$state$par, xs[1:5, ], t(eps), 2, TRUE)
  stopifnot(is.finite(case$objective), all(is.finite(case$gradient)))
}
stopifnot(identical(vaeconv:::cpp_objective_K(iwae(K = k_schedule(1, 8, 2, growth = "doubling")), c(1, 3, 100)),
                    c(1L, 2L, 8L)))

# The linear VAE: exact and sampled ELBO, the log-likelihood columns, pPCA,
# the entropy sum, the exact and the importance sampled log-likelihood.
xl <- local({
  set.seed(1)
  z <- matrix(rnorm(200 * 2), 200, 2)
  z %*% matrix(rnorm(2 * 6), 2, 6) + matrix(rnorm(200 * 6, sd = 0.5), 200, 6)
})
ml <- linear_vae(2, learn_obs_sd = TRUE)
for (o in list(elbo(exact = TRUE), elbo(), iwae(K = 3))) {
  fl <- fit_vae(xl, ml, objective = o, optimizer = adam(lr = 0.05), batch_size = 50,
                iterations = 10, seed = 4, n_threads = 2, eval_every = 5)
  stopifnot(all(is.finite(fl$state$par)))
}
fl <- fit_vae(xl, ml, objective = elbo(exact = TRUE), batch_size = 50, iterations = 10, seed = 4,
              n_threads = 1, eval_every = 5)
stopifnot(is.finite(trajectory(fl)$full_loglik[5]))
pp <- ppca(xl, 2)
es <- entropy_sum(fl, xl, n_threads = 2)
es2 <- entropy_sum(f, x[1:40, ], draws = 3, seed = 1, n_threads = 2)
ev <- list(evaluate(fl, xl, n_threads = 2), evaluate(f, x[1:40, ], samples = 2, seed = 1, n_threads = 2),
           evaluate(a, xs, objective = iwae(K = 3, alpha = 0.5, estimator = "dreg"), seed = 1, n_threads = 1))
stopifnot(all(vapply(ev, function(e) is.finite(e$grad_norm_sq), logical(1))))
ll <- log_likelihood(fl, xl)
ll2 <- log_likelihood(fl, xl[1:20, ], samples = 20, seed = 1, method = "importance", n_threads = 2)
ll3 <- log_likelihood(a, xs[1:10, ], samples = 20, seed = 1, n_threads = 2)
zl <- encode(fl, xl[1:3, ]); dl <- decode(fl, zl); gl <- generate(fl, 4, seed = 1, noise = TRUE)
stopifnot(is.finite(ll$estimate), is.finite(ll2$estimate), is.finite(ll3$estimate))

# Gradient draws for the signal-to-noise ratio.
for (o in list(elbo(), iwae(K = 3), iwae(K = 3, estimator = "dreg"))) {
  s1 <- gradient_snr(a, xs, objective = o, batch_size = 10, draws = 4, seed = 2, n_threads = 1)
  s2 <- gradient_snr(a, xs, objective = o, batch_size = 10, draws = 4, seed = 2, n_threads = 2)
  stopifnot(identical(s1, s2))
}

# Replicated fits, in parallel and one after another.
r1 <- fit_vae_replicates(xs, m1, batch_size = 20, iterations = 5, seeds = 1:3, n_threads = 2)
r2 <- fit_vae_replicates(xs, m1, batch_size = 20, iterations = 5, seeds = 1:3, parallel = FALSE,
                         n_threads = 1)
stopifnot(identical(r1[[3]]$state$par, r2[[3]]$state$par))
rc <- rate_compare(r1)

# Interruption by a time limit, of a fit and of parallel replicates.
limited <- function(f) {
  setTimeLimit(elapsed = 10, transient = TRUE)
  on.exit(setTimeLimit(), add = TRUE)
  suppressWarnings(f())
}
fi <- limited(function() fit_vae(xs, m1, batch_size = 20, iterations = 1e7, seed = 1, n_threads = 2))
stopifnot(fi$status == "interrupted", fi$state$iteration > 0)
ri <- limited(function() fit_vae_replicates(xs, m1, batch_size = 20, iterations = 1e7, seeds = 1:3,
                                            n_threads = 2))
stopifnot(all(summary(ri)$status == "interrupted"))

# Every vector width of the kernels (valgrind runs no AVX-512), the random
# number hooks, and the remaining entry points.
previous <- vaeconv:::cpp_simd_override(-1L)
for (level in c(-1L, 0L, 1L)) {
  vaeconv:::cpp_simd_override(level)
  for (act in list(soft_clip(), "tanh", "softplus", "sigmoid", "relu")) {
    k <- vaeconv:::cpp_activation_kernels(vaeconv:::as_activation(act), seq(-3, 3, length.out = 37), TRUE, level)
  }
  nn <- vaeconv:::cpp_normals(9, 3, 2^33 + 5, 2^32 - 3, 41, 7)
  fk <- fit_vae(xs, m1, batch_size = 20, iterations = 3, seed = 1, n_threads = 2)
}
vaeconv:::cpp_simd_override(previous)
lvl <- vaeconv:::cpp_simd_level()
cat("vector kernels in use: level", lvl, "(0 base, 1 AVX2, 2 AVX-512)\n")
pb <- vaeconv:::cpp_philox_block(c(1, 2, 3, 4), c(5, 6))
lay <- vaeconv:::cpp_layout(m1, 64)
ini <- vaeconv:::cpp_init(m1, 64, 1)
bt <- vaeconv:::cpp_blas_threads()
gm <- vaeconv:::cpp_bench_gemm(c(8L, 5L), c(6L, 7L), c(4L, 3L), c(FALSE, TRUE), c(TRUE, FALSE), c(0, 1), 2L, 1L)
cat("valgrind script done\n")
