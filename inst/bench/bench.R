# Benchmark: vaeconv against PyTorch (float64 and float32) on the CPU, in one run.
#
# Run it through run.sh (which installs what it needs first):
#
#     sh inst/bench/run.sh compare [options]
#
# Options (all optional):
#   --rounds N         repetitions of the whole comparison, interleaved (5)
#   --iters-scale X    multiply the iterations per timed block of configs.csv (1)
#   --configs LIST     comma-separated subset of configs.csv's names
#   --torch-threads L  thread counts for PyTorch (1; e.g. 1,2: the 2-thread
#                      figures go to the console and the CSV)
#   --no-memory        skip the peak-memory and thread-count measurements
#   --chunk-rows N     rows per chunk for vaeconv (options(vaeconv.chunk_rows));
#                      by default the package chooses them from the model
#   --out DIR          where compare.md and compare.csv (every round's
#                      figures) go (inst/bench/results; "" for none)
#   --readme FILE      README.md whose table between the markers
#                      <!-- bench:compare:start/end --> is replaced ("" for none)
#
# What is timed. Each configuration of configs.csv (a dx-h-dz Gaussian VAE with
# tanh hidden units, c^2 = 0.1, batch 128, Adam with lr 1e-3, `rows` rows of
# U(0, 1) data as in torch_vae.py) is timed in PyTorch in float64 and in
# float32 (torch_vae.py, its own figure: the median of 3 blocks of `iters`
# iterations after 10 warm-up ones, each iteration the minibatch draw,
# forward, backward, gradient norm and Adam step) and in vaeconv, double
# precision, on 1 and 2 threads: one fit_vae() call with record_every = 1,
# 10 warm-up iterations then 3 blocks of `iters`, each block's time from the
# trajectory's `seconds` (elapsed time since the fit started, measured in C++),
# so the fit's set-up is not in it; the median over the blocks. A second
# figure, "wall", checks that nothing was left out: (T(n2) - T(n1)) / (n2 - n1)
# from the elapsed times of two whole fit_vae() calls of n1 and n2 iterations.
# For the configurations with the largest products (large), the machine's
# dgemm rate at the same shapes (one thread, the BLAS's dgemm through
# cpp_bench_gemm) is measured in every round too, and so is the rate of the
# core's own products at those shapes (gemm.hpp: its AVX-512 kernels where
# the CPU has them, else the same dgemm).
#
# Rounds. Every round measures everything once; the order of the
# configurations rotates from round to round and the order of the
# measurements within a configuration reverses, so that a slow spell of the
# machine does not always hit the same side. Ratios are taken within a round
# (PyTorch's time / vaeconv's, so > 1 means vaeconv is faster; 1-thread time /
# 2-thread time; achieved GFLOP/s / dgemm rate) and the table gives their
# medians over the rounds, with every round's value.

source(file.path((function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  dirname(normalizePath(f[1]))
})(), "common.R"))

here <- bench_dir()
opt <- parse_options(list(
  rounds = 5, iters_scale = 1, configs = c("small", "iwae", "large"),
  torch_threads = 1, memory = TRUE, chunk_rows = 0,
  root = getwd(), out = file.path("inst", "bench", "results"), readme = ""
))
if (opt$chunk_rows > 0) options(vaeconv.chunk_rows = as.integer(opt$chunk_rows))
torch_script <- file.path(here, "torch_vae.py")
configs <- read_configs(here)
configs <- configs[intersect(opt$configs, names(configs))]
if (length(configs) == 0) stop("no configuration left; configs.csv has ",
                               paste(names(read_configs(here)), collapse = ", "))

m <- machine(opt$root)
print_machine(m)
loads <- load_avg()
if (opt$chunk_rows > 0) cat("chunks:   ", opt$chunk_rows, "rows (--chunk-rows)\n")

# ---- PyTorch -----------------------------------------------------------------------
time_torch <- function(cf, dtype, threads, iters) {
  env <- c(sprintf("OPENBLAS_NUM_THREADS=%d", threads), sprintf("OMP_NUM_THREADS=%d", threads))
  out <- system2("/usr/bin/python3",
                 c(shQuote(torch_script), "--threads", threads, "--dtype", dtype,
                   "--dx", cf$dx, "--h", cf$hidden, "--dz", cf$dz, "--K", cf$K,
                   "--B", cf$batch, "--iters", iters, "--per-iteration"),
                 stdout = TRUE, env = env)
  v <- as.numeric(strsplit(utils::tail(out, 1), " ")[[1]])
  c(block = v[1], iteration = v[2], cpu = v[3])
}

# ---- dgemm rate --------------------------------------------------------------------
# The products of one iteration, as the core calls them: forward
# out = W in (+ bias, beta 1), weight gradient dW += dout in' (beta 1), input
# gradient din = W' dout (beta 0).
gemm_shapes <- function(cf) {
  l <- dense_layers(cf$dx, cf$hidden, cf$dz, cf$batch, cf$K)
  rows <- list()
  for (j in seq_len(nrow(l))) {
    inn <- l[j, "in"]; out <- l[j, "out"]; cols <- l[j, "cols"]
    rows[[length(rows) + 1]] <- c(out, cols, inn, 0, 0, 1)
    rows[[length(rows) + 1]] <- c(out, inn, cols, 0, 1, 1)
    if (l[j, "input_grad"] == 1) rows[[length(rows) + 1]] <- c(inn, cols, out, 1, 0, 0)
  }
  do.call(rbind, rows)
}
has_gemm_hook <- exists("cpp_bench_gemm", envir = asNamespace("vaeconv"), inherits = FALSE)
# Versions whose core has its own products (gemm.hpp) time them apart from
# the BLAS's dgemm (blas = FALSE).
has_core_gemm <- has_gemm_hook &&
  "blas" %in% names(formals(get("cpp_bench_gemm", asNamespace("vaeconv"))))
dgemm_rate <- function(cf, blas = TRUE) {
  if (!has_gemm_hook || (!blas && !has_core_gemm)) return(NA_real_)
  s <- gemm_shapes(cf)
  reps <- 20L
  blocks <- 5L
  args <- list(as.integer(s[, 1]), as.integer(s[, 2]), as.integer(s[, 3]),
               s[, 4] == 1, s[, 5] == 1, s[, 6], reps = reps, blocks = blocks)
  if (has_core_gemm) args$blas <- blas
  cpu <- system.time(secs <- do.call(get("cpp_bench_gemm", asNamespace("vaeconv")), args))
  flop <- sum(2 * s[, 1] * s[, 2] * s[, 3])
  # The rate from the median blocks' elapsed times, and from the CPU time of
  # all the calls (3 warm-up ones and reps * blocks per shape).
  c(rate = flop / sum(secs) / 1e9, NA,
    cpu = flop * (3 + reps * blocks) / (cpu[["user.self"]] + cpu[["sys.self"]]) / 1e9)
}
dgemm_configs <- intersect("large", names(configs))

# ---- vaeconv whole calls -----------------------------------------------------------
time_wall <- function(cf, x, threads, iters) {
  time_calls(x, config_model(cf), config_objective(cf), cf$batch, iters, threads = threads,
             lr = cf$lr)
}

# ---- the rounds ----------------------------------------------------------------------
results <- list()
# `value`: ms per iteration as (the median over blocks, the median of the
# single iterations, CPU time), or a rate in GFLOP/s as (from elapsed time,
# NA, from CPU time); missing ones NA.
record <- function(round, config, what, threads, value) {
  value <- c(value, NA, NA)
  results[[length(results) + 1]] <<- data.frame(
    round = round, config = config, what = what, threads = threads, value = value[[1]],
    iteration = value[[2]], cpu = value[[3]]
  )
  unit <- if (grepl("gflops", what)) "GFLOP/s" else "ms/iteration"
  cat(sprintf("  %-6s %-15s %d thread(s): %9.3f %s%s%s\n", config, what, threads, value[[1]], unit,
              if (is.na(value[[2]])) "" else sprintf("; single iterations: median %.3f", value[[2]]),
              if (is.na(value[[3]])) "" else sprintf("; CPU time: %.3f", value[[3]])))
}
data <- lapply(configs, function(cf) make_data(cf$rows, cf$dx))
rounds <- as.integer(opt$rounds)
for (r in seq_len(rounds)) {
  loads <- c(loads, load_avg())
  cat(sprintf("round %d of %d (load %.2f)\n", r, rounds, load_avg()))
  order <- names(configs)[(seq_along(configs) + r - 2) %% length(configs) + 1]
  for (name in order) {
    cf <- configs[[name]]
    iters <- max(5L, as.integer(round(cf$iters * opt$iters_scale)))
    steps <- list()
    for (th in opt$torch_threads) {
      for (dtype in c("float64", "float32")) {
        steps[[length(steps) + 1]] <- local({
          th <- th; dtype <- dtype
          function() record(r, name, paste0("pytorch_", dtype), th,
                            time_torch(cf, dtype, th, iters))
        })
      }
    }
    # One thread: the trajectory's blocks and single iterations, then the
    # whole calls, whose CPU time is the third figure.
    steps[[length(steps) + 1]] <- function() {
      t <- time_fit(data[[name]], config_model(cf), config_objective(cf), cf$batch, iters,
                    threads = 1, lr = cf$lr)
      w <- time_wall(cf, data[[name]], 1, iters)
      record(r, name, "vaeconv", 1, c(t, w[2]))
      record(r, name, "vaeconv_wall", 1, w[1])
    }
    steps[[length(steps) + 1]] <- function() {
      record(r, name, "vaeconv", 2,
             time_fit(data[[name]], config_model(cf), config_objective(cf), cf$batch, iters,
                      threads = 2, lr = cf$lr))
    }
    if (name %in% dgemm_configs && has_gemm_hook) {
      steps[[length(steps) + 1]] <- function() record(r, name, "dgemm_gflops", 1, dgemm_rate(cf))
      if (has_core_gemm) {
        steps[[length(steps) + 1]] <- function() {
          record(r, name, "core_gemm_gflops", 1, dgemm_rate(cf, blas = FALSE))
        }
      }
    }
    if (r %% 2 == 0) steps <- rev(steps)
    for (s in steps) s()
  }
}
loads <- c(loads, load_avg())
res <- do.call(rbind, results)

# ---- the summary -----------------------------------------------------------------------
measure <- "value"  # the column the helpers below read: "value", "iteration" or "cpu"
values <- function(config, what, threads = 1) {
  v <- res[res$config == config & res$what == what & res$threads == threads,
           c("round", measure)]
  names(v) <- c("round", "value")
  v[order(v$round), ]
}
within <- function(config, a, b, ta = 1, tb = 1, f = function(x, y) x / y) {
  m <- merge(values(config, a, ta), values(config, b, tb), by = "round")
  f(m$value.x, m$value.y)
}
med <- function(config, what, threads = 1) {
  v <- values(config, what, threads)$value
  if (length(v) && any(!is.na(v))) stats::median(v, na.rm = TRUE) else NA_real_
}

cat("\nMedians over", rounds, "rounds (ms per iteration: blocks, single iterations, CPU time; dgemm in GFLOP/s)\n")
agg <- stats::aggregate(cbind(value, iteration, cpu) ~ config + what + threads, data = res,
                        FUN = function(v) stats::median(v, na.rm = TRUE), na.action = na.pass)
print(agg[order(agg$config, agg$what, agg$threads), ], row.names = FALSE)

table_lines <- function(two_threads = TRUE) {
  head <- "| configuration | PyTorch float64 | PyTorch float32 | vaeconv, 1 thread | vaeconv's speed: x PyTorch float64 | x PyTorch float32 (target) |"
  rule <- "|---|---|---|---|---|---|"
  if (two_threads) {
    head <- paste0(head, " vaeconv, 2 threads: speed-up (target) |")
    rule <- paste0(rule, "---|")
  }
  out <- c(head, rule)
  for (name in names(configs)) {
    cf <- configs[[name]]
    tgt <- function(x) if (is.na(x)) "" else sprintf("; target %.2fx", x)
    row <- sprintf(
      "| %s | %s | %s | %s | %s | %s%s |",
      config_label(cf), fmt_ms(med(name, "pytorch_float64")),
      fmt_ms(med(name, "pytorch_float32")), fmt_ms(med(name, "vaeconv")),
      fmt_rounds(within(name, "pytorch_float64", "vaeconv")),
      fmt_rounds(within(name, "pytorch_float32", "vaeconv")), tgt(cf$target_vs_float32)
    )
    if (two_threads) {
      row <- paste0(row, sprintf(
        " %s, %s%s |", fmt_ms(med(name, "vaeconv", 2)),
        fmt_rounds(within(name, "vaeconv", "vaeconv", 1, 2)), tgt(cf$target_two_threads)
      ))
    }
    out <- c(out, row)
  }
  out
}
lines <- c(
  sprintf("Figures of one run of `sh inst/bench/run.sh compare` (%d rounds): %s", rounds,
          machine_line(m, loads, two_threads = TRUE)),
  "",
  "**Elapsed time, the median over 3 blocks of iterations** (PyTorch's own figure, and vaeconv's from its trajectory):",
  "",
  table_lines()
)
measure <- "iteration"
lines <- c(lines, "",
  "**Elapsed time, the median of the single iterations** (the same runs; both sides time every iteration; on a busy machine this leaves out the iterations during which the process was descheduled, which the blocks' means include; iterations longer than the scheduler's time slice, though, are rarely left whole):",
  "",
  table_lines()
)
measure <- "cpu"
lines <- c(lines, "",
  "**CPU time, one thread** (the process's user + system time per iteration: PyTorch's over its 3 blocks, the median; vaeconv's from two whole `fit_vae()` calls of n1 and n2 iterations, (T(n2) - T(n1)) / (n2 - n1); the time the process ran, whatever else the machine was doing):",
  "",
  table_lines(two_threads = FALSE)
)
measure <- "value"
lines <- c(lines, "",
  "Times are medians over the rounds; a ratio is taken within each round (PyTorch's time over vaeconv's, so above 1 vaeconv is faster; one thread's time over two threads') and given as the median over the rounds, followed by every round's value in the order of the rounds.")
wall <- vapply(names(configs), function(n) {
  stats::median(within(n, "vaeconv_wall", "vaeconv"))
}, numeric(1))
lines <- c(lines, "", sprintf(
  "- **Whole calls.** The elapsed time per iteration from whole `fit_vae()` calls of two lengths, over the time from the trajectory's blocks (median over rounds; 1 when nothing is left out of the trajectory's time): %s.",
  paste(sprintf("%s %.2f", names(wall), wall), collapse = ", ")
))
if (!has_gemm_hook && length(dgemm_configs)) {
  lines <- c(lines, "", "- **dgemm rate.** Not measured: this version of vaeconv has no `cpp_bench_gemm()`.")
}
for (name in if (has_gemm_hook) dgemm_configs) {
  cf <- configs[[name]]
  fl <- config_flops(cf)
  fraction <- function(col) {
    measure <<- col
    on.exit(measure <<- "value")
    list(
      achieved = fl / 1e9 / (values(name, "vaeconv")$value / 1000),
      rate = values(name, "dgemm_gflops")$value,
      frac = within(name, "vaeconv", "dgemm_gflops",
                    f = function(ms, rate) fl / 1e9 / (ms / 1000) / rate)
    )
  }
  e <- fraction("value")
  cp <- fraction("cpu")
  lines <- c(lines, "", sprintf(
    "- **dgemm rate (%s).** The dense layers cost %.1f MFLOP per iteration. In elapsed time vaeconv on one thread achieves %.1f GFLOP/s, %.0f%% of the machine's one-thread dgemm rate at the same shapes (the BLAS's dgemm at the shapes the core multiplies, with B = %d) measured in the same rounds (%.1f GFLOP/s; the fraction per round: %s). In CPU time: %.1f GFLOP/s, %.0f%% of %.1f GFLOP/s (per round: %s). Target 75%%.",
    name, fl / 1e6, stats::median(e$achieved), 100 * stats::median(e$frac), cf$batch,
    stats::median(e$rate), paste(sprintf("%.0f%%", 100 * e$frac), collapse = ", "),
    stats::median(cp$achieved), 100 * stats::median(cp$frac), stats::median(cp$rate),
    paste(sprintf("%.0f%%", 100 * cp$frac), collapse = ", ")
  ))
  if (has_core_gemm) {
    core <- values(name, "core_gemm_gflops")
    lines <- c(lines, "", sprintf(
      "- **The core's products (%s).** vaeconv's own products (`gemm.hpp`: %s) at the same shapes, in the same rounds: %.1f GFLOP/s, %.2f times the BLAS's dgemm (per round: %s).",
      name, if (isTRUE(get("cpp_gemm_uses_kernels", asNamespace("vaeconv"))())) {
        "AVX-512 kernels that sum in the BLAS's order, on this machine"
      } else {
        "the BLAS's dgemm, on this machine"
      },
      stats::median(core$value),
      stats::median(within(name, "core_gemm_gflops", "dgemm_gflops")),
      paste(sprintf("%.2f", within(name, "core_gemm_gflops", "dgemm_gflops")), collapse = ", ")
    ))
  }
}

# ---- peak memory and running threads of a large fit ------------------------------------
if (opt$memory && "large" %in% names(configs)) {
  cf <- configs$large
  child <- function(threads, out) {
    c(
      "suppressPackageStartupMessages(library(vaeconv))",
      "rss <- function(f) as.numeric(sub('.*:\\\\s*([0-9]+).*', '\\\\1', grep(paste0('^', f), readLines('/proc/self/status'), value = TRUE))) / 1024",
      "x0 <- matrix(runif(512 * 16), 512, 16)",
      "invisible(fit_vae(x0, gaussian_vae(2, hidden = 8), iterations = 5, seed = 1, n_threads = 2, progress = FALSE))",
      "invisible(gc()); base <- rss('VmRSS')",
      sprintf("set.seed(1); x <- matrix(runif(%d * %d), %d, %d)", cf$rows, cf$dx, cf$rows, cf$dx),
      "invisible(gc()); with_data <- rss('VmRSS')",
      "writeLines('5', '/proc/self/clear_refs')",
      sprintf("writeLines(as.character(Sys.getpid()), '%s.pid')", out),
      sprintf("fit <- fit_vae(x, gaussian_vae(%d, hidden = %d, activation = '%s', obs_sd = sqrt(%g)), optimizer = adam(lr = %g, decay = 0), batch_size = %d, iterations = 150, seed = 1, n_threads = %d, progress = FALSE)",
              cf$dz, cf$hidden, cf$activation, cf$obs_var, cf$lr, cf$batch, threads),
      "peak <- rss('VmHWM')",
      sprintf("writeLines(format(c(base, with_data, peak, length(fit$state$par))), '%s.mem')", out)
    )
  }
  for (th in 1:2) {
    out <- tempfile("vaeconv_bench")
    script <- paste0(out, ".R")
    writeLines(child(th, out), script)
    # Threads that run during the fit: sample /proc/<pid>/task while it runs.
    system2(file.path(R.home("bin"), "Rscript"), shQuote(script),
            wait = FALSE, stdout = FALSE, stderr = FALSE)
    pid <- NA
    for (k in 1:600) {
      if (file.exists(paste0(out, ".pid"))) {
        pid <- suppressWarnings(as.integer(readLines(paste0(out, ".pid"))))
        if (length(pid) == 1 && !is.na(pid)) break
      }
      Sys.sleep(0.05)
    }
    ticks <- list()
    max_running <- 0L
    while (!is.na(pid) && dir.exists(sprintf("/proc/%d", pid)) &&
           !file.exists(paste0(out, ".mem"))) {
      tasks <- list.files(sprintf("/proc/%d/task", pid))
      running <- 0L
      for (t in tasks) {
        st <- tryCatch(readLines(sprintf("/proc/%d/task/%s/stat", pid, t), warn = FALSE),
                       error = function(e) NULL)
        if (is.null(st)) next
        f <- strsplit(sub(".*\\) ", "", st), " ")[[1]]
        if (f[1] == "R") running <- running + 1L
        used <- as.numeric(f[12]) + as.numeric(f[13])
        if (is.null(ticks[[t]])) ticks[[t]] <- c(used, used) else ticks[[t]][2] <- used
      }
      max_running <- max(max_running, running)
      Sys.sleep(0.02)
    }
    for (k in 1:1200) {
      if (file.exists(paste0(out, ".mem"))) break
      Sys.sleep(0.05)
    }
    mem <- as.numeric(readLines(paste0(out, ".mem")))
    busy <- sum(vapply(ticks, function(v) v[2] - v[1], numeric(1)) > 5)  # > 50 ms
    data_mb <- cf$rows * cf$dx * 8 / 2^20
    model_mb <- mem[4] * 8 / 2^20
    own <- (mem[3] - mem[2]) / (data_mb + model_mb)
    cat(sprintf(
      "\nlarge fit, %d thread(s): peak RSS %.1f MiB; R with vaeconv loaded %.1f MiB, with the data %.1f MiB.\n  data %.1f MiB + model (%d parameters) %.1f MiB = %.1f MiB.\n  fit's own memory (peak - with data) %.1f MiB = %.2f x (data + model); data + fit (peak - without data) %.1f MiB = %.2f x (data + model).\n  threads that ran (> 50 ms of CPU) during the fit: %d; at most %d running at once in 20-ms samples.\n",
      th, mem[3], mem[1], mem[2], data_mb, as.integer(mem[4]), model_mb, data_mb + model_mb,
      mem[3] - mem[2], own, mem[3] - mem[1], (mem[3] - mem[1]) / (data_mb + model_mb),
      busy, max_running
    ))
    lines <- c(lines, "", sprintf(
      "- **Memory and threads (large, %d thread%s).** A fit of 150 iterations raises the process's peak RSS by %.1f MiB over R holding the data: %.2f times data (%.1f MiB) + model (%d parameters, %.1f MiB) (target 1.3). Threads that ran (> 50 ms of CPU) during the fit: %d; at most %d running at once in 20-ms samples.",
      th, if (th > 1) "s" else "", mem[3] - mem[2], own, data_mb, as.integer(mem[4]),
      model_mb, busy, max_running
    ))
    unlink(paste0(out, c(".R", ".pid", ".mem")))
  }
}

cat("\n", lines, sep = "\n")
write_results(opt, "compare", lines, res)
