# Shared by the benchmark's scripts (compare.R, curves.R, parts.R): the
# configurations, the FLOP count, the timing of a fit, the machine's
# description and the writing of results into README.md. Sourced, never run
# on its own; run.sh runs the scripts.

suppressPackageStartupMessages(library(vaeconv))

# ---- options ------------------------------------------------------------------
# "--name value" sets opt$name (dashes become underscores, the value converted
# to the default's type; a comma-separated list for a vector default);
# "--no-name" sets a logical option to FALSE and "--name" alone to TRUE.
parse_options <- function(defaults, args = commandArgs(trailingOnly = TRUE)) {
  opt <- defaults
  i <- 1
  while (i <= length(args)) {
    a <- args[[i]]
    if (!startsWith(a, "--")) stop("unexpected argument ", a, call. = FALSE)
    key <- gsub("-", "_", substring(a, 3))
    if (startsWith(key, "no_") && is.logical(defaults[[substring(key, 4)]])) {
      opt[[substring(key, 4)]] <- FALSE
    } else if (!key %in% names(defaults)) {
      stop("unknown option ", a, "; the options are ",
           paste0("--", gsub("_", "-", names(defaults)), collapse = ", "), call. = FALSE)
    } else if (is.logical(defaults[[key]])) {
      opt[[key]] <- TRUE
    } else {
      if (i == length(args)) stop("option ", a, " needs a value", call. = FALSE)
      val <- args[[i + 1]]
      i <- i + 1
      d <- defaults[[key]]
      if (is.numeric(d) || (is.null(d) && grepl("^[0-9.,]+$", val))) {
        val <- as.numeric(strsplit(val, ",")[[1]])
      } else if (length(d) > 1) {
        val <- strsplit(val, ",")[[1]]
      }
      opt[[key]] <- val
    }
    i <- i + 1
  }
  opt
}

bench_dir <- function() {
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  dirname(normalizePath(f[1]))
}

# ---- the configurations ---------------------------------------------------------
# inst/bench/configs.csv: one row per configuration (a dx-hidden-dz Gaussian
# VAE with `activation` hidden units, decoder variance obs_var = c^2, Adam
# with learning rate lr, minibatch `batch`, K draws, `rows` rows of U(0, 1)
# data, `iters` iterations per timed block) with the targets of the
# comparison.
read_configs <- function(dir = bench_dir()) {
  cf <- utils::read.csv(file.path(dir, "configs.csv"), stringsAsFactors = FALSE)
  stats::setNames(lapply(seq_len(nrow(cf)), function(i) as.list(cf[i, ])), cf$name)
}

config_label <- function(cf) {
  sprintf("%s: %d-%d-%d, K = %d", cf$name, cf$dx, cf$hidden, cf$dz, cf$K)
}

# ---- FLOPs --------------------------------------------------------------------------
# The dense layers of one iteration, forward and backward. A layer with `in`
# inputs and `out` outputs applied to `cols` columns costs 2 in out cols for
# the forward product, as much for the weight gradient and as much again for
# the gradient of its input, which the first encoder layer does not need (its
# input is the data). The encoder's layers and its two heads see the B rows
# of the minibatch, the decoder's layers the B K draws. For one hidden layer
# of width h:
#   FLOP = 4 B dx h + 12 B h dz + 6 B K (dz h + h dx).
# Elementwise work (activations, normals, the likelihood, Adam) is not counted.
# `heads` is the total width of the encoder's heads (2 dz for the diagonal
# Gaussian) and `out_heads` the number of decoder output layers (2 when the
# decoder's variance depends on z).
dense_layers <- function(dx, hidden, dz, B, K = 1, heads = 2 * dz, out_heads = 1) {
  enc <- c(dx, hidden)
  dec <- c(dz, rev(hidden))
  rows <- list()
  for (j in seq_along(hidden)) rows[[length(rows) + 1]] <- c(enc[j], enc[j + 1], B, j > 1)
  rows[[length(rows) + 1]] <- c(enc[length(enc)], heads, B, length(hidden) > 0)
  for (j in seq_along(hidden)) rows[[length(rows) + 1]] <- c(dec[j], dec[j + 1], B * K, 1)
  for (o in seq_len(out_heads)) rows[[length(rows) + 1]] <- c(dec[length(dec)], dx, B * K, 1)
  m <- do.call(rbind, rows)
  colnames(m) <- c("in", "out", "cols", "input_grad")
  m
}
dense_flops <- function(...) {
  l <- dense_layers(...)
  sum(2 * l[, "in"] * l[, "out"] * l[, "cols"] * (2 + l[, "input_grad"]))
}
config_flops <- function(cf, B = cf$batch, K = cf$K) {
  dense_flops(cf$dx, cf$hidden, cf$dz, B, K)
}

# ---- vaeconv --------------------------------------------------------------------
make_data <- function(rows, dx, seed = 1) {
  set.seed(seed)
  matrix(stats::runif(rows * dx), rows, dx)
}
config_model <- function(cf, ...) {
  gaussian_vae(latent_dim = cf$dz, hidden = cf$hidden, activation = cf$activation,
               obs_sd = sqrt(cf$obs_var), ...)
}
config_objective <- function(cf) {
  if (cf$K == 1) elbo() else iwae(K = cf$K)
}

# Times one fit_vae() call with record_every = 1: `warmup` iterations, then
# `blocks` blocks of `iters` iterations. A block's time is the difference of
# the trajectory's `seconds` (elapsed time since the fit started, measured in
# C++) between its last iteration and the one before it began, so the fit's
# set-up is left out. Returns ms per iteration: `block`, the median over the
# blocks (as torch_vae.py reports its own), and `iteration`, the median of the
# single iterations' times (robust to a busy machine's interruptions).
time_fit <- function(x, model, objective, batch, iters, threads = 1, warmup = 10,
                     blocks = 3, lr = 1e-3) {
  fit <- fit_vae(x, model, objective = objective,
                 optimizer = adam(lr = lr, decay = 0), batch_size = batch,
                 iterations = warmup + blocks * iters, seed = 1, n_threads = threads,
                 record_every = 1, progress = FALSE)
  s <- trajectory(fit)$seconds
  ends <- warmup + iters * seq_len(blocks)
  c(block = stats::median((s[ends] - s[ends - iters]) / iters * 1000),
    iteration = stats::median(diff(s[warmup:length(s)])) * 1000)
}

# ms per iteration from two whole fit_vae() calls of n1 = 10 and n2 = 10 +
# 2 iters iterations, (T(n2) - T(n1)) / (n2 - n1): `elapsed`, and `cpu` from
# the process's CPU time (user + system: on one thread, the time the fit ran,
# whatever else the machine was doing).
time_calls <- function(x, model, objective, batch, iters, threads = 1, lr = 1e-3) {
  times <- function(n) {
    t <- system.time(fit_vae(x, model, objective = objective,
                             optimizer = adam(lr = lr, decay = 0), batch_size = batch,
                             iterations = n, seed = 1, n_threads = threads,
                             progress = FALSE))
    c(elapsed = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]])
  }
  n1 <- 10
  n2 <- 10 + 2 * iters
  (times(n2) - times(n1)) / (n2 - n1) * 1000
}

# ---- the machine ------------------------------------------------------------------
load_avg <- function() as.numeric(scan("/proc/loadavg", what = "", quiet = TRUE)[1])
machine <- function(root) {
  cpu <- sub(".*: ", "", grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1])
  pkg_version <- function(p) {
    v <- suppressWarnings(system2("dpkg-query", c("-W", "-f='${Version}'", p),
                                  stdout = TRUE, stderr = FALSE))
    if (length(v) == 0 || !nzchar(v[1])) NA_character_ else v[1]
  }
  torch <- suppressWarnings(tryCatch(
    system2("/usr/bin/python3", c("-c", shQuote("import torch; print(torch.__version__)")),
            stdout = TRUE, stderr = FALSE)[1],
    error = function(e) NA_character_
  ))
  git <- function(...) {
    suppressWarnings(tryCatch(
      system2("git", c("-C", shQuote(root), ...), stdout = TRUE, stderr = FALSE),
      error = function(e) character(0)
    ))
  }
  commit <- git("rev-parse", "--short", "HEAD")
  # Changes to what is built (not to results, README or the benchmark itself).
  dirty <- length(git("status", "--porcelain", "--untracked-files=no", "--",
                      "R", "src", "inst/include", "DESCRIPTION")) > 0
  list(
    cpu = cpu, cores = parallel::detectCores(), r = R.version.string,
    blas = sessionInfo()$BLAS, openblas = pkg_version("libopenblas0-pthread"),
    torch = if (length(torch) && !is.na(torch)) torch else NA_character_,
    vaeconv = format(utils::packageVersion("vaeconv")),
    build = if (length(commit)) paste0(commit[1], if (dirty) " (with uncommitted changes)") else "unknown",
    date = format(Sys.time(), "%Y-%m-%d %H:%M UTC", tz = "UTC")
  )
}
print_machine <- function(m) {
  cat("CPU:      ", m$cpu, "(", m$cores, "cores )\n")
  cat("R:        ", m$r, "\n")
  cat("BLAS:     ", m$blas, "( libopenblas0-pthread", m$openblas, ")\n")
  cat("PyTorch:  ", m$torch, "(/usr/bin/python3)\n")
  cat("vaeconv:  ", m$vaeconv, "build", m$build, "at",
      dirname(system.file(package = "vaeconv")), "\n")
  cat("load avg: ", load_avg(), "at start\n\n")
}
machine_line <- function(m, loads, two_threads = FALSE) {
  busy <- max(loads) > m$cores - 1 + 0.5
  sprintf(
    "%s, on %s (%d cores), %s, OpenBLAS %s (libopenblas0-pthread, one thread), PyTorch %s; vaeconv %s, build %s. Load average %s during the run%s.",
    m$date, m$cpu, m$cores, m$r, m$openblas, m$torch, m$vaeconv, m$build,
    paste(unique(format(range(loads), nsmall = 2)), collapse = " to "),
    if (busy) paste0(
      ": **a loaded machine** (other jobs held the cores), so elapsed times ",
      "are inflated and even the ratios are noisy",
      if (two_threads) "; the two-thread speed-up needs an idle machine"
    ) else ""
  )
}

# ---- results ---------------------------------------------------------------------
fmt_ratio <- function(x) ifelse(is.na(x), "NA", sprintf("%.2fx", x))
fmt_ms <- function(x) {
  ifelse(is.na(x), "NA", ifelse(x >= 10, sprintf("%.1f ms", x),
                                ifelse(x >= 1, sprintf("%.2f ms", x), sprintf("%.3f ms", x))))
}
# "median (round values)" for ratios taken within rounds.
fmt_rounds <- function(v) {
  v <- v[!is.na(v)]
  if (length(v) == 0) return("NA")
  sprintf("%s (%s)", fmt_ratio(stats::median(v)), paste(sprintf("%.2f", v), collapse = ", "))
}

# Replaces the lines between "<!-- name:start -->" and "<!-- name:end -->" in
# `file` by `lines`.
splice_markdown <- function(file, name, lines) {
  text <- readLines(file, warn = FALSE)
  a <- which(text == sprintf("<!-- %s:start -->", name))
  b <- which(text == sprintf("<!-- %s:end -->", name))
  if (length(a) != 1 || length(b) != 1 || b < a) {
    stop(file, " has no single pair of markers <!-- ", name, ":start --> and <!-- ",
         name, ":end -->", call. = FALSE)
  }
  writeLines(c(text[seq_len(a)], lines, text[b:length(text)]), file)
  cat("wrote", name, "into", file, "\n")
}
write_results <- function(opt, name, lines, data = NULL) {
  if (nzchar(opt$out)) {
    dir.create(opt$out, showWarnings = FALSE, recursive = TRUE)
    writeLines(lines, file.path(opt$out, paste0(name, ".md")))
    if (!is.null(data)) {
      utils::write.csv(data, file.path(opt$out, paste0(name, ".csv")), row.names = FALSE)
    }
    cat("wrote", file.path(opt$out, paste0(name, c(".md", if (!is.null(data)) ".csv"))), "\n")
  }
  if (nzchar(opt$readme)) splice_markdown(opt$readme, paste0("bench:", name), lines)
}
