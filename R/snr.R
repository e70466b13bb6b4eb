#' Signal-to-noise ratio of the gradient at a fitted model
#'
#' `gradient_snr()` draws the minibatch gradient of an objective many times
#' at the fitted parameters and summarises, for the decoder (`theta`) and
#' the encoder (`phi`) separately, how large its mean is relative to its
#' noise: the quantities whose scaling in \eqn{K} and the batch size
#' Rainforth et al. (2018) derived for importance weighted bounds.
#'
#' @details
#' Draw \eqn{d = 1, \dots, D}{d = 1..D} (`D = draws`) takes a minibatch of
#' `batch_size` rows of `x` without replacement and fresh reparameterisation
#' noise, both independent across draws, and computes the gradient
#' \eqn{g_d} of the minibatch mean of the objective with the objective's own
#' estimator (`"reparam"` or `"score"` for [elbo()], also `"dreg"` for [iwae()]). Under a
#' [k_schedule()], \eqn{K} is the one of the fit's last iteration.
#'
#' For each coordinate \eqn{j}, \eqn{\mathrm{SNR}_j = |\bar g_j| / s_j}{SNR_j = |mean(g_j)| / sd(g_j)}
#' with the mean and standard deviation over the draws; `snr_mean` and
#' `snr_median` are their mean and median over the group's coordinates
#' (coordinates whose gradient is 0 in every draw are left out). The
#' directional SNR of Rainforth et al. (2018, appendix) measures the noise
#' along and across the mean direction
#' \eqn{u = \bar g / \|\bar g\|}{u = mean(g) / ||mean(g)||} of the group:
#' \deqn{\mathrm{DSNR} = \frac{\frac1D \sum_d |g_d^\top u|}{\frac1D \sum_d \|g_d - (g_d^\top u) u\|}.}{DSNR = mean_d |g_d' u| / mean_d ||g_d - (g_d' u) u||.}
#'
#' With \eqn{D} draws a coordinate whose true SNR is 0 has an estimated SNR
#' of about \eqn{|N(0, 1)| / \sqrt{D}}{|N(0, 1)| / sqrt(D)} (median
#' \eqn{0.67 / \sqrt{D}}{0.67 / sqrt(D)}): smaller SNRs need more draws. At a
#' stationary point the mean gradient, hence every SNR, is close to 0.
#'
#' Under the IWAE bound with the pathwise estimator, Rainforth et al. show
#' that the decoder's SNR grows like \eqn{\sqrt{B K}}{sqrt(B K)} while the
#' encoder's falls like \eqn{\sqrt{B / K}}{sqrt(B / K)}, for the noise of
#' the draws (with a fixed batch, `batch_size = nrow(x)`); the minibatch's own
#' noise does not shrink with \eqn{K}. DReG keeps the encoder's from falling
#' (Tucker et al. 2019). `system.file("scripts", "snr-slopes.R", package =
#' "vaeconv")` measures these slopes on [digits].
#'
#' The draws are keyed by the seed and the draw's index, so the result is
#' the same for any `n_threads`.
#'
#' @section Stopping early:
#' An interrupt (Ctrl-C) or a time limit set with [setTimeLimit()] stops
#' the computation between two gradient draws (or two rounds of chunks of a large minibatch), with no thread left working; the
#' interrupt is then signalled again as R signals one (so
#' `tryCatch(interrupt = )` sees it, and otherwise R returns to its
#' prompt), or the time limit's error raised again. Nothing is returned.
#' This holds whether or not the progress bar is shown.
#'
#' @inheritParams log_likelihood
#' @param progress Whether to show a progress bar (gradient draws done and the time left;
#'   shown only when the computation lasts more than a couple of seconds).
#' @param objective `NULL` for the fit's objective, or another objective
#'   ([elbo()], [iwae()]).
#' @param batch_size `NULL` for the fit's batch size (at most `nrow(x)`), or
#'   a positive whole number at most `nrow(x)`.
#' @param draws Independent gradient draws: a whole number at least 2.
#' @returns A tibble with a row per `group` (`"theta"`, the decoder, and
#'   `"phi"`, the encoder) and columns `snr_mean`, `snr_median` and `dsnr`.
#' @references
#' Rainforth, T., Kosiorek, A. R., Le, T. A., Maddison, C. J., Igl, M.,
#' Wood, F. and Teh, Y. W. (2018). Tighter variational bounds are not
#' necessarily better. *ICML*.
#'
#' Tucker, G., Lawson, D., Gu, S. and Maddison, C. J. (2019). Doubly
#' reparameterized gradient estimators for Monte Carlo objectives. *ICLR*.
#' @family using a fit
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 100, seed = 1, n_threads = 1)
#' gradient_snr(fit, x, objective = iwae(K = 10), draws = 50, seed = 1,
#'              n_threads = 1)
gradient_snr <- function(fit, x, objective = NULL, batch_size = NULL, draws = 100,
                         seed = NULL, n_threads = NULL, progress = interactive()) {
  check_fit(fit)
  x <- check_new_data(x, fit)
  check_model_data(x, fit$model)
  if (is.null(objective)) objective <- fit$objective
  check_objective(objective)
  if (is.null(batch_size)) batch_size <- min(fit$batch_size, nrow(x))
  batch_size <- check_batch_size(batch_size, x)
  draws <- check_whole(draws, min = 2)
  seed <- check_seed(seed)
  n_threads <- resolve_threads(check_n_threads(n_threads))
  progress <- check_flag(progress)
  check_combination(fit$model, objective)
  if (is.null(seed)) seed <- draw_seed()

  K <- fit_K(objective, fit)
  g <- cpp_gradient_draws(fit$model, objective, fit$state$par, x, batch_size, K,
                          draws, seed, n_threads, chunk_rows(), progress)
  signal_stop(g)
  layout <- cpp_layout(fit$model, fit$n_features)
  group <- rep(layout$group, layout$rows * layout$cols)
  groups <- c("theta", "phi")
  rows <- lapply(groups, function(grp) snr_summary(g[, group == grp, drop = FALSE]))
  tibble::tibble(
    group = groups,
    snr_mean = vapply(rows, `[[`, double(1), "snr_mean"),
    snr_median = vapply(rows, `[[`, double(1), "snr_median"),
    dsnr = vapply(rows, `[[`, double(1), "dsnr")
  )
}

#' SNR summaries of gradient draws (a draws x coordinates matrix)
#' @noRd
snr_summary <- function(g) {
  m <- colMeans(g)
  s <- sqrt(colSums(sweep(g, 2, m)^2) / (nrow(g) - 1))
  moving <- m != 0 | s != 0
  snr <- abs(m[moving]) / s[moving]
  norm <- sqrt(sum(m^2))
  dsnr <- NA_real_
  if (norm > 0) {
    along <- drop(g %*% (m / norm))
    across <- sqrt(pmax(rowSums(g^2) - along^2, 0))
    dsnr <- mean(abs(along)) / mean(across)
  }
  list(
    snr_mean = if (length(snr)) mean(snr) else NA_real_,
    snr_median = if (length(snr)) stats::median(snr) else NA_real_,
    dsnr = dsnr
  )
}
