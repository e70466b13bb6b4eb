// Stochastic optimisers on the flat parameter vector, with the step size
// gamma_n = lr * n^(-decay) and an optional projection onto [-bound, bound].
#pragma once

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "vmath.hpp"

namespace vaeconv {

enum class OptimizerKind { sgd, adam, adagrad, rmsprop };

inline const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names{"sgd", "adam", "adagrad", "rmsprop"};
  return names;
}

inline OptimizerKind optimizer_kind(const std::string& name) {
  const auto& n = optimizer_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return OptimizerKind(i);
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

namespace detail {

// Runs vec(i) on W coordinates at a time and one(i) on the rest of
// [begin, end), then projects onto the box and sums the squared change from
// w0. vec and one perform the same operations, so a coordinate's value does
// not depend on which of them updated it.
template <class Vec, class One>
inline double sweep(const OptimizerSpec& o, double* w, std::size_t begin, std::size_t end,
                    const double* w0, Vec vec, One one) {
  typedef vmath::Base L;
  typedef L::vd vd;
  constexpr std::size_t W = L::width;
  const bool bounded = std::isfinite(o.bound);
  const vd hi = vmath::splat<L>(o.bound), lo = vmath::splat<L>(-o.bound);
  vd acc = vmath::splat<L>(0.0);
  std::size_t i = begin;
  for (; i + W <= end; i += W) {
    vd wi = vec(i);
    if (bounded) {  // std::min(bound, std::max(-bound, w)), NaN included
      wi = vmath::select<L>(lo < wi, wi, lo);
      wi = vmath::select<L>(wi < hi, wi, hi);
    }
    vmath::store<L>(w + i, wi);
    if (w0 != nullptr) {
      const vd d = wi - vmath::load<L>(w0 + i);
      acc += d * d;
    }
  }
  double change = vmath::sum_lanes<L>(acc);
  for (; i < end; ++i) {
    w[i] = one(i);
    if (bounded) w[i] = std::min(o.bound, std::max(-o.bound, w[i]));
    if (w0 != nullptr) change += (w[i] - w0[i]) * (w[i] - w0[i]);
  }
  return change;
}

}  // namespace detail

// One step at iteration n (counted from 1) along the gradient g_scale * g
// of the loss to minimise (the negative objective), on the coordinates
// [begin, end). Coordinates are independent, so any split of 0..p into
// ranges gives the same parameters. Returns sum_i (w_i - w0_i)^2 over the
// range after the step when w0 is given (0 otherwise), in a fixed order.
inline double optimizer_step(const OptimizerSpec& o, std::uint64_t n, double* w,
                             const double* g_in, OptimizerState& st, std::size_t begin,
                             std::size_t end, const double* w0, double g_scale = 1.0) {
  typedef vmath::Base L;
  typedef L::vd vd;
  auto load = [](const double* p) { return vmath::load<L>(p); };
  auto store = [](double* p, vd v) { vmath::store<L>(p, v); };
  auto splat = [](double c) { return vmath::splat<L>(c); };
  const double lr = step_size(o, n);
  double* m = st.m.memptr();
  double* v = st.v.memptr();
  const vd vlr = splat(lr), vgs = splat(g_scale);
  // The scaled gradient, as a vector at i and as a scalar. (Lambdas capture
  // by value, so that the constants stay in registers in the loops.)
  auto gv = [=](std::size_t i) { return vgs * load(g_in + i); };
  auto gs = [=](std::size_t i) { return g_scale * g_in[i]; };
  switch (o.kind) {
    case OptimizerKind::sgd:
      if (o.momentum == 0.0)
        return detail::sweep(
            o, w, begin, end, w0, [=](std::size_t i) { return load(w + i) - vlr * gv(i); },
            [=](std::size_t i) { return w[i] - lr * gs(i); });
      return detail::sweep(
          o, w, begin, end, w0,
          [=](std::size_t i) {
            const vd mi = splat(o.momentum) * load(m + i) + gv(i);
            store(m + i, mi);
            return load(w + i) - vlr * mi;
          },
          [=](std::size_t i) {
            m[i] = o.momentum * m[i] + gs(i);
            return w[i] - lr * m[i];
          });
    case OptimizerKind::adam: {
      // w -= lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / c1 and
      // v_hat = v / c2, as (lr / c1) m / (sqrt(v) / sqrt(c2) + eps): one
      // square root and one division per coordinate.
      const double c1 = 1.0 - std::pow(o.beta1, double(n));
      const double c2 = 1.0 - std::pow(o.beta2, double(n));
      const double step = lr / c1, inv_sqrt_c2 = 1.0 / std::sqrt(c2);
      const vd b1 = splat(o.beta1), a1 = splat(1.0 - o.beta1), b2 = splat(o.beta2),
               a2 = splat(1.0 - o.beta2), vstep = splat(step), vs2 = splat(inv_sqrt_c2),
               veps = splat(o.eps);
      return detail::sweep(
          o, w, begin, end, w0,
          [=](std::size_t i) {
            const vd gi = gv(i);
            const vd mi = b1 * load(m + i) + a1 * gi;
            const vd vi = b2 * load(v + i) + a2 * gi * gi;
            store(m + i, mi);
            store(v + i, vi);
            return load(w + i) - vstep * mi / (vmath::sqrt<L>(vi) * vs2 + veps);
          },
          [=](std::size_t i) {
            m[i] = o.beta1 * m[i] + (1.0 - o.beta1) * gs(i);
            v[i] = o.beta2 * v[i] + (1.0 - o.beta2) * gs(i) * gs(i);
            return w[i] - step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + o.eps);
          });
    }
    case OptimizerKind::adagrad:
      return detail::sweep(
          o, w, begin, end, w0,
          [=](std::size_t i) {
            const vd gi = gv(i);
            const vd vi = load(v + i) + gi * gi;
            store(v + i, vi);
            return load(w + i) - vlr * gi / (vmath::sqrt<L>(vi) + splat(o.eps));
          },
          [=](std::size_t i) {
            v[i] += gs(i) * gs(i);
            return w[i] - lr * gs(i) / (std::sqrt(v[i]) + o.eps);
          });
    case OptimizerKind::rmsprop:
      return detail::sweep(
          o, w, begin, end, w0,
          [=](std::size_t i) {
            const vd gi = gv(i);
            const vd vi = splat(o.rho) * load(v + i) + splat(1.0 - o.rho) * gi * gi;
            store(v + i, vi);
            return load(w + i) - vlr * gi / (vmath::sqrt<L>(vi) + splat(o.eps));
          },
          [=](std::size_t i) {
            v[i] = o.rho * v[i] + (1.0 - o.rho) * gs(i) * gs(i);
            return w[i] - lr * gs(i) / (std::sqrt(v[i]) + o.eps);
          });
  }
  return 0.0;
}

// One step on all p coordinates.
inline void optimizer_step(const OptimizerSpec& o, std::uint64_t n, double* w,
                           const double* g, OptimizerState& st, std::size_t p) {
  optimizer_step(o, n, w, g, st, 0, p, nullptr);
}

}  // namespace vaeconv
