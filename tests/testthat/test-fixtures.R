# The core's results are held to the bit: every fit, continuation and
# diagnostic of inst/scripts/record-fixtures.R must be identical() to what
# was recorded with the core as it was before it was split into parts
# (commit 7b4703a). A change that moves any of them in its last bit fails
# here. Results may gain columns or elements (those are not compared); the
# recorded ones may not change. Re-record only for a change whose issue says
# results may move. The parts added since (Bernoulli and continuous Bernoulli
# decoders, c^2(z), the full-covariance encoder, the score-function
# estimator) are held the same way by parts-fixtures.rds, recorded on commit
# d8df273 before the performance work of issue 18, and fits of several
# chunks a step by task-fixtures.rds, recorded on commit 7361a8d.

# got restricted to the names of want, recursively (lists and data frames).
like_recorded <- function(got, want) {
  if (is.list(want) && !is.null(names(want)) && is.list(got)) {
    keep <- intersect(names(want), names(got))
    out <- got[keep]
    for (nm in keep) out[[nm]] <- like_recorded(got[[nm]], want[[nm]])
    return(out)
  }
  got
}

# Recomputes the fixtures of `file` with `results` (a function of the
# script, by name) on 1 and 2 threads and requires them identical.
expect_fixtures <- function(file, results) {
  script <- system.file("scripts", "record-fixtures.R", package = "vaeconv")
  fixtures <- test_path("fixtures", file)
  skip_if(!nzchar(script) || !file.exists(fixtures), "fixtures or their script not found")
  env <- new.env()
  sys.source(script, envir = env)
  want <- readRDS(fixtures)
  for (threads in 1:2) {
    got <- env[[results]](n_threads = threads)
    expect_identical(names(got), names(want))
    for (nm in names(want)) {
      for (part in names(want[[nm]])) {
        expect_identical(like_recorded(got[[nm]][[part]], want[[nm]][[part]]),
                         want[[nm]][[part]],
                         label = sprintf("%s$%s (%d threads)", nm, part, threads))
      }
    }
  }
}

test_that("fits, continuations and diagnostics equal the recorded fixtures to the bit", {
  skip_on_cran()
  expect_fixtures("core-fixtures.rds", "fixture_results")
})

test_that("the parts (Bernoulli, continuous Bernoulli, c^2(z), full covariance, score) equal their fixtures", {
  skip_on_cran()
  # Recorded on commit d8df273, before issue 18's performance work.
  expect_fixtures("parts-fixtures.rds", "parts_fixture_results")
})

test_that("fits whose minibatches and passes span several chunks equal their fixtures", {
  skip_on_cran()
  # Recorded on commit 7361a8d, before a one-thread fit took several chunks
  # at once and added them straight into the gradient: 200 rows a step
  # (chunks of 64, 64, 64 and 8 rows), and chunks of 16 rows.
  expect_fixtures("task-fixtures.rds", "task_fixture_results")
})

test_that("the parts' fixtures hold with the AVX2 kernels too (4-wide exp and log1p among them)", {
  skip_on_cran()
  # The default run above uses the widest kernels (AVX-512 on the machines
  # that recorded them); this one caps them at AVX2 + FMA.
  skip_if(cpp_simd_level() < 2, "the CPU has no AVX-512, so the run above used AVX2")
  previous <- cpp_simd_override(1L)
  on.exit(cpp_simd_override(previous))
  expect_fixtures("parts-fixtures.rds", "parts_fixture_results")
})
