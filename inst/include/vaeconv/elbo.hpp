// The ELBO E_q[log p(x|z)] - beta KL(q(z|x) || N(0, I)) with the
// expectation estimated by S reparameterised draws per data point and the
// KL in closed form, and its gradient, written against the parts: the
// decoder's pathwise; the encoder's pathwise, or by the score function
// E_q[(log p(x|z) - b) grad log q(z|x)] with b the leave-one-out mean of
// log p(x|z) over the other draws of the row (none with one draw).
#pragma once

#include <cstddef>

#include "iwae.hpp"
#include "model.hpp"

namespace vaeconv {

// The ELBO of each column of ws.x, its expectation estimated with the
// S = K * samples draws in ws.eps (the score function's baseline taken over
// groups of K). Returns the sums over the chunk (and those over each unit
// in ws.unit_sums); when grad is given, adds the gradient of -sum(ELBO) to
// it, unit by unit.
inline ChunkSums elbo(const Vae& model, const double* par, std::size_t K, std::size_t samples,
                      double beta, Estimator estimator, Workspace& ws, double* grad) {
  const std::size_t m = ws.x.n_cols, S = K * samples;
  const Encoder& enc = model.encoder();
  enc.encode(par, ws);
  enc.sample(S, ws);
  model.decoder().forward(par, ws.z, ws);
  // ws.ll, and d(-rec)/d outputs with weights 1 / S
  model.likelihood().loglik(par, S, ws, grad);
  const ChunkSums sums = sum_units(m, ws.unit, ws.unit_sums, [&](std::size_t b, std::size_t e) {
    ChunkSums u;
    for (std::size_t i = b; i < e; ++i) {
      double rec = 0.0;
      for (std::size_t s = 0; s < S; ++s) rec += ws.ll[i * S + s];
      rec /= double(S);
      const double kl = enc.kl_column(ws, i);
      u.reconstruction += rec;
      u.kl += kl;
      u.objective += rec - beta * kl;
    }
    return u;
  });
  if (grad == nullptr) return sums;

  model.decoder().backward(par, ws.z, ws, grad);  // ws.d_a now holds d/dz (dz x mS)
  EncoderGrad g;
  g.kl = true;
  g.beta = beta;
  if (estimator == Estimator::score) {
    // d(-ELBO) through log q: -(ll_c - b_c) / S per draw
    const std::size_t n = m * S;
    ws.w_logq.set_size(n);
    for (std::size_t grp = 0; grp < m * samples; ++grp) {
      const double* ll = ws.ll.memptr() + grp * K;
      double total = 0.0;
      for (std::size_t k = 0; k < K; ++k) total += ll[k];
      for (std::size_t k = 0; k < K; ++k) {
        const double b = K > 1 ? (total - ll[k]) / double(K - 1) : 0.0;
        ws.w_logq[grp * K + k] = -(ll[k] - b) / double(S);
      }
    }
    g.path = false;
    g.g = ws.w_logq.memptr();
  }
  enc.backward(par, S, g, ws, grad);
  return sums;
}

}  // namespace vaeconv
