test_that("fit_vae() gives identical fits on 1 and 2 threads", {
  # Chunks of 16 rows: a minibatch of 100 makes 7 chunks (the last one
  # partial), a full-data evaluation of 300 rows 19 chunks (more than one
  # round of chunks in flight), so the chunk-order reduction is exercised.
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
    cols <- setdiff(names(trajectory(one)), "seconds")
    expect_identical(trajectory(one)[cols], trajectory(two)[cols])
    expect_identical(one$state$par, two$state$par)
    expect_identical(one$state$opt_m, two$state$opt_m)
    expect_identical(one$state$opt_v, two$state$opt_v)
    expect_true(all(is.finite(trajectory(one)$full_grad_norm_sq[c(5, 10)])))
  }
})

test_that("a continued fit equals one fit and leaves the first one unchanged", {
  x <- as.matrix(digits[1:200, 1:64]) / 16
  model <- gaussian_vae(2, hidden = 16)
  whole <- fit_vae(x, model, iterations = 30, seed = 5, n_threads = 1, progress = FALSE)
  first <- fit_vae(x, model, iterations = 20, seed = 5, n_threads = 1, progress = FALSE)
  kept <- lapply(first$state, function(v) v + 0)  # copies
  second <- fit_vae(x, init = first, iterations = 10, n_threads = 2)
  expect_identical(second$state$par, whole$state$par)
  expect_identical(second$state$opt_v, whole$state$opt_v)
  cols <- setdiff(names(trajectory(whole)), "seconds")
  expect_identical(trajectory(second)[cols], trajectory(whole)[cols])
  # The fit works in fresh vectors: the state it started from is untouched.
  expect_identical(first$state, kept)
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
