// The importance weighted bound (IWAE, Burda et al. 2016) and its Renyi
// generalisation (VR-IWAE, Daudel et al. 2023) with K draws per data point,
// their pathwise gradient and the doubly reparameterised encoder gradient
// (DReG, Tucker et al. 2019).
//
// For a data column x and draws z_k = mu + sd * eps_k, k = 1..K, from
// q(z | x) = N(mu, diag(sd^2)), the log weights are
//   log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x)
//           = log p(x | z_k) - ||z_k||^2 / 2 + sum_j log sd_j + ||eps_k||^2 / 2
// (the -dz/2 log(2 pi) of the prior and of q cancel). With a_k = (1 - alpha)
// log w_k, the bound and its normalised weights are
//   L = (log sum_k exp(a_k) - log K) / (1 - alpha),  wbar_k = softmax(a)_k,
// alpha = 0 giving the IWAE bound log (1/K) sum_k w_k.
//
// Pathwise gradient: grad L = sum_k wbar_k d log w_k, the total derivative
// through z_k = mu + sd * eps_k. With g_k = d log p(x | z) / dz at z_k,
//   d log w_k / d mu = g_k - z_k,   d log w_k / d sd = (g_k - z_k) eps_k + 1 / sd.
//
// DReG (encoder only): the part of the encoder gradient that comes from
// log q's own dependence on phi (the score term, zero in expectation for a
// single draw but not once multiplied by wbar_k) is replaced by its
// reparameterised equivalent. For alpha in [0, 1),
//   E[sum_k wbar_k d_phi log q(z_k) |z fixed] = E[sum_k d wbar_k / d z_k dz_k/dphi],
//   d wbar_k / d z_k = (1 - alpha) wbar_k (1 - wbar_k) d log w_k / d z_k,
// so the encoder gradient becomes
//   sum_k (alpha wbar_k + (1 - alpha) wbar_k^2) (d log w_k / d z_k) dz_k / dphi
// with d log w_k / d z_k = g_k - z_k + eps_k / sd the partial derivative at
// fixed q parameters. alpha = 0 is Tucker et al.'s wbar_k^2 estimator; the
// form for alpha > 0 is Daudel et al. (2023)'s. The decoder gradient is the
// pathwise one in both cases.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "libm.hpp"
#include "model.hpp"

namespace vaeconv {

enum class Estimator { reparam, dreg, score };

inline const std::vector<std::string>& estimator_names() {
  static const std::vector<std::string> names{"reparam", "dreg", "score"};
  return names;
}

inline Estimator estimator_kind(const std::string& name) {
  const auto& n = estimator_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return Estimator(i);
  throw std::invalid_argument("unknown gradient estimator '" + name + "'");
}

// log w for every draw c = i * S + s of the chunk (after encode, sample and
// decode): log p(x | z) + log p(z) - log q(z | x) with the dz/2 log(2 pi)
// of the prior and of q cancelled; fills ws.lw (and ws.ll). With keep, the
// likelihood keeps what its gradient() on these draws reuses.
inline void log_weights(const Vae& model, const double* par, std::size_t S, Workspace& ws,
                        bool keep = false) {
  const std::size_t m = ws.x.n_cols, dz = model.spec().dz;
  model.likelihood().loglik(par, S, ws, nullptr, keep);
  ws.lw.set_size(m * S);
  for (std::size_t i = 0; i < m; ++i) {
    const double log_sd = model.encoder().log_det_factor(ws, i);
    for (std::size_t s = 0; s < S; ++s) {
      const std::size_t col = i * S + s;
      const double* z = ws.z.colptr(col);
      const double* e = ws.eps.colptr(col);
      double zz = 0.0, ee = 0.0;
      for (std::size_t j = 0; j < dz; ++j) {
        zz += z[j] * z[j];
        ee += e[j] * e[j];
      }
      ws.lw[col] = ws.ll[col] - 0.5 * zz + 0.5 * ee + log_sd;
    }
  }
}

// The VR bound (log sum_k exp((1 - alpha) lw_k) - log K) / (1 - alpha) of K
// log weights, by a stable log-sum-exp, and the normalised weights
// wbar_k = softmax((1 - alpha) lw)_k. NaN weights if the maximum is not finite.
inline double vr_bound(const double* lw, std::size_t K, double alpha, double* wbar) {
  const double a = 1.0 - alpha;
  double mx = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < K; ++k) mx = std::max(mx, a * lw[k]);
  if (!std::isfinite(mx)) {
    for (std::size_t k = 0; k < K; ++k) wbar[k] = std::numeric_limits<double>::quiet_NaN();
    return std::isnan(mx) ? mx : mx / a;
  }
  for (std::size_t k = 0; k < K; ++k) wbar[k] = a * lw[k] - mx;
  libm::exp(wbar, wbar, K);  // std::exp, its bits
  double sum = 0.0;
  for (std::size_t k = 0; k < K; ++k) sum += wbar[k];
  for (std::size_t k = 0; k < K; ++k) wbar[k] /= sum;
  return (mx + std::log(sum) - std::log(double(K))) / a;
}

// The VR-IWAE bound of each column of ws.x, averaged over `samples`
// independent replicates of its K draws (noise in ws.eps, column
// i * K * samples + r * K + k). Returns the sums over the chunk (the
// reconstruction and KL parts are NaN: the bound has none), and those over
// each unit in ws.unit_sums; when grad is given, adds the gradient of minus
// the summed bound to it, unit by unit.
inline ChunkSums vr_iwae(const Vae& model, const double* par, std::size_t K,
                         std::size_t samples, double alpha, Estimator estimator,
                         Workspace& ws, double* grad) {
  const std::size_t m = ws.x.n_cols, S = K * samples;
  const Encoder& enc = model.encoder();
  enc.encode(par, ws);
  enc.sample(S, ws);
  model.decoder().forward(par, ws.z, ws);
  log_weights(model, par, S, ws, grad != nullptr);  // values once, for the gradient too
  ws.wbar.set_size(m * S);
  const ChunkSums sums = sum_units(m, ws.unit, ws.unit_sums, [&](std::size_t b, std::size_t e) {
    ChunkSums u;
    u.reconstruction = u.kl = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t g = b * samples; g < e * samples; ++g)
      u.objective += vr_bound(ws.lw.memptr() + g * K, K, alpha, ws.wbar.memptr() + g * K);
    u.objective /= double(samples);
    return u;
  });
  if (grad == nullptr) return sums;

  // v_c = wbar_c / samples weighs d log w_c.
  const double inv_r = 1.0 / double(samples);
  const std::size_t n = m * S;
  ws.w_prior.set_size(n);
  double* v = ws.w_prior.memptr();
  for (std::size_t c = 0; c < n; ++c) v[c] = ws.wbar[c] * inv_r;
  model.likelihood().gradient(par, S, ws, v, grad);
  model.decoder().backward(par, ws.z, ws, grad);  // ws.d_a = -v_c g_c (dz x mS)

  EncoderGrad eg;
  if (estimator == Estimator::score) {
    // VIMCO (Mnih & Rezende 2016): the score of each draw times its learning
    // signal L - L_{-k}, L_{-k} the bound with log w_k replaced by the mean
    // of the row's other log weights (0 when K = 1), minus wbar_k from
    // log w_k's own dependence on q at fixed z.
    ws.w_logq.set_size(n);
    ws.w_dec.set_size(2 * K);
    double* tmp = ws.w_dec.memptr();
    for (std::size_t grp = 0; grp < m * samples; ++grp) {
      const double* lw = ws.lw.memptr() + grp * K;
      const double* wb = ws.wbar.memptr() + grp * K;
      double total = 0.0;
      for (std::size_t k = 0; k < K; ++k) total += lw[k];
      const double L = vr_bound(lw, K, alpha, tmp + K);
      for (std::size_t k = 0; k < K; ++k) {
        double L_k = 0.0;
        if (K > 1) {
          std::copy(lw, lw + K, tmp);
          tmp[k] = (total - lw[k]) / double(K - 1);
          L_k = vr_bound(tmp, K, alpha, tmp + K);
        }
        ws.w_logq[grp * K + k] = -((L - L_k) - wb[k]) * inv_r;
      }
    }
    eg.path = false;
    eg.g = ws.w_logq.memptr();
  } else if (estimator == Estimator::reparam) {
    // -v (g - z) in z, and -v / sd from log q's sum_j log sd_j
    eg.b = v;
    eg.f = v;
  } else {
    // -u (g - z + eps / sd) = r (-v g) + u z - u eps / sd, u = r v,
    // r = alpha + (1 - alpha) wbar
    ws.w_dec.set_size(n);
    ws.w_logq.set_size(n);
    for (std::size_t c = 0; c < n; ++c) {
      const double r = alpha + (1.0 - alpha) * ws.wbar[c];
      ws.w_dec[c] = r;
      ws.w_logq[c] = r * v[c];
    }
    eg.a = ws.w_dec.memptr();
    eg.b = ws.w_logq.memptr();
    eg.e = ws.w_logq.memptr();
  }
  enc.backward(par, S, eg, ws, grad);
  return sums;
}

}  // namespace vaeconv
