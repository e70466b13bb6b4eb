// exp, log1p, log, expm1 and sinh over arrays with the bits of the C
// library's own functions, several values at a time.
//
// The likelihoods call these once or more per pixel. Their results are part
// of every fit, so a faster form must return the same bits, not merely
// close ones. The kernels below follow, operation for operation, the
// routines glibc (2.36, Debian 12's) runs on a CPU with AVX2 and FMA, where
// its ifuncs choose the builds compiled with FMA; each kernel has the fused
// multiply-adds that build has, in the same places, and no others:
//
// - exp (__ieee754_exp_fma): x = k ln2 / 128 + r, e^x = 2^(k/128) (1 +
//   tail) e^r from a table of 2^(j/128), j < 128, and a degree-5 polynomial.
// - log1p (__log1p_fma): fdlibm's algorithm (f = x below 0.41422, else 1 + x
//   written as 2 u with u in [sqrt(2) / 2, sqrt(2)) and a correction term).
// - log (__ieee754_log_fma, ARM's optimized routines): near 1 (x in [1 -
//   2^-4, 1 + 0x1.09p-4)) r = x - 1, r - r^2 / 2 in two parts and a
//   degree-12 polynomial; elsewhere x = 2^k z, a table of 128 (1 / c, log c)
//   and a degree-6 polynomial in r = z / c - 1.
// - expm1 (__expm1_fma): fdlibm's algorithm, x = k ln2 + r with k = 0 below
//   0.5 ln 2, +-1 below 1.5 ln 2, else (int) (x / ln 2 +- 1/2), a rational
//   kernel in r and a reconstruction by k.
// - sinh (__ieee754_sinh, compiled without FMA): fdlibm's, over expm1 below
//   22 and over exp from 22 on (through the ifuncs: the FMA builds above).
//
// A lane a kernel does not cover (exp: |x| below 2^-54 or from 512 on, a NaN
// or an infinity; log1p: x outside [2^-29, 1], or 1 + x within 2^-20 of 2;
// log: x not a positive normal number; expm1: x from 56 ln 2 on or a NaN;
// sinh: |x| from 709.78 on or a NaN) is computed by the C library itself.
// Each function's kernels are used only where they were checked against the
// C library at run time (agrees_at(): on 4096 fixed arguments per function
// and width, every bit, once per process) and where the CPU has AVX2 and
// FMA; everywhere else, when a check fails (another C library, or another
// build of it) and in builds by compilers other than GCC, every value of
// that function comes from the C library's own call. So a result is always
// the C library's.
//
// Tables: 2^(j/128) is stored as its nearest double H_j, less j 2^45 in the
// bits (the exponent's share, added back from k), and tail_j = (2^(j/128) -
// H_j) / H_j rounded to the nearest double (tools/exp-table.py computes them
// from this definition). log's table holds glibc's invc_i
// (__log_data.tab[i].invc: values its authors chose by a search, copied
// from glibc's data) and logc_i = log(1 / invc_i) rounded to the nearest
// double (tools/log-table.py computes logc from invc). The polynomial
// coefficients and invc are numbers of the routines' authors: ARM's
// optimized-routines (exp, log; MIT licence), fdlibm (log1p, expm1, sinh;
// Sun's permissive notice), as glibc carries them.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vmath.hpp"

// The kernels need GCC: Clang rejects vector operands of the asm statements
// below in functions without the target's attributes.
#if defined(VAECONV_AVX2) && !defined(__clang__)
#define VAECONV_LIBM_KERNELS 1
#endif

namespace vaeconv {
namespace libm {

// The functions with kernels here.
enum class Fn { exp, log1p, log, expm1, sinh };

namespace detail {

inline double as_double(std::uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// The C library's function f at x.
inline double call(Fn f, double x) {
  switch (f) {
    case Fn::exp: return std::exp(x);
    case Fn::log1p: return std::log1p(x);
    case Fn::log: return std::log(x);
    case Fn::expm1: return std::expm1(x);
    case Fn::sinh: return std::sinh(x);
  }
  return x;
}

#if defined(VAECONV_LIBM_KERNELS)

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

// ---- log
// glibc's log (sysdeps/ieee754/dbl-64/e_log.c, ARM's optimized routines,
// glibc 2.28 and later) as __ieee754_log_fma runs it. For x in
// [1 - 2^-4, 1 + 0x1.09p-4): r = x - 1, log x = hi + (lo + r^3 P(r)) with
// hi + lo = r - r^2 / 2 to about twice a double's precision (r^2 / 2 =
// rhi^2 / 2, exact with rhi r's top 26 bits, plus (r - rhi)(r + rhi) / 2). Else
// x = 2^k z, z in [0x1.6p-1, 0x1.6p0), its 128 subintervals of equal bit
// width each with invc ~ 1 / c and logc = log c: log x = k ln2 + logc +
// log1p(r), r = z invc - 1, log1p(r) - r a degree-5 polynomial.

// invc_i, then logc_i, for i = 0, ..., 127 (glibc's __log_data.tab).
alignas(64) static const std::uint64_t log_table[256] = {
#include "log_table.inc"
};

constexpr std::uint64_t log_ln2_hi = 0x3fe62e42fefa3800ULL;  // ln 2, 42 bits
constexpr std::uint64_t log_ln2_lo = 0x3d2ef35793c76730ULL;  // and the rest
// log1p(r) - r ~ A0 r^2 + ... + A4 r^6 (table path).
constexpr std::uint64_t log_a[5] = {0xbfe0000000000001ULL, 0x3fd555555551305bULL,
                                    0xbfcfffffffeb4590ULL, 0x3fc999b324f10111ULL,
                                    0xbfc55575e506c89fULL};
// log(1 + r) ~ r + B0 r^2 + B1 r^3 + ... + B10 r^12 (near 1; B0 = -1/2).
constexpr std::uint64_t log_b[11] = {
    0xbfe0000000000000ULL, 0x3fd5555555555577ULL, 0xbfcffffffffffdcbULL,
    0x3fc999999995dd0cULL, 0xbfc55555556745a7ULL, 0x3fc24924a344de30ULL,
    0xbfbfffffa4423d65ULL, 0x3fbc7184282ad6caULL, 0xbfb999eb43b068ffULL,
    0x3fb78182f7afd085ULL, 0xbfb5521375d145cdULL};
constexpr std::uint64_t log_off = 0x3fe6000000000000ULL;  // 0x1.6p-1: z's lower end

// The double of bits b in every lane.
template <class L>
VAECONV_INLINE typename L::vd splat_bits(std::uint64_t b) {
  return vmath::splat<L>(as_double(b));
}

// ---- expm1 and sinh
// fdlibm's expm1 constants: 1 / ln 2 and Q1, ..., Q5 (ln 2 in two parts:
// ln2_hi and ln2_lo above, the same bits).
constexpr std::uint64_t em_invln2 = 0x3ff71547652b82feULL;
constexpr std::uint64_t em_q1 = 0xbfa11111111110f4ULL;
constexpr std::uint64_t em_q2 = 0x3f5a01a019fe5585ULL;
constexpr std::uint64_t em_q3 = 0xbf14ce199eaadbb7ULL;
constexpr std::uint64_t em_q4 = 0x3ed0cfca86e65239ULL;
constexpr std::uint64_t em_q5 = 0xbe8afdb76e09c32dULL;
// The branches' thresholds on |x|: the C routines test the high word of x,
// so each is a double with a zero low word (the first |x| of the next
// branch). expm1: 2^-54, 0.5 ln 2 (high word above 0x3fd62e42), 1.5 ln 2
// (0x3ff0a2b2), 56 ln 2 (0x4043687a); sinh: 2^-28, 1, 22, and 709.78
// (0x40862e42: from there exp(|x| / 2)^2 / 2 and overflow).
constexpr std::uint64_t em_tiny = 0x3c90000000000000ULL;
constexpr std::uint64_t em_half_ln2 = 0x3fd62e4300000000ULL;
constexpr std::uint64_t em_3half_ln2 = 0x3ff0a2b200000000ULL;
constexpr std::uint64_t em_56ln2 = 0x4043687a00000000ULL;
constexpr std::uint64_t sh_tiny = 0x3e30000000000000ULL;
constexpr std::uint64_t sh_big = 0x40862e4200000000ULL;

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
  // a b + c, a b - c and -(a b) + c, each rounded once (vfmadd213pd,
  // vfmsub213pd, vfnmadd213pd).
#define VAECONV_LIBM_FUSED(name, insn)                                              \
  static VAECONV_INLINE vd name(const vd& a, const vd& b, const vd& c) {            \
    vd r;                                                                           \
    if constexpr (W == 8)                                                           \
      __asm__(insn " %3, %2, %0" : "=v"(r) : "0"(a), "v"(b), "v"(c));              \
    else                                                                            \
      __asm__(insn " %3, %2, %0" : "=x"(r) : "0"(a), "x"(b), "x"(c));              \
    return r;                                                                       \
  }
  VAECONV_LIBM_FUSED(fma, "vfmadd213pd")
  VAECONV_LIBM_FUSED(fms, "vfmsub213pd")
  VAECONV_LIBM_FUSED(fnma, "vfnmadd213pd")
#undef VAECONV_LIBM_FUSED
  // t[i[j]] in lane j (loads one by one: faster here than the gather
  // instructions on the CPUs measured).
  static VAECONV_INLINE vu gather(const std::uint64_t* t, const vu& i) {
    vu g;
    for (std::size_t j = 0; j < W; ++j) g[j] = t[i[j]];
    return g;
  }
};

// Whether any lane of f is nonzero (its bits or'ed together).
template <std::size_t W>
VAECONV_INLINE bool any_lane(const typename vmath::Lanes<W>::vd& f) {
  const typename vmath::Lanes<W>::vu b = vmath::bits_of<vmath::Lanes<W>>(f);
  typename vmath::Lanes<4>::vu b4;
  if constexpr (W == 8)
    b4 = __builtin_shufflevector(b, b, 0, 1, 2, 3) | __builtin_shufflevector(b, b, 4, 5, 6, 7);
  else
    b4 = b;
  const typename vmath::Lanes<2>::vu b2 =
      __builtin_shufflevector(b4, b4, 0, 1) | __builtin_shufflevector(b4, b4, 2, 3);
  return (b2[0] | b2[1]) != 0;
}

// a rounded toward zero to an integer (as C's conversion of a double to int).
template <std::size_t W>
VAECONV_INLINE typename vmath::Lanes<W>::vd vtrunc(const typename vmath::Lanes<W>::vd& a) {
  typename vmath::Lanes<W>::vd r;
  if constexpr (W == 8)
    __asm__("vrndscalepd $3, %1, %0" : "=v"(r) : "v"(a));
  else
    __asm__("vroundpd $3, %1, %0" : "=x"(r) : "x"(a));
  return r;
}

// mask ? a : b lane by lane: vmath::select_bits(), but at width 4 one
// vblendvpd (the bitwise blend, three dependent operations, lengthened these
// kernels' critical paths by a third).
template <std::size_t W>
VAECONV_INLINE typename vmath::Lanes<W>::vd sel(const typename vmath::Lanes<W>::vi& mask,
                                                const typename vmath::Lanes<W>::vd& a,
                                                const typename vmath::Lanes<W>::vd& b) {
  if constexpr (W == 4) {
    typename vmath::Lanes<W>::vd r;
    __asm__("vblendvpd %1, %2, %3, %0" : "=x"(r) : "x"(mask), "x"(a), "x"(b));
    return r;
  } else {
    return vmath::select_bits<vmath::Lanes<W>>(mask, a, b);
  }
}

// The steps of glibc's exp shared by its main branch and its special case:
// x = k ln2 / 128 + r (k rounded to the nearest, from the fused x 128 / ln 2
// + 1.5 2^52), and e^x = scale (1 + tmp) with scale 2^(k/128) from the
// table (its bits in *sbits) and tmp = tail + r + r^2 (C2 + r C3) + r^4 (C4
// + r C5), every sum fused to its product as __ieee754_exp_fma has them.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd exp_core(const typename O::vd& x, typename O::vu* sbits) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  const vd shift = splat_bits<L>(exp_shift);
  vd kd = O::fma(x, splat_bits<L>(exp_inv_ln2_n), shift);
  const vu ki = vmath::bits_of<L>(kd);
  kd = kd - shift;
  vd r = O::fma(kd, splat_bits<L>(exp_neg_ln2_hi_n), x);
  r = O::fma(kd, splat_bits<L>(exp_neg_ln2_lo_n), r);
  const vd p23 = O::fma(r, splat_bits<L>(exp_c3), splat_bits<L>(exp_c2));
  const vu idx = (ki & 127) << 1;
  const vd tail = vmath::from_bits<L>(O::gather(exp_table, idx));
  *sbits = O::gather(exp_table + 1, idx) + (ki << 45);
  const vd tr = r + tail;
  const vd r2 = O::mul(r, r);
  const vd p45 = O::fma(r, splat_bits<L>(exp_c5), splat_bits<L>(exp_c4));
  const vd a = O::fma(p23, r2, tr);
  const vd r4 = O::mul(r2, r2);
  return O::fma(r4, p45, a);
}

// e^x for the lanes with 2^-54 <= |x| < 512: scale + scale tmp, fused; the
// others are flagged in *other (nonzero lanes) and left to the caller.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd exp_lanes(const typename O::vd& x, typename O::vd* other) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  // Others: |x| outside [2^-54, 512) (exponent field outside [0x3c9,
  // 0x408)), a NaN included. (Every test feeds a select: GCC writes 512-bit
  // comparisons combined by bitwise operators lane by lane in these generic
  // functions.)
  const vd ax = vmath::vabs<L>(x), zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0);
  *other = vmath::select_bits<L>(ax >= vmath::splat<L>(0x1.0p-54),
                                 vmath::select_bits<L>(ax < vmath::splat<L>(512.0), zero, one),
                                 one);
  vu sbits;
  const vd tmp = exp_core<W, O>(x, &sbits);
  const vd scale = vmath::from_bits<L>(sbits);
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
  const vd f = vmath::select_bits<L>(small, x, u2 - one);
  // Others: x outside [2^-29, 1] (a NaN included); from 0.41422 on, u
  // whose high fraction bits hu are below 0x6a09e or have (0x100000 - hu) /
  // 4 = 0 (hu >= 0xffffd; u >= 2 included): the C library's other branches.
  const vd lo_u = vmath::from_bits<L>(vu{} + 0x3ff6a09e00000000ULL),
           hi_u = vmath::from_bits<L>(vu{} + 0x3ffffffd00000000ULL);
  const vd zero = vmath::splat<L>(0.0);
  const vd outside = vmath::select_bits<L>(x >= vmath::splat<L>(0x1.0p-29),
                                           vmath::select_bits<L>(x <= one, zero, one), one);
  const vd bad_u =
      vmath::select_bits<L>(u < lo_u, one, vmath::select_bits<L>(u >= hi_u, one, zero));
  *other = outside + vmath::select_bits<L>(small, zero, bad_u);  // (a select: see exp_lanes)
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
  return vmath::select_bits<L>(small, lo, hi);
}

// log x for the lanes with 2^-1022 <= x <= DBL_MAX (positive normal
// numbers); the others (zero, subnormal, negative, infinite, NaN) are
// flagged in *other (nonzero lanes) and left to the caller.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd log_lanes(const typename O::vd& x, typename O::vd* other) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  const vd zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0);
  // The C library tests the bits of x as integers; for a positive x the
  // same tests are orderings of doubles (a NaN fails every one). Every test
  // feeds a select (see exp_lanes).
  *other = vmath::select_bits<L>(
      x >= vmath::splat<L>(0x1.0p-1022),
      vmath::select_bits<L>(x <= vmath::splat<L>(0x1.fffffffffffffp1023), zero, one), one);
  // Table path. tmp = x's bits less z's lower end: its top 12 bits (signed)
  // are k, the next 7 the subinterval i; z = x with k taken out of the
  // exponent.
  const vu ix = vmath::bits_of<L>(x);
  const vu tmp = ix - log_off;
  const vu idx = ((tmp >> 45) & 127) << 1;
  const vd z = vmath::from_bits<L>(ix - (tmp & 0xfff0000000000000ULL));
  // k as a double, exactly: (k + 1023) in the low bits of 2^52, less
  // 2^52 + 1023 (no signed shift or conversion of 64-bit lanes in AVX2).
  const vd kd = vmath::from_bits<L>(((tmp + (1023ULL << 52)) >> 52) | 0x4330000000000000ULL) -
                vmath::splat<L>(0x1.0p52 + 1023.0);
  const vd invc = vmath::from_bits<L>(O::gather(log_table, idx));
  const vd logc = vmath::from_bits<L>(O::gather(log_table + 1, idx));
  // r = z invc - 1 in one rounding (glibc's __FP_FAST_FMA branch);
  // hi + lo = k ln2 + logc + r.
  const vd r = O::fma(z, invc, vmath::splat<L>(-1.0));
  const vd w = O::fma(kd, splat_bits<L>(log_ln2_hi), logc);
  const vd hi = w + r;
  const vd lo = O::fma(kd, splat_bits<L>(log_ln2_lo), (w - hi) + r);
  // y = lo + r^2 A0 + r^3 (A1 + r A2 + r^2 (A3 + r A4)) + hi, its products
  // fused as GCC fused them: r^2 and r^3 = r r^2 are plain products.
  const vd r2 = O::mul(r, r);
  const vd r3 = O::mul(r, r2);
  const vd a12 = O::fma(r, splat_bits<L>(log_a[2]), splat_bits<L>(log_a[1]));
  const vd a34 = O::fma(r, splat_bits<L>(log_a[4]), splat_bits<L>(log_a[3]));
  const vd q = O::fma(a34, r2, a12);
  const vd t = O::fma(r2, splat_bits<L>(log_a[0]), lo);
  const vd y_tab = O::fma(r3, q, t) + hi;
  // Near 1: the bits of x in [0x3fee000000000000, 0x3ff1090000000000),
  // i.e. x in [1 - 2^-4, 1 + 0x1.09p-4). Computed only when a lane is.
  const vd near = vmath::select_bits<L>(
      x >= vmath::splat<L>(0x1.ep-1),
      vmath::select_bits<L>(x < vmath::splat<L>(0x1.109p0), one, zero), zero);
  if (!any_lane<W>(near)) return y_tab;
  // r = x - 1 (exact). glibc's y = r^3 (B1 + r B2 + r^2 B3 + r^3 (B4 + r B5
  // + r^2 B6 + r^3 (B7 + r B8 + r^2 B9 + r^3 B10))), every product with a
  // B or with r^3 fused into the addition that follows it, inside out; the
  // outer r^3 (...) fused with the addition of lo below.
  const vd s = x - one;
  const vd s2 = O::mul(s, s);
  const vd s3 = O::mul(s, s2);
  const vd b1 = O::fma(s2, splat_bits<L>(log_b[3]),
                       O::fma(s, splat_bits<L>(log_b[2]), splat_bits<L>(log_b[1])));
  const vd b4 = O::fma(s2, splat_bits<L>(log_b[6]),
                       O::fma(s, splat_bits<L>(log_b[5]), splat_bits<L>(log_b[4])));
  const vd b7 = O::fma(s3, splat_bits<L>(log_b[10]),
                       O::fma(s2, splat_bits<L>(log_b[9]),
                              O::fma(s, splat_bits<L>(log_b[8]), splat_bits<L>(log_b[7]))));
  const vd poly = O::fma(O::fma(b7, s3, b4), s3, b1);
  // rhi = r + w - w with w = r 2^27: r's top 26 bits. GCC fused both
  // operations with the product (exact, so the same as the source's).
  const vd two27 = vmath::splat<L>(0x1.0p27);
  const vd rhi = O::fma(-s, two27, O::fma(s, two27, s));
  const vd rlo = s - rhi;
  // w = rhi^2 B0 (rhi^2 a plain product), hi = r + w and lo = r - hi + w,
  // both fused; lo += (B0 rlo) (rhi + r), fused, B0 rlo plain.
  const vd h2 = O::mul(rhi, rhi);
  const vd b0 = splat_bits<L>(log_b[0]);
  const vd hi1 = O::fma(h2, b0, s);
  const vd lo1 = O::fma(O::mul(b0, rlo), s + rhi, O::fma(h2, b0, s - hi1));
  // log 1 = +0, as the C library returns it (the sum gives +0 too when
  // rounding to nearest).
  const vd y_one = vmath::select_bits<L>(x == one, zero, hi1 + O::fma(s3, poly, lo1));
  return vmath::select_bits<L>(near > zero, y_one, y_tab);
}

// expm1(x) for 2^-54 <= |x| < 56 ln 2 (ax = |x|): fdlibm's reduction and
// reconstruction for every k, the branch chosen lane by lane.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd expm1_core(const typename O::vd& x, const typename O::vd& ax) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  const vd zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0),
           half = vmath::splat<L>(0.5);
  // k: 0 below 0.5 ln 2; +-1 below 1.5 ln 2; else (int) (x / ln 2 +- 0.5),
  // the product rounded before the sum (not fused); the signs x's sign bit.
  const vu sign = vmath::bits_of<L>(x) & 0x8000000000000000ULL;
  const vd kd = sel<W>(
      ax >= vmath::from_bits<L>(vu{} + em_3half_ln2),
      vtrunc<W>(O::mul(x, splat_bits<L>(em_invln2)) +
                vmath::from_bits<L>(vmath::bits_of<L>(half) | sign)),
      sel<W>(ax < vmath::from_bits<L>(vu{} + em_half_ln2), zero,
             vmath::from_bits<L>(vmath::bits_of<L>(one) | sign)));
  // hi = x - k ln2_hi (fused; exact), lo = k ln2_lo, x = hi - lo (xr) and
  // c = (hi - xr) - lo. (With k = +-1 this is the C routine's x -+ ln2_hi,
  // +-ln2_lo; with k = 0, xr = x, and c is not used.)
  const vd hi = O::fma(kd, vmath::splat<L>(-ln2_hi), x);
  const vd lo = O::mul(kd, vmath::splat<L>(ln2_lo));
  const vd xr = hi - lo;
  const vd c = (hi - xr) - lo;
  // hfx = x / 2, hxs = x hfx; r1 = 1 + hxs Q1 + hxs^2 (Q2 + hxs Q3) +
  // hxs^4 (Q4 + hxs Q5) with every sum fused to its product; t = 3 - r1 hfx
  // (fused); e = hxs ((r1 - t) / (6 - x t)) (6 - x t fused).
  const vd hfx = O::mul(xr, half);
  const vd hxs = O::mul(xr, hfx);
  const vd R1 = O::fma(hxs, splat_bits<L>(em_q1), one);
  const vd R2 = O::fma(hxs, splat_bits<L>(em_q3), splat_bits<L>(em_q2));
  const vd R3 = O::fma(hxs, splat_bits<L>(em_q5), splat_bits<L>(em_q4));
  const vd h2 = O::mul(hxs, hxs);
  const vd h4 = O::mul(h2, h2);
  const vd r1 = O::fma(h4, R3, O::fma(h2, R2, R1));
  const vd t = O::fnma(r1, hfx, vmath::splat<L>(3.0));
  const vd e = O::mul(hxs, (r1 - t) / O::fnma(xr, t, vmath::splat<L>(6.0)));
  // k = 0: x - (x e - hxs), the product fused.
  const vd y0 = xr - O::fms(e, xr, hxs);
  // Else e = (x (e - c) - c) - hxs (fused), then by k:
  const vd e2 = O::fms(e - c, xr, c) - hxs;
  // k = -1: (x - e) / 2 - 1/2 (fused; exact product).
  const vd ym1 = O::fma(half, xr - e2, vmath::splat<L>(-0.5));
  // k = 1: -2 (e - (x + 1/2)) for x < -1/4, else 1 + 2 (x - e) (fused).
  const vd y1 = sel<W>(xr < vmath::splat<L>(-0.25),
                       O::mul(vmath::splat<L>(-2.0), e2 - (xr + half)),
                       O::fma(xr - e2, vmath::splat<L>(2.0), one));
  // k <= -2: (1 - (e - x)) 2^k - 1; 2 <= k < 20: ((1 - 2^-k) - (e - x)) 2^k;
  // 20 <= k <= 56: ((x - (e + 2^-k)) + 1) 2^k; 2^k by adding k to the
  // exponent field (kb: k << 52 from the bits of k + 1.5 2^52).
  const vu kb = vmath::bits_of<L>(kd + splat_bits<L>(exp_shift)) << 52;
  const vd tk = vmath::from_bits<L>(vu{} + 0x3ff0000000000000ULL - kb);  // 2^-k
  const vd ya = sel<W>(kd < vmath::splat<L>(20.0),
                       sel<W>(kd < zero, one, one - tk) - (e2 - xr), (xr - (e2 + tk)) + one);
  const vd ys = vmath::from_bits<L>(vmath::bits_of<L>(ya) + kb);
  const vd yk = ys - sel<W>(kd < zero, one, zero);  // (ys - 0 is ys)
  // The last value computed (|k| >= 2) selected last.
  const vd ak = vmath::from_bits<L>(vmath::bits_of<L>(kd) & 0x7fffffffffffffffULL);
  return sel<W>(ak < vmath::splat<L>(2.0),
                sel<W>(kd == zero, y0, sel<W>(kd == -one, ym1, y1)), yk);
}

// expm1(x) for x < 56 ln 2 (2^-54 <= |x|: the kernel; below: x itself;
// x <= -56 ln 2, -inf included: -1); the others (NaN, x >= 56 ln 2)
// flagged in *other.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd expm1_lanes(const typename O::vd& x, typename O::vd* other) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  const vd zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0);
  const vd big = vmath::from_bits<L>(vu{} + em_56ln2);
  *other = sel<W>(x < big, zero, one);  // (a select: see exp_lanes)
  const vd ax = vmath::from_bits<L>(vmath::bits_of<L>(x) & 0x7fffffffffffffffULL);
  return sel<W>(ax < vmath::from_bits<L>(vu{} + em_tiny), x,
                sel<W>(x <= -big, -one, expm1_core<W, O>(x, ax)));
}

// e^x for 22 <= x < 709.78: as exp_lanes below 512, and from 512 on as
// glibc's special case, 2^1009 (s + s tmp) with s = 2^-1009 scale (fused).
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd exp_big_lanes(const typename O::vd& x) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  vu sbits;
  const vd tmp = exp_core<W, O>(x, &sbits);
  const vd below = vmath::splat<L>(512.0);
  // The exponent's share less 1009 from 512 on.
  const vu drop = vmath::bits_of<L>(sel<W>(
      x < below, vmath::splat<L>(0.0), vmath::from_bits<L>(vu{} + (1009ULL << 52))));
  const vd scale = vmath::from_bits<L>(sbits - drop);
  return O::mul(O::fma(scale, tmp, scale),
                sel<W>(x < below, vmath::splat<L>(1.0), vmath::splat<L>(0x1.0p1009)));
}

// sinh(x) for |x| < 709.78 (0x40862e42): x itself below 2^-28; t =
// expm1(|x|) and h (t + t - t t / (t + 1)) below 1, h (t + t / (t + 1))
// below 22; h e^|x| from 22 on, h = +-1/2 with x's sign (no operation fused:
// e_sinh.c is compiled without FMA). The others (from 709.78 on, NaN)
// flagged in *other.
template <std::size_t W, class O = Ops<W>>
VAECONV_INLINE typename O::vd sinh_lanes(const typename O::vd& x, typename O::vd* other) {
  typedef typename O::L L;
  typedef typename O::vd vd;
  typedef typename O::vu vu;
  const vd zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0),
           half = vmath::splat<L>(0.5);
  const vd ax = vmath::from_bits<L>(vmath::bits_of<L>(x) & 0x7fffffffffffffffULL);
  const vd top = vmath::from_bits<L>(vu{} + sh_big), v22 = vmath::splat<L>(22.0);
  *other = sel<W>(ax < top, zero, one);  // (a select: see exp_lanes)
  const vd h = vmath::from_bits<L>(vmath::bits_of<L>(half) |
                                   (vmath::bits_of<L>(x) & 0x8000000000000000ULL));
  const vd t = expm1_core<W, O>(ax, ax);
  const vd t1 = t + one;
  vd s = sel<W>(ax < one, (t + t) - O::mul(t, t) / t1, t / t1 + t);
  if (any_lane<W>(sel<W>(ax < v22, zero, sel<W>(ax < top, one, zero))))
    s = sel<W>(ax < v22, s, exp_big_lanes<W, O>(ax));
  return sel<W>(ax < vmath::from_bits<L>(vu{} + sh_tiny), x, O::mul(h, s));
}

// F's kernel on one vector.
template <std::size_t W, Fn F>
VAECONV_INLINE typename Ops<W>::L::vd kernel_lanes(const typename Ops<W>::L::vd& v,
                                                   typename Ops<W>::L::vd* flag) {
  if constexpr (F == Fn::exp) return exp_lanes<W>(v, flag);
  if constexpr (F == Fn::log1p) return log1p_lanes<W>(v, flag);
  if constexpr (F == Fn::log) return log_lanes<W>(v, flag);
  if constexpr (F == Fn::expm1) return expm1_lanes<W>(v, flag);
  if constexpr (F == Fn::sinh) return sinh_lanes<W>(v, flag);
}

// -|v| by the sign bit with NegAbs, as -std::fabs(x) (NaNs included); else v.
template <std::size_t W, bool NegAbs>
VAECONV_INLINE typename Ops<W>::L::vd argument(const typename Ops<W>::L::vd& v) {
  typedef typename Ops<W>::L L;
  if (!NegAbs) return v;
  return vmath::from_bits<L>(vmath::bits_of<L>(v) | 0x8000000000000000ULL);
}

// y[i + j] = F(x[i + j]) (with NegAbs F(-|x[i + j]|)) for j < m <= W, one
// vector padded past m; the lanes the kernel does not cover through the C
// library.
template <std::size_t W, Fn F, bool NegAbs>
VAECONV_INLINE void map_vector(const double* x, double* y, std::size_t i, std::size_t m) {
  typedef typename Ops<W>::L L;
  typedef typename L::vd vd;
  typedef typename L::vu vu;
  vd v;
  if (m == W) {
    v = vmath::load<L>(x + i);
  } else {
    v = vmath::splat<L>(F == Fn::log1p || F == Fn::log ? 0.5 : -1.0);
    for (std::size_t j = 0; j < m; ++j) v[j] = x[i + j];
  }
  v = argument<W, NegAbs>(v);
  vd flag;
  const vd r = kernel_lanes<W, F>(v, &flag);
  if (m == W && !any_lane<W>(flag)) {
    vmath::store<L>(y + i, r);
    return;
  }
  const vu other = vmath::bits_of<L>(flag);
  for (std::size_t j = 0; j < m; ++j) y[i + j] = other[j] ? call(F, v[j]) : r[j];
}

// y[i] = F(x[i]) (with NegAbs F(-|x[i]|)) over n values: two vectors at a
// time (their chains of operations side by side; a pair with a lane for
// the C library is done again one vector at a time), the last ones padded.
// sinh, whose kernel branches within, one vector at a time (two were
// slower).
template <std::size_t W, Fn F, bool NegAbs>
VAECONV_INLINE void map_lanes(const double* x, double* y, std::size_t n) {
  typedef typename Ops<W>::L L;
  typedef typename L::vd vd;
  std::size_t i = 0;
  for (; F != Fn::sinh && i + 2 * W <= n; i += 2 * W) {
    const vd v0 = argument<W, NegAbs>(vmath::load<L>(x + i)),
             v1 = argument<W, NegAbs>(vmath::load<L>(x + i + W));
    vd f0, f1;
    const vd r0 = kernel_lanes<W, F>(v0, &f0), r1 = kernel_lanes<W, F>(v1, &f1);
    if (!any_lane<W>(f0) && !any_lane<W>(f1)) {
      vmath::store<L>(y + i, r0);
      vmath::store<L>(y + i + W, r1);
      continue;
    }
    map_vector<W, F, NegAbs>(x, y, i, W);
    map_vector<W, F, NegAbs>(x, y, i + W, W);
  }
  for (; i < n; i += W) map_vector<W, F, NegAbs>(x, y, i, n - i < W ? n - i : W);
}

template <std::size_t W>
VAECONV_INLINE void run_lanes(Fn f, const double* x, double* y, std::size_t n, bool neg_abs) {
  switch (f) {
    case Fn::exp:
      return neg_abs ? map_lanes<W, Fn::exp, true>(x, y, n) : map_lanes<W, Fn::exp, false>(x, y, n);
    case Fn::log1p: return map_lanes<W, Fn::log1p, false>(x, y, n);
    case Fn::log: return map_lanes<W, Fn::log, false>(x, y, n);
    case Fn::expm1:
      return neg_abs ? map_lanes<W, Fn::expm1, true>(x, y, n)
                     : map_lanes<W, Fn::expm1, false>(x, y, n);
    case Fn::sinh: return map_lanes<W, Fn::sinh, false>(x, y, n);
  }
}
__attribute__((target("avx2,fma"))) inline void run_avx2(Fn f, const double* x, double* y,
                                                          std::size_t n, bool neg_abs) {
  run_lanes<4>(f, x, y, n, neg_abs);
}
VAECONV_TARGET_AVX512 inline void run_avx512(Fn f, const double* x, double* y, std::size_t n,
                                             bool neg_abs) {
  run_lanes<8>(f, x, y, n, neg_abs);
}

#endif  // VAECONV_LIBM_KERNELS

// The arguments of log's run-time check: 4096 points, a quarter in
// (0, 10], a quarter in [0.9375, 1.1037) (both ends of the interval near 1
// and 1 itself), a quarter over every binade of the normal numbers, a
// quarter within 32 ulps of the table's subinterval ends, times 2^-32 to
// 2^31.
inline void check_log_arguments(double* gx, std::size_t n) {
  std::uint64_t s = 0x2545f4914f6cdd1dULL;
  for (std::size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const double u = double(s >> 11) * 0x1.0p-53;  // [0, 1)
    switch (i % 4) {
      case 0: gx[i] = 10.0 - 10.0 * u; break;
      case 1: gx[i] = i % 64 == 1 ? 1.0 : 0.9375 + 0.1662 * u; break;
      case 2: gx[i] = std::ldexp(1.0 + u, int(s % 2046) - 1022); break;
      default: {
        const std::uint64_t b =
            0x3fe6000000000000ULL + ((s >> 20) % 128 << 45) + (s >> 8) % 64 - 32;
        double z;
        std::memcpy(&z, &b, sizeof z);
        gx[i] = std::ldexp(z, int(s % 64) - 32);
        break;
      }
    }
  }
}

// The arguments of the run-time check for expm1 (mx) and sinh (sx): every
// branch, k from -56 to 56, the ends (-1 from -56 ln 2 on, tiny values
// kept, sinh from 512 and past 709.78).
inline void check_arguments_em(double* mx, double* sx, std::size_t n) {
  std::uint64_t s = 0x2545f4914f6cdd1dULL;
  for (std::size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const double u = double(s >> 11) * 0x1.0p-53;  // [0, 1)
    const double sign = (s & 1) ? -1.0 : 1.0;
    switch (i % 4) {
      case 0: mx[i] = -745.0 + 785.0 * u; sx[i] = sign * 711.0 * u; break;
      case 1: mx[i] = -40.0 + 39.75 * u; sx[i] = sign * (0.25 + 22.5 * u); break;
      case 2: mx[i] = -1.1 + 2.2 * u; sx[i] = -1.1 + 2.2 * u; break;
      default:
        mx[i] = sign * std::ldexp(1.0 + u, -int(i % 64));
        sx[i] = sign * std::ldexp(1.0 + u, -int(i % 40));
        break;
    }
  }
}
}  // namespace detail

// f(x[i]) (f(-|x[i]|) when neg_abs: exp and expm1) into y[i], i < n, by the
// kernels of width w: 8 (AVX-512), 4 (AVX2 + FMA; the CPU must have them)
// or 0 (the C library's call, value by value). x and y may be the same.
inline void at(Fn f, int w, const double* x, double* y, std::size_t n, bool neg_abs = false) {
#if defined(VAECONV_LIBM_KERNELS)
  if (w == 8) return detail::run_avx512(f, x, y, n, neg_abs);
  if (w == 4) return detail::run_avx2(f, x, y, n, neg_abs);
#else
  (void)w;
#endif
  if (neg_abs)
    for (std::size_t i = 0; i < n; ++i) y[i] = detail::call(f, -std::fabs(x[i]));
  else
    for (std::size_t i = 0; i < n; ++i) y[i] = detail::call(f, x[i]);
}

// The arguments of f's run-time check (n a multiple of 4).
inline void check_arguments(Fn f, double* x, std::size_t n) {
  std::vector<double> other(n);
  switch (f) {
    case Fn::exp: case Fn::log1p: {
      std::uint64_t s = 0x9e3779b97f4a7c15ULL;
      for (std::size_t i = 0; i < n; ++i) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        const double u = double(s >> 11) * 0x1.0p-53;  // [0, 1)
        double e, l;
        switch (i % 4) {
          case 0: e = -745.0 + 1455.0 * u; l = u; break;
          case 1: e = -40.0 + 40.0 * u; l = u * 0x1.0p-20; break;
          case 2: e = std::ldexp(u - 0.5, -50); l = 1.0 - u * 0x1.0p-18; break;
          default: e = -std::ldexp(1.0 + u, int(i % 20) - 10); l = std::ldexp(u, -int(i % 60)); break;
        }
        x[i] = f == Fn::exp ? e : l;
      }
      return;
    }
    case Fn::log: return detail::check_log_arguments(x, n);
    case Fn::expm1: return detail::check_arguments_em(x, other.data(), n);
    case Fn::sinh: return detail::check_arguments_em(other.data(), x, n);
  }
}

// Whether f's kernels of width w give every bit of the C library's f on
// its check's arguments (and on their negated absolute values, for exp and
// expm1).
inline bool agrees_at(Fn f, int w) {
  constexpr std::size_t n = 4096;
  std::vector<double> buf(3 * n);
  double *x = buf.data(), *a = x + n, *b = a + n;
  const std::size_t bytes = n * sizeof(double);
  check_arguments(f, x, n);
  for (bool neg_abs : {false, true}) {
    if (neg_abs && f != Fn::exp && f != Fn::expm1) break;
    at(f, w, x, a, n, neg_abs);
    at(f, 0, x, b, n, neg_abs);
    if (std::memcmp(a, b, bytes) != 0) return false;
  }
  return true;
}

// The widest kernels of F the CPU runs that agree with its C library (each
// width checked once per process, the first time it is asked for), capped
// by vmath's simd_override() as the other kernels are.
template <Fn F>
inline int width() {
#if defined(VAECONV_LIBM_KERNELS)
  const int level = vmath::simd_level();
  if (level >= 2) {
    static const bool ok8 = agrees_at(F, 8);
    if (ok8) return 8;
  }
  if (level >= 1) {
    static const bool ok4 = agrees_at(F, 4);
    if (ok4) return 4;
  }
#endif
  return 0;
}
inline int width(Fn f) {
  switch (f) {
    case Fn::exp: return width<Fn::exp>();
    case Fn::log1p: return width<Fn::log1p>();
    case Fn::log: return width<Fn::log>();
    case Fn::expm1: return width<Fn::expm1>();
    case Fn::sinh: return width<Fn::sinh>();
  }
  return 0;
}

// The functions over arrays, with the C library's bits (x and y may be the
// same array).
inline void exp(const double* x, double* y, std::size_t n) { at(Fn::exp, width<Fn::exp>(), x, y, n); }
inline void exp_neg_abs(const double* x, double* y, std::size_t n) {  // exp(-|x|)
  at(Fn::exp, width<Fn::exp>(), x, y, n, true);
}
inline void log1p(const double* x, double* y, std::size_t n) {
  at(Fn::log1p, width<Fn::log1p>(), x, y, n);
}
inline void log(const double* x, double* y, std::size_t n) { at(Fn::log, width<Fn::log>(), x, y, n); }
inline void expm1_neg_abs(const double* x, double* y, std::size_t n) {  // expm1(-|x|)
  at(Fn::expm1, width<Fn::expm1>(), x, y, n, true);
}
inline void sinh(const double* x, double* y, std::size_t n) {
  at(Fn::sinh, width<Fn::sinh>(), x, y, n);
}

}  // namespace libm
}  // namespace vaeconv
