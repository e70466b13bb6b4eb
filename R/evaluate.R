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
#' the estimate, which falls like `1 / (nrow(x) * samples)`. With
#' `samples >= 2`, `grad_norm_sq_unbiased` removes that bias: the draws are
#' split into two halves (the first `samples %/% 2` replicates of every row
#' and the others), whose gradients \eqn{g_1, g_2} are independent unbiased
#' estimates of the gradient \eqn{\nabla L}, so that
#' \eqn{E[g_1^\top g_2] = \|\nabla L\|^2}{E[g_1' g_2] = ||grad L||^2}
#' exactly, where \eqn{E\|g\|^2 = \|\nabla L\|^2 + \mathrm{tr} \mathrm{Var}(g)}{E ||g||^2 = ||grad L||^2 + tr Var(g)}.
#' Under [iwae()] a replicate is `K` draws, and each half's gradient is an
#' unbiased estimate of the gradient of the IWAE bound. Being an inner
#' product, the estimate can be negative when the gradient is small beside
#' its noise. It is `NA` with `samples = 1`, and equal to `grad_norm_sq`
#' for `elbo(exact = TRUE)`, which makes no draws.
#'
#' The draws are keyed by the seed and the row, so the result is the same
#' for any `n_threads`.
#'
#' @section Stopping early:
#' An interrupt (Ctrl-C) or a time limit set with [setTimeLimit()] stops
#' the computation between two rounds of chunks of rows (a chunk holds a few rows and their
#' draws), with no thread left working; the
#' interrupt is then signalled again as R signals one (so
#' `tryCatch(interrupt = )` sees it, and otherwise R returns to its
#' prompt), or the time limit's error raised again. Nothing is returned.
#' This holds whether or not the progress bar is shown.
#'
#' @inheritParams log_likelihood
#' @param progress Whether to show a progress bar (chunks of rows done and the time left;
#'   shown only when the computation lasts more than a couple of seconds).
#' @param objective `NULL` for the fit's objective, or another objective
#'   ([elbo()], [iwae()]).
#' @param samples Replicates of the objective's draws per row: a positive
#'   whole number.
#' @returns A one-row tibble with, per data point, `objective` and its parts
#'   `reconstruction` and `kl` (`NA` under [iwae()]), and the squared norms
#'   of the gradient of the mean objective, `grad_norm_sq`, with its decoder
#'   part `grad_norm_sq_theta` and encoder part `grad_norm_sq_phi`, and
#'   `grad_norm_sq_unbiased`, an unbiased estimate of the squared norm of the
#'   gradient (see Details).
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
                     n_threads = NULL, progress = interactive()) {
  v <- full_data_pass(fit, x, objective, samples, seed, n_threads, progress,
                      return_gradient = FALSE, name = "Evaluating")
  v <- lapply(v, nan_to_na)
  tibble::tibble(
    objective = v$objective,
    reconstruction = v$reconstruction,
    kl = v$kl,
    grad_norm_sq = v$grad_norm_sq,
    grad_norm_sq_theta = v$grad_norm_sq_theta,
    grad_norm_sq_phi = v$grad_norm_sq_phi,
    grad_norm_sq_unbiased = v$grad_norm_sq_unbiased
  )
}

#' The full-data gradient at a fit's parameters
#'
#' `gradient()` returns the gradient of the objective on all the rows of `x`
#' at the parameters a fit ended with: the vector whose squared norm
#' [evaluate()] reports as `grad_norm_sq` (and the trajectory as
#' `full_grad_norm_sq`), so that other statistics of it can be computed
#' (norms of single blocks, angles with other gradients, ...).
#'
#' @details
#' The gradient is that of the objective to be maximised, a mean over the
#' rows in nats per data point, taken with the objective's own estimator and
#' `samples` replicates of its draws per row, keyed by `seed` and the row
#' exactly as in [evaluate()]: `evaluate(fit, x, objective, samples, seed)`
#' with the same arguments reports the squared norm of this vector. For the
#' linear VAE under `elbo(exact = TRUE)` it is exact (no draws).
#'
#' The blocks are those of [coef()], with the same names and shapes, so
#' `unlist(gradient(fit, x))` is the flat gradient in the order of the
#' fit's parameter vector, and `mapply(function(p, g) p + 0.01 * g,
#' coef(fit), gradient(fit, x))` is a step of gradient ascent.
#'
#' An interrupt (Ctrl-C) or a time limit stops `gradient()` as it stops
#' [evaluate()]: every thread stops and R's interrupt (or the time limit's
#' error) is signalled, with no result.
#'
#' @inheritParams evaluate
#' @returns A named list of numeric matrices, one per parameter block, with
#'   the names and dimensions of `coef(fit)`.
#' @seealso [evaluate()] for its squared norm and the objective's value.
#' @family using a fit
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 200, seed = 1, n_threads = 1)
#' g <- gradient(fit, x, samples = 10, seed = 1, n_threads = 1)
#' str(g)
#' # The squared norm per block; the sum is evaluate()'s grad_norm_sq.
#' vapply(g, function(b) sum(b^2), numeric(1))
gradient <- function(fit, x, objective = NULL, samples = 1, seed = NULL,
                     n_threads = NULL, progress = interactive()) {
  v <- full_data_pass(fit, x, objective, samples, seed, n_threads, progress,
                      return_gradient = TRUE, name = "Gradient")
  unflatten(fit$model, fit$n_features, v$grad)
}

#' The full-data pass of evaluate() and gradient()
#'
#' Validates their arguments (errors blame `call`), draws the seed when it is
#' `NULL`, runs the objective and its gradient over every row of `x` in
#' compiled code, and signals again a stop (interrupt or time limit) that
#' the compiled code caught once its threads have stopped.
#' @returns The list of cpp_evaluate(); with `return_gradient`, its `grad`.
#' @noRd
full_data_pass <- function(fit, x, objective, samples, seed, n_threads, progress,
                           return_gradient, name, call = rlang::caller_env()) {
  check_required(fit, call = call)
  check_fit(fit, call = call)
  check_required(x, call = call)
  x <- check_new_data(x, fit, call = call)
  check_model_data(x, fit$model, call = call)
  if (is.null(objective)) objective <- fit$objective
  check_objective(objective, call = call)
  samples <- check_whole(samples, call = call)
  seed <- check_seed(seed, call = call)
  n_threads <- resolve_threads(check_n_threads(n_threads, call = call))
  progress <- check_flag(progress, call = call)
  check_combination(fit$model, objective, call = call)
  if (is.null(seed)) seed <- draw_seed()
  v <- cpp_evaluate(fit$model, objective, fit$state$par, x, fit_K(objective, fit),
                    samples, seed, n_threads, chunk_rows(), gradient = TRUE,
                    return_gradient = return_gradient, progress = progress, name = name)
  signal_stop(v)
}
