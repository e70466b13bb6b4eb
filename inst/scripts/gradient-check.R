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
