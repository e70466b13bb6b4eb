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
#' The expectation over \eqn{q} is estimated with `K` draws (one by default)
#' \eqn{z = \mu + \sigma \odot \varepsilon}{z = mu + sigma * epsilon},
#' \eqn{\varepsilon \sim N(0, I)}{epsilon ~ N(0, I)}, per data row. The
#' decoder's gradient is pathwise; the encoder's is pathwise
#' (reparameterisation, `estimator = "reparam"`) or by the score function
#' (REINFORCE, `estimator = "score"`), the seed slides' "general, but high
#' variance" alternative:
#' \deqn{\nabla_\phi \approx \frac1K \sum_k (\log p_\theta(x \mid z_k) - b_k) \nabla_\phi \log q_\phi(z_k \mid x) - \beta \nabla_\phi \mathrm{KL},}{grad_phi ~ (1/K) sum_k (log p_theta(x | z_k) - b_k) grad_phi log q_phi(z_k | x) - beta grad_phi KL,}
#' with the KL in closed form and, with `K` \eqn{\ge 2}{>= 2} draws, the
#' baseline \eqn{b_k}{b_k} the mean of \eqn{\log p_\theta(x \mid z_j)}{log p_theta(x | z_j)}
#' over the row's other draws (0 with one draw); it is unbiased, like the
#' pathwise gradient, with a larger variance. With
#' `exact = TRUE` the expectation is taken in closed form instead, so that the
#' gradient's only noise comes from the minibatch. The closed form exists only
#' for the linear VAE ([linear_vae()]); [fit_vae()] rejects `exact = TRUE`
#' with any other model.
#'
#' @param beta The weight \eqn{\beta}{beta} of the KL term: a non-negative
#'   finite number.
#' @param exact Whether to take the expectation over \eqn{q} in closed form
#'   (linear VAE only): `TRUE` or `FALSE`.
#' @param estimator The encoder's gradient estimator: `"reparam"` (pathwise)
#'   or `"score"` (score function, with a leave-one-out baseline when
#'   `K >= 2`).
#' @param K Draws of \eqn{z} per data row: a positive whole number (1 with
#'   `exact = TRUE`).
#'
#' @returns An object of class `c("vae_elbo", "vae_objective")`: a list with
#'   elements `type` (`"elbo"`), `beta` (a double), `exact` (a logical), `K`
#'   (an integer), `alpha` (`0`, for uniformity with [iwae()]) and
#'   `estimator`.
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
#' elbo(estimator = "score", K = 4)
elbo <- function(beta = 1, exact = FALSE, estimator = c("reparam", "score"), K = 1) {
  out <- list(
    type = "elbo",
    beta = check_number(beta, lower = 0),
    exact = check_flag(exact),
    K = check_whole(K),
    alpha = 0,
    estimator = check_choice(estimator, setdiff(core_choices("estimator"), "dreg"))
  )
  if (out$exact && (out$estimator != "reparam" || out$K != 1L)) {
    abort_input(
      c("{.code elbo(exact = TRUE)} takes no draws: {.arg estimator} must be {.val reparam} and {.arg K} 1.",
        i = "The expectation over q is then in closed form, with no estimator of it."),
      arg = if (out$K != 1L) "K" else "estimator"
    )
  }
  structure(out, class = c("vae_elbo", "vae_objective"))
}

#' @export
print.vae_elbo <- function(x, ...) {
  cat(
    "<vae_elbo> ELBO, beta = ", format_num(x$beta), "\n",
    "  expectation over q: ",
    if (x$exact) "closed form"
    else if (x$K == 1) "one sample per row" else paste(x$K, "samples per row"),
    "\n",
    if (!x$exact) paste0("  encoder gradient: ", describe_estimator(x$estimator), "\n"),
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

#' Importance weighted objectives: IWAE and VR-IWAE
#'
#' `iwae()` specifies the importance weighted bound of Burda et al. (2016)
#' with `K` draws per data row (`alpha = 0`), or its Renyi generalisation,
#' the VR-IWAE bound of Daudel et al. (2023) (`alpha` in (0, 1)), as the
#' training objective. Pass it to [fit_vae()] (and to [gradient_snr()]).
#'
#' @details
#' For a data row \eqn{x} and \eqn{K} draws
#' \eqn{z_k = \mu + \sigma \odot \varepsilon_k}{z_k = mu + sigma * epsilon_k}
#' from \eqn{q_\phi(z \mid x)}{q_phi(z | x)}, with the importance weights
#' \eqn{w_k = p_\theta(x, z_k) / q_\phi(z_k \mid x)}{w_k = p_theta(x, z_k) / q_phi(z_k | x)},
#' the objective is
#' \deqn{\mathcal{L}_{K,\alpha} = \frac{1}{1 - \alpha} \log \frac{1}{K} \sum_{k=1}^K w_k^{1 - \alpha},}{L_(K, alpha) = 1 / (1 - alpha) log (1/K) sum_k w_k^(1 - alpha),}
#' with \eqn{\log p_\theta(x \mid z)}{log p_theta(x | z)} the normalised
#' Gaussian log-density (as in [elbo()]), \eqn{p(z) = N(0, I)} and \eqn{q}
#' the encoder's Gaussian, all densities complete. With `alpha = 0` it is the
#' IWAE bound \eqn{\log \frac1K \sum_k w_k}{log (1/K) sum_k w_k}, which
#' increases with \eqn{K} towards \eqn{\log p_\theta(x)}{log p_theta(x)};
#' with \eqn{K = 1} it is the ELBO. The log-sum-exp is computed stably and
#' values are in nats per data point.
#'
#' An estimate with \eqn{K = 1} differs from [elbo()]'s with the same noise:
#' `elbo()` takes the KL term in closed form, while the single-sample bound is
#' \eqn{\log w_1 = \log p(x \mid z_1) + \log p(z_1) - \log q(z_1 \mid x)}{log w_1 = log p(x | z_1) + log p(z_1) - log q(z_1 | x)}.
#' Both have the ELBO as expectation; they differ by the zero-mean term
#' \eqn{\sum_j \mu_j \sigma_j \varepsilon_j + \frac12 (\sigma_j^2 - 1)(\varepsilon_j^2 - 1)}{sum_j mu_j sigma_j epsilon_j + (sigma_j^2 - 1)(epsilon_j^2 - 1) / 2},
#' and the decoder gradients agree exactly.
#'
#' Gradient estimators, with the normalised weights
#' \eqn{\bar w_k = w_k^{1-\alpha} / \sum_j w_j^{1-\alpha}}{wbar_k = w_k^(1 - alpha) / sum_j w_j^(1 - alpha)}:
#' * `"reparam"`: the pathwise gradient
#'   \eqn{\sum_k \bar w_k \nabla \log w_k}{sum_k wbar_k grad log w_k}, the
#'   total derivative through
#'   \eqn{z_k(\phi)}{z_k(phi)} and through \eqn{q}'s parameters in
#'   \eqn{\log q}{log q}.
#' * `"dreg"`: the doubly reparameterised gradient (Tucker et al. 2019) for
#'   the encoder: the score term of \eqn{\log q}{log q} is replaced by its
#'   reparameterised equivalent, giving
#'   \eqn{\sum_k (\alpha \bar w_k + (1 - \alpha) \bar w_k^2) \frac{\partial \log w_k}{\partial z_k} \frac{d z_k}{d \phi}}{sum_k (alpha wbar_k + (1 - alpha) wbar_k^2) (d log w_k / d z_k) (d z_k / d phi)}
#'   with the partial derivative taken at fixed \eqn{q} parameters
#'   (\eqn{\bar w_k^2}{wbar_k^2} at `alpha = 0`, Tucker et al.'s estimator;
#'   the VR-IWAE form is that of Daudel et al. 2023). It has the same
#'   expectation as `"reparam"` and, unlike it, an encoder signal-to-noise
#'   ratio that does not vanish as \eqn{K} grows (Rainforth et al. 2018).
#'   The decoder gradient is the pathwise one.
#' * `"score"`: the score-function estimator with VIMCO's baseline (Mnih and
#'   Rezende 2016): with \eqn{\hat L}{L^} the bound of the row's draws and
#'   \eqn{\hat L_{-k}}{L^_-k} the bound with \eqn{\log w_k}{log w_k}
#'   replaced by the mean of the other log weights, the encoder gradient is
#'   \eqn{\sum_k (\hat L - \hat L_{-k} - \bar w_k) \nabla_\phi \log q_\phi(z_k \mid x)}{sum_k (L^ - L^_-k - wbar_k) grad_phi log q_phi(z_k | x)}
#'   at fixed \eqn{z_k}{z_k} (no baseline with \eqn{K = 1}). Unbiased, with
#'   a larger variance than the pathwise gradient. The decoder gradient is
#'   the pathwise one.
#'
#' In a fit's trajectory, `objective` is the minibatch estimate of the bound;
#' the columns `reconstruction` and `kl` are `NA`, the bound having no such
#' parts. With `eval_every`, the full-data evaluation uses the same \eqn{K}
#' as the training step, with `eval_samples` independent replicates of its
#' \eqn{K} draws.
#'
#' @param K Draws per data row: a positive whole number, or a
#'   [k_schedule()] to raise \eqn{K} during training.
#' @param alpha The Renyi parameter \eqn{\alpha}{alpha}: a number in
#'   \[0, 1); 0 gives the IWAE bound.
#' @param estimator The encoder's gradient estimator: `"reparam"` (pathwise),
#'   `"dreg"` (doubly reparameterised) or `"score"` (score function with
#'   VIMCO's leave-one-out baseline).
#'
#' @returns An object of class `c("vae_iwae", "vae_objective")`: a list with
#'   elements `type` (`"iwae"`), `beta` (`1`), `exact` (`FALSE`), `K` (an
#'   integer or a `vae_k_schedule`), `alpha` (a double) and `estimator`, the
#'   fields of [elbo()]'s objects.
#' @references
#' Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted
#' autoencoders. *ICLR*.
#'
#' Daudel, K., Benton, J., Shi, Y. and Doucet, A. (2023). Alpha-divergence
#' variational inference meets importance weighted auto-encoders:
#' methodology and asymptotics. *JMLR* 24(243).
#'
#' Tucker, G., Lawson, D., Gu, S. and Maddison, C. J. (2019). Doubly
#' reparameterized gradient estimators for Monte Carlo objectives. *ICLR*.
#'
#' Rainforth, T. et al. (2018). Tighter variational bounds are not
#' necessarily better. *ICML*.
#' @family specifications
#' @export
#' @examples
#' iwae()
#' iwae(K = 20, estimator = "dreg")
#' iwae(K = 10, alpha = 0.5)
#' iwae(K = k_schedule(start = 1, max = 32, every = 100, growth = "doubling"))
#'
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iwae(K = 5, estimator = "dreg"), iterations = 50, seed = 1,
#'                n_threads = 1)
#' tail(trajectory(fit), 3)
iwae <- function(K = 5, alpha = 0, estimator = c("reparam", "dreg", "score")) {
  if (!inherits(K, "vae_k_schedule")) {
    ok <- is_single_number(K) && is.finite(K) && K == trunc(K) && K >= 1 &&
      K <= .Machine$integer.max
    if (!ok) {
      abort_input(
        "{.arg K} must be a positive whole number or a {.fn k_schedule}, not {describe_value(K)}.",
        arg = "K"
      )
    }
    K <- as.integer(K)
  }
  structure(
    list(
      type = "iwae",
      beta = 1,
      exact = FALSE,
      K = K,
      alpha = check_number(alpha, lower = 0, upper = 1, upper_open = TRUE),
      estimator = check_choice(estimator, core_choices("estimator"))
    ),
    class = c("vae_iwae", "vae_objective")
  )
}

#' A schedule that raises the number of draws K during training
#'
#' `k_schedule()` makes \eqn{K}, the number of draws per data row of
#' [iwae()], grow with the iteration from `start` up to `max`: the
#' recommendation to raise \eqn{K} gradually up to a threshold.
#'
#' @details
#' At iteration \eqn{n} (counted from 1, over the whole fit: a fit continued
#' with `init =` goes on with the schedule where it stopped), with
#' \eqn{m = \lfloor (n - 1) / every \rfloor}{m = floor((n - 1) / every)},
#' * `growth = "linear"`: \eqn{K_n = \min(max, start + m)}{K_n = min(max, start + m)},
#'   one more draw every `every` iterations;
#' * `growth = "doubling"`: \eqn{K_n = \min(max, start \cdot 2^m)}{K_n = min(max, start * 2^m)},
#'   twice the draws every `every` iterations.
#'
#' So \eqn{K_n = start} for the first `every` iterations.
#'
#' @param start \eqn{K} at the first iteration: a positive whole number.
#' @param max The largest \eqn{K}: a whole number at least `start`.
#' @param every Iterations between two increases: a positive whole number.
#' @param growth `"linear"` or `"doubling"`.
#' @returns An object of class `vae_k_schedule`: a list with elements
#'   `start`, `max`, `every` (integers) and `growth`.
#' @family specifications
#' @export
#' @examples
#' k_schedule(start = 1, max = 10, every = 100)
#' k_schedule(start = 2, max = 64, every = 500, growth = "doubling")
#' iwae(K = k_schedule(1, 10, 100))
k_schedule <- function(start, max, every, growth = c("linear", "doubling")) {
  check_required(start)
  check_required(max)
  check_required(every)
  start <- check_whole(start)
  max <- check_whole(max, min = start)
  structure(
    list(
      start = start,
      max = max,
      every = check_whole(every),
      growth = check_choice(growth, setdiff(core_choices("k_growth"), "constant"))
    ),
    class = "vae_k_schedule"
  )
}

#' K of an objective at iterations n (counted from 1)
#' @noRd
objective_K <- function(objective, n) {
  cpp_objective_K(objective, as.double(n))
}

#' K of an objective at a fit's last iteration (a schedule's current K)
#' @noRd
fit_K <- function(objective, fit) {
  objective_K(objective, max(1, fit$state$iteration))
}

#' @export
format.vae_k_schedule <- function(x, ...) {
  sprintf("K from %d to %d, %s every %d iteration%s",
          x$start, x$max, if (x$growth == "linear") "+1" else "x2",
          x$every, if (x$every == 1) "" else "s")
}

#' @export
print.vae_k_schedule <- function(x, ...) {
  cat("<vae_k_schedule> ", format(x), "\n", sep = "")
  invisible(x)
}

#' "IWAE, K = 5" or "VR-IWAE, alpha = 0.5, K from 1 to 10, ..."
#' @noRd
describe_iwae <- function(o) {
  name <- if (o$alpha == 0) "IWAE" else paste0("VR-IWAE, alpha = ", format_num(o$alpha))
  K <- if (inherits(o$K, "vae_k_schedule")) format(o$K) else paste("K =", o$K)
  paste0(name, ", ", K)
}

#' @export
print.vae_iwae <- function(x, ...) {
  cat(
    "<vae_iwae> ", describe_iwae(x), "\n",
    "  encoder gradient: ", describe_estimator(x$estimator, "iwae"), "\n",
    sep = ""
  )
  invisible(x)
}

#' "pathwise (reparameterised)", ...
#' @noRd
describe_estimator <- function(estimator, type = "elbo") {
  switch(estimator,
    reparam = "pathwise (reparameterised)",
    dreg = "doubly reparameterised (DReG)",
    score = if (type == "iwae") {
      "score function (VIMCO's leave-one-out baseline)"
    } else {
      "score function (REINFORCE, leave-one-out baseline)"
    },
    estimator
  )
}
