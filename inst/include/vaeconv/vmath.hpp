// Elementwise exp, tanh, sigmoid and softplus over arrays, written on short
// vectors of doubles (GCC and Clang vector extensions; plain scalars
// elsewhere) so that the compiler emits SIMD code at -O2 without -march
// flags. Kernels are templates on the vector width: 2 doubles (SSE2, NEON,
// always available) and, on x86-64, 4 doubles in functions compiled for
// AVX2 + FMA and chosen at run time when the CPU has them (see
// activation.hpp). Every lane runs the same operations, array tails
// included (padded into a full vector), so a value never depends on where it
// sits in an array or on the thread that computes it.
//
// exp: x = k log 2 + r with |r| <= log(2) / 2 (Cody-Waite split of log 2),
// exp(r) = (q + p) / (q - p) in Cephes' Pade form, 2^k put into the exponent
// bits. tanh: Cephes' rational approximation for |x| < 0.625, else
// 1 - 2 / (exp(2|x|) + 1) with the sign of x, both through one division.
// log1p on [0, 1] (for softplus): fdlibm's log kernel on f = e or
// f = (e - 1) / 2 (plus log 2), so that log1p(e) keeps full relative
// precision for tiny e. Accuracy: within 3 ulp of the C library (tested
// against R's own functions in test-activation.R).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define VAECONV_INLINE inline __attribute__((always_inline))
#else
#define VAECONV_INLINE inline
#endif

#if (defined(__GNUC__) || defined(__clang__)) && !defined(VAECONV_NO_VECTOR_EXT)
#define VAECONV_VECTOR_EXT 1
#if defined(__x86_64__) && !defined(VAECONV_NO_AVX2)
// Kernels compiled for AVX2 + FMA, used when the CPU has them; and for
// AVX-512 F and DQ (DQ's 64-bit multiply serves Philox; every CPU with
// AVX-512 but the Xeon Phi has it).
#define VAECONV_AVX2 1
#define VAECONV_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define VAECONV_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#endif
#endif

namespace vaeconv {
namespace vmath {

// W doubles per vector: vd the values, vi comparison masks, vu bits.
template <std::size_t W>
struct Lanes;

template <>
struct Lanes<1> {
  static constexpr std::size_t width = 1;
  typedef double vd;
  typedef bool vi;
  typedef std::uint64_t vu;
};

#if defined(VAECONV_VECTOR_EXT)
template <>
struct Lanes<2> {
  static constexpr std::size_t width = 2;
  typedef double vd __attribute__((vector_size(16)));
  typedef std::int64_t vi __attribute__((vector_size(16)));
  typedef std::uint64_t vu __attribute__((vector_size(16)));
};
template <>
struct Lanes<4> {
  static constexpr std::size_t width = 4;
  typedef double vd __attribute__((vector_size(32)));
  typedef std::int64_t vi __attribute__((vector_size(32)));
  typedef std::uint64_t vu __attribute__((vector_size(32)));
};
template <>
struct Lanes<8> {
  static constexpr std::size_t width = 8;
  typedef double vd __attribute__((vector_size(64)));
  typedef std::int64_t vi __attribute__((vector_size(64)));
  typedef std::uint64_t vu __attribute__((vector_size(64)));
};
typedef Lanes<2> Base;  // the width every x86-64 / arm64 CPU has
#else
typedef Lanes<1> Base;
#endif

template <class L>
VAECONV_INLINE typename L::vd splat(double c) {
  typename L::vd v = {};
  return v + c;
}
template <class L>
VAECONV_INLINE typename L::vu bits_of(const typename L::vd& x) {
  typename L::vu b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
template <class L>
VAECONV_INLINE typename L::vd from_bits(const typename L::vu& b) {
  typename L::vd x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
// mask ? a : b, lane by lane (mask from a comparison: each lane all ones
// or zero). The vector ?: of GCC and Clang: a blend under an AVX-512 mask
// register in one instruction, where a bitwise blend took two or three.
template <class L>
VAECONV_INLINE typename L::vd select(const typename L::vi& mask, const typename L::vd& a, const typename L::vd& b) {
  return mask ? a : b;
}
// The same as a bitwise blend, (mask & a) | (~mask & b). libm.hpp's kernels
// keep it: there GCC turned some ?: into slower code (glibc's exp and log
// steps took up to 2.5 times as long at eight lanes).
template <class L>
VAECONV_INLINE typename L::vd select_bits(const typename L::vi& mask, const typename L::vd& a,
                                          const typename L::vd& b) {
  if constexpr (L::width == 1) {
    return mask ? a : b;
  } else {
    const typename L::vu m = (typename L::vu)mask;
    return from_bits<L>((m & bits_of<L>(a)) | (~m & bits_of<L>(b)));
  }
}
template <class L>
VAECONV_INLINE typename L::vd load(const double* p) {
  typename L::vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class L>
VAECONV_INLINE void store(double* p, const typename L::vd& v) {
  std::memcpy(p, &v, sizeof v);
}
template <class L>
VAECONV_INLINE typename L::vd vabs(const typename L::vd& x) {
  return select<L>(x < splat<L>(0.0), -x, x);
}

// Correctly rounded square root, lane by lane (as std::sqrt).
template <class L>
VAECONV_INLINE typename L::vd sqrt(const typename L::vd& x) {
  if constexpr (L::width == 1) {
    return std::sqrt(x);
  } else {
#if defined(__SSE2__)
    if constexpr (L::width == 2) {
      return (typename L::vd)_mm_sqrt_pd((__m128d)x);
#if defined(__x86_64__) && defined(VAECONV_AVX2) && !defined(__clang__)
    } else if constexpr (L::width == 4 || L::width == 8) {
      // The wider kernels run only in functions compiled for AVX2 or
      // AVX-512 (where these are inlined); an intrinsic of that target
      // cannot be inlined through this generic function, an instruction
      // can (GCC checks the operands where the function is inlined; Clang
      // here, so Clang builds keep the two-lane pieces below). vsqrtpd is
      // correctly rounded, lane by lane, as _mm_sqrt_pd.
      typename L::vd y;
      __asm__("vsqrtpd %1, %0" : "=v"(y) : "v"(x));
      return y;
#endif
    } else {
      // Two lanes at a time through SSE2's (a wider, target-specific one
      // cannot be inlined through the generic kernels); std::sqrt lane by
      // lane went through the stack, one value at a time.
      typedef double v2 __attribute__((vector_size(16)));
      typename L::vd y = x;
      for (std::size_t i = 0; i < L::width; i += 2) {
        const v2 h = (v2)_mm_sqrt_pd(_mm_set_pd(x[i + 1], x[i]));
        y[i] = h[0];
        y[i + 1] = h[1];
      }
      return y;
    }
#else
    typename L::vd y = x;
    for (std::size_t i = 0; i < L::width; ++i) y[i] = std::sqrt(x[i]);
    return y;
#endif
  }
}

// The sum of the lanes, first to last.
template <class L>
VAECONV_INLINE double sum_lanes(const typename L::vd& x) {
  double b[L::width];
  std::memcpy(b, &x, sizeof b);
  double s = b[0];
  for (std::size_t i = 1; i < L::width; ++i) s += b[i];
  return s;
}

constexpr double ln2_hi = 6.93147180369123816490e-01;  // 32 significant bits
constexpr double ln2_lo = 1.90821492927058770002e-10;

// exp(x) = scale * num / den with scale = 2^k (2^(k - 1) with bias 1022),
// valid for |x| <= 1022 log 2.
template <class L>
struct ExpParts {
  typename L::vd scale, num, den;
};

template <class L>
VAECONV_INLINE ExpParts<L> exp_parts(const typename L::vd& x, std::uint64_t bias = 1023) {
  typedef typename L::vd vd;
  const vd shift = splat<L>(6755399441055744.0);  // 1.5 * 2^52: rounds to an integer
  const vd t = x * splat<L>(1.4426950408889634074) + shift;
  const vd k = t - shift;
  vd r = x - k * splat<L>(ln2_hi);
  r = r - k * splat<L>(ln2_lo);
  const vd rr = r * r;
  const vd p = r * ((splat<L>(1.26177193074810590878e-4) * rr +
                     splat<L>(3.02994407707441961300e-2)) * rr +
                    splat<L>(9.99999999999999999910e-1));
  const vd q = ((splat<L>(3.00198505138664455042e-6) * rr +
                 splat<L>(2.52448340349684104192e-3)) * rr +
                splat<L>(2.27265548208155028766e-1)) * rr +
               splat<L>(2.00000000000000000009e0);
  // The low bits of t hold k; 2^k has the exponent field k + 1023.
  return ExpParts<L>{from_bits<L>((bits_of<L>(t) + bias) << 52), q + p, q - p};
}

// e^x; 0 below -708, infinity above 709.78.
template <class L>
VAECONV_INLINE typename L::vd exp(const typename L::vd& x) {
  typedef typename L::vd vd;
  vd xc = select<L>(x < splat<L>(-708.0), splat<L>(-708.0), x);
  xc = select<L>(xc > splat<L>(709.78), splat<L>(709.78), xc);
  const ExpParts<L> e = exp_parts<L>(xc, 1022);  // 2^(k - 1): k reaches 1024
  vd y = (e.scale * e.num / e.den) * splat<L>(2.0);
  y = select<L>(x < splat<L>(-708.0), splat<L>(0.0), y);
  y = select<L>(x > splat<L>(709.78), splat<L>(HUGE_VAL), y);
  return y;
}

// tanh through one division: a + a z P(z) / Q(z) (Cephes) for |x| < 0.625,
// else 1 - 2 / (e^{2|x|} + 1) with e^{2|x|} = 2^k (q + p) / (q - p).
template <class L>
VAECONV_INLINE typename L::vd tanh(const typename L::vd& x) {
  typedef typename L::vd vd;
  const vd a = vabs<L>(x);
  const auto small = a < splat<L>(0.625);
  const vd z = a * a;
  const vd P = (splat<L>(-9.64399179425052238628e-1) * z +
                splat<L>(-9.92877231001918586564e1)) * z +
               splat<L>(-1.61468768441708447952e3);
  const vd Q = ((z + splat<L>(1.12811678491632931402e2)) * z +
                splat<L>(2.23548839060100448583e3)) * z +
               splat<L>(4.84406305325125486048e3);
  const vd y = select<L>(a > splat<L>(22.0), splat<L>(22.0), a);  // tanh(22) rounds to 1
  const ExpParts<L> e = exp_parts<L>(y + y);
  const vd num = select<L>(small, a * z * P, splat<L>(2.0) * e.den);
  const vd den = select<L>(small, Q, e.scale * e.num + e.den);
  const vd ratio = num / den;
  const vd t = select<L>(small, a + ratio, splat<L>(1.0) - ratio);
  return select<L>(x < splat<L>(0.0), -t, t);
}

// 1 / (1 + e^-u) without overflow: with e = e^-|u| = sn / den,
// den / (den + sn) for u >= 0 and sn / (den + sn) else. sn = 2^k num is
// formed as (2^(k + 64) num) 2^-64 so that it rounds once, into a subnormal
// where e^u is one.
template <class L>
VAECONV_INLINE typename L::vd sigmoid(const typename L::vd& u) {
  typedef typename L::vd vd;
  const vd a = vabs<L>(u);
  const vd ac = select<L>(a > splat<L>(746.0), splat<L>(746.0), a);  // e^-746 rounds to 0
  const ExpParts<L> e = exp_parts<L>(-ac, 1023 + 64);
  const vd sn = (e.scale * e.num) * splat<L>(5.42101086242752217004e-20);  // 2^-64
  return select<L>(u >= splat<L>(0.0), e.den, sn) / (e.den + sn);
}

// k log 2 + log(1 + f) for |f| <= sqrt(2) - 1 (fdlibm's log kernel).
template <class L>
VAECONV_INLINE typename L::vd log_kernel(const typename L::vd& f, const typename L::vd& k) {
  typedef typename L::vd vd;
  const vd s = f / (splat<L>(2.0) + f);
  const vd z = s * s;
  vd R = splat<L>(1.479819860511658591e-01);
  R = R * z + splat<L>(1.531383769920937332e-01);
  R = R * z + splat<L>(1.818357216161805012e-01);
  R = R * z + splat<L>(2.222219843214978396e-01);
  R = R * z + splat<L>(2.857142874366239149e-01);
  R = R * z + splat<L>(3.999999999940941908e-01);
  R = R * z + splat<L>(6.666666666666735130e-01);
  R = R * z;
  const vd hfsq = splat<L>(0.5) * f * f;
  return k * splat<L>(ln2_hi) - ((hfsq - (s * (hfsq + R) + k * splat<L>(ln2_lo))) - f);
}

// log(1 + e) for 0 <= e <= 1: f = e, or f = (e - 1) / 2 and k = 1.
template <class L>
VAECONV_INLINE typename L::vd log1p_unit(const typename L::vd& e) {
  typedef typename L::vd vd;
  const auto big = splat<L>(1.0) + e > splat<L>(1.41421356237309504880);
  const vd f = select<L>(big, (e - splat<L>(1.0)) * splat<L>(0.5), e);
  return log_kernel<L>(f, select<L>(big, splat<L>(1.0), splat<L>(0.0)));
}

// log(x) for positive normal x: x = 2^k m with m in [sqrt(2)/2, sqrt(2)).
template <class L>
VAECONV_INLINE typename L::vd log_normal(const typename L::vd& x) {
  typedef typename L::vd vd;
  typedef typename L::vu vu;
  const vu b = bits_of<L>(x);
  const vu biased = b >> 52;  // x > 0: no sign bit
  vd m = from_bits<L>((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);  // [1, 2)
  // k = biased - 1023 as a double, exactly: 2^52 + biased - (2^52 + 1023).
  vd k = from_bits<L>(biased | 0x4330000000000000ULL) - splat<L>(4503599627371519.0);
  const auto big = m > splat<L>(1.41421356237309504880);
  m = select<L>(big, m * splat<L>(0.5), m);
  k = select<L>(big, k + splat<L>(1.0), k);
  return log_kernel<L>(m - splat<L>(1.0), k);
}

// cos(2 pi t) and sin(2 pi t) for t in [0, 1): 4t = q + r exactly with q an
// integer and |r| <= 1/2, Cephes' polynomials at a = r pi / 2 in
// [-pi/4, pi/4], and the quadrant q picks and signs them.
template <class L>
VAECONV_INLINE void sincos_turns(const typename L::vd& t, typename L::vd& c,
                                 typename L::vd& s) {
  typedef typename L::vd vd;
  typedef typename L::vu vu;
  const vd shift = splat<L>(6755399441055744.0);
  const vd y = t * splat<L>(4.0);
  const vd yq = y + shift;  // the nearest integer to y, 0..4, in its low bits
  const vd q = yq - shift;
  const vd a = (y - q) * splat<L>(1.57079632679489661923);
  const vd z = a * a;
  vd ps = splat<L>(1.58962301576546568060e-10);
  ps = ps * z + splat<L>(-2.50507477628578072866e-8);
  ps = ps * z + splat<L>(2.75573136213857245213e-6);
  ps = ps * z + splat<L>(-1.98412698295895385996e-4);
  ps = ps * z + splat<L>(8.33333333332211858878e-3);
  ps = ps * z + splat<L>(-1.66666666666666307295e-1);
  const vd sa = a + a * z * ps;
  vd pc = splat<L>(-1.13585365213876817300e-11);
  pc = pc * z + splat<L>(2.08757008419747316778e-9);
  pc = pc * z + splat<L>(-2.75573141792967388112e-7);
  pc = pc * z + splat<L>(2.48015872888517045348e-5);
  pc = pc * z + splat<L>(-1.38888888888730564116e-3);
  pc = pc * z + splat<L>(4.16666666666665929218e-2);
  const vd ca = splat<L>(1.0) - splat<L>(0.5) * z + z * z * pc;
  // The quadrant q mod 4 (q = 4 is 0) from the integer's bits: integer
  // operations (equality tests of 512-bit doubles went lane by lane).
  const vu qi = bits_of<L>(yq) & 3u;
  const vu odd = vu{} - (qi & 1u);  // all ones for q = 1, 3
  vd c0, s0;
  if constexpr (L::width == 1) {
    c0 = odd != 0 ? sa : ca;
    s0 = odd != 0 ? ca : sa;
  } else {
    c0 = select<L>((typename L::vi)odd, sa, ca);
    s0 = select<L>((typename L::vi)odd, ca, sa);
  }
  // cos: +, -, -, + over q = 0..3; sin: +, +, -, -: the sign bit flipped
  // (as negation does) for q = 1, 2 and for q = 2, 3.
  c = from_bits<L>(bits_of<L>(c0) ^ (((qi + 1u) & 2u) << 62));
  s = from_bits<L>(bits_of<L>(s0) ^ ((qi & 2u) << 62));
}

// log(1 + e^u) = max(u, 0) + log1p(e^-|u|) without overflow.
template <class L>
VAECONV_INLINE typename L::vd softplus(const typename L::vd& u) {
  typedef typename L::vd vd;
  const vd pos = select<L>(u > splat<L>(0.0), u, splat<L>(0.0));
  return pos + log1p_unit<L>(exp<L>(-vabs<L>(u)));
}

// y[i] = f(x[i]) for a functor f on vectors; the tail is padded with zeros.
template <class L, class F>
VAECONV_INLINE void map(const double* x, double* y, std::size_t n, const F& f) {
  constexpr std::size_t W = L::width;
  std::size_t i = 0;
  for (; i + W <= n; i += W) store<L>(y + i, f(load<L>(x + i)));
  if (i < n) {
    double buf[W] = {};
    std::memcpy(buf, x + i, (n - i) * sizeof(double));
    store<L>(buf, f(load<L>(buf)));
    std::memcpy(y + i, buf, (n - i) * sizeof(double));
  }
}

// g[i] *= f(x[i]) for a functor f on vectors.
template <class L, class F>
VAECONV_INLINE void scale_by(const double* x, double* g, std::size_t n, const F& f) {
  constexpr std::size_t W = L::width;
  std::size_t i = 0;
  for (; i + W <= n; i += W) store<L>(g + i, load<L>(g + i) * f(load<L>(x + i)));
  if (i < n) {
    double bx[W] = {}, bg[W] = {};
    std::memcpy(bx, x + i, (n - i) * sizeof(double));
    std::memcpy(bg, g + i, (n - i) * sizeof(double));
    store<L>(bg, load<L>(bg) * f(load<L>(bx)));
    std::memcpy(g + i, bg, (n - i) * sizeof(double));
  }
}


// out[i] += sum_j d[i + j ld], i < rows, for the matrix d with leading
// dimension ld: 4 W rows at a time (the rest at half the width, down to two
// lanes, then one by one), each row's sum formed over j in a register and then added to
// out[i]. Each row is summed in the order j = 0, 1, ..., whatever W and the
// alignment, so every W gives the same bits.
template <class L>
VAECONV_INLINE void add_row_sums_lanes(const double* d, std::size_t rows, std::size_t cols,
                                       std::size_t ld, double* out) {
  constexpr std::size_t W = L::width, R = 4 * W;
  std::size_t i = 0;
  for (; i + R <= rows; i += R) {
    typename L::vd a0 = splat<L>(0.0), a1 = a0, a2 = a0, a3 = a0;
    const double* c = d + i;
    for (std::size_t j = 0; j < cols; ++j, c += ld) {
      a0 += load<L>(c);
      a1 += load<L>(c + W);
      a2 += load<L>(c + 2 * W);
      a3 += load<L>(c + 3 * W);
    }
    store<L>(out + i, load<L>(out + i) + a0);
    store<L>(out + i + W, load<L>(out + i + W) + a1);
    store<L>(out + i + 2 * W, load<L>(out + i + 2 * W) + a2);
    store<L>(out + i + 3 * W, load<L>(out + i + 3 * W) + a3);
  }
  if constexpr (W > Base::width) {  // the rest at half the width, down to the base
    if (i < rows) add_row_sums_lanes<Lanes<W / 2>>(d + i, rows - i, cols, ld, out + i);
  } else {
    for (; i < rows; ++i) {
      double a = 0.0;
      for (std::size_t j = 0; j < cols; ++j) a += d[i + j * ld];
      out[i] += a;
    }
  }
}

// Every column of the rows x cols matrix out set to b.
inline void broadcast_columns(const double* b, std::size_t rows, std::size_t cols,
                              double* out) {
  typedef Base L;
  for (std::size_t j = 0; j < cols; ++j) {
    double* o = out + j * rows;
    std::size_t i = 0;
    for (; i + L::width <= rows; i += L::width) store<L>(o + i, load<L>(b + i));
    for (; i < rows; ++i) o[i] = b[i];
  }
}

// sum of (scale x[i])^2 with 2 * width independent accumulators (a fixed
// order, whatever the alignment of x).
inline double sum_sq_scaled(const double* x, std::size_t n, double scale) {
  typedef Base L;
  const L::vd c = splat<L>(scale);
  L::vd a0 = splat<L>(0.0), a1 = splat<L>(0.0);
  std::size_t i = 0;
  for (; i + 2 * L::width <= n; i += 2 * L::width) {
    const L::vd x0 = c * load<L>(x + i), x1 = c * load<L>(x + i + L::width);
    a0 += x0 * x0;
    a1 += x1 * x1;
  }
  double s = sum_lanes<L>(a0 + a1);
  for (; i < n; ++i) s += (scale * x[i]) * (scale * x[i]);
  return s;
}

// acc[i] += src[i] and src[i] = 0 in one pass.
inline void add_and_clear(double* acc, double* src, std::size_t n) {
  typedef Base L;
  const L::vd zero = splat<L>(0.0);
  std::size_t i = 0;
  for (; i + L::width <= n; i += L::width) {
    store<L>(acc + i, load<L>(acc + i) + load<L>(src + i));
    store<L>(src + i, zero);
  }
  for (; i < n; ++i) {
    acc[i] += src[i];
    src[i] = 0.0;
  }
}

// add_and_clear(acc, src, n), returning sum_sq_scaled(acc, n, scale) of the
// sums (the same accumulators in the same order), in the same pass.
inline double add_clear_sum_sq_scaled(double* acc, double* src, std::size_t n,
                                      double scale) {
  typedef Base L;
  const L::vd c = splat<L>(scale), zero = splat<L>(0.0);
  L::vd a0 = zero, a1 = zero;
  std::size_t i = 0;
  for (; i + 2 * L::width <= n; i += 2 * L::width) {
    const L::vd s0 = load<L>(acc + i) + load<L>(src + i);
    const L::vd s1 = load<L>(acc + i + L::width) + load<L>(src + i + L::width);
    store<L>(acc + i, s0);
    store<L>(acc + i + L::width, s1);
    store<L>(src + i, zero);
    store<L>(src + i + L::width, zero);
    const L::vd x0 = c * s0, x1 = c * s1;
    a0 += x0 * x0;
    a1 += x1 * x1;
  }
  double s = sum_lanes<L>(a0 + a1);
  for (; i < n; ++i) {
    acc[i] += src[i];
    src[i] = 0.0;
    s += (scale * acc[i]) * (scale * acc[i]);
  }
  return s;
}

inline double sum_sq(const double* x, std::size_t n) {
  typedef Base L;
  L::vd a0 = splat<L>(0.0), a1 = splat<L>(0.0);
  std::size_t i = 0;
  for (; i + 2 * L::width <= n; i += 2 * L::width) {
    const L::vd x0 = load<L>(x + i), x1 = load<L>(x + i + L::width);
    a0 += x0 * x0;
    a1 += x1 * x1;
  }
  double s = sum_lanes<L>(a0 + a1);
  for (; i < n; ++i) s += x[i] * x[i];
  return s;
}

// The widest kernels the CPU runs: 0 the base ones, 1 AVX2 + FMA, 2 AVX-512
// (F and DQ) + FMA; simd_override() caps it when >= 0 (for tests).
inline int& simd_override() {
  static int level = -1;
  return level;
}
inline int simd_level() {
#if defined(VAECONV_AVX2)
  static const int has = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? 2 : 1;
  }();
  const int cap = simd_override();
  return cap >= 0 && cap < has ? cap : has;
#else
  return 0;
#endif
}
inline bool use_avx2() { return simd_level() >= 1; }

#if defined(VAECONV_AVX2)
__attribute__((target("avx2"))) inline void add_row_sums_avx2(const double* d,
                                                               std::size_t rows,
                                                               std::size_t cols, double* out) {
  add_row_sums_lanes<Lanes<4>>(d, rows, cols, rows, out);
}
VAECONV_TARGET_AVX512 inline void add_row_sums_avx512(const double* d, std::size_t rows,
                                                      std::size_t cols, double* out) {
  add_row_sums_lanes<Lanes<8>>(d, rows, cols, rows, out);
}
#endif

// out[i] += sum_j d[i + j rows] for the rows x cols matrix d (see
// add_row_sums_lanes: the same bits at every vector width).
inline void add_row_sums(const double* d, std::size_t rows, std::size_t cols, double* out) {
#if defined(VAECONV_AVX2)
  if (simd_level() >= 2) return add_row_sums_avx512(d, rows, cols, out);
  if (simd_level() >= 1) return add_row_sums_avx2(d, rows, cols, out);
#endif
  add_row_sums_lanes<Base>(d, rows, cols, rows, out);
}

}  // namespace vmath
}  // namespace vaeconv
