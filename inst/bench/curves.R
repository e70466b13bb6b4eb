# Cost curves: vaeconv's ms per iteration against the hidden width, the
# number of draws K, the batch size and the latent dimension, and the ms of one
# full-data evaluation against the number of rows n, each beside the dense
# layers' FLOP count. Run it through run.sh:
#
#     sh inst/bench/run.sh curves [options]
#
# Options (all optional):
#   --repeats N       fits (evaluations) per point; the median is kept (1)
#   --rounds N        ignored (run.sh all passes it to every script)
#   --iters-scale X   multiply the time budget of a point (1: about 1 s each)
#   --threads N       vaeconv's threads (1)
#   --png FILE        the plot (man/figures/cost-curves.png under --root)
#   --out DIR         where curves.md and curves.csv go (inst/bench/results;
#                     "" for none)
#   --readme FILE     README.md whose text between the markers
#                     <!-- bench:curves:start/end --> is replaced ("" for none)
#
# Every curve varies one quantity of the small configuration of configs.csv
# (a 64-100-8 Gaussian VAE with tanh hidden units, c^2 = 0.1, batch 128,
# K = 1, Adam with lr 1e-3, 4096 rows of U(0, 1) data), the others held. A
# training point is the process's CPU time per iteration (user + system: the
# time it ran, whatever else the machine was doing) from two fit_vae() calls
# of n1 and n2 iterations, (T(n2) - T(n1)) / (n2 - n1); its number of
# iterations is set from the FLOP count so that each point takes about two
# seconds of an idle machine. (With --threads above 1 it is instead the median of the single
# iterations' elapsed times, from the trajectory's `seconds`; both are in
# curves.csv.) An evaluation point is the CPU time of a call of
# evaluate(fit, x, samples = 1) (the call's checks included) on n rows of
# U(0, 1) data, the median over 3 groups of calls: the objective and its
# gradient on every row, the work of one `eval_every` evaluation. The FLOP count (common.R) of an iteration is
#     4 B dx h + 12 B h dz + 6 B K (dz h + h dx),
# and that of an evaluation the same with B = n and K = 1. The line beside the
# measured times is FLOP / rate, the rate fitted to the half of the points
# with the most FLOP in each panel (the geometric mean of FLOP / time), so the
# points that lie above it are those whose cost is not the dense layers' work.

source(file.path((function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  dirname(normalizePath(f[1]))
})(), "common.R"))

here <- bench_dir()
opt <- parse_options(list(
  repeats = 1, rounds = 0, iters_scale = 1, threads = 1, root = getwd(), png = "",
  out = file.path("inst", "bench", "results"), readme = ""
))
if (!nzchar(opt$png)) opt$png <- file.path(opt$root, "man", "figures", "cost-curves.png")
base <- read_configs(here)$small
m <- machine(opt$root)
print_machine(m)
loads <- load_avg()
t0 <- Sys.time()

curves <- list(
  width = list(label = "hidden width h", values = 2^(6:11)),
  K = list(label = "draws per row K (IWAE)", values = 2^(0:8)),
  batch = list(label = "batch size B", values = 2^(4:10)),
  latent = list(label = "latent dimension dz", values = 2^(1:7)),
  eval_n = list(label = "rows n of one full-data evaluation", values = c(1e3, 3e3, 1e4, 3e4, 1e5))
)
shape <- function(curve, v) {
  s <- list(dx = base$dx, h = base$hidden, dz = base$dz, B = base$batch, K = base$K)
  switch(curve, width = s$h <- v, K = s$K <- v, batch = s$B <- v, latent = s$dz <- v,
         eval_n = s$B <- v)
  s
}
shape_flops <- function(s) dense_flops(s$dx, s$h, s$dz, s$B, s$K)

x_train <- make_data(base$rows, base$dx)
# CPU time on one thread (the time the fit ran, whatever else the machine was
# doing); on more threads, elapsed time.
measure <- if (opt$threads == 1) "cpu" else "elapsed"
# A first call pays one-off costs (loading, byte-compiling, the thread pool).
invisible(fit_vae(x_train, gaussian_vae(2, hidden = 8), iterations = 20, seed = 1,
                  n_threads = opt$threads, progress = FALSE))
budget_ms <- 2000 * opt$iters_scale
rows <- list()
for (curve in names(curves)) {
  cat(sprintf("%s (load %.2f)\n", curves[[curve]]$label, load_avg()))
  loads <- c(loads, load_avg())
  for (v in curves[[curve]]$values) {
    s <- shape(curve, v)
    fl <- shape_flops(s)
    model <- gaussian_vae(latent_dim = s$dz, hidden = s$h, activation = base$activation,
                          obs_sd = sqrt(base$obs_var))
    objective <- if (s$K == 1) elbo() else iwae(K = s$K)
    guess_ms <- fl / 5e6 + 0.3  # 5 GFLOP/s and 0.3 ms of overhead: a guess for the budget
    if (curve == "eval_n") {
      x <- make_data(v, base$dx, seed = 2)
      fit <- fit_vae(x_train, model, optimizer = adam(lr = base$lr, decay = 0),
                     batch_size = base$batch, iterations = 5, seed = 1,
                     n_threads = opt$threads, progress = FALSE)
      # Calls timed together, so that the CPU clock's millisecond is small
      # beside them; the median over 3 such groups (times --repeats).
      iters <- max(1L, min(50L, as.integer(ceiling(budget_ms / 3 / guess_ms))))
      t <- replicate(3 * opt$repeats, {
        t0 <- Sys.time()
        cpu <- system.time(for (k in seq_len(iters)) {
          evaluate(fit, x, samples = 1, seed = 1, n_threads = opt$threads)
        })
        c(elapsed = as.numeric(difftime(Sys.time(), t0, units = "secs")),
          cpu = cpu[["user.self"]] + cpu[["sys.self"]]) / iters
      })
      ms <- c(elapsed = stats::median(t["elapsed", ]), cpu = stats::median(t["cpu", ])) * 1000
    } else {
      iters <- as.integer(min(400, max(8, ceiling(budget_ms / guess_ms))))
      warm <- min(10L, max(3L, iters %/% 4L))
      t <- replicate(opt$repeats, {
        times <- function(n) {
          cpu <- system.time(fit <- fit_vae(
            x_train, model, objective = objective,
            optimizer = adam(lr = base$lr, decay = 0), batch_size = s$B, iterations = n,
            seed = 1, n_threads = opt$threads, record_every = 1, progress = FALSE
          ))
          list(cpu = cpu[["user.self"]] + cpu[["sys.self"]], seconds = trajectory(fit)$seconds)
        }
        a <- times(warm)
        b <- times(warm + iters)
        c(elapsed = stats::median(diff(b$seconds[warm:(warm + iters)])),
          cpu = (b$cpu - a$cpu) / iters) * 1000
      })
      ms <- apply(matrix(t, nrow = 2, dimnames = list(c("elapsed", "cpu"), NULL)), 1,
                  stats::median)
    }
    used <- ms[[measure]]
    cat(sprintf("  %-8s %7g: %10.3f ms (%s; elapsed, median of single ones: %.3f), %8.1f MFLOP, %6.2f GFLOP/s (%d iterations)\n",
                curve, v, used, measure, ms[["elapsed"]], fl / 1e6, fl / 1e9 / (used / 1000),
                iters))
    rows[[length(rows) + 1]] <- data.frame(curve = curve, value = v, ms = used,
                                           ms_elapsed = ms[["elapsed"]],
                                           ms_cpu = ms[["cpu"]], flops = fl,
                                           iterations = iters)
  }
}
loads <- c(loads, load_avg())
res <- do.call(rbind, rows)
# The FLOP-proportional line: the rate of the points with the most work.
res$rate <- NA_real_
for (curve in names(curves)) {
  i <- which(res$curve == curve)
  top <- i[res$flops[i] >= stats::median(res$flops[i])]
  res$rate[i] <- exp(mean(log(res$flops[top] / (res$ms[top] / 1000))))
}
res$line_ms <- res$flops / res$rate * 1000
res$excess <- res$ms / res$line_ms
res$gflops <- res$flops / 1e9 / (res$ms / 1000)

# ---- the plot ------------------------------------------------------------------------
if (requireNamespace("ggplot2", quietly = TRUE)) {
  library(ggplot2)
  rates <- tapply(res$rate, res$curve, `[`, 1)
  # A sixth panel: every training point against its FLOP count, with the
  # rate of the half of them with the most work.
  train <- res[res$curve != "eval_n", ]
  top <- train$flops >= stats::median(train$flops)
  all_rate <- exp(mean(log(train$flops[top] / (train$ms[top] / 1000))))
  labels <- c(
    sprintf("%s\n(line: FLOP at %.1f GFLOP/s)", vapply(curves, `[[`, "", "label"),
            rates[names(curves)] / 1e9),
    sprintf("every training point against its MFLOP\n(line: FLOP at %.1f GFLOP/s)",
            all_rate / 1e9)
  )
  panel <- function(curve) factor(labels[match(curve, c(names(curves), "all"))],
                                  levels = labels)
  lvl <- c("measured", "dense layers' FLOP / fitted rate")
  train <- train[order(train$flops), ]
  long <- rbind(
    data.frame(panel = panel(res$curve), value = res$value, ms = res$ms, what = lvl[1],
               path = res$curve),
    data.frame(panel = panel(res$curve), value = res$value, ms = res$line_ms, what = lvl[2],
               path = res$curve),
    data.frame(panel = panel("all"), value = train$flops / 1e6, ms = train$ms, what = lvl[1],
               path = NA),
    data.frame(panel = panel("all"), value = train$flops / 1e6,
               ms = train$flops / all_rate * 1000, what = lvl[2], path = "all")
  )
  long$what <- factor(long$what, levels = lvl)
  p <- ggplot(long, aes(value, ms, colour = what, linetype = what)) +
    geom_line(data = long[!is.na(long$path), ], aes(group = interaction(path, what))) +
    geom_point(data = long[long$what == lvl[1], ], size = 1.5) +
    facet_wrap(~panel, scales = "free", ncol = 3) +
    scale_x_log10() +
    scale_y_log10() +
    scale_colour_manual(values = stats::setNames(c("black", "#D55E00"), lvl)) +
    scale_linetype_manual(values = stats::setNames(c("solid", "dashed"), lvl)) +
    guides(colour = guide_legend(override.aes = list(shape = c(16, NA)))) +
    labs(
      x = "the quantity varied (MFLOP per iteration in the last panel), log scale; the others as in the 64-100-8 model, B = 128, K = 1",
      y = sprintf("ms per iteration (per evaluation for n), %s, log scale",
                  if (measure == "cpu") "CPU time" else "elapsed"),
      colour = NULL, linetype = NULL,
      title = "vaeconv's cost against the shape of the problem",
      subtitle = sprintf("%d thread%s; build %s; load average %.1f to %.1f",
                         as.integer(opt$threads), if (opt$threads > 1) "s" else "", m$build,
                         min(loads), max(loads))
    ) +
    theme_bw(base_size = 10) +
    theme(legend.position = "bottom")
  dir.create(dirname(opt$png), showWarnings = FALSE, recursive = TRUE)
  ggsave(opt$png, p, width = 9, height = 6.5, dpi = 100)
  cat("wrote", opt$png, "\n")
} else {
  cat("ggplot2 is not installed: no plot\n")
}

# ---- the summary -------------------------------------------------------------------
lines <- c(
  sprintf("Figures of one run of `sh inst/bench/run.sh curves` (%.1f minutes, %d thread%s, %s): %s",
          as.numeric(difftime(Sys.time(), t0, units = "mins")), as.integer(opt$threads),
          if (opt$threads > 1) "s" else "",
          if (measure == "cpu") "CPU time" else "elapsed time", machine_line(m, loads)),
  "",
  "| curve | values | ms (smallest to largest) | fitted rate | measured / FLOP line at the smallest value | at the largest |",
  "|---|---|---|---|---|---|"
)
for (curve in names(curves)) {
  d <- res[res$curve == curve, ]
  lines <- c(lines, sprintf(
    "| %s | %g to %g | %s to %s | %.1f GFLOP/s | %.1fx | %.2fx |",
    curves[[curve]]$label, min(d$value), max(d$value), fmt_ms(d$ms[1]),
    fmt_ms(d$ms[nrow(d)]), d$rate[1] / 1e9, d$excess[1], d$excess[nrow(d)]
  ))
}
cat("\n", lines, sep = "\n")
write_results(opt, "curves", lines,
              res[, c("curve", "value", "ms", "ms_cpu", "ms_elapsed", "flops", "gflops",
                      "rate", "line_ms", "excess", "iterations")])
