#' The objective and its gradient norm on data, at a fit's parameters
#'
#' `evaluate()` computes, at the parameters a fit ended with, the objective
#' on all the rows of `x` and the squared norm of its gradient: the
#' full-data quantities the trajectory records every `eval_every`
#' iterations (`full_objective`, `full_grad_norm_sq`), here at the end of
#' the fit, on any data and under any objective. The squared gradient norm
#' is the quantity whose expectation the convergence theorem bounds; near a
#' stationary point it is close to 0.
#'
#' @details
#' Every row of `x` gets `samples` replicates of the objective's draws (its
#' \eqn{K} draws for [iwae()], one for [elbo()]); the objective is the mean
#' over the rows and the replicates, and the gradient is the gradient of
#' that mean, taken with the objective's own estimator. For the linear VAE
#' with `elbo(exact = TRUE)` no draw is made and both are exact. Under a
#' [k_schedule()], \eqn{K} is the one of the fit's last iteration.
#'
#' With few samples the squared norm of the estimated gradient overstates
#' the squared norm of the gradient: its expectation adds the variance of
#' the estimate, which falls like `1 / (nrow(x) * samples)`.
#'
#' The draws are keyed by the seed and the row, so the result is the same
#' for any `n_threads`.
#'
#' @inheritParams log_likelihood
#' @param objective `NULL` for the fit's objective, or another objective
#'   ([elbo()], [iwae()]).
#' @param samples Replicates of the objective's draws per row: a positive
#'   whole number.
#' @returns A one-row tibble with, per data point, `objective` and its parts
#'   `reconstruction` and `kl` (`NA` under [iwae()]), and the squared norms
#'   of the gradient of the mean objective, `grad_norm_sq`, with its decoder
#'   part `grad_norm_sq_theta` and encoder part `grad_norm_sq_phi`.
#' @seealso [trajectory()] for the same quantities along a fit.
#' @family using a fit
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 200, seed = 1, n_threads = 1)
#' evaluate(fit, x, samples = 10, seed = 1, n_threads = 1)
#' evaluate(fit, x, objective = iwae(K = 10), seed = 1, n_threads = 1)
evaluate <- function(fit, x, objective = NULL, samples = 1, seed = NULL,
                     n_threads = NULL) {
  check_fit(fit)
  x <- check_data(x, ncol = fit$n_features)
  check_model_data(x, fit$model)
  if (is.null(objective)) objective <- fit$objective
  check_objective(objective)
  samples <- check_whole(samples)
  seed <- check_seed(seed)
  n_threads <- resolve_threads(check_n_threads(n_threads))
  check_combination(fit$model, objective)
  if (is.null(seed)) seed <- draw_seed()

  v <- cpp_evaluate(fit$model, objective, fit$state$par, x, fit_K(objective, fit),
                    samples, seed, n_threads, chunk_rows(), gradient = TRUE)
  v <- lapply(v, nan_to_na)
  tibble::tibble(
    objective = v$objective,
    reconstruction = v$reconstruction,
    kl = v$kl,
    grad_norm_sq = v$grad_norm_sq,
    grad_norm_sq_theta = v$grad_norm_sq_theta,
    grad_norm_sq_phi = v$grad_norm_sq_phi
  )
}
