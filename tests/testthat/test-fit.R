unname_rows <- function(x) {
  rownames(x) <- NULL
  x
}

small_fit <- function(..., iterations = 30, x = digits_x(300)) {
  fit_vae(x, gaussian_vae(latent_dim = 2, hidden = c(16, 8)), batch_size = 50,
          iterations = iterations, seed = 3, ...)
}

test_that("a fit returns a vae_fit with the documented trajectory", {
  fit <- small_fit(n_threads = 1)
  expect_s3_class(fit, "vae_fit")
  expect_identical(fit$status, "completed")
  tr <- trajectory(fit)
  expect_s3_class(tr, "tbl_df")
  expect_named(tr, c("iteration", "objective", "reconstruction", "kl", "grad_norm_sq",
                     "grad_norm_sq_theta", "grad_norm_sq_phi", "lr", "seconds",
                     "eval_seconds", "weight_change", "full_objective",
                     "full_grad_norm_sq", "full_grad_norm_sq_theta",
                     "full_grad_norm_sq_phi", "full_grad_norm_sq_unbiased",
                     "full_loglik", "loglik_gap"))
  expect_identical(tr$iteration, 1:30)
  expect_equal(tr$grad_norm_sq, tr$grad_norm_sq_theta + tr$grad_norm_sq_phi)
  expect_equal(tr$objective, tr$reconstruction - tr$kl)
  expect_equal(tr$lr, 1e-3 * (1:30)^-0.5)
  expect_true(all(diff(tr$seconds) >= 0))
  expect_true(all(tr$eval_seconds == 0))
  expect_true(all(is.na(tr$full_objective)))
  par <- fit$state$par
  par0 <- fit$state$par0
  expect_equal(tr$weight_change[30], sqrt(sum((par - par0)^2) / sum(par0^2)))
  expect_identical(fit$state$iteration, 30)
})

test_that("one and two threads give identical fits", {
  f1 <- small_fit(n_threads = 1, eval_every = 10, eval_samples = 2)
  f2 <- small_fit(n_threads = 2, eval_every = 10, eval_samples = 2)
  expect_identical(without_seconds(trajectory(f1)), without_seconds(trajectory(f2)))
  expect_identical(f1$state$par, f2$state$par)
  expect_identical(f1$state$opt_v, f2$state$opt_v)
})

test_that("set.seed() reproduces a fit, which takes exactly one draw of R's stream", {
  unseeded <- function() {
    fit_vae(digits_x(100), gaussian_vae(2, hidden = 4), iterations = 3, n_threads = 1)
  }
  set.seed(42)
  f1 <- unseeded()
  after_fit <- stats::runif(1)
  set.seed(42)
  f2 <- unseeded()
  expect_identical(f1$state$par, f2$state$par)
  expect_identical(f1$seed, f2$seed)
  set.seed(42)
  stats::runif(1)
  expect_identical(after_fit, stats::runif(1))
  # A given seed leaves R's stream alone.
  set.seed(42)
  fit_vae(digits_x(100), gaussian_vae(2, hidden = 4), iterations = 2, seed = 1,
          n_threads = 1)
  a <- stats::runif(1)
  set.seed(42)
  expect_identical(a, stats::runif(1))
})

test_that("different seeds give different fits", {
  f1 <- small_fit(n_threads = 1, iterations = 5)
  f2 <- fit_vae(digits_x(300), gaussian_vae(2, hidden = c(16, 8)), batch_size = 50,
                iterations = 5, seed = 4, n_threads = 1)
  expect_false(identical(f1$state$par, f2$state$par))
})

test_that("the full-data evaluation is the objective and gradient on all rows", {
  x <- digits_x(120)
  model <- gaussian_vae(latent_dim = 2, hidden = 6)
  fit10 <- fit_vae(x, model, batch_size = 40, iterations = 10, seed = 5,
                   eval_every = 5, eval_samples = 3, n_threads = 2)
  tr <- trajectory(fit10)
  expect_identical(which(!is.na(tr$full_objective)), c(5L, 10L))
  # Iteration 10 evaluates at the parameters after 9 steps, with draws keyed
  # by (seed, eval stream, iteration 10, row * samples + draw).
  fit9 <- fit_vae(x, model, batch_size = 40, iterations = 9, seed = 5, n_threads = 1)
  eps <- t(vaeconv:::cpp_normals(5, vaeconv:::stream_id("eval"), 10, 0, 120 * 3, 2))
  want <- vaeconv:::cpp_objective(model, elbo(), fit9$state$par, x, eps, 3, TRUE)
  expect_equal(tr$full_objective[10], want$objective, tolerance = 1e-12)
  expect_equal(tr$full_grad_norm_sq[10], sum(want$gradient^2), tolerance = 1e-10)
})

test_that("record_every thins the trajectory and keeps evaluated iterations", {
  fit <- small_fit(n_threads = 1, record_every = 4, eval_every = 10)
  expect_identical(trajectory(fit)$iteration, sort(unique(c(seq(4L, 30L, 4L), c(10L, 20L, 30L)))))
})

test_that("continuing a fit is the same as fitting in one go", {
  x <- digits_x(200)
  model <- gaussian_vae(latent_dim = 2, hidden = 8)
  opt <- adam(lr = 0.01)
  check_split <- function(first_n, total) {
    whole <- fit_vae(x, model, optimizer = opt, iterations = total, seed = 9,
                     n_threads = 1, eval_every = 4)
    first <- fit_vae(x, model, optimizer = opt, iterations = first_n, seed = 9,
                     n_threads = 1, eval_every = 4)
    both <- fit_vae(x, init = first, iterations = total - first_n, n_threads = 2,
                    eval_every = 4)
    expect_identical(both$state$par, whole$state$par)
    expect_identical(both$state$opt_m, whole$state$opt_m)
    expect_identical(both$state$opt_v, whole$state$opt_v)
    expect_identical(without_seconds(trajectory(both)), without_seconds(trajectory(whole)))
    expect_identical(both$state$iteration, as.double(total))
  }
  # 100 + 100 = 200; and a split inside an epoch (200 rows, batches of 64:
  # epochs of 3 iterations).
  check_split(100, 200)
  check_split(17, 40)
})

test_that("fits survive saveRDS() and readRDS() and continue from them", {
  fit <- small_fit(n_threads = 1, iterations = 10)
  path <- withr::local_tempfile(fileext = ".rds")
  saveRDS(fit, path)
  back <- readRDS(path)
  expect_identical(back, fit)
  more1 <- fit_vae(digits_x(300), init = back, iterations = 5, n_threads = 1)
  more2 <- fit_vae(digits_x(300), init = fit, iterations = 5, n_threads = 1)
  expect_identical(more1$state$par, more2$state$par)
  expect_identical(without_seconds(trajectory(more1)), without_seconds(trajectory(more2)))
})

test_that("a fit on digits improves its objective", {
  skip_on_cran()
  fit <- fit_vae(digits_x(), gaussian_vae(latent_dim = 4, hidden = c(64, 64)),
                 iterations = 600, seed = 1, n_threads = 2)
  tr <- trajectory(fit)
  expect_gt(mean(tail(tr$objective, 50)), mean(head(tr$objective, 50)) + 10)
})

test_that("a diverging fit stops, warns and keeps what it had", {
  x <- digits_x(100)
  expect_warning(
    fit <- fit_vae(x, gaussian_vae(2, hidden = 4), optimizer = sgd(lr = 1e6, decay = 0),
                   batch_size = 20, iterations = 50, seed = 1, n_threads = 1),
    class = "vaeconv_warning_diverged"
  )
  expect_identical(fit$status, "diverged")
  tr <- trajectory(fit)
  expect_lt(nrow(tr), 50)
  expect_true(all(is.finite(tr$objective)))
  expect_true(all(is.finite(fit$state$par)))
  expect_identical(fit$state$iteration, as.double(nrow(tr)))
})

test_that("fit_vae() rejects bad input before running", {
  x <- digits_x(100)
  m <- gaussian_vae(2, hidden = 4)
  bad <- list(
    list(x = "a", model = m),
    list(x = x[0, ], model = m),
    list(x = x[1, , drop = FALSE], model = m),
    list(x = replace(x, 5, NA), model = m),
    list(x = replace(x, 5, Inf), model = m),
    list(x = data.frame(a = letters[1:3], b = 1:3), model = m),
    list(x = x, model = "gaussian"),
    list(x = x, model = m, objective = adam()),
    list(x = x, model = m, optimizer = elbo()),
    list(x = x, model = m, objective = elbo(exact = TRUE)),
    list(x = x, model = m, batch_size = 0),
    list(x = x, model = m, batch_size = 101),
    list(x = x, model = m, batch_size = 2.5),
    list(x = x, model = m, iterations = -1),
    list(x = x, model = m, iterations = NA),
    list(x = x, model = m, seed = -1),
    list(x = x, model = m, seed = "a"),
    list(x = x, model = m, n_threads = 0),
    list(x = x, model = m, record_every = 0),
    list(x = x, model = m, eval_every = -1),
    list(x = x, model = m, eval_samples = 0),
    list(x = x, model = m, progress = NA),
    list(x = x, model = m, init = list()),
    list(x = x)
  )
  for (args in bad) {
    expect_error(do.call(fit_vae, args), class = "vaeconv_error_input")
  }
})

test_that("fit_vae() error messages", {
  skip_on_cran()
  x <- digits_x(100)
  m <- gaussian_vae(2, hidden = 4)
  expect_snapshot(error = TRUE, {
    fit_vae(x)
    fit_vae(replace(x, 5, NA), m)
    fit_vae(x, m, batch_size = 101)
    fit_vae(x, m, objective = elbo(exact = TRUE))
    fit_vae(x, m, optimizer = elbo())
    fit_vae(x, m, init = list())
  })
  fit <- fit_vae(x, m, iterations = 2, seed = 1, n_threads = 1)
  expect_snapshot(error = TRUE, {
    fit_vae(x[, 1:10], init = fit)
    fit_vae(x, gaussian_vae(3), init = fit)
  })
})

# fit_vae() with the linear VAE --------------------------------------------------

test_that("fit_vae() trains a linear VAE with the exact or the sampled ELBO", {
  x <- simulate_ppca(n = 200, d = 6, scales = c(2, 1), seed = 9)
  for (objective in list(elbo(exact = TRUE), elbo())) {
    fit <- fit_vae(x, linear_vae(2, learn_obs_sd = TRUE), objective,
                   adam(lr = 0.05), batch_size = 50, iterations = 40,
                   seed = 2, n_threads = 1, progress = FALSE)
    expect_s3_class(fit, "vae_fit")
    expect_identical(fit$status, "completed")
    cf <- coef(fit)
    expect_named(cf, c("W", "mu", "log_obs_sd", "V", "b", "log_tau2"))
    expect_identical(dim(cf$W), c(6L, 2L))
    expect_identical(dim(cf$V), c(2L, 6L))
    expect_identical(dim(cf$log_tau2), c(2L, 1L))
    expect_true(all(is.finite(trajectory(fit)$objective)))
    out <- capture.output(print(fit))
    expect_match(out[[1]], "linear VAE: latent_dim 2, obs_sd 1 (learned)", fixed = TRUE)
    expect_match(out[[3]], if (objective$exact) "exact" else "ELBO \\(beta = 1\\)$")
  }
})

test_that("the exact ELBO makes the minibatch the only noise", {
  x <- simulate_ppca(n = 200, d = 6, scales = c(2, 1), seed = 9)
  model <- linear_vae(2)
  # With the whole data as the batch, the gradient is deterministic: the
  # minibatch objective is the exact ELBO at the current parameters.
  one <- fit_vae(x, model, elbo(exact = TRUE), sgd(lr = 0.01), batch_size = 200,
                 iterations = 3, seed = 2, n_threads = 1, progress = FALSE)
  two <- fit_vae(x, model, elbo(exact = TRUE), sgd(lr = 0.01), batch_size = 200,
                 iterations = 2, seed = 2, n_threads = 1, progress = FALSE)
  expect_equal(trajectory(one)$objective[[3]], exact_elbo(model, two$state$par, x),
               tolerance = 1e-12)
  # Another seed changes the initial parameters, not the draws (there are none):
  # from the same parameters, the same steps.
  three <- fit_vae(x, model, elbo(exact = TRUE), sgd(lr = 0.01), batch_size = 200,
                   iterations = 1, seed = 2, n_threads = 1, init = two,
                   progress = FALSE)
  expect_identical(three$state$par, one$state$par)
})

test_that("a linear VAE's trajectory carries the exact log-likelihood and its gap", {
  x <- simulate_ppca(n = 300, d = 6, scales = c(2, 1), seed = 10)
  model <- linear_vae(2, learn_obs_sd = TRUE)
  args <- list(x = x, model = model, objective = elbo(exact = TRUE),
               optimizer = adam(lr = 0.05), batch_size = 60, seed = 3,
               n_threads = 1, progress = FALSE)
  fit <- do.call(fit_vae, c(args, iterations = 30, eval_every = 10))
  tr <- trajectory(fit)
  expect_true(all(c("full_loglik", "loglik_gap") %in% names(tr)))
  evaluated <- tr$iteration %in% c(10, 20, 30)
  expect_true(all(is.na(tr$full_loglik[!evaluated])))
  expect_true(all(is.na(tr$loglik_gap[!evaluated])))
  expect_true(all(is.finite(tr$full_loglik[evaluated])))
  optimum <- ppca(x, 2)$loglik
  expect_equal(tr$loglik_gap[evaluated], optimum - tr$full_loglik[evaluated],
               tolerance = 1e-12)
  expect_true(all(tr$loglik_gap[evaluated] > 0))
  # Evaluated at the parameters the gradient of that iteration was taken at,
  # i.e. those after 19 steps for iteration 20.
  before <- do.call(fit_vae, c(args, iterations = 19))
  cf <- coef(before)
  at20 <- tr[tr$iteration == 20, ]
  expect_equal(at20$full_loglik,
               ppca_loglik(x, cf$W, cf$mu, exp(cf$log_obs_sd[[1]])), tolerance = 1e-12)
  expect_equal(at20$full_objective, exact_elbo(model, before$state$par, x),
               tolerance = 1e-12)
  # The ELBO is a lower bound on the log-likelihood.
  expect_true(all(tr$full_objective[evaluated] <= tr$full_loglik[evaluated]))
})

test_that("the log-likelihood columns are NA without evaluation and for deep models", {
  x <- simulate_ppca(n = 100, d = 5, scales = c(2, 1), seed = 11)
  lin <- fit_vae(x, linear_vae(2), iterations = 5, batch_size = 20, seed = 1,
                 n_threads = 1, progress = FALSE)
  deep <- fit_vae(x, gaussian_vae(2, hidden = 4), iterations = 5, batch_size = 20,
                  eval_every = 2, seed = 1, n_threads = 1, progress = FALSE)
  for (tr in list(trajectory(lin), trajectory(deep))) {
    expect_true(all(c("full_loglik", "loglik_gap") %in% names(tr)))
    expect_true(all(is.na(tr$full_loglik)))
    expect_true(all(is.na(tr$loglik_gap)))
  }
  expect_true(any(!is.na(trajectory(deep)$full_objective)))
})

test_that("linear fits are identical for 1 and 2 threads and continue exactly", {
  x <- simulate_ppca(n = 400, d = 6, scales = c(2, 1), seed = 12)
  for (objective in list(elbo(exact = TRUE), elbo())) {
    args <- list(x = x, model = linear_vae(2, learn_obs_sd = TRUE),
                 objective = objective, optimizer = adam(lr = 0.05),
                 batch_size = 200, eval_every = 5, seed = 4, progress = FALSE)
    one <- do.call(fit_vae, c(args, iterations = 20, n_threads = 1))
    two <- do.call(fit_vae, c(args, iterations = 20, n_threads = 2))
    expect_identical(one$state$par, two$state$par)
    expect_identical(without_seconds(trajectory(one)), without_seconds(trajectory(two)))
    half <- do.call(fit_vae, c(args, iterations = 10, n_threads = 1))
    rest <- fit_vae(x, init = half, iterations = 10, eval_every = 5, n_threads = 2,
                    progress = FALSE)
    expect_identical(rest$state$par, one$state$par)
    expect_identical(without_seconds(trajectory(rest)), without_seconds(trajectory(one)))
  }
})

test_that("fit_vae() rejects the exact ELBO for a deep model", {
  x <- simulate_ppca(n = 50, d = 4, scales = 1, seed = 1)
  expect_error(
    fit_vae(x, gaussian_vae(2, hidden = 4), elbo(exact = TRUE), batch_size = 10,
            iterations = 1, n_threads = 1),
    class = "vaeconv_error_input"
  )
  expect_snapshot(error = TRUE,
    fit_vae(x, gaussian_vae(2, hidden = 4), elbo(exact = TRUE), batch_size = 10,
            iterations = 1, n_threads = 1)
  )
})

test_that("a time limit stops a long fit promptly and keeps what it had", {
  skip_on_cran()
  x <- digits_x(500)
  model <- gaussian_vae(latent_dim = 2, hidden = c(32, 32))
  start <- Sys.time()
  messages <- utils::capture.output(
    expect_warning(
      fit <- with_time_limit(1, function() {
        fit_vae(x, model, iterations = 1e7, seed = 1, n_threads = 2)
      }),
      class = "vaeconv_warning_interrupted"
    ),
    type = "message"
  )
  expect_lt(as.numeric(difftime(Sys.time(), start, units = "secs")), 10)
  # The fit caught the time limit's error: R printed nothing of its own.
  expect_identical(messages, character(0))
  expect_identical(fit$status, "interrupted")
  tr <- trajectory(fit)
  n <- fit$state$iteration
  expect_gt(n, 0)
  expect_identical(tr$iteration, seq_len(n))
  # What it kept is the same as a fit of that many iterations, and it goes on.
  same <- fit_vae(x, model, iterations = n, seed = 1, n_threads = 1)
  expect_identical(fit$state$par, same$state$par)
  more <- fit_vae(x, init = fit, iterations = 3, n_threads = 1)
  expect_identical(more$state$iteration, n + 3)
})

test_that("a stop during full-data evaluations ends the fit before that iteration, and it continues identically", {
  skip_on_cran()
  x <- digits_x()
  model <- gaussian_vae(2, hidden = c(32, 32))
  # Each iteration evaluates the 1797 rows with 50 draws each: nearly all the
  # time goes to the evaluations, which check for a stop between rounds of
  # chunks.
  run <- function(iterations, threads) {
    fit_vae(x, model, iterations = iterations, eval_every = 1, eval_samples = 50,
            seed = 1, n_threads = threads, progress = FALSE)
  }
  expect_warning(
    fit <- with_time_limit(1.5, function() run(1e7, 2)),
    class = "vaeconv_warning_interrupted"
  )
  n <- fit$state$iteration
  expect_gt(n, 0)
  tr <- trajectory(fit)
  expect_identical(tr$iteration, seq_len(n))
  expect_true(all(is.finite(tr$full_objective)))
  same <- run(n, 1)
  expect_identical(fit$state$par, same$state$par)
  expect_identical(without_seconds(tr), without_seconds(trajectory(same)))
})

test_that("a fit stopped by a time limit leaves no thread working", {
  skip_on_cran()
  x <- digits_x(500)
  # Minibatches of 256 rows are 4 chunks: both threads work.
  expect_warning(
    fit <- with_time_limit(1, function() {
      fit_vae(x, gaussian_vae(2, hidden = c(32, 32)), batch_size = 256,
              iterations = 1e7, seed = 1, n_threads = 2)
    }),
    class = "vaeconv_warning_interrupted"
  )
  expect_identical(fit$status, "interrupted")
  # Idle now: a thread still computing would add about the sleep's length.
  before <- process_cpu()
  Sys.sleep(0.5)
  expect_lt(process_cpu() - before, 0.1)
})

test_that("an interrupt (SIGINT) stops a fit cleanly and returns it", {
  skip_on_cran()
  skip_on_os("windows")
  skip_if_not_installed("callr")
  p <- callr::r_bg(function() {
    x <- as.matrix(vaeconv::digits[1:500, 1:64]) / 16
    fit <- withCallingHandlers(
      vaeconv::fit_vae(x, vaeconv::gaussian_vae(2, hidden = c(32, 32)),
                       iterations = 1e7, seed = 1, n_threads = 2),
      vaeconv_warning_interrupted = function(w) invokeRestart("muffleWarning")
    )
    list(status = fit$status, iteration = fit$state$iteration,
         rows = nrow(vaeconv::trajectory(fit)), finite = all(is.finite(fit$state$par)))
  }, libpath = c(dirname(getNamespaceInfo("vaeconv", "path")), .libPaths()))
  on.exit(p$kill(), add = TRUE)
  Sys.sleep(3)
  expect_true(p$is_alive())
  p$interrupt()
  p$wait(10000)
  expect_false(p$is_alive())
  res <- p$get_result()
  expect_identical(res$status, "interrupted")
  expect_gt(res$iteration, 0)
  expect_identical(res$rows, as.integer(res$iteration))
  expect_true(res$finite)
})

test_that("Ctrl-C while the progress bar shows returns the fit at any moment, and the session goes on", {
  rs <- bar_session()
  on.exit(rs$close(), add = TRUE)
  fit_in_child <- function(eval_every, n_threads) {
    x <- as.matrix(vaeconv::digits[, 1:64]) / 16
    warned <- character(0)
    fit <- withCallingHandlers(
      vaeconv::fit_vae(x, vaeconv::gaussian_vae(4, hidden = c(64, 64)),
                       iterations = 1e7, seed = 1, n_threads = n_threads,
                       eval_every = eval_every, progress = TRUE),
      vaeconv_warning = function(w) {
        warned <<- c(warned, class(w)[[1]])
        invokeRestart("muffleWarning")
      }
    )
    list(status = fit$status, iteration = fit$state$iteration,
         rows = nrow(vaeconv::trajectory(fit)), finite = all(is.finite(fit$state$par)),
         warned = warned)
  }
  # Early (the bar just drawn), mid-run, and while most of the time goes to
  # full-data evaluations (one every iteration, over the 1797 rows); on one
  # thread and on two.
  cases <- list(
    early = list(after = 0.05, eval_every = 0, n_threads = 2),
    mid = list(after = 1, eval_every = 0, n_threads = 1),
    evaluation = list(after = 0.5, eval_every = 1, n_threads = 2)
  )
  for (nm in names(cases)) {
    cs <- cases[[nm]]
    r <- interrupt_after(rs, fit_in_child, "Fitting", cs$after, eval_every = cs$eval_every,
                         n_threads = cs$n_threads)
    expect_clean_stop(r, "Fitting")
    expect_match(r$stderr, "iteration [0-9]+/[0-9]+ [|] objective -?[0-9]", label = nm)
    expect_null(r$error, label = nm)
    res <- r$result
    expect_identical(res$status, "interrupted", label = nm)
    expect_identical(res$warned, "vaeconv_warning_interrupted", label = nm)
    expect_gt(res$iteration, 0)
    expect_identical(res$rows, as.integer(res$iteration))
    expect_true(res$finite)
  }
  # The session is alive and answers.
  expect_identical(rs$run(function() 1 + 1), 2)
})

test_that("1 and 2 threads agree over many chunks and rounds of chunks", {
  # Chunks of 16 rows: a minibatch of 100 makes 7 chunks (the last one
  # partial), a full-data evaluation of 300 rows 19 chunks (several rounds
  # of chunks in flight), so the chunk-order reduction is exercised.
  withr::local_options(vaeconv.chunk_rows = 16L)
  set.seed(11)
  x <- matrix(stats::runif(300 * 12), 300, 12)
  for (activation in list(soft_clip(), "tanh")) {
    fit <- function(threads) {
      fit_vae(x, gaussian_vae(3, hidden = c(20, 10), activation = activation),
              batch_size = 100, iterations = 12, seed = 3, n_threads = threads,
              eval_every = 5, progress = FALSE)
    }
    one <- fit(1)
    two <- fit(2)
    cols <- setdiff(names(trajectory(one)), c("seconds", "eval_seconds"))
    expect_identical(trajectory(one)[cols], trajectory(two)[cols])
    expect_identical(one$state[c("par", "opt_m", "opt_v")], two$state[c("par", "opt_m", "opt_v")])
    expect_true(all(is.finite(trajectory(one)$full_grad_norm_sq[c(5, 10)])))
  }
})

test_that("1 and 2 threads agree when the core chooses the chunks as K grows", {
  # Without vaeconv.chunk_rows the rows per chunk follow the draws per row,
  # here 64 rows for K = 1 down to 3 rows for K = 20 (width 1000).
  withr::local_options(vaeconv.chunk_rows = NULL)
  set.seed(12)
  x <- matrix(stats::runif(200 * 10), 200, 10)
  fit <- function(threads) {
    fit_vae(x, gaussian_vae(2, hidden = 1000, activation = "tanh"),
            objective = iwae(K = k_schedule(1, 20, 2)), batch_size = 100,
            iterations = 12, seed = 8, n_threads = threads, progress = FALSE)
  }
  one <- fit(1)
  two <- fit(2)
  cols <- setdiff(names(trajectory(one)), c("seconds", "eval_seconds"))
  expect_identical(trajectory(one)[cols], trajectory(two)[cols])
  expect_identical(one$state$par, two$state$par)
})

test_that("a fit under k_schedule() records K, also when continued", {
  x <- digits_x(200)
  model <- gaussian_vae(2, hidden = 8)
  sched <- iwae(K = k_schedule(1, 6, 4))
  fit <- fit_vae(x, model, objective = sched, batch_size = 50, iterations = 12,
                 record_every = 2, seed = 1, n_threads = 1)
  tr <- trajectory(fit)
  expect_identical(names(tr)[1:3], c("iteration", "K", "objective"))
  expect_identical(tr$iteration, seq(2L, 12L, by = 2L))
  expect_identical(tr$K, pmin(6L, 1L + (tr$iteration - 1L) %/% 4L))
  # without a schedule there is no K column
  expect_false("K" %in% names(trajectory(small_fit(n_threads = 1))))
  # an ELBO fit continued under a schedule: the first part has K = 1
  first <- fit_vae(x, model, batch_size = 50, iterations = 4, seed = 1, n_threads = 1)
  both <- fit_vae(x, init = first, objective = sched, iterations = 8, n_threads = 1)
  expect_identical(trajectory(both)$K, c(1L, 1L, 1L, 1L, 2L, 2L, 2L, 2L, 3L, 3L, 3L, 3L))
  # and the other way round: the fixed-K part gets its own K
  back <- fit_vae(x, init = fit, objective = iwae(K = 3), iterations = 2, n_threads = 1)
  expect_identical(tail(trajectory(back)$K, 2), c(3L, 3L))
  expect_identical(head(trajectory(back), 6), tr)
})

test_that("continuing a fit leaves the fit it started from unchanged", {
  # The state of a fit lives in the R vectors it returns; a continued fit
  # works in fresh ones.
  x <- as.matrix(digits[1:200, 1:64]) / 16
  first <- fit_vae(x, gaussian_vae(2, hidden = 16), iterations = 20, seed = 5,
                   n_threads = 1, progress = FALSE)
  kept <- lapply(first$state, function(v) v + 0)  # copies
  second <- fit_vae(x, init = first, iterations = 10, n_threads = 2)
  expect_identical(first$state, kept)
  expect_false(identical(second$state$par, first$state$par))
})

test_that("fit_vae() reads a double matrix without copying it", {
  skip_if_not(capabilities("profmem"))
  x <- matrix(stats::runif(100 * 4), 100, 4)
  copies <- utils::capture.output({
    tracemem(x)
    fit_vae(x, gaussian_vae(2, hidden = 4), batch_size = 10, iterations = 2,
            seed = 1, n_threads = 1, progress = FALSE)
    untracemem(x)
  })
  expect_false(any(grepl("tracemem\\[", copies)))
})

test_that("data above the copy limit, read in place, give the fit of a copy", {
  # fit_vae() copies data of at most 2^21 values into observation-major
  # order and reads larger data in R's layout; fit_vae_replicates() always
  # copies. One value over the limit takes the in-place path.
  n <- 2^21 / 64 + 1
  set.seed(3)
  x <- matrix(stats::runif(n * 64), n, 64)
  args <- list(x, gaussian_vae(3, hidden = 10), batch_size = 100, iterations = 4,
               record_every = 1, progress = FALSE, n_threads = 1)
  in_place <- do.call(fit_vae, c(args, seed = 9))
  copied <- do.call(fit_vae_replicates, c(args, seeds = 9))[[1]]
  expect_identical(without_seconds(in_place$trajectory), without_seconds(copied$trajectory))
  expect_identical(in_place$state$par, copied$state$par)
  expect_false(identical(in_place$state$par, in_place$state$par0))
})

test_that("init keeps every setting of the fit it continues", {
  x <- digits_x(200)
  settings <- list(gaussian_vae(latent_dim = 2, hidden = 8), objective = iwae(K = 2),
                   optimizer = sgd(lr = 0.01), batch_size = 40, seed = 9,
                   record_every = 3, eval_every = 6, eval_samples = 3, n_threads = 1)
  whole <- do.call(fit_vae, c(list(x, iterations = 24), settings))
  first <- do.call(fit_vae, c(list(x, iterations = 12), settings))
  both <- fit_vae(x, init = first, iterations = 12, n_threads = 1)
  expect_identical(without_seconds(trajectory(both)), without_seconds(trajectory(whole)))
  expect_identical(both$state$par, whole$state$par)
  expect_identical(both[c("record_every", "eval_every", "eval_samples")],
                   list(record_every = 3L, eval_every = 6L, eval_samples = 3L))
  # What the call gives wins.
  none <- fit_vae(x, init = first, iterations = 12, eval_every = 0, record_every = 1,
                  n_threads = 1)
  tr <- trajectory(none)
  expect_identical(tail(tr$iteration, 12), 13:24)
  expect_true(all(is.na(tail(tr$full_objective, 12))))
})

test_that("a continuation says when the data or the optimiser differ", {
  x <- digits_x(200)
  first <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 8), iterations = 5,
                   seed = 9, n_threads = 1)
  # The hash of the data as the fit reads it (a double matrix without row names).
  expect_identical(first$data_fingerprint,
                   list(n_obs = 200L, n_features = 64L, hash = rlang::hash(unname_rows(x))))
  expect_no_message(same <- fit_vae(x, init = first, iterations = 3, n_threads = 1))
  # Columns in another order are the same data once matched by name.
  expect_no_message(shuffled <- fit_vae(x[, 64:1], init = first, iterations = 3,
                                        n_threads = 1))
  expect_identical(shuffled$state$par, same$state$par)
  expect_message(fit_vae(digits_x(150), init = first, iterations = 3, n_threads = 1),
                 class = "vaeconv_message_continuation")
  expect_message(fit_vae(x + 0.5, init = first, iterations = 3, n_threads = 1),
                 class = "vaeconv_message_continuation")
  expect_message(fit_vae(x, init = first, optimizer = sgd(lr = 0.01), iterations = 3,
                         n_threads = 1),
                 class = "vaeconv_message_continuation")
  skip_on_cran()
  expect_snapshot({
    f <- fit_vae(digits_x(150), init = first, iterations = 3, n_threads = 1)
    f <- fit_vae(x[, 64:1] * 2, init = first, optimizer = sgd(lr = 0.01),
                 iterations = 3, n_threads = 1)
  })
})

test_that("the time of the full-data evaluations is reported apart", {
  x <- digits_x(300)
  fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = c(16, 8)), batch_size = 50,
                 iterations = 40, eval_every = 5, eval_samples = 20, seed = 3,
                 n_threads = 1)
  tr <- trajectory(fit)
  evaluated <- !is.na(tr$full_objective)
  # Cumulative, growing only at the evaluated iterations.
  expect_true(all(diff(tr$eval_seconds)[!evaluated[-1]] == 0))
  expect_true(all(diff(tr$eval_seconds)[evaluated[-1]] > 0))
  expect_identical(tr$eval_seconds[nrow(tr)], fit$state$eval_seconds)
  s <- summary(fit)
  expect_identical(s$eval_seconds, fit$state$eval_seconds)
  expect_identical(s$seconds, fit$state$seconds)
  expect_equal(s$ms_per_iteration, 1000 * fit$state$seconds / 40)
  # Each evaluation draws 20 x 300 rows' gradients, 120 minibatches' worth:
  # their time is not in `seconds`.
  expect_gt(s$eval_seconds, 2 * s$seconds)
  # A continuation goes on counting both.
  more <- fit_vae(x, init = fit, iterations = 10, n_threads = 1)
  expect_gt(more$state$eval_seconds, fit$state$eval_seconds)
  expect_true(all(diff(trajectory(more)$eval_seconds) >= 0))
})
