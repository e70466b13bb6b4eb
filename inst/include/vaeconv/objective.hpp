// Objectives: what a chunk of data contributes to the value and gradient.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "elbo.hpp"
#include "iwae.hpp"
#include "linear.hpp"
#include "model.hpp"

namespace vaeconv {

enum class ObjectiveKind { elbo, iwae };

// How K grows with the iteration n (counted from 1): constant K; linear,
// K_n = min(K_max, K + floor((n - 1) / every)); doubling,
// K_n = min(K_max, K * 2^floor((n - 1) / every)).
enum class KGrowth { constant, linear, doubling };

struct ObjectiveSpec {
  ObjectiveKind kind = ObjectiveKind::elbo;
  double beta = 1.0;
  std::size_t K = 1;  // draws per data point (the first K under a schedule)
  std::size_t K_max = 1;
  std::uint64_t K_every = 1;
  KGrowth K_growth = KGrowth::constant;
  double alpha = 0.0;  // VR-IWAE's alpha in [0, 1); 0 is IWAE
  Estimator estimator = Estimator::reparam;
  bool exact = false;  // the ELBO's expectation in closed form (linear VAE)
};

inline const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> names{"elbo", "iwae"};
  return names;
}

inline ObjectiveKind objective_kind(const std::string& name) {
  const auto& n = objective_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return ObjectiveKind(i);
  throw std::invalid_argument("unknown objective '" + name + "'");
}

inline const std::vector<std::string>& k_growth_names() {
  static const std::vector<std::string> names{"constant", "linear", "doubling"};
  return names;
}

inline KGrowth k_growth(const std::string& name) {
  const auto& n = k_growth_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return KGrowth(i);
  throw std::invalid_argument("unknown growth of K '" + name + "'");
}

// K at iteration n (counted from 1; n = 0 is taken as 1).
inline std::size_t objective_K(const ObjectiveSpec& obj, std::uint64_t n) {
  if (obj.K_growth == KGrowth::constant || n <= 1) return obj.K;
  const std::uint64_t steps = (n - 1) / obj.K_every;
  if (obj.K >= obj.K_max) return obj.K;
  if (obj.K_growth == KGrowth::linear)
    return steps >= obj.K_max - obj.K ? obj.K_max : obj.K + std::size_t(steps);
  std::size_t K = obj.K;
  for (std::uint64_t s = 0; s < steps && K < obj.K_max; ++s) K *= 2;
  return K < obj.K_max ? K : obj.K_max;
}

// Draws per data point: `samples` replicates of K draws (none when the
// expectation is exact).
inline std::size_t draws_per_point(const ObjectiveSpec& obj, std::size_t K,
                                   std::size_t samples) {
  if (obj.exact) return 0;
  return K * samples;
}

// Sums over the chunk in ws.x (noise in ws.eps, draws_per_point() columns
// per data column), and those over each of its units in ws.unit_sums
// (chunk.hpp) and, when grad is given, adds the gradient of minus their sum
// to it. K is the number of draws per data point of the objective (1 for
// the ELBO, which then averages its `samples` draws).
inline ChunkSums chunk_objective(const Vae& model, const ObjectiveSpec& obj,
                                 const double* par, std::size_t K, std::size_t samples,
                                 Workspace& ws, double* grad) {
  switch (obj.kind) {
    case ObjectiveKind::elbo:
      if (obj.estimator == Estimator::dreg)
        throw std::invalid_argument("DReG is an estimator of importance weighted bounds");
      if (obj.exact) {  // one unit (the engine never groups its chunks)
        const ChunkSums s = linear_elbo_exact(model, par, obj.beta, ws, grad);
        ws.unit_sums.assign(1, s);
        return s;
      }
      return elbo(model, par, K, samples, obj.beta, obj.estimator, ws, grad);
    case ObjectiveKind::iwae:
      return vr_iwae(model, par, K, samples, obj.alpha, obj.estimator, ws, grad);
  }
  throw std::logic_error("unhandled objective");
}

}  // namespace vaeconv
