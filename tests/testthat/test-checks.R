# Scalars ------------------------------------------------------------------------

test_that("check_number() returns a plain double within the bounds", {
  expect_identical(check_number(2L), 2)
  expect_identical(check_number(c(a = 0.5), lower = 0, upper = 1), 0.5)
  expect_identical(check_number(0, lower = 0), 0)
  expect_identical(check_number(1, upper = 1), 1)
  expect_identical(check_number(Inf, lower = 0, allow_inf = TRUE), Inf)
  expect_null(check_number(NULL, allow_null = TRUE))
})

test_that("check_number() rejects what is not a single allowed number", {
  bad <- rlang::exprs(
    check_number(NA),
    check_number(NA_real_),
    check_number(NaN),
    check_number(Inf),
    check_number(-Inf),
    check_number("1"),
    check_number(TRUE),
    check_number(c(1, 2)),
    check_number(numeric(0)),
    check_number(NULL),
    check_number(factor(1)),
    check_number(list(1)),
    check_number(0, lower = 0, lower_open = TRUE),
    check_number(-1, lower = 0),
    check_number(1, upper = 1, upper_open = TRUE),
    check_number(2, upper = 1),
    check_number(-Inf, lower = 0, allow_inf = TRUE)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
})

test_that("check_whole() returns an integer", {
  expect_identical(check_whole(64), 64L)
  expect_identical(check_whole(64L), 64L)
  expect_identical(check_whole(0, min = 0), 0L)
  expect_identical(check_whole(.Machine$integer.max), .Machine$integer.max)
  expect_null(check_whole(NULL, allow_null = TRUE))
})

test_that("check_whole() rejects what is not a single allowed whole number", {
  bad <- rlang::exprs(
    check_whole(NA),
    check_whole(NA_integer_),
    check_whole(NaN),
    check_whole(Inf),
    check_whole("2"),
    check_whole(TRUE),
    check_whole(c(1, 2)),
    check_whole(NULL),
    check_whole(2.5),
    check_whole(0),
    check_whole(-3),
    check_whole(-1, min = 0),
    check_whole(11, max = 10),
    check_whole(2^31)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
})

test_that("check_whole_vector() accepts empty input and returns integers", {
  expect_identical(check_whole_vector(NULL), integer(0))
  expect_identical(check_whole_vector(integer(0)), integer(0))
  expect_identical(check_whole_vector(numeric(0)), integer(0))
  expect_identical(check_whole_vector(c(64, 32)), c(64L, 32L))
  bad <- rlang::exprs(
    check_whole_vector("a"),
    check_whole_vector(list(1)),
    check_whole_vector(TRUE),
    check_whole_vector(matrix(1, 2, 2)),
    check_whole_vector(c(64, NA)),
    check_whole_vector(c(64, NaN)),
    check_whole_vector(c(64, Inf)),
    check_whole_vector(c(64, 0)),
    check_whole_vector(c(64, -1)),
    check_whole_vector(c(64, 2.5)),
    check_whole_vector(2^31)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
})

test_that("check_flag(), check_choice(), check_seed() and check_n_threads() work", {
  expect_identical(check_flag(TRUE), TRUE)
  expect_identical(check_flag(c(a = FALSE)), FALSE)
  expect_identical(check_choice("dreg", c("reparam", "dreg")), "dreg")
  expect_identical(check_choice(c("reparam", "dreg"), c("reparam", "dreg")), "reparam")
  expect_null(check_seed(NULL))
  expect_identical(check_seed(0), 0L)
  expect_identical(check_seed(2^31 - 1), .Machine$integer.max)
  expect_null(check_n_threads(NULL))
  expect_identical(check_n_threads(2), 2L)

  bad <- rlang::exprs(
    check_flag(NA),
    check_flag(1),
    check_flag("TRUE"),
    check_flag(c(TRUE, FALSE)),
    check_flag(NULL),
    check_choice("Dreg", c("reparam", "dreg")),
    check_choice(NA_character_, c("reparam", "dreg")),
    check_choice(1, c("reparam", "dreg")),
    check_choice(c("dreg", "reparam"), c("reparam", "dreg")),
    check_choice(character(0), c("reparam", "dreg")),
    check_seed(-1),
    check_seed(2^31),
    check_seed(1.5),
    check_seed(NA),
    check_seed("1"),
    check_n_threads(0),
    check_n_threads(1.5),
    check_n_threads(NA),
    check_n_threads(c(1, 2))
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
})

test_that("check_required() errors only when the argument is missing", {
  f <- function(lr) check_required(lr)
  expect_true(f(1))
  expect_error(f(), class = "vaeconv_error_input")
})

test_that("errors name the argument and the user's function", {
  sgd_like <- function(lr) check_number(lr, lower = 0, lower_open = TRUE)
  cnd <- rlang::catch_cnd(sgd_like(-1))
  expect_s3_class(cnd, c("vaeconv_error_input", "vaeconv_error"))
  expect_identical(cnd$arg, "lr")
  expect_identical(cnd$call, quote(sgd_like(-1)))
})

test_that("describe_value() describes what an argument got", {
  expect_identical(describe_value(-3), "-3")
  expect_identical(describe_value(NA), "`NA`")
  expect_identical(describe_value(NaN), "`NaN`")
  expect_identical(describe_value(-Inf), "`-Inf`")
  expect_identical(describe_value(FALSE), "`FALSE`")
  expect_identical(describe_value(NULL), "`NULL`")
  expect_identical(describe_value("a"), "the string \"a\"")
  expect_identical(describe_value(c("a", "b")), "a character vector of length 2")
  expect_identical(describe_value(1:3), "an integer vector of length 3")
  expect_identical(describe_value(numeric(0)), "an empty numeric vector")
  expect_identical(describe_value(factor("a")), "a factor")
  expect_identical(describe_value(matrix(1)), "a numeric matrix")
  expect_identical(describe_value(data.frame()), "a data frame")
  expect_identical(describe_value(list()), "a list")
  expect_identical(describe_value(mean), "a function")
  expect_identical(describe_value(elbo()), "a <vae_elbo> object")
})

test_that("scalar check messages are informative", {
  fit <- function(batch_size = 64, lr = 0.1, momentum = 0, bound = Inf,
                  exact = FALSE, estimator = c("reparam", "dreg"),
                  seed = NULL, n_threads = NULL) {
    check_whole(batch_size)
    check_number(lr, lower = 0, lower_open = TRUE)
    check_number(momentum, lower = 0, upper = 1, upper_open = TRUE)
    check_number(bound, lower = 0, lower_open = TRUE, allow_inf = TRUE)
    check_flag(exact)
    check_choice(estimator, c("reparam", "dreg"))
    check_seed(seed)
    check_n_threads(n_threads)
  }
  expect_snapshot(error = TRUE, fit(batch_size = -3))
  expect_snapshot(error = TRUE, fit(batch_size = 2.5))
  expect_snapshot(error = TRUE, fit(batch_size = "64"))
  expect_snapshot(error = TRUE, fit(lr = NA))
  expect_snapshot(error = TRUE, fit(lr = Inf))
  expect_snapshot(error = TRUE, fit(lr = c(0.1, 0.2)))
  expect_snapshot(error = TRUE, fit(momentum = 1))
  expect_snapshot(error = TRUE, fit(bound = 0))
  expect_snapshot(error = TRUE, fit(exact = NA))
  expect_snapshot(error = TRUE, fit(estimator = "dreq"))
  expect_snapshot(error = TRUE, fit(seed = -1))
  expect_snapshot(error = TRUE, fit(n_threads = 0))
})

# Data -----------------------------------------------------------------------------

test_that("check_data() converts matrices and data frames to double matrices", {
  m <- matrix(1:6, 2, dimnames = list(c("r1", "r2"), c("a", "b", "c")))
  expected <- matrix(as.double(1:6), 2, dimnames = list(NULL, c("a", "b", "c")))
  expect_identical(check_data(m), expected)
  expect_identical(check_data(as.data.frame(m)), expected)
  expect_identical(check_data(tibble::as_tibble(as.data.frame(m))), expected)
  expect_identical(check_data(matrix(1:4, 2)), matrix(as.double(1:4), 2))
  expect_identical(
    check_data(data.frame(a = 1L, b = 2.5)),
    matrix(c(1, 2.5), 1, dimnames = list(NULL, c("a", "b")))
  )
  expect_identical(check_data(matrix(1, 3, 2), ncol = 2), matrix(1, 3, 2))
})

test_that("check_data() rejects bad data", {
  with_na <- matrix(1, 3, 2)
  with_na[2, 1] <- NA
  with_nan <- matrix(1, 3, 2)
  with_nan[3, 2] <- NaN
  with_inf <- matrix(1, 3, 2)
  with_inf[1, 2] <- -Inf
  bad <- rlang::exprs(
    check_data(1:3),
    check_data("a"),
    check_data(list(a = 1, b = 2)),
    check_data(NULL),
    check_data(matrix("a", 2, 2)),
    check_data(matrix(TRUE, 2, 2)),
    check_data(data.frame(a = 1:2, b = c("x", "y"))),
    check_data(data.frame(a = 1:2, b = factor(c("x", "y")))),
    check_data(data.frame(a = 1:2, b = c(TRUE, FALSE))),
    check_data(data.frame(a = 1:2, d = as.Date("2024-01-01") + 0:1)),
    check_data(matrix(0, 0, 3)),
    check_data(data.frame(a = numeric(0))),
    check_data(matrix(0, 3, 0)),
    check_data(data.frame()),
    check_data(matrix(0, 1, 3), min_rows = 2),
    check_data(with_na),
    check_data(with_nan),
    check_data(as.data.frame(with_na)),
    check_data(with_inf),
    check_data(matrix(0, 3, 10), ncol = 64)
  )
  for (e in bad) {
    expect_error(eval(e), class = "vaeconv_error_input", info = deparse1(e))
  }
})

test_that("check_data() messages are informative", {
  fit <- function(x, ...) check_data(x, ...)
  df <- data.frame(
    a = 1:2, name = c("x", "y"), species = factor(c("x", "y")),
    flag = c(TRUE, FALSE)
  )
  x <- matrix(1, 4, 3, dimnames = list(NULL, c("u", "v", "w")))
  x[3, 2] <- NA
  x[2, 3] <- NaN
  y <- matrix(1, 4, 3)
  y[4, 1] <- Inf
  expect_snapshot(error = TRUE, fit(1:3))
  expect_snapshot(error = TRUE, fit(matrix("a", 2, 2)))
  expect_snapshot(error = TRUE, fit(df))
  expect_snapshot(error = TRUE, fit(matrix(0, 3, 0)))
  expect_snapshot(error = TRUE, fit(matrix(0, 0, 3)))
  expect_snapshot(error = TRUE, fit(matrix(0, 1, 3), min_rows = 2))
  expect_snapshot(error = TRUE, fit(x))
  expect_snapshot(error = TRUE, fit(y))
  expect_snapshot(error = TRUE, fit(matrix(0, 3, 10), ncol = 64))
})

# Issue 7's table of bad inputs, for every exported function ----------------------

# Evaluates `code` with every compiled entry point (cpp_*) replaced by a stub
# that errors with class "vaeconv_test_compiled", so that an input reaching
# compiled code cannot pass for one rejected in R; restores them on exit.
with_no_compiled_code <- function(code) {
  ns <- asNamespace("vaeconv")
  entry_points <- grep("^cpp_", names(ns), value = TRUE)
  originals <- mget(entry_points, envir = ns)
  rebind <- function(name, value) {
    unlockBinding(name, ns)
    assign(name, value, envir = ns)
    lockBinding(name, ns)
  }
  stub <- function(name) {
    force(name)
    function(...) rlang::abort(paste(name, "ran"), class = "vaeconv_test_compiled")
  }
  on.exit(for (name in entry_points) rebind(name, originals[[name]]), add = TRUE)
  for (name in entry_points) rebind(name, stub(name))
  force(code)
}

# Defects of a data matrix d that every function taking data rejects.
data_defects <- function(d) {
  first_column <- function(f) {
    out <- as.data.frame(d)
    out[[1]] <- f(out[[1]])
    out
  }
  list(
    "NA" = replace(d, 5, NA),
    "NaN" = replace(d, 5, NaN),
    "Inf" = replace(d, 5, Inf),
    "character matrix" = array(as.character(d), dim(d)),
    "character column" = first_column(as.character),
    "factor column" = first_column(factor),
    "string" = "x",
    "zero rows" = d[0, , drop = FALSE]
  )
}

# Bad values of a scalar argument of each kind (the table adds out-of-range
# values argument by argument).
bad_values <- list(
  count = list(NA, 2.5, "2", c(2, 3)),
  number = list(NA, "0.5"),
  flag = list(NA, "TRUE"),
  choice = list("nonsense", NA_character_),
  seed = list(NA, -1, 1.5)
)

test_that("every exported function rejects issue 7's table of bad inputs before compiled code runs", {
  x <- digits_x(60)
  m <- gaussian_vae(2, hidden = 4)
  fit <- fit_vae(x, m, batch_size = 20, iterations = 2, seed = 1, n_threads = 1)
  xl <- simulate_ppca(n = 40, d = 5, scales = c(2, 1), seed = 1)
  lin <- fit_vae(xl, linear_vae(2), elbo(exact = TRUE), batch_size = 20,
                 iterations = 2, seed = 1, n_threads = 1)
  tr <- as.data.frame(trajectory(fit))
  z <- encode(fit, x[1:6, ])
  gt <- gaussian_target(c(0, 1), diag(2))
  vfit <- fit_vi(gt, gaussian_family(), iterations = 2, seed = 1, n_threads = 1)
  zv <- generate(vfit, 6, seed = 1)
  xlog <- cbind(1, seq(-1, 1, length.out = 8))
  ylog <- c(0, 1, 0, 0, 1, 1, 0, 1)
  study <- fit_vae_study(x, expand.grid(batch_size = c(5, 10), objective = list(elbo(), iwae(2))),
                         model = m, iterations = 4, replicates = 2, seed = 1,
                         progress = FALSE)

  # Each function with good arguments; `data` names its data argument and
  # `fitted` whether the data's width is fixed by a fit; `rows` the fewest
  # rows it takes, `batch` whether it has a batch size; then the scalar
  # arguments by kind, with their out-of-range values.
  table <- list(
    fit_vae = list(
      good = list(x = x, model = m, batch_size = 5, iterations = 1, seed = 1,
                  n_threads = 1, progress = FALSE),
      data = "x", rows = 2, batch = TRUE,
      count = list(batch_size = 0, iterations = 0, record_every = 0,
                   eval_every = NULL, eval_samples = 0, n_threads = 0),
      seed = "seed", flag = "progress",
      class = list(model = list("gaussian", elbo(), unclass(m)),
                   objective = list("elbo", adam(), unclass(elbo())),
                   optimizer = list("adam", elbo(), unclass(adam())),
                   init = list(list(), m, "unclassed fit" = unclass(fit)))
    ),
    fit_vae_replicates = list(
      good = list(x = x, model = m, batch_size = 5, iterations = 1,
                  replicates = 2, n_threads = 1, progress = FALSE),
      data = "x", rows = 2, batch = TRUE,
      count = list(batch_size = 0, iterations = 0, replicates = 0, n_threads = 0),
      flag = c("parallel", "progress"),
      class = list(model = list("gaussian", elbo()),
                   objective = list("elbo", adam()),
                   optimizer = list("adam", elbo()),
                   seeds = list(c(1, NA), c(1, 1.5), c(1, -1), c("1", "2"),
                                c(1, 1), numeric(0)))
    ),
    encode = list(good = list(fit = fit, x = x), data = "x", fitted = TRUE,
                  choice = "type", class = list(fit = list(list(), m, "a matrix" = x))),
    decode = list(good = list(fit = fit, z = z), data = "z", fitted = TRUE,
                  class = list(fit = list(list(), m))),
    reconstruct = list(good = list(fit = fit, x = x), data = "x", fitted = TRUE,
                       class = list(fit = list(list(), m))),
    predict = list(good = list(object = fit, newdata = x), data = "newdata",
                   fitted = TRUE, choice = "type"),
    generate = list(good = list(fit = fit, n = 3, seed = 1),
                    count = list(n = 0), seed = "seed", flag = "noise",
                    class = list(fit = list(list(), m))),
    log_likelihood = list(
      good = list(fit = fit, x = x, samples = 10, seed = 1, n_threads = 1,
                  progress = FALSE),
      data = "x", fitted = TRUE,
      count = list(samples = 1, n_threads = 0), seed = "seed", choice = "method",
      flag = "progress",
      class = list(fit = list(list(), m))
    ),
    gradient_snr = list(
      good = list(fit = fit, x = x, batch_size = 5, draws = 5, seed = 1,
                  n_threads = 1, progress = FALSE),
      data = "x", fitted = TRUE, batch = TRUE,
      count = list(batch_size = 0, draws = 1, n_threads = 0), seed = "seed",
      flag = "progress",
      class = list(fit = list(list(), m),
                   objective = list("iwae", adam(), elbo(exact = TRUE)))
    ),
    evaluate = list(
      good = list(fit = fit, x = x, samples = 2, seed = 1, n_threads = 1,
                  progress = FALSE),
      data = "x", fitted = TRUE,
      count = list(samples = 0, n_threads = 0), seed = "seed", flag = "progress",
      class = list(fit = list(list(), m),
                   objective = list("elbo", adam(), elbo(exact = TRUE)))
    ),
    gradient = list(
      good = list(fit = fit, x = x, samples = 2, seed = 1, n_threads = 1),
      data = "x", fitted = TRUE,
      count = list(samples = 0, n_threads = 0), seed = "seed",
      class = list(fit = list(list(), m),
                   objective = list("elbo", adam(), elbo(exact = TRUE)))
    ),
    latent_activity = list(
      good = list(fit = fit, x = x), data = "x", fitted = TRUE,
      number = list(threshold = c(-1, Inf)),
      class = list(fit = list(list(), m, "a matrix" = x))
    ),
    entropy_sum = list(
      good = list(fit = lin, x = xl, draws = 5, seed = 1, n_threads = 1,
                  progress = FALSE),
      data = "x", fitted = TRUE,
      count = list(draws = 0, n_threads = 0), seed = "seed", flag = "progress",
      class = list(fit = list(list(), linear_vae(2)))
    ),
    ppca = list(good = list(x = xl, latent_dim = 2), data = "x", rows = 2,
                count = list(latent_dim = c(0, 5))),
    rate_compare = list(
      good = list(fit = tr), number = list(tail = c(0, 1.5)), choice = "column",
      class = list(fit = list(
        1:10, "tr",
        "no iteration column" = tr[, -1],
        "a negative squared norm" = replace(tr, "grad_norm_sq", list(c(-1, tr$grad_norm_sq[-1]))),
        "an infinite squared norm" = replace(tr, "grad_norm_sq", list(c(Inf, tr$grad_norm_sq[-1]))),
        "non-integer iterations" = replace(tr, "iteration", list(tr$iteration + 0.5))
      ))
    ),
    fit_vae_study = list(
      good = list(x = x, design = data.frame(batch_size = c(5, 10)), model = m,
                  iterations = 1, replicates = 1, seed = 1, progress = FALSE),
      data = "x", rows = 2,
      count = list(replicates = 0, n_threads = c(0, NULL)),
      seed = "seed", flag = "progress",
      class = list(
        design = list(list(batch_size = 5), "batch_size", data.frame(),
                      "an unknown column" = data.frame(lr = 0.1),
                      "a seed column" = data.frame(seed = 1:2),
                      "a column given in ..." = data.frame(iterations = 2),
                      "a character objective column" = data.frame(objective = "elbo"),
                      "a character batch size" = data.frame(batch_size = "5"),
                      "a batch size of 0" = data.frame(batch_size = c(5, 0)),
                      "a batch size above the rows" = data.frame(batch_size = c(5, 61)),
                      "a model column and a model in ..." = data.frame(model = I(list(m)))),
        model = list("gaussian", elbo()),
        path = list(c("a", "b"), NA_character_, 1)
      )
    ),
    study_seeds = list(
      good = list(seed = 1, row = 1:2, replicate = 1),
      seed = "seed",
      class = list(seed = list(NULL), row = list(c(1, NA), 0, "1", 1.5),
                   replicate = list(c(1, NA), 0, "1", 1:3))
    ),
    study_constants = list(
      good = list(study = study), number = list(tail = c(0, 1.5), level = c(0, 1)),
      choice = "column",
      class = list(study = list(list(), fit, "a vae_fits" = structure(list(fit), class = "vae_fits")))
    ),
    rate_reference = list(
      good = list(n = c(1, 10)),
      class = list(n = list(c(1, NA), c(1, NaN), c(1, Inf), c(1, 0.5), "10",
                            list(10), numeric(0)))
    ),
    trajectory = list(good = list(fit = fit),
                      class = list(fit = list(list(), m, "fit", "a trajectory" = tr))),
    soft_clip = list(good = list(s = 1, s1 = 0, s2 = 50),
                     number = list(s = c(0, -1, Inf), s1 = c(50, Inf), s2 = c(0, Inf))),
    gaussian_vae = list(
      good = list(latent_dim = 2, hidden = c(4, 3)),
      count = list(latent_dim = 0),
      number = list(obs_sd = c(0, -1, Inf), min_var = c(0, Inf)),
      flag = c("learn_obs_sd", "obs_sd_from_z"), choice = "covariance",
      class = list(hidden = list(c(4, NA), c(4, 2.5), c(4, 0), c(4, Inf), "4", list(4)),
                   activation = list("tanhh", elbo(), 1, NA))
    ),
    bernoulli_vae = list(
      good = list(latent_dim = 2, hidden = c(4, 3)),
      count = list(latent_dim = 0),
      number = list(min_var = c(0, Inf)),
      flag = "continuous", choice = "covariance",
      class = list(hidden = list(c(4, NA), c(4, 0), "4"),
                   activation = list("tanhh", 1))
    ),
    linear_vae = list(good = list(latent_dim = 2), count = list(latent_dim = 0),
                      number = list(obs_sd = c(0, Inf)), flag = "learn_obs_sd"),
    elbo = list(good = list(), count = list(K = 0), number = list(beta = c(-1, Inf)),
                flag = "exact", choice = "estimator",
                class = list(estimator = list("dreg"))),
    iwae = list(good = list(K = 5), count = list(K = 0),
                number = list(alpha = c(-0.1, 1)), choice = "estimator",
                class = list(K = list(elbo(), list(start = 1)))),
    k_schedule = list(good = list(start = 1, max = 10, every = 5),
                      count = list(start = 0, max = NULL, every = 0), choice = "growth",
                      class = list(max = list(0.5))),
    sgd = list(good = list(lr = 0.1),
               number = list(lr = c(0, Inf), decay = c(-0.1, 1.5),
                             momentum = c(-0.1, 1), bound = c(0, -Inf))),
    adam = list(good = list(),
                number = list(lr = c(0, Inf), decay = c(-0.1, 1.5), beta1 = c(-0.1, 1),
                              beta2 = c(0, 1), eps = c(0, Inf), bound = c(0, -Inf))),
    adagrad = list(good = list(),
                   number = list(lr = c(0, Inf), decay = c(-0.1, 1.5), eps = c(0, Inf),
                                 bound = c(0, -Inf))),
    fit_vi = list(
      good = list(target = gt, family = gaussian_family(), iterations = 2, seed = 1,
                  n_threads = 1, progress = FALSE),
      count = list(iterations = 0, draws = 0, record_every = 0, eval_every = NULL,
                   eval_samples = 0, n_threads = 0),
      seed = "seed", flag = "progress",
      class = list(target = list("gaussian", gaussian_family(), unclass(gt)),
                   family = list("gaussian", gt, unclass(gaussian_family())),
                   objective = list("elbo", adam(), elbo(beta = 2), elbo(exact = TRUE),
                                    iwae(3, estimator = "dreg")),
                   optimizer = list("adam", elbo()),
                   init = list(list(), fit, "unclassed fit" = unclass(vfit)))
    ),
    gaussian_target = list(
      good = list(mean = c(0, 1), cov = diag(2)),
      class = list(mean = list(c(0, NA), c(0, Inf), "0", list(0), numeric(0)),
                   cov = list("not positive definite" = matrix(c(1, 2, 2, 1), 2),
                              "not symmetric" = matrix(c(1, 0.5, 0.4, 1), 2),
                              diag(3), c(1, -1), NA, "1", matrix(NA_real_, 2, 2)))
    ),
    logistic_target = list(
      good = list(x = xlog, y = ylog), data = "x", number = list(prior_sd = c(0, Inf)),
      class = list(y = list("not 0/1" = replace(ylog, 1, 2), "a row fewer" = ylog[-1],
                            "NA" = replace(ylog, 1, NA), "1", factor(ylog)))
    ),
    mixture_target = list(
      good = list(means = c(-1, 1)),
      class = list(means = list(c(0, NA), "a", list(1), numeric(0)),
                   sds = list(-1, c(1, 1, 1), Inf, "1"),
                   weights = list(c(0, 0), c(-1, 2), 1, c(1, NA)))
    ),
    funnel_target = list(good = list(dim = 2), count = list(dim = 1),
                         number = list(scale = c(0, Inf))),
    custom_target = list(
      good = list(log_density = function(z) 0, gradient = function(z) -z, dim = 2),
      count = list(dim = 0),
      class = list(log_density = list("f", "returns NA" = function(z) NA,
                                      "returns 2 values" = function(z) c(1, 2),
                                      "errors" = function(z) stop("x")),
                   gradient = list(1, "returns 1 value" = function(z) 1,
                                   "returns NaN" = function(z) c(NaN, 0)))
    ),
    gaussian_family = list(good = list(), choice = c("covariance", "scale"),
                           number = list(min_scale = c(0, Inf))),
    sinh_arcsinh_family = list(good = list(), choice = "covariance"),
    flow_family = list(good = list(), count = list(layers = 0),
                       number = list(init_sd = c(0, Inf))),
    log_density = list(good = list(fit = vfit, z = zv), data = "z", fitted = TRUE,
                       class = list(fit = list(list(), fit, m))),
    rmsprop = list(good = list(),
                   number = list(lr = c(0, Inf), decay = c(-0.1, 1.5), rho = c(-0.1, 1),
                                 eps = c(0, Inf), bound = c(0, -Inf)))
  )

  # Every exported function is in the table (methods other than predict()
  # are reached through it or through generics the package does not own).
  exported <- setdiff(getNamespaceExports("vaeconv"), "digits")
  expect_setequal(setdiff(names(table), "predict"), exported)

  # The cases: a label and the arguments.
  cases <- list()
  add <- function(fn, label, args) {
    cases[[length(cases) + 1]] <<- list(fn = fn, label = paste0(fn, ": ", label), args = args)
  }
  with_arg <- function(good, arg, value) {
    good[arg] <- list(value)
    good
  }
  for (fn in names(table)) {
    t <- table[[fn]]
    good <- t$good
    if (!is.null(t$data)) {
      d <- good[[t$data]]
      defects <- data_defects(d)
      if (isTRUE(t$fitted)) {
        defects[["a column fewer"]] <- d[, -1, drop = FALSE]
        defects[["a column more"]] <- cbind(d, 0)
      }
      if (!is.null(t$rows)) defects[["one row"]] <- d[1, , drop = FALSE]
      if (isTRUE(t$batch)) {
        defects[["fewer rows than the batch size"]] <- d[1:(good$batch_size - 1), ]
      }
      for (defect in names(defects)) {
        add(fn, paste0(t$data, " with ", defect), with_arg(good, t$data, defects[[defect]]))
      }
    }
    for (kind in c("count", "number")) {
      for (arg in names(t[[kind]])) {
        values <- c(bad_values[[kind]], as.list(t[[kind]][[arg]]))
        for (v in values) add(fn, paste0(arg, " = ", deparse1(v)), with_arg(good, arg, v))
      }
    }
    for (kind in c("seed", "flag", "choice")) {
      for (arg in t[[kind]]) {
        for (v in bad_values[[kind]]) add(fn, paste0(arg, " = ", deparse1(v)), with_arg(good, arg, v))
      }
    }
    for (arg in names(t$class)) {
      values <- t$class[[arg]]
      labels <- names(values) %||% character(length(values))
      for (j in seq_along(values)) {
        v <- values[[j]]
        label <- if (nzchar(labels[[j]])) labels[[j]]
                 else if (is.list(v)) paste("a", class(v)[[1]])
                 else deparse1(v)
        add(fn, paste0(arg, " = ", label), with_arg(good, arg, v))
      }
    }
  }

  # The good arguments run (so each case's error is due to its defect) ...
  for (fn in names(table)) {
    expect_no_error(suppressWarnings(do.call(fn, table[[fn]]$good)))
  }
  # ... and every bad one is rejected in R.
  with_no_compiled_code(
    for (case in cases) {
      expect_error(do.call(case$fn, case$args), class = "vaeconv_error_input",
                   info = case$label)
    }
  )
  # ... and the compiled code is back.
  expect_no_error(encode(fit, x[1:2, ]))
  expect_gt(length(cases), 400)
})
