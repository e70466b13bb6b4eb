# Records the core's fixtures: trajectories (every column but the times), final
# states and diagnostic results of a set of fits covering every model,
# activation, objective, estimator, optimiser, K schedule, learn_obs_sd and the
# exact ELBO, computed with the package as installed. tests/testthat/
# test-fixtures.R recomputes every entry and requires it identical to the bit.
#
#     Rscript inst/scripts/record-fixtures.R [--parts | --tasks] [out.rds]
#
# Run it only with a build whose results are known good (the fixtures were
# recorded before the core was split into parts, on commit 7b4703a).
suppressPackageStartupMessages(library(vaeconv))

fixture_cases <- function() {
  x <- as.matrix(digits[1:240, 1:64]) / 16
  set.seed(11)
  lin <- matrix(rnorm(300 * 6), 300, 6) %*% matrix(rnorm(36), 6, 6)
  g <- function(...) gaussian_vae(2, hidden = c(12, 6), obs_sd = 0.5, ...)
  fits <- list(
    soft_clip = list(x, g(activation = soft_clip(s = 2, s1 = -1, s2 = 1))),
    tanh = list(x, g(activation = "tanh")),
    softplus = list(x, g(activation = "softplus")),
    sigmoid = list(x, g(activation = "sigmoid")),
    relu = list(x, g(activation = "relu")),
    identity = list(x, g(activation = "identity")),
    no_hidden = list(x, gaussian_vae(3, hidden = NULL)),
    learn_obs_sd_beta = list(x, g(learn_obs_sd = TRUE, activation = "tanh"),
                             objective = elbo(beta = 0.5)),
    sgd = list(x, g(activation = "tanh"), optimizer = sgd(lr = 0.01, momentum = 0.9, bound = 1)),
    sgd_plain = list(x, g(), optimizer = sgd(lr = 0.005, decay = 0)),
    adagrad = list(x, g(), optimizer = adagrad(lr = 0.05)),
    rmsprop = list(x, g(), optimizer = rmsprop(lr = 0.003, bound = 2)),
    iwae = list(x, g(activation = "tanh"), objective = iwae(K = 3)),
    iwae_dreg = list(x, g(learn_obs_sd = TRUE), objective = iwae(K = 3, estimator = "dreg")),
    vr_iwae = list(x, g(), objective = iwae(K = 4, alpha = 0.5)),
    vr_dreg = list(x, g(), objective = iwae(K = 4, alpha = 0.3, estimator = "dreg")),
    k_linear = list(x, g(), objective = iwae(K = k_schedule(1, 6, 7))),
    k_doubling = list(x, g(), objective = iwae(K = k_schedule(1, 8, 9, growth = "doubling"))),
    linear = list(lin, linear_vae(2)),
    linear_exact = list(lin, linear_vae(2, learn_obs_sd = TRUE), objective = elbo(exact = TRUE)),
    linear_exact_beta = list(lin, linear_vae(3), objective = elbo(beta = 2, exact = TRUE)),
    linear_iwae = list(lin, linear_vae(2, learn_obs_sd = TRUE), objective = iwae(K = 3)),
    linear_dreg = list(lin, linear_vae(2), objective = iwae(K = 3, estimator = "dreg"))
  )
  fits
}

strip_fit <- function(f) {
  tr <- as.data.frame(trajectory(f))
  tr$seconds <- NULL
  tr$eval_seconds <- NULL
  st <- f$state
  st$seconds <- NULL
  st$eval_seconds <- NULL
  list(trajectory = tr, state = st, status = f$status)
}

# fit_vae() of a case (data, model and its own arguments) with the
# arguments in ...; the case's own take precedence.
fit_case <- function(a, ...) {
  args <- list(x = a[[1]], model = a[[2]], progress = FALSE, ...)
  extra <- a[-(1:2)]
  args[names(extra)] <- extra
  do.call(fit_vae, args)
}

fixture_results <- function(n_threads = 1, cases = fixture_cases(), replicates = TRUE) {
  out <- list()
  for (nm in names(cases)) {
    a <- cases[[nm]]
    f <- fit_case(a, batch_size = 32, iterations = 30, seed = 5, n_threads = n_threads,
                  eval_every = 10, eval_samples = 2)
    x <- a[[1]]
    r <- strip_fit(f)
    r$evaluate <- evaluate(f, x, samples = 2, seed = 3, n_threads = n_threads)
    r$log_likelihood <- log_likelihood(f, x[1:40, ], samples = 16, seed = 4,
                                       n_threads = n_threads)
    if (inherits(a[[2]], "vae_linear")) {
      r$log_likelihood_is <- log_likelihood(f, x[1:40, ], samples = 16, seed = 4,
                                            n_threads = n_threads, method = "importance")
    }
    r$snr <- gradient_snr(f, x, draws = 6, seed = 2, n_threads = n_threads)
    if (isTRUE(a[[2]]$learn_obs_sd) || isTRUE(a[[2]]$obs_sd_from_z)) {
      r$entropy <- entropy_sum(f, x, draws = 8, seed = 6, n_threads = n_threads)
    }
    r$encode <- encode(f, x[1:7, ])
    r$variance <- encode(f, x[1:7, ], type = "variance")
    r$reconstruct <- reconstruct(f, x[1:7, ])
    r$generate <- generate(f, 4, seed = 9, noise = TRUE)
    # Continuation: 12 more iterations, without full-data evaluations (as
    # recorded; a continuation now keeps init's eval_every unless told).
    r$continued <- strip_fit(fit_vae(x, init = f, iterations = 12, n_threads = n_threads,
                                     eval_every = 0, progress = FALSE))
    out[[nm]] <- r
  }
  if (!replicates) return(out)
  reps <- fit_vae_replicates(as.matrix(digits[1:240, 1:64]) / 16,
                             model = gaussian_vae(2, hidden = c(12, 6)),
                             batch_size = 32, iterations = 20, seeds = c(3, 8),
                             n_threads = n_threads, progress = FALSE)
  out$replicates <- lapply(unclass(reps), strip_fit)
  out
}

# The parts added after the split (Bernoulli and continuous Bernoulli
# decoders, c^2(z), the full-covariance encoder, the score-function
# estimator), recorded on commit d8df273 before the performance work of
# issue 18 touched them (tests/testthat/fixtures/parts-fixtures.rds).
parts_fixture_cases <- function() {
  x <- as.matrix(digits[1:240, 1:64]) / 16
  xb <- (x >= 0.5) * 1
  h <- c(12, 6)
  b <- function(..., activation = "tanh") bernoulli_vae(2, hidden = h, activation = activation, ...)
  g <- function(...) gaussian_vae(2, hidden = h, activation = "tanh", ...)
  list(
    bernoulli = list(xb, b()),
    bernoulli_iwae = list(xb, b(), objective = iwae(K = 3)),
    bernoulli_dreg = list(xb, b(activation = "softplus"), objective = iwae(K = 3, estimator = "dreg")),
    cb = list(x, b(continuous = TRUE)),
    cb_iwae = list(x, b(continuous = TRUE), objective = iwae(K = 3, alpha = 0.5)),
    sd_from_z = list(x, g(obs_sd_from_z = TRUE)),
    sd_from_z_iwae = list(x, g(obs_sd_from_z = TRUE), objective = iwae(K = 3, estimator = "dreg")),
    full = list(x, g(covariance = "full", obs_sd = 0.5)),
    full_iwae = list(x, g(covariance = "full", learn_obs_sd = TRUE), objective = iwae(K = 3)),
    full_bernoulli = list(xb, b(covariance = "full")),
    score_elbo = list(x, g(obs_sd = 0.5), objective = elbo(estimator = "score", K = 4)),
    score_iwae = list(xb, b(), objective = iwae(K = 3, estimator = "score"))
  )
}

parts_fixture_results <- function(n_threads = 1) {
  fixture_results(n_threads, cases = parts_fixture_cases(), replicates = FALSE)
}

# Minibatches and full-data passes of several chunks (the fixtures above
# take 32 rows a step, one chunk): every case above with 200 rows a step
# (chunks of 64, 64, 64 and 8 rows), a full-data evaluation every 4
# iterations with one draw a row, and evaluate() and gradient_snr() after;
# some of them again with chunks of 16 rows, and of 21 (options(vaeconv.chunk_rows)).
# Recorded on commit 7361a8d, before a one-thread fit took several chunks
# at once (tests/testthat/fixtures/task-fixtures.rds).
task_fixture_results <- function(n_threads = 1) {
  cases <- c(fixture_cases(), parts_fixture_cases())
  one <- function(a) {
    f <- fit_case(a, batch_size = 200, iterations = 12, seed = 7, n_threads = n_threads,
                  eval_every = 4, eval_samples = 1)
    r <- strip_fit(f)
    r$evaluate <- evaluate(f, a[[1]], samples = 1, seed = 3, n_threads = n_threads)
    r$snr <- gradient_snr(f, a[[1]], draws = 3, seed = 2, n_threads = n_threads)
    r
  }
  out <- lapply(cases, one)
  small <- c("tanh", "learn_obs_sd_beta", "iwae", "linear", "bernoulli", "cb", "sd_from_z",
             "full", "score_elbo")
  old <- options(vaeconv.chunk_rows = 16)
  on.exit(options(old))
  out[paste0(small, "_16")] <- lapply(cases[small], one)
  # chunks of 21 rows: an odd number of columns a chunk (63 with K = 3)
  options(vaeconv.chunk_rows = 21)
  odd <- c("tanh", "iwae", "cb")
  out[paste0(odd, "_21")] <- lapply(cases[odd], one)
  out
}

if (sys.nframe() == 0L) {
  args <- commandArgs(trailingOnly = TRUE)
  parts <- "--parts" %in% args
  tasks <- "--tasks" %in% args
  args <- setdiff(args, c("--parts", "--tasks"))
  out <- if (length(args)) args[[1]] else if (parts) {
    "tests/testthat/fixtures/parts-fixtures.rds"
  } else if (tasks) {
    "tests/testthat/fixtures/task-fixtures.rds"
  } else {
    "tests/testthat/fixtures/core-fixtures.rds"
  }
  res <- if (parts) {
    parts_fixture_results()
  } else if (tasks) {
    task_fixture_results()
  } else {
    fixture_results()
  }
  saveRDS(res, out, version = 2)
  cat("wrote", out, "with", length(res), "entries\n")
}
