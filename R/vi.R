#' Black-box variational inference
#'
#' Fits a variational family \eqn{q_\phi}{q_phi} to a target density
#' \eqn{p(z)} known up to a constant by stochastic optimisation of the ELBO
#' \eqn{E_q[\log p(z) - \log q_\phi(z)]}{E_q[log p(z) - log q_phi(z)]} (or of an
#' importance-weighted bound), with reparameterised gradients, the package's
#' optimisers and step sizes \eqn{\gamma_n = lr \cdot n^{-decay}}{gamma_n = lr n^-decay},
#' and records the trajectory a statistician needs to study the rate:
#' the same columns, [rate_compare()] and plots as for [fit_vae()].
#'
#' @section The objective and its gradient:
#' At iteration \eqn{n}, `draws` groups of \eqn{K} draws
#' \eqn{z_{g,k} = T_\phi(\varepsilon_{g,k})}{z_gk = T_phi(eps_gk)} give the log
#' weights \eqn{\log w = \log p(z) - \log q_\phi(z)}{log w = log p(z) - log q_phi(z)};
#' the objective is the mean over groups of
#' \eqn{\frac{1}{1-\alpha} \log \frac1K \sum_k w_{g,k}^{1-\alpha}}{1/(1 - alpha) log (1/K) sum_k w_gk^(1 - alpha)}:
#' the ELBO under [elbo()] (\eqn{K = 1}), the importance-weighted bound of
#' Domke and Sheldon (2018) under [iwae()] (\eqn{\alpha = 0}; `K` may follow
#' a [k_schedule()]). Its gradient is the pathwise one,
#' \eqn{\frac{1}{G} \sum_g \sum_k \bar w_{g,k} \nabla_\phi \log w_{g,k}}{(1/G) sum_g sum_k wbar_gk grad_phi log w_gk}
#' with \eqn{\log q_\phi(T_\phi(\varepsilon)) = \log N(\varepsilon) - \log|\det \partial T_\phi/\partial\varepsilon|}{log q_phi(T_phi(eps)) = log N(eps) - log |det dT_phi / d eps|},
#' derived by hand for every family and target (see [vi_families] and
#' [vi_targets]). Only `estimator = "reparam"` is available, and
#' [elbo()]'s `beta` must be 1.
#'
#' @section The trajectory:
#' Row \eqn{n} holds `objective` (the estimate from the draws used),
#' `grad_norm_sq` (the squared norm of the gradient used), `lr`, `seconds`,
#' `weight_change` \eqn{\|\phi_n - \phi_0\| / \|\phi_0\|}{|phi_n - phi_0| / |phi_0|}
#' after the step (`NA` when \eqn{\phi_0 = 0}, as for
#' `gaussian_family(scale = "exp")`); with `eval_every > 0`, every
#' `eval_every` iterations, `full_objective` and `full_grad_norm_sq`, the
#' objective and the squared norm of its gradient from `eval_samples` groups
#' of draws (of their own random stream) at the parameters the gradient was
#' taken at: with many samples, the squared norm of the exact gradient, the
#' quantity whose running mean [rate_compare()] sets beside
#' \eqn{\log n / \sqrt n}{log n / sqrt n}; and `kl_to_target`, the exact
#' \eqn{KL(q \| p)} at those parameters for a [gaussian_target()] fitted by
#' a [gaussian_family()] (`NA` otherwise). For a normalised target (all but
#' the logistic and custom ones) the ELBO is \eqn{-KL(q \| p)}.
#'
#' @section Determinism, threads, stopping:
#' Every draw is keyed by the seed, the iteration and its index, and the
#' logistic target's sum over rows runs over fixed chunks of rows added in
#' chunk order, so a fit is the same to the bit for any `n_threads`, and a
#' fit continued with `init` is identical to one long fit. A non-finite
#' objective or gradient stops the fit before that step with a warning and
#' `status = "diverged"`; an interrupt stops it between iterations with
#' `status = "interrupted"` and a warning. A [custom_target()] runs on one
#' thread; an error in its functions stops the fit with an error.
#'
#' @param target The target: [gaussian_target()], [logistic_target()],
#'   [mixture_target()], [funnel_target()] or [custom_target()].
#' @param family The variational family: [gaussian_family()],
#'   [sinh_arcsinh_family()] or [flow_family()].
#' @param objective [elbo()] or [iwae()].
#' @param optimizer [adam()], [sgd()], [adagrad()] or [rmsprop()].
#' @param iterations Number of optimisation steps.
#' @param draws Groups of draws per iteration (each of `K` draws under
#'   [iwae()]).
#' @param seed `NULL` or a whole number in \[0, 2147483647\]: the key of
#'   every random draw. `NULL` takes one draw from R's generator.
#' @param n_threads Threads (for the logistic target's rows and the
#'   evaluation draws); `NULL` takes `getOption("vaeconv.n_threads")`, else
#'   2 capped by the cores. The result does not depend on it.
#' @param record_every Record every `record_every`-th iteration.
#' @param eval_every Evaluate `full_objective` and `full_grad_norm_sq` every
#'   `eval_every` iterations; 0 never does.
#' @param eval_samples Groups of draws of that evaluation.
#' @param init `NULL`, or an earlier `vi_fit` to continue (its parameters,
#'   optimiser state and iteration counter); `target`, `family`,
#'   `objective`, `optimizer`, `draws` and `seed` then default to its own.
#' @param progress Whether to show a progress bar.
#' @returns An object of class `vi_fit`: a list with the `target`,
#'   `family`, `objective`, `optimizer`, `draws`, the `state` (flat
#'   parameters `par`, `par0`, optimiser moments, `iteration`, `seconds`),
#'   the `trajectory`, the `status`, the `seed` and the dimension `dim`. Use
#'   [coef()] for the family's parameters, [generate()] to draw from
#'   \eqn{q} and [log_density()] for \eqn{\log q}{log q}.
#' @references Domke, J. and Sheldon, D. (2018). Importance weighting and
#'   variational inference. *NeurIPS*.
#'
#'   Domke, J., Gower, R. and Garrigos, G. (2023). Provable convergence
#'   guarantees for black-box variational inference. *NeurIPS*.
#' @family variational inference
#' @export
#' @examples
#' target <- gaussian_target(c(1, -1), matrix(c(1, 0.6, 0.6, 2), 2))
#' fit <- fit_vi(target, gaussian_family("full"), optimizer = adam(lr = 0.05),
#'               iterations = 300, draws = 4, seed = 1, n_threads = 1)
#' fit
#' tail(trajectory(fit), 3)
#' coef(fit)$mean
#' # 200 more iterations: the same as 500 in one go.
#' fit2 <- fit_vi(init = fit, iterations = 200)
#' summary(fit2)
fit_vi <- function(target, family, objective = elbo(), optimizer = adam(),
                   iterations = 1000, draws = 1, seed = NULL, n_threads = NULL,
                   record_every = 1, eval_every = 0, eval_samples = 100, init = NULL,
                   progress = interactive()) {
  if (!is.null(init)) {
    check_vi_fit(init, arg = "init")
    if (missing(target)) target <- init$target
    if (missing(family)) family <- init$family
    if (missing(objective)) objective <- init$objective
    if (missing(optimizer)) optimizer <- init$optimizer
    if (missing(draws)) draws <- init$draws
    if (missing(seed)) seed <- init$seed
  }
  check_required(target)
  check_required(family)
  check_target(target)
  check_family(family)
  check_vi_objective(objective)
  check_optimizer(optimizer)
  iterations <- check_whole(iterations)
  draws <- check_whole(draws)
  seed <- check_seed(seed)
  n_threads <- resolve_threads(check_n_threads(n_threads))
  record_every <- check_whole(record_every)
  eval_every <- check_whole(eval_every, min = 0)
  eval_samples <- check_whole(eval_samples)
  progress <- check_flag(progress)
  state <- NULL
  if (!is.null(init)) {
    if (!identical(unclass(init$family), unclass(family)) ||
        !identical(class(init$family), class(family))) {
      abort_input("{.arg family} must be the family of {.arg init} to continue it.",
                  arg = "family")
    }
    if (target$dim != init$dim) {
      abort_input(
        "{.arg target} must have dimension {init$dim} (as the target {.arg init} was fitted to), not {target$dim}.",
        arg = "target"
      )
    }
    state <- init$state
  }
  if (is.null(seed)) seed <- draw_seed()
  control <- list(iterations = iterations, draws = draws, seed = seed,
                  n_threads = n_threads, record_every = record_every,
                  eval_every = eval_every, eval_samples = eval_samples,
                  progress = progress)
  call <- rlang::current_env()
  # As fit_vae(): an interrupt that reaches R once the compiled code has
  # returned does not lose the fit.
  keep_result(
    cpp_fit_vi(target_for_cpp(target), family, objective, optimizer, control, state),
    function(res) {
      if (identical(res$status, "error")) {
        cli::cli_abort(
          c("The target's R functions failed during the fit.", x = cli_escape(res$message)),
          class = c("vaeconv_error_custom_target", "vaeconv_error_input", "vaeconv_error"),
          arg = "target"
        )
      }
      traj <- as_trajectory(res$trajectory)
      if (inherits(objective$K, "vae_k_schedule")) traj <- with_K(traj, objective)
      if (!is.null(init)) {
        before <- init$trajectory
        if ("K" %in% names(traj)) before <- with_K(before, init$objective)
        if ("K" %in% names(before)) traj <- with_K(traj, objective)
        traj <- stack_trajectories(before, traj)
      }
      fit <- structure(
        list(target = target, family = family, objective = objective, optimizer = optimizer,
             draws = draws, state = res$state, trajectory = traj, status = res$status,
             seed = seed, dim = target$dim, eval_samples = eval_samples),
        class = "vi_fit"
      )
      warn_status(res$status, res$last_iteration, call = call)
      fit
    }
  )
}

#' Check an objective for fit_vi(): elbo() with beta = 1, or iwae() with the
#' reparameterised estimator
#' @noRd
check_vi_objective <- function(objective, arg = rlang::caller_arg(objective),
                               call = rlang::caller_env()) {
  check_objective(objective, arg = arg, call = call)
  if (isTRUE(objective$exact) || !identical(objective$beta, 1)) {
    abort_input(
      "{.arg {arg}} must be {.code elbo()} with {.code beta = 1} and {.code exact = FALSE} (or {.fn iwae}) for {.fn fit_vi}.",
      arg = arg, call = call
    )
  }
  if (!identical(objective$estimator, "reparam")) {
    abort_input(
      "{.arg {arg}} must use {.code estimator = \"reparam\"} for {.fn fit_vi}, not {.val {objective$estimator}}.",
      arg = arg, call = call
    )
  }
  invisible(objective)
}

#' Check an object is a vi_fit
#' @noRd
check_vi_fit <- function(fit, arg = rlang::caller_arg(fit), call = rlang::caller_env()) {
  check_spec(fit, "vi_fit", what = "a fit made by `fit_vi()`", arg = arg, call = call)
}

# Methods ------------------------------------------------------------------

#' Print, summarise, plot and use a variational fit
#'
#' `print()` shows the target, the family, the objective and the last
#' values; `summary()` returns a one-row tibble; `plot()` and `autoplot()`
#' draw the trajectory as for a `vae_fit`; `coef()` gives the family's
#' parameters; [trajectory()] and [rate_compare()] work as for a
#' `vae_fit`; `generate()` draws from the fitted \eqn{q}.
#'
#' @param x,object,fit A `vi_fit` from [fit_vi()].
#' @param y Unused.
#' @param n Number of draws.
#' @param seed `NULL` or a whole number: the key of the draws (`NULL` takes
#'   one draw from R's generator).
#' @param ... Unused.
#' @returns `print()` and `plot()` return `x` invisibly; `summary()` a
#'   one-row tibble with `iterations`, `status`, `objective` (the mean over
#'   the last tenth of the recorded iterations), `full_objective` (the last
#'   evaluation), `grad_norm_sq` (the mean over the last tenth),
#'   `kl_to_target` (the last recorded), `weight_change`, `seconds` and
#'   `ms_per_iteration`; `autoplot()` a ggplot; `coef()` a named list: for
#'   the Gaussian family `mean`, `scale` (\eqn{L}) and `cov`
#'   (\eqn{L L^\top}{L L'}), with `skewness` and `tailweight` for the
#'   sinh-arcsinh family; for the flow `base_mean`, `base_sd` and `layers`
#'   (each with `u`, `w`, `b` and the constrained `u_hat`); `generate()` a
#'   matrix with `n` rows and a column per dimension.
#' @family variational inference
#' @name vi_fit-methods
#' @examples
#' fit <- fit_vi(mixture_target(c(-1, 2), sds = c(1, 0.5), weights = c(0.7, 0.3)),
#'               sinh_arcsinh_family(), optimizer = adam(lr = 0.05),
#'               iterations = 200, draws = 4, seed = 1, n_threads = 1)
#' print(fit)
#' summary(fit)
#' str(coef(fit))
#' head(generate(fit, 100, seed = 1))
#' if (requireNamespace("ggplot2", quietly = TRUE)) ggplot2::autoplot(fit)
NULL

#' @rdname vi_fit-methods
#' @export
print.vi_fit <- function(x, ...) {
  s <- summary(x)
  cat("<vi_fit> ", describe_family(x$family), "\n", sep = "")
  cat("  target:     ", describe_target(x$target), "\n", sep = "")
  cat("  objective:  ", describe_objective(x$objective), ", ", x$draws,
      " draw", if (x$draws == 1) "" else "s", " per iteration\n", sep = "")
  cat("  optimizer:  ", describe_optimizer(x$optimizer), "\n", sep = "")
  cat("  status:     ", s$status, " after ", s$iterations, " iterations (",
      format_num(signif(s$seconds, 3)), " s, seed ", x$seed, ")\n", sep = "")
  if (nrow(x$trajectory) > 0) {
    cat("  objective:  ", format_num(signif(s$objective, 6)),
        " (mean over the last tenth)\n", sep = "")
    if (!is.na(s$full_objective)) {
      cat("  evaluated:  ", format_num(signif(s$full_objective, 6)), "\n", sep = "")
    }
    if (!is.na(s$kl_to_target)) {
      cat("  KL(q || p): ", format_num(signif(s$kl_to_target, 4)), "\n", sep = "")
    }
    cat("  |grad|^2:   ", format_num(signif(s$grad_norm_sq, 4)), "\n", sep = "")
  }
  invisible(x)
}

#' @rdname vi_fit-methods
#' @export
summary.vi_fit <- function(object, ...) {
  s <- fit_summary(object)
  kl <- object$trajectory$kl_to_target
  kl <- kl[!is.na(kl)]
  tibble::tibble(
    !!!s[c("iterations", "status", "objective", "full_objective", "grad_norm_sq")],
    kl_to_target = if (length(kl)) kl[[length(kl)]] else NA_real_,
    !!!s[c("weight_change", "seconds", "ms_per_iteration")]
  )
}

#' @rdname vi_fit-methods
#' @export
plot.vi_fit <- function(x, y, ...) {
  plot.vae_fit(x, y, ...)
  invisible(x)
}

#' @rdname vi_fit-methods
#' @exportS3Method ggplot2::autoplot
autoplot.vi_fit <- function(object, ...) {
  rlang::check_installed("ggplot2", reason = "to plot a fit.")
  plot_trajectory(object$trajectory)
}

#' @rdname vi_fit-methods
#' @export
coef.vi_fit <- function(object, ...) {
  family_coef(object$family, object$dim, object$state$par)
}

#' @rdname vi_fit-methods
#' @export
generate.vi_fit <- function(fit, n, seed = NULL, ...) {
  rlang::check_dots_empty()
  n <- check_whole(n)
  seed <- check_seed(seed)
  if (is.null(seed)) seed <- draw_seed()
  eps <- t(cpp_normals(seed, stream_id("generate"), 0, 0, n, fit$dim))
  z <- t(cpp_vi_sample(fit$family, fit$state$par, eps)$z)
  colnames(z) <- vi_names(fit)
  z
}

#' @rdname trajectory
#' @export
trajectory.vi_fit <- function(fit, ...) {
  fit$trajectory
}

#' @export
as.data.frame.vi_fit <- function(x, row.names = NULL, optional = FALSE, ...) {
  as.data.frame(trajectory(x))
}

#' @exportS3Method tibble::as_tibble
as_tibble.vi_fit <- function(x, ...) {
  trajectory(x)
}

#' The log density of a fitted distribution
#'
#' `log_density()` evaluates \eqn{\log q(z)}{log q(z)}, the log density of the
#' variational distribution fitted by [fit_vi()], at the rows of `z`, by the
#' change of variables \eqn{\log q(z) = \log N(T^{-1}(z); 0, I) - \log|\det \partial T / \partial \varepsilon|}{log q(z) = log N(T^-1(z); 0, I) - log |det dT / d eps|}
#' (for the planar flow, \eqn{T^{-1}}{T^-1} is computed by a safeguarded
#' Newton method per layer).
#'
#' @param fit A `vi_fit` from [fit_vi()].
#' @param z A numeric matrix or data frame with a column per dimension of
#'   the target, or one point as a numeric vector.
#' @param ... Unused.
#' @returns A numeric vector with one \eqn{\log q}{log q} per row of `z`
#'   (in nats).
#' @family variational inference
#' @export
#' @examples
#' fit <- fit_vi(gaussian_target(0, 2), gaussian_family(), optimizer = adam(lr = 0.05),
#'               iterations = 300, seed = 1, n_threads = 1)
#' log_density(fit, cbind(c(-1, 0, 1)))
#' dnorm(c(-1, 0, 1), 0, sqrt(2), log = TRUE)
log_density <- function(fit, z, ...) {
  UseMethod("log_density")
}

#' @export
log_density.default <- function(fit, z, ...) {
  abort_input("{.arg fit} must be a fit made by {.fn fit_vi}, not {describe_value(fit)}.",
              arg = "fit", call = rlang::current_env())
}

#' @rdname log_density
#' @export
log_density.vi_fit <- function(fit, z, ...) {
  rlang::check_dots_empty()
  check_required(z)
  if (is.numeric(z) && !is.object(z) && is.null(dim(z)) && length(z) == fit$dim) {
    z <- matrix(z, nrow = 1)
  }
  z <- check_data(z, ncol = fit$dim, ncol_reason = "the dimension of the target")
  cpp_vi_log_density(fit$family, fit$state$par, t(z))
}

#' Column names of draws: the covariates' names for a logistic target, else
#' z1, z2, ...
#' @noRd
vi_names <- function(fit) {
  nm <- if (identical(fit$target$type, "logistic")) colnames(fit$target$x) else NULL
  nm %||% paste0("z", seq_len(fit$dim))
}
