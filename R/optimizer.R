# Optimizer specifications. Every optimizer carries the same fields (`type`,
# `lr`, `decay`, `momentum`, `beta1`, `beta2`, `rho`, `eps`, `bound`; unused
# ones are 0) because the C++ core reads them by name.

#' Stochastic gradient descent
#'
#' `sgd()` specifies stochastic gradient descent, with optional heavy-ball
#' momentum, as the optimizer of [fit_vae()].
#'
#' @details
#' Training minimises the negative objective (for example \eqn{-}ELBO). At
#' iteration \eqn{n = 1, 2, \ldots}{n = 1, 2, ...}, \eqn{g_n} is the
#' minibatch estimate of the gradient of the negative objective with respect
#' to all parameters \eqn{w}, and the update is
#' \deqn{v_n = \mu v_{n-1} + g_n, \quad w_n = w_{n-1} - \gamma_n v_n,}{v_n = mu v_(n-1) + g_n,  w_n = w_(n-1) - gamma_n v_n,}
#' with \eqn{v_0 = 0} and \eqn{\mu}{mu} = `momentum`; `momentum = 0` is plain
#' SGD.
#'
#' @section Step size and projection:
#' The step size at iteration \eqn{n}, counted from 1, is
#' \deqn{\gamma_n = \mathrm{lr} \cdot n^{-\mathrm{decay}}.}{gamma_n = lr * n^(-decay).}
#' `decay = 1/2` is the schedule of the convergence theorem of Surendran,
#' Godichon-Baggioni and Le Corff (2025), under which the running mean of the
#' squared gradient norm decreases like \eqn{\log(n) / \sqrt{n}}{log(n) / sqrt(n)};
#' `decay = 0` gives a constant step size. A fit continued with
#' `fit_vae(init = )` continues the count, and so the schedule.
#'
#' With a finite `bound` \eqn{a}, every parameter is projected onto
#' \eqn{[-a, a]} (clamped coordinate by coordinate) after each step, as in the
#' theorem's assumption of bounded parameters. `bound = Inf` means no
#' projection.
#'
#' @param lr The base learning rate: a positive finite number. SGD has no
#'   default.
#' @param decay The exponent of the step-size schedule, between 0 and 1.
#' @param momentum The momentum coefficient \eqn{\mu}{mu}, in \eqn{[0, 1)}.
#' @param bound The bound \eqn{a} of the projection onto \eqn{[-a, a]}: a
#'   positive number, or `Inf` for none.
#'
#' @returns An object of class `c("vae_sgd", "vae_optimizer")`: a list with
#'   the double elements `lr`, `decay`, `momentum`, `beta1`, `beta2`, `rho`,
#'   `eps` and `bound` (those unused by SGD are 0) and `type` (`"sgd"`).
#' @references
#' Surendran, S., Godichon-Baggioni, A. and Le Corff, S. (2025). Theoretical
#' convergence guarantees for variational autoencoders. *AISTATS*.
#' @family specifications
#' @export
#' @examples
#' sgd(lr = 0.01)
#' sgd(lr = 0.01, decay = 0, momentum = 0.9, bound = 10)
sgd <- function(lr, decay = 0.5, momentum = 0, bound = Inf) {
  check_required(lr, info = c(i = "SGD has no default learning rate; try `sgd(lr = 0.01)`."))
  new_optimizer(
    "sgd", lr = lr, decay = decay, bound = bound,
    momentum = check_number(momentum, lower = 0, upper = 1, upper_open = TRUE)
  )
}

#' Adam optimizer
#'
#' `adam()` specifies the Adam optimizer, with bias correction, as the
#' optimizer of [fit_vae()].
#'
#' @details
#' With \eqn{g_n} the minibatch gradient of the negative objective at
#' iteration \eqn{n} (counted from 1), \eqn{m_0 = v_0 = 0}, and squares,
#' square roots and divisions taken coordinate by coordinate,
#' \deqn{m_n = \beta_1 m_{n-1} + (1 - \beta_1) g_n, \quad v_n = \beta_2 v_{n-1} + (1 - \beta_2) g_n^2,}{m_n = beta1 m_(n-1) + (1 - beta1) g_n,  v_n = beta2 v_(n-1) + (1 - beta2) g_n^2,}
#' \deqn{w_n = w_{n-1} - \gamma_n \frac{m_n / (1 - \beta_1^n)}{\sqrt{v_n / (1 - \beta_2^n)} + \epsilon}.}{w_n = w_(n-1) - gamma_n (m_n / (1 - beta1^n)) / (sqrt(v_n / (1 - beta2^n)) + eps).}
#' The convergence theorem requires \eqn{\beta_1 < \sqrt{\beta_2} < 1}{beta1 < sqrt(beta2) < 1},
#' which `adam()` enforces.
#'
#' @inheritSection sgd Step size and projection
#' @inheritParams sgd
#' @param lr The base learning rate: a positive finite number.
#' @param beta1 The decay rate of the first-moment estimate, in
#'   \eqn{[0, 1)}, less than `sqrt(beta2)`.
#' @param beta2 The decay rate of the second-moment estimate, in
#'   \eqn{(0, 1)}.
#' @param eps The constant added to the denominator: a positive finite
#'   number.
#'
#' @returns An object of class `c("vae_adam", "vae_optimizer")`: a list with
#'   the double elements `lr`, `decay`, `momentum` (0), `beta1`, `beta2`,
#'   `rho` (0), `eps` and `bound`, and `type` (`"adam"`).
#' @references
#' Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic
#' optimization. *ICLR*.
#'
#' Surendran, S., Godichon-Baggioni, A. and Le Corff, S. (2025). Theoretical
#' convergence guarantees for variational autoencoders. *AISTATS*.
#' @family specifications
#' @export
#' @examples
#' adam()
#' adam(lr = 0.01, decay = 0, bound = 10)
adam <- function(lr = 1e-3, decay = 0.5, beta1 = 0.9, beta2 = 0.999,
                 eps = 1e-8, bound = Inf) {
  beta1 <- check_number(beta1, lower = 0, upper = 1, upper_open = TRUE)
  beta2 <- check_number(beta2, lower = 0, upper = 1, lower_open = TRUE,
                        upper_open = TRUE)
  if (beta1 >= sqrt(beta2)) {
    abort_input(
      c("{.arg beta1} must be less than {.code sqrt(beta2)}, as the convergence theorem requires.",
        x = "{.arg beta1} is {format_num(beta1)} and {.code sqrt(beta2)} is {format_num(sqrt(beta2))}."),
      arg = "beta1"
    )
  }
  new_optimizer(
    "adam", lr = lr, decay = decay, bound = bound,
    beta1 = beta1, beta2 = beta2,
    eps = check_number(eps, lower = 0, lower_open = TRUE)
  )
}

#' Adagrad optimizer
#'
#' `adagrad()` specifies the Adagrad optimizer as the optimizer of
#' [fit_vae()].
#'
#' @details
#' With \eqn{g_n} the minibatch gradient of the negative objective at
#' iteration \eqn{n} (counted from 1), \eqn{G_0 = 0}, and squares, square
#' roots and divisions taken coordinate by coordinate,
#' \deqn{G_n = G_{n-1} + g_n^2, \quad w_n = w_{n-1} - \gamma_n \frac{g_n}{\sqrt{G_n} + \epsilon}.}{G_n = G_(n-1) + g_n^2,  w_n = w_(n-1) - gamma_n g_n / (sqrt(G_n) + eps).}
#' Adagrad's accumulated denominator already shrinks its steps, so
#' `decay = 0` is a common choice here.
#'
#' @inheritSection sgd Step size and projection
#' @inheritParams sgd
#' @inheritParams adam
#'
#' @returns An object of class `c("vae_adagrad", "vae_optimizer")`: a list
#'   with the double elements `lr`, `decay`, `momentum` (0), `beta1` (0),
#'   `beta2` (0), `rho` (0), `eps` and `bound`, and `type` (`"adagrad"`).
#' @references
#' Duchi, J., Hazan, E. and Singer, Y. (2011). Adaptive subgradient methods
#' for online learning and stochastic optimization. *Journal of Machine
#' Learning Research*, 12, 2121-2159.
#' @family specifications
#' @export
#' @examples
#' adagrad()
#' adagrad(lr = 0.05, decay = 0)
adagrad <- function(lr = 0.01, decay = 0.5, eps = 1e-10, bound = Inf) {
  new_optimizer(
    "adagrad", lr = lr, decay = decay, bound = bound,
    eps = check_number(eps, lower = 0, lower_open = TRUE)
  )
}

#' RMSProp optimizer
#'
#' `rmsprop()` specifies the RMSProp optimizer as the optimizer of
#' [fit_vae()].
#'
#' @details
#' With \eqn{g_n} the minibatch gradient of the negative objective at
#' iteration \eqn{n} (counted from 1), \eqn{v_0 = 0}, and squares, square
#' roots and divisions taken coordinate by coordinate,
#' \deqn{v_n = \rho v_{n-1} + (1 - \rho) g_n^2, \quad w_n = w_{n-1} - \gamma_n \frac{g_n}{\sqrt{v_n} + \epsilon}.}{v_n = rho v_(n-1) + (1 - rho) g_n^2,  w_n = w_(n-1) - gamma_n g_n / (sqrt(v_n) + eps).}
#'
#' @inheritSection sgd Step size and projection
#' @inheritParams sgd
#' @inheritParams adam
#' @param rho The decay rate of the mean square, in \eqn{[0, 1)}.
#'
#' @returns An object of class `c("vae_rmsprop", "vae_optimizer")`: a list
#'   with the double elements `lr`, `decay`, `momentum` (0), `beta1` (0),
#'   `beta2` (0), `rho`, `eps` and `bound`, and `type` (`"rmsprop"`).
#' @references
#' Tieleman, T. and Hinton, G. (2012). Lecture 6.5, RMSProp: divide the
#' gradient by a running average of its recent magnitude. *COURSERA: Neural
#' Networks for Machine Learning*.
#' @family specifications
#' @export
#' @examples
#' rmsprop()
#' rmsprop(lr = 1e-2, rho = 0.9)
rmsprop <- function(lr = 1e-3, decay = 0.5, rho = 0.99, eps = 1e-8,
                    bound = Inf) {
  new_optimizer(
    "rmsprop", lr = lr, decay = decay, bound = bound,
    rho = check_number(rho, lower = 0, upper = 1, upper_open = TRUE),
    eps = check_number(eps, lower = 0, lower_open = TRUE)
  )
}

#' Build an optimizer specification
#'
#' Validates the fields common to all optimizers (`lr`, `decay`, `bound`) on
#' behalf of the constructor that calls it; the others arrive validated.
#' @noRd
new_optimizer <- function(type, lr, decay, bound, momentum = 0, beta1 = 0,
                          beta2 = 0, rho = 0, eps = 0,
                          call = rlang::caller_env()) {
  structure(
    list(
      type = type,
      lr = check_number(lr, lower = 0, lower_open = TRUE, call = call),
      decay = check_number(decay, lower = 0, upper = 1, call = call),
      momentum = momentum,
      beta1 = beta1,
      beta2 = beta2,
      rho = rho,
      eps = eps,
      bound = check_number(bound, lower = 0, lower_open = TRUE,
                           allow_inf = TRUE, call = call)
    ),
    class = c(paste0("vae_", type), "vae_optimizer")
  )
}

#' @export
print.vae_optimizer <- function(x, ...) {
  name <- switch(x$type, sgd = "SGD", adam = "Adam", adagrad = "Adagrad",
                 rmsprop = "RMSProp", x$type)
  settings <- switch(
    x$type,
    sgd = c(momentum = x$momentum),
    adam = c(beta1 = x$beta1, beta2 = x$beta2, eps = x$eps),
    adagrad = c(eps = x$eps),
    rmsprop = c(rho = x$rho, eps = x$eps)
  )
  step <- if (x$decay == 0) {
    sprintf("%s (constant)", format_num(x$lr))
  } else {
    sprintf("%s * n^(-%s)", format_num(x$lr), format_num(x$decay))
  }
  bound <- if (is.finite(x$bound)) {
    sprintf("onto [-%s, %s]", format_num(x$bound), format_num(x$bound))
  } else {
    "none"
  }
  cat(
    sprintf("<%s> %s optimizer\n", class(x)[[1]], name),
    sprintf("  step size:  %s\n", step),
    if (length(settings) > 0) {
      sprintf("  settings:   %s\n", paste(names(settings), "=",
                                         vapply(settings, format_num, ""),
                                         collapse = ", "))
    },
    sprintf("  projection: %s\n", bound),
    sep = ""
  )
  invisible(x)
}

#' Check an optimizer specification
#' @returns `optimizer`, invisibly.
#' @noRd
check_optimizer <- function(optimizer, arg = rlang::caller_arg(optimizer),
                            call = rlang::caller_env()) {
  check_spec(
    optimizer, "vae_optimizer",
    what = "an optimizer specification made by `sgd()`, `adam()`, `adagrad()` or `rmsprop()`",
    arg = arg, call = call
  )
}
