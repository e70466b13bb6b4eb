// Batched forward and backward passes of dense layers over a chunk of
// columns (one column per sample): one matrix product (gemm.hpp) per step, no
// temporaries, no per-sample loop.
#pragma once

#include <armadillo>
#include <cstddef>
#include <string>

#include "activation.hpp"
#include "chunk.hpp"
#include "gemm.hpp"
#include "layout.hpp"

namespace vaeconv {

// A dense layer's weight (out x in, initialised at random) and bias blocks,
// added to the layout.
inline Dense dense_block(Layout& layout, const std::string& wname, const std::string& bname,
                         std::size_t in, std::size_t out, Group g) {
  Dense d;
  d.in = in;
  d.out = out;
  d.w = layout.add(wname, out, in, g, true);
  d.b = layout.add(bname, out, 1, g);
  return d;
}

// out = W in + b: out starts as the bias in every column and the product is
// added to it (beta = 1 spares the BLAS a pass that zeroes out).
inline void dense_forward(const double* par, const Dense& L, const arma::mat& in,
                          arma::mat& out) {
  const std::size_t n = in.n_cols;
  out.set_size(L.out, n);
  gemm_bias(false, false, L.out, n, L.in, par + L.w, L.out, in.memptr(), L.in, par + L.b,
            out.memptr(), L.out);
}

// out = W in + b and out2 = W2 in + b2 for two layers of the same shape
// (an encoder's two heads): one pass of the products for both when they
// have at most 8 outputs (gemm_pair()), the same bits as two
// dense_forward() calls.
inline void dense_forward_pair(const double* par, const Dense& L, const Dense& L2,
                               const arma::mat& in, arma::mat& out, arma::mat& out2) {
  const std::size_t n = in.n_cols;
  out.set_size(L.out, n);
  out2.set_size(L2.out, n);
  gemm_pair(false, L.out, n, L.in, par + L.w, par + L2.w, L.out, in.memptr(), L.in,
            out.memptr(), out2.memptr(), L.out, par + L.b, par + L2.b);
}

// pre = W in + b and act = f(pre).
inline void dense_forward(const double* par, const Dense& L, const arma::mat& in,
                          arma::mat& pre, arma::mat& act, const Activation& f) {
  dense_forward(par, L, in, pre);
  act.set_size(pre.n_rows, pre.n_cols);
  f.apply(pre.memptr(), act.memptr(), pre.n_elem);
}

// Accumulates dW += dout in', db += rowsums(dout) into grad, one unit of
// `unit` columns at a time (for_units()), and, when din is given, sets
// din = W' dout (adds it to din, already sized, with add_din).
inline void dense_backward(const double* par, const Dense& L, const arma::mat& in,
                           const arma::mat& dout, double* grad, arma::mat* din,
                           bool add_din = false, std::size_t unit = 0) {
  const std::size_t n = dout.n_cols;
  for_units(n, unit, [&](std::size_t b, std::size_t e) {
    const double* d = dout.memptr() + b * L.out;
    gemm(false, true, L.out, L.in, e - b, 1.0, d, L.out, in.memptr() + b * L.in, L.in, 1.0,
         grad + L.w, L.out);
    vmath::add_row_sums(d, L.out, e - b, grad + L.b);
  });
  if (din != nullptr) {
    if (!add_din) din->set_size(L.in, n);
    gemm(true, false, L.in, n, L.out, 1.0, par + L.w, L.out, dout.memptr(), L.out,
         add_din ? 1.0 : 0.0, din->memptr(), L.in);
  }
}

// dense_backward() of two layers of the same shape with the same input (an
// encoder's two heads), din = W' dout + W2' dout2: their weight gradients
// in one pass of the products (gemm_pair()), the same bits.
inline void dense_backward_pair(const double* par, const Dense& L, const Dense& L2,
                                const arma::mat& in, const arma::mat& dout,
                                const arma::mat& dout2, double* grad, arma::mat* din,
                                std::size_t unit = 0) {
  const std::size_t n = dout.n_cols;
  for_units(n, unit, [&](std::size_t b, std::size_t e) {
    const double* d = dout.memptr() + b * L.out;
    const double* d2 = dout2.memptr() + b * L2.out;
    gemm_pair(true, L.out, L.in, e - b, d, d2, L.out, in.memptr() + b * L.in, L.in,
              grad + L.w, grad + L2.w, L.out);
    vmath::add_row_sums(d, L.out, e - b, grad + L.b);
    vmath::add_row_sums(d2, L2.out, e - b, grad + L2.b);
  });
  if (din != nullptr) {
    din->set_size(L.in, n);
    gemm(true, false, L.in, n, L.out, 1.0, par + L.w, L.out, dout.memptr(), L.out, 0.0,
         din->memptr(), L.in);
    gemm(true, false, L2.in, n, L2.out, 1.0, par + L2.w, L2.out, dout2.memptr(), L2.out, 1.0,
         din->memptr(), L2.in);
  }
}

}  // namespace vaeconv
