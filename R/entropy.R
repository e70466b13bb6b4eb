#' The ELBO beside the sum of three entropies
#'
#' `entropy_sum()` sets the ELBO of a fitted Gaussian VAE beside the "three
#' entropies" of Damm et al. (2023), which it equals at stationary points of
#' the ELBO under their conditions: the decoder's standard deviation \eqn{c}
#' is learned (`learn_obs_sd = TRUE` in [linear_vae()] or [gaussian_vae()])
#' and the encoder's variances can be rescaled by a common factor by moving
#' the parameters. Their relative difference shows how close a fit is to
#' stationarity.
#'
#' @details
#' For data \eqn{x_1, \dots, x_N}{x_1, ..., x_N} of dimension \eqn{D} the sum
#' of entropies is
#' \deqn{\frac{1}{N} \sum_n H(q(z \mid x_n)) - H(p(z)) - E[H(p(x \mid z))]
#'   = -\frac{D}{2} \log(2 \pi e c^2) + \frac{1}{2} \frac{1}{N} \sum_n \sum_h \log \sigma_h^2(x_n),}{(1/N) sum_n H(q(z | x_n)) - H(p(z)) - E[H(p(x | z))] = -(D/2) log(2 pi e c^2) + (1/2) mean_n sum_h log sigma_h^2(x_n),}
#' where \eqn{\sigma_h^2(x)}{sigma_h^2(x)} are the encoder's variances (for
#' the linear VAE, \eqn{\tau_h^2}{tau_h^2}, the same for every row; with a
#' full covariance the sum of their logarithms is
#' \eqn{\log \det \Sigma(x)}{log det Sigma(x)}) and
#' \eqn{c} the decoder's standard deviation at the fitted parameters. With
#' a decoder variance that depends on \eqn{z} (`obs_sd_from_z = TRUE`,
#' Damm et al.'s VAE-3) the decoder's entropy is
#' \eqn{E[H(p(x \mid z))] = \frac{D}{2} \log(2 \pi e) + \frac1N \sum_n E_{q(z \mid x_n)} \sum_j \log c_j(z)}{E[H(p(x | z))] = (D/2) log(2 pi e) + mean_n E_q(z | x_n) sum_j log c_j(z)},
#' its expectation estimated with `draws` draws of \eqn{z} per row. Bernoulli
#' decoders ([bernoulli_vae()]) are refused: the result is for Gaussian
#' decoders. The
#' ELBO is the plain ELBO (\eqn{\beta = 1}{beta = 1}, whatever the fit's
#' objective) averaged over the rows of `x`, in nats per data point:
#' * for a linear VAE, exact: the expectation over \eqn{q} is taken in closed
#'   form (as by `elbo(exact = TRUE)`), so `draws` and `seed` are not used;
#' * for a deep Gaussian VAE, a Monte Carlo estimate with `draws`
#'   reparameterised draws of \eqn{z} per row (the KL term is exact), keyed
#'   by `seed` and the row, so the result does not depend on `n_threads`.
#'   Its standard error is of order
#'   \eqn{\mathrm{sd} / \sqrt{N \cdot draws}}{sd / sqrt(N draws)}.
#'   A row's draws are decoded in pieces, so memory does not grow with
#'   `draws` (the result is the same to the bit as in one piece).
#'
#' The equality ELBO = entropy sum holds at stationary points of the ELBO of
#' the data `x` in all the parameters, \eqn{c} included (with \eqn{c} fixed
#' it does not hold in general, and `entropy_sum()` warns on such a fit), so
#' evaluate it on the data the model was fitted on. The linear VAE meets the
#' second condition exactly (its
#' variances are \eqn{\exp} of free parameters). The variance head of
#' [gaussian_vae()], `min_var + softplus(.)`, cannot in general rescale all
#' the variances by one factor, so for the deep model the equality is an
#' approximation whose quality the relative difference measures, not a
#' guarantee. The relative difference is
#' \eqn{(\mathrm{ELBO} - \mathrm{entropy\ sum}) / |\mathrm{ELBO}|}{(ELBO - entropy sum) / |ELBO|}:
#' positive when the ELBO is above the entropy sum, and 0 at a stationary
#' point.
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
#' @param fit A `vae_fit` from [fit_vae()].
#' @param x A numeric matrix or data frame with the columns of the data the
#'   model was fitted on (usually that data).
#' @param draws Draws of \eqn{z} per row for the Monte Carlo ELBO of a deep
#'   model: a positive whole number.
#' @param seed `NULL` or a whole number in \[0, 2147483647\]: the key of the
#'   draws. `NULL` takes one draw from R's generator (only for a deep model),
#'   so [set.seed()] reproduces the result.
#' @param n_threads Threads for the computation, as in [fit_vae()]; the
#'   result does not depend on it.
#' @param progress Whether to show a progress bar (chunks of rows done and
#'   the time left; shown only when the computation lasts more than a couple
#'   of seconds).
#' @returns A one-row tibble with columns `elbo` (nats per data point),
#'   `entropy_sum` (nats per data point) and `relative_difference`.
#' @references
#' Damm, S., Forster, D., Velychko, D., Dai, Z., Fischer, A. and Lücke, J.
#' (2023). The ELBO of variational autoencoders converges to a sum of
#' entropies. *AISTATS*.
#' @family diagnostics
#' @export
#' @examples
#' # Data from probabilistic PCA with 2 components in 8 dimensions
#' set.seed(1)
#' x <- matrix(rnorm(1000 * 2), 1000, 2) %*% matrix(rnorm(2 * 8), 2, 8) +
#'   matrix(rnorm(1000 * 8, sd = 0.5), 1000, 8)
#' fit <- fit_vae(x, linear_vae(2, learn_obs_sd = TRUE), elbo(exact = TRUE),
#'                adam(lr = 0.1, decay = 0.3), batch_size = 250,
#'                iterations = 1000, seed = 1, n_threads = 1)
#' entropy_sum(fit, x)
#'
#' # A deep model: the ELBO is estimated with `draws` draws per row
#' deep <- fit_vae(x, gaussian_vae(2, hidden = 16, learn_obs_sd = TRUE),
#'                 iterations = 300, seed = 1, n_threads = 1)
#' entropy_sum(deep, x, draws = 20, seed = 1, n_threads = 1)
entropy_sum <- function(fit, x, draws = 100, seed = NULL, n_threads = NULL,
                        progress = interactive()) {
  check_required(fit)
  check_fit(fit)
  check_required(x)
  x <- check_new_data(x, fit)
  draws <- check_whole(draws)
  seed <- check_seed(seed)
  n_threads <- resolve_threads(check_n_threads(n_threads))
  progress <- check_flag(progress)
  model <- fit$model
  if (!inherits(model, c("vae_gaussian", "vae_linear"))) {
    abort_input(
      c("{.arg fit} must have a Gaussian decoder, not {describe_model(model)}.",
        i = "The ELBO equals a sum of three entropies at stationary points for Gaussian decoders (Damm et al. 2023); a Bernoulli decoder's entropy has no such role."),
      arg = "fit"
    )
  }
  if (!isTRUE(model$learn_obs_sd) && !isTRUE(model$obs_sd_from_z)) {
    cli::cli_warn(
      c("{.arg fit} has a fixed observation sd ({.code obs_sd = {format_num(model$obs_sd)}}), so the ELBO need not equal the entropy sum at its stationary points.",
        i = "The three-entropies identity holds where the decoder's sd is at its stationary value: fit with {.code learn_obs_sd = TRUE} (or {.code obs_sd_from_z = TRUE}).",
        i = "{.field relative_difference} then says nothing about how close {.arg fit} is to stationarity."),
      class = c("vaeconv_warning_fixed_obs_sd", "vaeconv_warning")
    )
  }
  par <- fit$state$par
  linear <- inherits(model, "vae_linear")
  if (linear) {
    objective <- elbo(exact = TRUE)
    draws <- 1L
    seed <- 0L
  } else {
    objective <- elbo()
    if (is.null(seed)) seed <- draw_seed()
  }
  value <- cpp_evaluate(model, objective, par, x, 1L, draws, seed, n_threads,
                        chunk_rows(), progress = progress, name = "Entropy sum")
  value <- signal_stop(value)$objective
  q <- cpp_encode(model, par, x)
  # E[H(p(x | z))], the decoder's entropy: (D/2) log(2 pi e c^2), or with
  # c(z) its expectation under q, (D/2) log(2 pi e) + E_q[sum_j log c_j(z)].
  decoder <- if (isTRUE(model$obs_sd_from_z)) {
    ncol(x) / 2 * log(2 * pi * exp(1)) + ncol(x) * decoder_log_sd(model, par, x, q, draws, seed)
  } else {
    ncol(x) / 2 * log(2 * pi * exp(1) * obs_sd(fit)^2)
  }
  # (1/N) sum_n H(q(z | x_n)) - H(p(z)) = (1/2) mean_n log det Sigma(x_n)
  encoder <- if (identical(model$covariance, "full")) {
    0.5 * mean(q$log_det)
  } else {
    0.5 * mean(rowSums(log(q$var)))
  }
  entropies <- -decoder + encoder
  tibble::tibble(
    elbo = value,
    entropy_sum = entropies,
    relative_difference = (value - entropies) / abs(value)
  )
}

#' E_q[mean_j log c_j(z)] averaged over the rows of x, by `draws` draws of z
#' per row (keyed by `seed`, the draw and the row): the decoder's entropy
#' part for a variance that depends on z
#' @noRd
decoder_log_sd <- function(model, par, x, q, draws, seed) {
  total <- 0
  for (d in seq_len(draws)) {
    e <- cpp_normals(seed, stream_id("estimate"), d, 0, nrow(x), model$latent_dim)
    z <- if (identical(model$covariance, "full")) {
      # z = mu + C e with C the Cholesky factor of each row's covariance
      dz <- model$latent_dim
      q$mean + matrix(vapply(seq_len(nrow(x)), function(i) {
        drop(t(chol(matrix(q$covariance[i, ], dz, dz))) %*% e[i, ])
      }, numeric(dz)), ncol = dz, byrow = TRUE)
    } else {
      q$mean + sqrt(q$var) * e
    }
    v <- cpp_decode(model, par, z, ncol(x), "variance")
    total <- total + 0.5 * mean(log(v))
  }
  total / draws
}
