# Exercises the compiled paths under valgrind:
#   R -d "valgrind --leak-check=full --error-limit=no" --vanilla -f inst/scripts/valgrind.R
# (expects vaeconv installed; last run: 0 errors, 0 bytes definitely or possibly lost).
library(vaeconv)
x <- as.matrix(digits[1:200, 1:64]) / 16
for (act in list(soft_clip(), "tanh", "relu")) {
  m <- gaussian_vae(latent_dim = 3, hidden = c(8, 5), activation = act, learn_obs_sd = TRUE)
  f1 <- fit_vae(x, m, batch_size = 50, iterations = 20, seed = 1, n_threads = 1, eval_every = 10, eval_samples = 2)
  f2 <- fit_vae(x, m, batch_size = 50, iterations = 20, seed = 1, n_threads = 2, eval_every = 10, eval_samples = 2)
  stopifnot(identical(f1$state$par, f2$state$par))
  f3 <- fit_vae(x, init = f2, iterations = 5, n_threads = 2)
}
m0 <- gaussian_vae(latent_dim = 2, hidden = NULL)
f <- fit_vae(x, m0, batch_size = 33, iterations = 7, seed = 2, n_threads = 2)
for (o in list(sgd(lr = 0.01, momentum = 0.9), adagrad(), rmsprop(bound = 0.5))) f <- fit_vae(x, m0, optimizer = o, iterations = 5, seed = 2, n_threads = 1)
z <- encode(f, x[1:7, ]); v <- encode(f, x[1:7, ], type = "variance")
d <- decode(f, z); r <- reconstruct(f, x[1:3, ]); g <- generate(f, 5, seed = 1, noise = TRUE)
case <- vaeconv:::cpp_objective(m0, elbo(beta = 0.5), f$state$par, x[1:9, ], matrix(rnorm(2 * 9 * 3), 2, 27), 3, TRUE)
a <- vaeconv:::cpp_activation(soft_clip(s = 50), c(-1e300, 0, 1e300))
s <- vaeconv:::cpp_optimizer_step(adam(), 3, c(1, 2), c(0.1, 0.2), c(0, 0), c(0, 0))
n <- vaeconv:::cpp_normals(1, 3, 1, 0, 11, 3)
suppressWarnings(fd <- fit_vae(x, m0, optimizer = sgd(lr = 1e8, decay = 0), iterations = 20, seed = 1, n_threads = 2))
stopifnot(fd$status == "diverged")
cat("valgrind script done\n")
