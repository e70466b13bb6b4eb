x_digits <- digits_x(300)
small_vae <- gaussian_vae(latent_dim = 2, hidden = 8)

# A fit without its timings, the only part that may differ between runs.
untimed <- function(fit) {
  fit$trajectory <- without_seconds(fit$trajectory)
  fit$state$seconds <- NULL
  fit$state$eval_seconds <- NULL
  fit
}
untimed_fits <- function(fits) lapply(fits, untimed)

test_that("each replicate is the fit_vae() of its seed", {
  fits <- fit_vae_replicates(x_digits, small_vae, iterations = 30,
                             eval_every = 10, seeds = c(7, 11, 5),
                             n_threads = 2, progress = FALSE)
  expect_s3_class(fits, "vae_fits")
  expect_length(fits, 3)
  for (i in 1:3) {
    one <- fit_vae(x_digits, small_vae, iterations = 30, eval_every = 10,
                   seed = c(7, 11, 5)[[i]], n_threads = 1, progress = FALSE)
    expect_s3_class(fits[[i]], "vae_fit")
    expect_identical(untimed(fits[[i]]), untimed(one))
  }
  # Different seeds give different fits.
  expect_false(identical(fits[[1]]$state$par, fits[[2]]$state$par))
})

test_that("replicates are identical in parallel and one after another", {
  args <- list(x_digits, small_vae, optimizer = sgd(lr = 0.01),
               iterations = 40, batch_size = 50, record_every = 3,
               eval_every = 20, seeds = 1:5, progress = FALSE)
  parallel <- do.call(fit_vae_replicates, c(args, parallel = TRUE, n_threads = 2))
  serial <- do.call(fit_vae_replicates, c(args, parallel = FALSE, n_threads = 1))
  serial2 <- do.call(fit_vae_replicates, c(args, parallel = FALSE, n_threads = 2))
  one_thread <- do.call(fit_vae_replicates, c(args, parallel = TRUE, n_threads = 1))
  expect_identical(untimed_fits(parallel), untimed_fits(serial))
  expect_identical(untimed_fits(parallel), untimed_fits(serial2))
  expect_identical(untimed_fits(parallel), untimed_fits(one_thread))
  expect_true(attr(parallel, "parallel"))
  expect_false(attr(serial, "parallel"))
  expect_identical(attr(parallel, "n_threads"), 2L)
})

test_that("set.seed() reproduces replicates with seeds = NULL, one draw per seed", {
  set.seed(42)
  a <- fit_vae_replicates(x_digits, small_vae, iterations = 5, replicates = 3,
                          n_threads = 2, progress = FALSE)
  after_a <- .Random.seed
  set.seed(42)
  b <- fit_vae_replicates(x_digits, small_vae, iterations = 5, replicates = 3,
                          n_threads = 2, progress = FALSE)
  expect_identical(untimed_fits(a), untimed_fits(b))
  set.seed(42)
  expected <- as.integer(floor(stats::runif(3) * 2147483647))
  expect_identical(after_a, .Random.seed)
  expect_identical(vapply(a, function(f) f$seed, integer(1)), expected)
})

test_that("the seeds fix the number of replicates", {
  fits <- fit_vae_replicates(x_digits, small_vae, iterations = 3, seeds = c(3, 1),
                             n_threads = 1, progress = FALSE)
  expect_length(fits, 2)
  expect_identical(summary(fits)$seed, c(3L, 1L))
})

test_that("trajectory() stacks the runs with a replicate column first", {
  fits <- fit_vae_replicates(x_digits, small_vae, iterations = 12,
                             record_every = 4, seeds = 1:3, n_threads = 2,
                             progress = FALSE)
  tr <- trajectory(fits)
  expect_s3_class(tr, "tbl_df")
  expect_identical(names(tr), c("replicate", names(trajectory(fits[[1]]))))
  expect_identical(tr$replicate, rep(1:3, each = 3))
  expect_identical(tr$iteration, rep(c(4L, 8L, 12L), 3))
  for (i in 1:3) {
    expect_identical(as.list(tr[tr$replicate == i, -1]),
                     as.list(trajectory(fits[[i]])))
  }
  expect_identical(tibble::as_tibble(fits), tr)
  expect_identical(as.data.frame(fits), as.data.frame(tr))
})

test_that("subsetting keeps the class, summary() has a row per replicate", {
  fits <- fit_vae_replicates(x_digits, small_vae, iterations = 10, seeds = 1:3,
                             n_threads = 2, progress = FALSE)
  two <- fits[2:3]
  expect_s3_class(two, "vae_fits")
  expect_identical(untimed_fits(two), untimed_fits(fits)[2:3])
  s <- summary(fits)
  expect_identical(nrow(s), 3L)
  expect_identical(names(s)[1:2], c("replicate", "seed"))
  expect_identical(s$seed, 1:3)
  expect_identical(s$objective, vapply(fits, function(f) summary(f)$objective, double(1)))
  expect_output(print(fits), "3 replicates")
  expect_output(print(fits), "3 completed after 10 iterations")
  expect_output(printed <- withVisible(print(fits)))
  expect_false(printed$visible)
  expect_identical(printed$value, fits)
})

test_that("autoplot() of replicates returns a ggplot", {
  skip_if_not_installed("ggplot2")
  fits <- fit_vae_replicates(x_digits, small_vae, iterations = 10, eval_every = 5,
                             seeds = 1:2, n_threads = 2, progress = FALSE)
  p <- ggplot2::autoplot(fits)
  expect_s3_class(p, "ggplot")
  expect_silent(b <- ggplot2::ggplot_build(p))
  # One colour per replicate, each with a minibatch and a full-data line.
  expect_identical(p$labels$colour, "replicate")
  colours <- unique(b$data[[1]][c("colour", "group")])
  expect_identical(length(unique(colours$colour)), 2L)
  expect_identical(nrow(colours), 4L)
  expect_identical(p$facet$params$strip.position, "left")
})

test_that("diverged replicates are kept, with one warning naming them", {
  expect_warning(
    fits <- fit_vae_replicates(x_digits, small_vae,
                               optimizer = sgd(lr = 10, decay = 0),
                               iterations = 50, seeds = 1:2, n_threads = 2,
                               progress = FALSE),
    class = "vaeconv_warning_diverged"
  )
  expect_length(fits, 2)
  expect_identical(summary(fits)$status, c("diverged", "diverged"))
})

test_that("bad input to fit_vae_replicates() gets clear errors", {
  expect_snapshot(error = TRUE, {
    fit_vae_replicates(x_digits)
    fit_vae_replicates(x_digits, small_vae, seed = 1)
    fit_vae_replicates(x_digits, small_vae, init = NULL)
    fit_vae_replicates(x_digits, small_vae, iteration = 10)
    fit_vae_replicates(x_digits, small_vae, replicates = 0)
    fit_vae_replicates(x_digits, small_vae, seeds = c(1, 2, 1))
    fit_vae_replicates(x_digits, small_vae, seeds = -1)
    fit_vae_replicates(x_digits, small_vae, seeds = integer(0))
    fit_vae_replicates(x_digits, small_vae, seeds = 1:3, replicates = 2)
    fit_vae_replicates(x_digits, small_vae, parallel = NA)
    fit_vae_replicates(x_digits, small_vae, batch_size = 1000)
    fit_vae_replicates(x_digits, small_vae, n_threads = 0)
    fit_vae_replicates(x_digits[, 1:2] * NA, small_vae)
  })
})

test_that("bad input does not touch R's random stream", {
  set.seed(1)
  before <- .Random.seed
  expect_error(fit_vae_replicates(x_digits, small_vae, batch_size = 0),
               class = "vaeconv_error_input")
  expect_identical(.Random.seed, before)
})

test_that("a time limit stops parallel replicates and leaves no thread working", {
  skip_on_cran()
  expect_warning(
    fits <- with_time_limit(1, function() {
      fit_vae_replicates(x_digits, small_vae, iterations = 1e7, seeds = 1:3,
                         n_threads = 2, progress = FALSE)
    }),
    class = "vaeconv_warning_interrupted"
  )
  # The replicates that started come back, every one interrupted; the third
  # never starts (two workers, each on a fit of 1e7 iterations). The second
  # worker usually takes the second seed within the second; on a loaded
  # machine TBB may not have woken it by then, and one fit comes back.
  expect_true(length(fits) %in% 1:2)
  expect_identical(summary(fits)$status, rep("interrupted", length(fits)))
  for (fit in fits) {
    expect_gt(fit$state$iteration, 0)
    expect_identical(nrow(trajectory(fit)), as.integer(fit$state$iteration))
  }
  before <- process_cpu()
  Sys.sleep(0.5)
  expect_lt(process_cpu() - before, 0.1)
})

test_that("Ctrl-C while the progress bar shows returns the replicates that started, parallel or not", {
  rs <- bar_session()
  on.exit(rs$close(), add = TRUE)
  reps_in_child <- function(parallel, iterations, eval_every) {
    x <- as.matrix(vaeconv::digits[, 1:64]) / 16
    warned <- character(0)
    fits <- withCallingHandlers(
      vaeconv::fit_vae_replicates(x, model = vaeconv::gaussian_vae(4, hidden = c(64, 64)),
                                  iterations = iterations, eval_every = eval_every,
                                  seeds = 1:4, parallel = parallel, n_threads = 2,
                                  progress = TRUE),
      vaeconv_warning = function(w) {
        warned <<- c(warned, class(w)[[1]])
        invokeRestart("muffleWarning")
      }
    )
    s <- summary(fits)
    list(status = s$status, iterations = vapply(fits, function(f) f$state$iteration, 0),
         rows = vapply(fits, function(f) nrow(vaeconv::trajectory(f)), 0L),
         warned = warned)
  }
  # Parallel: two workers on seeds 1 and 2, stopped early, mid-run and during
  # full-data evaluations; one after another: the first fits complete and the
  # one running is stopped (6000 iterations each, about a second with the
  # AVX-512 products: at 3000 all four could end before the stop came).
  cases <- list(
    parallel_early = list(parallel = TRUE, iterations = 1e7, eval_every = 0, after = 0.05),
    parallel_mid = list(parallel = TRUE, iterations = 1e7, eval_every = 0, after = 1),
    parallel_evaluation = list(parallel = TRUE, iterations = 1e7, eval_every = 1, after = 0.5),
    sequential = list(parallel = FALSE, iterations = 6000, eval_every = 0, after = 1.5)
  )
  for (nm in names(cases)) {
    cs <- cases[[nm]]
    r <- interrupt_after(rs, reps_in_child, if (cs$parallel) "Replicates" else "Replicate", cs$after, parallel = cs$parallel,
                         iterations = cs$iterations, eval_every = cs$eval_every)
    expect_clean_stop(r, if (cs$parallel) "Replicates" else "Replicate 1/4")
    expect_null(r$error, label = nm)
    res <- r$result
    n <- length(res$status)
    if (cs$parallel) {
      expect_match(r$stderr, "0/4 replicates done", fixed = TRUE)
      expect_identical(res$status, c("interrupted", "interrupted"), label = nm)
    } else {
      expect_match(r$stderr, sprintf("iteration [0-9]+/%d [|] objective", cs$iterations))
      expect_gte(n, 1)
      expect_identical(res$status, c(rep("completed", n - 1), "interrupted"), label = nm)
      expect_identical(res$iterations[-n], rep(cs$iterations, n - 1))
    }
    expect_true(all(res$iterations > 0))
    expect_identical(res$rows, as.integer(res$iterations))
    expect_identical(res$warned, "vaeconv_warning_interrupted", label = nm)
  }
  expect_identical(rs$run(function() 1 + 1), 2)
})
