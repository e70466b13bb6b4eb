// Stochastic optimisers on the flat parameter vector, with the step size
// gamma_n = lr * n^(-decay) and an optional projection onto [-bound, bound].
#pragma once

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace vaeconv {

enum class OptimizerKind { sgd, adam, adagrad, rmsprop };

inline OptimizerKind optimizer_kind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adagrad") return OptimizerKind::adagrad;
  if (name == "rmsprop") return OptimizerKind::rmsprop;
  throw std::invalid_argument("unknown optimizer '" + name + "'");
}

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::adam;
  double lr = 1e-3, decay = 0.5, momentum = 0.0, beta1 = 0.9, beta2 = 0.999,
         rho = 0.99, eps = 1e-8, bound = INFINITY;
};

// m: momentum or first moment; v: second moment or sum of squares.
struct OptimizerState {
  arma::vec m, v;
  void reset(std::size_t p) {
    m.zeros(p);
    v.zeros(p);
  }
};

inline double step_size(const OptimizerSpec& o, std::uint64_t n) {
  return o.decay == 0.0 ? o.lr : o.lr * std::pow(double(n), -o.decay);
}

// One step at iteration n (counted from 1) along the gradient g of the loss
// to minimise (the negative objective).
inline void optimizer_step(const OptimizerSpec& o, std::uint64_t n, double* w,
                           const double* g, OptimizerState& st, std::size_t p) {
  const double lr = step_size(o, n);
  double* m = st.m.memptr();
  double* v = st.v.memptr();
  switch (o.kind) {
    case OptimizerKind::sgd:
      if (o.momentum == 0.0) {
        for (std::size_t i = 0; i < p; ++i) w[i] -= lr * g[i];
      } else {
        for (std::size_t i = 0; i < p; ++i) {
          m[i] = o.momentum * m[i] + g[i];
          w[i] -= lr * m[i];
        }
      }
      break;
    case OptimizerKind::adam: {
      const double c1 = 1.0 - std::pow(o.beta1, double(n));
      const double c2 = 1.0 - std::pow(o.beta2, double(n));
      for (std::size_t i = 0; i < p; ++i) {
        m[i] = o.beta1 * m[i] + (1.0 - o.beta1) * g[i];
        v[i] = o.beta2 * v[i] + (1.0 - o.beta2) * g[i] * g[i];
        w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + o.eps);
      }
      break;
    }
    case OptimizerKind::adagrad:
      for (std::size_t i = 0; i < p; ++i) {
        v[i] += g[i] * g[i];
        w[i] -= lr * g[i] / (std::sqrt(v[i]) + o.eps);
      }
      break;
    case OptimizerKind::rmsprop:
      for (std::size_t i = 0; i < p; ++i) {
        v[i] = o.rho * v[i] + (1.0 - o.rho) * g[i] * g[i];
        w[i] -= lr * g[i] / (std::sqrt(v[i]) + o.eps);
      }
      break;
  }
  if (std::isfinite(o.bound))
    for (std::size_t i = 0; i < p; ++i) w[i] = std::min(o.bound, std::max(-o.bound, w[i]));
}

}  // namespace vaeconv
