#' Variational families of black-box variational inference
#'
#' A family is a map \eqn{z = T_\phi(\varepsilon)}{z = T_phi(eps)} of
#' standard normal noise \eqn{\varepsilon \sim N(0, I_d)}{eps ~ N(0, I_d)},
#' whose density follows by the change of variables,
#' \eqn{\log q_\phi(z) = \log N(\varepsilon; 0, I) - \log |\det \partial T_\phi / \partial \varepsilon|}{log q_phi(z) = log N(eps; 0, I) - log |det dT_phi / d eps|}.
#' [fit_vi()] fits \eqn{\phi}{phi} by the reparameterised gradient of the
#' ELBO \eqn{E[\log p(T_\phi(\varepsilon)) - \log q_\phi(T_\phi(\varepsilon))]}{E[log p(T_phi(eps)) - log q_phi(T_phi(eps))]}
#' (or of an importance-weighted bound). The dimension comes from the target.
#'
#' * `gaussian_family()`: the location-scale family \eqn{z = m + L\varepsilon}{z = m + L eps},
#'   \eqn{q = N(m, L L^\top)}{q = N(m, L L')}, with \eqn{L} diagonal or lower
#'   triangular (a Cholesky factor: `covariance = "full"`). Its diagonal is
#'   \eqn{L_{jj} = h(r_j)}{L_jj = h(r_j)} for a free parameter \eqn{r_j}:
#'   `scale = "softplus"` (\eqn{h = \log(1 + e^r)}{h = log(1 + e^r)}),
#'   `"exp"`, or `"linear"` (\eqn{L_{jj} = r_j}{L_jj = r_j}, the
#'   parameterisation of Domke, Gower and Garrigos 2023 under which the
#'   ELBO of a log-concave smooth target is concave and smooth in
#'   \eqn{\phi}{phi}; Kim et al. 2023 show the non-linear ones can converge
#'   more slowly). The linear parameterisation is kept valid by a
#'   projection: after every optimiser step (and the optimiser's own `bound`),
#'   each \eqn{r_j} is set to \eqn{\max(r_j, min\_scale)}{max(r_j, min_scale)}, the
#'   projection onto the convex set \eqn{\{L_{jj} \ge min\_scale\}}{{L_jj >= min_scale}}
#'   of Domke et al.'s projected SGD (their \eqn{1/\sqrt{M}}{1 / sqrt(M)} for an
#'   \eqn{M}-smooth target; the entropy \eqn{\sum_j \log L_{jj}}{sum_j log L_jj}
#'   is smooth on that set).
#' * `sinh_arcsinh_family()`: the sinh-arcsinh transform of Jones and
#'   Pewsey (2009) per coordinate, \eqn{x_j = \sinh((\mathrm{asinh}(\varepsilon_j) + a_j) / \delta_j)}{x_j = sinh((asinh(eps_j) + a_j) / delta_j)},
#'   on the location-scale base \eqn{z = m + L x} (softplus diagonal): the
#'   skewness \eqn{a_j} (0: symmetric) and the tail weight
#'   \eqn{\delta_j = \log(1 + e^{t_j}) > 0}{delta_j = softplus(t_j) > 0}
#'   (below 1: heavier tails than the normal, above 1: lighter). With
#'   \eqn{a = 0, \delta = 1}{a = 0, delta = 1} it is the Gaussian family.
#' * `flow_family()`: a normalising flow of `layers` planar layers
#'   (Rezende and Mohamed 2015) on a diagonal Gaussian base,
#'   \eqn{x_0 = m + s \odot \varepsilon}{x_0 = m + s * eps} with
#'   \eqn{s = \log(1 + e^r)}{s = softplus(r)}, and
#'   \eqn{x_k = x_{k-1} + \hat u_k \tanh(w_k^\top x_{k-1} + b_k)}{x_k = x_(k-1) + uh_k tanh(w_k' x_(k-1) + b_k)},
#'   whose log-Jacobian is \eqn{\log(1 + (1 - \tanh^2(\cdot)) w_k^\top \hat u_k)}{log(1 + (1 - tanh^2(.)) w_k' uh_k)}.
#'   Each layer stays invertible by the constraint of Rezende and Mohamed:
#'   \eqn{\hat u = u + (m(w^\top u) - w^\top u) w / \|w\|^2}{uh = u + (m(w'u) - w'u) w / |w|^2}
#'   with \eqn{m(t) = -1 + \log(1 + e^t)}{m(t) = -1 + softplus(t)}, so that
#'   \eqn{w^\top \hat u > -1}{w' uh > -1}. The inverse (for
#'   [log_density()]) solves one monotone scalar equation per layer by a
#'   safeguarded Newton method. At the start, \eqn{u, w \sim N(0, init\_sd^2)}{u, w ~ N(0, init_sd^2)}
#'   (keyed by the fit's seed) and \eqn{b = 0}.
#'
#' Every family starts at (or, for the flow, near) \eqn{N(0, I)}.
#'
#' @param covariance `"diagonal"` or `"full"` (a lower triangular \eqn{L}).
#' @param scale The parameterisation of the diagonal of \eqn{L}:
#'   `"softplus"`, `"exp"` or `"linear"`.
#' @param min_scale The smallest diagonal entry of \eqn{L} under
#'   `scale = "linear"`: a positive number (unused otherwise).
#' @param layers The number of planar layers: a positive whole number.
#' @param init_sd The standard deviation of the layers' \eqn{u} and \eqn{w}
#'   at the start: a positive number.
#' @returns An object of class `vi_family` (and `vi_gaussian_family`,
#'   `vi_sinh_arcsinh_family` or `vi_flow_family`).
#' @references Domke, J., Gower, R. and Garrigos, G. (2023). Provable
#'   convergence guarantees for black-box variational inference. *NeurIPS*.
#'
#'   Kim, K. et al. (2023). On the convergence of black-box variational
#'   inference. *NeurIPS*.
#'
#'   Jones, M. C. and Pewsey, A. (2009). Sinh-arcsinh distributions.
#'   *Biometrika* 96, 761-780.
#'
#'   Rezende, D. J. and Mohamed, S. (2015). Variational inference with
#'   normalizing flows. *ICML*.
#' @family variational inference
#' @name vi_families
#' @examples
#' gaussian_family()
#' gaussian_family("full", scale = "linear")
#' sinh_arcsinh_family()
#' flow_family(layers = 4)
NULL

#' @rdname vi_families
#' @export
gaussian_family <- function(covariance = c("diagonal", "full"),
                            scale = c("softplus", "exp", "linear"), min_scale = 1e-3) {
  new_family("gaussian",
             covariance = check_choice(covariance, c("diagonal", "full")),
             scale = check_choice(scale, c("softplus", "exp", "linear")),
             min_scale = check_number(min_scale, lower = 0, lower_open = TRUE))
}

#' @rdname vi_families
#' @export
sinh_arcsinh_family <- function(covariance = c("diagonal", "full")) {
  new_family("sinh_arcsinh", covariance = check_choice(covariance, c("diagonal", "full")))
}

#' @rdname vi_families
#' @export
flow_family <- function(layers = 4, init_sd = 0.01) {
  new_family("planar", layers = check_whole(layers),
             init_sd = check_number(init_sd, lower = 0, lower_open = TRUE))
}

#' A family object, with every field the C++ glue reads
#' @noRd
new_family <- function(type, covariance = "diagonal", scale = "softplus", min_scale = 1e-3,
                       layers = 0L, init_sd = 0.01) {
  class_name <- if (type == "planar") "vi_flow_family" else paste0("vi_", type, "_family")
  structure(
    list(type = type, covariance = covariance, scale = scale, min_scale = min_scale,
         layers = as.integer(layers), init_sd = init_sd),
    class = c(class_name, "vi_family")
  )
}

#' @export
print.vi_family <- function(x, ...) {
  cat("<vi_family> ", describe_family(x), "\n", sep = "")
  invisible(x)
}

#' One-line description of a family
#' @noRd
describe_family <- function(f) {
  switch(f$type,
    gaussian = sprintf("Gaussian, %s covariance, %s scale%s", f$covariance, f$scale,
                       if (f$scale == "linear") paste0(" (projected onto L_jj >= ",
                                                        format_num(f$min_scale), ")") else ""),
    sinh_arcsinh = sprintf("sinh-arcsinh on a Gaussian base, %s covariance", f$covariance),
    planar = sprintf("planar flow of %d layer%s on a diagonal Gaussian base", f$layers,
                     if (f$layers == 1) "" else "s"),
    f$type
  )
}

#' The family's parameters as a named list, from the flat vector
#' @noRd
family_coef <- function(family, d, par) {
  softplus <- function(r) ifelse(r > 0, r + log1p(exp(-r)), log1p(exp(r)))
  take <- local({
    at <- 0
    function(n) {
      out <- par[at + seq_len(n)]
      at <<- at + n
      out
    }
  })
  mean <- take(d)
  r <- take(d)
  if (family$type == "planar") {
    out <- list(base_mean = mean, base_sd = softplus(r))
    layers <- lapply(seq_len(family$layers), function(k) {
      u <- take(d)
      w <- take(d)
      b <- take(1)
      t <- sum(w * u)
      u_hat <- u + (-1 + softplus(t) - t) * w / sum(w^2)
      list(u = u, w = w, b = b, u_hat = u_hat)
    })
    return(c(out, list(layers = layers)))
  }
  diag_l <- switch(family$scale, softplus = softplus(r), exp = exp(r), linear = r)
  L <- diag(diag_l, d)
  if (family$covariance == "full" && d > 1) {
    for (j in seq_len(d - 1)) L[(j + 1):d, j] <- take(d - j)
  }
  out <- list(mean = mean, scale = L, cov = L %*% t(L))
  if (family$type == "sinh_arcsinh") {
    out$skewness <- take(d)
    out$tailweight <- softplus(take(d))
  }
  out
}

#' Check a family specification
#' @noRd
check_family <- function(family, arg = rlang::caller_arg(family), call = rlang::caller_env()) {
  check_spec(family, "vi_family",
             what = "a family made by `gaussian_family()`, `sinh_arcsinh_family()` or `flow_family()`",
             arg = arg, call = call)
}

#' Check a target specification
#' @noRd
check_target <- function(target, arg = rlang::caller_arg(target), call = rlang::caller_env()) {
  check_spec(target, "vi_target",
             what = "a target made by `gaussian_target()`, `logistic_target()`, `mixture_target()`, `funnel_target()` or `custom_target()`",
             arg = arg, call = call)
}
