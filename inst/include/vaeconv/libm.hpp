// exp and log1p over arrays with the bits of the C library's own functions,
// several values at a time.
//
// The likelihoods call std::exp and std::log1p once per pixel. Their results
// are part of every fit, so a faster form must return the same bits, not
// merely close ones. The kernels below follow, operation for operation, the
// two routines glibc (2.28 and later) runs on a CPU with AVX2 and FMA:
//
// - exp: x = k ln2 / 128 + r with k = round(128 x / ln2), e^x = 2^(k/128)
//   (1 + tail) e^r from a table of 2^(j/128), j < 128, and a degree-5
//   polynomial; the same fused multiply-adds, in the same places, as that
//   routine compiled with FMA.
// - log1p: fdlibm's algorithm (f = x below 0.41422, else 1 + x written as
//   2 u with u in [sqrt(2) / 2, sqrt(2)) and a correction term), with the
//   same fused operations.
//
// A lane the kernels do not cover (exp: |x| below 2^-54 or from 512 on, a
// NaN or an infinity; log1p: x outside [2^-29, 1], or 1 + x within 2^-20 of
// 2) is computed by the C library itself. The kernels are used only where
// they were checked against the C library at run time (libm_agrees(): on
// 4096 fixed arguments for each function, every bit) and where the CPU has
// AVX2 and FMA; everywhere else, and when the check fails (another C
// library), every value comes from std::exp and std::log1p. So a result is
// always the C library's.
//
// 2^(j/128) is stored as its nearest double H_j, less j 2^45 in the bits
// (the exponent's share, added back from k), and tail_j = (2^(j/128) - H_j)
// / H_j rounded to the nearest double; tools/exp-table.py computes the
// table from this definition.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vmath.hpp"

#if defined(VAECONV_AVX2)
#include <immintrin.h>
#endif

namespace vaeconv {
namespace libm {

namespace detail {

// tail_j, then H_j's bits less j 2^45, for j = 0, ..., 127.
alignas(64) static const std::uint64_t exp_table[256] = {
#include "exp_table.inc"
};

constexpr std::uint64_t exp_inv_ln2_n = 0x40671547652b82feULL;    // 128 / ln 2
constexpr std::uint64_t exp_neg_ln2_hi_n = 0xbf762e42fefa0000ULL; // -(ln 2 / 128), high part
constexpr std::uint64_t exp_neg_ln2_lo_n = 0xbd0cf79abc9e3b3aULL; // and low part
constexpr std::uint64_t exp_shift = 0x4338000000000000ULL;        // 1.5 * 2^52
constexpr std::uint64_t exp_c2 = 0x3fdffffffffffdbdULL;
constexpr std::uint64_t exp_c3 = 0x3fc555555555543cULL;
constexpr std::uint64_t exp_c4 = 0x3fa55555cf172b91ULL;
constexpr std::uint64_t exp_c5 = 0x3f81111167a4d017ULL;

// fdlibm's log1p: ln 2 in two parts and the polynomial's coefficients.
constexpr double ln2_hi = 6.93147180369123816490e-01;
constexpr double ln2_lo = 1.90821492927058770002e-10;
constexpr double lp1 = 6.666666666666735130e-01;
constexpr double lp2 = 3.999999999940941908e-01;
constexpr double lp3 = 2.857142874366239149e-01;
constexpr double lp4 = 2.222219843214978396e-01;
constexpr double lp5 = 1.818357216161805012e-01;
constexpr double lp6 = 1.531383769920937332e-01;
constexpr double lp7 = 1.479819860511658591e-01;

inline double as_double(std::uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

#if defined(VAECONV_AVX2)

// The operations of the kernels on W = 4 (AVX2 + FMA) or 8 (AVX-512) lanes.
// The fused multiply-adds are single instructions in asm (so these inline
// helpers need no target attribute of their own: they are only ever inlined
// into the kernels compiled for the target). A product that the C library
// does not fuse passes through an empty asm statement, so that the compiler
// cannot fuse it with the addition that uses it.
template <std::size_t W>
struct Ops {
  typedef vmath::Lanes<W> L;
  typedef typename L::vd vd;
  typedef typename L::vu vu;
  static VAECONV_INLINE vd mul(const vd& a, const vd& b) {
    vd p = a * b;
    if constexpr (W == 8)
      __asm__("" : "+v"(p));
    else
      __asm__("" : "+x"(p));
    return p;
  }
  // a b + c and a b - c, each rounded once.
  static VAECONV_INLINE vd fma(const vd& a, const vd& b, const vd& c) {
    vd r;
    if constexpr (W == 8)
      __asm__("vfmadd213pd %3, %2, %0" : "=v"(r) : "0"(a), "v"(b), "v"(c));
    else
      __asm__("vfmadd213pd %3, %2, %0" : "=x"(r) : "0"(a), "x"(b), "x"(c));
    return r;
  }
  static VAECONV_INLINE vd fms(const vd& a, const vd& b, const vd& c) {
    vd r;
    if constexpr (W == 8)
      __asm__("vfmsub213pd %3, %2, %0" : "=v"(r) : "0"(a), "v"(b), "v"(c));
    else
      __asm__("vfmsub213pd %3, %2, %0" : "=x"(r) : "0"(a), "x"(b), "x"(c));
    return r;
  }
  // t[i[j]] in lane j (loads one by one: faster here than the gather
  // instructions on the CPUs measured).
  static VAECONV_INLINE vu gather(const std::uint64_t* t, const vu& i) {
    vu g;
    for (std::size_t j = 0; j < W; ++j) g[j] = t[i[j]];
    return g;
  }
};

// e^x for the lanes with 2^-54 <= |x| < 512; the others are flagged in
// *other (nonzero lanes) and left to the caller.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd exp_lanes(const typename O::vd& x, typename O::vd* other) {
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  // Others: |x| outside [2^-54, 512) (exponent field outside [0x3c9,
  // 0x408)), a NaN included.
  // (Every test feeds a select: GCC writes 512-bit comparisons combined by
  // bitwise operators lane by lane in these generic functions.)
  {
    typedef typename O::L L;
    const vd ax = vmath::vabs<L>(x), zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0);
    *other = vmath::select<L>(ax >= vmath::splat<L>(0x1.0p-54),
                              vmath::select<L>(ax < vmath::splat<L>(512.0), zero, one), one);
  }
  const vd shift = vmath::splat<typename O::L>(as_double(exp_shift));
  vd kd = O::fma(x, vmath::splat<typename O::L>(as_double(exp_inv_ln2_n)), shift);
  const vu ki = vmath::bits_of<typename O::L>(kd);
  kd = kd - shift;
  vd r = O::fma(kd, vmath::splat<typename O::L>(as_double(exp_neg_ln2_hi_n)), x);
  r = O::fma(kd, vmath::splat<typename O::L>(as_double(exp_neg_ln2_lo_n)), r);
  const vd p23 = O::fma(r, vmath::splat<typename O::L>(as_double(exp_c3)),
                        vmath::splat<typename O::L>(as_double(exp_c2)));
  const vu idx = (ki & 127) << 1;
  const vd tail = vmath::from_bits<typename O::L>(O::gather(exp_table, idx));
  const vu sbits = O::gather(exp_table + 1, idx) + (ki << 45);
  const vd tr = r + tail;
  const vd r2 = O::mul(r, r);
  const vd p45 = O::fma(r, vmath::splat<typename O::L>(as_double(exp_c5)),
                        vmath::splat<typename O::L>(as_double(exp_c4)));
  const vd a = O::fma(p23, r2, tr);
  const vd r4 = O::mul(r2, r2);
  const vd tmp = O::fma(r4, p45, a);
  const vd scale = vmath::from_bits<typename O::L>(sbits);
  return O::fma(scale, tmp, scale);
}

// log(1 + x) for the lanes with 2^-29 <= x <= 1 and 1 + x not within 2^-20
// of 2; the others flagged in *other.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd log1p_lanes(const typename O::vd& x, typename O::vd* other) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  typedef typename L::vi vi;
  const vd one = vmath::splat<L>(1.0), half = vmath::splat<L>(0.5);
  // The C library's branches test the high word of x and of u = 1 + x;
  // the same tests are written here on the doubles (GCC writes some 512-bit
  // integer comparisons lane by lane). Below 0.41422 (high word 0x3fda827a):
  // k = 0 and f = x. From it on: u (in [1.41, 2)), c = (x - (u - 1)) / u
  // what u lost, and f = u / 2 - 1 with k = 1.
  const vd x_small = vmath::from_bits<L>(vu{} + 0x3fda827a00000000ULL);
  const vi small = x < x_small;
  const vd u = x + one;
  const vd c = (x - (u - one)) / u;
  const vd u2 = vmath::from_bits<L>((vmath::bits_of<L>(u) & 0x800fffffffffffffULL) |
                                    0x3fe0000000000000ULL);
  const vd f = vmath::select<L>(small, x, u2 - one);
  // Others: x outside [2^-29, 1] (a NaN included); from 0.41422 on, u
  // whose high fraction bits hu are below 0x6a09e or have (0x100000 - hu) /
  // 4 = 0 (hu >= 0xffffd; u >= 2 included): the C library's other branches.
  const vd lo_u = vmath::from_bits<L>(vu{} + 0x3ff6a09e00000000ULL),
           hi_u = vmath::from_bits<L>(vu{} + 0x3ffffffd00000000ULL);
  const vd zero = vmath::splat<L>(0.0);
  const vd outside = vmath::select<L>(x >= vmath::splat<L>(0x1.0p-29),
                                      vmath::select<L>(x <= one, zero, one), one);
  const vd bad_u =
      vmath::select<L>(u < lo_u, one, vmath::select<L>(u >= hi_u, one, zero));
  *other = outside + vmath::select<L>(small, zero, bad_u);  // (a select: see exp_lanes)
  const vd hfsq = O::mul(O::mul(f, half), f);
  const vd s = f / (f + vmath::splat<L>(2.0));
  const vd z = O::mul(s, s);
  const vd a11 = O::fma(z, vmath::splat<L>(lp3), vmath::splat<L>(lp2));
  const vd a10 = O::fma(z, vmath::splat<L>(lp5), vmath::splat<L>(lp4));
  const vd a9 = O::fma(z, vmath::splat<L>(lp7), vmath::splat<L>(lp6));
  const vd z2 = O::mul(z, z);
  const vd z4 = O::mul(z2, z2);
  const vd z6 = O::mul(z2, z4);
  const vd r1 = O::fma(z, vmath::splat<L>(lp1), O::mul(z2, a11));
  const vd r8 = O::fma(z4, a10, r1);
  const vd R = O::fma(z6, a9, r8);
  const vd t = O::mul(R + hfsq, s);
  const vd lo = f - (hfsq - t);
  const vd k = one;
  const vd hi = O::fms(k, vmath::splat<L>(ln2_hi),
                       (hfsq - (O::fma(k, vmath::splat<L>(ln2_lo), c) + t)) - f);
  return vmath::select<L>(small, lo, hi);
}

// y[i] = exp(x[i]) (Log1p false; with NegAbs exp(-|x[i]|)) or log1p(x[i])
// (Log1p true) over n values, W at a time, the last ones padded; the lanes
// the kernel does not cover through the C library.
template <std::size_t W, bool Log1p, bool NegAbs>
VAECONV_INLINE void map_lanes(const double* x, double* y, std::size_t n) {
  typedef typename Ops<W>::L L;
  typedef typename L::vd vd;
  typedef typename L::vu vu;
  for (std::size_t i = 0; i < n; i += W) {
    const std::size_t m = n - i < W ? n - i : W;
    vd v;
    if (m == W) {
      v = vmath::load<L>(x + i);
    } else {
      v = vmath::splat<L>(Log1p ? 0.5 : -1.0);
      for (std::size_t j = 0; j < m; ++j) v[j] = x[i + j];
    }
    if (NegAbs)  // -|x| by the sign bit, as -std::fabs(x) (NaNs included)
      v = vmath::from_bits<L>(vmath::bits_of<L>(v) | 0x8000000000000000ULL);
    vd flag;
    const vd r = Log1p ? log1p_lanes<W>(v, &flag) : exp_lanes<W>(v, &flag);
    const vu other = vmath::bits_of<L>(flag);
    typename vmath::Lanes<4>::vu any4;  // the lanes or'ed together
    if constexpr (W == 8)
      any4 = __builtin_shufflevector(other, other, 0, 1, 2, 3) |
             __builtin_shufflevector(other, other, 4, 5, 6, 7);
    else
      any4 = other;
    const typename vmath::Lanes<2>::vu any2 =
        __builtin_shufflevector(any4, any4, 0, 1) | __builtin_shufflevector(any4, any4, 2, 3);
    if (m == W && !(any2[0] | any2[1])) {
      vmath::store<L>(y + i, r);
      continue;
    }
    for (std::size_t j = 0; j < m; ++j)
      y[i + j] = other[j] ? (Log1p ? std::log1p(v[j]) : std::exp(v[j])) : r[j];
  }
}

__attribute__((target("avx2,fma"))) inline void exp_avx2(const double* x, double* y,
                                                          std::size_t n, bool neg_abs) {
  if (neg_abs)
    map_lanes<4, false, true>(x, y, n);
  else
    map_lanes<4, false, false>(x, y, n);
}
VAECONV_TARGET_AVX512 inline void exp_avx512(const double* x, double* y, std::size_t n,
                                             bool neg_abs) {
  if (neg_abs)
    map_lanes<8, false, true>(x, y, n);
  else
    map_lanes<8, false, false>(x, y, n);
}
__attribute__((target("avx2,fma"))) inline void log1p_avx2(const double* x, double* y,
                                                            std::size_t n) {
  map_lanes<4, true, false>(x, y, n);
}
VAECONV_TARGET_AVX512 inline void log1p_avx512(const double* x, double* y, std::size_t n) {
  map_lanes<8, true, false>(x, y, n);
}

#endif  // VAECONV_AVX2

}  // namespace detail

// exp(x[i]) (exp(-|x[i]|) when neg_abs) into y[i], i < n, at kernel width
// w (0: the C library's calls; 4, 8: the kernels, which must be available).
inline void exp_at(int w, const double* x, double* y, std::size_t n, bool neg_abs = false) {
#if defined(VAECONV_AVX2)
  if (w == 8) return detail::exp_avx512(x, y, n, neg_abs);
  if (w == 4) return detail::exp_avx2(x, y, n, neg_abs);
#else
  (void)w;
#endif
  if (neg_abs)
    for (std::size_t i = 0; i < n; ++i) y[i] = std::exp(-std::fabs(x[i]));
  else
    for (std::size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

// log1p(x[i]) into y[i], i < n, at kernel width w.
inline void log1p_at(int w, const double* x, double* y, std::size_t n) {
#if defined(VAECONV_AVX2)
  if (w == 8) return detail::log1p_avx512(x, y, n);
  if (w == 4) return detail::log1p_avx2(x, y, n);
#else
  (void)w;
#endif
  for (std::size_t i = 0; i < n; ++i) y[i] = std::log1p(x[i]);
}

// The arguments of the run-time check: for exp, 4096 points spread over
// [-745, 710] (every lane kind: tiny, ordinary, past 512, underflowing) and
// for log1p 4096 over [0, 1] with a share below 2^-20 and near 1.
inline void check_arguments(double* ex, double* lx, std::size_t n) {
  std::uint64_t s = 0x9e3779b97f4a7c15ULL;
  for (std::size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const double u = double(s >> 11) * 0x1.0p-53;  // [0, 1)
    switch (i % 4) {
      case 0: ex[i] = -745.0 + 1455.0 * u; lx[i] = u; break;
      case 1: ex[i] = -40.0 + 40.0 * u; lx[i] = u * 0x1.0p-20; break;
      case 2: ex[i] = std::ldexp(u - 0.5, -50); lx[i] = 1.0 - u * 0x1.0p-18; break;
      default: ex[i] = -std::ldexp(1.0 + u, int(i % 20) - 10); lx[i] = std::ldexp(u, -int(i % 60)); break;
    }
  }
}

// Whether the kernels at width w give every bit of std::exp and std::log1p
// on the check's arguments.
inline bool agrees_at(int w) {
  constexpr std::size_t n = 4096;
  std::vector<double> buf(4 * n);
  double *ex = buf.data(), *lx = ex + n, *a = lx + n, *b = a + n;
  const std::size_t bytes = n * sizeof(double);
  check_arguments(ex, lx, n);
  exp_at(w, ex, a, n);
  exp_at(0, ex, b, n);
  if (std::memcmp(a, b, bytes) != 0) return false;
  exp_at(w, ex, a, n, true);
  exp_at(0, ex, b, n, true);
  if (std::memcmp(a, b, bytes) != 0) return false;
  log1p_at(w, lx, a, n);
  log1p_at(0, lx, b, n);
  return std::memcmp(a, b, bytes) == 0;
}

// The widest kernels the CPU runs that agree with its C library (each width
// checked once per process, the first time it is asked for), capped by
// vmath's simd_override() as the other kernels are.
inline int width() {
#if defined(VAECONV_AVX2)
  const int level = vmath::simd_level();
  if (level >= 2) {
    static const bool ok8 = agrees_at(8);
    if (ok8) return 8;
  }
  if (level >= 1) {
    static const bool ok4 = agrees_at(4);
    if (ok4) return 4;
  }
#endif
  return 0;
}

// Whether the vector kernels are in use (the C library agreed with them).
inline bool vectorised() { return width() > 0; }

inline void exp(const double* x, double* y, std::size_t n) { exp_at(width(), x, y, n); }
inline void exp_neg_abs(const double* x, double* y, std::size_t n) {
  exp_at(width(), x, y, n, true);
}
inline void log1p(const double* x, double* y, std::size_t n) { log1p_at(width(), x, y, n); }

}  // namespace libm
}  // namespace vaeconv
