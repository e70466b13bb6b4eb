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
