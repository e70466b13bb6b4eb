#' @keywords internal
#' @useDynLib vaeconv, .registration = TRUE
#' @importFrom Rcpp sourceCpp
#' @importFrom RcppParallel RcppParallelLibs
#' @importFrom rlang .data
#' @importFrom stats coef
"_PACKAGE"

.onLoad <- function(libname, pkgname) {
  # The names of the core's choices, read once (see core_choices()).
  the$choices <- cpp_choices()
}
