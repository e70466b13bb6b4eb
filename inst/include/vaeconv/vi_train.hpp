// Black-box variational inference: the ELBO (or the importance-weighted
// bound) of a family q_phi against a target p, its reparameterised
// gradient, and the training loop with the package's optimisers, keyed
// random numbers, trajectory, progress and interruption.
//
// At iteration n, G groups (draws) of K samples eps_{g,k} ~ N(0, I), keyed
// by (seed, stream, n, sample g K + k), give z = T_phi(eps) and the log
// weights log w = log p(z) - log q(z) = log p(z) + log|det| - log N(eps).
// The objective is the mean over groups of the VR bound
// (1 / (1 - alpha)) log (1/K) sum_k w_k^(1 - alpha) (the ELBO for K = 1;
// IWAE, Domke & Sheldon 2018, for alpha = 0), and its pathwise gradient is
// (1/G) sum_g sum_k wbar_{g,k} grad_phi log w_{g,k}, wbar the normalised
// weights, computed draw by draw in a fixed order.
#pragma once

#include <armadillo>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "optimizer.hpp"
#include "rng.hpp"
#include "trainer.hpp"
#include "vi_family.hpp"
#include "vi_target.hpp"

namespace vaeconv {

struct ViSpec {
  std::uint64_t iterations = 1000;
  std::uint64_t record_every = 1;
  std::uint64_t eval_every = 0;  // 0: never
  std::size_t draws = 1;         // groups of K samples per iteration
  std::size_t eval_samples = 100;
};

struct ViTrajectory {
  std::vector<double> iteration, objective, grad_norm_sq, lr, seconds, weight_change,
      full_objective, full_grad_norm_sq, kl_to_target;
};

struct ViResult {
  Status status = Status::completed;
  std::uint64_t last_iteration = 0;
  ViTrajectory trajectory;
};

// Scratch space of vi_objective(), kept across iterations.
struct ViWorkspace {
  arma::mat eps, z, g;
  arma::vec lp, logdet, lw, wbar;
};

// The objective at phi from `groups` groups of K draws with the noise of
// (stream, iteration); adds its gradient (of the objective, to maximise)
// to grad when grad is not null. Noise given in eps_in (d x groups K)
// is used instead when not null.
inline double vi_objective(const Family& family, const Target& target, const double* phi,
                           std::size_t groups, std::size_t K, double alpha,
                           const KeyedRng& rng, Stream stream, std::uint64_t iteration,
                           Parallel& parallel, double* grad, ViWorkspace& ws,
                           const arma::mat* eps_in = nullptr) {
  const std::size_t d = family.dim(), S = groups * K;
  if (eps_in != nullptr) {
    ws.eps = *eps_in;
  } else {
    ws.eps.set_size(d, S);
    rng.normals(stream, iteration, 0, S, ws.eps.memptr(), d);
  }
  ws.z.set_size(d, S);
  ws.logdet.set_size(S);
  ws.lp.set_size(S);
  ws.lw.set_size(S);
  ws.wbar.set_size(S);
  for (std::size_t s = 0; s < S; ++s)
    ws.logdet[s] = family.forward(phi, ws.eps.colptr(s), ws.z.colptr(s));
  if (grad != nullptr) ws.g.set_size(d, S);
  target.evaluate(ws.z, ws.lp.memptr(), grad != nullptr ? &ws.g : nullptr, parallel);
  for (std::size_t s = 0; s < S; ++s) {
    const double* e = ws.eps.colptr(s);
    double ee = 0.0;
    for (std::size_t j = 0; j < d; ++j) ee += e[j] * e[j];
    ws.lw[s] = ws.lp[s] + ws.logdet[s] + 0.5 * (double(d) * log_2pi + ee);
  }
  double total = 0.0;
  for (std::size_t g = 0; g < groups; ++g) {
    if (K == 1) {
      ws.wbar[g] = 1.0;
      total += ws.lw[g];
    } else {
      total += vr_bound(ws.lw.memptr() + g * K, K, alpha, ws.wbar.memptr() + g * K);
    }
  }
  if (grad != nullptr) {
    std::vector<double> v(d);
    for (std::size_t s = 0; s < S; ++s) {
      const double c = ws.wbar[s] / double(groups);
      const double* gs = ws.g.colptr(s);
      for (std::size_t j = 0; j < d; ++j) v[j] = c * gs[j];
      family.backward(phi, ws.eps.colptr(s), v.data(), c, grad);
    }
  }
  return total / double(groups);
}

// The exact KL(q || p) when both are Gaussian, else NaN.
inline double vi_kl(const Family& family, const Target& target, const double* phi) {
  const GaussianTarget* gt = target.gaussian();
  if (gt == nullptr || !family.location_scale_gaussian())
    return std::numeric_limits<double>::quiet_NaN();
  arma::vec m;
  arma::mat L;
  family.gaussian_moments(phi, m, L);
  return gaussian_kl(m, L, *gt);
}

// One row per recorded iteration n (counted from 1): the objective and
// squared gradient norm of the draws used, the step size, seconds,
// |phi_n - phi_0| / |phi_0| after the step; with eval_every, the objective
// and squared gradient norm from eval_samples groups (stream eval); the
// exact KL(q || p) where there is one, at the parameters the gradient was
// taken at. A non-finite objective or gradient stops the fit before the
// step (status diverged); the monitor's stop, or StopRequested thrown while
// computing an iteration, stops it cleanly (status interrupted).
inline ViResult train_vi(const Family& family, const Target& target, const ObjectiveSpec& obj,
                         const OptimizerSpec& opt, const ViSpec& spec, std::uint64_t seed,
                         TrainState& st, Parallel& parallel, Monitor& monitor) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const std::size_t p = family.n_params();
  const KeyedRng rng(seed);
  arma::vec grad(p), full_grad(p);
  ViWorkspace ws;
  const double norm0 = std::sqrt(sum_sq(st.par0.memptr(), p));
  ViResult res;
  ViTrajectory& tr = res.trajectory;
  for (std::uint64_t t = 0; t < spec.iterations; ++t) {
    const std::uint64_t it = st.iteration + 1;
    const std::size_t K = objective_K(obj, it);
    const bool eval = spec.eval_every > 0 && it % spec.eval_every == 0;
    const bool record = eval || it % spec.record_every == 0;
    double objective, gn, full_obj = NAN, full_g = NAN, kl = NAN;
    try {
      grad.zeros();
      objective = vi_objective(family, target, st.par.memptr(), spec.draws, K, obj.alpha, rng,
                               Stream::train, it, parallel, grad.memptr(), ws);
      gn = sum_sq(grad.memptr(), p);
      if (!std::isfinite(objective) || !std::isfinite(gn)) {
        res.status = Status::diverged;
        res.last_iteration = it;
        break;
      }
      if (eval) {
        full_grad.zeros();
        full_obj = vi_objective(family, target, st.par.memptr(), spec.eval_samples, K,
                                obj.alpha, rng, Stream::eval, it, parallel,
                                full_grad.memptr(), ws);
        full_g = sum_sq(full_grad.memptr(), p);
      }
    } catch (const StopRequested&) {
      res.status = Status::interrupted;
      res.last_iteration = st.iteration;
      break;
    }
    if (record) kl = vi_kl(family, target, st.par.memptr());
    const double lr = step_size(opt, it);
    // Ascent on the objective: the optimiser minimises -objective.
    optimizer_step(opt, it, st.par.memptr(), grad.memptr(), st.opt, 0, p, nullptr, -1.0);
    family.project(st.par.memptr());
    st.iteration = it;
    const double secs = st.seconds + std::chrono::duration<double>(clock::now() - start).count();
    if (record) {
      double dd = 0.0;
      for (std::size_t i = 0; i < p; ++i) dd += (st.par[i] - st.par0[i]) * (st.par[i] - st.par0[i]);
      tr.iteration.push_back(double(it));
      tr.objective.push_back(objective);
      tr.grad_norm_sq.push_back(gn);
      tr.lr.push_back(lr);
      tr.seconds.push_back(secs);
      tr.weight_change.push_back(norm0 > 0.0 ? std::sqrt(dd) / norm0 : NAN);
      tr.full_objective.push_back(full_obj);
      tr.full_grad_norm_sq.push_back(full_g);
      tr.kl_to_target.push_back(kl);
    }
    monitor.progress(t + 1, spec.iterations, objective);
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
