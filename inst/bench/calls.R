# What bounds the parts' elementwise cost: the C library calls their
# likelihoods cannot do without, timed alone on the pixels of one iteration,
# against the diagonal Gaussian VAE's iteration time measured in the same run.
# Run it through run.sh:
#
#     sh inst/bench/run.sh calls [--rounds N] [--configs small,large]
#
# Results must stay identical to the bit, so the likelihoods take the C
# library's exp, log1p, log, expm1 and sinh (vaeconv's own vector kernels
# differ in the last bits), through libm.hpp's kernels: the C library's bits,
# 4 or 8 values at a time, on CPUs with AVX2 and FMA (one at a time
# elsewhere). After sharing what can be shared (likelihood.hpp), one pixel
# still needs
#   Bernoulli:            exp(-|eta|), log1p(e) and one division (sigmoid);
#   continuous Bernoulli: the same and, where |eta| >= 0.25, log(|eta|),
#                         log(-expm1(-|eta|)), sinh(eta) and two divisions;
#   obs_sd_from_z:        log(c^2), exp(-|U|), four divisions (and its second
#                         head's products: see the FLOP ratio of parts.R).
# Each part is fitted as parts.R fits it (the configuration's iterations) and
# its decoder's outputs on 128 rows (the minibatch) at the end of the fit are
# the arguments, so the branches and the share of |eta| >= 0.25 are those of
# the timed fits. The calls are timed in C++ (compiled here with R's flags),
# with their results stored as the likelihood stores them; "bound" is
# 1 + calls / Gaussian iteration: the part's time ratio if everything else
# cost what the Gaussian VAE's iteration costs. A second table times the
# continuous Bernoulli's six function evaluations alone on the same logits,
# through libm.hpp's kernels in use and through the C library's calls one
# value at a time.

source(file.path((function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  dirname(normalizePath(f[1]))
})(), "common.R"))

here <- bench_dir()
opt <- parse_options(list(rounds = 3, configs = c("small", "large"), root = getwd()))
configs <- read_configs(here)[opt$configs]
print_machine(machine(opt$root))

Rcpp::sourceCpp(code = '
// [[Rcpp::depends(vaeconv)]]
#include <Rcpp.h>
#include <vaeconv/libm.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>
// Median seconds of one pass of the calls over the values (eta, or U and
// c^2 for part 2), over `blocks` blocks of `reps` passes.
// [[Rcpp::export]]
double bench_calls(int part, const Rcpp::NumericVector& eta, const Rcpp::NumericVector& var,
                   int reps, int blocks) {
  const std::size_t n = eta.size();
  std::vector<double> e(n), l(n), s(n), c(n), d(n), p(n), q(n), r(n);
  std::vector<std::size_t> big(n);
  auto pass = [&] {
    if (part == 2) {  // obs_sd_from_z: eta holds U
      vaeconv::libm::log(var.begin(), l.data(), n);
      vaeconv::libm::exp_neg_abs(eta.begin(), e.data(), n);
      for (std::size_t k = 0; k < n; ++k) {
        s[k] = 1.0 / (1.0 + e[k]);
        c[k] = l[k] / var[k] + e[k] / var[k] + s[k] / var[k];
      }
      return;
    }
    vaeconv::libm::exp_neg_abs(eta.begin(), e.data(), n);
    vaeconv::libm::log1p(e.data(), l.data(), n);
    for (std::size_t k = 0; k < n; ++k) s[k] = 1.0 / (1.0 + e[k]);
    if (part == 1) {  // the far pixels gathered, as likelihood.hpp does
      std::size_t nb = 0;
      for (std::size_t k = 0; k < n; ++k) {
        big[nb] = k;
        nb += std::fabs(eta[k]) >= 0.25 ? 1 : 0;
      }
      for (std::size_t j = 0; j < nb; ++j) p[j] = std::fabs(eta[big[j]]);
      vaeconv::libm::log(p.data(), q.data(), nb);
      vaeconv::libm::expm1_neg_abs(p.data(), r.data(), nb);
      for (std::size_t j = 0; j < nb; ++j) r[j] = -r[j];
      vaeconv::libm::log(r.data(), r.data(), nb);
      for (std::size_t j = 0; j < nb; ++j) c[big[j]] = q[j] - r[j];
      for (std::size_t j = 0; j < nb; ++j) p[j] = eta[big[j]];
      vaeconv::libm::sinh(p.data(), q.data(), nb);
      for (std::size_t j = 0; j < nb; ++j) r[j] = 1.0 / p[j] - 1.0 / q[j];  // (vector divisions
      for (std::size_t j = 0; j < nb; ++j) d[big[j]] = r[j];                 // in the likelihood)
    }
  };
  pass();
  std::vector<double> t;
  for (int b = 0; b < blocks; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) pass();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Median seconds of one pass of the C library function `fun` (0 exp, 1
// log1p, 2 log, 3 expm1, 4 sinh; of -|x| with neg_abs) over x through
// libm.hpp at width w (0: the C library, one value at a time; -1: the width
// a fit uses), over `blocks` blocks of `reps` passes.
// [[Rcpp::export]]
double bench_function(int fun, const Rcpp::NumericVector& x, bool neg_abs, int w, int reps,
                      int blocks) {
  using vaeconv::libm::Fn;
  const Fn f = fun == 0 ? Fn::exp : fun == 1 ? Fn::log1p : fun == 2 ? Fn::log
             : fun == 3 ? Fn::expm1 : Fn::sinh;
  if (w < 0) w = vaeconv::libm::width(f);
  std::vector<double> y(x.size());
  std::vector<double> t;
  for (int b = 0; b < blocks; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) vaeconv::libm::at(f, w, x.begin(), y.data(), x.size(), neg_abs);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}')

parts <- list(
  bernoulli = list(id = 0, model = function(cf) {
    bernoulli_vae(latent_dim = cf$dz, hidden = cf$hidden, activation = cf$activation)
  }, data = "binary"),
  continuous_bernoulli = list(id = 1, model = function(cf) {
    bernoulli_vae(latent_dim = cf$dz, hidden = cf$hidden, activation = cf$activation,
                  continuous = TRUE)
  }, data = "unit"),
  obs_sd_from_z = list(id = 2, model = function(cf) config_model(cf, obs_sd_from_z = TRUE),
                       data = "unit")
)

rows <- list()
kernel_rows <- list()
for (name in names(configs)) {
  cf <- configs[[name]]
  unit <- make_data(cf$rows, cf$dx)
  binary <- (unit > 0.5) * 1
  iters <- 10L + 3L * as.integer(cf$iters)
  args <- list()
  for (p in names(parts)) {
    x <- if (parts[[p]]$data == "binary") binary else unit
    fit <- fit_vae(x, parts[[p]]$model(cf), optimizer = adam(lr = cf$lr, decay = 0),
                   batch_size = cf$batch, iterations = iters, seed = 1, n_threads = 1,
                   progress = FALSE)
    set.seed(2)
    b <- x[sample.int(nrow(x), cf$batch), , drop = FALSE]
    z <- encode(fit, b) + sqrt(encode(fit, b, "variance")) * matrix(stats::rnorm(cf$batch * cf$dz), cf$batch)
    out <- vaeconv:::cpp_decode(fit$model, fit$state$par, z, cf$dx, "output")
    var <- if (p == "obs_sd_from_z") vaeconv:::cpp_decode(fit$model, fit$state$par, z, cf$dx, "variance") else out
    # U from c^2 = min_var + softplus(U) (min_var = 1e-4, the default)
    eta <- if (p == "obs_sd_from_z") log(expm1(pmax(var - 1e-4, 1e-300))) else out
    args[[p]] <- list(eta = c(eta), var = c(var),
                      far = if (p == "obs_sd_from_z") NA else mean(abs(c(out)) >= 0.25))
  }
  reps <- max(1L, as.integer(round(2e6 / (cf$batch * cf$dx))))
  for (r in seq_len(opt$rounds)) {
    g <- time_fit(unit, config_model(cf), elbo(), cf$batch, as.integer(cf$iters), lr = cf$lr)[["block"]]
    for (p in names(parts)) {
      ms <- 1000 * bench_calls(parts[[p]]$id, args[[p]]$eta, args[[p]]$var, reps, 5)
      rows[[length(rows) + 1]] <- data.frame(config = name, part = p, round = r, gaussian_ms = g,
                                             calls_ms = ms, far = args[[p]]$far)
      cat(sprintf("  round %d %-6s %-21s calls %.3f ms per iteration, Gaussian VAE %.3f ms: bound %.2fx\n",
                  r, name, p, ms, g, 1 + ms / g))
    }
  }
  # The continuous Bernoulli's functions alone, on the same logits: the
  # kernels in use against the C library's calls one value at a time.
  eta <- args$continuous_bernoulli$eta
  a <- abs(eta[abs(eta) >= 0.25])
  fns <- list(`exp(-abs(eta))` = list(0, eta, TRUE), `log1p(e)` = list(1, exp(-abs(eta)), FALSE),
              `log(a)` = list(2, a, FALSE), `expm1(-a)` = list(3, a, TRUE),
              `log(-expm1(-a))` = list(2, -expm1(-a), FALSE),
              `sinh(eta)` = list(4, eta[abs(eta) >= 0.25], FALSE))
  us <- sapply(fns, function(f) 1e6 * c(
    kernels = bench_function(f[[1]], f[[2]], f[[3]], -1L, reps, 5),
    c_library = bench_function(f[[1]], f[[2]], f[[3]], 0L, reps, 5)))
  kernel_rows[[name]] <- us
  cat(sprintf("  %-6s continuous Bernoulli's functions alone, microseconds an iteration (kernels / C library): %s; total %.1f / %.1f\n",
              name, paste(sprintf("%s %.1f / %.1f", colnames(us), us[1, ], us[2, ]), collapse = ", "),
              sum(us[1, ]), sum(us[2, ])))
}
res <- do.call(rbind, rows)
cat("\n| configuration | part | pixels with abs(eta) >= 0.25 | calls, ms per iteration | Gaussian VAE, ms per iteration | bound: 1 + calls / Gaussian (rounds) |\n|---|---|---|---|---|---|\n")
for (name in names(configs)) for (p in names(parts)) {
  d <- res[res$config == name & res$part == p, ]
  cat(sprintf("| %s | %s | %s | %.3f | %.3f | %s |\n", config_label(configs[[name]]), p,
              if (is.na(d$far[1])) "" else sprintf("%.0f%%", 100 * d$far[1]),
              stats::median(d$calls_ms), stats::median(d$gaussian_ms),
              fmt_rounds(1 + d$calls_ms / d$gaussian_ms)))
}
cat("\nThe continuous Bernoulli's functions alone on the same logits, microseconds per iteration (median of 5 blocks): libm.hpp's kernels in use / the C library's calls one value at a time\n\n")
cat("| configuration |", paste(colnames(kernel_rows[[1]]), collapse = " | "), "| total |\n")
cat("|---|", paste(rep("---|", ncol(kernel_rows[[1]]) + 1), collapse = ""), "\n", sep = "")
for (name in names(kernel_rows)) {
  us <- kernel_rows[[name]]
  cat(sprintf("| %s | %s | %.1f / %.1f |\n", config_label(configs[[name]]),
              paste(sprintf("%.1f / %.1f", us[1, ], us[2, ]), collapse = " | "), sum(us[1, ]), sum(us[2, ])))
}
