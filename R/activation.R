#' Generalized soft-clipping activation
#'
#' `soft_clip()` specifies the generalized soft-clipping activation, the
#' default activation of the hidden layers of [gaussian_vae()]. It is smooth,
#' bounded and Lipschitz, as the convergence theorem of Surendran,
#' Godichon-Baggioni and Le Corff (2025) requires.
#'
#' @details
#' The activation is
#' \deqn{f(x) = \frac{1}{s} \log \frac{1 + e^{s (x - s_1)}}{1 + e^{s (x - s_2)}} + s_1.}{f(x) = (1/s) log((1 + exp(s (x - s1))) / (1 + exp(s (x - s2)))) + s1.}
#' It is infinitely differentiable, strictly increasing and bounded in the
#' open interval \eqn{(s_1, s_2)}{(s1, s2)}: it tends to \eqn{s_1}{s1} as
#' \eqn{x \to -\infty}{x -> -Inf} and to \eqn{s_2}{s2} as
#' \eqn{x \to \infty}{x -> Inf}. Its derivative
#' \eqn{\sigma(s (x - s_1)) - \sigma(s (x - s_2))}{sigmoid(s (x - s1)) - sigmoid(s (x - s2))}
#' lies in \eqn{(0, 1)}, so it is 1-Lipschitz. As the sharpness `s` grows it
#' approaches the clipped identity \eqn{\min(\max(x, s_1), s_2)}{min(max(x, s1), s2)},
#' uniformly within \eqn{\log(2) / s}{log(2) / s}; with the defaults
#' (`s1 = 0`, `s2 = 50`) and a large `s` it behaves like a ReLU capped at 50.
#' The core evaluates it in a numerically stable form for large
#' \eqn{|s x|}{|s x|}.
#'
#' Activations may also be given by name wherever an activation is expected:
#' `"soft_clip"` (this function's defaults), `"tanh"`, `"softplus"`,
#' `"sigmoid"`, `"relu"` (not differentiable at 0, so outside the theorem's
#' assumptions; kept for comparison) and `"identity"`.
#'
#' @param s Sharpness: a positive finite number.
#' @param s1 Lower bound: a finite number.
#' @param s2 Upper bound: a finite number greater than `s1`.
#'
#' @returns An object of class `vae_activation`: a list with elements `name`
#'   (`"soft_clip"`), `s`, `s1` and `s2`.
#' @family specifications
#' @export
#' @examples
#' soft_clip()
#' soft_clip(s = 10, s1 = -1, s2 = 1)
#' gaussian_vae(latent_dim = 2, activation = soft_clip(s = 5))
soft_clip <- function(s = 1, s1 = 0, s2 = 50) {
  s <- check_number(s, lower = 0, lower_open = TRUE)
  s1 <- check_number(s1)
  s2 <- check_number(s2)
  if (s1 >= s2) {
    abort_input(
      "{.arg s2} must be greater than {.arg s1} ({format_num(s1)}), not {format_num(s2)}.",
      arg = "s2"
    )
  }
  new_activation("soft_clip", s = s, s1 = s1, s2 = s2)
}

new_activation <- function(name, s = 1, s1 = 0, s2 = 50) {
  structure(list(name = name, s = s, s1 = s1, s2 = s2),
            class = "vae_activation")
}

#' The names of the activations (from the core)
#' @noRd
activation_names <- function() core_choices("activation")

#' Turn an activation name or object into a `vae_activation`
#'
#' @param x A `vae_activation` object or one of `activation_names()`. Named
#'   activations other than soft-clipping carry the unused fields
#'   `s = 1, s1 = 0, s2 = 50`, so every activation has the same fields.
#' @returns A `vae_activation` object.
#' @noRd
as_activation <- function(x, arg = rlang::caller_arg(x),
                          call = rlang::caller_env()) {
  if (inherits(x, "vae_activation")) {
    return(x)
  }
  if (!is.character(x)) {
    abort_input(
      "{.arg {arg}} must be an activation made by {.fn soft_clip} or one of
       {.or {.val {activation_names()}}}, not {describe_value(x)}.",
      arg = arg, call = call
    )
  }
  name <- check_choice(x, activation_names(), arg = arg, call = call)
  if (name == "soft_clip") soft_clip() else new_activation(name)
}

#' @export
format.vae_activation <- function(x, ...) {
  if (identical(x$name, "soft_clip")) {
    sprintf("soft_clip(s = %s, s1 = %s, s2 = %s)",
            format_num(x$s), format_num(x$s1), format_num(x$s2))
  } else {
    x$name
  }
}

#' @export
print.vae_activation <- function(x, ...) {
  cat("<vae_activation> ", format(x), "\n", sep = "")
  invisible(x)
}
