// The ELBO E_q[log p(x|z)] - beta KL(q(z|x) || N(0, I)) with the
// expectation estimated by S reparameterised draws per data point and the
// KL in closed form, and its pathwise gradient, written against the parts.
#pragma once

#include <cstddef>

#include "model.hpp"

namespace vaeconv {

// The ELBO of each column of ws.x, its expectation estimated with the S
// draws in ws.eps. Returns the sums over the chunk; when grad is given, adds
// the gradient of -sum(ELBO) to it.
inline ChunkSums elbo(const Vae& model, const double* par, std::size_t S, double beta,
                      Workspace& ws, double* grad) {
  const std::size_t m = ws.x.n_cols;
  const Encoder& enc = model.encoder();
  enc.encode(par, ws);
  enc.sample(S, ws);
  model.decoder().forward(par, ws.z, ws);
  // ws.ll, and d(-rec)/d outputs with weights 1 / S
  model.likelihood().loglik(par, S, ws, grad);
  ChunkSums sums;
  for (std::size_t i = 0; i < m; ++i) {
    double rec = 0.0;
    for (std::size_t s = 0; s < S; ++s) rec += ws.ll[i * S + s];
    rec /= double(S);
    const double kl = enc.kl_column(ws, i);
    sums.reconstruction += rec;
    sums.kl += kl;
    sums.objective += rec - beta * kl;
  }
  if (grad == nullptr) return sums;

  model.decoder().backward(par, ws.z, ws, grad);  // ws.d_a now holds d/dz (dz x mS)
  EncoderGrad g;
  g.kl = true;
  g.beta = beta;
  enc.backward(par, S, g, ws, grad);
  return sums;
}

}  // namespace vaeconv
