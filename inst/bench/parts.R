# The parts beyond the diagonal Gaussian VAE, timed against it: the Bernoulli
# and continuous Bernoulli likelihoods, the decoder variance that depends on z
# (obs_sd_from_z), the full-covariance encoder and the score-function
# estimator, on the small and large configurations of configs.csv. Run it
# through run.sh:
#
#     sh inst/bench/run.sh parts [options]
#
# Options (all optional):
#   --rounds N        interleaved rounds (3)
#   --iters-scale X   multiply the iterations per timed block of configs.csv (1)
#   --configs LIST    comma-separated configurations (small,large)
#   --threads N       vaeconv's threads (1)
#   --out DIR         where parts.md and parts.csv go (inst/bench/results; ""
#                     for none)
#   --readme FILE     README.md whose table between the markers
#                     <!-- bench:parts:start/end --> is replaced ("" for none)
#
# Each part is the diagonal Gaussian VAE of the configuration (the same
# widths, tanh, Adam with lr 1e-3, batch 128, K = 1) with one thing changed.
# A part whose function or argument does not exist in the installed vaeconv
# is skipped, and so is one whose fit fails (the table says why), so the
# script runs on any version. Every round times the baseline and each part
# (the same way as bench.R: the median over 3 blocks of the per-iteration
# time from the trajectory's `seconds`), in an order that reverses from round
# to round; the ratio part / baseline is taken within a round, and the table
# gives its median over the rounds (also from the medians of the single
# iterations' times, robust to a busy machine's interruptions, and from the
# CPU time per iteration of two whole calls, as bench.R does), beside the ratio of the dense layers'
# FLOP counts (common.R), which says how much of a part's cost is more work.

source(file.path((function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  dirname(normalizePath(f[1]))
})(), "common.R"))

here <- bench_dir()
opt <- parse_options(list(
  rounds = 3, iters_scale = 1, configs = c("small", "large"), threads = 1,
  root = getwd(), out = file.path("inst", "bench", "results"), readme = ""
))
configs <- read_configs(here)[opt$configs]
m <- machine(opt$root)
print_machine(m)
loads <- load_avg()

ns <- asNamespace("vaeconv")
has_fun <- function(f) exists(f, envir = ns, inherits = FALSE)
has_arg <- function(f, arg) has_fun(f) && arg %in% names(formals(get(f, envir = ns)))

# A part: whether the installed vaeconv has it (else why not), its model,
# objective and data, and its dense layers (for the FLOP ratio). The
# full-covariance encoder's second head has dz (dz + 1) / 2 outputs (the
# Cholesky factor L of Sigma - c_Sigma I); obs_sd_from_z adds a decoder head
# of dx outputs; the score-function estimator needs no gradient through the
# decoder's input (z), so the decoder's first layer loses its input gradient.
parts <- list(
  bernoulli = list(
    label = "Bernoulli likelihood (0/1 data)",
    available = function() if (!has_fun("bernoulli_vae")) "bernoulli_vae() does not exist",
    model = function(cf) {
      get("bernoulli_vae", envir = ns)(latent_dim = cf$dz, hidden = cf$hidden,
                                       activation = cf$activation)
    },
    data = "binary",
    flops = function(cf) config_flops(cf)
  ),
  continuous_bernoulli = list(
    label = "continuous Bernoulli likelihood",
    available = function() {
      if (!has_arg("bernoulli_vae", "continuous")) "bernoulli_vae(continuous = ) does not exist"
    },
    model = function(cf) {
      get("bernoulli_vae", envir = ns)(latent_dim = cf$dz, hidden = cf$hidden,
                                       activation = cf$activation, continuous = TRUE)
    },
    data = "unit",
    flops = function(cf) config_flops(cf)
  ),
  obs_sd_from_z = list(
    label = "Gaussian, variance depending on z (obs_sd_from_z)",
    available = function() {
      if (!has_arg("gaussian_vae", "obs_sd_from_z")) "gaussian_vae(obs_sd_from_z = ) does not exist"
    },
    # obs_sd as the initial value if the version takes it, else without it.
    model = function(cf) {
      tryCatch(config_model(cf, obs_sd_from_z = TRUE), error = function(e) {
        gaussian_vae(latent_dim = cf$dz, hidden = cf$hidden, activation = cf$activation,
                     obs_sd_from_z = TRUE)
      })
    },
    data = "unit",
    flops = function(cf) dense_flops(cf$dx, cf$hidden, cf$dz, cf$batch, cf$K, out_heads = 2)
  ),
  full_covariance = list(
    label = "full-covariance encoder",
    available = function() {
      if (!has_arg("gaussian_vae", "covariance")) "gaussian_vae(covariance = ) does not exist"
    },
    model = function(cf) config_model(cf, covariance = "full"),
    data = "unit",
    flops = function(cf) {
      dense_flops(cf$dx, cf$hidden, cf$dz, cf$batch, cf$K,
                  heads = cf$dz + cf$dz * (cf$dz + 1) / 2)
    }
  ),
  score = list(
    label = "score-function estimator (elbo(estimator = \"score\"))",
    available = function() {
      if (!has_arg("elbo", "estimator")) "elbo(estimator = ) does not exist"
    },
    objective = function(cf) elbo(estimator = "score"),
    data = "unit",
    flops = function(cf) config_flops(cf) - 2 * cf$batch * cf$K * cf$dz * cf$hidden
  )
)

results <- list()
status <- list()
for (name in names(configs)) {
  cf <- configs[[name]]
  unit <- make_data(cf$rows, cf$dx)
  binary <- (unit > 0.5) * 1
  iters <- max(5L, as.integer(round(cf$iters * opt$iters_scale)))
  base_model <- config_model(cf)
  runs <- list(baseline = function() {
    c(time_fit(unit, base_model, elbo(), cf$batch, iters, threads = opt$threads, lr = cf$lr),
      cpu = time_calls(unit, base_model, elbo(), cf$batch, iters, threads = opt$threads,
                       lr = cf$lr)[["cpu"]])
  })
  for (p in names(parts)) {
    part <- parts[[p]]
    why <- part$available()
    if (is.null(why)) {
      # Build the part and fit it once, short, to see that this version can.
      made <- tryCatch({
        model <- if (is.null(part$model)) base_model else part$model(cf)
        objective <- if (is.null(part$objective)) elbo() else part$objective(cf)
        x <- if (part$data == "binary") binary else unit
        fit_vae(x, model, objective = objective, batch_size = cf$batch, iterations = 2,
                seed = 1, n_threads = 1, progress = FALSE)
        list(model = model, objective = objective, x = x)
      }, error = function(e) conditionMessage(e))
      if (is.character(made)) why <- paste("fails:", gsub("\\s+", " ", made[1]))
    }
    if (!is.null(why)) {
      status[[paste(name, p)]] <- data.frame(config = name, part = p, skipped = why)
      cat(sprintf("  %-6s %-21s skipped: %s\n", name, p, why))
      next
    }
    runs[[p]] <- local({
      made <- made
      function() {
        c(time_fit(made$x, made$model, made$objective, cf$batch, iters,
                   threads = opt$threads, lr = cf$lr),
          cpu = time_calls(made$x, made$model, made$objective, cf$batch, iters,
                           threads = opt$threads, lr = cf$lr)[["cpu"]])
      }
    })
  }
  for (r in seq_len(opt$rounds)) {
    loads <- c(loads, load_avg())
    order <- names(runs)
    if (r %% 2 == 0) order <- rev(order)
    for (p in order) {
      ms <- runs[[p]]()
      results[[length(results) + 1]] <- data.frame(round = r, config = name, part = p,
                                                   ms = ms[["block"]],
                                                   iteration = ms[["iteration"]],
                                                   cpu = ms[["cpu"]])
      cat(sprintf("  round %d %-6s %-21s %9.3f ms/iteration (single iterations: median %.3f; CPU time %.3f)\n",
                  r, name, p, ms[["block"]], ms[["iteration"]], ms[["cpu"]]))
    }
  }
}
loads <- c(loads, load_avg())
res <- do.call(rbind, results)

lines <- c(
  sprintf("Figures of one run of `sh inst/bench/run.sh parts` (%d rounds, %d thread%s): %s",
          as.integer(opt$rounds), as.integer(opt$threads), if (opt$threads > 1) "s" else "",
          machine_line(m, loads)),
  "",
  "| configuration | part | ms per iteration (blocks) | time / diagonal Gaussian VAE's (rounds) | the same, single iterations | the same, CPU time | FLOP / diagonal Gaussian VAE's |",
  "|---|---|---|---|---|---|---|"
)
for (name in names(configs)) {
  cf <- configs[[name]]
  base <- res[res$config == name & res$part == "baseline", c("round", "ms", "iteration", "cpu")]
  lines <- c(lines, sprintf("| %s | diagonal Gaussian VAE (the baseline) | %s | 1 | 1 | 1 | 1 |",
                            config_label(cf), fmt_ms(stats::median(base$ms))))
  for (p in names(parts)) {
    skip <- status[[paste(name, p)]]
    if (!is.null(skip)) {
      lines <- c(lines, sprintf("| %s | %s | skipped: %s | | | | %.2f |", config_label(cf),
                                parts[[p]]$label, skip$skipped,
                                parts[[p]]$flops(cf) / config_flops(cf)))
      next
    }
    d <- merge(res[res$config == name & res$part == p, c("round", "ms", "iteration", "cpu")],
               base, by = "round")
    lines <- c(lines, sprintf(
      "| %s | %s | %s | %s | %s | %s | %.2f |", config_label(cf), parts[[p]]$label,
      fmt_ms(stats::median(d$ms.x)), fmt_rounds(d$ms.x / d$ms.y),
      fmt_rounds(d$iteration.x / d$iteration.y), fmt_rounds(d$cpu.x / d$cpu.y),
      parts[[p]]$flops(cf) / config_flops(cf)
    ))
  }
}
lines <- c(lines, "",
  "The target (issue 18) is at most 1.3 times the diagonal Gaussian VAE's time for every part but the full covariance.")
cat("\n", lines, sep = "\n")
write_results(opt, "parts", lines, res)
