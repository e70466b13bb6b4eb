#' Probabilistic PCA by maximum likelihood
#'
#' `ppca()` fits probabilistic principal component analysis,
#' \eqn{x \sim N(\mu, W W^\top + \sigma^2 I)}{x ~ N(mu, W W' + sigma^2 I)},
#' by maximum likelihood in closed form (Tipping & Bishop, 1999). It is the
#' optimum that a linear VAE ([linear_vae()]) with a learned observation
#' standard deviation reaches when its encoder is the exact posterior, and
#' the reference its trajectory is compared with.
#'
#' @details
#' With \eqn{n} rows of dimension \eqn{d} and \eqn{k} = `latent_dim`, let
#' \eqn{\lambda_1 \ge \dots \ge \lambda_d}{lambda_1 >= ... >= lambda_d} be the
#' eigenvalues of the sample covariance
#' \eqn{S = \frac{1}{n} \sum_i (x_i - \bar x)(x_i - \bar x)^\top}{S = (1/n) sum_i (x_i - xbar)(x_i - xbar)'}
#' (divided by \eqn{n}, the maximum-likelihood estimate) and \eqn{U_k} the
#' eigenvectors of the \eqn{k} largest. (The covariance and its
#' eigen-decomposition are computed with the BLAS on one thread, whatever
#' its setting, so the result does not depend on it: a multi-threaded BLAS
#' sums in another order on another number of threads.) The
#' maximum-likelihood estimates are
#' \deqn{\mu = \bar x, \quad \sigma^2 = \frac{1}{d - k} \sum_{j > k} \lambda_j, \quad W = U_k (\Lambda_k - \sigma^2 I)^{1/2},}{mu = xbar, sigma^2 = mean(lambda_(k+1), ..., lambda_d), W = U_k (Lambda_k - sigma^2 I)^(1/2),}
#' with \eqn{W} unique up to a rotation \eqn{W R} of its columns (here each
#' column's entry of largest magnitude is positive). The maximised
#' log-likelihood, in nats per data point, is
#' \deqn{-\frac{1}{2}\left(d \log(2\pi) + \sum_{j \le k} \log \lambda_j + (d - k) \log \sigma^2 + d\right).}{-(1/2) (d log(2 pi) + sum_(j <= k) log lambda_j + (d - k) log sigma^2 + d).}
#'
#' @param x A numeric matrix or a data frame of numeric columns, one row per
#'   observation (at least 2 rows).
#' @param latent_dim The number \eqn{k} of principal components: a positive
#'   whole number less than `ncol(x)`.
#' @returns An object of class `vae_ppca`: a list with elements `W` (a
#'   `ncol(x)` x `latent_dim` matrix), `mu` (the column means), `obs_sd`
#'   (\eqn{\sigma}{sigma}), `loglik` (the maximised log-likelihood in nats per
#'   data point), `eigenvalues` (all \eqn{d} eigenvalues of \eqn{S}, largest
#'   first), `latent_dim` and `n_obs`.
#' @references
#' Tipping, M. E. and Bishop, C. M. (1999). Probabilistic principal component
#' analysis. *Journal of the Royal Statistical Society, Series B*, 61(3),
#' 611--622.
#' @seealso [linear_vae()], whose trajectory reports the gap to this optimum.
#' @family diagnostics
#' @export
#' @examples
#' x <- as.matrix(digits[, 1:64]) / 16
#' p <- ppca(x, latent_dim = 2)
#' p
#' dim(p$W)
ppca <- function(x, latent_dim) {
  x <- check_data(x, min_rows = 2)
  check_required(latent_dim)
  latent_dim <- check_whole(latent_dim)
  if (latent_dim >= ncol(x)) {
    abort_input(
      "{.arg latent_dim} must be less than the number of columns of {.arg x} ({ncol(x)}), not {latent_dim}.",
      arg = "latent_dim"
    )
  }
  sol <- ppca_solution(x, latent_dim)
  if (is.na(sol$loglik)) {
    abort_input(
      c("{.arg x} must have rank greater than {.arg latent_dim} ({latent_dim}) once its columns are centred.",
        x = "All its variance lies in the first {latent_dim} principal component{?s}, so the noise variance would be 0."),
      arg = "x"
    )
  }
  rownames(sol$W) <- colnames(x)
  colnames(sol$W) <- paste0("z", seq_len(latent_dim))
  names(sol$mu) <- colnames(x)
  structure(
    list(W = sol$W, mu = sol$mu, obs_sd = sqrt(sol$sigma2), loglik = sol$loglik,
         eigenvalues = sol$eigenvalues, latent_dim = latent_dim,
         n_obs = nrow(x)),
    class = "vae_ppca"
  )
}

#' @export
print.vae_ppca <- function(x, ...) {
  k <- x$latent_dim
  d <- length(x$mu)
  share <- sum(x$eigenvalues[seq_len(k)]) / sum(x$eigenvalues)
  cat(
    "<vae_ppca> probabilistic PCA, maximum likelihood (Tipping & Bishop)\n",
    "  data:       ", x$n_obs, " rows x ", d, " columns\n",
    "  latent_dim: ", k, " (", format_num(signif(100 * share, 3)),
    "% of the variance)\n",
    "  obs_sd:     ", format_num(signif(x$obs_sd, 6)), "\n",
    "  loglik:     ", format_num(signif(x$loglik, 8)), " nats per point\n",
    sep = ""
  )
  invisible(x)
}

#' The Tipping & Bishop solution, without input checks
#'
#' @param x A double matrix, `latent_dim` a positive integer.
#' @returns A list with `W`, `mu`, `sigma2`, `eigenvalues` and `loglik`
#'   (`NA` when `latent_dim >= ncol(x)` or no variance is left for the
#'   noise, where the maximum is degenerate).
#' @noRd
ppca_solution <- function(x, latent_dim) {
  # One BLAS thread: a multi-threaded BLAS splits the sums of crossprod()
  # and eigen() differently for each thread count, which moves the result
  # in its last bits.
  with_one_blas_thread(ppca_solution_(x, latent_dim))
}

#' Evaluate `code` with the BLAS on one thread, restoring its setting after
#' @noRd
with_one_blas_thread <- function(code) {
  previous <- cpp_set_blas_threads(1L)
  if (previous > 1L) on.exit(cpp_set_blas_threads(previous), add = TRUE)
  code
}

#' @noRd
ppca_solution_ <- function(x, latent_dim) {
  n <- nrow(x)
  d <- ncol(x)
  k <- latent_dim
  mu <- colMeans(x)
  xc <- x - rep(mu, each = n)
  e <- eigen(crossprod(xc) / n, symmetric = TRUE)
  values <- pmax(e$values, 0)
  if (k >= d) {
    return(list(W = NULL, mu = mu, sigma2 = NA_real_, eigenvalues = values,
                loglik = NA_real_))
  }
  sigma2 <- mean(values[(k + 1):d])
  U <- e$vectors[, seq_len(k), drop = FALSE]
  flip <- apply(U, 2, function(u) sign(u[which.max(abs(u))]))
  W <- U %*% diag(flip * sqrt(pmax(values[seq_len(k)] - sigma2, 0)), k, k)
  # No noise variance left (rank at most k, up to rounding): degenerate.
  degenerate <- sigma2 <= 64 * .Machine$double.eps * max(values[[1]], .Machine$double.xmin)
  loglik <- if (degenerate) {
    NA_real_
  } else {
    -0.5 * (d * log(2 * pi) + sum(log(values[seq_len(k)])) +
              (d - k) * log(sigma2) + d)
  }
  list(W = W, mu = mu, sigma2 = sigma2, eigenvalues = values, loglik = loglik)
}

#' Exact log-likelihood of probabilistic PCA
#'
#' The mean over the rows of `x` of
#' \eqn{\log N(x_i; \mu, W W^\top + c^2 I)}{log N(x_i; mu, W W' + c^2 I)}, in
#' nats per data point: the exact log-likelihood of a linear VAE whose
#' decoder is \eqn{N(W z + \mu, c^2 I)}{N(W z + mu, c^2 I)}. Computed in the
#' C++ core by the determinant lemma and the Woodbury identity with a
#' Cholesky factor of the `k x k` matrix \eqn{W^\top W + c^2 I}{W'W + c^2 I}
#' (never a `d x d` one), as a sum of non-negative terms.
#'
#' @param x A double matrix (n x d), already checked.
#' @param W A d x k matrix.
#' @param mu A vector of length d.
#' @param obs_sd The positive number c.
#' @returns A double.
#' @noRd
ppca_loglik <- function(x, W, mu, obs_sd) {
  x <- as.matrix(x)
  storage.mode(x) <- "double"
  W <- as.matrix(W)
  storage.mode(W) <- "double"
  cpp_ppca_loglik(x, W, as.double(mu), as.double(obs_sd))
}

#' The pPCA optimum's log-likelihood a linear VAE's trajectory compares with
#'
#' @returns The maximised log-likelihood of `x` for a linear VAE evaluated
#'   during the fit (`eval_every > 0`), `NA` otherwise or when degenerate.
#' @noRd
loglik_optimum <- function(x, model, eval_every) {
  if (!inherits(model, "vae_linear") || eval_every == 0) {
    return(NA_real_)
  }
  ppca_solution(x, model$latent_dim)$loglik
}
