# Interrupts (SIGINT, as Ctrl-C sends) with the progress bar shown, under
# valgrind:
#   CLI_TICK_TIME=10 R -d "valgrind --error-limit=no" --vanilla -f inst/scripts/valgrind-interrupt.R
# (expects vaeconv installed). Each long call gets a SIGINT from a shell
# started just before it (`kill -INT` of this process after `after`
# seconds), while cli redraws its bar every 10 ms (CLI_TICK_TIME), so that
# interrupts also land inside cli's R code. It checks what each call
# returns or signals, and that R goes on. Unix only.
# Last run (valgrind 3.19 with --leak-check=full, R 4.2.2, Debian's TBB
# 2021.8, 16 interrupts: two rounds of a fit on 1 and 2 threads, parallel
# and sequential replicates, log_likelihood(), entropy_sum(), evaluate() and
# gradient_snr()): every check passed; no invalid read or write, no use of
# uninitialised values; definitely and indirectly lost 0 bytes; possibly
# lost 352 bytes in 1 block (the ERROR SUMMARY's one error): the
# thread-local storage glibc allocates in pthread_create() for TBB's worker
# thread, as in valgrind.R. (With the bar drawn through cli's C API and
# interrupts not suspended, the same script ended with cli's state broken,
# "Error in del_from:length(app$styles)", after an overlapping memcpy.)
library(vaeconv)
options(cli.progress_show_after = 0, cli.dynamic = TRUE)
x <- as.matrix(digits[1:300, 1:64]) / 16
model <- gaussian_vae(latent_dim = 3, hidden = c(16, 16), learn_obs_sd = TRUE)

# Runs f() with a SIGINT `after` seconds into it; returns its value, or
# "interrupt" when the interrupt reached R as a condition. It then waits for
# the signal to have been sent, so that a call that ends before its signal
# does not leave it to the next one (it stops with an error instead).
interrupted <- function(f, after) {
  sent <- tempfile()
  system(sprintf("(sleep %s; kill -INT %d; touch %s) >/dev/null 2>&1 &", after,
                 Sys.getpid(), sent))
  value <- tryCatch(suppressWarnings(f()), interrupt = function(cnd) "interrupt")
  early <- !file.exists(sent)
  while (!file.exists(sent)) {
    tryCatch(Sys.sleep(0.1), interrupt = function(cnd) NULL)
  }
  tryCatch(Sys.sleep(0.5), interrupt = function(cnd) NULL)
  if (early) stop("the call ended before its SIGINT: raise its size")
  value
}

# Seconds: early, and well into the run (valgrind is slow; natively, e.g.
# VAECONV_AFTER=0.5,1.5).
after <- as.numeric(strsplit(Sys.getenv("VAECONV_AFTER", "8,20"), ",")[[1]])
for (a in after) {
  for (threads in 1:2) {
    f <- interrupted(function() {
      fit_vae(x, model, batch_size = 50, iterations = 1e7, seed = 1, n_threads = threads,
              eval_every = 5, progress = TRUE)
    }, a)
    stopifnot(inherits(f, "vae_fit"), f$status == "interrupted", f$state$iteration > 0,
              nrow(trajectory(f)) == f$state$iteration)
    cat("fit, ", threads, " thread(s), SIGINT after ", a, " s: stopped at iteration ",
        f$state$iteration, "\n", sep = "")
  }
  r <- interrupted(function() {
    fit_vae_replicates(x, model = model, batch_size = 50, iterations = 1e7, seeds = 1:4,
                       n_threads = 2, progress = TRUE)
  }, a)
  stopifnot(inherits(r, "vae_fits"), all(summary(r)$status == "interrupted"))
  cat("parallel replicates: ", length(r), " started\n", sep = "")
  r <- interrupted(function() {
    fit_vae_replicates(x, model = model, batch_size = 50, iterations = 30000, seeds = 1:4,
                       parallel = FALSE, n_threads = 2, progress = TRUE)
  }, a)
  stopifnot(inherits(r, "vae_fits"), length(r) >= 1)
  cat("sequential replicates:", summary(r)$status, "\n")
  small <- fit_vae(x, model, batch_size = 50, iterations = 5, seed = 1, n_threads = 1)
  for (g in list(
    function() log_likelihood(small, x, samples = 20000, seed = 1, n_threads = 2, progress = TRUE),
    function() entropy_sum(small, x, draws = 10000, seed = 1, n_threads = 2, progress = TRUE),
    function() evaluate(small, x, samples = 10000, seed = 1, n_threads = 2, progress = TRUE),
    function() gradient_snr(small, x, batch_size = 300, draws = 3000, seed = 1, n_threads = 2,
                            progress = TRUE)
  )) {
    stopifnot(identical(interrupted(g, a), "interrupt"))
  }
  cat("log_likelihood, entropy_sum, evaluate, gradient_snr: interrupt signalled\n")
}
# R goes on, with the bar.
f <- fit_vae(x, model, batch_size = 50, iterations = 20, seed = 2, n_threads = 2, progress = TRUE)
stopifnot(f$status == "completed")
cat("valgrind interrupt script done\n")
