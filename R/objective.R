#' Evidence lower bound objective
#'
#' `elbo()` specifies the evidence lower bound (ELBO) as the training
#' objective, with an optional weight `beta` on its Kullback-Leibler term
#' (the beta-VAE). Pass it to [fit_vae()].
#'
#' @details
#' For a data row \eqn{x \in R^{d}}{x in R^d} the objective is
#' \deqn{\mathcal{L}_\beta(\theta, \phi; x) = E_{q_\phi(z \mid x)}[\log p_\theta(x \mid z)] - \beta \, \mathrm{KL}(q_\phi(z \mid x) \,\|\, N(0, I)),}{L_beta(theta, phi; x) = E_q[log p_theta(x | z)] - beta KL(q_phi(z | x) || N(0, I)),}
#' where, for the Gaussian decoder \eqn{N(G_\theta(z), c^2 I)}{N(G_theta(z), c^2 I)},
#' \deqn{\log p_\theta(x \mid z) = -\frac{d}{2} \log(2 \pi c^2) - \frac{\|x - G_\theta(z)\|^2}{2 c^2}}{log p_theta(x | z) = -(d/2) log(2 pi c^2) - ||x - G_theta(z)||^2 / (2 c^2)}
#' (the constant is included), and, for \eqn{q_\phi(z \mid x) = N(\mu, \mathrm{diag}(\sigma^2))}{q_phi(z | x) = N(mu, diag(sigma^2))},
#' the Kullback-Leibler divergence is taken in closed form,
#' \deqn{\mathrm{KL} = \frac{1}{2} \sum_{j=1}^{d_z} \left(\sigma_j^2 + \mu_j^2 - 1 - \log \sigma_j^2\right),}{KL = (1/2) sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2),}
#' summed (not averaged) over the latent dimensions. Values are in nats per
#' data point: the average of \eqn{\mathcal{L}_\beta}{L_beta} over the rows
#' of the minibatch (or of the data), and likewise its reconstruction and KL
#' parts. With `beta = 1` it is the plain ELBO, a lower bound on
#' \eqn{\log p_\theta(x)}{log p_theta(x)}.
#'
#' The expectation over \eqn{q} is estimated with one draw
#' \eqn{z = \mu + \sigma \odot \varepsilon}{z = mu + sigma * epsilon},
#' \eqn{\varepsilon \sim N(0, I)}{epsilon ~ N(0, I)}, per data row, and the
#' gradient is its pathwise (reparameterisation) gradient. With
#' `exact = TRUE` the expectation is taken in closed form instead, so that the
#' gradient's only noise comes from the minibatch. The closed form exists only
#' for the linear VAE ([linear_vae()]); [fit_vae()] rejects `exact = TRUE`
#' with any other model.
#'
#' @param beta The weight \eqn{\beta}{beta} of the KL term: a non-negative
#'   finite number.
#' @param exact Whether to take the expectation over \eqn{q} in closed form
#'   (linear VAE only): `TRUE` or `FALSE`.
#'
#' @returns An object of class `c("vae_elbo", "vae_objective")`: a list with
#'   elements `type` (`"elbo"`), `beta` (a double), `exact` (a logical), and,
#'   for uniformity with [iwae()], `K` (`1L`), `alpha` (`0`) and `estimator`
#'   (`"reparam"`).
#' @references
#' Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes.
#' *ICLR*.
#'
#' Higgins, I. et al. (2017). beta-VAE: learning basic visual concepts with a
#' constrained variational framework. *ICLR*.
#' @family specifications
#' @export
#' @examples
#' elbo()
#' elbo(beta = 4)
#' elbo(exact = TRUE)
elbo <- function(beta = 1, exact = FALSE) {
  structure(
    list(
      type = "elbo",
      beta = check_number(beta, lower = 0),
      exact = check_flag(exact),
      K = 1L,
      alpha = 0,
      estimator = "reparam"
    ),
    class = c("vae_elbo", "vae_objective")
  )
}

#' @export
print.vae_elbo <- function(x, ...) {
  cat(
    "<vae_elbo> ELBO, beta = ", format_num(x$beta), "\n",
    "  expectation over q: ",
    if (x$exact) "closed form" else "one reparameterised sample per row",
    "\n",
    sep = ""
  )
  invisible(x)
}

#' Check an objective specification
#' @returns `objective`, invisibly.
#' @noRd
check_objective <- function(objective, arg = rlang::caller_arg(objective),
                            call = rlang::caller_env()) {
  check_spec(
    objective, "vae_objective",
    what = "an objective specification made by `elbo()` or `iwae()`",
    arg = arg, call = call
  )
}
