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
#include "monitor.hpp"
#include "objective.hpp"
#include "optimizer.hpp"
#include "rng.hpp"

namespace vaeconv {

struct TrainSpec {
  std::size_t batch_size = 64;
  std::uint64_t iterations = 1000;
  std::uint64_t record_every = 1;
  std::uint64_t eval_every = 0;  // 0: never
  std::size_t eval_samples = 1;
  std::size_t chunk_rows = 0;  // 0: the engine chooses (Engine::rows_per_chunk)
  double loglik_optimum = NAN;  // linear VAE: the pPCA optimum's log-likelihood
};

// Everything needed to continue a fit.
struct TrainState {
  arma::vec par, par0;
  OptimizerState opt;
  std::uint64_t iteration = 0;  // iterations done so far
  double seconds = 0.0;         // time spent in them, full-data evaluations aside
  double eval_seconds = 0.0;    // time spent in the full-data evaluations
};

struct Trajectory {
  std::vector<double> iteration, objective, reconstruction, kl, grad_norm_sq,
      grad_norm_sq_theta, grad_norm_sq_phi, lr, seconds, weight_change,
      full_objective, full_grad_norm_sq, full_loglik, loglik_gap,
      full_grad_norm_sq_theta, full_grad_norm_sq_phi, full_grad_norm_sq_unbiased,
      eval_seconds;
};

enum class Status { completed, diverged, interrupted };

struct TrainResult {
  Status status = Status::completed;
  std::uint64_t last_iteration = 0;  // the iteration that diverged or was interrupted
  Trajectory trajectory;
};

inline double sum_sq(const double* x, std::size_t n) { return vmath::sum_sq(x, n); }

// The squared norms of scale * g over [0, split) and [split, p) (g is not
// changed): made by the engine's last pass over g, or here in parallel over
// the fixed blocks of for_blocks(); block sums are added in block order.
inline void scaled_norms(Parallel& parallel, const double* g, std::size_t p,
                         GradNorms& norms, double& theta, double& phi) {
  if (!norms.made) {
    norms.part.assign(2 * n_param_blocks(p), 0.0);
    for_blocks(parallel, p, [&](std::size_t b, std::size_t begin, std::size_t end) {
      block_sq_sums(g, b, begin, end, norms.split, norms.scale, norms.part.data());
    });
  }
  theta = phi = 0.0;
  for (std::size_t b = 0; 2 * b < norms.part.size(); ++b) {
    theta += norms.part[2 * b];
    phi += norms.part[2 * b + 1];
  }
}

inline TrainResult train(const Vae& model, const ObjectiveSpec& obj,
                         const OptimizerSpec& opt, const TrainSpec& spec,
                         const DataView& data, std::uint64_t seed, TrainState& st,
                         Parallel& parallel, Monitor& monitor) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const std::size_t n = data.n(), B = spec.batch_size, p = model.n_params(),
                    pt = model.n_theta();
  const std::uint64_t per_epoch = n / B;
  if (obj.exact && !model.linear())
    throw std::invalid_argument("the exact ELBO needs a linear VAE");
  const KeyedRng rng(seed);
  Engine engine(model, obj, data, rng, parallel, spec.chunk_rows);
  std::vector<std::uint32_t> perm(n), all;
  std::uint64_t epoch = UINT64_MAX;
  // grad holds the gradient of the minibatch and, in the iterations with a
  // full-data evaluation, first that of the data (see below); half_grad
  // that of half the evaluation's replicates (full_norms()).
  AlignedVec grad;
  grad.zeros(p);
  arma::vec half_grad;
  if (spec.eval_every > 0) {
    all.resize(n);
    std::iota(all.begin(), all.end(), 0u);
  }
  std::vector<double> part;
  const double inv_B = 1.0 / double(B);
  GradNorms norms;
  norms.scale = inv_B;
  norms.split = pt;
  const double norm0 = std::sqrt(sum_sq(st.par0.memptr(), p));
  double eval_secs = 0.0;  // in the full-data evaluations of this call

  TrainResult res;
  Trajectory& tr = res.trajectory;
  {
    std::size_t rows = std::size_t(spec.iterations / spec.record_every);
    if (spec.eval_every > 0) rows += std::size_t(spec.iterations / spec.eval_every);
    for (std::vector<double>* col :
         {&tr.iteration, &tr.objective, &tr.reconstruction, &tr.kl, &tr.grad_norm_sq,
          &tr.grad_norm_sq_theta, &tr.grad_norm_sq_phi, &tr.lr, &tr.seconds,
          &tr.weight_change, &tr.full_objective, &tr.full_grad_norm_sq, &tr.full_loglik,
          &tr.loglik_gap, &tr.full_grad_norm_sq_theta, &tr.full_grad_norm_sq_phi,
          &tr.full_grad_norm_sq_unbiased, &tr.eval_seconds})
      col->reserve(rows + 1);
  }
  for (std::uint64_t t = 0; t < spec.iterations; ++t) {
    const std::uint64_t it = st.iteration + 1;
    const std::uint64_t e = (it - 1) / per_epoch;
    if (e != epoch) {
      rng.permutation(Stream::permutation, e, perm.data(), n);
      epoch = e;
    }
    const std::uint32_t* batch = perm.data() + ((it - 1) % per_epoch) * B;
    // grad is zero here: zeroed when made, and after each step below.
    const std::size_t K = objective_K(obj, it);
    const bool eval = spec.eval_every > 0 && it % spec.eval_every == 0;
    const bool record = eval || it % spec.record_every == 0;
    double full_obj = NAN, full_ll = NAN;
    FullNorms full;
    if (eval) {
      // The full-data evaluation at the iteration's parameters comes before
      // the minibatch's gradient and makes its own in grad, which it leaves
      // zero again once its norms are made: a fit needs no p-vector more
      // for it. (Its draws are keyed by Stream::eval and the rows, the
      // minibatch's by Stream::train and the positions, so the order
      // changes no number.)
      const auto eval_start = clock::now();
      // A stop requested during a long full-data evaluation ends the fit
      // before iteration `it` (its step not taken, nothing recorded), once
      // the call has made one iteration.
      if (t > 0) engine.watch(&monitor, false);
      const ChunkSums f = engine.run(st.par.memptr(), all.data(), n, K, spec.eval_samples,
                                     Stream::eval, it, NoiseKey::row, grad.memptr());
      engine.watch(nullptr);
      if (engine.stopped()) {
        res.status = Status::interrupted;
        res.last_iteration = it - 1;
        break;
      }
      full_obj = f.objective / double(n);
      full = full_norms(engine, obj, st.par.memptr(), all.data(), n, K, spec.eval_samples,
                        Stream::eval, it, NoiseKey::row, grad.memptr(), p, pt, half_grad);
      grad.zeros();
      if (model.linear()) full_ll = linear_loglik(model, st.par.memptr(), data);
      eval_secs += std::chrono::duration<double>(clock::now() - eval_start).count();
    }
    const ChunkSums s = engine.run(st.par.memptr(), batch, B, K, 1, Stream::train, it,
                                   NoiseKey::position, grad.memptr(), &norms);
    double g_theta, g_phi;
    scaled_norms(parallel, grad.memptr(), p, norms, g_theta, g_phi);
    const double objective = s.objective / double(B);
    if (!std::isfinite(objective) || !std::isfinite(g_theta + g_phi)) {
      res.status = Status::diverged;
      res.last_iteration = it;
      break;
    }
    // The next minibatch's rows, fetched while the step runs.
    if (it % per_epoch != 0 && spec.iterations - t > 1) data.prefetch(batch + B, B);
    const double lr = step_size(opt, it);
    // One pass over fixed blocks (each small enough to stay in cache):
    // grad /= B, the step, the squared distance from the initial weights when
    // the iteration is recorded, and grad = 0 for the next iteration (in the
    // step's own pass).
    part.assign(n_param_blocks(p), 0.0);
    for_blocks(parallel, p, [&](std::size_t b, std::size_t begin, std::size_t end) {
      double* g = grad.memptr();
      part[b] = optimizer_step(opt, it, st.par.memptr(), g, st.opt, begin, end,
                               record ? st.par0.memptr() : nullptr, inv_B, g);
    });
    st.iteration = it;
    const double secs =
        st.seconds + std::chrono::duration<double>(clock::now() - start).count() - eval_secs;
    if (record) {
      double d = 0.0;
      for (double x : part) d += x;
      tr.iteration.push_back(double(it));
      tr.objective.push_back(objective);
      tr.reconstruction.push_back(s.reconstruction / double(B));
      tr.kl.push_back(s.kl / double(B));
      tr.grad_norm_sq.push_back(g_theta + g_phi);
      tr.grad_norm_sq_theta.push_back(g_theta);
      tr.grad_norm_sq_phi.push_back(g_phi);
      tr.lr.push_back(lr);
      tr.seconds.push_back(secs);
      tr.weight_change.push_back(norm0 > 0.0 ? std::sqrt(d) / norm0 : NAN);
      tr.full_objective.push_back(full_obj);
      tr.full_grad_norm_sq.push_back(full.all);
      tr.full_grad_norm_sq_theta.push_back(full.theta);
      tr.full_grad_norm_sq_phi.push_back(full.phi);
      tr.full_grad_norm_sq_unbiased.push_back(full.unbiased);
      tr.eval_seconds.push_back(st.eval_seconds + eval_secs);
      tr.full_loglik.push_back(full_ll);
      tr.loglik_gap.push_back(spec.loglik_optimum - full_ll);
    }
    monitor.progress(t + 1, spec.iterations, objective);
    if (monitor.stop_requested()) {
      res.status = Status::interrupted;
      res.last_iteration = it;
      break;
    }
  }
  st.seconds += std::chrono::duration<double>(clock::now() - start).count() - eval_secs;
  st.eval_seconds += eval_secs;
  return res;
}

}  // namespace vaeconv
