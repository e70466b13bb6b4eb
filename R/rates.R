#' The reference rate log(n) / sqrt(n)
#'
#' The rate of the bound of Surendran, Godichon-Baggioni and Le Corff (2025)
#' on the expected squared gradient norm of a VAE trained by SGD or Adam with
#' step sizes proportional to \eqn{n^{-1/2}}. Its local log-log slope,
#' \eqn{d \log(\log n / \sqrt n) / d \log n = -1/2 + 1 / \log n}, approaches
#' \eqn{-1/2} only slowly: it is \eqn{-0.355} at \eqn{n = 1000} and
#' \eqn{-0.428} at \eqn{n = 10^6}.
#'
#' @param n A vector of finite numbers, each at least 1 (iterations).
#' @returns A double vector of \eqn{\log(n) / \sqrt{n}}, 0 at `n = 1`.
#' @family rates
#' @export
#' @examples
#' rate_reference(c(1, 10, 100, 1000))
rate_reference <- function(n) {
  n <- check_number_vector(n, lower = 1,
                           what = "a vector of finite numbers at least 1")
  log(n) / sqrt(n)
}

#' Set a fit's convergence beside log(n) / sqrt(n)
#'
#' Computes, along the iterations of a fit (or of replicated fits), the
#' running mean of a squared gradient norm, the estimate of the quantity the
#' convergence theorem of Surendran, Godichon-Baggioni and Le Corff (2025)
#' bounds, and sets it beside the reference rate \eqn{C \log(n) / \sqrt n}
#' with a fitted constant \eqn{C}.
#'
#' @section What is estimated, and what the theorem bounds:
#' For SGD and Adam with step sizes \eqn{\gamma_n \propto n^{-1/2}} (`decay =
#' 0.5` in [sgd()] and [adam()]), and under smoothness and boundedness
#' assumptions on the model, the theorem bounds
#' \deqn{E \|\nabla L(\theta_R, \phi_R)\|^2 = O(\log n / \sqrt n),}
#' the squared norm of the gradient of the objective \eqn{L} on all the data,
#' at the parameters of an iteration \eqn{R} drawn uniformly among the first
#' \eqn{n}. Its expectation over \eqn{R} is the mean of
#' \eqn{E \|\nabla L(\theta_k, \phi_k)\|^2} over \eqn{k \le n}, so the
#' running mean of a column of squared norms over the iterations estimates
#' it. The row of iteration \eqn{n} holds the gradient taken before step
#' \eqn{n}, at \eqn{(\theta_{n-1}, \phi_{n-1})}.
#'
#' * `column = "full_grad_norm_sq"` (recorded every `eval_every`
#'   iterations of [fit_vae()]) is the squared norm of the gradient on all
#'   the data, the expectation over the latent variables taken with
#'   `eval_samples` draws per row: the quantity the theorem bounds, up to
#'   the Monte Carlo noise of those draws, whose contribution to the mean of
#'   the squared norm is of order \eqn{1 / (N S)} for \eqn{N} rows and
#'   \eqn{S} = `eval_samples`. Its running mean is the estimate to set beside the
#'   theorem. The rows where it is `NA` (iterations without an evaluation)
#'   are skipped, so the mean is over the evaluated iterations, which are
#'   evenly spaced.
#' * `column = "grad_norm_sq"` (every recorded iteration) is the squared
#'   norm of the stochastic gradient actually used, on a minibatch of \eqn{B}
#'   rows with one draw of the latent variables per row. Its expectation is
#'   \eqn{\|\nabla L\|^2} plus the trace of the gradient estimator's
#'   covariance, of order \eqn{1 / B}: a variance floor that does not vanish
#'   as the parameters converge. Its running mean therefore levels off at
#'   that floor and its log-log slope drifts towards 0. It is recorded at
#'   no cost and its expectation exceeds the theorem's quantity, but it is
#'   not what the theorem bounds. The parts `grad_norm_sq_theta` (decoder) and
#'   `grad_norm_sq_phi` (encoder) behave alike.
#'
#' The theorem gives an upper bound, not a rate that must be attained: a run
#' whose squared norms fall like \eqn{n^{-1/2}} satisfies it, with a
#' running mean of log-log slope \eqn{-1/2}; one whose running mean follows
#' \eqn{\log n / \sqrt n} exactly has local slope \eqn{-1/2 + 1/\log n}
#' (\eqn{-0.355} at \eqn{n = 1000}), not \eqn{-1/2}. [summary.vae_rate()]
#' reports both that reference slope and the slope of the ratio.
#'
#' @section The fitted constant:
#' \eqn{C} is fitted by least squares on the log scale over the tail of the
#' run: \eqn{\log C} is the mean of `log(running_mean)` minus
#' \eqn{\log(\log n / \sqrt n)} over the rows with \eqn{n} beyond the first
#' `1 - tail` of each replicate's iterations (and \eqn{n > 1}, where the
#' reference is positive), pooled over replicates, so all replicates share
#' one reference curve.
#'
#' @section Diverged fits:
#' A fit that diverged has no rate of convergence: its trajectory stops at
#' the iteration before the non-finite one, and the slope of its running
#' mean over what is left says nothing about the theorem. `rate_compare()`
#' therefore leaves out the replicates with `status = "diverged"` (and
#' refuses a single diverged fit), with a warning naming them; how many
#' diverged is itself a result worth reporting beside the rate. To keep them
#' anyway, pass `trajectory(fit)`.
#'
#' @param fit A `vae_fit` from [fit_vae()], a `vae_fits` from
#'   [fit_vae_replicates()], or a trajectory data frame (see [trajectory()])
#'   with an `iteration` column, the column named by `column` and,
#'   optionally, a `replicate` column. A `vae_study` from
#'   [fit_vae_study()] gives a `vae_study_rate`: the comparison of each
#'   design row's replicates, stacked with the design's columns (see
#'   [vae_study-methods]).
#' @param column The column of squared norms. `NULL` (the default) takes
#'   `"full_grad_norm_sq"`, the theorem's quantity, when the trajectory has
#'   it (a fit with `eval_every > 0`), else `"grad_norm_sq"`. For a fit, any
#'   of its columns of squared gradient norms with values (`"grad_norm_sq"`,
#'   `"grad_norm_sq_theta"`, `"grad_norm_sq_phi"`, `"full_grad_norm_sq"`,
#'   `"full_grad_norm_sq_theta"`, `"full_grad_norm_sq_phi"`, and
#'   `"full_grad_norm_sq_unbiased"` when none of its values is negative);
#'   for a data frame, any column of non-negative numbers.
#' @param tail The fraction of the iterations, at the end of the run, over
#'   which the constant is fitted: a number in (0, 1].
#' @param ... Unused; must be empty.
#' @returns An object of class `vae_rate`: a tibble with a row per recorded
#'   value of the column (per replicate) and the columns
#'   * `replicate` (for replicated fits or data with a `replicate` column),
#'   * `n`: the iteration,
#'   * `value`: the column's value at iteration `n`,
#'   * `running_mean`: the mean of the column's values at iterations up to
#'     `n`, the estimate of \eqn{E \|\nabla L(\theta_R, \phi_R)\|^2} with
#'     \eqn{R} uniform on the iterations so far,
#'   * `reference`: \eqn{C \log(n) / \sqrt n} (0 at `n = 1`),
#'   * `ratio`: `running_mean / reference`, roughly constant when the
#'     running mean follows the reference (infinite at `n = 1`).
#'
#'   Its attributes `column`, `tail` and `constant` record how it was made.
#'   [summary.vae_rate()] gives the log-log slope with a confidence interval
#'   and `autoplot()` draws the curves.
#' @references Surendran, S., Godichon-Baggioni, A. and Le Corff, S. (2025).
#'   Theoretical convergence guarantees for variational autoencoders.
#'   *AISTATS*.
#' @family rates
#' @importFrom rlang %||%
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fits <- fit_vae_replicates(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                            optimizer = adam(lr = 0.01, decay = 0.5),
#'                            iterations = 200, eval_every = 10,
#'                            replicates = 2, seeds = 1:2, n_threads = 1)
#' rate <- rate_compare(fits, "full_grad_norm_sq")
#' rate
#' summary(rate)
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(rate)
rate_compare <- function(fit, column = NULL, tail = 0.5, ...) {
  rlang::check_dots_empty()
  if (inherits(fit, "vae_study")) {
    return(rate_compare_study(fit, column = column, tail = tail))
  }
  tr <- rate_source(fit)
  column <- check_rate_column(tr, column)
  tail <- check_tail(tail)

  value <- tr[[column]]
  keep <- !is.na(value)
  replicate <- if (is.null(tr[["replicate"]])) NULL else tr[["replicate"]][keep]
  group <- if (is.null(replicate)) rep(1L, sum(keep)) else match(replicate, unique(replicate))
  n <- tr[["iteration"]][keep]
  value <- value[keep]
  o <- order(group, n)
  group <- group[o]
  n <- n[o]
  value <- value[o]
  dup <- duplicated(cbind(group, n))
  if (any(dup)) {
    abort_input(
      c("{.arg fit} must have one row per iteration{if (is.null(replicate)) '' else ' and replicate'}.",
        x = "Iteration {n[dup][[1]]} appears more than once."),
      arg = "fit"
    )
  }
  running_mean <- stats::ave(value, group, FUN = cumsum) /
    stats::ave(value, group, FUN = seq_along)
  constant <- rate_constant(n, running_mean, group, tail)
  reference <- constant * rate_reference(n)

  cols <- list(n = as.integer(n), value = value, running_mean = running_mean,
               reference = reference, ratio = running_mean / reference)
  if (!is.null(replicate)) cols <- c(list(replicate = replicate[o]), cols)
  tibble::new_tibble(cols, nrow = length(n), class = "vae_rate",
                     column = column, tail = tail, constant = constant)
}

#' Summarise a rate comparison: the log-log slope over the tail
#'
#' Fits, by least squares, the log of the running mean against \eqn{\log n}
#' over the tail of the run: the slope is the empirical rate exponent, to set
#' beside the theorem's \eqn{-1/2} (see [rate_compare()] for what the running
#' mean estimates). With several replicates, the slope is fitted per
#' replicate and the interval is the t interval of their mean across
#' replicates. With a single run, the interval comes from the regression;
#' it treats the residuals as independent while consecutive values of a
#' running mean share almost all their terms, so it is far too narrow: use
#' replicates for an honest interval.
#'
#' @param object A `vae_rate` from [rate_compare()].
#' @param tail The fraction of the iterations, at the end of each run, used
#'   for the slope and the constant; `NULL` takes the one `object` was made
#'   with (by default the last half).
#' @param level The confidence level of the interval.
#' @param ... Unused; must be empty.
#' @returns A one-row tibble:
#'   * `slope`: the log-log slope of the running mean against `n` (the mean
#'     over replicates of the per-replicate slopes),
#'   * `conf_low`, `conf_high`: its confidence interval (see above; `NA`
#'     with a single run of fewer than 3 points in the tail),
#'   * `constant`: the fitted \eqn{C} of \eqn{C \log(n) / \sqrt n} over the
#'     tail (as in [rate_compare()]),
#'   * `reference_slope`: the log-log slope of \eqn{\log(n) / \sqrt n} itself
#'     over the same points, \eqn{-1/2 + 1/\log n} on average: the slope to
#'     expect of a running mean that follows the reference,
#'   * `ratio_slope`: the log-log slope of `running_mean / rate_reference(n)`,
#'     that is `slope - reference_slope`: about 0 when the running mean
#'     follows the reference, negative when it falls faster,
#'   * `value_slope`: the log-log slope of the values themselves over the
#'     same iterations (their positive values; the mean over replicates), the
#'     rate at which the squared norm falls late in the run. Values falling
#'     like \eqn{n^{-a}} give a running mean of slope \eqn{-a} when
#'     \eqn{a < 1}, but \eqn{-1} when \eqn{a > 1} or when large early values
#'     dominate the mean (their sum divided by \eqn{n}): a `slope` near
#'     \eqn{-1} says the running mean is still carried by the start of the
#'     run, and `value_slope` says how the late values fall,
#'   * `replicates`: the number of runs,
#'   * `n_from`, `n_to`: the range of iterations of the tail,
#'   * `interval`: `"replicates"` or `"regression"`, how the interval was
#'     made.
#' @family rates
#' @export
#' @examples
#' # Squared norms falling like n^(-1/2), with noise.
#' set.seed(1)
#' n <- 1:2000
#' tr <- data.frame(iteration = n, grad_norm_sq = 3 / sqrt(n) * rlnorm(2000, 0, 0.5))
#' summary(rate_compare(tr))
summary.vae_rate <- function(object, tail = NULL, level = 0.95, ...) {
  rlang::check_dots_empty()
  if (is.null(tail)) tail <- attr(object, "tail") %||% 0.5
  tail <- check_tail(tail)
  level <- check_number(level, lower = 0, upper = 1, lower_open = TRUE,
                        upper_open = TRUE)
  n <- object$n
  value <- object[["value"]] %||% rep(NA_real_, length(n))
  running_mean <- object$running_mean
  group <- if (is.null(object[["replicate"]])) rep(1L, length(n)) else
    match(object[["replicate"]], unique(object[["replicate"]]))
  use <- rate_tail(n, running_mean, group, tail)
  groups <- unique(group)
  counts <- tabulate(match(group[use], groups), length(groups))
  if (any(counts < 2)) {
    abort_input(
      c("The tail of each run must hold at least 2 values of the running mean with {.code n > 1}.",
        x = "{if (length(groups) > 1) paste('Replicate', groups[which(counts < 2)[[1]]], 'has') else 'It has'} {min(counts)}.",
        i = "Use a larger {.arg tail} or record more iterations."),
      arg = "tail"
    )
  }
  fits <- lapply(groups, function(g) {
    i <- use & group == g
    x <- log(n[i])
    log_ref <- log(rate_reference(n[i]))
    fit <- ols(x, log(running_mean[i]))
    positive <- !is.na(value[i]) & value[i] > 0
    value_slope <- if (sum(positive) >= 2) {
      ols(x[positive], log(value[i][positive]))[["slope"]]
    } else {
      NA_real_
    }
    c(fit, reference_slope = ols(x, log_ref)[["slope"]], value_slope = value_slope)
  })
  slopes <- vapply(fits, function(f) f[["slope"]], double(1))
  reference_slope <- mean(vapply(fits, function(f) f[["reference_slope"]], double(1)))
  value_slope <- mean(vapply(fits, function(f) f[["value_slope"]], double(1)))
  slope <- mean(slopes)
  q <- 1 - (1 - level) / 2
  if (length(groups) > 1) {
    half <- stats::qt(q, length(groups) - 1) * stats::sd(slopes) / sqrt(length(groups))
    interval <- "replicates"
  } else {
    f <- fits[[1]]
    half <- if (f[["df"]] > 0) stats::qt(q, f[["df"]]) * f[["se"]] else NA_real_
    interval <- "regression"
  }
  tibble::tibble(
    slope = slope,
    conf_low = slope - half,
    conf_high = slope + half,
    constant = rate_constant(n, running_mean, group, tail),
    reference_slope = reference_slope,
    ratio_slope = slope - reference_slope,
    value_slope = value_slope,
    replicates = length(groups),
    n_from = as.integer(min(n[use])),
    n_to = as.integer(max(n[use])),
    interval = interval
  )
}

#' Plot a rate comparison
#'
#' Draws the running mean of the squared gradient norm (one line per
#' replicate, and their mean when there are several) and the reference
#' \eqn{C \log(n) / \sqrt n}, both on log-log axes, with the summary's slope
#' in the subtitle.
#'
#' @param object A `vae_rate` from [rate_compare()].
#' @param ... Unused.
#' @returns A ggplot.
#' @family rates
#' @exportS3Method ggplot2::autoplot
#' @examples
#' set.seed(1)
#' n <- 1:2000
#' tr <- data.frame(replicate = rep(1:3, each = 2000), iteration = rep(n, 3),
#'                  grad_norm_sq = 3 / sqrt(n) * rlnorm(6000, 0, 0.5))
#' if (requireNamespace("ggplot2", quietly = TRUE)) {
#'   ggplot2::autoplot(rate_compare(tr))
#' }
autoplot.vae_rate <- function(object, ...) {
  rlang::check_installed("ggplot2", reason = "to plot a rate comparison.")
  d <- as.data.frame(object)
  d <- d[d$n > 1, , drop = FALSE]
  d[["replicate"]] <- if (is.null(d[["replicate"]])) 1L else d[["replicate"]]
  several <- length(unique(d[["replicate"]])) > 1
  runs <- data.frame(n = d$n, value = d$running_mean, line = "running mean",
                     replicate = d[["replicate"]])
  curves <- list(runs)
  if (several) {
    mean_by_n <- stats::aggregate(d$running_mean, list(n = d$n), mean)
    curves <- c(curves, list(data.frame(
      n = mean_by_n$n, value = mean_by_n$x, line = "mean over replicates",
      replicate = "mean"
    )))
  }
  ref <- d[!duplicated(d$n), c("n", "reference")]
  curves <- c(curves, list(data.frame(
    n = ref$n, value = ref$reference, line = "C log(n) / sqrt(n)",
    replicate = "reference"
  )))
  curves <- do.call(rbind, curves)
  curves$group <- paste(curves$line, curves$replicate)
  colours <- c("running mean" = if (several) "grey60" else "black",
               "mean over replicates" = "black",
               "C log(n) / sqrt(n)" = "firebrick")
  s <- tryCatch(summary(object), vaeconv_error_input = function(e) NULL)
  # Two short lines, so that the subtitle fits ggsave()'s default width.
  subtitle <- if (is.null(s)) NULL else sprintf(
    "log-log slope over n in [%d, %d]: %.3f [%.3f, %.3f]\nreference slope %.3f; C = %s",
    s$n_from, s$n_to, s$slope, s$conf_low, s$conf_high, s$reference_slope,
    format_num(signif(s$constant, 3))
  )
  column <- attr(object, "column") %||% "the squared gradient norm"
  ggplot2::ggplot(curves, ggplot2::aes(.data$n, .data$value, colour = .data$line,
                                       group = .data$group)) +
    ggplot2::geom_line(ggplot2::aes(linetype = .data$line)) +
    ggplot2::scale_x_log10() +
    ggplot2::scale_y_log10() +
    ggplot2::scale_colour_manual(values = colours[names(colours) %in% curves$line]) +
    ggplot2::scale_linetype_manual(values = c("running mean" = "solid",
                                              "mean over replicates" = "solid",
                                              "C log(n) / sqrt(n)" = "dashed")) +
    ggplot2::labs(x = "iteration n", y = paste("running mean of", column),
                  colour = NULL, linetype = NULL, subtitle = subtitle) +
    ggplot2::theme_minimal() +
    ggplot2::theme(legend.position = "bottom")
}

# Helpers ----------------------------------------------------------------------

#' The trajectory behind a rate comparison
#' @noRd
rate_source <- function(fit, call = rlang::caller_env()) {
  if (inherits(fit, c("vae_fit", "vi_fit"))) {
    if (identical(fit$status, "diverged")) {
      abort_input(
        c("{.arg fit} diverged, so it has no rate of convergence.",
          i = "Its trajectory stops at iteration {max(c(0, fit$trajectory$iteration))}; use a smaller step size or a {.arg bound}, or pass {.code trajectory(fit)} to study it anyway."),
        arg = "fit", call = call
      )
    }
    return(trajectory(fit))
  }
  if (inherits(fit, "vae_fits")) {
    status <- vapply(fit, function(f) f$status, character(1))
    diverged <- which(status == "diverged")
    if (length(diverged) == length(fit)) {
      abort_input(
        c("{.arg fit} has no replicate that did not diverge.",
          i = "Use a smaller step size or a {.arg bound}, or pass {.code trajectory(fit)} to study them anyway."),
        arg = "fit", call = call
      )
    }
    tr <- trajectory(fit)
    if (length(diverged)) {
      cli::cli_warn(
        c("Left out {length(diverged)} diverged replicate{?s} of {length(fit)}: {diverged}.",
          i = "A diverged run has no rate of convergence; pass {.code trajectory(fit)} to keep {cli::qty(length(diverged))}{?it/them}."),
        class = c("vaeconv_warning_diverged", "vaeconv_warning"), call = call
      )
      tr <- tr[!tr$replicate %in% diverged, , drop = FALSE]
    }
    return(tr)
  }
  if (!is.data.frame(fit)) {
    abort_input(
      "{.arg fit} must be a fit made by {.fn fit_vae}, replicated fits made by {.fn fit_vae_replicates} or a trajectory data frame, not {describe_value(fit)}.",
      arg = "fit", call = call
    )
  }
  if (is.null(fit[["iteration"]])) {
    abort_input(
      c("{.arg fit} must have an {.field iteration} column.",
        i = "A trajectory data frame comes from {.fn trajectory}."),
      arg = "fit", call = call
    )
  }
  check_whole_vector(fit[["iteration"]], arg = "fit$iteration",
                     what = "a vector of positive whole numbers", call = call)
  replicate <- fit[["replicate"]]
  if (!is.null(replicate) && (!is.atomic(replicate) || anyNA(replicate))) {
    abort_input(
      "{.arg fit$replicate} must be a vector without missing values, not {describe_value(replicate)}.",
      arg = "fit", call = call
    )
  }
  fit
}

#' Check the column of squared norms of a rate comparison
#'
#' The usable columns are the numeric ones (other than `iteration`,
#' `replicate` and `K`) with at least one value and only non-negative finite
#' values; when some of them are squared gradient norms (`*grad_norm_sq*`),
#' only those. `NULL` takes `full_grad_norm_sq` when it is usable (a fit
#' evaluated on the full data), else `grad_norm_sq`.
#' @noRd
check_rate_column <- function(tr, column, call = rlang::caller_env()) {
  numeric <- names(tr)[vapply(tr, function(col) is.numeric(col) && is.null(dim(col)),
                              logical(1))]
  numeric <- setdiff(numeric, c("iteration", "replicate", "K"))
  usable <- numeric[vapply(numeric, function(nm) usable_norms(tr[[nm]]), logical(1))]
  norms <- grep("grad_norm_sq", usable, value = TRUE, fixed = TRUE)
  if (length(norms)) usable <- norms
  if (is.null(column)) {
    column <- intersect(c("full_grad_norm_sq", "grad_norm_sq"), usable)
    if (length(column) == 0) {
      abort_input(
        c("{.arg column} must be given: {.arg fit} has no column {.field full_grad_norm_sq} or {.field grad_norm_sq} with values.",
          if (length(usable)) c(i = "Usable columns: {.val {usable}}.")),
        arg = "column", call = call
      )
    }
    return(column[[1]])
  }
  if (is.character(column) && length(column) == 1 && column %in% setdiff(numeric, usable)) {
    value <- tr[[column]]
    if (all(is.na(value))) {
      abort_input(
        c("{.arg column} must name a column with values, but {.field {column}} is all {.code NA}.",
          i = if (startsWith(column, "full_")) "The full-data columns are filled only with {.code eval_every > 0} in {.fn fit_vae}."),
        arg = "column", call = call
      )
    }
    bad <- !is.na(value) & (!is.finite(value) | value < 0)
    if (any(bad)) {
      i <- which(bad)[[1]]
      abort_input(
        c("{.arg column} must name a column of non-negative finite numbers (squared norms).",
          x = "Row {i} of {.field {column}} is {describe_value(value[[i]])}."),
        arg = "column", call = call
      )
    }
  }
  if (length(usable) == 0) {
    abort_input("{.arg fit} must have a column of non-negative numbers with values (squared norms).",
                arg = "fit", call = call)
  }
  check_choice(column, usable, call = call)
}

#' Whether a column holds squared norms: some values, all of them
#' non-negative and finite
#' @noRd
usable_norms <- function(value) {
  ok <- !is.na(value)
  any(ok) && all(is.finite(value[ok]) & value[ok] >= 0)
}

#' Check the fraction of the run that is its tail
#' @noRd
check_tail <- function(tail, call = rlang::caller_env()) {
  check_number(tail, lower = 0, upper = 1, lower_open = TRUE, call = call)
}

#' The rows in the tail of each run where the logs are defined
#' @noRd
rate_tail <- function(n, running_mean, group, tail) {
  last <- stats::ave(n, group, FUN = max)
  n > (1 - tail) * last & n > 1 & running_mean > 0
}

#' The constant C of C log(n) / sqrt(n): least squares on the log scale over
#' the tail, pooled over the groups (NA without a usable row)
#' @noRd
rate_constant <- function(n, running_mean, group, tail) {
  use <- rate_tail(n, running_mean, group, tail)
  if (!any(use)) {
    return(NA_real_)
  }
  exp(mean(log(running_mean[use]) - log(rate_reference(n[use]))))
}

#' Least-squares slope of y on x with its standard error
#' @noRd
ols <- function(x, y) {
  k <- length(x)
  xc <- x - mean(x)
  sxx <- sum(xc^2)
  slope <- sum(xc * (y - mean(y))) / sxx
  df <- k - 2
  resid <- y - mean(y) - slope * xc
  se <- if (df > 0) sqrt(sum(resid^2) / df / sxx) else NA_real_
  c(slope = slope, se = se, df = df)
}
