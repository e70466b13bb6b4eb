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
#' With `obs_sd_from_z = TRUE` the decoder's variance depends on \eqn{z} and
#' on the data dimension: a second linear output head \eqn{U_\theta}{U_theta}
#' on the decoder's last hidden layer gives
#' \eqn{c_j^2(z) = c_\Sigma + \mathrm{softplus}(U_{\theta,j}(z))}{c_j^2(z) = c_Sigma + softplus(U_theta,j(z))}
#' (with \eqn{c_\Sigma}{c_Sigma} = `min_var`), so
#' \eqn{p_\theta(x \mid z) = N(G_\theta(z), \mathrm{diag}(c^2(z)))}{p_theta(x | z) = N(G_theta(z), diag(c^2(z)))}:
#' the VAE lecture's \eqn{\sigma^2_\theta(z)}{sigma^2_theta(z)} and Damm et
#' al.'s VAE-3. The head's weights start at random and its bias so that
#' \eqn{c_j^2 = }{c_j^2 = }`obs_sd^2` where they vanish. Its parameter blocks are
#' `decoder.var.weight` and `decoder.var.bias`.
#'
#' **Covariance.** `covariance = "diagonal"` is the encoder above. With
#' `covariance = "full"` the variance head is replaced by a head of
#' \eqn{d_z (d_z + 1) / 2}{d_z (d_z + 1) / 2} units that fill, column by
#' column, a lower triangular \eqn{L(x)}, and
#' \deqn{\Sigma_\phi(x) = c_\Sigma I + L(x) L(x)^\top,}{Sigma_phi(x) = c_Sigma I + L(x) L(x)',}
#' so that every eigenvalue of \eqn{\Sigma_\phi(x)}{Sigma_phi(x)} is at least
#' \eqn{c_\Sigma}{c_Sigma} exactly, as the theorem assumes (the lecture's
#' \eqn{\Sigma_\phi: X \to Z \otimes Z}{Sigma_phi : X -> Z (x) Z}). Draws are
#' \eqn{z = \mu + C \varepsilon}{z = mu + C epsilon} with \eqn{C} the
#' Cholesky factor of \eqn{\Sigma}{Sigma}, which also gives
#' \eqn{\log q}{log q} and the KL divergence to the prior. The head's blocks
#' are `cov.weight` and `cov.bias`; its bias starts at
#' \eqn{L = \sqrt{1 - c_\Sigma} I}{L = sqrt(1 - c_Sigma) I}, so
#' \eqn{\Sigma = I}{Sigma = I} where its weights vanish.
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
#'   variances (and of the decoder's with `obs_sd_from_z = TRUE`): a positive
#'   finite number.
#' @param covariance The encoder's covariance: `"diagonal"` or `"full"`
#'   (\eqn{c_\Sigma I + L L^\top}{c_Sigma I + L L'}).
#' @param obs_sd_from_z Whether the decoder's variance is a function of
#'   \eqn{z}, one per data dimension (a second output head): `TRUE` or
#'   `FALSE`. With `TRUE`, `obs_sd` is its initial value and `learn_obs_sd`
#'   must be `FALSE`.
#'
#' @returns An object of class `c("vae_gaussian", "vae_model")`: a list with
#'   elements `type` (`"gaussian"`), `latent_dim` (an integer), `hidden` (an
#'   integer vector, possibly empty), `activation` (a `vae_activation`
#'   object), `obs_sd` (a double), `learn_obs_sd` (a logical), `min_var`
#'   (a double), `covariance` (a string) and `obs_sd_from_z` (a logical).
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
#' gaussian_vae(latent_dim = 2, hidden = 16, obs_sd_from_z = TRUE)
gaussian_vae <- function(latent_dim, hidden = c(64, 64),
                         activation = soft_clip(), obs_sd = 1,
                         learn_obs_sd = FALSE, min_var = 1e-4,
                         covariance = c("diagonal", "full"),
                         obs_sd_from_z = FALSE) {
  check_required(latent_dim)
  model <- list(
    type = "gaussian",
    latent_dim = check_whole(latent_dim, min = 1),
    hidden = check_whole_vector(
      hidden,
      what = "a vector of positive whole numbers or `NULL` (no hidden layer)"
    ),
    activation = as_activation(activation),
    obs_sd = check_number(obs_sd, lower = 0, lower_open = TRUE),
    learn_obs_sd = check_flag(learn_obs_sd),
    min_var = check_number(min_var, lower = 0, lower_open = TRUE),
    covariance = check_covariance(covariance),
    obs_sd_from_z = check_flag(obs_sd_from_z)
  )
  if (model$learn_obs_sd && model$obs_sd_from_z) {
    abort_input(
      c("{.arg learn_obs_sd} must be `FALSE` when {.code obs_sd_from_z = TRUE}.",
        i = "The decoder's variance is then a function of z, learned through its own head."),
      arg = "learn_obs_sd"
    )
  }
  structure(model, class = c("vae_gaussian", "vae_model"))
}

#' Check an encoder covariance: one of the core's covariances
#' @noRd
check_covariance <- function(covariance, arg = rlang::caller_arg(covariance),
                             call = rlang::caller_env()) {
  check_choice(covariance, core_choices("covariance"), arg = arg, call = call)
}

#' @export
print.vae_gaussian <- function(x, ...) {
  widths <- function(w) paste(c(w, ""), collapse = " -> ")
  cat(
    "<vae_gaussian> deep Gaussian VAE\n",
    "  latent_dim: ", x$latent_dim, "\n",
    "  encoder:    x -> ", widths(x$hidden), "z (mean; ", describe_covariance(x), ")\n",
    "  decoder:    z -> ", widths(rev(x$hidden)), "x (linear output",
    if (isTRUE(x$obs_sd_from_z)) "; variance head" else "", ")\n",
    "  activation: ", format(x$activation), "\n",
    "  obs_sd:     ", format_num(x$obs_sd),
    if (isTRUE(x$obs_sd_from_z)) {
      paste0(" (initial value; c_j^2(z) = ", format_num(x$min_var), " + softplus, per dimension)")
    } else if (x$learn_obs_sd) {
      " (initial value, learned)"
    } else {
      " (fixed)"
    }, "\n",
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
    what = "a model specification made by `gaussian_vae()`, `bernoulli_vae()` or `linear_vae()`",
    arg = arg, call = call
  )
}

#' Linear variational autoencoder
#'
#' `linear_vae()` specifies a variational autoencoder whose decoder and
#' encoder are linear (affine) maps: the VAE of probabilistic PCA, whose
#' objective, gradient, optimum and log-likelihood are known in closed form.
#' Pass it to [fit_vae()] to train it.
#'
#' @details
#' The prior is \eqn{p(z) = N(0, I)} on \eqn{R^{d_z}}{R^d_z}, with
#' \eqn{d_z}{d_z} = `latent_dim`; the data dimension \eqn{d}{d} is taken from
#' the data at fitting time.
#'
#' **Decoder.** \eqn{p_\theta(x \mid z) = N(W z + \mu, c^2 I)}{p_theta(x | z) = N(W z + mu, c^2 I)}
#' with \eqn{W}{W} a \eqn{d \times d_z}{d x d_z} matrix (parameter block `W`)
#' and \eqn{\mu}{mu} a vector (`mu`); \eqn{\theta = (W, \mu)}{theta = (W, mu)},
#' and \eqn{\log c}{log c} (`log_obs_sd`) when learned.
#'
#' **Encoder.** \eqn{q_\phi(z \mid x) = N(V x + b, \mathrm{diag}(\tau^2))}{q_phi(z | x) = N(V x + b, diag(tau^2))}
#' with \eqn{V}{V} a \eqn{d_z \times d}{d_z x d} matrix (`V`), \eqn{b}{b}
#' a vector (`b`) and variances \eqn{\tau^2 = \exp(\lambda)}{tau^2 = exp(lambda)}
#' that do not depend on \eqn{x} (the block `log_tau2` holds
#' \eqn{\lambda}{lambda}); \eqn{\phi = (V, b, \lambda)}{phi = (V, b, lambda)}.
#' Initially \eqn{W}{W} and \eqn{V}{V} are drawn with independent
#' \eqn{N(0, 1/\mathrm{fan\_in})}{N(0, 1 / fan_in)} entries, \eqn{\mu}{mu},
#' \eqn{b}{b} and \eqn{\lambda}{lambda} are zero (so \eqn{\tau^2 = 1}{tau^2 = 1}).
#'
#' **Closed forms.** The marginal likelihood is that of probabilistic PCA,
#' \eqn{p_\theta(x) = N(\mu, W W^\top + c^2 I)}{p_theta(x) = N(mu, W W' + c^2 I)},
#' maximised by the Tipping & Bishop solution ([ppca()]). The expectation in
#' the ELBO is available exactly,
#' \deqn{E_q \|x - W z - \mu\|^2 = \|x - W m - \mu\|^2 + \sum_j \tau_j^2 \|W_{\cdot j}\|^2, \quad m = V x + b,}{E_q ||x - W z - mu||^2 = ||x - W m - mu||^2 + sum_j tau_j^2 ||W[, j]||^2, m = V x + b,}
#' which [elbo()] uses with `exact = TRUE`: the gradient's only noise is then
#' the minibatch. When the columns of \eqn{W}{W} are orthogonal, the exact
#' posterior \eqn{p_\theta(z \mid x)}{p_theta(z | x)} belongs to the encoder's
#' family, \eqn{V = M^{-1} W^\top}{V = M^-1 W'}, \eqn{b = -V \mu}{b = -V mu},
#' \eqn{\tau_j^2 = c^2 / M_{jj}}{tau_j^2 = c^2 / M_jj} with
#' \eqn{M = W^\top W + c^2 I}{M = W'W + c^2 I}, and there the ELBO equals the
#' log-likelihood. With `eval_every > 0`, the trajectory of a linear VAE also
#' carries the exact log-likelihood of the training data and its gap to the
#' pPCA optimum (see [trajectory()]).
#'
#' **Observation noise.** With `learn_obs_sd = FALSE` the decoder's standard
#' deviation \eqn{c} is fixed at `obs_sd`; with `learn_obs_sd = TRUE` it is
#' learned on the log scale, starting from `obs_sd`, the setting of the
#' entropy-sum result ([entropy_sum()]).
#'
#' @inheritParams gaussian_vae
#' @returns An object of class `c("vae_linear", "vae_model")`: a list with
#'   elements `type` (`"linear"`), `latent_dim` (an integer), `obs_sd` (a
#'   double) and `learn_obs_sd` (a logical).
#' @references
#' Tipping, M. E. and Bishop, C. M. (1999). Probabilistic principal component
#' analysis. *Journal of the Royal Statistical Society, Series B*, 61(3),
#' 611--622.
#'
#' Lucas, J., Tucker, G., Grosse, R. and Norouzi, M. (2019). Don't blame the
#' ELBO! A linear VAE perspective on posterior collapse. *NeurIPS*.
#' @family specifications
#' @export
#' @examples
#' linear_vae(latent_dim = 2)
#' linear_vae(latent_dim = 3, obs_sd = 0.5, learn_obs_sd = TRUE)
#'
#' # Data from probabilistic PCA with 2 components in 8 dimensions
#' set.seed(1)
#' x <- matrix(rnorm(1000 * 2), 1000, 2) %*% matrix(rnorm(2 * 8), 2, 8) +
#'   matrix(rnorm(1000 * 8, sd = 0.5), 1000, 8)
#'
#' # Trained with the exact ELBO; the gap to the pPCA optimum closes
#' fit <- fit_vae(x, linear_vae(2, learn_obs_sd = TRUE), elbo(exact = TRUE),
#'                adam(lr = 0.1, decay = 0.3), batch_size = 250,
#'                iterations = 1000, eval_every = 200, seed = 1, n_threads = 1)
#' tr <- trajectory(fit)
#' tr[!is.na(tr$full_loglik), c("iteration", "full_objective", "full_loglik", "loglik_gap")]
linear_vae <- function(latent_dim, obs_sd = 1, learn_obs_sd = FALSE) {
  check_required(latent_dim)
  structure(
    list(
      type = "linear",
      latent_dim = check_whole(latent_dim, min = 1),
      obs_sd = check_number(obs_sd, lower = 0, lower_open = TRUE),
      learn_obs_sd = check_flag(learn_obs_sd)
    ),
    class = c("vae_linear", "vae_model")
  )
}

#' @export
print.vae_linear <- function(x, ...) {
  cat(
    "<vae_linear> linear VAE (probabilistic PCA)\n",
    "  latent_dim: ", x$latent_dim, "\n",
    "  encoder:    q(z | x) = N(V x + b, diag(tau^2)), tau free of x\n",
    "  decoder:    p(x | z) = N(W z + mu, obs_sd^2 I)\n",
    "  obs_sd:     ", format_num(x$obs_sd),
    if (x$learn_obs_sd) " (initial value, learned)" else " (fixed)", "\n",
    sep = ""
  )
  invisible(x)
}

#' Bernoulli and continuous Bernoulli variational autoencoders
#'
#' `bernoulli_vae()` specifies a variational autoencoder for data in
#' \eqn{\{0, 1\}}{{0, 1}} (a Bernoulli decoder) or, with
#' `continuous = TRUE`, for data in \eqn{[0, 1]} (a continuous Bernoulli
#' decoder). The encoder is that of [gaussian_vae()]. Pass it to
#' [fit_vae()] to train it.
#'
#' @details
#' The prior is \eqn{p(z) = N(0, I)}; the decoder network
#' \eqn{G_\theta}{G_theta} is that of [gaussian_vae()] (the widths of
#' `hidden` reversed, then a linear output layer), and its outputs are
#' logits \eqn{\eta = G_\theta(z)}{eta = G_theta(z)}, one per data
#' dimension.
#'
#' **Bernoulli** (`continuous = FALSE`, the decoder of the convergence
#' paper's official code):
#' \deqn{\log p_\theta(x \mid z) = \sum_j x_j \eta_j - \log(1 + e^{\eta_j}),}{log p_theta(x | z) = sum_j x_j eta_j - log(1 + exp(eta_j)),}
#' for \eqn{x_j \in \{0, 1\}}{x_j in {0, 1}}: a probability, so the
#' objectives are in nats per data point and bounded above by 0.
#'
#' **Continuous Bernoulli** (`continuous = TRUE`; Loaiza-Ganem and
#' Cunningham 2019): the density on \eqn{[0, 1]}
#' \eqn{p(x \mid \lambda) = C(\lambda) \lambda^x (1 - \lambda)^{1 - x}}{p(x | lambda) = C(lambda) lambda^x (1 - lambda)^(1 - x)}
#' with \eqn{\lambda = \mathrm{sigmoid}(\eta)}{lambda = sigmoid(eta)} and the
#' normalising constant
#' \eqn{C(\lambda) = 2 \,\mathrm{atanh}(1 - 2\lambda) / (1 - 2\lambda)}{C(lambda) = 2 atanh(1 - 2 lambda) / (1 - 2 lambda)},
#' which in the logit is \eqn{C = \eta / \tanh(\eta / 2)}{C = eta / tanh(eta / 2)}
#' (2 at \eqn{\eta = 0}{eta = 0}). Its logarithm is evaluated by a series
#' for \eqn{|\eta| < 0.25}{|eta| < 0.25} and, elsewhere, as
#' \eqn{\log a - \log(1 - e^{-a}) + \log(1 + e^{-a})}{log a - log(1 - exp(-a)) + log(1 + exp(-a))}
#' with \eqn{a = |\eta|}{a = |eta|}, so it neither cancels near
#' \eqn{\lambda = 1/2}{lambda = 1/2} nor overflows for extreme logits. Grey
#' levels in \eqn{[0, 1]} (such as `digits / 16`) then get a proper density,
#' rather than the unnormalised cross-entropy of a Bernoulli decoder.
#'
#' [decode()], [reconstruct()] and [generate()] give
#' \eqn{E[x \mid z]}{E[x | z]}: the probabilities \eqn{\lambda}{lambda}
#' for a Bernoulli, the mean
#' \eqn{\lambda / (2\lambda - 1) + 1 / (2 \,\mathrm{atanh}(1 - 2\lambda))}{lambda / (2 lambda - 1) + 1 / (2 atanh(1 - 2 lambda))}
#' for a continuous Bernoulli; `generate(noise = TRUE)` draws from
#' \eqn{p(x \mid z)}{p(x | z)}. [entropy_sum()] is for Gaussian decoders
#' only.
#'
#' @inheritParams gaussian_vae
#' @param min_var The lower bound \eqn{c_\Sigma}{c_Sigma} of the encoder's
#'   variances: a positive finite number.
#' @param continuous `FALSE` for the Bernoulli (data in \{0, 1\}), `TRUE`
#'   for the continuous Bernoulli (data in \[0, 1\]).
#' @returns An object of class `c("vae_bernoulli", "vae_model")`: a list
#'   with elements `type` (`"bernoulli"`), `latent_dim` (an integer),
#'   `hidden` (an integer vector, possibly empty), `activation`, `min_var`,
#'   `covariance` and `continuous` (a logical).
#' @references
#' Loaiza-Ganem, G. and Cunningham, J. P. (2019). The continuous Bernoulli:
#' fixing a pervasive error in variational autoencoders. *NeurIPS*.
#' @family specifications
#' @export
#' @examples
#' bernoulli_vae(latent_dim = 2)
#' bernoulli_vae(latent_dim = 2, hidden = 16, continuous = TRUE)
#'
#' # Digits binarised at 8/16, and as grey levels in [0, 1]
#' x <- as.matrix(digits[, 1:64])
#' fit <- fit_vae((x >= 8) * 1, bernoulli_vae(2, hidden = 16), iterations = 100,
#'                seed = 1, n_threads = 1)
#' tail(trajectory(fit), 2)
#' fit_cb <- fit_vae(x / 16, bernoulli_vae(2, hidden = 16, continuous = TRUE),
#'                   iterations = 100, seed = 1, n_threads = 1)
#' dim(generate(fit_cb, 3, seed = 1, noise = TRUE))
bernoulli_vae <- function(latent_dim, hidden = c(64, 64), activation = soft_clip(),
                          min_var = 1e-4, covariance = c("diagonal", "full"),
                          continuous = FALSE) {
  check_required(latent_dim)
  structure(
    list(
      type = "bernoulli",
      latent_dim = check_whole(latent_dim, min = 1),
      hidden = check_whole_vector(
        hidden,
        what = "a vector of positive whole numbers or `NULL` (no hidden layer)"
      ),
      activation = as_activation(activation),
      min_var = check_number(min_var, lower = 0, lower_open = TRUE),
      covariance = check_covariance(covariance),
      continuous = check_flag(continuous)
    ),
    class = c("vae_bernoulli", "vae_model")
  )
}

#' @export
print.vae_bernoulli <- function(x, ...) {
  widths <- function(w) paste(c(w, ""), collapse = " -> ")
  cat(
    "<vae_bernoulli> ", if (x$continuous) "continuous Bernoulli" else "Bernoulli", " VAE\n",
    "  latent_dim: ", x$latent_dim, "\n",
    "  encoder:    x -> ", widths(x$hidden), "z (mean; ", describe_covariance(x), ")\n",
    "  decoder:    z -> ", widths(rev(x$hidden)), "logits\n",
    "  likelihood: ",
    if (x$continuous) "continuous Bernoulli, data in [0, 1]" else "Bernoulli, data in {0, 1}", "\n",
    "  activation: ", format(x$activation), "\n",
    sep = ""
  )
  invisible(x)
}

#' Check that data suit a model's likelihood: 0/1 for a Bernoulli decoder,
#' [0, 1] for a continuous Bernoulli
#' @returns `x`, invisibly.
#' @noRd
check_model_data <- function(x, model, arg = rlang::caller_arg(x),
                             call = rlang::caller_env()) {
  if (!inherits(model, "vae_bernoulli")) return(invisible(x))
  if (isTRUE(model$continuous)) {
    bad <- x < 0 | x > 1
    need <- "values in [0, 1] for a continuous Bernoulli decoder"
  } else {
    bad <- x != 0 & x != 1
    need <- "only 0 and 1 for a Bernoulli decoder"
  }
  if (any(bad)) {
    first <- which(bad, arr.ind = TRUE)[1, ]
    abort_input(
      c("{.arg {arg}} must contain {need}.",
        x = "{sum(bad)} value{?s} outside, the first {format_num(x[first[1], first[2]])} in row {first[1]}, column {first[2]}."),
      arg = arg, call = call
    )
  }
  invisible(x)
}

#' "variance = 1e-04 + softplus" or "covariance = 1e-04 I + L L'"
#' @noRd
describe_covariance <- function(model) {
  if (identical(model$covariance, "full")) {
    paste0("covariance = ", format_num(model$min_var), " I + L L'")
  } else {
    paste0("variance = ", format_num(model$min_var), " + softplus")
  }
}
