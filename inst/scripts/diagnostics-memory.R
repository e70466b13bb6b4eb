# Peak memory of log_likelihood() and entropy_sum() on a wide network
# (issue 12): hidden = 1024, 100 rows of digits, samples (draws) = 5000.
#   Rscript inst/scripts/diagnostics-memory.R [n_threads] [log_likelihood|entropy_sum]
# Prints the process's peak resident size (VmHWM, Linux) before and after
# the call; run each case in a fresh process. Results (R 4.2.2, OpenBLAS
# 0.3.21): log_likelihood() 1387 MB before the change (1 or 2 threads),
# 95 MB (1 thread) and 101 MB (2 threads) after it, with 91 MB before the
# call; entropy_sum() 172 MB and 254 MB before, 95 MB and 101 MB after. The
# estimates are identical to the bit.
library(vaeconv)
args <- commandArgs(TRUE)
threads <- if (length(args) >= 1) as.integer(args[[1]]) else 1L
what <- if (length(args) >= 2) args[[2]] else "log_likelihood"
peak_mb <- function() {
  line <- grep("^VmHWM", readLines("/proc/self/status"), value = TRUE)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}
x <- as.matrix(digits[, 1:64]) / 16
fit <- fit_vae(x, gaussian_vae(4, hidden = 1024, learn_obs_sd = TRUE), iterations = 20,
               seed = 1, n_threads = 1, progress = FALSE)
before <- peak_mb()
seconds <- system.time(value <- switch(what,
  log_likelihood = log_likelihood(fit, x[1:100, ], samples = 5000, seed = 1,
                                  n_threads = threads)$estimate,
  entropy_sum = entropy_sum(fit, x[1:100, ], draws = 5000, seed = 1,
                            n_threads = threads)$elbo
))[["elapsed"]]
cat(sprintf("%s, %d thread(s): peak %.0f MB before the call, %.0f MB after; %.1f s; value %.17g\n",
            what, threads, before, peak_mb(), seconds, value))
