# Worst relative error of the hand-derived gradients against central finite
# differences (step 1e-5, noise held fixed), per model and objective:
# max |g - fd| / max |fd| over all parameters. The tests check every block
# against 1e-6; this prints the figures.
#     Rscript inst/scripts/gradient-check.R
library(vaeconv)
fdcheck <- function(m, o, S = 2L, K = 1L) {
  set.seed(3); x <- matrix(rnorm(18), 6, 3)
  p0 <- vaeconv:::cpp_init(m, 3L, 7); par <- p0 + rnorm(length(p0)) * 0.3
  eps <- if (isTRUE(o$exact)) matrix(0, 2, 0) else matrix(rnorm(2 * 6 * S * K), 2, 6 * S * K)
  f <- function(p) vaeconv:::cpp_objective(m, o, p, x, eps, S, FALSE)$objective
  g <- vaeconv:::cpp_objective(m, o, par, x, eps, S, TRUE)$gradient
  h <- 1e-5
  fd <- sapply(seq_along(par), function(i) { e <- replace(numeric(length(par)), i, h); (f(par + e) - f(par - e)) / (2 * h) })
  max(abs(g - fd)) / max(abs(fd))
}
res <- c()
for (a in list(soft_clip(s = 2, s1 = -1, s2 = 1.5), "tanh", "relu", "softplus", "sigmoid", "identity"))
  res[paste("elbo", if (is.character(a)) a else "soft_clip")] <- fdcheck(gaussian_vae(2, hidden = c(5, 4), activation = a, obs_sd = 0.8, learn_obs_sd = TRUE), elbo(beta = 0.7))
res["iwae K=3"] <- fdcheck(gaussian_vae(2, hidden = 5, learn_obs_sd = TRUE), iwae(K = 3), K = 3L)
res["vr-iwae a=0.5"] <- fdcheck(gaussian_vae(2, hidden = 5, learn_obs_sd = TRUE), iwae(K = 3, alpha = 0.5), K = 3L)
res["linear elbo"] <- fdcheck(linear_vae(2, learn_obs_sd = TRUE), elbo())
res["linear exact"] <- fdcheck(linear_vae(2, learn_obs_sd = TRUE), elbo(exact = TRUE), S = 1L)
print(signif(res, 2))

# The likelihoods as parts: every objective over the Bernoulli, continuous
# Bernoulli and z-dependent Gaussian decoders, the worst error per parameter
# block (decoder layers, the variance head, encoder layers and heads).
fdblocks <- function(m, o, x, S = 2L, K = 1L) {
  set.seed(3)
  p0 <- vaeconv:::cpp_init(m, ncol(x), 7); par <- p0 + rnorm(length(p0)) * 0.3
  eps <- matrix(rnorm(2 * nrow(x) * S * K), 2, nrow(x) * S * K)
  f <- function(p) vaeconv:::cpp_objective(m, o, p, x, eps, S, FALSE)$objective
  g <- vaeconv:::cpp_objective(m, o, par, x, eps, S, TRUE)$gradient
  h <- 1e-5
  fd <- sapply(seq_along(par), function(i) { e <- replace(numeric(length(par)), i, h); (f(par + e) - f(par - e)) / (2 * h) })
  lay <- vaeconv:::cpp_layout(m, ncol(x))
  blk <- factor(rep(lay$name, lay$rows * lay$cols), levels = lay$name)
  tapply(abs(g - fd), blk, max) / tapply(abs(fd), blk, function(v) max(max(v), 1e-8))
}
set.seed(1)
xs <- list(bernoulli = matrix(rbinom(18, 1, 0.5), 6, 3), continuous = matrix(runif(18), 6, 3),
           gaussian = matrix(rnorm(18), 6, 3))
models <- list(
  "Bernoulli" = list(bernoulli_vae(2, hidden = c(5, 4), activation = "tanh"), xs$bernoulli),
  "continuous Bernoulli" = list(bernoulli_vae(2, hidden = c(5, 4), activation = "tanh", continuous = TRUE), xs$continuous),
  "c(z)" = list(gaussian_vae(2, hidden = c(5, 4), activation = "tanh", obs_sd = 0.8, obs_sd_from_z = TRUE), xs$gaussian)
)
objectives <- list(elbo = list(elbo(beta = 0.7), 2L, 1L), "iwae K=3" = list(iwae(K = 3), 1L, 3L),
                   "vr-iwae a=0.5" = list(iwae(K = 3, alpha = 0.5), 1L, 3L))
worst <- NULL
for (mn in names(models)) for (on in names(objectives)) {
  e <- fdblocks(models[[mn]][[1]], objectives[[on]][[1]], models[[mn]][[2]],
                S = objectives[[on]][[2]], K = objectives[[on]][[3]])
  worst <- rbind(worst, data.frame(model = mn, objective = on, block = names(e), error = unname(e)))
}
cat("\nWorst relative error per block (over the objectives), new likelihoods:\n")
agg <- aggregate(error ~ model + block, worst, max)
agg$error <- signif(agg$error, 2)
print(agg[order(agg$model, agg$block), ], row.names = FALSE)
