#' @keywords internal
#' @useDynLib vaeconv, .registration = TRUE
#' @importFrom Rcpp sourceCpp
#' @importFrom RcppParallel RcppParallelLibs
#' @importFrom rlang .data
#' @importFrom stats coef
"_PACKAGE"
