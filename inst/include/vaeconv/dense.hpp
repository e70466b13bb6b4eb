// Batched forward and backward passes of dense layers over a chunk of
// columns (one column per sample): matrix-matrix products, no per-sample loop.
#pragma once

#include <armadillo>

#include "layout.hpp"

namespace vaeconv {

// Read-only and writable views of parameter blocks (no copy).
inline const arma::mat weight_view(const double* par, const Dense& L) {
  return arma::mat(const_cast<double*>(par + L.w), L.out, L.in, false, true);
}
inline const arma::vec bias_view(const double* par, const Dense& L) {
  return arma::vec(const_cast<double*>(par + L.b), L.out, false, true);
}

// out = W in + b
inline void dense_forward(const double* par, const Dense& L,
                          const arma::mat& in, arma::mat& out) {
  const arma::mat W = weight_view(par, L);
  out.set_size(L.out, in.n_cols);
  out = W * in;
  out.each_col() += bias_view(par, L);
}

// Accumulates dW += dout in', db += rowsums(dout) into grad and, when din is
// given, sets din = W' dout.
inline void dense_backward(const double* par, const Dense& L,
                           const arma::mat& in, const arma::mat& dout,
                           double* grad, arma::mat* din) {
  arma::mat dW(grad + L.w, L.out, L.in, false, true);
  arma::vec db(grad + L.b, L.out, false, true);
  dW += dout * in.t();
  db += arma::sum(dout, 1);
  if (din != nullptr) {
    const arma::mat W = weight_view(par, L);
    din->set_size(L.in, dout.n_cols);
    *din = W.t() * dout;
  }
}

}  // namespace vaeconv
