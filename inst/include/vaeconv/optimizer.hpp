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

#if defined(VAECONV_AVX2)
#include <immintrin.h>
#endif


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

// Adam's constants at one iteration (see optimizer_step()).
struct AdamStep {
  double b1, a1, b2, a2, step, inv_sqrt_c2, eps, g_scale, bound;
  bool bounded;
};

// Adam on the W = L::width coordinates at i, the same operations as the
// scalar update of optimizer_step() (no fused multiply-add: the kernels
// below are compiled without FMA). The squared change from w0 is added to
// acc, two lanes at a time in coordinate order, so that the weight-change
// sum is the one of the two-lane kernel whatever W.
template <class L>
VAECONV_INLINE void adam_lanes(const AdamStep& c, const double* g, double* w, double* m,
                               double* v, const double* w0, double* clear, std::size_t i,
                               vmath::Base::vd& acc) {
  typedef typename L::vd vd;
  typedef vmath::Base B;
  const vd gi = vmath::splat<L>(c.g_scale) * vmath::load<L>(g + i);
  if (clear != nullptr) vmath::store<L>(clear + i, vmath::splat<L>(0.0));
  const vd mi = vmath::splat<L>(c.b1) * vmath::load<L>(m + i) + vmath::splat<L>(c.a1) * gi;
  const vd vi =
      vmath::splat<L>(c.b2) * vmath::load<L>(v + i) + vmath::splat<L>(c.a2) * gi * gi;
  vmath::store<L>(m + i, mi);
  vmath::store<L>(v + i, vi);
  vd wi = vmath::load<L>(w + i) -
          vmath::splat<L>(c.step) * mi /
              (vmath::sqrt<L>(vi) * vmath::splat<L>(c.inv_sqrt_c2) + vmath::splat<L>(c.eps));
  if (c.bounded) {  // std::min(bound, std::max(-bound, w)), NaN included
    const vd hi = vmath::splat<L>(c.bound), lo = vmath::splat<L>(-c.bound);
    wi = vmath::select<L>(lo < wi, wi, lo);
    wi = vmath::select<L>(wi < hi, wi, hi);
  }
  vmath::store<L>(w + i, wi);
  if (w0 != nullptr) {
    const vd d = wi - vmath::load<L>(w0 + i);
    const vd dd = d * d;
    if constexpr (L::width == B::width) {
      acc += dd;
    } else {
      for (std::size_t k = 0; k < L::width; k += B::width) {
        B::vd h;
        for (std::size_t j = 0; j < B::width; ++j) h[j] = dd[k + j];
        acc += h;
      }
    }
  }
}

// Adam over [begin, end): L::width coordinates at a time, then two, then
// one; returns the squared change from w0 (0 without w0) added to the two
// lanes of acc (the sums of a sweep that covered coordinates before begin,
// begin - start even). With clear (which may be g), clear = 0 on the range
// once g is read.
template <class L>
VAECONV_INLINE double adam_sweep(const AdamStep& c, const double* g, double* w, double* m,
                                 double* v, const double* w0, double* clear,
                                 std::size_t begin, std::size_t end, vmath::Base::vd acc) {
  typedef vmath::Base B;
  std::size_t i = begin;
  for (; i + L::width <= end; i += L::width)
    adam_lanes<L>(c, g, w, m, v, w0, clear, i, acc);
  if constexpr (L::width > B::width)
    for (; i + B::width <= end; i += B::width)
      adam_lanes<B>(c, g, w, m, v, w0, clear, i, acc);
  double change = vmath::sum_lanes<B>(acc);
  for (; i < end; ++i) {
    const double gs = c.g_scale * g[i];
    if (clear != nullptr) clear[i] = 0.0;
    m[i] = c.b1 * m[i] + c.a1 * gs;
    v[i] = c.b2 * v[i] + c.a2 * gs * gs;
    w[i] = w[i] - c.step * m[i] / (std::sqrt(v[i]) * c.inv_sqrt_c2 + c.eps);
    if (c.bounded) w[i] = std::min(c.bound, std::max(-c.bound, w[i]));
    if (w0 != nullptr) change += (w[i] - w0[i]) * (w[i] - w0[i]);
  }
  return change;
}

#if defined(VAECONV_AVX2)
// AVX2 without FMA (so that nothing is contracted and every coordinate
// gets the bits of the two-lane kernel).
__attribute__((target("avx2"))) inline double adam_sweep_avx2(
    const AdamStep& c, const double* g, double* w, double* m, double* v, const double* w0,
    double* clear, std::size_t begin, std::size_t end,
    vmath::Base::vd acc = vmath::Base::vd{0.0, 0.0}) {
  return adam_sweep<vmath::Lanes<4>>(c, g, w, m, v, w0, clear, begin, end, acc);
}

// Adam on eight coordinates at a time over [begin, end) while eight remain,
// with 512-bit operations: the square root and the division, which bound
// the sweep, run four times as fast as the two-lane ones of
// adam_sweep_avx2(). Every operation is the one of adam_lanes(), in the
// same order, and each carries its rounding (to nearest, as R runs), so the
// compiler cannot fuse a product and a sum: every coordinate gets the bits
// of the two-lane kernel. The squared changes are added to acc two lanes at
// a time in coordinate order, as there. Returns where it stopped.
VAECONV_TARGET_AVX512 inline std::size_t adam_body_avx512(const AdamStep& c, const double* g,
                                                         double* w, double* m, double* v,
                                                         const double* w0, double* clear,
                                                         std::size_t begin, std::size_t end,
                                                         double* acc2) {
  constexpr int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512d g_scale = _mm512_set1_pd(c.g_scale), b1 = _mm512_set1_pd(c.b1),
                a1 = _mm512_set1_pd(c.a1), b2 = _mm512_set1_pd(c.b2),
                a2 = _mm512_set1_pd(c.a2), step = _mm512_set1_pd(c.step),
                isc2 = _mm512_set1_pd(c.inv_sqrt_c2), eps = _mm512_set1_pd(c.eps),
                hi = _mm512_set1_pd(c.bound), lo = _mm512_set1_pd(-c.bound);
  __m128d acc = _mm_loadu_pd(acc2);
  std::size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m512d gi = _mm512_mul_round_pd(g_scale, _mm512_loadu_pd(g + i), rn);
    if (clear != nullptr) _mm512_storeu_pd(clear + i, _mm512_setzero_pd());
    const __m512d mi = _mm512_add_round_pd(_mm512_mul_round_pd(b1, _mm512_loadu_pd(m + i), rn),
                                           _mm512_mul_round_pd(a1, gi, rn), rn);
    const __m512d vi = _mm512_add_round_pd(
        _mm512_mul_round_pd(b2, _mm512_loadu_pd(v + i), rn),
        _mm512_mul_round_pd(_mm512_mul_round_pd(a2, gi, rn), gi, rn), rn);
    _mm512_storeu_pd(m + i, mi);
    _mm512_storeu_pd(v + i, vi);
    const __m512d den = _mm512_add_round_pd(
        _mm512_mul_round_pd(_mm512_sqrt_round_pd(vi, rn), isc2, rn), eps, rn);
    __m512d wi = _mm512_sub_round_pd(
        _mm512_loadu_pd(w + i),
        _mm512_div_round_pd(_mm512_mul_round_pd(step, mi, rn), den, rn), rn);
    if (c.bounded) {  // as adam_lanes(): lo < w ? w : lo, then w < hi ? w : hi
      wi = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(lo, wi, _CMP_LT_OQ), lo, wi);
      wi = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(wi, hi, _CMP_LT_OQ), hi, wi);
    }
    _mm512_storeu_pd(w + i, wi);
    if (w0 != nullptr) {
      const __m512d d = _mm512_sub_round_pd(wi, _mm512_loadu_pd(w0 + i), rn);
      const __m512d dd = _mm512_mul_round_pd(d, d, rn);
      const __m256d lo4 = _mm512_castpd512_pd256(dd), hi4 = _mm512_extractf64x4_pd(dd, 1);
      acc = _mm_add_pd(acc, _mm256_castpd256_pd128(lo4));
      acc = _mm_add_pd(acc, _mm256_extractf128_pd(lo4, 1));
      acc = _mm_add_pd(acc, _mm256_castpd256_pd128(hi4));
      acc = _mm_add_pd(acc, _mm256_extractf128_pd(hi4, 1));
    }
  }
  _mm_storeu_pd(acc2, acc);
  return i;
}
#endif

}  // namespace detail

// One step at iteration n (counted from 1) along the gradient g_scale * g
// of the loss to minimise (the negative objective), on the coordinates
// [begin, end). Coordinates are independent, so any split of 0..p into
// ranges gives the same parameters. Returns sum_i (w_i - w0_i)^2 over the
// range after the step when w0 is given (0 otherwise), in a fixed order.
// With clear (which may be g_in), sets clear = 0 on the range after reading
// the gradient (in the same pass for Adam).
inline double optimizer_step(const OptimizerSpec& o, std::uint64_t n, double* w,
                             const double* g_in, OptimizerState& st, std::size_t begin,
                             std::size_t end, const double* w0, double g_scale = 1.0,
                             double* clear = nullptr) {
  if (clear != nullptr && o.kind != OptimizerKind::adam) {
    const double change = optimizer_step(o, n, w, g_in, st, begin, end, w0, g_scale);
    std::fill(clear + begin, clear + end, 0.0);
    return change;
  }
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
      detail::AdamStep c;
      c.b1 = o.beta1;
      c.a1 = 1.0 - o.beta1;
      c.b2 = o.beta2;
      c.a2 = 1.0 - o.beta2;
      c.step = lr / c1;
      c.inv_sqrt_c2 = 1.0 / std::sqrt(c2);
      c.eps = o.eps;
      c.g_scale = g_scale;
      c.bound = o.bound;
      c.bounded = std::isfinite(o.bound);
#if defined(VAECONV_AVX2)
      if (vmath::simd_level() >= 2) {
        double acc[2] = {0.0, 0.0};
        const std::size_t i =
            detail::adam_body_avx512(c, g_in, w, m, v, w0, clear, begin, end, acc);
        return detail::adam_sweep_avx2(c, g_in, w, m, v, w0, clear, i, end,
                                       vmath::Base::vd{acc[0], acc[1]});
      }
      if (vmath::simd_level() >= 1)
        return detail::adam_sweep_avx2(c, g_in, w, m, v, w0, clear, begin, end);
#endif
      return detail::adam_sweep<L>(c, g_in, w, m, v, w0, clear, begin, end,
                                   vmath::splat<L>(0.0));
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
