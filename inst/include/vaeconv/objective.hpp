// Objectives: what a chunk of data contributes to the value and gradient.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "linear.hpp"
#include "model.hpp"

namespace vaeconv {

enum class ObjectiveKind { elbo };

struct ObjectiveSpec {
  ObjectiveKind kind = ObjectiveKind::elbo;
  double beta = 1.0;
  std::size_t K = 1;  // draws per data point in a training step
  bool exact = false;  // the ELBO's expectation in closed form (linear VAE)
};

inline ObjectiveKind objective_kind(const std::string& name) {
  if (name == "elbo") return ObjectiveKind::elbo;
  throw std::invalid_argument("unknown objective '" + name + "'");
}

// Draws per data point: `samples` replicates of the objective's own K draws
// (none when the expectation is exact).
inline std::size_t draws_per_point(const ObjectiveSpec& obj, std::size_t samples) {
  if (obj.exact) return 0;
  return obj.K * samples;
}

// Sums over the chunk in ws.x (noise in ws.eps) and, when grad is given, adds
// the gradient of minus their sum to it.
inline ChunkSums chunk_objective(const GaussianVae& model, const ObjectiveSpec& obj,
                                 const double* par, std::size_t samples,
                                 Workspace& ws, double* grad) {
  switch (obj.kind) {
    case ObjectiveKind::elbo:
      if (obj.exact) return linear_elbo_exact(model, par, obj.beta, ws, grad);
      return model.elbo(par, draws_per_point(obj, samples), obj.beta, ws, grad);
  }
  throw std::logic_error("unhandled objective");
}

}  // namespace vaeconv
