#' Deep Gaussian variational autoencoder
#'
#' `gaussian_vae()` specifies a variational autoencoder with a Gaussian
#' decoder and a Gaussian encoder, both multilayer perceptrons. Pass it to
#' [fit_vae()] to train it.
#'
#' @details
#' The prior is \eqn{p(z) = N(0, I)} on \eqn{R^{d_z}}{R^d_z}, with
#' \eqn{d_z}{d_z} = `latent_dim`.
#'
#' **Decoder.** \eqn{p_\theta(x \mid z) = N(G_\theta(z), c^2 I)}{p_theta(x | z) = N(G_theta(z), c^2 I)},
#' where \eqn{G_\theta}{G_theta} maps \eqn{z} through dense layers whose
#' widths are those of `hidden` in reverse order, each followed by the
#' activation, and then through a linear output layer to the data dimension
#' (taken from the data at fitting time). With `hidden = c(128, 32)` the
#' decoder is \eqn{d_z \to 32 \to 128 \to d_x}{d_z -> 32 -> 128 -> d_x}, the
#' mirror image of the encoder.
#'
#' **Encoder.** \eqn{q_\phi(z \mid x) = N(\mu_\phi(x), \Sigma_\phi(x))}{q_phi(z | x) = N(mu_phi(x), Sigma_phi(x))}.
#' A trunk of dense layers with widths `hidden` (in order), each followed by
#' the activation, maps \eqn{x} to \eqn{h(x)}; two linear heads map
#' \eqn{h(x)} to the mean \eqn{\mu_\phi(x)}{mu_phi(x)} and to the diagonal
#' covariance
#' \deqn{\Sigma_\phi(x) = \mathrm{diag}\left(c_\Sigma + \mathrm{softplus}(A h(x) + a)\right),}{Sigma_phi(x) = diag(c_Sigma + softplus(A h(x) + a)),}
#' with \eqn{c_\Sigma}{c_Sigma} = `min_var`, so that every eigenvalue of
#' \eqn{\Sigma_\phi(x)}{Sigma_phi(x)} is at least `min_var`, as the
#' convergence theorem assumes. With no hidden layer (`hidden = NULL`),
#' \eqn{h(x) = x}, the mean is linear in \eqn{x} and the decoder is linear in
#' \eqn{z}.
#'
#' **Observation noise.** With `learn_obs_sd = FALSE` (the theorem's setting)
#' the decoder's standard deviation \eqn{c} is fixed at `obs_sd`. With
#' `learn_obs_sd = TRUE` it is a decoder parameter, learned on the log scale
#' (\eqn{\log c}{log c} is optimised, starting from `log(obs_sd)`); the
#' entropy-sum result of Damm et al. (2023) holds at stationary points of
#' this setting (see [entropy_sum()]).
#'
#' @param latent_dim The dimension \eqn{d_z}{d_z} of the latent space: a
#'   positive whole number.
#' @param hidden The widths of the encoder's hidden layers, from the data
#'   side: positive whole numbers. The decoder uses them in reverse order.
#'   `NULL` or `integer(0)` means no hidden layer.
#' @param activation The activation of the hidden layers: an object made by
#'   [soft_clip()], or one of `"soft_clip"`, `"tanh"`, `"softplus"`,
#'   `"sigmoid"`, `"relu"` and `"identity"`.
#' @param obs_sd The decoder's standard deviation \eqn{c}, or its initial
#'   value when `learn_obs_sd = TRUE`: a positive finite number.
#' @param learn_obs_sd Whether to learn \eqn{c}: `TRUE` or `FALSE`.
#' @param min_var The lower bound \eqn{c_\Sigma}{c_Sigma} of the encoder's
#'   variances: a positive finite number.
#'
#' @returns An object of class `c("vae_gaussian", "vae_model")`: a list with
#'   elements `type` (`"gaussian"`), `latent_dim` (an integer), `hidden` (an
#'   integer vector, possibly empty), `activation` (a `vae_activation`
#'   object), `obs_sd` (a double), `learn_obs_sd` (a logical) and `min_var`
#'   (a double).
#' @references
#' Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes.
#' *ICLR*.
#'
#' Surendran, S., Godichon-Baggioni, A. and Le Corff, S. (2025). Theoretical
#' convergence guarantees for variational autoencoders. *AISTATS*.
#' @family specifications
#' @export
#' @examples
#' gaussian_vae(latent_dim = 2)
#' gaussian_vae(latent_dim = 8, hidden = c(128, 32), activation = "tanh")
#' gaussian_vae(latent_dim = 2, hidden = NULL, learn_obs_sd = TRUE)
gaussian_vae <- function(latent_dim, hidden = c(64, 64),
                         activation = soft_clip(), obs_sd = 1,
                         learn_obs_sd = FALSE, min_var = 1e-4) {
  check_required(latent_dim)
  structure(
    list(
      type = "gaussian",
      latent_dim = check_whole(latent_dim, min = 1),
      hidden = check_whole_vector(
        hidden,
        what = "a vector of positive whole numbers or `NULL` (no hidden layer)"
      ),
      activation = as_activation(activation),
      obs_sd = check_number(obs_sd, lower = 0, lower_open = TRUE),
      learn_obs_sd = check_flag(learn_obs_sd),
      min_var = check_number(min_var, lower = 0, lower_open = TRUE)
    ),
    class = c("vae_gaussian", "vae_model")
  )
}

#' @export
print.vae_gaussian <- function(x, ...) {
  widths <- function(w) paste(c(w, ""), collapse = " -> ")
  cat(
    "<vae_gaussian> deep Gaussian VAE\n",
    "  latent_dim: ", x$latent_dim, "\n",
    "  encoder:    x -> ", widths(x$hidden),
    "z (mean; variance = ", format_num(x$min_var), " + softplus)\n",
    "  decoder:    z -> ", widths(rev(x$hidden)), "x (linear output)\n",
    "  activation: ", format(x$activation), "\n",
    "  obs_sd:     ", format_num(x$obs_sd),
    if (x$learn_obs_sd) " (initial value, learned)" else " (fixed)", "\n",
    sep = ""
  )
  invisible(x)
}

#' Check a model specification
#' @returns `model`, invisibly.
#' @noRd
check_model <- function(model, arg = rlang::caller_arg(model),
                        call = rlang::caller_env()) {
  check_spec(
    model, "vae_model",
    what = "a model specification made by `gaussian_vae()` or `linear_vae()`",
    arg = arg, call = call
  )
}
