#' Log-likelihood of data under a fitted VAE
#'
#' `log_likelihood()` estimates the average log marginal likelihood
#' \eqn{\frac1n \sum_i \log p_\theta(x_i)}{(1/n) sum_i log p_theta(x_i)} of
#' the rows of `x` under a fitted model, in nats per data point: exactly for
#' the linear VAE, by importance sampling otherwise.
#'
#' @details
#' Importance sampling (the deep Gaussian VAE, and the linear VAE with
#' `method = "importance"`) uses the encoder's \eqn{q_\phi(z \mid x_i)}{q_phi(z | x_i)}
#' as the proposal: with \eqn{L} = `samples` draws
#' \eqn{z_{is} \sim q_\phi(z \mid x_i)}{z_is ~ q_phi(z | x_i)} and the weights
#' \eqn{w_{is} = p_\theta(x_i \mid z_{is}) p(z_{is}) / q_\phi(z_{is} \mid x_i)}{w_is = p_theta(x_i | z_is) p(z_is) / q_phi(z_is | x_i)},
#' \deqn{\widehat{\log p}(x_i) = \log \frac1L \sum_{s=1}^L w_{is},}{log p^(x_i) = log (1/L) sum_s w_is,}
#' the IWAE bound with \eqn{K = L} (see [iwae()]). It is biased downwards
#' by about \eqn{\mathrm{var}(w) / (2 L \bar w^2)}{var(w) / (2 L mean(w)^2)}
#' and converges to \eqn{\log p_\theta(x_i)}{log p_theta(x_i)} as \eqn{L}
#' grows. `estimate` is the mean of \eqn{\widehat{\log p}(x_i)}{log p^(x_i)}
#' over the rows, and `std_error` its Monte Carlo standard error given the
#' data: by the delta method, each row's estimate has variance
#' \eqn{v_i = s_i^2 / (L \bar w_i^2)}{v_i = s_i^2 / (L mean(w_i)^2)},
#' with \eqn{\bar w_i}{mean(w_i)} and \eqn{s_i^2} the mean and sample
#' variance of the row's weights, and the rows' draws are independent, so
#' `std_error` \eqn{= \sqrt{\sum_i v_i} / n}{= sqrt(sum_i v_i) / n}. It
#' shrinks like \eqn{1 / \sqrt{L}}{1 / sqrt(L)}; it does not include the
#' variability of `x` as a sample of a population.
#'
#' `ess` is the effective sample size of the importance weights, as a
#' fraction of \eqn{L} (as ovis reports it): for row \eqn{i} with
#' normalised weights \eqn{\bar w_{is} = w_{is} / \sum_t w_{it}}{wbar_is = w_is / sum_t w_it},
#' \eqn{\mathrm{ESS}_i / L = 1 / (L \sum_s \bar w_{is}^2)}{ESS_i / L = 1 / (L sum_s wbar_is^2)},
#' averaged over the rows. It is 1 when every weight of a row is the same
#' (the encoder is the exact posterior) and \eqn{1/L} when one draw carries
#' all the weight. **When `ess * samples` is small (under about 10 draws)
#' neither the estimate nor `std_error` can be trusted**: the few draws that
#' carry the weight make the sample variance of the weights understate
#' their variance, so `std_error` is much too small, and the estimate lies
#' below \eqn{\log p_\theta(x)}{log p_theta(x)} by an amount it does not
#' show. A fit that diverged or has not converged typically shows it (a
#' warning says when `fit` did not complete); more `samples`, or a better
#' encoder, is the remedy.
#'
#' The draws of row \eqn{i} are keyed by the seed and \eqn{i}, so the
#' estimate is the same for any `n_threads`. Rows are processed in
#' parallel, and a row's draws in pieces of a few hundred to a few thousand
#' (depending on the width of the network): memory grows with `samples`
#' only by the 8 bytes of each draw's log weight in the rows in flight (one
#' or two per thread), not by the network's activations.
#'
#' @section Stopping early:
#' An interrupt (Ctrl-C) or a time limit set with [setTimeLimit()] stops
#' the computation between two pieces of draws, within about a tenth of a
#' second, with no thread left working; the interrupt is then signalled
#' again as R signals one (so `tryCatch(interrupt = )` sees it, and
#' otherwise R returns to its prompt), or the time limit's error raised
#' again. Nothing is returned: the rows done are discarded. This holds
#' whether or not the progress bar is shown.
#'
#' For the linear VAE, \eqn{p_\theta(x) = N(x; \mu, W W^\top + c^2 I)}{p_theta(x) = N(x; mu, W W' + c^2 I)}
#' (probabilistic PCA) in closed form: `method = "auto"` returns it with
#' `std_error = 0`.
#'
#' @param fit A `vae_fit` from [fit_vae()].
#' @param x A numeric matrix or data frame with the columns of the data the
#'   model was fitted on.
#' @param samples Importance samples \eqn{L} per row: a whole number at
#'   least 2.
#' @param seed `NULL` or a whole number in \[0, 2147483647\]: the key of
#'   the draws. `NULL` takes one draw from R's generator, so [set.seed()]
#'   reproduces the result.
#' @param n_threads Threads; `NULL` as in [fit_vae()]. The result does not
#'   depend on it.
#' @param method `"auto"` (exact for the linear VAE, importance sampling
#'   otherwise) or `"importance"` (importance sampling for any model).
#' @param progress Whether to show a progress bar (the rows done and the
#'   time left; shown only when the computation lasts more than a couple of
#'   seconds).
#' @returns A one-row tibble with columns `estimate` and `std_error`, in nats
#'   per data point, and `ess`, the importance weights' mean effective
#'   sample size as a fraction of `samples` (`NA` for the exact
#'   log-likelihood of a linear VAE).
#' @references
#' Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted
#' autoencoders. *ICLR*.
#'
#' Tipping, M. E. and Bishop, C. M. (1999). Probabilistic principal
#' component analysis. *JRSS B* 61(3).
#' @family using a fit
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 100, seed = 1, n_threads = 1)
#' log_likelihood(fit, x[1:100, ], samples = 100, seed = 1, n_threads = 1)
log_likelihood <- function(fit, x, samples = 1000, seed = NULL, n_threads = NULL,
                           method = c("auto", "importance"),
                           progress = interactive()) {
  check_fit(fit)
  x <- check_new_data(x, fit)
  check_model_data(x, fit$model)
  samples <- check_whole(samples, min = 2)
  seed <- check_seed(seed)
  n_threads <- resolve_threads(check_n_threads(n_threads))
  method <- check_choice(method, c("auto", "importance"))
  progress <- check_flag(progress)
  warn_fit_status(fit)

  if (method == "auto" && inherits(fit$model, "vae_linear")) {
    par <- stats::coef(fit)
    loglik <- ppca_loglik(x, par$W, drop(par$mu), obs_sd(fit))
    return(tibble::tibble(estimate = loglik, std_error = 0, ess = NA_real_))
  }
  if (is.null(seed)) seed <- draw_seed()
  rows <- cpp_log_likelihood(fit$model, fit$state$par, x, samples, seed, n_threads,
                             progress)
  signal_stop(rows)
  tibble::tibble(
    estimate = mean(rows$estimate),
    # (the variances of exactly equal weights may round below 0)
    std_error = sqrt(max(sum(rows$variance), 0)) / nrow(x),
    ess = mean(rows$ess)
  )
}

#' Warn when a diagnostic is asked of a fit that did not complete
#' @noRd
warn_fit_status <- function(fit, arg = rlang::caller_arg(fit),
                            call = rlang::caller_env()) {
  status <- fit$status
  if (is.null(status) || identical(status, "completed")) return(invisible())
  cli::cli_warn(
    c("{.arg {arg}} did not complete: its status is {.val {status}}.",
      i = if (identical(status, "diverged")) {
        "Its parameters are the last ones before it diverged: check {.field ess} before trusting the estimate."
      } else {
        "Its parameters are those of an unfinished fit."
      }),
    class = c("vaeconv_warning_fit_status", "vaeconv_warning"), call = call
  )
}
