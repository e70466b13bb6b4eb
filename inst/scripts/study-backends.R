# The same small study of fit_vae_study() under every back end the tests
# use: its wall time on each, and whether the studies are identical (apart
# from the timings). Slurm is used when a cluster answers (start one with
# tools/slurm.sh start).
#
#     Rscript inst/scripts/study-backends.R [iterations] [replicates]

library(vaeconv)
args <- commandArgs(trailingOnly = TRUE)
iterations <- if (length(args) >= 1) as.integer(args[[1]]) else 200L
replicates <- if (length(args) >= 2) as.integer(args[[2]]) else 2L

x <- as.matrix(digits[1:300, 1:64]) / 16
design <- expand.grid(batch_size = c(16, 32), objective = list(iwae(1), iwae(3)))
run <- function(path = NULL) {
  fit_vae_study(x, design, model = gaussian_vae(2, hidden = 8),
                iterations = iterations, replicates = replicates, seed = 11,
                path = path, progress = FALSE)
}
untimed <- function(study) {
  study$seconds <- study$workers <- study$path <- NULL
  study$tasks$seconds <- NULL
  study$fits <- lapply(study$fits, function(fit) {
    if (is.null(fit)) return(NULL)
    fit$trajectory$seconds <- NULL
    fit$state$seconds <- NULL
    fit
  })
  study
}
timed <- function(name, setup) {
  setup()
  path <- tempfile("study-")
  t <- system.time(study <- run(path))[["elapsed"]]
  data.frame(plan = name, tasks = nrow(study$tasks),
             done = sum(study$tasks$status == "done"), seconds = t,
             identical = identical(untimed(study), untimed(reference)))
}

future::plan(future::sequential)
reference <- run()
rows <- list(
  timed("sequential", function() future::plan(future::sequential)),
  timed("multisession (2 workers)", function() future::plan(future::multisession, workers = 2)),
  timed("cluster (2 PSOCK workers)", function() future::plan(future::cluster, workers = 2))
)
slurm <- nzchar(Sys.which("sinfo")) &&
  any(grepl("^(idle|mix|alloc)", suppressWarnings(system2("sinfo", c("-h", "-o", "%t"), stdout = TRUE, stderr = TRUE))))
if (slurm && requireNamespace("future.batchtools", quietly = TRUE)) {
  if (!nzchar(Sys.getenv("USER"))) Sys.setenv(USER = Sys.info()[["user"]])
  options(future.cache.path = tempfile("future-"))
  rows <- c(rows, list(timed("Slurm (future.batchtools)", function() {
    future::plan(future.batchtools::batchtools_slurm,
                 template = system.file("batchtools", "slurm.tmpl", package = "vaeconv"),
                 resources = list(ncpus = 1, walltime = 5))
  })))
} else {
  message("No Slurm cluster answers: start one with tools/slurm.sh start.")
}
future::plan(future::sequential)
print(do.call(rbind, rows), row.names = FALSE)
