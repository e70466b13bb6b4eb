// The linear VAE's closed forms: the ELBO with the expectation over q taken
// exactly (no sampling) and its gradient, and the exact log-likelihood of
// probabilistic PCA, N(mu, W W' + c^2 I).
//
// Model: p(x|z) = N(W z + mu, c^2 I), q(z|x) = N(m, diag(tau^2)) with
// m = V x + b and tau^2 = exp(log_tau2) free of x. For a data column x, with
// r = x - W m - mu and w_j = ||W_.j||^2,
//   E_q ||x - W z - mu||^2 = ||r||^2 + sum_j tau_j^2 w_j,
//   ELBO = -(d/2) log(2 pi c^2) - (||r||^2 + sum_j tau_j^2 w_j) / (2 c^2)
//          - (beta/2) sum_j (tau_j^2 + m_j^2 - 1 - log tau_j^2).
// Gradient of N = -ELBO (per column):
//   dN/dmu = -r / c^2,   dN/dW = (-r m' + W diag(tau^2)) / c^2,
//   dN/dm = -W' r / c^2 + beta m,   dN/dV = dN/dm x',   dN/db = dN/dm,
//   dN/dlog_tau2_j = tau_j^2 (w_j / c^2 + beta) / 2 - beta / 2,
//   dN/dlog c = d - (||r||^2 + sum_j tau_j^2 w_j) / c^2.
#pragma once

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "data.hpp"
#include "model.hpp"

namespace vaeconv {

// The offset of a named parameter block.
inline std::size_t block_offset(const Layout& layout, const std::string& name) {
  for (const Block& b : layout.blocks())
    if (b.name == name) return b.offset;
  throw std::invalid_argument("no parameter block '" + name + "'");
}

// The decoder of a linear VAE read from the flat parameter vector.
struct LinearDecoder {
  arma::mat W;  // dx x dz
  arma::vec mu;  // dx
  double c = 1.0;
};

inline LinearDecoder linear_decoder(const Vae& model, const double* par) {
  const ModelSpec& s = model.spec();
  if (!s.linear()) throw std::invalid_argument("not a linear VAE");
  const Layout& l = model.layout();
  LinearDecoder d;
  d.W = arma::mat(par + block_offset(l, "W"), s.dx, s.dz);
  d.mu = arma::vec(par + block_offset(l, "mu"), s.dx);
  d.c = model.likelihood().obs_sd(par);
  return d;
}

// The ELBO of each column of ws.x with the expectation over q in closed form
// (see the top of this file). Returns the sums over the chunk; when grad is
// given, adds the gradient of -sum(ELBO) to it. ws.eps is not used.
inline ChunkSums linear_elbo_exact(const Vae& model, const double* par,
                                   double beta, Workspace& ws, double* grad) {
  const ModelSpec& s = model.spec();
  if (!s.linear()) throw std::invalid_argument("the exact ELBO needs a linear VAE");
  const std::size_t m = ws.x.n_cols, dx = s.dx, dz = s.dz;
  model.encode(par, ws);  // ws.mu = V x + b, ws.var = tau^2, ws.u = log tau^2
  ws.z = ws.mu;           // the decoder's input: the mean of q
  model.decode(par, ws.z, ws);  // ws.xhat = W m + mu
  const double c = model.likelihood().obs_sd(par), c2 = c * c;
  const double log_norm = model.likelihood().log_norm(par);
  const arma::mat W(const_cast<double*>(par + block_offset(model.layout(), "W")), dx,
                    dz, false, true);
  const arma::rowvec w = arma::sum(arma::square(W), 0);  // ||W_.j||^2
  double trace_term = 0.0;  // sum_j tau_j^2 w_j, the same for every column
  for (std::size_t j = 0; j < dz; ++j) trace_term += ws.var(j, 0) * w[j];

  ws.rss.set_size(m);
  ChunkSums sums;
  for (std::size_t i = 0; i < m; ++i) {
    const double* xi = ws.x.colptr(i);
    const double* xh = ws.xhat.colptr(i);
    double r2 = 0.0;
    for (std::size_t k = 0; k < dx; ++k) {
      const double d = xi[k] - xh[k];
      r2 += d * d;
    }
    ws.rss[i] = r2;
    const double rec = log_norm - 0.5 * (r2 + trace_term) / c2;
    const double kl = model.encoder().kl_column(ws, i);
    sums.reconstruction += rec;
    sums.kl += kl;
    sums.objective += rec - beta * kl;
  }
  if (grad == nullptr) return sums;

  // Decoder: d/d xhat = (xhat - x) / c^2 = -r / c^2 through the dense layer
  // (dW += d_a m', dmu += rowsums(d_a)); ws.d_a becomes W' d_a = dN/dm - beta m.
  ws.d_a = (ws.xhat - ws.x) / c2;
  model.decoder().backward(par, ws.z, ws, grad);
  arma::mat dW(grad + block_offset(model.layout(), "W"), dx, dz, false, true);
  dW += W * arma::diagmat(ws.var.col(0)) * (double(m) / c2);
  if (s.learn_obs_sd) {
    const double total = arma::accu(ws.rss) + double(m) * trace_term;
    grad[block_offset(model.layout(), "log_obs_sd")] += double(m) * double(dx) - total / c2;
  }
  // Encoder: the mean head V, b and the log variances.
  ws.d_mu = ws.d_a + beta * ws.mu;
  ws.d_u.set_size(dz, m);
  for (std::size_t j = 0; j < dz; ++j) {
    const double t2 = ws.var(j, 0);
    const double g = 0.5 * t2 * (w[j] / c2 + beta) - 0.5 * beta;
    for (std::size_t i = 0; i < m; ++i) ws.d_u(j, i) = g;
  }
  model.encoder().backward_params(par, ws, grad);
  return sums;
}

// Mean over the observations x of log N(x; mu, W W' + c^2 I), by the
// determinant lemma and Woodbury with M = W'W + c^2 I = L L':
//   log det(W W' + c^2 I) = (dx - dz) log c^2 + 2 sum log diag(L),
//   r' (W W' + c^2 I)^-1 r = ||r - W a||^2 / c^2 + ||a||^2,  a = M^-1 W' r,
// a sum of two non-negative terms (no cancellation however small c is).
// Columns are handled in blocks, so no copy of the data is made.
inline double ppca_loglik(const DataView& x, const arma::mat& W, const arma::vec& mu,
                          double c) {
  const std::size_t dx = x.d(), n = x.n(), dz = W.n_cols;
  if (W.n_rows != dx || mu.n_elem != dx) throw std::invalid_argument("dimensions differ");
  if (n == 0 || !(c > 0.0)) return NAN;
  const double c2 = c * c;
  arma::mat M = W.t() * W;
  M.diag() += c2;
  arma::mat L;
  if (!arma::chol(L, M, "lower")) return NAN;
  const double log_det =
      double(dx - dz) * std::log(c2) + 2.0 * arma::accu(arma::log(L.diag()));
  const std::size_t block = 256;
  arma::mat R, A;
  double quad = 0.0;
  for (std::size_t first = 0; first < n; first += block) {
    const std::size_t last = std::min(n, first + block) - 1;
    R.set_size(dx, last - first + 1);
    x.columns(first, last - first + 1, R.memptr());
    R.each_col() -= mu;
    A = arma::solve(arma::trimatu(L.t()), arma::solve(arma::trimatl(L), W.t() * R));
    quad += arma::accu(arma::square(A));
    R -= W * A;
    quad += arma::accu(arma::square(R)) / c2;
  }
  return -0.5 * (double(dx) * log_2pi + log_det) - 0.5 * quad / double(n);
}

// The exact log-likelihood (mean over the observations) of a linear VAE.
inline double linear_loglik(const Vae& model, const double* par,
                            const DataView& x) {
  const LinearDecoder d = linear_decoder(model, par);
  return ppca_loglik(x, d.W, d.mu, d.c);
}

}  // namespace vaeconv
