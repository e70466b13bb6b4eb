#' Targets of black-box variational inference
#'
#' A target is a density \eqn{p(z)} on \eqn{R^d}, known up to a constant,
#' that [fit_vi()] approximates. Its log density and gradient are written in
#' C++, except for `custom_target()`.
#'
#' * `gaussian_target(mean, cov)`: \eqn{N(mean, cov)}, normalised. The
#'   optimum of a Gaussian family and \eqn{KL(q \| p)} are known in closed
#'   form: a fit records the exact KL in its trajectory's `kl_to_target`.
#'   The full-covariance Gaussian family reaches \eqn{q = p}; the diagonal one
#'   the mean-field optimum, mean `mean` and variances
#'   \eqn{1 / (cov^{-1})_{jj}}{1 / diag(solve(cov))}.
#' * `logistic_target(x, y, prior_sd)`: the posterior of Bayesian logistic
#'   regression, \eqn{z \sim N(0, prior\_sd^2 I)}{z ~ N(0, prior_sd^2 I)},
#'   \eqn{y_i \sim Bernoulli(1 / (1 + e^{-x_i' z}))}{y_i ~ Bernoulli(plogis(x_i' z))}
#'   (log-concave; unnormalised: the ELBO is then a lower bound on the log
#'   evidence). Add a column of ones to `x` for an intercept. The sum over
#'   rows runs over fixed chunks of 256 rows in parallel, added in chunk
#'   order, so the result does not depend on the threads.
#' * `mixture_target(means, sds, weights)`: \eqn{\sum_k w_k N(mu_k, diag(sd_k^2))}
#'   (normalised, not log-concave).
#' * `funnel_target(dim, scale)`: Neal's funnel, \eqn{z_1 \sim N(0, scale^2)}{z_1 ~ N(0, scale^2)}
#'   and \eqn{z_j | z_1 \sim N(0, e^{z_1})}{z_j | z_1 ~ N(0, exp(z_1))} for
#'   \eqn{j \ge 2} (normalised, not log-concave).
#' * `custom_target(log_density, gradient, dim)`: R functions of a point
#'   `z` (a numeric vector of length `dim`), returning \eqn{\log p(z)}{log p(z)}
#'   (one number) and its gradient (`dim` numbers). This is the slow path:
#'   the functions are called from R, one point at a time, on the main thread
#'   only (a fit with a custom target runs on one thread). They are checked
#'   once at \eqn{z = 0} when the target is made; during a fit, an error in
#'   them, or a value of the wrong length or a non-finite value, stops the fit
#'   with an error, and an interrupt (or a [setTimeLimit()] limit) stops it
#'   cleanly as usual, with `status = "interrupted"`.
#'
#' For a normalised target, \eqn{\log p(z)} integrates to 1 and the ELBO is
#' \eqn{-KL(q \| p) \le 0}.
#'
#' @param mean The mean: a vector of finite numbers.
#' @param cov The covariance: a symmetric positive definite matrix with
#'   `length(mean)` rows, or a vector of positive variances (a diagonal
#'   covariance), or one positive number (times the identity).
#' @param x The covariates: a numeric matrix or data frame of numeric
#'   columns, one row per observation.
#' @param y The responses: a vector of 0s and 1s (or `TRUE`/`FALSE`), one
#'   per row of `x`.
#' @param prior_sd The prior's standard deviation: a positive number.
#' @param means The components' means: a matrix with a row per component
#'   and a column per dimension (a vector for one dimension: one mean per
#'   component).
#' @param sds The components' standard deviations: positive numbers, a matrix
#'   of the shape of `means`, a vector with one per component (the same in
#'   every dimension), or one number.
#' @param weights The components' weights: non-negative numbers, not all 0
#'   (normalised to sum to 1). Equal weights by default.
#' @param dim The dimension: a whole number, at least 2 for the funnel.
#' @param scale The standard deviation of the funnel's first coordinate.
#' @param log_density,gradient R functions of `z`, a numeric vector of length
#'   `dim`: the log density (a finite number) and its gradient (`dim` finite
#'   numbers).
#' @returns An object of class `vi_target` (and `vi_gaussian_target`,
#'   `vi_logistic_target`, `vi_mixture_target`, `vi_funnel_target` or
#'   `vi_custom_target`): a list with the target's `type`, `dim` and
#'   parameters.
#' @references Neal, R. M. (2003). Slice sampling. *Annals of Statistics*.
#' @family variational inference
#' @name vi_targets
#' @examples
#' gaussian_target(c(0, 1), matrix(c(1, 0.5, 0.5, 2), 2))
#' x <- cbind(1, c(-1.2, 0.3, 0.8, -0.5, 1.9, 0.1))
#' logistic_target(x, y = c(0, 1, 1, 0, 1, 0))
#' mixture_target(means = c(-2, 2), sds = 1, weights = c(0.3, 0.7))
#' funnel_target(dim = 3)
#' custom_target(function(z) -sum(z^2) / 2, function(z) -z, dim = 2)
NULL

#' @rdname vi_targets
#' @export
gaussian_target <- function(mean, cov) {
  check_required(mean)
  check_required(cov)
  mean <- check_number_vector(mean)
  d <- length(mean)
  cov <- check_target_covariance(cov, d)
  new_target("gaussian", d, mean = mean, cov = cov)
}

#' @rdname vi_targets
#' @export
logistic_target <- function(x, y, prior_sd = 1) {
  check_required(x)
  check_required(y)
  x <- check_data(x)
  if (is.logical(y) && !is.object(y)) y <- as.double(y)
  if (!is.numeric(y) || is.object(y) || !is.null(dim(y)) || length(y) != nrow(x)) {
    abort_input(
      "{.arg y} must be a vector of 0s and 1s with one value per row of {.arg x} ({nrow(x)}), not {describe_value(y)}.",
      arg = "y"
    )
  }
  bad <- is.na(y) | !(y %in% c(0, 1))
  abort_bad_element(y, bad, "a vector of 0s and 1s", arg = "y", call = rlang::current_env())
  prior_sd <- check_number(prior_sd, lower = 0, lower_open = TRUE)
  new_target("logistic", ncol(x), x = x, y = as.double(y), prior_sd = prior_sd)
}

#' @rdname vi_targets
#' @export
mixture_target <- function(means, sds = 1, weights = NULL) {
  check_required(means)
  if (is.numeric(means) && !is.object(means) && is.null(dim(means))) {
    means <- matrix(means, ncol = 1)
  }
  if (!is.matrix(means) || !is.numeric(means) || is.object(means) || length(means) == 0) {
    abort_input(
      "{.arg means} must be a matrix of finite numbers (a row per component) or a vector of finite numbers, not {describe_value(means)}.",
      arg = "means"
    )
  }
  abort_bad_element(means, !is.finite(means), "finite numbers", arg = "means",
                    call = rlang::current_env())
  storage.mode(means) <- "double"
  dimnames(means) <- NULL
  K <- nrow(means)
  d <- ncol(means)
  ok_sds <- is.numeric(sds) && !is.object(sds) && length(sds) > 0 &&
    all(is.finite(sds)) && all(sds > 0) &&
    (length(sds) == 1 || (is.null(dim(sds)) && length(sds) == K) ||
       identical(dim(sds), dim(means)))
  if (!ok_sds) {
    abort_input(
      "{.arg sds} must be positive finite numbers: one, one per component ({K}), or a matrix of the shape of {.arg means} ({K} x {d}), not {describe_value(sds)}.",
      arg = "sds"
    )
  }
  sds <- if (is.matrix(sds)) sds + 0 else matrix(rep_len(as.double(sds), K), K, d)
  dimnames(sds) <- NULL
  if (is.null(weights)) weights <- rep(1 / K, K)
  ok_w <- is.numeric(weights) && !is.object(weights) && is.null(dim(weights)) &&
    length(weights) == K && all(is.finite(weights)) && all(weights >= 0) && sum(weights) > 0
  if (!ok_w) {
    abort_input(
      "{.arg weights} must be {K} non-negative finite number{?s} (one per component), not all 0, not {describe_value(weights)}.",
      arg = "weights"
    )
  }
  new_target("mixture", d, means = means, sds = sds,
             weights = as.double(weights) / sum(weights))
}

#' @rdname vi_targets
#' @export
funnel_target <- function(dim, scale = 3) {
  check_required(dim)
  dim <- check_whole(dim, min = 2)
  scale <- check_number(scale, lower = 0, lower_open = TRUE)
  new_target("funnel", dim, scale = scale)
}

#' @rdname vi_targets
#' @export
custom_target <- function(log_density, gradient, dim) {
  check_required(log_density)
  check_required(gradient)
  check_required(dim)
  for (arg in c("log_density", "gradient")) {
    f <- get(arg)
    if (!is.function(f)) {
      abort_input("{.arg {arg}} must be a function, not {describe_value(f)}.", arg = arg)
    }
  }
  dim <- check_whole(dim)
  target <- new_target("custom", dim, log_density = log_density, gradient = gradient)
  out <- custom_caller(target)(matrix(0, dim, 1), TRUE)
  if (!identical(out$status, "ok")) {
    abort_input(c("{.arg log_density} and {.arg gradient} must work at {.code z = rep(0, {dim})}.",
                  x = cli_escape(out$message)),
                arg = out$arg %||% "log_density")
  }
  target
}

#' A target object
#' @noRd
new_target <- function(type, dim, ...) {
  structure(list(type = type, dim = as.integer(dim), ...),
            class = c(paste0("vi_", type, "_target"), "vi_target"))
}

#' @export
print.vi_target <- function(x, ...) {
  cat("<vi_target> ", describe_target(x), "\n", sep = "")
  invisible(x)
}

#' One-line description of a target
#' @noRd
describe_target <- function(t) {
  switch(t$type,
    gaussian = sprintf("Gaussian, dimension %d", t$dim),
    logistic = sprintf("Bayesian logistic regression, %d rows x %d coefficients, prior sd %s",
                       nrow(t$x), t$dim, format_num(t$prior_sd)),
    mixture = sprintf("Gaussian mixture of %d components, dimension %d", nrow(t$means), t$dim),
    funnel = sprintf("Neal's funnel, dimension %d, scale %s", t$dim, format_num(t$scale)),
    custom = sprintf("R functions (slow path), dimension %d", t$dim),
    t$type
  )
}

#' Check a covariance: a symmetric positive definite d x d matrix (or
#' variances, or one variance)
#' @noRd
check_target_covariance <- function(cov, d, arg = "cov", call = rlang::caller_env()) {
  if (is.numeric(cov) && !is.object(cov) && is.null(dim(cov)) &&
      length(cov) %in% c(1, d) && all(is.finite(cov)) && all(cov > 0)) {
    return(diag(rep_len(as.double(cov), d), d))
  }
  if (!is.matrix(cov) || !is.numeric(cov) || !identical(dim(cov), c(d, d)) ||
      !all(is.finite(cov))) {
    abort_input(
      "{.arg {arg}} must be a {d} x {d} matrix of finite numbers, {d} positive variance{?s} or one, not {describe_value(cov)}.",
      arg = arg, call = call
    )
  }
  storage.mode(cov) <- "double"
  dimnames(cov) <- NULL
  if (max(abs(cov - t(cov))) > 1e-10 * max(1, max(abs(cov)))) {
    abort_input("{.arg {arg}} must be symmetric.", arg = arg, call = call)
  }
  cov <- (cov + t(cov)) / 2
  ok <- tryCatch({
    chol(cov)
    TRUE
  }, error = function(e) FALSE)
  if (!ok) {
    abort_input(
      c("{.arg {arg}} must be positive definite.",
        x = "Its smallest eigenvalue is {format_num(signif(min(eigen(cov, symmetric = TRUE, only.values = TRUE)$values), 3))}."),
      arg = arg, call = call
    )
  }
  cov
}

#' The function that evaluates a custom target at the columns of a matrix,
#' as the C++ glue calls it: list(status = "ok", log_density, gradient) or
#' list(status = "error", message, arg) or list(status = "interrupted").
#' Errors and interrupts are caught here, so none jumps through C++.
#' @noRd
custom_caller <- function(target) {
  log_density <- target$log_density
  gradient <- target$gradient
  d <- target$dim
  function(z, with_gradient) {
    tryCatch({
      n <- ncol(z)
      lp <- numeric(n)
      g <- matrix(0, d, n)
      for (s in seq_len(n)) {
        v <- log_density(z[, s])
        if (!is.numeric(v) || length(v) != 1 || !is.finite(v)) {
          return(list(status = "error", arg = "log_density",
                      message = sprintf("`log_density()` returned %s at a point; it must return one finite number.",
                                        describe_value(v))))
        }
        lp[s] <- v
        if (with_gradient) {
          gv <- gradient(z[, s])
          if (!is.numeric(gv) || length(gv) != d || !all(is.finite(gv))) {
            what <- if (is.numeric(gv) && length(gv) == d) "non-finite values" else describe_value(gv)
            return(list(status = "error", arg = "gradient",
                        message = sprintf("`gradient()` returned %s at a point; it must return %d finite numbers.",
                                          what, d)))
          }
          g[, s] <- gv
        }
      }
      list(status = "ok", log_density = lp, gradient = g)
    },
    interrupt = function(e) list(status = "interrupted"),
    error = function(e) {
      # A time limit set by setTimeLimit() stops a fit as an interrupt does.
      if (is_time_limit(e)) return(list(status = "interrupted"))
      list(status = "error", arg = "log_density",
           message = paste("An error in the target's R functions:", conditionMessage(e)))
    })
  }
}

#' Whether a condition is R's error for a limit of setTimeLimit()
#' @noRd
is_time_limit <- function(cnd) {
  limits <- c(gettext("reached elapsed time limit", domain = "R"),
              gettext("reached CPU time limit", domain = "R"))
  any(startsWith(conditionMessage(cnd), limits))
}

#' The target as the C++ glue reads it
#' @noRd
target_for_cpp <- function(target) {
  if (target$type == "custom") target$caller <- custom_caller(target)
  target
}
