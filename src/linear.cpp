// Glue for the linear VAE's closed forms.
#include <RcppArmadillo.h>

#include "convert.h"
#include "threads.h"

// Mean over the rows of x of log N(x_i; mu, W W' + obs_sd^2 I).
// [[Rcpp::export(rng = false)]]
double cpp_ppca_loglik(const Rcpp::NumericMatrix& x, const Rcpp::NumericMatrix& W,
                       const Rcpp::NumericVector& mu, double obs_sd) {
  if (W.nrow() != x.ncol() || mu.size() != x.ncol())
    Rcpp::stop("W must have ncol(x) rows and mu ncol(x) elements");
  const arma::mat xt = vaeconv_glue::columns_of(x);
  const arma::mat Wm(const_cast<double*>(W.begin()), W.nrow(), W.ncol(), false, true);
  const arma::vec m(const_cast<double*>(mu.begin()), mu.size(), false, true);
  vaeconv_glue::BlasThreadsGuard blas;
  return vaeconv::ppca_loglik(xt, Wm, m, obs_sd);
}

// Sets the threads of the BLAS (OpenBLAS or FlexiBLAS, when loaded) to n and
// returns the previous setting, or -1 (and changes nothing) when the BLAS
// cannot say. R-side linear algebra that must not depend on the BLAS's
// thread count (ppca()) runs between two calls.
// [[Rcpp::export(rng = false)]]
int cpp_set_blas_threads(int n) { return vaeconv_glue::set_blas_threads(n); }
