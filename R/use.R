#' Use a fitted VAE: encode, decode, reconstruct, generate
#'
#' `encode()` gives the mean (or the variance) of the encoder's distribution
#' \eqn{q(z | x)} for each row of `x`; `decode()` gives the mean
#' \eqn{E[x \mid z]}{E[x | z]} of the decoder's distribution for each row of
#' `z`: \eqn{G(z)} for a Gaussian decoder, the probabilities
#' \eqn{\mathrm{sigmoid}(G(z))}{sigmoid(G(z))} for a Bernoulli one, the mean
#' of the continuous Bernoulli; `reconstruct()` decodes the encoder's means;
#' `generate()` draws \eqn{z} from the prior \eqn{N(0, I)} and decodes it,
#' or, with `noise = TRUE`, draws \eqn{x} from \eqn{p(x \mid z)}{p(x | z)}:
#' \eqn{G(z)} plus \eqn{N(0, c^2 I)} noise (\eqn{N(0, \mathrm{diag}(c^2(z)))}{N(0, diag(c^2(z)))}
#' with `obs_sd_from_z = TRUE`), 0/1 draws for a Bernoulli decoder, draws in
#' \eqn{[0, 1]} for a continuous Bernoulli.
#'
#' @param fit A `vae_fit` from [fit_vae()].
#' @param x A numeric matrix or data frame with the columns of the data the
#'   model was fitted on.
#' @param type For `encode()`: `"mean"`, `"variance"` (the diagonal of the
#'   covariance) or `"covariance"` of \eqn{q(z | x)}.
#' @param z A numeric matrix or data frame with `latent_dim` columns.
#' @param n Number of draws.
#' @param seed `NULL` or a whole number: the key of the draws. `NULL` takes
#'   one draw from R's generator, so [set.seed()] reproduces the result.
#' @param noise `FALSE` for the mean of \eqn{p(x \mid z)}{p(x | z)} (for a
#'   Bernoulli decoder, the probabilities), `TRUE` for draws from it.
#' @returns A numeric matrix with a row per row of `x` or `z` (or per draw):
#'   `latent_dim` columns named `z1`, `z2`, ... for `encode()`, and the data's
#'   columns otherwise; for `encode(type = "covariance")` a
#'   `latent_dim x latent_dim x nrow(x)` array of the covariances (diagonal
#'   matrices for a diagonal encoder).
#' @family using a fit
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 32),
#'                iterations = 200, seed = 1, n_threads = 1)
#' z <- encode(fit, x[1:5, ])
#' z
#' dim(decode(fit, z))
#' range(reconstruct(fit, x[1:5, ]) - x[1:5, ])
#' dim(generate(fit, 3, seed = 1))
encode <- function(fit, x, type = c("mean", "variance", "covariance")) {
  check_fit(fit)
  x <- check_new_data(x, fit)
  type <- check_choice(type, c("mean", "variance", "covariance"))
  q <- cpp_encode(fit$model, fit$state$par, x)
  if (type == "covariance") {
    dz <- fit$model$latent_dim
    names_z <- paste0("z", seq_len(dz))
    return(array(t(q$covariance), c(dz, dz, nrow(x)), dimnames = list(names_z, names_z, NULL)))
  }
  out <- if (type == "mean") q$mean else q$var
  colnames(out) <- paste0("z", seq_len(ncol(out)))
  out
}

#' @rdname encode
#' @export
decode <- function(fit, z) {
  check_fit(fit)
  z <- check_data(z, arg = "z")
  k <- fit$model$latent_dim
  # Columns named as encode() names them are matched by name.
  latent <- if (!is.null(colnames(z)) && all(grepl("^z[0-9]+$", colnames(z)))) {
    paste0("z", seq_len(k))
  }
  z <- match_columns(z, latent, k, arg = "z", call = rlang::current_env(),
                     reason = "the model's latent dimension",
                     what = "the model's latent space")
  name_features(fit, cpp_decode(fit$model, fit$state$par, z, fit$n_features))
}

#' @rdname encode
#' @export
reconstruct <- function(fit, x) {
  check_fit(fit)
  x <- check_new_data(x, fit)
  z <- cpp_encode(fit$model, fit$state$par, x)$mean
  name_features(fit, cpp_decode(fit$model, fit$state$par, z, fit$n_features))
}

#' @rdname encode
#' @param ... Arguments of the methods (`seed`, and `noise` for a `vae_fit`).
#'   `generate()` is generic: for a `vi_fit` from [fit_vi()] it draws from
#'   the fitted \eqn{q} (see [generate.vi_fit()]).
#' @export
generate <- function(fit, n, ...) {
  UseMethod("generate")
}

#' @export
generate.default <- function(fit, n, ...) {
  abort_input(
    "{.arg fit} must be a fit made by {.fn fit_vae} or {.fn fit_vi}, not {describe_value(fit)}.",
    arg = "fit", call = rlang::current_env()
  )
}

#' @rdname encode
#' @export
generate.vae_fit <- function(fit, n, seed = NULL, noise = FALSE, ...) {
  rlang::check_dots_empty()
  n <- check_whole(n)
  seed <- check_seed(seed)
  noise <- check_flag(noise)
  if (is.null(seed)) seed <- draw_seed()
  z <- cpp_normals(seed, stream_id("generate"), 0, 0, n, fit$model$latent_dim)
  out <- if (noise) {
    e <- cpp_normals(seed, stream_id("generate"), 1, 0, n, fit$n_features)
    cpp_decode(fit$model, fit$state$par, z, fit$n_features, "draws", e)
  } else {
    cpp_decode(fit$model, fit$state$par, z, fit$n_features)
  }
  name_features(fit, out)
}

#' Predict from a fitted VAE
#'
#' @param object A `vae_fit`.
#' @param newdata Data with the columns the model was fitted on (matched by
#'   name where both have names). A `vae_fit` does not keep the data it was
#'   fitted on, so `newdata` must be given; with the fit's data, pass that
#'   data again.
#' @param type `"latent"` for the encoder's means ([encode()]),
#'   `"variance"` for its variances, `"reconstruction"` for the decoded
#'   means ([reconstruct()]).
#' @param ... Unused.
#' @returns A numeric matrix with a row per row of `newdata`.
#' @family using a fit
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 50, seed = 1, n_threads = 1)
#' head(predict(fit, x))
predict.vae_fit <- function(object, newdata, type = c("latent", "variance", "reconstruction"),
                            ...) {
  type <- check_choice(type, c("latent", "variance", "reconstruction"))
  if (missing(newdata)) {
    # A fit keeps its data's fingerprint, not the data ([[ ]]: `$` would
    # match `data_fingerprint` partially).
    if (is.null(object[["data"]])) {
      abort_input(
        c("{.arg newdata} must be supplied: a {.cls vae_fit} does not keep the data it was fitted on.",
          i = "Pass the data again, e.g. {.code predict(fit, x)} with the {.arg x} given to {.fn fit_vae}."),
        arg = "newdata", call = rlang::current_env()
      )
    }
    newdata <- object[["data"]]
  }
  switch(type,
    latent = encode(object, newdata),
    variance = encode(object, newdata, type = "variance"),
    reconstruction = reconstruct(object, newdata)
  )
}

#' Parameters of a fitted VAE
#'
#' @param object A `vae_fit`.
#' @param ... Unused.
#' @returns A named list of numeric matrices, one per parameter block:
#'   decoder layers (`decoder.1.weight`, `decoder.1.bias`, ...), the log of
#'   the observation sd when learned (`log_obs_sd`), encoder layers
#'   (`encoder.1.weight`, ...) and the encoder's heads (`mean.weight`,
#'   `mean.bias`, `var.weight`, `var.bias`). A weight is an `out x in`
#'   matrix, so a layer maps `h` to `weight %*% h + bias`.
#'   For a [linear_vae()]: `W` and `mu` (the decoder's mean `W z + mu`),
#'   `log_obs_sd` when learned, `V` and `b` (the encoder's mean `V x + b`) and
#'   `log_tau2` (the log of the encoder's variances).
#' @family using a fit
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' fit <- fit_vae(x, gaussian_vae(latent_dim = 2, hidden = 16),
#'                iterations = 50, seed = 1, n_threads = 1)
#' str(coef(fit))
coef.vae_fit <- function(object, ...) {
  unflatten(object$model, object$n_features, object$state$par)
}

#' A flat parameter vector as a named list of matrices
#' @noRd
unflatten <- function(model, n_features, par) {
  layout <- cpp_layout(model, n_features)
  out <- lapply(seq_len(nrow(layout)), function(i) {
    idx <- layout$offset[i] + seq_len(layout$rows[i] * layout$cols[i])
    matrix(par[idx], layout$rows[i], layout$cols[i])
  })
  stats::setNames(out, layout$name)
}

#' The observation sd of a fit (fixed or learned)
#' @noRd
obs_sd <- function(fit) {
  if (!isTRUE(fit$model$learn_obs_sd)) return(fit$model$obs_sd)
  exp(coef(fit)$log_obs_sd[[1]])
}

#' Column names of the data on a matrix of the data's shape
#' @noRd
name_features <- function(fit, m) {
  colnames(m) <- fit$feature_names
  m
}

#' The number of a random stream of the core (rng.hpp's `Stream`)
#' @noRd
stream_id <- function(name) {
  c(init = 1L, permutation = 2L, train = 3L, eval = 4L, generate = 5L,
    estimate = 6L, user = 7L)[[name]]
}
