// Diagnostics of a fitted model: the importance-sampled log-likelihood of
// data rows and independent draws of the minibatch gradient (for its
// signal-to-noise ratio).
#pragma once

#include <armadillo>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "engine.hpp"
#include "iwae.hpp"
#include "model.hpp"
#include "objective.hpp"
#include "rng.hpp"

namespace vaeconv {

// log p(x_i) for every column x_i of xt by importance sampling with q(z|x_i)
// as the proposal and L draws: est[i] = log (1/L) sum_s w_is. var[i] is the
// delta-method variance of est[i], var(w) / (L mean(w)^2) with the sample
// variance of the weights, which in normalised weights is
// (L sum_s wbar_s^2 - 1) / (L - 1). The draws of row i are keyed by
// (Stream::estimate, iteration 0, sample i * L + s), so the result does not
// depend on the thread count or on the other rows.
inline void log_likelihood_rows(const GaussianVae& model, const double* par,
                                const arma::mat& xt, std::size_t L, const KeyedRng& rng,
                                Parallel& parallel, double* est, double* var) {
  const std::size_t n = xt.n_cols, dz = model.spec().dz;
  // Rows per task: about 4096 draws, at least one row.
  const std::size_t rows = std::max<std::size_t>(1, 4096 / L);
  const std::size_t n_tasks = (n + rows - 1) / rows;
  const std::size_t per_round = Engine::chunks_per_round;
  std::vector<Workspace> wss(per_round);
  for (std::size_t first = 0; first < n_tasks; first += per_round) {
    const std::size_t round = std::min(per_round, n_tasks - first);
    parallel.run(round, [&](std::size_t k) {
      const std::size_t begin = (first + k) * rows;
      const std::size_t m = std::min(rows, n - begin);
      Workspace& ws = wss[k];
      ws.x = xt.cols(begin, begin + m - 1);
      ws.eps.set_size(dz, m * L);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t s = 0; s < L; ++s)
          rng.normals(Stream::estimate, 0, std::uint64_t(begin + i) * L + s,
                      ws.eps.colptr(i * L + s), dz);
      model.encode(par, ws);
      model.sample_z(L, ws);
      model.decode(par, ws.z, ws);
      log_weights(model, par, L, ws);
      ws.wbar.set_size(m * L);
      for (std::size_t i = 0; i < m; ++i) {
        double* wb = ws.wbar.memptr() + i * L;
        est[begin + i] = vr_bound(ws.lw.memptr() + i * L, L, 0.0, wb);
        double s2 = 0.0;
        for (std::size_t s = 0; s < L; ++s) s2 += wb[s] * wb[s];
        var[begin + i] = L > 1 ? (double(L) * s2 - 1.0) / double(L - 1) : NAN;
      }
    });
  }
}

// `draws` independent minibatch gradients of the mean objective (to be
// maximised) at par, the columns of out (p x draws). Draw d takes the first
// B entries of a permutation of the rows keyed by (Stream::estimate_batch, d)
// and the objective's K draws per row keyed by (Stream::estimate, d + 1,
// minibatch slot), so the draws are independent, reproducible and free of the
// thread count.
inline void gradient_draws(const GaussianVae& model, const ObjectiveSpec& obj,
                           const double* par, const arma::mat& xt, std::size_t B,
                           std::size_t K, std::size_t draws, const KeyedRng& rng,
                           Parallel& parallel, std::size_t chunk_rows, arma::mat& out) {
  const std::size_t n = xt.n_cols, p = model.n_params();
  Engine engine(model, obj, xt, rng, parallel, chunk_rows);
  std::vector<std::uint32_t> perm(n);
  out.set_size(p, draws);
  for (std::size_t d = 0; d < draws; ++d) {
    rng.permutation(Stream::estimate_batch, d, perm.data(), n);
    double* g = out.colptr(d);
    std::fill(g, g + p, 0.0);
    engine.run(par, perm.data(), B, K, 1, Stream::estimate, d + 1, NoiseKey::position, g);
    for (std::size_t i = 0; i < p; ++i) g[i] *= -1.0 / double(B);
  }
}

}  // namespace vaeconv
