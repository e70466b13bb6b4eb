#' Run a simulation study on any future plan
#'
#' Fits every row of a design of settings `replicates` times, as the tasks of
#' a simulation study, and returns them together. The tasks (a design row and
#' a replicate) run as futures under the plan the user chose with
#' [future::plan()]: one after another ([future::sequential]), in background
#' R sessions ([future::multisession], [future::cluster]) or as jobs of a
#' scheduler such as Slurm ([future.batchtools::batchtools_slurm]). The
#' package never sets a plan. The result is the same to the bit whatever the
#' plan, the number of workers and the order in which the tasks finish (apart
#' from the timing columns `seconds`).
#'
#' @section The design:
#' `design` is a data frame with a row per setting whose columns are
#' arguments of [fit_vae()]: specifications in list-columns, numbers in
#' numeric columns, for example
#' ```
#' design <- expand.grid(batch_size = c(16, 64),
#'                       objective = list(iwae(1), iwae(5)))
#' ```
#' The arguments common to every row go in `...`. `seed`, `n_threads`,
#' `init` and `progress` cannot be columns: seeds come from `seed` (below),
#' and `n_threads` is an argument of `fit_vae_study()`. Every row is checked
#' as [fit_vae()] would check it before any task starts.
#'
#' @section Seeds:
#' Task (row \eqn{r}, replicate \eqn{i}) fits with the seed
#' `floor(h / 2)`, where \eqn{h} is the 32-bit MurmurHash3 (x86, hash seed 0)
#' of the three 32-bit little-endian words (`seed`, \eqn{r}, \eqn{i}), a
#' whole number in \[0, 2147483647\]. It depends on nothing else: not on the
#' plan, the workers, the order the tasks run in, the other rows or the
#' number of replicates (so a study with more replicates extends one with
#' fewer). MurmurHash3's finaliser mixes every input bit into every output
#' bit, so neighbouring tasks get unrelated seeds; and since a fit's random
#' draws are keyed by its seed, the tasks use no random stream of R at all
#' (the futures run with `future.seed = FALSE`). `study_seeds()` lists them.
#' With `seed = NULL`, the study's seed is drawn from R's generator (one
#' uniform draw, so [set.seed()] reproduces the study), or read from the
#' manifest of an existing `path`.
#'
#' @section Nothing lost:
#' With `path`, the study keeps its work in that directory (on a file system
#' that the workers share with this session on a cluster): first a manifest
#' (`manifest.rds`: the design, the common arguments, the seed, the number
#' of replicates, a fingerprint of `x` and the package version), then each
#' fit as soon as it is finished, written by the worker itself to a
#' temporary file that is then renamed (so a file is whole or absent, and a
#' finished fit survives the death of this session); fits that come back
#' unwritten, from workers that cannot reach `path`, are written here as they
#' come back. Calling `fit_vae_study()` again with the same `path` reads the
#' fits there and runs only the missing tasks; `replicates` may grow. A
#' different design, `...`, `x` or `seed` for an existing `path` is an error.
#' Without `path`, finished fits are kept in a temporary directory for the
#' duration of the call (for workers on this machine).
#'
#' A task whose fit signals an error, or whose worker dies (a
#' `FutureError`), is reported with its row and replicate: the study
#' returns what finished, with a status per task (`"done"`, `"failed"`, or
#' `"not run"` for the tasks that had not started when the map stopped), and
#' warns. A failed future stops the map of future.apply; the fits then
#' running on the other workers of this machine are waited for, so that the
#' study holds them (on other machines, they write themselves to `path` and
#' the next call reads them). After a worker died, set the plan again (older versions of future
#' do not restart dead workers) and call `fit_vae_study()` again with the
#' same `path`.
#'
#' @section Progress:
#' With `progress = TRUE`, every finished task signals one tick through
#' progressr; how it is shown is for the user to choose with
#' [progressr::handlers()] (e.g. `progressr::handlers(global = TRUE)`) or
#' [progressr::with_progress()].
#'
#' @param x A numeric matrix or a data frame of numeric columns, one row per
#'   observation, the data of every task.
#' @param design A data frame with a row per setting, whose columns are
#'   arguments of [fit_vae()] (see "The design").
#' @param ... Arguments of [fit_vae()] common to every row, by name: those
#'   that are not columns of `design` (`model` is required in one or the
#'   other).
#' @param replicates The number of fits of each row.
#' @param seed `NULL` or a whole number in \[0, 2147483647\]: the seed the
#'   tasks' seeds are derived from (see "Seeds").
#' @param path `NULL`, or a directory in which the study keeps its manifest
#'   and fits, and from which it resumes (see "Nothing lost").
#' @param n_threads Threads of each fit's minibatch computation (default 1,
#'   so that workers running side by side do not oversubscribe the cores).
#'   The results do not depend on it.
#' @param progress Whether to signal progress through progressr.
#' @returns An object of class `vae_study`, a list with
#'   * `design`: the design (a data frame, numbers as doubles),
#'   * `labels`: a readable label of each design row, e.g.
#'     `"IWAE, K = 5; B = 64"`,
#'   * `tasks`: a tibble with a row per task: `row`, `replicate`, `seed`,
#'     `status` (`"done"`, `"failed"` or `"not run"`), `fit_status` (the
#'     fit's own status: `"completed"`, `"diverged"`, ...), `message` (why a
#'     task failed) and `seconds` (the fit's time),
#'   * `fits`: the `vae_fit` of each task (see [fit_vae()]), in the order of
#'     `tasks`, `NULL` where there is none,
#'   * `common`, `seed`, `replicates`, `n_obs`, `n_features`, `path`,
#'     `version`, `seconds` (the wall-clock time of the call) and `workers`
#'     (the number of workers of the plan it ran under).
#'
#'   [trajectory()] stacks the fits: a column `row` (the design row), the
#'   design's columns described (specifications as text, e.g.
#'   `"IWAE, K = 5"`, numbers as numbers; a design column named like a
#'   column of the trajectory gets the suffix `_spec`, e.g.
#'   `objective_spec`), `replicate`, then the columns of each fit's
#'   trajectory. See
#'   [vae_study-methods] for `print()`, `rate_compare()`, `summary()` and
#'   `autoplot()`, and [study_constants()] for the constant's dependence on
#'   B and K.
#' @family studies
#' @seealso [fit_vae_replicates()] for the replicates of one setting on this
#'   machine, its threads shared among them.
#' @importFrom future nbrOfWorkers
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' design <- expand.grid(batch_size = c(16, 64),
#'                       objective = list(iwae(1), iwae(5)))
#' # future::plan(future::multisession, workers = 2)  # to use 2 R sessions
#' study <- fit_vae_study(x, design, model = gaussian_vae(2, hidden = 8),
#'                        iterations = 50, replicates = 2, seed = 1)
#' study
#' trajectory(study)
#' summary(rate_compare(study))
#'
#' # Kept in a directory, a study resumes where it stopped.
#' path <- file.path(tempdir(), "study")
#' study <- fit_vae_study(x, design, model = gaussian_vae(2, hidden = 8),
#'                        iterations = 50, replicates = 2, seed = 1, path = path)
#' # ... fits only the new replicates:
#' study <- fit_vae_study(x, design, model = gaussian_vae(2, hidden = 8),
#'                        iterations = 50, replicates = 3, seed = 1, path = path)
#' unlink(path, recursive = TRUE)
fit_vae_study <- function(x, design, ..., replicates = 10, seed = NULL,
                          path = NULL, n_threads = 1,
                          progress = interactive()) {
  call <- rlang::current_env()
  start <- proc.time()[["elapsed"]]
  check_required(x)
  check_required(design)
  common <- check_study_dots(list(...))
  x <- check_data(x, min_rows = 2)
  design <- check_design(design, names(common))
  replicates <- check_whole(replicates)
  seed <- check_seed(seed)
  path <- check_study_path(path)
  n_threads <- check_whole(n_threads)
  progress <- check_flag(progress)
  rows <- design_rows(design)
  check_design_rows(x, rows, common, n_threads, call = call)

  version <- as.character(utils::packageVersion("vaeconv"))
  fingerprint <- data_fingerprint(x)
  if (is.null(path)) {
    if (is.null(seed)) seed <- draw_seed()
    dir <- tempfile("vaeconv-study-")
    dir.create(dir)
    on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  } else {
    seed <- study_manifest(path, design, common, seed, replicates,
                           fingerprint, version, call = call)
    dir <- file.path(path, "fits")
    dir.create(dir, showWarnings = FALSE)
  }

  tasks <- study_tasks(nrow(design), replicates, seed)
  records <- vector("list", nrow(tasks))
  if (!is.null(path)) {
    for (i in seq_len(nrow(tasks))) {
      records[i] <- list(read_study_record(dir, tasks[i, ]))
    }
  }
  pending <- which(vapply(records, is.null, logical(1)))
  map <- run_study_tasks(tasks[pending, ], rows, x, common, dir, n_threads,
                         progress)
  if (map$stopped) {
    # Fits still running on the other workers write themselves: wait for
    # them, so that the study holds them.
    wait_for_running(dir)
  }
  for (j in seq_along(pending)) {
    i <- pending[[j]]
    record <- map$records[[j]]
    if (is.null(record)) {
      # Lost with the map: a worker may have written it all the same.
      record <- read_study_record(dir, tasks[i, ])
    }
    if (is.null(record)) {
      record <- if (identical(map$failed, j)) {
        list(status = "failed", message = map$message)
      } else {
        list(status = "not run", message = map$not_run_message)
      }
    } else if (identical(record$status, "done") && !isTRUE(record$written) &&
               !is.null(path)) {
      # Came back from a worker that could not reach `path`.
      write_atomic(record[setdiff(names(record), "written")],
                   study_fit_file(dir, tasks$row[[i]], tasks$replicate[[i]]))
    }
    records[[i]] <- record
  }

  study <- new_vae_study(design, rows, common, seed, replicates, tasks,
                         records, x, path, version,
                         seconds = proc.time()[["elapsed"]] - start,
                         workers = nbrOfWorkers())
  warn_study(study, records, call = call)
  study
}

#' The seeds of a study's tasks
#'
#' The seed of each (design row, replicate) of [fit_vae_study()]: the
#' 32-bit MurmurHash3 of (`seed`, row, replicate), halved (see "Seeds" in
#' [fit_vae_study()]).
#'
#' @param seed A whole number in \[0, 2147483647\], the study's seed.
#' @param row,replicate Vectors of positive whole numbers, recycled to a
#'   common length: design rows and replicates.
#' @returns An integer vector of seeds in \[0, 2147483647\].
#' @family studies
#' @export
#' @examples
#' study_seeds(1, row = 1, replicate = 1:5)
#' # A task's seed does not depend on the size of the design.
#' study_seeds(1, row = 3, replicate = 2) ==
#'   study_seeds(1, row = rep(1:4, each = 3), replicate = 1:3)[8]
study_seeds <- function(seed, row, replicate) {
  seed <- check_whole(seed, min = 0, max = .Machine$integer.max)
  row <- check_whole_vector(row)
  replicate <- check_whole_vector(replicate)
  if (length(row) == 0 || length(replicate) == 0) return(integer(0))
  n <- max(length(row), length(replicate))
  if (n %% length(row) != 0 || n %% length(replicate) != 0) {
    abort_input(
      "{.arg row} and {.arg replicate} must have lengths that recycle to a common length, not {length(row)} and {length(replicate)}.",
      arg = "replicate"
    )
  }
  h <- murmur3_words(rep(seed, n), rep_len(row, n), rep_len(replicate, n))
  as.integer(h %/% 2)
}

# Seeds ------------------------------------------------------------------------

# 32-bit unsigned arithmetic on doubles (exact: every intermediate < 2^53).
u32_mul <- function(a, b) {
  a_hi <- a %/% 65536
  a_lo <- a %% 65536
  b_hi <- b %/% 65536
  b_lo <- b %% 65536
  cross <- (a_hi * b_lo + a_lo * b_hi) %% 65536
  (a_lo * b_lo + cross * 65536) %% 4294967296
}

u32_xor <- function(a, b) {
  hi <- bitwXor(as.integer(a %/% 65536), as.integer(b %/% 65536))
  lo <- bitwXor(as.integer(a %% 65536), as.integer(b %% 65536))
  hi * 65536 + lo
}

u32_rotl <- function(a, r) {
  (a * 2^r) %% 4294967296 + a %/% 2^(32 - r)
}

#' MurmurHash3 x86 32-bit (hash seed 0) of the three 32-bit little-endian
#' words (a, b, c), vectorised; a double in [0, 2^32)
#' @noRd
murmur3_words <- function(a, b, c) {
  c1 <- 3432918353 # 0xcc9e2d51
  c2 <- 461845907 # 0x1b873593
  h <- numeric(length(a))
  for (k in list(as.double(a), as.double(b), as.double(c))) {
    k <- u32_mul(k, c1)
    k <- u32_rotl(k, 15)
    k <- u32_mul(k, c2)
    h <- u32_xor(h, k)
    h <- u32_rotl(h, 13)
    h <- (u32_mul(h, 5) + 3864292196) %% 4294967296 # 0xe6546b64
  }
  h <- u32_xor(h, 12) # the length in bytes
  h <- u32_xor(h, h %/% 65536)
  h <- u32_mul(h, 2246822507) # 0x85ebca6b
  h <- u32_xor(h, h %/% 8192)
  h <- u32_mul(h, 3266489909) # 0xc2b2ae35
  u32_xor(h, h %/% 65536)
}

#' The tasks of a study: a row per (design row, replicate), rows first
#' @noRd
study_tasks <- function(n_rows, replicates, seed) {
  row <- rep(seq_len(n_rows), each = replicates)
  replicate <- rep(seq_len(replicates), times = n_rows)
  data.frame(row = row, replicate = replicate,
             seed = study_seeds(seed, row, replicate))
}

# Validation -------------------------------------------------------------------

#' The arguments of fit_vae() that a study may set, in `...` or the design
#' @noRd
study_arguments <- function() {
  setdiff(names(formals(fit_vae)), c("x", "seed", "init", "n_threads", "progress"))
}

#' Why an argument of fit_vae() cannot be set in a study
#' @noRd
study_excluded_hint <- function(name) {
  switch(name,
    x = "The data of every task is {.arg x}.",
    seed = "The tasks' seeds are derived from the study's {.arg seed}, the row and the replicate.",
    n_threads = "{.arg n_threads} is an argument of {.fn fit_vae_study}, the same for every task.",
    init = "A study fits every task from the start.",
    progress = "{.arg progress} is an argument of {.fn fit_vae_study}.",
    NULL
  )
}

#' Check the common arguments in `...`
#' @noRd
check_study_dots <- function(dots, call = rlang::caller_env()) {
  nms <- names(dots) %||% character(length(dots))
  if (any(is.na(nms) | nms == "")) {
    abort_input(
      c("Arguments in {.arg ...} must be named arguments of {.fn fit_vae}.",
        i = "Give the model as {.code model = gaussian_vae(...)}."),
      arg = "...", call = call
    )
  }
  allowed <- study_arguments()
  for (name in nms) {
    if (!name %in% allowed) {
      abort_input(
        c("Arguments in {.arg ...} must be arguments of {.fn fit_vae}, but {.arg {name}} is not one a study can set.",
          i = study_excluded_hint(name) %||% "They are {.arg {allowed}}."),
        arg = "...", call = call
      )
    }
  }
  if (anyDuplicated(nms)) {
    abort_input("{.arg {nms[anyDuplicated(nms)]}} is given twice in {.arg ...}.",
                arg = "...", call = call)
  }
  dots
}

#' Check a design and normalise it: a plain data frame, numbers as doubles,
#' list columns unnamed
#' @noRd
check_design <- function(design, common_names, call = rlang::caller_env()) {
  what <- "a data frame whose columns are arguments of {.fn fit_vae}"
  if (!is.data.frame(design)) {
    abort_input(paste0("{.arg design} must be ", what, ", not {describe_value(design)}."),
                arg = "design", call = call)
  }
  if (nrow(design) == 0 || ncol(design) == 0) {
    abort_input(
      paste0("{.arg design} must be ", what,
             " with at least one row and one column, not {nrow(design)} row{?s} and {ncol(design)} column{?s}."),
      arg = "design", call = call
    )
  }
  nms <- names(design)
  if (anyDuplicated(nms)) {
    abort_input("{.arg design} has two columns named {.field {nms[anyDuplicated(nms)]}}.",
                arg = "design", call = call)
  }
  allowed <- study_arguments()
  for (name in nms) {
    if (!name %in% allowed) {
      abort_input(
        c("The columns of {.arg design} must be arguments of {.fn fit_vae}, but {.field {name}} is not one a study can set.",
          i = study_excluded_hint(name) %||% "They may be {.arg {allowed}}."),
        arg = "design", call = call
      )
    }
  }
  both <- intersect(nms, common_names)
  if (length(both)) {
    abort_input(
      c("{.arg {both[[1]]}} is both a column of {.arg design} and an argument in {.arg ...}.",
        i = "Give it in one place: in {.arg design} when it varies over the rows."),
      arg = "design", call = call
    )
  }
  if (!"model" %in% c(nms, common_names)) {
    abort_input(
      "{.arg model} must be given, as an argument in {.arg ...} or as a column of {.arg design}.",
      arg = "model", call = call
    )
  }
  specs <- c(model = "model specifications (e.g. `list(gaussian_vae(2), gaussian_vae(4))`)",
             objective = "objectives (e.g. `list(iwae(1), iwae(5))`)",
             optimizer = "optimisers (e.g. `list(adam(1e-3), sgd(0.01))`)")
  numbers <- c("batch_size", "iterations", "record_every", "eval_every", "eval_samples")
  cols <- lapply(nms, function(name) {
    col <- design[[name]]
    arg <- paste0("design$", name)
    if (name %in% names(specs)) {
      if (!is.list(col) || is.data.frame(col)) {
        abort_input(
          c("{.arg {arg}} must be a list column of {specs[[name]]}, not {describe_column(col)}.",
            i = "Wrap the specifications in {.fn list}: {.code {name} = list(...)}."),
          arg = "design", call = call
        )
      }
      return(unname(col))
    }
    if (name %in% numbers) {
      if (is.list(col) && !is.data.frame(col) &&
          all(vapply(col, function(v) is.numeric(v) && length(v) == 1, logical(1)))) {
        col <- unlist(col, use.names = FALSE)
      }
      if (!is.numeric(col) || is.object(col) || !is.null(dim(col))) {
        abort_input("{.arg {arg}} must be a numeric column, not {describe_column(col)}.",
                    arg = "design", call = call)
      }
      return(as.double(col))
    }
    if (is.list(col)) unname(col) else col
  })
  structure(stats::setNames(cols, nms), row.names = c(NA_integer_, -nrow(design)),
            class = "data.frame")
}

#' The arguments of fit_vae() of each design row, as a list of lists
#' @noRd
design_rows <- function(design) {
  lapply(seq_len(nrow(design)), function(i) {
    lapply(design, function(col) col[[i]])
  })
}

#' Check every row of the design as fit_vae() checks its arguments
#' @noRd
check_design_rows <- function(x, rows, common, n_threads, call) {
  for (i in seq_along(rows)) {
    args <- c(list(x = x), common, rows[[i]],
              list(seed = 0, n_threads = n_threads, progress = FALSE, call = call))
    tryCatch(
      do.call(fit_setup, args),
      vaeconv_error_input = function(e) {
        if (!is.null(e$arg) && e$arg %in% names(rows[[i]])) {
          abort_input(
            c("Row {i} of {.arg design} is not a valid setting of {.fn fit_vae}.",
              x = "In column {.field {e$arg}}: {cli_escape(conditionMessage(e))}"),
            arg = "design", call = call
          )
        }
        stop(e)
      }
    )
  }
  invisible()
}

#' Check the study's directory: NULL or a path that is a directory or can
#' become one
#' @returns The normalised absolute path, or NULL.
#' @noRd
check_study_path <- function(path, call = rlang::caller_env()) {
  if (is.null(path)) return(NULL)
  if (!(is.character(path) && length(path) == 1 && !is.na(path) && nzchar(path))) {
    abort_input("{.arg path} must be `NULL` or a single directory name, not {describe_value(path)}.",
                arg = "path", call = call)
  }
  if (file.exists(path) && !dir.exists(path)) {
    abort_input("{.arg path} must be a directory, but {.file {path}} is a file.",
                arg = "path", call = call)
  }
  if (!dir.exists(path) && !dir.create(path, recursive = TRUE, showWarnings = FALSE)) {
    abort_input("{.arg path} must be a directory that can be created, but {.file {path}} cannot.",
                arg = "path", call = call)
  }
  normalizePath(path, mustWork = TRUE)
}

# Files ------------------------------------------------------------------------

#' Write an R object to a file atomically: a temporary file in the same
#' directory, then renamed. Returns whether it was written.
#' @noRd
write_atomic <- function(object, file) {
  dir <- dirname(file)
  if (!dir.exists(dir)) return(FALSE)
  tmp <- tempfile(paste0(".", basename(file), "-"), tmpdir = dir, fileext = ".tmp")
  ok <- tryCatch({
    saveRDS(object, tmp)
    file.rename(tmp, file)
  }, error = function(e) FALSE, warning = function(w) FALSE)
  if (!isTRUE(ok)) unlink(tmp)
  isTRUE(ok)
}

study_fit_file <- function(dir, row, replicate) {
  file.path(dir, sprintf("row-%d-replicate-%d.rds", row, replicate))
}

#' The record of a task written in `dir`, or NULL (absent or unreadable)
#' @noRd
read_study_record <- function(dir, task) {
  file <- study_fit_file(dir, task$row, task$replicate)
  if (!file.exists(file)) return(NULL)
  record <- tryCatch(readRDS(file), error = function(e) NULL)
  ok <- is.list(record) && identical(record$seed, task$seed) &&
    identical(record$status, "done") && inherits(record$fit, "vae_fit")
  if (!ok) return(NULL)
  record$written <- TRUE
  record
}

#' Check or write a study's manifest; returns the study's seed
#' @noRd
study_manifest <- function(path, design, common, seed, replicates, fingerprint,
                           version, call) {
  file <- file.path(path, "manifest.rds")
  if (!file.exists(file)) {
    if (length(list.files(path, all.files = TRUE, no.. = TRUE))) {
      abort_input(
        c("{.arg path} must be a new or empty directory, or one that holds a study.",
          x = "{.file {path}} holds files but no study manifest ({.file manifest.rds})."),
        arg = "path", call = call
      )
    }
    if (is.null(seed)) seed <- draw_seed()
    manifest <- list(format = 1L, design = design, common = common, seed = seed,
                     replicates = replicates, data = fingerprint,
                     version = version, created = Sys.time())
    if (!write_atomic(manifest, file)) {
      abort_input("{.arg path} must be a directory this session can write to, but {.file {path}} is not.",
                  arg = "path", call = call)
    }
    return(seed)
  }
  manifest <- tryCatch(readRDS(file), error = function(e) NULL)
  if (!is.list(manifest) || is.null(manifest$seed)) {
    abort_input("{.arg path} holds an unreadable study manifest {.file {file}}.",
                arg = "path", call = call)
  }
  different <- function(what, arg) {
    abort_input(
      c(paste0("{.arg path} holds a study with a different ", what, "."),
        i = "To resume it, call {.fn fit_vae_study} with the same {.arg x}, {.arg design}, {.arg ...} and {.arg seed} as the study in {.file {path}} (its {.file manifest.rds} records them); for a new study, use another {.arg path}."),
      arg = arg, call = call
    )
  }
  if (!identical(manifest$data, fingerprint)) different("data {.arg x}", "x")
  if (!identical(manifest$design, design)) different("{.arg design}", "design")
  if (!identical(manifest$common, common)) different("set of common arguments {.arg ...}", "...")
  if (!is.null(seed) && !identical(manifest$seed, seed)) {
    different(paste0("{.arg seed}: ", manifest$seed, ", not ", seed), "seed")
  }
  if (!identical(manifest$version, version)) {
    cli::cli_warn(
      c("The study in {.file {path}} was started with vaeconv {manifest$version}; this is {version}.",
        i = "Fits are meant to be identical across versions; the new ones are fitted with {version}."),
      class = c("vaeconv_warning_version", "vaeconv_warning"), call = call
    )
  }
  if (replicates > manifest$replicates) {
    manifest$replicates <- replicates
    write_atomic(manifest, file)
  }
  manifest$seed
}

# The map ----------------------------------------------------------------------

#' Fit the pending tasks under the user's plan
#'
#' Returns `records` (a record or NULL per task, NULL when the map stopped
#' before its value came back), `failed` (the position of the task whose
#' future failed, or NULL) and the messages for the failed and unfinished
#' tasks.
#' @noRd
run_study_tasks <- function(tasks, rows, x, common, dir, n_threads, progress) {
  n <- nrow(tasks)
  out <- list(records = vector("list", n), failed = NULL, message = NA_character_,
              not_run_message = NA_character_, stopped = FALSE)
  if (n == 0) return(out)
  work <- lapply(seq_len(n), function(i) {
    list(row = tasks$row[[i]], replicate = tasks$replicate[[i]],
         seed = tasks$seed[[i]], args = rows[[tasks$row[[i]]]])
  })
  tick <- if (progress) progressr::progressor(steps = n) else NULL
  values <- tryCatch(
    future.apply::future_lapply(
      work, run_study_task, x = x, common = common, dir = dir,
      n_threads = n_threads, tick = tick,
      future.seed = FALSE, future.chunk.size = 1L,
      future.packages = "vaeconv", future.label = "vaeconv-task-%d"
    ),
    error = function(e) e
  )
  if (!inherits(values, "error")) {
    out$records <- values
    return(out)
  }
  # The map stopped: one future failed (its worker died, or the future
  # framework could not run it). Its label names the task.
  out$stopped <- TRUE
  msg <- conditionMessage(values)
  future <- values$future %||% attr(values, "future", exact = TRUE)
  label <- if (inherits(future, "Future")) future$label else NULL
  j <- NA_integer_
  for (text in c(label, msg)) {
    m <- regmatches(text, regexpr("vaeconv-task-[0-9]+", text))
    if (length(m)) {
      j <- as.integer(sub("vaeconv-task-", "", m))
      break
    }
  }
  if (!is.na(j) && j >= 1 && j <= n) {
    out$failed <- j
    out$message <- paste0(class(values)[[1]], ": ", msg)
    out$not_run_message <- sprintf(
      "Not finished when the map stopped on the failure of row %d, replicate %d.",
      tasks$row[[j]], tasks$replicate[[j]]
    )
  } else {
    out$not_run_message <- paste0("Not finished when the map stopped: ",
                                  class(values)[[1]], ": ", msg)
  }
  out
}

#' Wait while fits of the study run in live processes of this machine
#'
#' A worker marks the task it fits with a file `<task>.running` holding its
#' host name and process id, and removes it when the task ends. When the
#' map stops on a failed future, the tasks on the other workers go on and
#' write their fits: this waits until no marked task of a live process of
#' this host is left (a marker left by a dead process is removed). Tasks on
#' other hosts are not waited for (they write their fits all the same, and
#' the next call with the same path reads them). On Windows, where a
#' process cannot be probed this way, it does not wait.
#' @noRd
wait_for_running <- function(dir, interval = 0.1) {
  if (.Platform$OS.type != "unix" || !dir.exists(dir)) return(invisible())
  host <- Sys.info()[["nodename"]]
  repeat {
    markers <- list.files(dir, "[.]running$", full.names = TRUE)
    # A marker can go between list.files() and readLines() (its task done):
    # readLines() then warns before its error, and neither concerns the user.
    info <- lapply(markers, function(m) {
      tryCatch(suppressWarnings(readLines(m)), error = function(e) character())
    })
    here <- vapply(info, function(i) length(i) == 2 && identical(i[[1]], host), logical(1))
    alive <- vapply(seq_along(markers), function(j) {
      here[[j]] && isTRUE(tools::pskill(as.integer(info[[j]][[2]]), 0L))
    }, logical(1))
    unlink(markers[here & !alive])
    if (!any(alive)) break
    Sys.sleep(interval)
  }
  invisible()
}

#' One task, run by a worker: fit, write the fit at once, tick
#' @noRd
run_study_task <- function(task, x, common, dir, n_threads, tick) {
  file <- study_fit_file(dir, task$row, task$replicate)
  record <- read_study_record(dir, task)
  if (is.null(record)) {
    # A mark that this process is fitting the task, for the main session to
    # wait on should the map stop (see wait_for_running()).
    marker <- sub("[.]rds$", ".running", file)
    if (dir.exists(dir)) {
      try(writeLines(c(Sys.info()[["nodename"]], Sys.getpid()), marker), silent = TRUE)
      on.exit(unlink(marker), add = TRUE)
    }
    warnings <- character()
    start <- proc.time()[["elapsed"]]
    fit <- tryCatch(
      withCallingHandlers(
        do.call(fit_vae, c(list(x = x), common, task$args,
                           list(seed = task$seed, n_threads = n_threads,
                                progress = FALSE))),
        warning = function(w) {
          warnings <<- c(warnings, conditionMessage(w))
          invokeRestart("muffleWarning")
        }
      ),
      error = function(e) e
    )
    seconds <- proc.time()[["elapsed"]] - start
    if (inherits(fit, "error")) {
      record <- list(row = task$row, replicate = task$replicate, seed = task$seed,
                     status = "failed", fit = NULL,
                     message = conditionMessage(fit), seconds = seconds,
                     warnings = warnings, written = FALSE)
    } else {
      record <- list(row = task$row, replicate = task$replicate, seed = task$seed,
                     status = "done", fit = fit, message = NA_character_,
                     seconds = seconds, warnings = warnings)
      record$written <- write_atomic(record, file)
    }
  }
  if (is.function(tick)) tick()
  record
}

# The study object -------------------------------------------------------------

#' A vae_study from the records of its tasks
#' @noRd
new_vae_study <- function(design, rows, common, seed, replicates, tasks, records,
                          x, path, version, seconds, workers) {
  field <- function(name, default) {
    vapply(records, function(r) {
      v <- r[[name]]
      if (is.null(v) || length(v) != 1) default else v
    }, default)
  }
  fits <- lapply(records, function(r) r$fit)
  fit_status <- vapply(fits, function(f) if (is.null(f)) NA_character_ else f$status,
                       character(1))
  task_table <- tibble::tibble(
    row = as.integer(tasks$row), replicate = as.integer(tasks$replicate),
    seed = as.integer(tasks$seed), status = field("status", NA_character_),
    fit_status = fit_status, message = field("message", NA_character_),
    seconds = field("seconds", NA_real_)
  )
  structure(
    list(
      design = design, labels = design_labels(design), common = common,
      seed = as.integer(seed), replicates = replicates, tasks = task_table,
      fits = fits, n_obs = nrow(x), n_features = ncol(x), path = path,
      version = version, seconds = seconds, workers = as.double(workers)
    ),
    class = "vae_study"
  )
}

#' Warn about tasks that failed, did not run or diverged
#' @noRd
warn_study <- function(study, records, call) {
  tasks <- study$tasks
  bad <- which(tasks$status != "done")
  if (length(bad)) {
    failed <- bad[tasks$status[bad] == "failed"]
    not_run <- bad[tasks$status[bad] == "not run"]
    details <- sprintf("Row %d, replicate %d: %s", tasks$row[failed],
                       tasks$replicate[failed], tasks$message[failed])
    if (length(details) > 5) {
      details <- c(details[1:5], sprintf("... and %d more.", length(details) - 5))
    }
    resume <- if (is.null(study$path)) {
      "Give {.arg path} to keep finished fits and resume a study."
    } else {
      "Call {.fn fit_vae_study} again with the same {.arg path} to fit the missing tasks (after a worker died, set the plan again first)."
    }
    cli::cli_warn(
      c("{length(bad)} of {nrow(tasks)} task{?s} of the study did not finish: {length(failed)} failed, {length(not_run)} not run.",
        stats::setNames(cli_escape(details), rep("x", length(details))),
        i = "The study holds the {sum(tasks$status == 'done')} finished fit{?s}.",
        i = resume),
      class = c("vaeconv_warning_study", "vaeconv_warning"), call = call
    )
  }
  diverged <- which(tasks$fit_status %in% "diverged")
  if (length(diverged)) {
    where <- sprintf("row %d, replicate %d", tasks$row[diverged], tasks$replicate[diverged])
    cli::cli_warn(
      c("The objective or its gradient became non-finite in {length(diverged)} fit{?s}: {utils::head(where, 5)}{if (length(where) > 5) ', ...' else ''}.",
        i = "{?It holds its/They hold their} parameters and trajectory up to then."),
      class = c("vaeconv_warning_diverged", "vaeconv_warning"), call = call
    )
  }
  invisible()
}

#' Readable descriptions of the design's cells, a column per design column:
#' numbers stay numbers, specifications become text
#' @noRd
describe_design <- function(design) {
  cols <- lapply(names(design), function(name) {
    col <- design[[name]]
    if (is.numeric(col)) return(col)
    vapply(col, describe_cell, character(1))
  })
  tibble::as_tibble(stats::setNames(cols, names(design)))
}

#' One cell of a design as text
#' @noRd
describe_cell <- function(v) {
  if (inherits(v, "vae_model")) return(describe_model(v))
  if (inherits(v, "vae_objective")) return(describe_objective(v))
  if (inherits(v, "vae_optimizer")) return(describe_optimizer(v))
  if (is.atomic(v) && length(v) == 1) return(format(v))
  describe_value(v)
}

#' A label per design row, e.g. "IWAE, K = 5; B = 64"
#' @noRd
design_labels <- function(design) {
  short <- c(batch_size = "B")
  d <- describe_design(design)
  parts <- lapply(names(d), function(name) {
    v <- d[[name]]
    if (is.numeric(v)) {
      paste(if (name %in% names(short)) short[[name]] else name, "=", format_num(v))
    } else {
      v
    }
  })
  do.call(paste, c(parts, sep = "; "))
}

#' Rename the columns of described design columns that clash with `taken`:
#' `objective` becomes `objective_spec` beside a trajectory's `objective`
#' @noRd
avoid_names <- function(described, taken) {
  taken <- c(taken, "row", "replicate")
  nms <- names(described)
  clash <- nms %in% taken
  nms[clash] <- paste0(nms[clash], "_spec")
  names(described) <- nms
  described
}

#' Check an object is a vae_study
#' @noRd
check_study <- function(study, arg = rlang::caller_arg(study),
                        call = rlang::caller_env()) {
  check_spec(study, "vae_study", what = "a study made by `fit_vae_study()`",
             arg = arg, call = call)
}

# Methods ----------------------------------------------------------------------

#' @rdname trajectory
#' @export
trajectory.vae_study <- function(fit, ...) {
  done <- which(!vapply(fit$fits, is.null, logical(1)))
  tasks <- fit$tasks
  described <- describe_design(fit$design)
  traj <- lapply(done, function(i) as.data.frame(trajectory(fit$fits[[i]])))
  described <- avoid_names(described, unlist(lapply(traj, names)))
  parts <- lapply(seq_along(done), function(j) {
    i <- done[[j]]
    tr <- traj[[j]]
    k <- nrow(tr)
    front <- as.data.frame(described[rep(tasks$row[[i]], k), , drop = FALSE])
    cbind(data.frame(row = rep(tasks$row[[i]], k)), front,
          data.frame(replicate = rep(tasks$replicate[[i]], k)), tr)
  })
  if (!length(parts)) {
    return(tibble::as_tibble(cbind(data.frame(row = integer(0)),
                                   as.data.frame(described[0, , drop = FALSE]),
                                   data.frame(replicate = integer(0)))))
  }
  tibble::as_tibble(do.call(rbind, parts))
}

#' Print, compare rates and plot a study
#'
#' `print()` shows the design rows with their labels and how many of their
#' tasks finished, the counts of tasks done and failed, and the time;
#' `rate_compare()` (see [rate_compare()]) gives the running mean of a
#' squared gradient norm beside \eqn{C \log n / \sqrt n} for every task,
#' with the design's columns and `replicate`, and its `summary()` a row per
#' design row: the log-log `slope` over the tail (the mean over replicates),
#' its interval across replicates, the fitted `constant` and the other
#' columns of [summary.vae_rate()]; `autoplot()` draws the running means and
#' the reference on log-log axes, a facet per design row.
#'
#' @param x,object A `vae_study` from [fit_vae_study()], or for `summary()`
#'   and `autoplot()` a `vae_study_rate` from `rate_compare(study)`.
#' @param column,tail As in [rate_compare()].
#' @param level The confidence level of the interval across replicates.
#' @param ... Unused.
#' @returns `print()` returns `x` invisibly; `rate_compare()` a
#'   `vae_study_rate` tibble; `summary()` a tibble with a row per design
#'   row; `autoplot()` a ggplot.
#' @family studies
#' @name vae_study-methods
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' design <- data.frame(batch_size = c(16, 64))
#' study <- fit_vae_study(x, design, model = gaussian_vae(2, hidden = 8),
#'                        iterations = 100, replicates = 2, seed = 1)
#' print(study)
#' rate <- rate_compare(study)
#' summary(rate)
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(study)
NULL

#' @rdname vae_study-methods
#' @export
print.vae_study <- function(x, ...) {
  tasks <- x$tasks
  n_rows <- nrow(x$design)
  cat("<vae_study> ", n_rows, " design row", if (n_rows == 1) "" else "s", " x ",
      x$replicates, " replicate", if (x$replicates == 1) "" else "s", " = ",
      nrow(tasks), " task", if (nrow(tasks) == 1) "" else "s", "\n", sep = "")
  counts <- table(factor(tasks$status, c("done", "failed", "not run")))
  diverged <- sum(tasks$fit_status %in% "diverged")
  cat("  tasks:      ", counts[["done"]], " done, ", counts[["failed"]], " failed",
      if (counts[["not run"]]) paste0(", ", counts[["not run"]], " not run") else "",
      if (diverged) paste0(" (", diverged, " diverged)") else "", "\n", sep = "")
  cat("  time:       ", format_num(signif(x$seconds, 3)), " s wall clock with ",
      format_num(x$workers), " worker", if (identical(x$workers, 1)) "" else "s", "; ",
      format_num(signif(sum(tasks$seconds, na.rm = TRUE), 3)), " s of fitting\n",
      sep = "")
  cat("  data:       ", x$n_obs, " rows x ", x$n_features, " columns; seed ", x$seed,
      "\n", sep = "")
  for (name in names(x$common)) {
    v <- x$common[[name]]
    cat("  ", formatC(paste0(name, ":"), width = -11), " ", describe_cell(v), "\n", sep = "")
  }
  if (!is.null(x$path)) cat("  path:       ", x$path, "\n", sep = "")
  done <- tapply(tasks$status == "done", factor(tasks$row, seq_len(n_rows)), sum)
  cat("  design rows (tasks done):\n")
  show <- seq_len(min(n_rows, 20))
  width <- nchar(n_rows)
  for (i in show) {
    cat("  ", formatC(i, width = width), "  ", x$labels[[i]], "  (", done[[i]], "/",
        x$replicates, ")\n", sep = "")
  }
  if (n_rows > 20) cat("  ... and ", n_rows - 20, " more rows\n", sep = "")
  invisible(x)
}

#' The rate comparison of a study: rate_compare() of each design row's
#' replicates, stacked with the design's columns
#' @noRd
rate_compare_study <- function(study, column = NULL, tail = 0.5) {
  tasks <- study$tasks
  if (is.null(column)) {
    # As for a fit: the theorem's full-data column when every finished fit
    # has it, else the minibatch one (one column for the whole study).
    done <- Filter(Negate(is.null), study$fits)
    has_full <- vapply(done, function(f) {
      any(!is.na(f$trajectory[["full_grad_norm_sq"]]))
    }, logical(1))
    column <- if (length(done) && all(has_full)) "full_grad_norm_sq" else "grad_norm_sq"
  }
  described <- describe_design(study$design)
  parts <- list()
  for (r in seq_len(nrow(study$design))) {
    i <- which(tasks$row == r & !vapply(study$fits, is.null, logical(1)))
    if (!length(i)) next
    fits <- new_vae_fits(study$fits[i], parallel = FALSE, n_threads = 1L,
                         seconds = NA_real_)
    rate <- rate_compare(fits, column = column, tail = tail)
    d <- as.data.frame(rate)
    if (is.null(d[["replicate"]])) d$replicate <- 1L
    d$replicate <- tasks$replicate[i][d$replicate]
    k <- nrow(d)
    front <- avoid_names(described, names(d))
    parts[[length(parts) + 1]] <- cbind(
      data.frame(row = rep(r, k)),
      as.data.frame(front[rep(r, k), , drop = FALSE]),
      d[c("replicate", setdiff(names(d), "replicate"))]
    )
  }
  if (!length(parts)) {
    abort_input("{.arg fit} must be a study with at least one finished fit.",
                arg = "fit")
  }
  out <- do.call(rbind, parts)
  tibble::new_tibble(as.list(out), nrow = nrow(out), class = "vae_study_rate",
                     column = column, tail = tail, labels = study$labels,
                     design_columns = names(front))
}

#' @rdname vae_study-methods
#' @export
summary.vae_study_rate <- function(object, tail = NULL, level = 0.95, ...) {
  rlang::check_dots_empty()
  if (is.null(tail)) tail <- attr(object, "tail") %||% 0.5
  design_columns <- attr(object, "design_columns")
  labels <- attr(object, "labels")
  rows <- unique(object$row)
  out <- lapply(rows, function(r) {
    d <- object[object$row == r, , drop = FALSE]
    rate <- tibble::new_tibble(
      as.list(d[c("replicate", "n", "value", "running_mean", "reference", "ratio")]),
      nrow = nrow(d), class = "vae_rate", column = attr(object, "column"),
      tail = tail
    )
    s <- summary(rate, tail = tail, level = level)
    cbind(data.frame(row = r, label = labels[[r]]),
          as.data.frame(d[1, design_columns, drop = FALSE]), as.data.frame(s))
  })
  tibble::as_tibble(do.call(rbind, out))
}

#' @rdname vae_study-methods
#' @exportS3Method ggplot2::autoplot
autoplot.vae_study <- function(object, column = "grad_norm_sq", tail = 0.5, ...) {
  rlang::check_installed("ggplot2", reason = "to plot a study.")
  autoplot.vae_study_rate(rate_compare(object, column = column, tail = tail))
}

#' @rdname vae_study-methods
#' @exportS3Method ggplot2::autoplot
autoplot.vae_study_rate <- function(object, ...) {
  rlang::check_installed("ggplot2", reason = "to plot a study.")
  labels <- attr(object, "labels")
  d <- as.data.frame(object)
  d <- d[d$n > 1, , drop = FALSE]
  d$panel <- factor(labels[d$row], levels = unique(labels))
  runs <- data.frame(panel = d$panel, n = d$n, value = d$running_mean,
                     line = "running mean", group = paste("run", d$row, d$replicate))
  means <- stats::aggregate(d$running_mean, list(panel = d$panel, n = d$n), mean)
  means <- data.frame(panel = means$panel, n = means$n, value = means$x,
                      line = "mean over replicates", group = paste("mean", means$panel))
  ref <- d[!duplicated(d[c("row", "n")]), ]
  ref <- data.frame(panel = ref$panel, n = ref$n, value = ref$reference,
                    line = "C log(n) / sqrt(n)", group = paste("ref", ref$panel))
  curves <- rbind(runs, means, ref)
  column <- attr(object, "column") %||% "the squared gradient norm"
  ggplot2::ggplot(curves, ggplot2::aes(.data$n, .data$value, colour = .data$line,
                                       linetype = .data$line, group = .data$group)) +
    ggplot2::geom_line() +
    ggplot2::facet_wrap(~panel) +
    ggplot2::scale_x_log10() +
    ggplot2::scale_y_log10() +
    ggplot2::scale_colour_manual(values = c("running mean" = "grey60",
                                            "mean over replicates" = "black",
                                            "C log(n) / sqrt(n)" = "firebrick")) +
    ggplot2::scale_linetype_manual(values = c("running mean" = "solid",
                                              "mean over replicates" = "solid",
                                              "C log(n) / sqrt(n)" = "dashed")) +
    ggplot2::labs(x = "iteration n", y = paste("running mean of", column),
                  colour = NULL, linetype = NULL) +
    ggplot2::theme_minimal()
}

# The constant against B and K --------------------------------------------------

#' How a study's fitted constant depends on the batch size and K
#'
#' Regresses the log of the fitted constant \eqn{C} of
#' \eqn{C \log n / \sqrt n} (see [rate_compare()]) on \eqn{\log B} (the
#' batch size) and \eqn{\log K} (the draws per row of the objective: `K` of
#' [iwae()], 1 for [elbo()]) over the tasks of a study, by least squares.
#' The bound of Surendran, Godichon-Baggioni and Le Corff (2025) is
#' \eqn{O(L^* / \sqrt n + d^* \log n / (B K \sqrt n))}: where the noise term
#' dominates, the constant is proportional to \eqn{1 / (B K)}, a slope of
#' \eqn{-1} in each; where the first term dominates, the slopes are 0.
#'
#' Each finished task gives a point: its own constant, fitted over the tail
#' of its run as in [rate_compare()]; the replicates of a design row are
#' independent fits, so the spread between them enters the intervals, which
#' come from the regression (t intervals with `points - terms` degrees of
#' freedom). A term is left out when its variable does not vary over the
#' design. Rows whose objective grows K (a [k_schedule()]) have no single K
#' and are left out of a regression on K.
#'
#' @param study A `vae_study` from [fit_vae_study()].
#' @param column,tail As in [rate_compare()].
#' @param level The confidence level of the intervals.
#' @returns A tibble with a row per term (`"(Intercept)"`, `"log(B)"`,
#'   `"log(K)"`): `estimate`, `std_error`, `conf_low`, `conf_high`,
#'   `theory` (the slope the theorem's noise term predicts, -1, and `NA` for
#'   the intercept), `points` (tasks in the regression) and `rows` (design
#'   rows). The per-task constants are in its attribute `"constants"`.
#' @family studies
#' @family rates
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' design <- expand.grid(batch_size = c(8, 32),
#'                       objective = list(iwae(1), iwae(4)))
#' study <- fit_vae_study(x, design, model = gaussian_vae(2, hidden = 8),
#'                        iterations = 100, replicates = 2, seed = 1)
#' study_constants(study)
study_constants <- function(study, column = "grad_norm_sq", tail = 0.5,
                            level = 0.95) {
  check_study(study)
  tail <- check_tail(tail)
  level <- check_number(level, lower = 0, upper = 1, lower_open = TRUE,
                        upper_open = TRUE)
  rate <- rate_compare_study(study, column = column, tail = tail)
  keys <- unique(rate[c("row", "replicate")])
  constant <- vapply(seq_len(nrow(keys)), function(j) {
    d <- rate[rate$row == keys$row[[j]] & rate$replicate == keys$replicate[[j]], ]
    rate_constant(d$n, d$running_mean, rep(1L, nrow(d)), tail)
  }, double(1))
  rows <- design_rows(study$design)
  setting <- function(r, name) rows[[r]][[name]] %||% study$common[[name]]
  B <- vapply(keys$row, function(r) as.double(setting(r, "batch_size") %||% 64), double(1))
  K <- vapply(keys$row, function(r) {
    k <- setting(r, "objective")$K %||% 1
    if (is.numeric(k) && length(k) == 1) as.double(k) else NA_real_
  }, double(1))
  points <- data.frame(row = keys$row, replicate = keys$replicate, B = B, K = K,
                       constant = constant)
  use <- is.finite(log(points$constant)) & !is.na(points$B)
  terms <- c("log(B)", "log(K)")[c(length(unique(B[use])) > 1,
                                   length(unique(K[use & !is.na(K)])) > 1)]
  if ("log(K)" %in% terms) use <- use & !is.na(points$K)
  p <- points[use, , drop = FALSE]
  if (length(terms) == 0) {
    abort_input(
      "{.arg study} must vary the batch size or K over its design rows to regress the constant on them.",
      arg = "study"
    )
  }
  X <- cbind("(Intercept)" = 1, "log(B)" = log(p$B), "log(K)" = log(p$K))[, c("(Intercept)", terms), drop = FALSE]
  y <- log(p$constant)
  df <- nrow(X) - ncol(X)
  if (df < 1) {
    abort_input(
      "{.arg study} has {nrow(X)} finished task{?s} with a constant, too few to fit {ncol(X)} coefficient{?s} with an interval.",
      arg = "study"
    )
  }
  qr_x <- qr(X)
  beta <- qr.coef(qr_x, y)
  resid <- y - X %*% beta
  sigma2 <- sum(resid^2) / df
  se <- sqrt(diag(chol2inv(qr.R(qr_x))) * sigma2)
  half <- stats::qt(1 - (1 - level) / 2, df) * se
  out <- tibble::tibble(
    term = colnames(X), estimate = unname(beta), std_error = unname(se),
    conf_low = unname(beta - half), conf_high = unname(beta + half),
    theory = ifelse(colnames(X) == "(Intercept)", NA_real_, -1),
    points = nrow(X), rows = length(unique(p$row))
  )
  attr(out, "constants") <- tibble::as_tibble(points)
  out
}
