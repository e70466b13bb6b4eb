# Benchmark: vaeconv against PyTorch on the CPU, in one run.
#
# Run it through run.sh (which checks what it needs first):
#
#     sh inst/bench/run.sh [options]
#
# Options (all optional):
#   --torch-dir DIR    where torch_vae.py is (default ../shared/bench from the
#                      repository root)
#   --rounds N         repetitions of the whole comparison, interleaved (3)
#   --iters N          iterations per timed block (100; 3 blocks, as
#                      torch_vae.py)
#   --configs LIST     comma-separated subset of small,iwae,large
#   --torch-threads L  thread counts for PyTorch (1; e.g. 1,2)
#   --no-memory        skip the peak-memory and thread-count measurements
#   --chunk-rows N     rows per chunk for vaeconv (options(vaeconv.chunk_rows));
#                      by default the package chooses them from the model
#
# What is timed. For each configuration of ../shared/bench/README.md (a
# d_x-h-d_z Gaussian VAE with tanh hidden units, c^2 = 0.1, batch 128, Adam
# with lr 1e-3, double precision, 4096 rows of U(0, 1) data as in
# torch_vae.py), one fit_vae() call with record_every = 1 runs 10 warm-up
# iterations and then 3 blocks of --iters iterations; the time of a block is
# the difference of the trajectory's `seconds` column (elapsed time since the
# fit started, measured in C++) between its last and first iteration, so the
# set-up of the fit (checks, conversion, building the result) is not in it.
# ms/iteration is the median over the 3 blocks, exactly as torch_vae.py
# reports its own (which times minibatch draw, forward, backward, gradient
# norm and Adam step, as a vaeconv iteration does). A second figure, "wall",
# checks that nothing was left out: (T(n2) - T(n1)) / (n2 - n1) from the
# elapsed times of two whole fit_vae() calls of n1 and n2 iterations.
#
# Every round runs PyTorch and vaeconv one after the other on each
# configuration; the ratios are taken within a round and the table gives
# medians over rounds (the machines are shared and noisy).
#
# FLOPs. A dense layer with `in` inputs and `out` outputs applied to `cols`
# columns costs 2 in out cols for the forward product, as much for the
# weight gradient and as much again for the input gradient (not needed for
# the first encoder layer, whose input is the data). Encoder layers and the
# two heads see B columns, decoder layers B K. Elementwise work is not
# counted. For the large configuration that is 419.8 MFLOP per iteration.
# The dgemm rate is the time the same matrix products take when called
# alone (same BLAS, one thread, the shapes of one iteration at B = 128),
# through the same dgemm call the package makes.

args <- commandArgs(trailingOnly = TRUE)
opt <- list(
  torch_dir = NULL, rounds = 3L, iters = 100L,
  configs = c("small", "iwae", "large"), torch_threads = 1L, memory = TRUE,
  root = NULL, chunk_rows = NULL
)
i <- 1
while (i <= length(args)) {
  a <- args[[i]]
  val <- if (i < length(args)) args[[i + 1]] else NA
  switch(a,
    "--torch-dir" = { opt$torch_dir <- val; i <- i + 1 },
    "--rounds" = { opt$rounds <- as.integer(val); i <- i + 1 },
    "--iters" = { opt$iters <- as.integer(val); i <- i + 1 },
    "--configs" = { opt$configs <- strsplit(val, ",")[[1]]; i <- i + 1 },
    "--torch-threads" = {
      opt$torch_threads <- as.integer(strsplit(val, ",")[[1]]); i <- i + 1
    },
    "--root" = { opt$root <- val; i <- i + 1 },
    "--no-memory" = { opt$memory <- FALSE },
    "--chunk-rows" = { opt$chunk_rows <- as.integer(val); i <- i + 1 },
    stop("unknown option ", a)
  )
  i <- i + 1
}
if (is.null(opt$torch_dir)) {
  root <- if (is.null(opt$root)) getwd() else opt$root
  opt$torch_dir <- file.path(root, "..", "shared", "bench")
}
if (!is.null(opt$chunk_rows)) options(vaeconv.chunk_rows = opt$chunk_rows)
torch_script <- normalizePath(file.path(opt$torch_dir, "torch_vae.py"), mustWork = FALSE)
if (!file.exists(torch_script)) stop("torch_vae.py not found in ", opt$torch_dir)

suppressPackageStartupMessages(library(vaeconv))
has_iwae <- exists("iwae", envir = asNamespace("vaeconv"), inherits = FALSE)

configs <- list(
  small = list(dx = 64L, h = 100L, dz = 8L, K = 1L),
  iwae = list(dx = 64L, h = 100L, dz = 8L, K = 50L),
  large = list(dx = 784L, h = 400L, dz = 20L, K = 1L)
)
configs <- configs[intersect(opt$configs, names(configs))]
B <- 128L
N <- 4096L

# ---- the machine ------------------------------------------------------------
cpu <- sub(".*: ", "", grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1])
cores <- parallel::detectCores()
blas <- sessionInfo()$BLAS
torch_version <- tryCatch(
  system2("/usr/bin/python3", c("-c", shQuote("import torch; print(torch.__version__)")),
          stdout = TRUE, stderr = FALSE),
  error = function(e) NA_character_, warning = function(w) NA_character_
)
load_avg <- function() scan("/proc/loadavg", what = "", quiet = TRUE)[1]
cat("CPU:      ", cpu, "(", cores, "cores )\n")
cat("R:        ", R.version.string, "\n")
cat("BLAS:     ", blas, "\n")
cat("PyTorch:  ", torch_version[1], "(/usr/bin/python3, OPENBLAS_NUM_THREADS=1)\n")
cat("vaeconv:  ", format(utils::packageVersion("vaeconv")), "at",
    dirname(system.file(package = "vaeconv")), "\n")
start_load <- load_avg()
if (!is.null(opt$chunk_rows)) cat("chunks:   ", opt$chunk_rows, "rows (--chunk-rows)\n")
cat("load avg: ", start_load, "at start\n\n")

# ---- FLOPs --------------------------------------------------------------------
layers <- function(cf) {
  # in, out, columns, whether the input gradient is needed
  rbind(
    c(cf$dx, cf$h, B, 0), c(cf$h, cf$dz, B, 1), c(cf$h, cf$dz, B, 1),
    c(cf$dz, cf$h, B * cf$K, 1), c(cf$h, cf$dx, B * cf$K, 1)
  )
}
flops <- function(cf) {
  l <- layers(cf)
  sum(2 * l[, 1] * l[, 2] * l[, 3] * (2 + l[, 4]))
}

# ---- vaeconv ------------------------------------------------------------------
make_data <- function(dx) {
  set.seed(1)
  matrix(stats::runif(N * dx), N, dx)
}
model_of <- function(cf) {
  gaussian_vae(latent_dim = cf$dz, hidden = cf$h, activation = "tanh",
               obs_sd = sqrt(0.1))
}
objective_of <- function(cf) {
  if (cf$K == 1) elbo() else get("iwae", asNamespace("vaeconv"))(K = cf$K)
}
time_vaeconv <- function(cf, x, threads, iters) {
  fit <- fit_vae(x, model_of(cf), objective = objective_of(cf),
                 optimizer = adam(lr = 1e-3, decay = 0), batch_size = B,
                 iterations = 10 + 3 * iters, seed = 1, n_threads = threads,
                 record_every = 1, progress = FALSE)
  s <- trajectory(fit)$seconds
  ends <- 10 + iters * (1:3)
  blocks <- (s[ends] - s[ends - iters]) / iters * 1000
  stats::median(blocks)
}
time_wall <- function(cf, x, threads, iters) {
  elapsed <- function(n) {
    system.time(fit_vae(x, model_of(cf), objective = objective_of(cf),
                        optimizer = adam(lr = 1e-3, decay = 0), batch_size = B,
                        iterations = n, seed = 1, n_threads = threads,
                        progress = FALSE))[["elapsed"]]
  }
  n1 <- 10
  n2 <- 10 + 2 * iters
  (elapsed(n2) - elapsed(n1)) / (n2 - n1) * 1000
}

# ---- PyTorch ------------------------------------------------------------------
time_torch <- function(cf, threads, iters) {
  env <- c(sprintf("OPENBLAS_NUM_THREADS=%d", threads), "OMP_NUM_THREADS=1")
  out <- system2("/usr/bin/python3",
                 c(shQuote(torch_script), "--threads", threads, "--dx", cf$dx,
                   "--h", cf$h, "--dz", cf$dz, "--K", cf$K, "--B", B,
                   "--iters", iters),
                 stdout = TRUE, env = env)
  as.numeric(utils::tail(out, 1))
}

# ---- dgemm rate ---------------------------------------------------------------
# The products of one iteration of the large configuration at B = 128, as the
# core calls them: forward out = W in (+ bias, beta 1), weight gradient
# dW += dout in' (beta 1), input gradient din = W' dout (beta 0, the variance
# head's added with beta 1).
gemm_shapes <- function(cf) {
  l <- layers(cf)
  rows <- list()
  for (j in seq_len(nrow(l))) {
    inn <- l[j, 1]; out <- l[j, 2]; cols <- l[j, 3]
    rows[[length(rows) + 1]] <- c(out, cols, inn, 0, 0, 1)
    rows[[length(rows) + 1]] <- c(out, inn, cols, 0, 1, 1)
    if (l[j, 4] == 1) rows[[length(rows) + 1]] <- c(inn, cols, out, 1, 0, 0)
  }
  do.call(rbind, rows)
}
dgemm_rate <- function(cf) {
  s <- gemm_shapes(cf)
  secs <- vaeconv:::cpp_bench_gemm(
    as.integer(s[, 1]), as.integer(s[, 2]), as.integer(s[, 3]),
    s[, 4] == 1, s[, 5] == 1, s[, 6], reps = 20L, blocks = 5L
  )
  sum(2 * s[, 1] * s[, 2] * s[, 3]) / sum(secs) / 1e9
}

# ---- the comparison, interleaved ------------------------------------------------
results <- list()
record <- function(round, config, what, threads, ms) {
  results[[length(results) + 1]] <<- data.frame(
    round = round, config = config, what = what, threads = threads, ms = ms
  )
}
for (r in seq_len(opt$rounds)) {
  cat(sprintf("round %d of %d (load %s)\n", r, opt$rounds, load_avg()))
  for (name in names(configs)) {
    cf <- configs[[name]]
    iters <- if (cf$K > 1 || cf$dx > 100) max(10L, opt$iters %/% 2L) else opt$iters
    for (th in opt$torch_threads) {
      ms <- time_torch(cf, th, iters)
      record(r, name, "pytorch", th, ms)
      cat(sprintf("  %-6s pytorch %d thread(s): %9.3f ms/iteration\n", name, th, ms))
    }
    if (cf$K > 1 && !has_iwae) {
      cat(sprintf("  %-6s vaeconv: skipped, iwae() does not exist in this version\n", name))
      next
    }
    x <- make_data(cf$dx)
    for (th in 1:2) {
      ms <- time_vaeconv(cf, x, th, iters)
      record(r, name, "vaeconv", th, ms)
      wall <- time_wall(cf, x, th, iters)
      record(r, name, "vaeconv_wall", th, wall)
      cat(sprintf("  %-6s vaeconv %d thread(s): %9.3f ms/iteration (wall %.3f)\n",
                  name, th, ms, wall))
    }
    if (name == "large") {
      rate <- dgemm_rate(cf)
      record(r, name, "dgemm_gflops", 1, rate)
      cat(sprintf("  %-6s dgemm at the same shapes, 1 thread: %.1f GFLOP/s\n", name, rate))
    }
  }
}
res <- do.call(rbind, results)

# ---- the table --------------------------------------------------------------
med <- function(config, what, threads) {
  v <- res$ms[res$config == config & res$what == what & res$threads == threads]
  if (length(v) == 0) NA_real_ else stats::median(v)
}
ratio <- function(config, what_a, th_a, what_b, th_b) {
  a <- res[res$config == config & res$what == what_a & res$threads == th_a, c("round", "ms")]
  b <- res[res$config == config & res$what == what_b & res$threads == th_b, c("round", "ms")]
  m <- merge(a, b, by = "round")
  if (nrow(m) == 0) NA_real_ else stats::median(m$ms.x / m$ms.y)
}
targets <- c(small = 10, iwae = 5, large = 1.5)
cat("\nms per iteration (median over rounds; ratio = PyTorch / vaeconv within a round)\n\n")
tab <- data.frame(
  config = names(configs),
  pytorch_1 = sapply(names(configs), med, what = "pytorch", threads = 1),
  vaeconv_1 = sapply(names(configs), med, what = "vaeconv", threads = 1),
  vaeconv_2 = sapply(names(configs), med, what = "vaeconv", threads = 2),
  wall_1 = sapply(names(configs), med, what = "vaeconv_wall", threads = 1),
  ratio_1 = sapply(names(configs), ratio, what_a = "pytorch", th_a = 1,
                   what_b = "vaeconv", th_b = 1),
  target = targets[names(configs)],
  speedup_2 = sapply(names(configs), ratio, what_a = "vaeconv", th_a = 1,
                     what_b = "vaeconv", th_b = 2),
  gflops_1 = sapply(names(configs), function(n) flops(configs[[n]]) / 1e9 /
                      (med(n, "vaeconv", 1) / 1000)),
  row.names = NULL
)
if (2 %in% opt$torch_threads) {
  tab$pytorch_2 <- sapply(names(configs), med, what = "pytorch", threads = 2)
}
print(format(tab, digits = 3), row.names = FALSE)
if ("large" %in% names(configs)) {
  rate <- med("large", "dgemm_gflops", 1)
  achieved <- tab$gflops_1[tab$config == "large"]
  cat(sprintf(
    "\nlarge: %.1f MFLOP/iteration; %.1f GFLOP/s achieved on 1 thread = %.0f%% of the dgemm rate at the same shapes (%.1f GFLOP/s); 2 threads %.2fx 1 thread\n",
    flops(configs$large) / 1e6, achieved, 100 * achieved / rate, rate,
    tab$speedup_2[tab$config == "large"]
  ))
}

# ---- peak memory and running threads of a large fit --------------------------
if (opt$memory && "large" %in% names(configs)) {
  child <- function(threads, out) {
    c(
      "suppressPackageStartupMessages(library(vaeconv))",
      "rss <- function(f) as.numeric(sub('.*:\\\\s*([0-9]+).*', '\\\\1', grep(paste0('^', f), readLines('/proc/self/status'), value = TRUE))) / 1024",
      "x0 <- matrix(runif(512 * 16), 512, 16)",
      "invisible(fit_vae(x0, gaussian_vae(2, hidden = 8), iterations = 5, seed = 1, n_threads = 2, progress = FALSE))",
      "invisible(gc()); base <- rss('VmRSS')",
      "set.seed(1); x <- matrix(runif(4096 * 784), 4096, 784)",
      "invisible(gc()); with_data <- rss('VmRSS')",
      "writeLines('5', '/proc/self/clear_refs')",
      sprintf("writeLines(as.character(Sys.getpid()), '%s.pid')", out),
      sprintf("fit <- fit_vae(x, gaussian_vae(20, hidden = 400, activation = 'tanh', obs_sd = sqrt(0.1)), optimizer = adam(lr = 1e-3, decay = 0), batch_size = 128, iterations = 150, seed = 1, n_threads = %d, progress = FALSE)", threads),
      "peak <- rss('VmHWM')",
      sprintf("writeLines(format(c(base, with_data, peak, length(fit$state$par))), '%s.mem')", out)
    )
  }
  for (th in 1:2) {
    out <- tempfile("vaeconv_bench")
    script <- paste0(out, ".R")
    writeLines(child(th, out), script)
    # Threads that run during the fit: sample /proc/<pid>/task while it runs.
    proc <- system2(file.path(R.home("bin"), "Rscript"), shQuote(script),
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
    for (k in 1:600) {
      if (file.exists(paste0(out, ".mem"))) break
      Sys.sleep(0.05)
    }
    mem <- as.numeric(readLines(paste0(out, ".mem")))
    busy <- sum(vapply(ticks, function(v) v[2] - v[1], numeric(1)) > 5)  # > 50 ms
    data_mb <- 4096 * 784 * 8 / 2^20
    model_mb <- mem[4] * 8 / 2^20
    cat(sprintf(
      "\nlarge fit, %d thread(s): peak RSS %.1f MiB; R with vaeconv loaded %.1f MiB, with the data %.1f MiB.\n  data %.1f MiB + model (%d parameters) %.1f MiB = %.1f MiB.\n  fit's own memory (peak - with data) %.1f MiB = %.2f x (data + model); data + fit (peak - without data) %.1f MiB = %.2f x (data + model).\n  threads that ran (> 50 ms of CPU) during the fit: %d; at most %d running at once in %d-ms samples.\n",
      th, mem[3], mem[1], mem[2], data_mb, as.integer(mem[4]), model_mb, data_mb + model_mb,
      mem[3] - mem[2], (mem[3] - mem[2]) / (data_mb + model_mb),
      mem[3] - mem[1], (mem[3] - mem[1]) / (data_mb + model_mb), busy, max_running, 20L
    ))
    unlink(paste0(out, c(".R", ".pid", ".mem")))
  }
}
end_load <- load_avg()
cat(sprintf("\nload avg: %s at the end\n", end_load))
if (max(as.numeric(c(start_load, end_load))) > cores - 1 + 0.5) {
  cat("Note: other processes were running (load average above", cores - 1,
      "besides this benchmark);",
      "absolute times are inflated and the 2-thread speed-up needs an idle machine.\n")
}
