# Input validation shared by the whole package.
#
# Every check runs in R before any compiled code. A failing check signals an
# error of class `vaeconv_error_input` (a subclass of `vaeconv_error`) whose
# message says which argument is wrong, what it must be, and what it got:
# "`batch_size` must be a positive whole number, not -3."
#
# Conventions: `arg` defaults to `rlang::caller_arg(x)`, so the message names
# the argument as the user's function calls it, and `call` defaults to
# `rlang::caller_env()`, so the error is reported as coming from the user's
# function. A helper that calls a check on behalf of its own caller passes
# both on. Checks return the validated value, normalised (a double, an
# integer, a double matrix, ...), so callers write `x <- check_*(x)`.

#' Signal an input error
#'
#' @param message A cli message (a character vector of bullets), interpolated
#'   in `.envir`.
#' @param arg The name of the offending argument, stored in the condition.
#' @param call The environment of the user-facing function.
#' @param ... Further fields of the condition.
#' @param .envir The environment in which `message` is interpolated.
#' @noRd
abort_input <- function(message, arg = NULL, call = rlang::caller_env(), ...,
                        .envir = parent.frame()) {
  cli::cli_abort(
    message,
    class = c("vaeconv_error_input", "vaeconv_error"),
    arg = arg,
    call = call,
    ...,
    .envir = .envir
  )
}

# Describing what an argument got --------------------------------------------

#' Format a number for a message
#' @noRd
format_num <- function(x) {
  format(x, digits = 7, trim = TRUE)
}

#' Describe a value for the "not ..." part of a message
#'
#' Plain text with backticks around code, e.g. "-3", "`NA`",
#' "the string \"a\"", "a character vector of length 2", "a <vae_elbo> object".
#' @noRd
describe_value <- function(x) {
  if (is.null(x)) {
    return("`NULL`")
  }
  if (is.function(x)) {
    return("a function")
  }
  if (is.factor(x)) {
    return("a factor")
  }
  if (is.data.frame(x)) {
    return("a data frame")
  }
  if (is.object(x)) {
    return(sprintf("a <%s> object", class(x)[[1]]))
  }
  if (is.atomic(x) && is.matrix(x)) {
    return(with_article(paste(type_word(x), "matrix")))
  }
  if (is.atomic(x)) {
    if (length(x) == 0) {
      return(sprintf("an empty %s vector", type_word(x)))
    }
    if (length(x) > 1) {
      return(sprintf("%s vector of length %d", with_article(type_word(x)), length(x)))
    }
    if (is.numeric(x) && is.nan(x)) {
      return("`NaN`")
    }
    if (is.na(x)) {
      return("`NA`")
    }
    if (is.logical(x)) {
      return(sprintf("`%s`", x))
    }
    if (is.numeric(x)) {
      return(if (is.infinite(x)) sprintf("`%s`", x) else format_num(x))
    }
    if (is.character(x)) {
      return(paste("the string", encodeString(x, quote = "\"")))
    }
    return(with_article(paste(type_word(x), "value")))
  }
  if (is.list(x)) {
    return("a list")
  }
  with_article(typeof(x))
}

type_word <- function(x) {
  switch(typeof(x), double = "numeric", typeof(x))
}

#' Describe the type of a data frame column, e.g. "a character vector"
#' @noRd
describe_column <- function(col) {
  if (is.factor(col)) {
    "a factor"
  } else if (!is.null(dim(col))) {
    "a matrix"
  } else if (is.object(col)) {
    sprintf("a <%s> vector", class(col)[[1]])
  } else if (is.atomic(col)) {
    paste(with_article(type_word(col)), "vector")
  } else {
    describe_value(col)
  }
}

with_article <- function(word) {
  article <- if (grepl("^[aeiou]", word)) "an" else "a"
  paste(article, word)
}

# Numbers ----------------------------------------------------------------------

#' Describe the set of allowed numbers, e.g. "a positive whole number",
#' "a number in [0, 1)", "`NULL` or a finite number at least 2".
#' @noRd
describe_range <- function(lower = -Inf, upper = Inf, lower_open = FALSE,
                           upper_open = FALSE, finite = TRUE, whole = FALSE,
                           allow_null = FALSE) {
  noun <- if (whole) "whole number" else "number"
  has_lower <- is.finite(lower)
  has_upper <- is.finite(upper)
  # "Finite" only adds information when a side is unbounded.
  finite <- finite && !whole && !(has_lower && has_upper)
  lo <- format_num(lower)
  hi <- format_num(upper)

  if (has_lower && !has_upper && lower == 0) {
    sign <- if (lower_open) "positive" else "non-negative"
    what <- paste(sign, noun)
    if (finite) what <- paste("finite", what)
  } else if (whole && has_lower && !has_upper && lower == 1 && !lower_open) {
    what <- paste("positive", noun)
  } else {
    what <- if (finite) paste("finite", noun) else noun
    if (has_lower && has_upper) {
      what <- if (!lower_open && !upper_open) {
        sprintf("%s between %s and %s", what, lo, hi)
      } else {
        sprintf("%s in %s%s, %s%s", what,
                if (lower_open) "(" else "[", lo, hi, if (upper_open) ")" else "]")
      }
    } else if (has_lower) {
      what <- paste(what, if (lower_open) "greater than" else "at least", lo)
    } else if (has_upper) {
      what <- paste(what, if (upper_open) "less than" else "at most", hi)
    }
  }
  what <- with_article(what)
  if (allow_null) paste("`NULL` or", what) else what
}

is_single_number <- function(x) {
  is.numeric(x) && !is.object(x) && length(x) == 1 && !is.na(x)
}

in_range <- function(x, lower, upper, lower_open, upper_open) {
  above <- if (lower_open) x > lower else x >= lower
  below <- if (upper_open) x < upper else x <= upper
  above && below
}

#' Check a single number
#'
#' @param x The value to check.
#' @param arg The argument's name, for the message.
#' @param lower,upper Bounds of the allowed interval.
#' @param lower_open,upper_open Whether the bounds are excluded.
#' @param allow_inf Whether `Inf` and `-Inf` are allowed (still subject to
#'   the bounds).
#' @param allow_null Whether `NULL` is allowed (and returned as `NULL`).
#' @param call The environment of the user-facing function.
#' @returns `x` as a double without attributes.
#' @noRd
check_number <- function(x, arg = rlang::caller_arg(x), lower = -Inf,
                         upper = Inf, lower_open = FALSE, upper_open = FALSE,
                         allow_inf = FALSE, allow_null = FALSE,
                         call = rlang::caller_env()) {
  if (allow_null && is.null(x)) {
    return(NULL)
  }
  ok <- is_single_number(x) &&
    (allow_inf || is.finite(x)) &&
    in_range(x, lower, upper, lower_open, upper_open)
  if (!ok) {
    what <- describe_range(lower, upper, lower_open, upper_open,
                           finite = !allow_inf, allow_null = allow_null)
    abort_input("{.arg {arg}} must be {what}, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  as.double(x)
}

#' Check a single whole number
#'
#' Accepts integers and doubles with no fractional part, e.g. `64` or `64L`.
#'
#' @inheritParams check_number
#' @param min,max The smallest and largest allowed values. Values above
#'   `.Machine$integer.max` are never allowed, as the result is an integer.
#' @returns `x` as an integer without attributes.
#' @noRd
check_whole <- function(x, arg = rlang::caller_arg(x), min = 1, max = Inf,
                        allow_null = FALSE, call = rlang::caller_env()) {
  if (allow_null && is.null(x)) {
    return(NULL)
  }
  limit <- base::min(max, .Machine$integer.max)
  ok <- is_single_number(x) && is.finite(x) && x == trunc(x) &&
    x >= min && x <= limit
  if (!ok) {
    # Mention the integer limit only when it is what was exceeded.
    if (is_single_number(x) && is.finite(x) && x > limit) max <- limit
    what <- describe_range(min, max, whole = TRUE, allow_null = allow_null)
    abort_input("{.arg {arg}} must be {what}, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  as.integer(x)
}

#' Check a vector of whole numbers (possibly empty)
#'
#' `NULL` and empty vectors give `integer(0)`.
#'
#' @inheritParams check_whole
#' @param what The description of an allowed value, for the message.
#' @returns `x` as an integer vector without attributes.
#' @noRd
check_whole_vector <- function(x, arg = rlang::caller_arg(x), min = 1,
                               what = "a vector of positive whole numbers",
                               call = rlang::caller_env()) {
  if (is.null(x) || (is.numeric(x) && !is.object(x) && length(x) == 0)) {
    return(integer(0))
  }
  if (!is.numeric(x) || is.object(x) || !is.null(dim(x))) {
    abort_input("{.arg {arg}} must be {what}, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  bad <- is.na(x) | !is.finite(x) | x != trunc(x) | x < min |
    x > .Machine$integer.max
  bad[is.na(bad)] <- TRUE
  abort_bad_element(x, bad, what, arg = arg, call = call)
  as.integer(x)
}

#' Abort naming the first element of `x` that `bad` flags, if any
#' @noRd
abort_bad_element <- function(x, bad, what, arg, call) {
  if (any(bad)) {
    i <- which(bad)[[1]]
    abort_input(
      c("{.arg {arg}} must be {what}.",
        x = "Element {i} is {describe_value(x[[i]])}."),
      arg = arg, call = call
    )
  }
  invisible()
}

#' Check a non-empty vector of finite numbers
#'
#' @param lower The smallest allowed value.
#' @param what The description of an allowed value, for the message.
#' @returns `x` as a double vector without attributes.
#' @noRd
check_number_vector <- function(x, arg = rlang::caller_arg(x), lower = -Inf,
                                what = "a vector of finite numbers",
                                call = rlang::caller_env()) {
  if (!is.numeric(x) || is.object(x) || !is.null(dim(x)) || length(x) == 0) {
    abort_input("{.arg {arg}} must be {what}, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  bad <- is.na(x) | !is.finite(x) | x < lower
  abort_bad_element(x, bad, what, arg = arg, call = call)
  as.double(x)
}

# Other scalars ------------------------------------------------------------------

#' Check that an argument was supplied
#'
#' @param info Optional cli bullets (named "i") added to the message.
#' @noRd
check_required <- function(x, arg = rlang::caller_arg(x), info = NULL,
                           call = rlang::caller_env()) {
  if (missing(x)) {
    abort_input(c("{.arg {arg}} must be supplied.", info),
                arg = arg, call = call)
  }
  invisible(TRUE)
}

#' Check a single `TRUE` or `FALSE`
#' @returns `x` without attributes.
#' @noRd
check_flag <- function(x, arg = rlang::caller_arg(x),
                       call = rlang::caller_env()) {
  if (!(is.logical(x) && length(x) == 1 && !is.na(x))) {
    abort_input("{.arg {arg}} must be `TRUE` or `FALSE`, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  as.logical(x)
}

#' The names of the core's choices
#'
#' The C++ core holds the names of its choices (models, likelihoods,
#' covariances, activations, objectives, estimators, K growths, optimisers)
#' once, in the header of the part that defines them; the validators read
#' them from there.
#'
#' @param what One of the names of `cpp_choices()`.
#' @returns A character vector.
#' @noRd
core_choices <- function(what) {
  if (is.null(the$choices)) the$choices <- cpp_choices()
  out <- the$choices[[what]]
  if (is.null(out)) stop("no choices named '", what, "' in the core", call. = FALSE)
  out
}

# The package's state: the core's choices, read once when first needed (or
# when the package is loaded).
the <- new.env(parent = emptyenv())

#' Check a string against a set of choices
#'
#' As with [match.arg()], `x` identical to `choices` (the usual default in a
#' signature, `estimator = c("reparam", "dreg")`) gives the first choice.
#' Matching is exact; a near miss is suggested in the message.
#'
#' @param choices A character vector of allowed values.
#' @returns The chosen string.
#' @noRd
check_choice <- function(x, choices, arg = rlang::caller_arg(x),
                         call = rlang::caller_env()) {
  if (identical(x, choices)) {
    return(choices[[1]])
  }
  ok <- is.character(x) && length(x) == 1 && !is.na(x) && x %in% choices
  if (!ok) {
    hint <- NULL
    if (is.character(x) && length(x) == 1 && !is.na(x)) {
      distance <- utils::adist(x, choices, ignore.case = TRUE)[1, ]
      if (min(distance) <= 2) {
        closest <- choices[[which.min(distance)]]
        hint <- c(i = "Did you mean {.val {closest}}?")
      }
    }
    abort_input(
      c("{.arg {arg}} must be one of {.or {.val {choices}}}, not {describe_value(x)}.",
        hint),
      arg = arg, call = call
    )
  }
  x
}

#' Check a seed: `NULL` or a whole number in [0, 2^31 - 1]
#' @returns `NULL` or an integer.
#' @noRd
check_seed <- function(x, arg = rlang::caller_arg(x),
                       call = rlang::caller_env()) {
  check_whole(x, arg, min = 0, max = .Machine$integer.max, allow_null = TRUE,
              call = call)
}

#' Check a thread count: `NULL` (the default, resolved elsewhere) or a
#' positive whole number
#' @returns `NULL` or an integer.
#' @noRd
check_n_threads <- function(x, arg = rlang::caller_arg(x),
                            call = rlang::caller_env()) {
  check_whole(x, arg, min = 1, allow_null = TRUE, call = call)
}

#' Check that an object is a specification of the given class
#'
#' @param class The S3 class `x` must inherit from.
#' @param what Plain-text description of the allowed objects, for the message.
#' @returns `x`, invisibly.
#' @noRd
check_spec <- function(x, class, what, arg = rlang::caller_arg(x),
                       call = rlang::caller_env()) {
  if (!inherits(x, class)) {
    abort_input("{.arg {arg}} must be {what}, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  invisible(x)
}

# Data -----------------------------------------------------------------------

#' Check data and convert it to a double matrix
#'
#' Accepts a numeric matrix or a data frame (or tibble) whose columns are all
#' double or integer vectors. Row names are dropped; column names are kept.
#'
#' @param min_rows The smallest allowed number of rows.
#' @param ncol `NULL`, or the required number of columns.
#' @param ncol_reason Plain text that says where `ncol` comes from, shown in
#'   parentheses in the message; `NULL` for none.
#' @returns A double matrix.
#' @noRd
check_data <- function(x, arg = rlang::caller_arg(x), min_rows = 1,
                       ncol = NULL,
                       ncol_reason = "as the data the model was fitted on",
                       call = rlang::caller_env()) {
  force(arg) # before `x` is replaced by its matrix
  what <- "a numeric matrix or a data frame of numeric columns"
  if (is.data.frame(x)) {
    numeric_col <- vapply(x, function(col) is.numeric(col) && is.null(dim(col)),
                          logical(1))
    if (!all(numeric_col)) {
      bad <- which(!numeric_col)
      col_names <- names(x)[bad]
      unnamed <- is.na(col_names) | col_names == ""
      col_names[unnamed] <- paste0("#", bad[unnamed])
      details <- sprintf("Column `%s` is %s.", col_names,
                         vapply(x[bad], describe_column, character(1)))
      if (length(details) > 5) {
        details <- c(details[1:5], sprintf("... and %d more.", length(details) - 5))
      }
      abort_input(
        c("{.arg {arg}} must have only numeric columns.",
          stats::setNames(cli_escape(details), rep("x", length(details)))),
        arg = arg, call = call
      )
    }
    x <- matrix(as.double(unlist(x, use.names = FALSE)), nrow = nrow(x),
                ncol = length(x), dimnames = list(NULL, names(x)))
  } else if (is.matrix(x) && is.numeric(x) && !is.object(x)) {
    # Only modify (and so copy) x when it needs it: a fit reads a double
    # matrix in place.
    if (!is.double(x)) storage.mode(x) <- "double"
    if (!is.null(rownames(x))) dimnames(x) <- list(NULL, colnames(x))
  } else {
    abort_input("{.arg {arg}} must be {what}, not {describe_value(x)}.",
                arg = arg, call = call)
  }
  if (is.null(colnames(x)) && !is.null(dimnames(x))) {
    dimnames(x) <- NULL
  }

  if (!is.null(ncol) && ncol(x) != ncol) {
    reason <- if (is.null(ncol_reason)) "" else paste0(" (", ncol_reason, ")")
    abort_input(
      "{.arg {arg}} must have {ncol} column{?s}{reason}, not {ncol(x)}.",
      arg = arg, call = call
    )
  }
  if (ncol(x) == 0) {
    abort_input("{.arg {arg}} must have at least one column, not 0.",
                arg = arg, call = call)
  }
  if (nrow(x) < min_rows) {
    abort_input(
      "{.arg {arg}} must have at least {min_rows} row{?s}, not {nrow(x)}.",
      arg = arg, call = call
    )
  }
  if (anyNA(x)) {
    abort_input(
      c("{.arg {arg}} must not contain missing values (`NA` or `NaN`).",
        x = locate_cells(is.na(x), "missing")),
      arg = arg, call = call
    )
  }
  # min() and max() allocate nothing; is.infinite() only on the error path.
  if (length(x) > 0 && (!is.finite(min(x)) || !is.finite(max(x)))) {
    abort_input(
      c("{.arg {arg}} must not contain infinite values.",
        x = locate_cells(is.infinite(x), "infinite")),
      arg = arg, call = call
    )
  }
  x
}

#' Say how many cells of a logical matrix are set and where the first is
#' (first by row, then by column), as an escaped cli string.
#' @param kind An adjective for the values, e.g. "missing".
#' @noRd
locate_cells <- function(where, kind) {
  cells <- which(where, arr.ind = TRUE)
  first <- cells[order(cells[, 1], cells[, 2])[[1]], ]
  column <- colnames(where)[first[[2]]]
  column <- if (is.null(column) || is.na(column) || column == "") {
    first[[2]]
  } else {
    sprintf("%d (`%s`)", first[[2]], column)
  }
  n <- nrow(cells)
  cli_escape(sprintf(
    "Found %d %s value%s; the first is in row %d, column %s.",
    n, kind, if (n == 1) "" else "s", first[[1]], column
  ))
}

#' Escape braces so that text is not interpolated by cli
#' @noRd
cli_escape <- function(x) {
  gsub("}", "}}", gsub("{", "{{", x, fixed = TRUE), fixed = TRUE)
}

#' Check new data for a fit: its columns matched to the fit's
#'
#' Checks `x` as [check_data()] does, then matches its columns to those of
#' the data the fit was made on. Where both the fit's data and `x` have
#' column names (unique ones), the columns are matched by name: `x`'s are
#' put in the fit's order, and an error names the columns missing from `x`
#' or not in the fit's data. Otherwise `x` must have as many columns.
#'
#' @param fit A `vae_fit` (or a list with `n_features` and `feature_names`).
#' @returns A double matrix whose columns are the fit's, in its order.
#' @noRd
check_new_data <- function(x, fit, arg = rlang::caller_arg(x), min_rows = 1,
                           call = rlang::caller_env()) {
  force(arg)
  x <- check_data(x, arg = arg, min_rows = min_rows, call = call)
  match_columns(x, fit$feature_names, fit$n_features, arg = arg, call = call,
                reason = "as the data the model was fitted on")
}

#' Match the columns of a checked matrix to expected names or a count
#'
#' @param names The expected column names, or `NULL` when they are unknown.
#' @param n The expected number of columns.
#' @param reason Plain text saying where the columns come from.
#' @returns `x`, its columns reordered to `names` when matched by name.
#' @noRd
match_columns <- function(x, names, n, arg, call, reason,
                          what = "the data the model was fitted on") {
  have <- colnames(x)
  by_name <- !is.null(names) && !is.null(have) && !anyDuplicated(names) &&
    !anyDuplicated(have) && !any(is.na(names) | names == "") &&
    !any(is.na(have) | have == "")
  if (!by_name) {
    if (ncol(x) != n) {
      abort_input(
        "{.arg {arg}} must have {n} column{?s} ({reason}), not {ncol(x)}.",
        arg = arg, call = call
      )
    }
    return(x)
  }
  if (identical(have, names)) return(x)
  missing <- setdiff(names, have)
  extra <- setdiff(have, names)
  if (length(missing) || length(extra)) {
    bullets <- c(
      if (length(missing)) c(x = "Missing: {shorten_names(missing)}."),
      if (length(extra)) c(x = "Not in {what}: {shorten_names(extra)}.")
    )
    abort_input(
      c("{.arg {arg}} must have the columns of {what}, matched by name.",
        bullets),
      arg = arg, call = call
    )
  }
  x[, names, drop = FALSE]
}

#' At most `max` names, back-quoted, then how many more
#' @noRd
shorten_names <- function(x, max = 5) {
  shown <- sprintf("`%s`", x[seq_len(min(length(x), max))])
  out <- paste(shown, collapse = ", ")
  if (length(x) > max) out <- paste0(out, " and ", length(x) - max, " more")
  out
}
