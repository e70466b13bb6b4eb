#' Print, summarise and plot a fitted VAE
#'
#' `print()` shows the model, the objective, the optimiser and the last
#' recorded values; `summary()` returns a one-row tibble of the fit's key
#' figures; `plot()` draws the trajectory with base graphics and
#' `autoplot()` with ggplot2: the objective (and the full-data objective when
#' evaluated) and the squared gradient norm (log10), against the iteration on
#' a log scale. The objective's axis runs from a little below its 5%
#' quantile over the iterations to its maximum, so that the first
#' iterations, often far below the rest, do not flatten the curve (they run
#' off the bottom of `plot()`'s panel and are left out of `autoplot()`'s,
#' which says so in a caption); the gradient's axis holds both the
#' minibatch and the full-data values. For replicated fits (see
#' [fit_vae_replicates()]) `autoplot()` gives each replicate a colour,
#' minibatch lines thin and full-data lines thick.
#'
#' @param x,object A `vae_fit` from [fit_vae()].
#' @param ... Unused.
#' @returns `print()` and `plot()` return `x` invisibly; `summary()` a
#'   one-row tibble with `iterations`, `status`, `objective` (the mean of the
#'   minibatch objective over the last tenth of the recorded iterations),
#'   `full_objective` (the last full-data evaluation, `NA` if none),
#'   `grad_norm_sq` (the mean over the last tenth), `weight_change`,
#'   `seconds` (the time spent training: the iterations' gradients and
#'   steps, without the full-data evaluations), `eval_seconds` (the time
#'   spent in the full-data evaluations of `eval_every`; `NA` for a fit made
#'   before they were timed apart), `ms_per_iteration` (`seconds` per
#'   iteration, in milliseconds), and `model_description` and
#'   `objective_description`, one-line descriptions of the model
#'   (likelihood, encoder covariance) and of the objective (with its
#'   estimator); `autoplot()` a ggplot.
#' @family fitting
#' @name vae_fit-methods
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 100, seed = 1, n_threads = 1)
#' print(fit)
#' summary(fit)
#' plot(fit)
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(fit)
NULL

#' @rdname vae_fit-methods
#' @export
print.vae_fit <- function(x, ...) {
  s <- summary(x)
  m <- x$model
  cat("<vae_fit> ", describe_model(m), "\n", sep = "")
  cat("  data:       ", x$n_obs, " rows x ", x$n_features, " columns\n", sep = "")
  cat("  objective:  ", describe_objective(x$objective), "\n", sep = "")
  cat("  optimizer:  ", describe_optimizer(x$optimizer), ", batch size ",
      x$batch_size, "\n", sep = "")
  timing <- paste0(format_num(signif(s$seconds, 3)), " s")
  if (!is.na(s$eval_seconds) && s$eval_seconds > 0) {
    timing <- paste0(timing, " + ", format_num(signif(s$eval_seconds, 3)),
                     " s of full-data evaluations")
  }
  cat("  status:     ", s$status, " after ", s$iterations, " iterations (",
      timing, ", seed ", x$seed, ")\n", sep = "")
  if (nrow(x$trajectory) > 0) {
    cat("  objective:  ", format_num(signif(s$objective, 6)),
        " nats per point (minibatch mean over the last tenth)\n", sep = "")
    if (!is.na(s$full_objective)) {
      cat("  full data:  ", format_num(signif(s$full_objective, 6)),
          " nats per point\n", sep = "")
    }
    cat("  |grad|^2:   ", format_num(signif(s$grad_norm_sq, 4)), "\n", sep = "")
  }
  if (!is.null(x$latents)) {
    collapsed <- sum(x$latents$collapsed)
    cat("  latents:    ", collapsed, " of ", nrow(x$latents),
        " collapsed (activity < 0.01 on the data; see latent_activity())\n", sep = "")
  }
  invisible(x)
}

#' @rdname vae_fit-methods
#' @export
summary.vae_fit <- function(object, ...) {
  s <- fit_summary(object)
  tibble::tibble(
    !!!s[c("iterations", "status", "objective", "full_objective", "grad_norm_sq",
           "weight_change", "seconds")],
    eval_seconds = object$state$eval_seconds %||% NA_real_,
    ms_per_iteration = s$ms_per_iteration,
    model_description = describe_model(object$model),
    objective_description = describe_objective(object$objective)
  )
}

#' @rdname vae_fit-methods
#' @param y Unused.
#' @export
plot.vae_fit <- function(x, y, ...) {
  tr <- x$trajectory
  lim <- trajectory_limits(tr)
  old <- graphics::par(mfrow = c(1, 2))
  on.exit(graphics::par(old))
  graphics::plot(tr$iteration, tr$objective, type = "l", xlab = "iteration",
                 ylab = "objective (nats per point)", col = "grey40",
                 ylim = lim$objective)
  if (any(!is.na(tr$full_objective))) {
    ok <- !is.na(tr$full_objective)
    graphics::lines(tr$iteration[ok], tr$full_objective[ok], col = "firebrick", lwd = 2)
  }
  graphics::plot(tr$iteration, tr$grad_norm_sq, type = "l", log = "y",
                 xlab = "iteration", ylab = "squared gradient norm", col = "grey40",
                 ylim = lim$gradient)
  if (any(!is.na(tr$full_grad_norm_sq))) {
    ok <- !is.na(tr$full_grad_norm_sq)
    graphics::lines(tr$iteration[ok], tr$full_grad_norm_sq[ok], col = "firebrick", lwd = 2)
    graphics::legend("topright", c("minibatch", "full data"), col = c("grey40", "firebrick"),
                     lwd = c(1, 2), bty = "n")
  }
  invisible(x)
}

#' @rdname vae_fit-methods
#' @exportS3Method ggplot2::autoplot
autoplot.vae_fit <- function(object, ...) {
  rlang::check_installed("ggplot2", reason = "to plot a fit.")
  plot_trajectory(object$trajectory)
}

#' The ranges of the panels of a trajectory plot
#'
#' The objective's: from a little below its 5% quantile (over the minibatch
#' and full-data values) to its maximum, so that the first iterations, often
#' hundreds of nats below the rest, do not flatten the curve; the squared
#' gradient norm's: every positive minibatch and full-data value.
#' @returns A list with `objective` and `gradient`, each a range (`NULL` when
#'   there are no values).
#' @noRd
trajectory_limits <- function(tr) {
  objective <- c(tr$objective, tr$full_objective)
  objective <- objective[is.finite(objective)]
  gradient <- c(tr$grad_norm_sq, tr$full_grad_norm_sq)
  gradient <- gradient[is.finite(gradient) & gradient > 0]
  obj_lim <- NULL
  if (length(objective)) {
    low <- unname(stats::quantile(objective, 0.05, type = 1))
    high <- max(objective)
    obj_lim <- c(max(min(objective), low - 0.1 * (high - low)), high)
  }
  list(objective = obj_lim, gradient = if (length(gradient)) range(gradient))
}

#' The ggplot of a trajectory: objective and squared gradient norm, minibatch
#' and full data; with a `replicate` column, one colour per replicate
#' @noRd
plot_trajectory <- function(tr) {
  replicate <- if (is.null(tr[["replicate"]])) rep(1L, nrow(tr)) else tr[["replicate"]]
  lim <- trajectory_limits(tr)
  long <- function(col, panel, source, transform = identity) {
    keep <- !is.na(tr[[col]])
    data.frame(iteration = tr$iteration[keep], value = transform(tr[[col]][keep]),
               panel = rep(panel, sum(keep)), source = rep(source, sum(keep)),
               replicate = replicate[keep])
  }
  objective <- "objective (nats per point)"
  gradient <- "squared gradient norm (log10)"
  d <- rbind(
    long("objective", objective, "minibatch"),
    long("full_objective", objective, "full data"),
    long("grad_norm_sq", gradient, "minibatch", log10),
    long("full_grad_norm_sq", gradient, "full data", log10)
  )
  # The first iterations far below the rest of the objective are left out
  # of its panel (see trajectory_limits()).
  cut <- d$panel == objective & !is.null(lim$objective) & d$value < lim$objective[[1]]
  d <- d[!cut, , drop = FALSE]
  d$panel <- factor(d$panel, levels = c(objective, gradient))
  d$source <- factor(d$source, levels = c("minibatch", "full data"))
  d$replicate <- factor(d$replicate)
  d$line <- interaction(d$source, d$replicate, drop = TRUE)
  several <- nlevels(d$replicate) > 1
  caption <- if (any(cut)) {
    sprintf("Objective panel: the first iterations, below %s nats, are left out.",
            format_num(signif(lim$objective[[1]], 3)))
  }
  p <- if (several) {
    ggplot2::ggplot(d, ggplot2::aes(.data$iteration, .data$value, colour = .data$replicate,
                                    linewidth = .data$source, alpha = .data$source,
                                    group = .data$line)) +
      ggplot2::geom_line() +
      ggplot2::scale_linewidth_manual(values = c(minibatch = 0.3, `full data` = 0.9)) +
      ggplot2::scale_alpha_manual(values = c(minibatch = 0.45, `full data` = 1)) +
      ggplot2::labs(colour = "replicate", linewidth = NULL, alpha = NULL)
  } else {
    ggplot2::ggplot(d, ggplot2::aes(.data$iteration, .data$value, colour = .data$source,
                                    group = .data$line)) +
      ggplot2::geom_line() +
      ggplot2::scale_colour_manual(values = c(minibatch = "grey50", `full data` = "firebrick")) +
      ggplot2::labs(colour = NULL)
  }
  p +
    ggplot2::facet_wrap(~panel, scales = "free_y", ncol = 1, strip.position = "left") +
    ggplot2::scale_x_log10() +
    ggplot2::labs(x = "iteration (log scale)", y = NULL, caption = caption) +
    ggplot2::theme_minimal() +
    ggplot2::theme(strip.placement = "outside", strip.text = ggplot2::element_text(size = 10),
                   legend.position = "bottom")
}

#' One-line descriptions of specifications
#' @noRd
describe_model <- function(m) {
  if (inherits(m, "vae_gaussian")) {
    hidden <- if (length(m$hidden)) paste(m$hidden, collapse = "-") else "none"
    out <- sprintf("Gaussian VAE: latent_dim %d, hidden %s, %s, obs_sd %s%s",
            m$latent_dim, hidden, format(m$activation), format_num(m$obs_sd),
            if (isTRUE(m$obs_sd_from_z)) " (initial; c(z) per dimension)"
            else if (m$learn_obs_sd) " (learned)" else "")
    if (identical(m$covariance, "full")) out <- paste0(out, ", full covariance")
    out
  } else if (inherits(m, "vae_bernoulli")) {
    hidden <- if (length(m$hidden)) paste(m$hidden, collapse = "-") else "none"
    sprintf("%s VAE: latent_dim %d, hidden %s, %s%s",
            if (m$continuous) "continuous Bernoulli" else "Bernoulli",
            m$latent_dim, hidden, format(m$activation),
            if (identical(m$covariance, "full")) ", full covariance" else "")
  } else if (inherits(m, "vae_linear")) {
    sprintf("linear VAE: latent_dim %d, obs_sd %s%s", m$latent_dim,
            format_num(m$obs_sd), if (m$learn_obs_sd) " (learned)" else "")
  } else {
    sprintf("%s: latent_dim %d", class(m)[[1]], m$latent_dim)
  }
}

#' @noRd
describe_objective <- function(o) {
  switch(o$type,
    elbo = sprintf("ELBO (beta = %s%s%s%s)", format_num(o$beta),
                   if (isTRUE(o$exact)) ", exact" else "",
                   if (!is.null(o$K) && o$K > 1) paste0(", K = ", o$K) else "",
                   if (identical(o$estimator, "score")) ", score function" else ""),
    iwae = paste0(describe_iwae(o), switch(o$estimator, dreg = ", DReG",
                                           score = ", score function (VIMCO)", "")),
    o$type
  )
}

#' @noRd
describe_optimizer <- function(o) {
  sprintf("%s (lr %s, decay %s%s)", o$type, format_num(o$lr), format_num(o$decay),
          if (is.finite(o$bound)) paste0(", bound ", format_num(o$bound)) else "")
}

#' What the summaries of a vae_fit and a vi_fit share: the iterations and
#' status, the minibatch objective and squared gradient norm averaged over
#' the last tenth of the recorded rows, the last full-data objective, the
#' last weight change, and the training time
#' @noRd
fit_summary <- function(object) {
  tr <- object$trajectory
  k <- nrow(tr)
  tail_rows <- if (k == 0) integer(0) else seq(k - max(1L, k %/% 10L) + 1L, k)
  full <- tr$full_objective[!is.na(tr$full_objective)]
  iterations <- object$state$iteration
  seconds <- object$state$seconds
  list(
    iterations = as.integer(iterations),
    status = object$status,
    objective = mean(tr$objective[tail_rows]),
    full_objective = if (length(full)) full[[length(full)]] else NA_real_,
    grad_norm_sq = mean(tr$grad_norm_sq[tail_rows]),
    weight_change = if (k) tr$weight_change[[k]] else NA_real_,
    seconds = seconds,
    ms_per_iteration = if (iterations > 0) 1000 * seconds / iterations else NA_real_
  )
}
