#' Fit a variational autoencoder
#'
#' Trains a VAE by stochastic optimisation on minibatches and records, at
#' every recorded iteration, the minibatch objective, the squared norm of the
#' stochastic gradient actually used (split into decoder and encoder parts),
#' the step size, the elapsed time and the relative change of the weights.
#'
#' @section Minibatches and random numbers:
#' Each epoch visits the rows of `x` in a random order, `batch_size` rows per
#' iteration (the last `nrow(x) %% batch_size` rows of an epoch's order are
#' left out of that epoch). Every random draw (initial weights, the order of
#' an epoch, the reparameterisation noise) is keyed by the seed, the iteration
#' and the index of the draw, and the minibatch is cut into chunks of a fixed
#' number of rows whose gradients are summed in chunk order. The same `seed`
#' therefore gives the same trajectory to the last bit for any `n_threads`.
#' The rows per chunk depend only on the model and the draws per row: about
#' \eqn{2^{16}}{2^16} values per layer and chunk, between 1 and 64 rows (64
#' for one draw per row up to width 1024, 13 for 50 importance samples at
#' width 100); `options(vaeconv.chunk_rows = n)` fixes them instead. Chunks
#' are what threads share, so a minibatch of one chunk runs on one thread.
#' While a fit runs, a multi-threaded BLAS (OpenBLAS or FlexiBLAS, found
#' among the loaded libraries; on Windows in `Rblas.dll` or an OpenBLAS DLL)
#' is kept to one thread, so no more threads run than `n_threads`; where the
#' BLAS cannot be found that way, set the environment variable
#' `OPENBLAS_NUM_THREADS=1` before R starts.
#' With `seed = NULL` the seed is one draw from R's generator, so
#' [set.seed()] reproduces the fit; R's random stream is not touched
#' otherwise.
#'
#' @section Memory:
#' `x` is never duplicated in R. A fit reads data of more than
#' \eqn{2^{21}}{2^21} values (16 MiB) in place; smaller data are copied,
#' for the duration of the fit, into an observation-major layout (at most
#' 16 MiB more), from which a minibatch's rows are read as contiguous runs.
#' Both give the same fit to the last bit.
#'
#' @section What the trajectory holds:
#' Iteration `n` (counted from 1) computes the gradient `g_n` of the minibatch
#' objective at the current parameters and then takes one step. Its row holds
#' the minibatch objective (nats per data point), its parts `reconstruction`
#' and `kl`, `grad_norm_sq` \eqn{= \|g_n\|^2} with its decoder (`theta`) and
#' encoder (`phi`) parts, the step size `lr` \eqn{= \gamma_n}, the `seconds`
#' spent training since the first iteration of the fit (continued fits go on
#' counting; the full-data evaluations are timed apart, in `eval_seconds`),
#' and `weight_change` \eqn{= \|w_n - w_0\| / \|w_0\|} after the
#' step. With `eval_every > 0`, every `eval_every` iterations also evaluate,
#' at the parameters the gradient was taken at, the objective on all of `x`
#' (`full_objective`) and the squared norm of its gradient
#' (`full_grad_norm_sq`, with its decoder and encoder parts), the
#' expectation over the latent variables taken with `eval_samples` Monte
#' Carlo draws per row; the theorem bounds the mean of this quantity over
#' iterations (see [trajectory()]). With `eval_samples >= 2`,
#' `full_grad_norm_sq_unbiased` estimates it without the upward bias of the
#' draws' variance. When `K` follows a
#' [k_schedule()], a column `K` after `iteration` gives the draws per row
#' each iteration used (and continued fits keep it, with the `K` of the
#' objective each part was fitted with).
#'
#' @section Stopping early:
#' If the objective or its gradient becomes non-finite, the fit stops before
#' taking that step, warns, and returns the fit up to the previous iteration
#' with `status = "diverged"`. An interrupt (Ctrl-C) or a time limit set with
#' [setTimeLimit()] stops the fit within about a tenth of a second, between
#' two iterations, with no thread left working, and returns it with
#' `status = "interrupted"` and a warning (the interrupt or the time limit's
#' error is caught: R prints no message of its own); `init = fit` continues
#' it as if it had never stopped. This holds whether or not the progress bar
#' is shown: every call the fit makes into R (the bar, the interrupt check)
#' is guarded, so an interrupt arriving while the bar is drawn is caught
#' the same way. An interrupt that reaches R after the iterations are done,
#' while the result is assembled, is ignored (the fit is returned); one that
#' comes before the first iteration stops the call as usual, with nothing
#' lost.
#'
#' @param x A numeric matrix or a data frame of numeric columns, one row per
#'   observation.
#' @param model A model specification: [gaussian_vae()] or [linear_vae()].
#' @param objective The objective to maximise: [elbo()] or [iwae()] (whose
#'   `K` may follow a [k_schedule()], evaluated at the iteration `n` of the
#'   whole fit).
#' @param optimizer The optimiser: [adam()], [sgd()], [adagrad()] or
#'   [rmsprop()].
#' @param batch_size Rows per minibatch, at most `nrow(x)`.
#' @param iterations Number of optimisation steps.
#' @param seed `NULL` or a whole number in \[0, 2147483647\]: the key of
#'   every random draw of the fit.
#' @param n_threads Threads for the minibatch computation. `NULL` takes
#'   `getOption("vaeconv.n_threads")`, else 2 capped by the available cores.
#'   The result does not depend on it.
#' @param record_every Record every `record_every`-th iteration in the
#'   trajectory.
#' @param eval_every Evaluate the full-data objective and gradient every
#'   `eval_every` iterations; 0 never does. Those iterations are always
#'   recorded.
#' @param eval_samples Monte Carlo draws per row in the full-data evaluation.
#' @param init `NULL`, or an earlier `vae_fit` to continue: its parameters,
#'   optimiser state, iteration counter (so the step-size schedule goes on)
#'   and random stream. When `init` is given, every setting of the fit that
#'   the call does not give is that of `init`: `model`, `objective`,
#'   `optimizer`, `batch_size`, `seed`, `record_every`, `eval_every` and
#'   `eval_samples` (`n_threads` and `progress`, which do not change the
#'   result, keep their defaults). A continued fit of `m` iterations after one
#'   of `n` is then identical to a fit of `n + m` iterations. The columns of
#'   `x` are matched to those of `init`'s data by name where both have names.
#'   A message says when `x` is not the data `init` was fitted on (the fit
#'   keeps the data's dimensions and a hash of its values) or when
#'   `optimizer` is not `init`'s.
#' @param progress Whether to show a progress bar (shown only for fits that
#'   last more than a couple of seconds): the iteration, the latest minibatch
#'   objective, the percentage done and the time left.
#' @returns An object of class `vae_fit`: a list holding the specifications,
#'   the fitted `state` (flat parameter vector `par`, initial parameters
#'   `par0`, optimiser moments, iteration counter), the `trajectory` (see
#'   [trajectory()]), the `status` (`"completed"`, `"diverged"` or
#'   `"interrupted"`), the `seed`, the settings (`batch_size`,
#'   `record_every`, `eval_every`, `eval_samples`), the data's dimensions and
#'   column names and `data_fingerprint` (its dimensions and
#'   [rlang::hash()] of its values; the data itself is not kept) and
#'   `latents`, the [latent_activity()] of the fitted model on the data (on
#'   at most 256 of its rows). Use [coef()] for the parameters as named
#'   matrices.
#' @family fitting
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 32),
#'                iterations = 200, seed = 1, n_threads = 1)
#' fit
#' trajectory(fit)
#'
#' # Continue for 100 more iterations: the same as 300 in one go.
#' fit2 <- fit_vae(x, init = fit, iterations = 100)
#' tail(trajectory(fit2), 3)
fit_vae <- function(x, model, objective = elbo(), optimizer = adam(),
                    batch_size = 64, iterations = 1000, seed = NULL,
                    n_threads = NULL, record_every = 1, eval_every = 0,
                    eval_samples = 1, init = NULL, progress = interactive()) {
  if (!is.null(init)) {
    # Here, where missing() tells what the caller gave.
    check_fit(init, arg = "init")
    if (missing(model)) model <- init$model
    if (missing(objective)) objective <- init$objective
    if (missing(optimizer)) optimizer <- init$optimizer
    if (missing(batch_size)) batch_size <- init$batch_size
    if (missing(seed)) seed <- init$seed
    # Fits made before these were stored keep the defaults.
    if (missing(record_every) && !is.null(init$record_every)) record_every <- init$record_every
    if (missing(eval_every) && !is.null(init$eval_every)) eval_every <- init$eval_every
    if (missing(eval_samples) && !is.null(init$eval_samples)) eval_samples <- init$eval_samples
  }
  args <- fit_setup(x, model, objective, optimizer, batch_size, iterations,
                    seed, n_threads, record_every, eval_every, eval_samples,
                    init, progress)
  if (is.null(args$seed)) args$seed <- draw_seed()
  control <- fit_control(args)
  call <- rlang::current_env()
  keep_result(
    cpp_fit(args$x, args$model, args$objective, args$optimizer, control, args$state),
    function(res) {
      fit <- new_vae_fit(args, res)
      warn_status(res$status, res$last_iteration, call = call)
      fit
    }
  )
}

#' Keep what compiled code made
#'
#' Evaluates `run` (a call into compiled code, which catches interrupts
#' itself) and returns `finish(result)`. An interrupt (Ctrl-C) that reaches
#' R after `run` has returned, while `finish()` works, is deferred (the
#' "resume" restart), so the result is not lost; one that comes before
#' `run` has returned goes on as usual.
#' @noRd
keep_result <- function(run, finish) {
  res <- NULL
  withCallingHandlers(
    {
      res <- run
      finish(res)
    },
    interrupt = function(cnd) {
      if (!is.null(res) && !is.null(findRestart("resume"))) invokeRestart("resume")
    }
  )
}

#' Signal again the stop a compiled loop caught
#'
#' Compiled diagnostics catch an interrupt (or a time limit's error) inside,
#' stop their threads and return `list(interrupted = TRUE, condition)`. Here,
#' back in R with no thread working, the time limit's error is raised again
#' and an interrupt signalled as R signals one, so that `tryCatch(interrupt
#' = )` sees it and, uncaught, it returns to the top level.
#' @noRd
signal_stop <- function(res) {
  if (!is.list(res) || !isTRUE(res$interrupted)) return(invisible(res))
  cnd <- res$condition
  if (inherits(cnd, "error")) stop(cnd)
  rlang::interrupt()
}

#' Validate the arguments of a fit
#'
#' Takes the arguments of [fit_vae()] (its formals, with the same defaults,
#' are set below) and returns them validated in a list, with `x` as a double
#' matrix, `n_threads` resolved and `state`, the state to continue from
#' (`NULL` for a new fit). `init` must be `NULL` or a `vae_fit`, and the
#' arguments that default to those of `init` must have been filled in by
#' the caller (missing() does not see through arguments passed on with
#' defaults). `seed` stays `NULL` when it was: the caller draws it. Errors
#' name `call`.
#' @noRd
fit_setup <- function() {
  check_required(model, call = call)
  check_model(model, call = call)
  check_objective(objective, call = call)
  check_optimizer(optimizer, call = call)
  x <- check_data(x, min_rows = 2, call = call)
  check_model_data(x, model, call = call)
  batch_size <- check_batch_size(batch_size, x, call = call)
  iterations <- check_whole(iterations, call = call)
  seed <- check_seed(seed, call = call)
  n_threads <- resolve_threads(check_n_threads(n_threads, call = call))
  record_every <- check_whole(record_every, call = call)
  eval_every <- check_whole(eval_every, min = 0, call = call)
  eval_samples <- check_whole(eval_samples, call = call)
  progress <- check_flag(progress, call = call)
  check_combination(model, objective, call = call)
  state <- NULL
  if (!is.null(init)) {
    x <- check_continuation(init, model, x, call = call)
    state <- init$state
  }
  fingerprint <- data_fingerprint(x)
  if (!is.null(init)) inform_continuation(init, x, fingerprint, optimizer)
  list(
    x = x, model = model, objective = objective, optimizer = optimizer,
    batch_size = batch_size, iterations = iterations, seed = seed,
    n_threads = n_threads, record_every = record_every,
    eval_every = eval_every, eval_samples = eval_samples, init = init,
    state = state, progress = progress, fingerprint = fingerprint
  )
}
# The same arguments and defaults as fit_vae(), and the call to blame.
formals(fit_setup) <- c(formals(fit_vae), alist(call = rlang::caller_env()))

#' The control list of cpp_fit() from validated arguments
#' @noRd
fit_control <- function(args) {
  list(
    batch_size = args$batch_size, iterations = args$iterations,
    seed = args$seed, n_threads = args$n_threads,
    record_every = args$record_every, eval_every = args$eval_every,
    eval_samples = args$eval_samples, chunk_rows = chunk_rows(),
    progress = args$progress,
    loglik_optimum = loglik_optimum(args$x, args$model, args$eval_every)
  )
}

#' A vae_fit from validated arguments and what cpp_fit() returned
#' @noRd
new_vae_fit <- function(args, res) {
  traj <- as_trajectory(res$trajectory)
  if (inherits(args$objective$K, "vae_k_schedule")) traj <- with_K(traj, args$objective)
  if (!is.null(args$init)) {
    before <- args$init$trajectory
    # A K column in either part: the other gets its own objective's K.
    if ("K" %in% names(traj)) before <- with_K(before, args$init$objective)
    if ("K" %in% names(before)) traj <- with_K(traj, args$objective)
    traj <- stack_trajectories(before, traj)
  }
  x <- args$x
  structure(
    list(
      model = args$model, objective = args$objective,
      optimizer = args$optimizer, state = res$state, trajectory = traj,
      status = res$status, seed = args$seed, batch_size = args$batch_size,
      n_obs = nrow(x), n_features = ncol(x), feature_names = colnames(x),
      record_every = args$record_every, eval_every = args$eval_every,
      eval_samples = args$eval_samples, data_fingerprint = args$fingerprint,
      latents = fit_latents(args$model, res$state$par, x)
    ),
    class = "vae_fit"
  )
}

#' The trajectory list from C++ as a tibble
#' @noRd
as_trajectory <- function(cols) {
  cols$iteration <- as.integer(cols$iteration)
  # The core marks what is not available (no full-data evaluation, no
  # reconstruction/KL parts under IWAE) with NaN.
  cols[-1] <- lapply(cols[-1], nan_to_na)
  tibble::new_tibble(cols, nrow = length(cols$iteration))
}

#' NaN, the core's mark of what is not available, as NA
#' @noRd
nan_to_na <- function(v) replace(v, is.nan(v), NA_real_)

#' A trajectory with the column K (draws per row at each iteration) after
#' `iteration`, computed from the objective, unless it has one already
#' @noRd
with_K <- function(traj, objective) {
  if ("K" %in% names(traj)) return(traj)
  tibble::add_column(traj, K = objective_K(objective, traj$iteration), .after = "iteration")
}

#' Stack two trajectories, in the columns of the second; a column the first
#' lacks (a fit made by an earlier version) is `NA` in its rows
#' @noRd
stack_trajectories <- function(a, b) {
  a <- as.data.frame(a)
  for (col in setdiff(names(b), names(a))) a[[col]] <- rep(NA_real_, nrow(a))
  tibble::as_tibble(rbind(a[names(b)], as.data.frame(b)))
}

#' Check a batch size: a positive whole number at most the rows of x
#' @returns `batch_size` as an integer.
#' @noRd
check_batch_size <- function(batch_size, x, call = rlang::caller_env()) {
  batch_size <- check_whole(batch_size, call = call)
  if (batch_size > nrow(x)) {
    abort_input(
      "{.arg batch_size} must be at most the number of rows of {.arg x} ({nrow(x)}), not {batch_size}.",
      arg = "batch_size", call = call
    )
  }
  batch_size
}

#' Draw a seed from R's generator: exactly one uniform draw
#' @noRd
draw_seed <- function(n = 1L) {
  as.integer(floor(stats::runif(n) * 2147483647))
}

#' Rows per chunk of the minibatch: fixed, never tied to the thread count
#' @noRd
chunk_rows <- function() {
  rows <- getOption("vaeconv.chunk_rows")
  if (is.null(rows)) return(0L)  # the core chooses
  check_whole(rows, arg = "vaeconv.chunk_rows")
}

#' The number of threads a fit uses
#' @noRd
resolve_threads <- function(n_threads) {
  if (is.null(n_threads)) {
    n_threads <- getOption("vaeconv.n_threads")
    if (!is.null(n_threads)) {
      n_threads <- check_n_threads(n_threads, arg = "vaeconv.n_threads")
    }
  }
  if (is.null(n_threads)) {
    cores <- parallel::detectCores()
    n_threads <- if (is.na(cores)) 1L else min(2L, as.integer(cores))
  }
  n_threads
}

#' Check that model and objective fit together
#' @noRd
check_combination <- function(model, objective, call = rlang::caller_env()) {
  if (isTRUE(objective$exact) && !inherits(model, "vae_linear")) {
    abort_input(
      c("{.code elbo(exact = TRUE)} needs a linear VAE.",
        i = "The expectation over q has a closed form only for {.fn linear_vae}."),
      arg = "objective", call = call
    )
  }
  invisible()
}

#' Check an object is a vae_fit
#' @noRd
check_fit <- function(fit, arg = rlang::caller_arg(fit), call = rlang::caller_env()) {
  check_spec(fit, "vae_fit", what = "a fit made by `fit_vae()`", arg = arg,
             call = call)
}

#' Check that `init` can be continued with this model and data
#' @returns `x`, its columns matched to those of `init`'s data (by name where
#'   both have names).
#' @noRd
check_continuation <- function(init, model, x, call = rlang::caller_env()) {
  if (!identical(unclass(init$model), unclass(model)) ||
      !identical(class(init$model), class(model))) {
    abort_input(
      "{.arg model} must be the model of {.arg init} to continue it.",
      arg = "model", call = call
    )
  }
  match_columns(x, init$feature_names, init$n_features, arg = "x", call = call,
                reason = "as the data `init` was fitted on",
                what = "the data `init` was fitted on")
}

#' A small fingerprint of a data matrix: its dimensions and a hash
#' @noRd
data_fingerprint <- function(x) {
  list(n_obs = nrow(x), n_features = ncol(x), hash = rlang::hash(x))
}

#' Say when a continuation changes the data or the optimiser
#' @noRd
inform_continuation <- function(init, x, fingerprint, optimizer) {
  before <- init$data_fingerprint
  if (!is.null(before) && !identical(before, fingerprint)) {
    what <- if (before$n_obs != fingerprint$n_obs) {
      sprintf("%d rows, not %d", fingerprint$n_obs, before$n_obs)
    } else {
      "the same dimensions, other values"
    }
    cli::cli_inform(
      c("!" = "{.arg x} is not the data {.arg init} was fitted on ({what}).",
        i = "The fit continues on {.arg x}."),
      class = c("vaeconv_message_continuation", "vaeconv_message")
    )
  }
  if (!identical(unclass(init$optimizer), unclass(optimizer))) {
    cli::cli_inform(
      c("!" = "{.arg optimizer} is not the optimiser of {.arg init}: {describe_optimizer(optimizer)}, not {describe_optimizer(init$optimizer)}.",
        i = "The optimiser's state (its moments) carries over."),
      class = c("vaeconv_message_continuation", "vaeconv_message")
    )
  }
  invisible()
}

#' Warn when a fit stopped early
#' @noRd
warn_status <- function(status, last_iteration, call = rlang::caller_env()) {
  if (status == "diverged") {
    cli::cli_warn(
      c("The objective or its gradient became non-finite at iteration {last_iteration}; the fit stopped before that step.",
        i = "The fit holds the parameters and trajectory up to iteration {last_iteration - 1}.",
        i = "Try a smaller step size ({.arg lr}), a faster decay, or bound the parameters ({.arg bound})."),
      class = c("vaeconv_warning_diverged", "vaeconv_warning"), call = call
    )
  } else if (status == "interrupted") {
    cli::cli_warn(
      c("The fit was interrupted after iteration {last_iteration}.",
        i = "It holds the parameters and trajectory up to that point; pass it as {.arg init} to continue."),
      class = c("vaeconv_warning_interrupted", "vaeconv_warning"), call = call
    )
  }
  invisible()
}

#' The progress bar of compiled loops
#'
#' Called from compiled code (src/progress.cpp), inside its guard against
#' jumps: each call runs with interrupts suspended, so that an interrupt
#' never unwinds cli's own code half-way (which leaves cli's state broken);
#' one that arrives meanwhile is taken by the guard's interrupt check just
#' after. `progress_bar_start()` returns the bar's id.
#' @noRd
progress_bar_start <- function(total, name, format) {
  suspendInterrupts(cli::cli_progress_bar(
    name = name, total = total, format = format, status = "starting",
    auto_terminate = FALSE, .auto_close = FALSE, .envir = globalenv()
  ))
}

#' @rdname progress_bar_start
#' @noRd
progress_bar_set <- function(id, done, status) {
  suspendInterrupts(cli::cli_progress_update(
    set = done, status = status, id = id, .envir = globalenv()
  ))
}

#' @rdname progress_bar_start
#' @noRd
progress_bar_done <- function(id) {
  suspendInterrupts(cli::cli_progress_done(id = id, .envir = globalenv()))
}
