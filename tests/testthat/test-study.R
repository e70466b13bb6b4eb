x_study <- digits_x(300)
study_vae <- gaussian_vae(latent_dim = 2, hidden = 8)
study_design <- expand.grid(batch_size = c(16, 32),
                            objective = list(iwae(1), iwae(3)))

# A study without its timings (the fits' `seconds`, the tasks' `seconds`,
# the wall time and the number of workers) and its path: the parts that may
# differ between runs of the same study.
untimed_study <- function(study) {
  study$seconds <- NULL
  study$workers <- NULL
  study$path <- NULL
  study$tasks$seconds <- NULL
  study$fits <- lapply(study$fits, function(fit) {
    if (is.null(fit)) return(NULL)
    fit$trajectory <- without_seconds(fit$trajectory)
    fit$state$seconds <- NULL
    fit$state$eval_seconds <- NULL
    fit
  })
  study
}

small_study <- function(..., iterations = 40, replicates = 2, seed = 11) {
  fit_vae_study(x_study, study_design, model = study_vae, iterations = iterations,
                replicates = replicates, seed = seed, progress = FALSE, ...)
}

# Seeds --------------------------------------------------------------------------

test_that("study_seeds() is MurmurHash3 of (seed, row, replicate), halved", {
  skip_if_not_installed("digest")
  words <- rbind(c(0, 1, 1), c(11, 2, 3), c(2147483647, 9, 10000),
                 c(123456789, 4000, 1))
  for (i in seq_len(nrow(words))) {
    w <- words[i, ]
    bytes <- writeBin(as.integer(w), raw(), size = 4, endian = "little")
    h <- digest::digest(bytes, algo = "murmur32", serialize = FALSE, seed = 0)
    expected <- as.integer(strtoi(substr(h, 1, 4), 16L) * 32768 +
                             strtoi(substr(h, 5, 8), 16L) %/% 2)
    expect_identical(study_seeds(w[[1]], w[[2]], w[[3]]), expected,
                     info = paste(w, collapse = ", "))
  }
})

test_that("task seeds are in range, distinct, well mixed and independent of the design's size", {
  row <- rep(1:100, each = 100)
  replicate <- rep(1:100, times = 100)
  s <- study_seeds(7, row, replicate)
  expect_type(s, "integer")
  expect_true(all(s >= 0 & s <= 2147483647))
  expect_false(anyDuplicated(s) > 0)
  # Each of the 31 bits is set in half of the seeds (10000 seeds: sd 0.005).
  bits <- vapply(0:30, function(b) mean((s %/% 2^b) %% 2), double(1))
  expect_true(all(abs(bits - 0.5) < 0.025))
  # Neighbouring tasks are unrelated: the correlation of consecutive seeds.
  expect_lt(abs(stats::cor(s[-1], s[-length(s)])), 0.05)
  # Another study seed gives other seeds.
  expect_false(any(study_seeds(8, row, replicate) == s))
  # A task's seed is the same whatever the rest of the design.
  expect_identical(study_seeds(7, 3, 2), s[[(3 - 1) * 100 + 2]])
  expect_identical(study_seeds(7, 1, 1:5), s[1:5])
})

# Validation ---------------------------------------------------------------------

test_that("bad designs and arguments are rejected with messages that name them", {
  x <- x_study
  m <- study_vae
  bad <- rlang::exprs(
    fit_vae_study(x, list(batch_size = 16), model = m),
    fit_vae_study(x, data.frame(), model = m),
    fit_vae_study(x, data.frame(batch_size = 16)[0, , drop = FALSE], model = m),
    fit_vae_study(x, data.frame(lr = 0.1), model = m),
    fit_vae_study(x, data.frame(seed = 1:2), model = m),
    fit_vae_study(x, data.frame(n_threads = 1:2), model = m),
    fit_vae_study(x, data.frame(objective = c("elbo", "iwae")), model = m),
    fit_vae_study(x, data.frame(batch_size = c("16", "32")), model = m),
    fit_vae_study(x, data.frame(batch_size = c(16, 0)), model = m),
    fit_vae_study(x, data.frame(batch_size = c(16, 301)), model = m),
    fit_vae_study(x, data.frame(batch_size = 16)),
    fit_vae_study(x, data.frame(batch_size = 16), model = m, batch_size = 32),
    fit_vae_study(x, data.frame(batch_size = 16), m),
    fit_vae_study(x, data.frame(batch_size = 16), model = m, seed = 1.5),
    fit_vae_study(x, data.frame(batch_size = 16), model = m, iterations = 0),
    fit_vae_study(x, data.frame(batch_size = 16), model = m, lr = 0.1),
    fit_vae_study(x, data.frame(batch_size = 16), model = m, path = c("a", "b"))
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
  expect_snapshot(error = TRUE, {
    fit_vae_study(x, data.frame(lr = 0.1), model = m)
    fit_vae_study(x, data.frame(seed = 1:2), model = m)
    fit_vae_study(x, data.frame(objective = c("elbo", "iwae")), model = m)
    fit_vae_study(x, data.frame(batch_size = c("16", "32")), model = m)
    fit_vae_study(x, data.frame(batch_size = c(16, 0)), model = m)
    fit_vae_study(x, data.frame(batch_size = 16))
    fit_vae_study(x, data.frame(batch_size = 16), model = m, batch_size = 32)
    fit_vae_study(x, data.frame(batch_size = 16), model = m, iterations = 0)
  })
})

# One machine --------------------------------------------------------------------

test_that("a study fits every row and replicate with the task's seed", {
  before <- withr::with_seed(3, {
    study <- small_study()
    .Random.seed
  })
  # With a seed, R's random stream is untouched.
  expect_identical(before, withr::with_seed(3, .Random.seed))
  expect_s3_class(study, "vae_study")
  expect_identical(study$tasks$row, rep(1:4, each = 2))
  expect_identical(study$tasks$replicate, rep(1:2, times = 4))
  expect_identical(study$tasks$seed, study_seeds(11, study$tasks$row, study$tasks$replicate))
  expect_identical(study$tasks$status, rep("done", 8))
  expect_identical(study$labels[c(1, 4)], c("B = 16; IWAE, K = 1", "B = 32; IWAE, K = 3"))
  # Task 6 (row 3, replicate 2) is the fit of its setting with its seed.
  one <- fit_vae(x_study, study_vae, objective = iwae(3), batch_size = 16,
                 iterations = 40, seed = study$tasks$seed[[6]], n_threads = 1,
                 progress = FALSE)
  untimed <- untimed_study(study)
  expect_identical(untimed$fits[[6]], untimed_study(list(fits = list(one)))$fits[[1]])

  tr <- trajectory(study)
  expect_identical(names(tr)[1:5], c("row", "batch_size", "objective_spec", "replicate", "iteration"))
  expect_identical(nrow(tr), 8L * 40L)
  expect_identical(unique(tr$objective_spec), c("IWAE, K = 1", "IWAE, K = 3"))
  expect_identical(tr$objective[tr$row == 3 & tr$replicate == 2], one$trajectory$objective)

  expect_output(print(study), "4 design rows x 2 replicates = 8 tasks")
  expect_output(print(study), "8 done, 0 failed")
  expect_output(print(study), "B = 32; IWAE, K = 3  \\(2/2\\)")
})

test_that("rate_compare() and summary() give a row per design row; study_constants() regresses on B and K", {
  study <- small_study(iterations = 60, replicates = 3)
  rate <- rate_compare(study)
  expect_s3_class(rate, "vae_study_rate")
  expect_identical(nrow(rate), 4L * 3L * 60L)
  s <- summary(rate)
  expect_identical(nrow(s), 4L)
  expect_identical(s$row, 1:4)
  expect_identical(s$batch_size, c(16, 32, 16, 32))
  # Each row's summary is that of rate_compare() on its replicates.
  row3 <- study$fits[study$tasks$row == 3]
  class(row3) <- "vae_fits"
  expect_equal(s[3, names(summary(rate_compare(row3)))], summary(rate_compare(row3)))

  k <- study_constants(study)
  expect_identical(k$term, c("(Intercept)", "log(B)", "log(K)"))
  expect_identical(k$points, c(12L, 12L, 12L))
  # The estimates are those of lm() on the per-task constants.
  points <- attr(k, "constants")
  expect_identical(nrow(points), 12L)
  expect_identical(points$K, rep(c(1, 3), each = 6))
  ref <- stats::lm(log(constant) ~ log(B) + log(K), data = points)
  expect_equal(k$estimate, unname(stats::coef(ref)))
  expect_equal(k$conf_low, unname(stats::confint(ref)[, 1]))
  # A task's constant is rate_compare()'s for that fit alone.
  expect_equal(points$constant[[5]],
               attr(rate_compare(study$fits[[5]]), "constant"))
  flat <- fit_vae_study(x_study, data.frame(iterations = c(20, 30)), model = study_vae,
                        replicates = 2, seed = 1, progress = FALSE)
  expect_error(study_constants(flat), class = "vaeconv_error_input")
})

test_that("autoplot() draws a facet per design row", {
  skip_if_not_installed("ggplot2")
  study <- small_study()
  p <- ggplot2::autoplot(study)
  expect_s3_class(p, "ggplot")
  built <- ggplot2::ggplot_build(p)
  expect_identical(nrow(built$layout$layout), 4L)
})

test_that("every finished task ticks the progressor once", {
  withr::local_options(progressr.enable = TRUE)
  ticks <- 0
  study <- withCallingHandlers(
    fit_vae_study(x_study, study_design, model = study_vae, iterations = 10,
                  replicates = 2, seed = 1, progress = TRUE),
    progression = function(c) {
      if (identical(c$type, "update")) ticks <<- ticks + c$amount
    }
  )
  expect_identical(ticks, 8)
})

test_that("a task whose fit fails is reported; the others are kept", {
  ns <- asNamespace("vaeconv")
  real <- ns$fit_vae
  # fit_vae() failing for the task of row 2, replicate 1.
  failing <- real
  body(failing) <- bquote({
    if (identical(seed, .(study_seeds(11, 2, 1)))) stop("a failure in the worker")
    .(body(real))
  })
  unlockBinding("fit_vae", ns)
  assign("fit_vae", failing, envir = ns)
  on.exit({
    assign("fit_vae", real, envir = ns)
    lockBinding("fit_vae", ns)
  })
  path <- withr::local_tempfile()
  expect_warning(study <- small_study(path = path),
                 class = "vaeconv_warning_study")
  expect_identical(study$tasks$status, c("done", "done", "failed", rep("done", 5)))
  expect_match(study$tasks$message[[3]], "a failure in the worker")
  expect_null(study$fits[[3]])
  expect_output(print(study), "7 done, 1 failed")
  expect_identical(nrow(trajectory(study)), 7L * 40L)
  expect_length(list.files(file.path(path, "fits")), 7)

  # Resumed once the cause is gone: only the failed task is fitted.
  assign("fit_vae", real, envir = ns)
  before <- file.mtime(list.files(file.path(path, "fits"), full.names = TRUE))
  Sys.sleep(1.1)
  resumed <- small_study(path = path)
  expect_identical(resumed$tasks$status, rep("done", 8))
  expect_identical(file.mtime(list.files(file.path(path, "fits"), full.names = TRUE))[-3], before)
  expect_identical(untimed_study(resumed), untimed_study(small_study()))
})

test_that("a study kept in a path resumes, grows and refuses another study", {
  path <- withr::local_tempfile()
  study <- small_study(path = path)
  manifest <- readRDS(file.path(path, "manifest.rds"))
  expect_identical(manifest$seed, 11L)
  expect_identical(manifest$replicates, 2L)
  expect_identical(manifest$version, as.character(utils::packageVersion("vaeconv")))
  expect_identical(manifest$design, study$design)
  files <- list.files(file.path(path, "fits"))
  expect_length(files, 8)
  expect_false(any(grepl("tmp", files)))

  # A lost fit is fitted again, identically; the others are read.
  unlink(file.path(path, "fits", "row-2-replicate-1.rds"))
  again <- small_study(path = path)
  expect_identical(untimed_study(again), untimed_study(study))
  expect_identical(again$tasks$seconds[-3], study$tasks$seconds[-3])
  # seed = NULL continues with the recorded seed.
  expect_identical(untimed_study(small_study(path = path, seed = NULL)), untimed_study(study))
  # More replicates add tasks, the first ones unchanged.
  more <- small_study(path = path, replicates = 3)
  expect_identical(nrow(more$tasks), 12L)
  expect_identical(readRDS(file.path(path, "manifest.rds"))$replicates, 3L)
  keep <- more$tasks$replicate <= 2
  expect_identical(untimed_study(more)$fits[keep], untimed_study(study)$fits)

  expect_snapshot(error = TRUE, {
    small_study(path = path, seed = 12)
    small_study(path = path, iterations = 41)
    fit_vae_study(x_study, study_design[1:3, ], model = study_vae, iterations = 40,
                  replicates = 2, seed = 11, path = path)
  }, transform = function(lines) gsub(path, "<path>", lines, fixed = TRUE))
  expect_error(fit_vae_study(x_study[-1, ], study_design, model = study_vae,
                             iterations = 40, replicates = 2, seed = 11, path = path),
               class = "vaeconv_error_input")
})

# Back ends ----------------------------------------------------------------------

test_that("sequential, multisession and cluster plans give identical studies", {
  skip_on_cran()
  withr::defer(future::plan(future::sequential))
  future::plan(future::sequential)
  expect_no_warning(sequential <- small_study(iterations = 200))
  # Fits written by the workers, in a path, are identical as well.
  path <- withr::local_tempfile()
  future::plan(future::multisession, workers = 2)
  expect_no_warning(multisession <- small_study(iterations = 200, path = path))
  expect_identical(multisession$workers, 2)
  expect_identical(untimed_study(multisession), untimed_study(sequential))

  cl <- parallelly::makeClusterPSOCK(2, rscript_libs = .libPaths(), verbose = FALSE)
  withr::defer(parallel::stopCluster(cl))
  future::plan(future::cluster, workers = cl)
  expect_no_warning(cluster <- small_study(iterations = 200))
  expect_identical(untimed_study(cluster), untimed_study(sequential))
  # The workers are other processes, and load the package under test (from
  # the library of this session: the .libPaths() they inherit).
  where <- future.apply::future_lapply(1:2, function(i) {
    list(pid = Sys.getpid(), path = getNamespaceInfo("vaeconv", "path"))
  }, future.chunk.size = 1L, future.packages = "vaeconv")
  expect_false(Sys.getpid() %in% vapply(where, function(w) w$pid, integer(1)))
  for (w in where) {
    expect_identical(normalizePath(w$path), normalizePath(getNamespaceInfo("vaeconv", "path")))
  }
})

test_that("a killed worker loses only its task, and the study resumes to the same result", {
  skip_on_cran()
  skip_if_not_installed("callr")
  withr::defer(future::plan(future::sequential))
  args <- list(x = x_study, design = data.frame(batch_size = c(16, 32)),
               model = gaussian_vae(2, hidden = 16), iterations = 10000,
               replicates = 3, seed = 5, progress = FALSE)
  future::plan(future::sequential)
  reference <- do.call(fit_vae_study, args)

  future::plan(future::multisession, workers = 2)
  # The workers' process ids: two futures at once run on the two workers.
  pids <- future::value(lapply(1:2, function(i) future::future({
    Sys.sleep(0.5)
    Sys.getpid()
  })))
  expect_length(unique(unlist(pids)), 2)
  path <- withr::local_tempfile()
  # Kill the first worker while it fits: shortly after the first fit is
  # written.
  ready <- withr::local_tempfile()
  killer <- callr::r_bg(function(dir, pid, ready) {
    writeLines("ready", ready)
    repeat {
      if (length(list.files(dir, "[.]rds$"))) break
      Sys.sleep(0.02)
    }
    Sys.sleep(0.1)
    tools::pskill(pid)
  }, args = list(dir = file.path(path, "fits"), pid = pids[[1]], ready = ready))
  for (i in 1:200) if (!file.exists(ready)) Sys.sleep(0.05)
  expect_true(file.exists(ready))
  expect_warning(
    broken <- do.call(fit_vae_study, c(args, list(path = path))),
    "did not finish", class = "vaeconv_warning_study"
  )
  killer$wait(5)
  expect_true(killer$get_result())
  status <- broken$tasks$status
  expect_identical(sum(status == "failed"), 1L)
  expect_match(broken$tasks$message[status == "failed"], "FutureError")
  expect_true(all(status %in% c("done", "failed", "not run")))
  expect_gte(sum(status == "done"), 1)
  # What finished is what an uninterrupted study fits.
  done <- status == "done"
  expect_identical(untimed_study(broken)$fits[done], untimed_study(reference)$fits[done])
  # The fits running on the other worker were waited for: no fit is written
  # after the study returned, and no task is marked as running.
  fits_dir <- file.path(path, "fits")
  expect_length(list.files(fits_dir, "[.]rds$"), sum(done))
  Sys.sleep(1)
  expect_length(list.files(fits_dir, "[.]rds$"), sum(done))
  expect_length(list.files(fits_dir, "[.]running$"), 0)

  # A fresh plan (future < 1.33 does not restart a dead worker) and the same
  # path complete the study.
  future::plan(future::multisession, workers = 2)
  expect_no_warning(resumed <- do.call(fit_vae_study, c(args, list(path = path))))
  expect_identical(resumed$tasks$status, rep("done", 6))
  expect_identical(untimed_study(resumed), untimed_study(reference))
})

test_that("a study on a Slurm cluster (future.batchtools) is identical to the sequential one", {
  skip_on_cran()
  require_slurm <- identical(Sys.getenv("VAECONV_REQUIRE_SLURM"), "1")
  why <- NULL
  if (!requireNamespace("future.batchtools", quietly = TRUE)) {
    why <- "future.batchtools is not installed"
  } else if (!nzchar(Sys.which("sbatch")) || !nzchar(Sys.which("sinfo"))) {
    why <- "no Slurm commands (sbatch, sinfo) on the PATH"
  } else {
    state <- suppressWarnings(tryCatch(
      system2("sinfo", c("-h", "-o", "%t"), stdout = TRUE, stderr = TRUE),
      error = function(e) character()
    ))
    if (!any(grepl("^(idle|mix|alloc)", state))) {
      why <- paste0("no Slurm node answers (sinfo: ", paste(state, collapse = " "), ")")
    }
  }
  if (!is.null(why)) {
    if (require_slurm) fail(paste("VAECONV_REQUIRE_SLURM=1 but", why))
    skip(paste(why, "(start one with tools/slurm.sh start)"))
  }
  # batchtools lists a user's jobs with squeue --user=$USER: without USER
  # (as in some containers) it would see none and call them expired.
  if (!nzchar(Sys.getenv("USER"))) withr::local_envvar(USER = Sys.info()[["user"]])
  withr::defer(future::plan(future::sequential))
  future::plan(future::sequential)
  args <- list(x = x_study, design = study_design[c(1, 4), ], model = study_vae,
               iterations = 100, replicates = 2, seed = 21, progress = FALSE)
  sequential <- do.call(fit_vae_study, args)

  cache <- withr::local_tempfile()
  dir.create(cache)
  withr::local_options(future.cache.path = cache, future.wait.interval = 0.1)
  template <- system.file("batchtools", "slurm.tmpl", package = "vaeconv")
  expect_true(nzchar(template))
  future::plan(future.batchtools::batchtools_slurm, template = template,
               resources = list(ncpus = 1, walltime = 5))
  path <- withr::local_tempfile()
  expect_no_warning(slurm <- do.call(fit_vae_study, c(args, list(path = path))))
  expect_identical(slurm$tasks$status, rep("done", 4))
  expect_identical(untimed_study(slurm), untimed_study(sequential))
})
