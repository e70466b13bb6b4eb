#' Active and collapsed latent dimensions
#'
#' `latent_activity()` tells, for each latent dimension of a fitted VAE,
#' whether the encoder uses it or whether its posterior has collapsed onto
#' the prior: a collapsed latent \eqn{z_j} has \eqn{q(z_j \mid x) \approx
#' N(0, 1)}{q(z_j | x) ~ N(0, 1)} whatever \eqn{x}, so it carries no
#' information about the data and the decoder ignores it.
#'
#' @details
#' With \eqn{\mu_j(x)} and \eqn{\sigma_j^2(x)} the mean and variance of the
#' encoder's \eqn{q(z_j \mid x)}{q(z_j | x)} (a diagonal Gaussian), over the
#' rows \eqn{x_1, \dots, x_N}{x_1, ..., x_N} of `x`:
#' * `activity` \eqn{= \mathrm{Cov}_x(E_q[z_j]) = \frac1N \sum_i (\mu_j(x_i) - \bar\mu_j)^2}{= Cov_x(E_q[z_j]) = mean_i (mu_j(x_i) - mean(mu_j))^2},
#'   how much the encoder's mean moves with the data. Burda et al. (2016)
#'   call a unit active when it exceeds 0.01; a collapsed latent has an
#'   activity near 0.
#' * `entropy` \eqn{= \frac1N \sum_i \frac12 \log(2 \pi e \sigma_j^2(x_i))}{= mean_i (1/2) log(2 pi e sigma_j^2(x_i))},
#'   the encoder's average entropy in nats, the quantity whose value at
#'   stationary points Damm et al. (2023) relate to the ELBO (see
#'   [entropy_sum()]): it is the prior's, \eqn{\frac12 \log(2 \pi e) =
#'   1.419}{(1/2) log(2 pi e) = 1.419}, for a collapsed latent, and lower
#'   the more precisely the encoder locates \eqn{z_j}.
#' * `kl` \eqn{= \frac1N \sum_i KL(q(z_j \mid x_i) \| N(0, 1))
#'   = \frac1N \sum_i \frac12 (\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)}{= mean_i KL(q(z_j | x_i) || N(0, 1)) = mean_i (1/2) (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)},
#'   the latent's share of the ELBO's KL term in nats per data point (they
#'   add up to the trajectory's `kl` on the same data): near 0 for a
#'   collapsed latent.
#' * `collapsed`: `activity < threshold`.
#'
#' A fit keeps the result on its data (at most 256 evenly spaced rows) at
#' the end of training, and `print()` says how many latents are collapsed.
#'
#' @inheritParams log_likelihood
#' @param threshold The activity below which a latent counts as collapsed:
#'   a non-negative number (Burda et al.'s 0.01 by default).
#' @returns A tibble with a row per latent dimension: `latent` (`"z1"`,
#'   `"z2"`, ...), `activity`, `entropy`, `kl` and `collapsed`.
#' @references
#' Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted
#' autoencoders. *ICLR* (section 5.2, active units).
#'
#' Damm, S., Forster, D., Velychko, D., Dai, Z., Fischer, A. and Lücke, J.
#' (2023). The ELBO of variational autoencoders converges to a sum of
#' entropies. *AISTATS*.
#'
#' Lucas, J., Tucker, G., Grosse, R. and Norouzi, M. (2019). Don't blame the
#' ELBO! A linear VAE perspective on posterior collapse. *NeurIPS*.
#' @family diagnostics
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' # With obs_sd = 1 the reconstruction term is weak beside the KL term:
#' # every latent collapses onto the prior.
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 4, hidden = 32),
#'                optimizer = adam(lr = 1e-2), iterations = 1000, seed = 1,
#'                n_threads = 1)
#' latent_activity(fit, x)
#' # A smaller obs_sd makes the data worth encoding: every latent is active.
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 4, hidden = 32, obs_sd = 0.1),
#'                optimizer = adam(lr = 1e-2), iterations = 1000, seed = 1,
#'                n_threads = 1)
#' latent_activity(fit, x)
latent_activity <- function(fit, x, threshold = 0.01) {
  check_required(fit)
  check_fit(fit)
  check_required(x)
  x <- check_new_data(x, fit)
  threshold <- check_number(threshold, lower = 0)
  latent_table(fit$model, fit$state$par, x, threshold)
}

#' The latent activity table from a model, its parameters and checked data
#' @noRd
latent_table <- function(model, par, x, threshold = 0.01) {
  q <- cpp_encode(model, par, x)
  mu <- q$mean
  var <- q$var
  k <- ncol(mu)
  centred <- mu - rep(colMeans(mu), each = nrow(mu))
  activity <- colMeans(centred^2)
  tibble::tibble(
    latent = paste0("z", seq_len(k)),
    activity = activity,
    entropy = colMeans(0.5 * log(2 * pi * exp(1) * var)),
    kl = colMeans(0.5 * (mu^2 + var - 1 - log(var))),
    collapsed = activity < threshold
  )
}

#' The latent activity a fit keeps: on at most `max_rows` evenly spaced rows
#' of its data, `NULL` when the parameters are not finite
#' @noRd
fit_latents <- function(model, par, x, max_rows = 256) {
  if (!all(is.finite(par))) return(NULL)
  n <- nrow(x)
  if (n > max_rows) x <- x[unique(round(seq(1, n, length.out = max_rows))), , drop = FALSE]
  out <- latent_table(model, par, x)
  if (anyNA(out$activity)) NULL else out
}
