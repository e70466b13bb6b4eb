// Activations and their derivatives, evaluated stably.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace vaeconv {

// log(1 + e^u) without overflow or loss of precision.
inline double softplus(double u) {
  return u > 0.0 ? u + std::log1p(std::exp(-u)) : std::log1p(std::exp(u));
}

// 1 / (1 + e^-u) without overflow.
inline double sigmoid(double u) {
  if (u >= 0.0) return 1.0 / (1.0 + std::exp(-u));
  const double e = std::exp(u);
  return e / (1.0 + e);
}

enum class ActivationKind { soft_clip, tanh, softplus, sigmoid, relu, identity };

inline ActivationKind activation_kind(const std::string& name) {
  if (name == "soft_clip") return ActivationKind::soft_clip;
  if (name == "tanh") return ActivationKind::tanh;
  if (name == "softplus") return ActivationKind::softplus;
  if (name == "sigmoid") return ActivationKind::sigmoid;
  if (name == "relu") return ActivationKind::relu;
  if (name == "identity") return ActivationKind::identity;
  throw std::invalid_argument("unknown activation '" + name + "'");
}

// Generalized soft-clipping f(x) = (1/s) log((1 + e^{s(x-s1)}) /
// (1 + e^{s(x-s2)})) + s1, with a = s(x - s1) > b = s(x - s2). Below the
// midpoint it is s1 + (softplus(a) - softplus(b)) / s; above it the same
// quantity is s2 + (softplus(-a) - softplus(-b)) / s. Each form adds two
// small terms to a bound, so neither cancels for large |s x|.
struct Activation {
  ActivationKind kind = ActivationKind::identity;
  double s = 1.0, s1 = 0.0, s2 = 50.0;

  double value(double x) const {
    switch (kind) {
      case ActivationKind::soft_clip: {
        const double a = s * (x - s1), b = s * (x - s2);
        if (x <= 0.5 * (s1 + s2)) return s1 + (softplus(a) - softplus(b)) / s;
        return s2 + (softplus(-a) - softplus(-b)) / s;
      }
      case ActivationKind::tanh: return std::tanh(x);
      case ActivationKind::softplus: return softplus(x);
      case ActivationKind::sigmoid: return sigmoid(x);
      case ActivationKind::relu: return x > 0.0 ? x : 0.0;
      case ActivationKind::identity: return x;
    }
    return x;
  }

  // f'(x), given x and y = f(x).
  double derivative(double x, double y) const {
    switch (kind) {
      case ActivationKind::soft_clip: {
        const double a = s * (x - s1), b = s * (x - s2);
        if (x <= 0.5 * (s1 + s2)) return sigmoid(a) - sigmoid(b);
        return sigmoid(-b) - sigmoid(-a);
      }
      case ActivationKind::tanh: return 1.0 - y * y;
      case ActivationKind::softplus: return sigmoid(x);
      case ActivationKind::sigmoid: return y * (1.0 - y);
      case ActivationKind::relu: return x > 0.0 ? 1.0 : 0.0;
      case ActivationKind::identity: return 1.0;
    }
    return 1.0;
  }

  bool is_identity() const { return kind == ActivationKind::identity; }

  // y[i] = f(x[i])
  void apply(const double* x, double* y, std::size_t n) const {
    switch (kind) {
      case ActivationKind::tanh:
        for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
        return;
      case ActivationKind::relu:
        for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
        return;
      case ActivationKind::identity:
        if (y != x) std::copy(x, x + n, y);
        return;
      default:
        for (std::size_t i = 0; i < n; ++i) y[i] = value(x[i]);
    }
  }

  // g[i] *= f'(x[i]) with y = f(x): the chain rule through the activation.
  void backward(const double* x, const double* y, double* g,
                std::size_t n) const {
    switch (kind) {
      case ActivationKind::tanh:
        for (std::size_t i = 0; i < n; ++i) g[i] *= 1.0 - y[i] * y[i];
        return;
      case ActivationKind::relu:
        for (std::size_t i = 0; i < n; ++i) g[i] = x[i] > 0.0 ? g[i] : 0.0;
        return;
      case ActivationKind::identity:
        return;
      default:
        for (std::size_t i = 0; i < n; ++i) g[i] *= derivative(x[i], y[i]);
    }
  }
};

}  // namespace vaeconv
