#' The trajectory of a fit
#'
#' One row per recorded iteration of a fit, as a tibble.
#'
#' @details
#' Columns:
#' * `iteration`: the iteration `n`, counted from 1 (continued fits go on
#'   counting).
#' * `K` (only when the objective's `K` follows a [k_schedule()], or a part
#'   of a continued fit's did): the draws per data row at iteration `n`.
#' * `objective`: the minibatch estimate of the objective (for [elbo()], the
#'   ELBO) in nats per data point, with its parts `reconstruction`
#'   (\eqn{E_q \log p(x | z)}, estimated with the reparameterisation draws)
#'   and `kl` (\eqn{KL(q(z | x) \| p(z))} in closed form), both per data
#'   point. Under [iwae()], `objective` is the minibatch estimate of the
#'   (VR-)IWAE bound and `reconstruction` and `kl` are `NA`.
#' * `grad_norm_sq`: \eqn{\|g_n\|^2}, the squared Euclidean norm of the
#'   stochastic gradient used at iteration `n`, and its decoder part
#'   `grad_norm_sq_theta` and encoder part `grad_norm_sq_phi`. Its mean over
#'   iterations does not go to zero: a minibatch gradient carries the
#'   variance of the minibatch and of the draws (a floor of order
#'   `1 / batch_size` near a stationary point).
#' * `lr`: the step size \eqn{\gamma_n = lr \cdot n^{-decay}}.
#' * `seconds`: time spent training up to and including iteration `n` (the
#'   gradients, steps and records of the iterations; continued fits go on
#'   counting), without the full-data evaluations, so that
#'   `seconds / iteration` is the cost of an iteration whatever
#'   `eval_every`.
#' * `eval_seconds`: time spent in the full-data evaluations up to and
#'   including iteration `n` (0 without them).
#' * `weight_change`: \eqn{\|w_n - w_0\|_F / \|w_0\|_F}, the relative
#'   change of all the weights since initialisation, after the step.
#' * `full_objective`, `full_grad_norm_sq`: on iterations where
#'   `eval_every` asked for it (`NA` elsewhere), the objective on all the
#'   data and the squared norm of its gradient, the expectation over the
#'   latent draws estimated with `eval_samples` draws per row. The theorem of
#'   Surendran et al. (2025) bounds
#'   \eqn{E \|\nabla L(\theta_R, \phi_R)\|^2} with \eqn{R} uniform on the
#'   iterations, which the running mean of `full_grad_norm_sq` estimates.
#'   `full_grad_norm_sq_theta` and `full_grad_norm_sq_phi` are its decoder
#'   and encoder parts (as `grad_norm_sq_theta` and `grad_norm_sq_phi` of the
#'   minibatch gradient).
#' * `full_grad_norm_sq_unbiased` (with `eval_samples >= 2`; `NA`
#'   otherwise): an unbiased estimate of the squared norm of the full-data
#'   gradient. `full_grad_norm_sq` is the squared norm of a Monte Carlo
#'   estimate of the gradient, biased upwards by the estimate's variance
#'   (of order `1 / (nrow(x) * eval_samples)`); this column is the inner
#'   product of the gradients of two independent halves of the draws (the
#'   first `eval_samples %/% 2` replicates of every row, and the others),
#'   whose expectation is the squared norm exactly (see [evaluate()]). It
#'   can be negative where the gradient is small beside its noise. Computing
#'   it costs half an evaluation more.
#' * `full_loglik`, `loglik_gap`: for a [linear_vae()] on the same
#'   iterations (`NA` elsewhere and for other models), the exact
#'   log-likelihood of all the data, \eqn{\frac{1}{n} \sum_i \log N(x_i; \mu, W W^\top + c^2 I)}{mean_i log N(x_i; mu, W W' + c^2 I)}
#'   in nats per data point, and its gap to the maximum over all parameters,
#'   the probabilistic PCA optimum of [ppca()] (the optimum minus
#'   `full_loglik`: non-negative, 0 at the optimum).
#'
#' @param fit A `vae_fit` from [fit_vae()], or a `vae_fits` from
#'   [fit_vae_replicates()], whose trajectories are stacked with an integer
#'   `replicate` column first.
#' @param ... Unused.
#' @returns A tibble with the columns above.
#' @family fitting
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 100, eval_every = 25, seed = 1, n_threads = 1)
#' trajectory(fit)
trajectory <- function(fit, ...) {
  UseMethod("trajectory")
}

#' @export
trajectory.default <- function(fit, ...) {
  check_fit(fit)
}

#' @rdname trajectory
#' @export
trajectory.vae_fit <- function(fit, ...) {
  fit$trajectory
}

#' @rdname trajectory
#' @param row.names,optional Unused, for compatibility with the generic.
#' @export
as.data.frame.vae_fit <- function(x, row.names = NULL, optional = FALSE, ...) {
  as.data.frame(trajectory(x))
}

#' @rdname trajectory
#' @param x A `vae_fit`.
#' @exportS3Method tibble::as_tibble
as_tibble.vae_fit <- function(x, ...) {
  trajectory(x)
}
