// Activations and their derivatives, evaluated stably.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "vmath.hpp"

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

inline const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{"soft_clip", "tanh",  "softplus",
                                              "sigmoid",   "relu", "identity"};
  return names;
}

inline ActivationKind activation_kind(const std::string& name) {
  const auto& n = activation_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return ActivationKind(i);
  throw std::invalid_argument("unknown activation '" + name + "'");
}

// Generalized soft-clipping f(x) = (1/s) log((1 + e^{s(x-s1)}) /
// (1 + e^{s(x-s2)})) + s1, with a = s(x - s1) > b = s(x - s2). Below the
// midpoint it is s1 + (softplus(a) - softplus(b)) / s; above it the same
// quantity is s2 + (softplus(-a) - softplus(-b)) / s. Each form adds two
// small terms to a bound, so neither cancels for large |s x|. Its
// derivative is sigmoid(a) - sigmoid(b) = sigmoid(-b) - sigmoid(-a).
//
// Arrays go through the vector kernels of vmath.hpp (AVX2 + FMA ones when
// the CPU has them); value() and derivative() run the same kernels on one
// element, so a scalar and an array evaluation agree to the last bit.
struct Activation;

namespace detail {

// The activations and the derivatives that need more than y, on vectors.
template <class L>
struct SoftClip {
  typedef typename L::vd vd;
  vd s, s1, s2, mid;
  VAECONV_INLINE SoftClip(double s_, double s1_, double s2_)
      : s(vmath::splat<L>(s_)), s1(vmath::splat<L>(s1_)), s2(vmath::splat<L>(s2_)),
        mid(vmath::splat<L>(0.5 * (s1_ + s2_))) {}
  VAECONV_INLINE vd operator()(const vd& x) const {
    const auto low = x <= mid;
    const vd a = s * (x - s1), b = s * (x - s2);
    const vd d = vmath::softplus<L>(vmath::select<L>(low, a, -a)) -
                 vmath::softplus<L>(vmath::select<L>(low, b, -b));
    return vmath::select<L>(low, s1, s2) + d / s;
  }
};
template <class L>
struct SoftClipDerivative {
  typedef typename L::vd vd;
  SoftClip<L> f;
  VAECONV_INLINE vd operator()(const vd& x) const {
    const auto low = x <= f.mid;
    const vd a = f.s * (x - f.s1), b = f.s * (x - f.s2);
    return vmath::sigmoid<L>(vmath::select<L>(low, a, -b)) -
           vmath::sigmoid<L>(vmath::select<L>(low, b, -a));
  }
};
template <class L>
struct Tanh {
  VAECONV_INLINE typename L::vd operator()(const typename L::vd& x) const { return vmath::tanh<L>(x); }
};
template <class L>
struct Sigmoid {
  VAECONV_INLINE typename L::vd operator()(const typename L::vd& x) const {
    return vmath::sigmoid<L>(x);
  }
};
template <class L>
struct Softplus {
  VAECONV_INLINE typename L::vd operator()(const typename L::vd& x) const {
    return vmath::softplus<L>(x);
  }
};

// f'(x) from y = f(x).
template <class L>
struct TanhDerivative {
  VAECONV_INLINE typename L::vd operator()(const typename L::vd& y) const {
    return vmath::splat<L>(1.0) - y * y;
  }
};
template <class L>
struct SigmoidDerivative {
  VAECONV_INLINE typename L::vd operator()(const typename L::vd& y) const {
    return y * (vmath::splat<L>(1.0) - y);
  }
};
template <class L>
struct Sqrt {
  VAECONV_INLINE typename L::vd operator()(const typename L::vd& x) const {
    return vmath::sqrt<L>(x);
  }
};
// log for positive normal numbers (see log_positive() for the others).
template <class L>
struct LogNormal {
  VAECONV_INLINE typename L::vd operator()(const typename L::vd& x) const {
    return vmath::log_normal<L>(x);
  }
};

// The smooth activations' kernels at vector width L::width.
template <class L>
VAECONV_INLINE void apply_smooth(ActivationKind kind, double s, double s1, double s2,
                                 const double* x, double* y, std::size_t n) {
  switch (kind) {
    case ActivationKind::soft_clip:
      vmath::map<L>(x, y, n, SoftClip<L>(s, s1, s2));
      return;
    case ActivationKind::tanh:
      vmath::map<L>(x, y, n, Tanh<L>());
      return;
    case ActivationKind::softplus:
      vmath::map<L>(x, y, n, Softplus<L>());
      return;
    case ActivationKind::sigmoid:
      vmath::map<L>(x, y, n, Sigmoid<L>());
      return;
    default:
      return;
  }
}
template <class L>
VAECONV_INLINE void backward_smooth(ActivationKind kind, double s, double s1, double s2,
                                    const double* x, double* g, std::size_t n) {
  switch (kind) {
    case ActivationKind::soft_clip:
      vmath::scale_by<L>(x, g, n, SoftClipDerivative<L>{SoftClip<L>(s, s1, s2)});
      return;
    case ActivationKind::softplus:
      vmath::scale_by<L>(x, g, n, Sigmoid<L>());
      return;
    default:
      return;
  }
}

#if defined(VAECONV_AVX2)
VAECONV_TARGET_AVX512 inline void apply_smooth_avx512(ActivationKind kind, double s, double s1,
                                                      double s2, const double* x, double* y,
                                                      std::size_t n) {
  apply_smooth<vmath::Lanes<8>>(kind, s, s1, s2, x, y, n);
}
VAECONV_TARGET_AVX512 inline void backward_smooth_avx512(ActivationKind kind, double s,
                                                         double s1, double s2, const double* x,
                                                         double* g, std::size_t n) {
  backward_smooth<vmath::Lanes<8>>(kind, s, s1, s2, x, g, n);
}
VAECONV_TARGET_AVX2 inline void apply_smooth_avx2(ActivationKind kind, double s, double s1,
                                                  double s2, const double* x, double* y,
                                                  std::size_t n) {
  apply_smooth<vmath::Lanes<4>>(kind, s, s1, s2, x, y, n);
}
VAECONV_TARGET_AVX2 inline void backward_smooth_avx2(ActivationKind kind, double s, double s1,
                                                     double s2, const double* x, double* g,
                                                     std::size_t n) {
  backward_smooth<vmath::Lanes<4>>(kind, s, s1, s2, x, g, n);
}
#endif

// Base-exact kernels: the base (two-lane, no FMA) kernels' operations four
// lanes at a time, compiled for AVX2 without FMA so that nothing is
// contracted (and eight at a time on AVX-512, contraction turned off): every
// value has the bits of the base kernel (the kernels act lane by lane with
// IEEE operations only), two or four times as many at once.
enum class ExactKernel { softplus, sigmoid, sqrt, log_normal, tanh_derivative,
                         sigmoid_derivative };

template <class L>
VAECONV_INLINE void exact_kernel(ExactKernel k, const double* x, double* y, std::size_t n) {
  switch (k) {
    case ExactKernel::softplus: return vmath::map<L>(x, y, n, Softplus<L>());
    case ExactKernel::sigmoid: return vmath::map<L>(x, y, n, Sigmoid<L>());
    case ExactKernel::sqrt: return vmath::map<L>(x, y, n, Sqrt<L>());
    case ExactKernel::log_normal: return vmath::map<L>(x, y, n, LogNormal<L>());
    // y *= f'(x) from x = f(input)
    case ExactKernel::tanh_derivative: return vmath::scale_by<L>(x, y, n, TanhDerivative<L>());
    case ExactKernel::sigmoid_derivative:
      return vmath::scale_by<L>(x, y, n, SigmoidDerivative<L>());
  }
}

#if defined(VAECONV_AVX2)
__attribute__((target("avx2"))) inline void exact_kernel_avx2(ExactKernel k, const double* x,
                                                               double* y, std::size_t n) {
  exact_kernel<vmath::Lanes<4>>(k, x, y, n);
}
#endif

#if defined(VAECONV_AVX2) && defined(__GNUC__) && !defined(__clang__)
// Eight lanes: AVX-512 has fused multiply-adds of its own, so contraction is
// turned off for this function instead (GCC's optimize attribute; Clang
// ignores it, so Clang builds keep the AVX2 kernels).
#define VAECONV_EXACT_AVX512 1
VAECONV_TARGET_AVX512 __attribute__((optimize("fp-contract=off"))) inline void
exact_kernel_avx512(ExactKernel k, const double* x, double* y, std::size_t n) {
  exact_kernel<vmath::Lanes<8>>(k, x, y, n);
}
#endif

// The kernel k over n values, with the bits of the base kernel.
inline void exact(ExactKernel k, const double* x, double* y, std::size_t n) {
#if defined(VAECONV_EXACT_AVX512)
  if (vmath::simd_level() >= 2) return exact_kernel_avx512(k, x, y, n);
#endif
#if defined(VAECONV_AVX2)
  if (vmath::simd_level() >= 1) return exact_kernel_avx2(k, x, y, n);
#endif
  exact_kernel<vmath::Base>(k, x, y, n);
}

}  // namespace detail

// y[i] = log(x[i]) through the vector kernel, std::log where x[i] is not a
// positive normal number (0, subnormal, infinite, negative or NaN).
inline void log_positive(const double* x, double* y, std::size_t n) {
  detail::exact(detail::ExactKernel::log_normal, x, y, n);
  for (std::size_t i = 0; i < n; ++i)
    if (!(x[i] >= 2.2250738585072014e-308 && x[i] <= 1.7976931348623157e308))
      y[i] = std::log(x[i]);
}

struct Activation {
  ActivationKind kind = ActivationKind::identity;
  double s = 1.0, s1 = 0.0, s2 = 50.0;

  double value(double x) const {
    double y;
    apply(&x, &y, 1);
    return y;
  }

  // f'(x), given x and y = f(x).
  double derivative(double x, double y) const {
    double g = 1.0;
    backward(&x, &y, &g, 1);
    return g;
  }

  bool is_identity() const { return kind == ActivationKind::identity; }

  // y[i] = f(x[i]); y may be x.
  void apply(const double* x, double* y, std::size_t n) const {
    switch (kind) {
      case ActivationKind::relu:
        for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
        return;
      case ActivationKind::identity:
        if (y != x) std::copy(x, x + n, y);
        return;
      default:
#if defined(VAECONV_AVX2)
        switch (vmath::simd_level()) {
          case 2: return detail::apply_smooth_avx512(kind, s, s1, s2, x, y, n);
          case 1: return detail::apply_smooth_avx2(kind, s, s1, s2, x, y, n);
          default: break;
        }
#endif
        detail::apply_smooth<vmath::Base>(kind, s, s1, s2, x, y, n);
    }
  }

  // g[i] *= f'(x[i]) with y = f(x): the chain rule through the activation.
  void backward(const double* x, const double* y, double* g, std::size_t n) const {
    switch (kind) {
      case ActivationKind::tanh:
        detail::exact(detail::ExactKernel::tanh_derivative, y, g, n);
        return;
      case ActivationKind::sigmoid:
        detail::exact(detail::ExactKernel::sigmoid_derivative, y, g, n);
        return;
      case ActivationKind::relu:
        for (std::size_t i = 0; i < n; ++i) g[i] = x[i] > 0.0 ? g[i] : 0.0;
        return;
      case ActivationKind::identity:
        return;
      default:
#if defined(VAECONV_AVX2)
        switch (vmath::simd_level()) {
          case 2: return detail::backward_smooth_avx512(kind, s, s1, s2, x, g, n);
          case 1: return detail::backward_smooth_avx2(kind, s, s1, s2, x, g, n);
          default: break;
        }
#endif
        detail::backward_smooth<vmath::Base>(kind, s, s1, s2, x, g, n);
    }
  }
};

}  // namespace vaeconv
