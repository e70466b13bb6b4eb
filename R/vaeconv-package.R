#' @keywords internal
#' @useDynLib vaeconv, .registration = TRUE
#' @importFrom Rcpp sourceCpp
#' @importFrom RcppParallel RcppParallelLibs
#' @importFrom rlang .data
"_PACKAGE"
