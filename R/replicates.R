#' Fit the same VAE over several seeds
#'
#' Runs [fit_vae()] once per seed with the same data, model, objective,
#' optimiser and settings, so that the spread of the trajectories over the
#' random draws (initial weights, minibatches, reparameterisation noise) can
#' be studied, for example with [rate_compare()].
#'
#' @section Seeds:
#' With `seeds = NULL`, the seeds are drawn from R's generator, one uniform
#' draw per replicate exactly as [fit_vae()] draws its seed: [set.seed()]
#' therefore reproduces the replicates, and R's random stream is not touched
#' otherwise. Replicate `i` is identical to
#' `fit_vae(x, ..., seed = seeds[i])` whatever `parallel` and `n_threads` are
#' (apart from the timing columns `seconds`).
#'
#' @section Parallel replicates:
#' With `parallel = TRUE`, up to `n_threads` replicates run at the same time,
#' each on a single thread. For small models this is faster than running the
#' replicates one after another with `n_threads` threads inside each
#' minibatch (`parallel = FALSE`): a minibatch of a small model holds too
#' little work to share among threads. The results are identical either way,
#' since a fit never depends on its thread count.
#'
#' @section Stopping early:
#' An interrupt (Ctrl-C) or a time limit set with [setTimeLimit()] stops
#' every running replicate between two iterations, within about a tenth of
#' a second; every worker thread has returned before the function does. The
#' result then holds the replicates that had started (completed ones, and
#' the interrupted ones with `status = "interrupted"`, each usable as
#' `init` of [fit_vae()]), and warns. With `parallel = FALSE` the replicates
#' after the interrupted one are not started; an interrupt that reaches R
#' between two replicates stops there, keeping those done. As for
#' [fit_vae()], this holds whether or not the progress bar is shown.
#'
#' @param x A numeric matrix or a data frame of numeric columns, one row per
#'   observation.
#' @param ... Further arguments of [fit_vae()], by name apart from `model`:
#'   `model`, `objective`, `optimizer`, `batch_size`, `iterations`,
#'   `record_every`, `eval_every`, `eval_samples`. Not `seed` (see `seeds`)
#'   nor `init`.
#' @param replicates The number of fits.
#' @param seeds `NULL`, or a vector of distinct whole numbers in
#'   \[0, 2147483647\], one seed per replicate; `replicates` defaults to its
#'   length.
#' @param parallel Whether to run the replicates concurrently, each on one
#'   thread (`TRUE`), or one after another, each with `n_threads` threads in
#'   its minibatch computation (`FALSE`).
#' @param n_threads Threads to use: with `parallel = TRUE`, the number of
#'   replicates run at once (at most `replicates`), otherwise the threads of
#'   each fit's minibatch computation. `NULL` takes
#'   `getOption("vaeconv.n_threads")`, else 2 capped by the available cores.
#'   The results do not depend on it.
#' @param progress Whether to show a progress bar: with `parallel = TRUE`,
#'   one bar for all the iterations of all the replicates, with how many
#'   replicates are done; otherwise one bar per replicate ("Replicate i/R")
#'   as in [fit_vae()].
#' @returns An object of class `vae_fits`: a list of `vae_fit` objects (see
#'   [fit_vae()]), one per replicate, with attributes `parallel`,
#'   `n_threads` and `seconds` (the wall-clock time of all the fits).
#'   [trajectory()] stacks their trajectories with an integer `replicate`
#'   column first; `print()`, `summary()` (a row per replicate) and
#'   `autoplot()` describe them. `fits[[i]]` is replicate `i` and `fits[i]`
#'   a `vae_fits` of the replicates chosen.
#' @family fitting
#' @seealso [rate_compare()] to set the replicates' convergence beside
#'   \eqn{\log n / \sqrt n}.
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fits <- fit_vae_replicates(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                            iterations = 100, replicates = 3, seeds = 1:3,
#'                            n_threads = 1)
#' fits
#' summary(fits)
#' trajectory(fits)
#'
#' # The second replicate is the fit with seed 2.
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 100, seed = 2, n_threads = 1)
#' all.equal(coef(fit), coef(fits[[2]]))
fit_vae_replicates <- function(x, ..., replicates = 10, seeds = NULL,
                               parallel = TRUE, n_threads = NULL,
                               progress = interactive()) {
  check_replicate_dots(...names())
  seeds <- check_seeds(seeds)
  if (!is.null(seeds) && missing(replicates)) {
    replicates <- length(seeds)
  }
  replicates <- check_whole(replicates)
  if (!is.null(seeds) && length(seeds) != replicates) {
    abort_input(
      "{.arg seeds} must have {replicates} element{?s} (one per replicate), not {length(seeds)}.",
      arg = "seeds"
    )
  }
  parallel <- check_flag(parallel)
  args <- fit_setup(x, ..., seed = NULL, n_threads = n_threads,
                    progress = progress, init = NULL,
                    call = rlang::current_env())
  if (is.null(seeds)) seeds <- draw_seed(replicates)

  # The compiled code catches an interrupt while fits run. One that reaches R
  # once a fit has been made (between two fits, or while the result is
  # assembled) is deferred: it stops the loop there and the fits made are
  # returned. One that comes before goes on as usual.
  results <- NULL
  stopped <- FALSE
  withCallingHandlers(
    {
      start <- proc.time()[["elapsed"]]
      if (parallel) {
        control <- fit_control(args)
        control$seed <- NULL
        results <- cpp_fit_replicates(args$x, args$model, args$objective,
                                      args$optimizer, control, as.double(seeds))
      } else {
        for (i in seq_len(replicates)) {
          if (stopped) break
          args$seed <- seeds[[i]]
          control <- fit_control(args)
          control$progress_name <- sprintf("Replicate %d/%d", i, replicates)
          results[[i]] <- cpp_fit(args$x, args$model, args$objective,
                                  args$optimizer, control, NULL)
          if (results[[i]]$status == "interrupted") break
        }
      }
      seconds <- proc.time()[["elapsed"]] - start
      started <- !vapply(results, is.null, logical(1))
      fits <- lapply(which(started), function(i) {
        args$seed <- seeds[[i]]
        new_vae_fit(args, results[[i]])
      })
      fits <- new_vae_fits(fits, parallel = parallel, n_threads = args$n_threads,
                           seconds = seconds)
      warn_replicates(fits, replicates)
    },
    interrupt = function(cnd) {
      if (!is.null(results) && !is.null(findRestart("resume"))) {
        stopped <<- TRUE
        invokeRestart("resume")
      }
    }
  )
  fits
}

#' A vae_fits from a list of vae_fit
#' @noRd
new_vae_fits <- function(fits, parallel, n_threads, seconds) {
  structure(fits, class = "vae_fits", parallel = parallel,
            n_threads = n_threads, seconds = seconds)
}

#' Check the names of the arguments passed on to fit_vae()
#' @noRd
check_replicate_dots <- function(names, call = rlang::caller_env()) {
  names <- names[!is.na(names) & names != ""]
  if ("seed" %in% names) {
    abort_input(
      c("{.arg seed} is not an argument of {.fn fit_vae_replicates}.",
        i = "Give one seed per replicate with {.arg seeds}."),
      arg = "seed", call = call
    )
  }
  if ("init" %in% names) {
    abort_input(
      c("{.arg init} is not an argument of {.fn fit_vae_replicates}.",
        i = "Continue the fits one by one with {.code fit_vae(x, init = fits[[i]])}."),
      arg = "init", call = call
    )
  }
  allowed <- setdiff(names(formals(fit_vae)),
                     c("x", "seed", "init", "n_threads", "progress"))
  unknown <- setdiff(names, allowed)
  if (length(unknown)) {
    abort_input(
      c("Arguments in {.arg ...} must be arguments of {.fn fit_vae}.",
        x = "{.arg {unknown[[1]]}} is not.",
        i = "They are {.arg {allowed}}."),
      arg = "...", call = call
    )
  }
  invisible()
}

#' Check seeds: `NULL` or distinct whole numbers in [0, 2^31 - 1]
#' @returns `NULL` or an integer vector.
#' @noRd
check_seeds <- function(x, arg = rlang::caller_arg(x),
                        call = rlang::caller_env()) {
  force(arg) # before `x` is replaced by its integer version
  if (is.null(x)) {
    return(NULL)
  }
  what <- "`NULL` or a vector of distinct whole numbers between 0 and 2147483647"
  if (is.numeric(x) && !is.object(x) && length(x) == 0) {
    abort_input("{.arg {arg}} must be {what}, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  x <- check_whole_vector(x, arg = arg, min = 0, what = what, call = call)
  if (anyDuplicated(x)) {
    i <- anyDuplicated(x)
    abort_input(
      c("{.arg {arg}} must be {what}.",
        x = "Element {i} repeats seed {x[[i]]}."),
      arg = arg, call = call
    )
  }
  x
}

#' Warn when replicates stopped early
#' @noRd
warn_replicates <- function(fits, replicates, call = rlang::caller_env()) {
  status <- vapply(fits, function(f) f$status, character(1))
  diverged <- which(status == "diverged")
  if (length(diverged)) {
    one <- length(diverged) == 1
    which_ones <- paste(if (one) "replicate" else "replicates",
                        paste(diverged, collapse = ", "))
    cli::cli_warn(
      c("The objective or its gradient became non-finite in {which_ones}; {if (one) 'it' else 'each'} stopped before that step.",
        i = "{if (one) 'It holds its' else 'They hold their'} parameters and trajectory up to then.",
        i = "Try a smaller step size ({.arg lr}), a faster decay, or bound the parameters ({.arg bound})."),
      class = c("vaeconv_warning_diverged", "vaeconv_warning"), call = call
    )
  }
  if (any(status == "interrupted") || length(fits) < replicates) {
    cli::cli_warn(
      c("The fits were interrupted: {length(fits)} of {replicates} replicate{?s} started and {sum(status == 'completed')} completed.",
        i = "The result holds the replicates that started, the interrupted ones with {.code status = \"interrupted\"}."),
      class = c("vaeconv_warning_interrupted", "vaeconv_warning"), call = call
    )
  }
  invisible()
}

# Methods ----------------------------------------------------------------------

#' @rdname trajectory
#' @export
trajectory.vae_fits <- function(fit, ...) {
  trs <- lapply(fit, trajectory)
  rows <- vapply(trs, nrow, integer(1))
  stacked <- do.call(rbind, lapply(trs, as.data.frame))
  tibble::as_tibble(cbind(
    data.frame(replicate = rep(seq_along(trs), rows)),
    stacked
  ))
}

#' @rdname vae_fits-methods
#' @param row.names,optional Unused, for compatibility with the generic.
#' @export
as.data.frame.vae_fits <- function(x, row.names = NULL, optional = FALSE, ...) {
  as.data.frame(trajectory(x))
}

#' @rdname vae_fits-methods
#' @exportS3Method tibble::as_tibble
as_tibble.vae_fits <- function(x, ...) {
  trajectory(x)
}

#' @export
`[.vae_fits` <- function(x, i) {
  new_vae_fits(unclass(x)[i], parallel = attr(x, "parallel"),
               n_threads = attr(x, "n_threads"), seconds = attr(x, "seconds"))
}

#' Print, summarise and plot replicated fits
#'
#' `print()` shows what was fitted, the replicates' statuses and seeds, and
#' the spread of their last recorded values; `summary()` returns the
#' one-row summary of each fit (see [summary.vae_fit()]) with its
#' `replicate` number and `seed`; `autoplot()` draws the trajectories of all
#' the replicates, one line each; `as.data.frame()` and `as_tibble()` give
#' the stacked trajectory (see [trajectory()]).
#'
#' @param x,object A `vae_fits` from [fit_vae_replicates()].
#' @param ... Unused.
#' @returns `print()` returns `x` invisibly; `summary()` a tibble with a row
#'   per replicate; `autoplot()` a ggplot; `as.data.frame()` a data frame and
#'   `as_tibble()` a tibble.
#' @family fitting
#' @name vae_fits-methods
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fits <- fit_vae_replicates(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                            iterations = 100, replicates = 3, seeds = 1:3,
#'                            n_threads = 1)
#' print(fits)
#' summary(fits)
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(fits)
NULL

#' @rdname vae_fits-methods
#' @export
summary.vae_fits <- function(object, ...) {
  rows <- lapply(object, summary)
  out <- do.call(rbind, lapply(rows, as.data.frame))
  tibble::as_tibble(cbind(
    data.frame(replicate = seq_along(object),
               seed = vapply(object, function(f) f$seed, integer(1))),
    out
  ))
}

#' @rdname vae_fits-methods
#' @export
print.vae_fits <- function(x, ...) {
  k <- length(x)
  cat("<vae_fits> ", k, " replicate", if (k == 1) "" else "s", "\n", sep = "")
  if (k == 0) {
    return(invisible(x))
  }
  first <- x[[1]]
  s <- summary(x)
  mean_sd <- function(v) {
    v <- v[!is.na(v)]
    if (length(v) == 0) return("none")
    out <- format_num(signif(mean(v), 6))
    if (length(v) > 1) out <- paste0(out, " (sd ", format_num(signif(stats::sd(v), 3)), ")")
    out
  }
  counts <- table(factor(s$status, c("completed", "diverged", "interrupted")))
  counts <- counts[counts > 0]
  cat("  model:      ", describe_model(first$model), "\n", sep = "")
  cat("  data:       ", first$n_obs, " rows x ", first$n_features, " columns\n", sep = "")
  cat("  objective:  ", describe_objective(first$objective), "\n", sep = "")
  cat("  optimizer:  ", describe_optimizer(first$optimizer), ", batch size ",
      first$batch_size, "\n", sep = "")
  cat("  status:     ", paste(counts, names(counts), collapse = ", "), " after ",
      paste(unique(s$iterations), collapse = "/"), " iterations (",
      format_num(signif(attr(x, "seconds"), 3)), " s on ", attr(x, "n_threads"),
      " thread", if (identical(attr(x, "n_threads"), 1L)) "" else "s",
      if (isTRUE(attr(x, "parallel"))) ", replicates in parallel" else "",
      ")\n", sep = "")
  seeds <- s$seed
  cat("  seeds:      ", paste(utils::head(seeds, 6), collapse = ", "),
      if (length(seeds) > 6) ", ..." else "", "\n", sep = "")
  cat("  objective:  ", mean_sd(s$objective),
      " nats per point (mean over replicates of the minibatch mean over the last tenth)\n",
      sep = "")
  if (any(!is.na(s$full_objective))) {
    cat("  full data:  ", mean_sd(s$full_objective), " nats per point\n", sep = "")
  }
  cat("  |grad|^2:   ", mean_sd(s$grad_norm_sq), "\n", sep = "")
  invisible(x)
}

#' @rdname vae_fits-methods
#' @exportS3Method ggplot2::autoplot
autoplot.vae_fits <- function(object, ...) {
  rlang::check_installed("ggplot2", reason = "to plot fits.")
  plot_trajectory(trajectory(object))
}
