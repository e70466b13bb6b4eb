// The training loop: minibatches without replacement per epoch, one
// optimiser step per iteration, and the trajectory of what a statistician
// needs to study the optimisation.
#pragma once

#include <armadillo>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "engine.hpp"
#include "linear.hpp"
#include "model.hpp"
#include "objective.hpp"
#include "optimizer.hpp"
#include "rng.hpp"

namespace vaeconv {

// Progress and interruption; implemented by the glue.
class Monitor {
 public:
  virtual ~Monitor() = default;
  virtual void progress(std::uint64_t done, std::uint64_t total) {}
  virtual bool stop_requested() { return false; }
};

struct TrainSpec {
  std::size_t batch_size = 64;
  std::uint64_t iterations = 1000;
  std::uint64_t record_every = 1;
  std::uint64_t eval_every = 0;  // 0: never
  std::size_t eval_samples = 1;
  std::size_t chunk_rows = 32;
  double loglik_optimum = NAN;  // linear VAE: the pPCA optimum's log-likelihood
};

// Everything needed to continue a fit.
struct TrainState {
  arma::vec par, par0;
  OptimizerState opt;
  std::uint64_t iteration = 0;  // iterations done so far
  double seconds = 0.0;         // time spent in them
};

struct Trajectory {
  std::vector<double> iteration, objective, reconstruction, kl, grad_norm_sq,
      grad_norm_sq_theta, grad_norm_sq_phi, lr, seconds, weight_change,
      full_objective, full_grad_norm_sq, full_loglik, loglik_gap;
};

enum class Status { completed, diverged, interrupted };

struct TrainResult {
  Status status = Status::completed;
  std::uint64_t last_iteration = 0;  // the iteration that diverged or was interrupted
  Trajectory trajectory;
};

inline double sum_sq(const double* x, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}

inline TrainResult train(const GaussianVae& model, const ObjectiveSpec& obj,
                         const OptimizerSpec& opt, const TrainSpec& spec,
                         const arma::mat& xt, std::uint64_t seed, TrainState& st,
                         Parallel& parallel, Monitor& monitor) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const std::size_t n = xt.n_cols, B = spec.batch_size, p = model.n_params(),
                    pt = model.n_theta();
  const std::uint64_t per_epoch = n / B;
  if (obj.exact && !model.spec().linear)
    throw std::invalid_argument("the exact ELBO needs a linear VAE");
  const KeyedRng rng(seed);
  Engine engine(model, obj, xt, rng, parallel, spec.chunk_rows);
  std::vector<std::uint32_t> perm(n), all(n);
  std::iota(all.begin(), all.end(), 0u);
  std::uint64_t epoch = UINT64_MAX;
  arma::vec grad(p), full_grad(p);
  const double norm0 = std::sqrt(sum_sq(st.par0.memptr(), p));

  TrainResult res;
  Trajectory& tr = res.trajectory;
  for (std::uint64_t t = 0; t < spec.iterations; ++t) {
    const std::uint64_t it = st.iteration + 1;
    const std::uint64_t e = (it - 1) / per_epoch;
    if (e != epoch) {
      rng.permutation(Stream::permutation, e, perm.data(), n);
      epoch = e;
    }
    const std::uint32_t* batch = perm.data() + ((it - 1) % per_epoch) * B;
    grad.zeros();
    const std::size_t K = objective_K(obj, it);
    const ChunkSums s = engine.run(st.par.memptr(), batch, B, K, 1, Stream::train, it,
                                   NoiseKey::position, grad.memptr());
    grad /= double(B);
    const double g_theta = sum_sq(grad.memptr(), pt);
    const double g_phi = sum_sq(grad.memptr() + pt, p - pt);
    const double objective = s.objective / double(B);
    if (!std::isfinite(objective) || !std::isfinite(g_theta + g_phi)) {
      res.status = Status::diverged;
      res.last_iteration = it;
      break;
    }
    const bool eval = spec.eval_every > 0 && it % spec.eval_every == 0;
    const bool record = eval || it % spec.record_every == 0;
    double full_obj = NAN, full_g = NAN, full_ll = NAN;
    if (eval) {
      full_grad.zeros();
      const ChunkSums f = engine.run(st.par.memptr(), all.data(), n, K, spec.eval_samples,
                                     Stream::eval, it, NoiseKey::row, full_grad.memptr());
      full_obj = f.objective / double(n);
      full_g = sum_sq(full_grad.memptr(), p) / (double(n) * double(n));
      if (model.spec().linear) full_ll = linear_loglik(model, st.par.memptr(), xt);
    }
    const double lr = step_size(opt, it);
    optimizer_step(opt, it, st.par.memptr(), grad.memptr(), st.opt, p);
    st.iteration = it;
    const double secs = st.seconds + std::chrono::duration<double>(clock::now() - start).count();
    if (record) {
      tr.iteration.push_back(double(it));
      tr.objective.push_back(objective);
      tr.reconstruction.push_back(s.reconstruction / double(B));
      tr.kl.push_back(s.kl / double(B));
      tr.grad_norm_sq.push_back(g_theta + g_phi);
      tr.grad_norm_sq_theta.push_back(g_theta);
      tr.grad_norm_sq_phi.push_back(g_phi);
      tr.lr.push_back(lr);
      tr.seconds.push_back(secs);
      double d = 0.0;
      for (std::size_t i = 0; i < p; ++i) {
        const double di = st.par[i] - st.par0[i];
        d += di * di;
      }
      tr.weight_change.push_back(norm0 > 0.0 ? std::sqrt(d) / norm0 : NAN);
      tr.full_objective.push_back(full_obj);
      tr.full_grad_norm_sq.push_back(full_g);
      tr.full_loglik.push_back(full_ll);
      tr.loglik_gap.push_back(spec.loglik_optimum - full_ll);
    }
    monitor.progress(t + 1, spec.iterations);
    if (monitor.stop_requested()) {
      res.status = Status::interrupted;
      res.last_iteration = it;
      break;
    }
  }
  st.seconds += std::chrono::duration<double>(clock::now() - start).count();
  return res;
}

}  // namespace vaeconv
