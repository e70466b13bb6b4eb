// Observation likelihoods p(x | z) given the decoder's output(s) at z: the
// value log p(x_i | z_c) of every draw, its gradient with respect to the
// decoder's outputs and the likelihood's own parameters, the mean of x given
// z and draws from p(x | z). Each is written once here; the objectives
// (elbo.hpp, iwae.hpp) and diagnostics use only this interface.
//
// - Gaussian N(G(z), c^2 I), c fixed or learned (one scalar, held as log c);
// - Gaussian N(G(z), diag(c^2(z))) with c_j^2(z) = min_var + softplus(U_j(z)),
//   U the decoder's second output head (Damm et al.'s VAE-3);
// - Bernoulli with logits G(z), for x in {0, 1};
// - continuous Bernoulli with logits G(z) (Loaiza-Ganem & Cunningham 2019),
//   a density on [0, 1]: log p(x | eta) = x eta - softplus(eta) + log C(eta),
//   with C(eta) = eta / tanh(eta / 2), the normalising constant
//   2 atanh(1 - 2p) / (1 - 2p) written in terms of the logit eta.
#pragma once

#include <armadillo>
#include <array>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "chunk.hpp"
#include "layout.hpp"
#include "libm.hpp"

#if defined(VAECONV_AVX2)
#include <immintrin.h>
#endif
#include "vmath.hpp"

namespace vaeconv {

constexpr double log_2pi = 1.8378770664093454835606594728112;

enum class LikelihoodKind { gaussian, bernoulli, continuous_bernoulli };

inline const std::vector<std::string>& likelihood_names() {
  static const std::vector<std::string> names{"gaussian", "bernoulli",
                                              "continuous_bernoulli"};
  return names;
}

inline LikelihoodKind likelihood_kind(const std::string& name) {
  const auto& n = likelihood_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return LikelihoodKind(i);
  throw std::invalid_argument("unknown likelihood '" + name + "'");
}

// Buffers for one chunk of m data columns with S draws each; sized on first
// use and reused afterwards.
struct Workspace {
  arma::mat x;                              // dx x m
  std::vector<arma::mat> enc_pre, enc_act;  // encoder hidden layers, h x m
  arma::mat mu, u, var, sd;                 // dz x m (u: the covariance head's outputs)
  arma::mat log_var, dvar;                  // log var and d var / d u, dz x m
  arma::mat chol, lfac;                     // full covariance: C and L, dz^2 x m
  arma::vec log_det;                        // full covariance: log det C per column
  arma::mat eps, z;                         // dz x mS, column i * S + s
  std::vector<arma::mat> dec_pre, dec_act;  // decoder hidden layers, h x mS
  arma::mat xhat;                           // the decoder's output G(z), dx x mS
  arma::mat xvar_u, xvar;                   // its second head U(z) and c^2(z)
  arma::vec rss;                            // mS squared residual norms (Gaussian)
  arma::vec ll;                             // mS values of log p(x_i | z_c)
  arma::vec lw, wbar;                       // mS log weights and normalised weights
  arma::vec w_dec, w_prior, w_logq;         // mS per-draw weights of the encoder's chain
  arma::mat d_a, d_b, d_mu, d_u, d_head;    // backward scratch
  std::vector<double> pixel;                // likelihood: per-coordinate scratch, 8 dx
  std::vector<std::size_t> pixel_big;       // continuous Bernoulli: where |eta| >= 0.25
  bool kept = false;  // d_a (and d_head) hold loglik()'s unweighted per-coordinate parts
  // Data columns per unit of the sums (for_units() in chunk.hpp; 0: the
  // chunk is one unit), and the objectives' sums over each unit.
  std::size_t unit = 0;
  std::vector<ChunkSums> unit_sums;
};

// The log normalising constant of the continuous Bernoulli with logit eta,
// log C = log(eta / tanh(eta / 2)) (even in eta; log 2 at eta = 0), and its
// derivative d log C / d eta = 1 / eta - 1 / sinh(eta). Near eta = 0 both by
// the series in t = eta / 2,
//   log(t coth t) = sum_k 2^(2k-1) (2^(2k) - 2) B_2k t^(2k) / (k (2k)!)
//                 = t^2/3 - 7 t^4/90 + 62 t^6/2835 - ...
// (B the Bernoulli numbers; eight terms, the first left out below 1e-20 for
// |eta| < 0.25); elsewhere log C = log a - log(-expm1(-a)) + log1p(e^-a)
// with a = |eta|, free of cancellation and overflow.
constexpr double cb_series_below = 0.25;
constexpr double cb_series[8] = {
    1.0 / 3.0,           -7.0 / 90.0,         62.0 / 2835.0,
    -127.0 / 18900.0,    146.0 / 66825.0,     -1414477.0 / 1915538625.0,
    32764.0 / 127702575.0, -16931177.0 / 186080895000.0};

// The series parts (|eta| < cb_series_below) and the rest, apart so that
// Likelihood's column passes make exactly the calls and operations of
// cb_log_norm() and cb_dlog_norm().
inline double cb_log_norm_series(double a) {
  const double t2 = 0.25 * a * a;
  double s = cb_series[7];
  for (int k = 6; k >= 0; --k) s = s * t2 + cb_series[k];
  return 0.69314718055994530942 + s * t2;
}
// a = |eta| >= cb_series_below, l = log1p(e^-a).
inline double cb_log_norm_far(double a, double l) {
  return std::log(a) - std::log(-std::expm1(-a)) + l;
}
inline double cb_dlog_norm_series(double eta) {
  // d/d eta of the series: (1/2) sum_k 2k c_k t^(2k - 1), t = eta / 2.
  const double t = 0.5 * eta, t2 = t * t;
  double s = 16.0 * cb_series[7];
  for (int k = 6; k >= 0; --k) s = s * t2 + 2.0 * double(k + 1) * cb_series[k];
  return 0.5 * s * t;
}
inline double cb_dlog_norm_far(double eta) {
  if (std::fabs(eta) > 700.0) return 1.0 / eta;
  return 1.0 / eta - 1.0 / std::sinh(eta);
}

inline double cb_log_norm(double eta) {
  const double a = std::fabs(eta);
  if (a < cb_series_below) return cb_log_norm_series(a);
  return cb_log_norm_far(a, std::log1p(std::exp(-a)));
}

inline double cb_dlog_norm(double eta) {
  if (std::fabs(eta) < cb_series_below) return cb_dlog_norm_series(eta);
  return cb_dlog_norm_far(eta);
}

// The mean of the continuous Bernoulli with logit eta:
// 1 / (1 - e^-eta) - 1 / eta (1/2 at eta = 0; a series near 0).
inline double cb_mean(double eta) {
  const double a = std::fabs(eta);
  if (a < 1e-4) return 0.5 + eta / 12.0;
  return -1.0 / std::expm1(-eta) - 1.0 / eta;
}

// The inverse of the continuous Bernoulli's distribution function at u in
// (0, 1): log1p(u expm1(eta)) / eta, written so that it neither overflows
// for large |eta| nor cancels near eta = 0.
inline double cb_quantile(double eta, double u) {
  if (std::fabs(eta) < 1e-8) return u;
  if (eta > 0.0) return 1.0 + std::log(u + (1.0 - u) * std::exp(-eta)) / eta;
  return std::log1p(u * std::expm1(eta)) / eta;
}

namespace detail {

// The arithmetic of Likelihood::bernoulli_column() after its calls, on
// L::width coordinates (IEEE operations lane by lane, no FMA: the scalar
// expressions' bits), the branches' values selected by masks: t = x u -
// softplus(u) (+ log C(u)) and, with G, d = sigmoid(u) - x (- d log C / du)
// from e = e^-|u|, l = log1p(e) and the far values cl, cd of log C.
template <class L, bool G, int P = 1>
VAECONV_INLINE void bernoulli_block(const double* xp, const double* up, const double* ep,
                                    const double* lp, const double* clp, const double* cdp,
                                    bool cb, double* tp, double* dp) {
  // P vectors at once, each step written for all of them before the next
  // (their chains of operations then run side by side); every lane has the
  // operations of one.
  typedef typename L::vd vd;
  constexpr std::size_t W = L::width;
  const vd zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0);
  vd u[P], xv[P], ev[P], tk[P], dk[P];
  for (int i = 0; i < P; ++i) {
    u[i] = vmath::load<L>(up + i * W);
    xv[i] = vmath::load<L>(xp + i * W);
    ev[i] = vmath::load<L>(ep + i * W);
    const vd lv = vmath::load<L>(lp + i * W);
    const vd sp = vmath::select<L>(u[i] > zero, u[i] + lv, lv);  // softplus(u)
    tk[i] = xv[i] * u[i] - sp;
    dk[i] = zero;
  }
  if (G)
    for (int i = 0; i < P; ++i)  // sigmoid(u) - x
      dk[i] = vmath::select<L>(u[i] >= zero, one, ev[i]) / (one + ev[i]) - xv[i];
  if (cb) {
    // cb_log_norm_series(|u|) and cb_dlog_norm_series(u), or the far values
    vd t2[P], s[P];
    for (int i = 0; i < P; ++i) {
      const vd a = vmath::vabs<L>(u[i]);
      t2[i] = vmath::splat<L>(0.25) * a * a;
      s[i] = vmath::splat<L>(cb_series[7]);
    }
    for (int k = 6; k >= 0; --k)
      for (int i = 0; i < P; ++i) s[i] = s[i] * t2[i] + vmath::splat<L>(cb_series[k]);
    for (int i = 0; i < P; ++i) {
      const auto near = vmath::vabs<L>(u[i]) < vmath::splat<L>(cb_series_below);
      const vd sl = vmath::splat<L>(0.69314718055994530942) + s[i] * t2[i];
      tk[i] = tk[i] + vmath::select<L>(near, sl, vmath::load<L>(clp + i * W));
    }
    if (G) {
      vd h[P], h2[P], q[P];
      for (int i = 0; i < P; ++i) {
        h[i] = vmath::splat<L>(0.5) * u[i];
        h2[i] = h[i] * h[i];
        q[i] = vmath::splat<L>(16.0 * cb_series[7]);
      }
      for (int k = 6; k >= 0; --k)
        for (int i = 0; i < P; ++i)
          q[i] = q[i] * h2[i] + vmath::splat<L>(2.0 * double(k + 1) * cb_series[k]);
      for (int i = 0; i < P; ++i) {
        const auto near = vmath::vabs<L>(u[i]) < vmath::splat<L>(cb_series_below);
        const vd sd = vmath::splat<L>(0.5) * q[i] * h[i];
        dk[i] = dk[i] - vmath::select<L>(near, sd, vmath::load<L>(cdp + i * W));
      }
    }
  }
  for (int i = 0; i < P; ++i) {
    vmath::store<L>(tp + i * W, tk[i]);
    if (G) vmath::store<L>(dp + i * W, dk[i]);
  }
}

// bernoulli_block on the last r < L::width coordinates, padded with zeros
// (cl and cd hold at least r values).
template <class L, bool G>
VAECONV_INLINE void bernoulli_tail(const double* x, const double* eta, const double* e,
                                   const double* l, const double* cl, const double* cd,
                                   std::size_t r, bool cb, double* t, double* d) {
  constexpr std::size_t W = L::width;
  double b[8][W] = {};
  for (std::size_t j = 0; j < r; ++j) {
    b[0][j] = x[j];
    b[1][j] = eta[j];
    b[2][j] = e[j];
    b[3][j] = l[j];
    b[4][j] = cl[j];
    b[5][j] = cd[j];
  }
  bernoulli_block<L, G>(b[0], b[1], b[2], b[3], b[4], b[5], cb, b[6], b[7]);
  for (std::size_t j = 0; j < r; ++j) {
    t[j] = b[6][j];
    if (G) d[j] = b[7][j];
  }
}

// bernoulli_block over n coordinates, the tail padded with zeros.
template <class L, bool G>
VAECONV_INLINE void bernoulli_combine_lanes(const double* x, const double* eta, const double* e,
                                            const double* l, const double* cl, const double* cd,
                                            std::size_t n, double* t, double* d, bool cb) {
  constexpr std::size_t W = L::width;
  std::size_t k = 0;
  for (; k + 2 * W <= n; k += 2 * W)
    bernoulli_block<L, G, 2>(x + k, eta + k, e + k, l + k, cl + k, cd + k, cb, t + k,
                             G ? d + k : nullptr);
  for (; k + W <= n; k += W)
    bernoulli_block<L, G>(x + k, eta + k, e + k, l + k, cl + k, cd + k, cb, t + k,
                          G ? d + k : nullptr);
  if (k < n)
    bernoulli_tail<L, G>(x + k, eta + k, e + k, l + k, cl + k, cd + k, n - k, cb, t + k,
                         G ? d + k : nullptr);
}

#if defined(VAECONV_AVX2)
// Four lanes, compiled for AVX2 without FMA, so nothing is contracted.
template <bool G>
__attribute__((target("avx2"))) inline void bernoulli_combine_avx2(
    const double* x, const double* eta, const double* e, const double* l, const double* cl,
    const double* cd, std::size_t n, double* t, double* d, bool cb) {
  bernoulli_combine_lanes<vmath::Lanes<4>, G>(x, eta, e, l, cl, cd, n, t, d, cb);
}
#endif

// cb_dlog_norm_far() of n gathered logits p, given q = sinh(p), into out:
// 1 / p where |p| > 700, else 1 / p - 1 / q; the same operations lane by
// lane (divisions and a subtraction: nothing to fuse), W at a time.
template <class L>
VAECONV_INLINE void cb_dlog_far_lanes(const double* p, const double* q, std::size_t n,
                                      double* out) {
  typedef typename L::vd vd;
  constexpr std::size_t W = L::width;
  const vd one = vmath::splat<L>(1.0), far = vmath::splat<L>(700.0);
  std::size_t k = 0;
  for (; k + W <= n; k += W) {
    const vd pv = vmath::load<L>(p + k);
    const vd inv = one / pv;
    vmath::store<L>(out + k, vmath::select<L>(vmath::vabs<L>(pv) > far, inv,
                                              inv - one / vmath::load<L>(q + k)));
  }
  for (; k < n; ++k) out[k] = std::fabs(p[k]) > 700.0 ? 1.0 / p[k] : 1.0 / p[k] - 1.0 / q[k];
}
#if defined(VAECONV_AVX2)
__attribute__((target("avx2"))) inline void cb_dlog_far_avx2(const double* p, const double* q,
                                                              std::size_t n, double* out) {
  cb_dlog_far_lanes<vmath::Lanes<4>>(p, q, n, out);
}
VAECONV_TARGET_AVX512 inline void cb_dlog_far_avx512(const double* p, const double* q,
                                                     std::size_t n, double* out) {
  cb_dlog_far_lanes<vmath::Lanes<8>>(p, q, n, out);
}
#endif
inline void cb_dlog_far(const double* p, const double* q, std::size_t n, double* out) {
#if defined(VAECONV_AVX2)
  if (vmath::simd_level() >= 2) return cb_dlog_far_avx512(p, q, n, out);
  if (vmath::simd_level() >= 1) return cb_dlog_far_avx2(p, q, n, out);
#endif
  cb_dlog_far_lanes<vmath::Base>(p, q, n, out);
}

#if defined(VAECONV_AVX2)
// The continuous Bernoulli's far coordinates (|eta| >= cb_series_below)
// gathered eight at a time with AVX-512's compress (and put back by
// cb_combine_avx512()'s expand), where Likelihood::bernoulli_column()
// otherwise loops over an index list. Only values move, so the bits are the
// same.

// |eta[k]| of the far coordinates of eta[0..n), in order, into a; the
// masks of the far lanes of each eight coordinates into masks (n / 8
// rounded up); returns how many are far.
VAECONV_TARGET_AVX512 inline std::size_t cb_far_gather_avx512(const double* eta, std::size_t n,
                                                              double* a,
                                                              unsigned char* masks) {
  const __m512d below = _mm512_set1_pd(cb_series_below);
  const __m512d no_sign = _mm512_castsi512_pd(_mm512_set1_epi64(0x7fffffffffffffffLL));
  std::size_t nb = 0;
  for (std::size_t k = 0; k < n; k += 8) {
    const __mmask8 in = k + 8 <= n ? __mmask8(0xff) : __mmask8((1u << (n - k)) - 1u);
    const __m512d v = _mm512_and_pd(_mm512_maskz_loadu_pd(in, eta + k), no_sign);  // fabs
    const __mmask8 far = _mm512_mask_cmp_pd_mask(in, v, below, _CMP_GE_OQ);  // NaN: not far
    _mm512_mask_compressstoreu_pd(a + nb, far, v);
    masks[k / 8] = far;
    nb += std::size_t(__builtin_popcount(far));
  }
  return nb;
}

// The far coordinates of eta, by the masks of cb_far_gather_avx512(), into e.
VAECONV_TARGET_AVX512 inline void cb_far_compress_avx512(const double* eta, std::size_t n,
                                                         const unsigned char* masks, double* e) {
  std::size_t nb = 0;
  for (std::size_t k = 0; k < n; k += 8) {
    const __mmask8 far = masks[k / 8];
    _mm512_mask_compressstoreu_pd(e + nb, far, _mm512_maskz_loadu_pd(far, eta + k));
    nb += std::size_t(__builtin_popcount(far));
  }
}
#endif

#if defined(VAECONV_EXACT_AVX512)
// Eight lanes on AVX-512, contraction turned off (as activation.hpp's
// exact_kernel_avx512).
template <bool G>
VAECONV_TARGET_AVX512 __attribute__((optimize("fp-contract=off"))) inline void
bernoulli_combine_avx512(const double* x, const double* eta, const double* e, const double* l,
                         const double* cl, const double* cd, std::size_t n, double* t, double* d,
                         bool cb) {
  bernoulli_combine_lanes<vmath::Lanes<8>, G>(x, eta, e, l, cl, cd, n, t, d, cb);
}

// The far values of the eight coordinates at k0 for bernoulli_block(), from
// the far coordinates' compressed results (j: how many came before k0):
// cl = (log a - log(-expm1(-a))) + log1p(e) and cd = d log C / d eta, as
// Likelihood::bernoulli_column() puts them back.
template <bool G>
VAECONV_TARGET_AVX512 VAECONV_INLINE void cb_far_values(std::size_t k0, const double* l,
                                                       const double* lq, const double* lr,
                                                       const double* dl,
                                                       const unsigned char* masks,
                                                       std::size_t& j, double* cl, double* cd) {
  const __mmask8 far = masks[k0 / 8];
  const __m512d q = _mm512_maskz_expandloadu_pd(far, lq + j);
  const __m512d r = _mm512_maskz_expandloadu_pd(far, lr + j);
  _mm512_storeu_pd(cl, _mm512_add_pd(_mm512_sub_pd(q, r), _mm512_maskz_loadu_pd(far, l + k0)));
  if (G) _mm512_storeu_pd(cd, _mm512_maskz_expandloadu_pd(far, dl + j));
  j += std::size_t(__builtin_popcount(far));
}

// bernoulli_combine_avx512() for the continuous Bernoulli with its far
// values compressed (lq = log a, lr = log(-expm1(-a)) and, with G, dl =
// d log C / d eta at the far coordinates, in order, and the masks of
// cb_far_gather_avx512()): each block's far values are expanded into a
// buffer of its own, so that no full-length array is written and read again.
template <bool G>
VAECONV_TARGET_AVX512 __attribute__((optimize("fp-contract=off"))) inline void
cb_combine_avx512(const double* x, const double* eta, const double* e, const double* l,
                  const double* lq, const double* lr, const double* dl,
                  const unsigned char* masks, std::size_t n, double* t, double* d) {
  typedef vmath::Lanes<8> L;
  alignas(64) double cl[16], cd[16];
  std::size_t j = 0, k = 0;
  for (; k + 16 <= n; k += 16) {
    cb_far_values<G>(k, l, lq, lr, dl, masks, j, cl, cd);
    cb_far_values<G>(k + 8, l, lq, lr, dl, masks, j, cl + 8, cd + 8);
    bernoulli_block<L, G, 2>(x + k, eta + k, e + k, l + k, cl, cd, true, t + k,
                             G ? d + k : nullptr);
  }
  for (; k + 8 <= n; k += 8) {
    cb_far_values<G>(k, l, lq, lr, dl, masks, j, cl, cd);
    bernoulli_block<L, G>(x + k, eta + k, e + k, l + k, cl, cd, true, t + k,
                          G ? d + k : nullptr);
  }
  if (k < n) {
    cb_far_values<G>(k, l, lq, lr, dl, masks, j, cl, cd);
    bernoulli_tail<L, G>(x + k, eta + k, e + k, l + k, cl, cd, n - k, true, t + k,
                         G ? d + k : nullptr);
  }
}
#endif

template <bool G>
inline void bernoulli_combine(const double* x, const double* eta, const double* e,
                              const double* l, const double* cl, const double* cd,
                              std::size_t n, double* t, double* d, bool cb) {
#if defined(VAECONV_EXACT_AVX512)
  if (vmath::simd_level() >= 2)
    return bernoulli_combine_avx512<G>(x, eta, e, l, cl, cd, n, t, d, cb);
#endif
#if defined(VAECONV_AVX2)
  if (vmath::simd_level() >= 1) return bernoulli_combine_avx2<G>(x, eta, e, l, cl, cd, n, t, d, cb);
#endif
  bernoulli_combine_lanes<vmath::Base, G>(x, eta, e, l, cl, cd, n, t, d, cb);
}

}  // namespace detail

struct LikelihoodSpec {
  LikelihoodKind kind = LikelihoodKind::gaussian;
  double obs_sd = 1.0;
  bool learn_obs_sd = false;
  bool obs_sd_from_z = false;  // Gaussian: c^2(z) from a second decoder head
  double min_var = 1e-4;       // the floor of c^2(z)
};

class Likelihood {
 public:
  Likelihood() = default;
  Likelihood(const LikelihoodSpec& spec, std::size_t dx) : spec_(spec), dx_(dx) {
    if (spec.kind != LikelihoodKind::gaussian && (spec.learn_obs_sd || spec.obs_sd_from_z))
      throw std::invalid_argument("only a Gaussian likelihood has an observation sd");
    if (spec.learn_obs_sd && spec.obs_sd_from_z)
      throw std::invalid_argument("obs_sd is either learned or a function of z");
  }

  const LikelihoodSpec& spec() const { return spec_; }
  LikelihoodKind kind() const { return spec_.kind; }
  bool gaussian() const { return spec_.kind == LikelihoodKind::gaussian; }
  bool scalar_sd() const { return gaussian() && !spec_.obs_sd_from_z; }
  // The decoder output heads it reads: G(z), and U(z) for c^2(z).
  std::size_t heads() const { return spec_.obs_sd_from_z ? 2 : 1; }

  // Its own parameters (theta): log c when learned.
  void add_params(Layout& layout) {
    if (spec_.learn_obs_sd) log_c_ = layout.add("log_obs_sd", 1, 1, Group::theta);
  }
  void init(double* par) const {
    if (spec_.learn_obs_sd) par[log_c_] = std::log(spec_.obs_sd);
  }
  std::size_t log_obs_sd_offset() const { return log_c_; }

  // The scalar c (fixed or learned).
  double obs_sd(const double* par) const {
    return spec_.learn_obs_sd ? std::exp(par[log_c_]) : spec_.obs_sd;
  }

  // -dx/2 log(2 pi c^2): the normalising constant of the scalar Gaussian.
  double log_norm(const double* par) const {
    return -0.5 * double(dx_) * (log_2pi + 2.0 * std::log(obs_sd(par)));
  }

  // c^2(z) = min_var + softplus(U(z)) from the second head: fills ws.xvar.
  void head_variance(Workspace& ws) const {
    const std::size_t n = ws.xvar_u.n_elem;
    ws.xvar.set_size(ws.xvar_u.n_rows, ws.xvar_u.n_cols);
    // The base kernel's bits, four lanes at a time where the CPU has AVX2.
    detail::exact(detail::ExactKernel::softplus, ws.xvar_u.memptr(), ws.xvar.memptr(), n);
    for (std::size_t k = 0; k < n; ++k) ws.xvar[k] += spec_.min_var;
  }

  // ws.ll[c] = log p(x_i | z_c) for every draw c = i * S + s, from the
  // decoder's outputs in ws.xhat (and ws.xvar_u). With grad (the ELBO's
  // uniform weights 1/S), also ws.d_a = d(-sum_c ll_c / S) / d G (and
  // ws.d_head for U), and the likelihood's own gradient added to grad.
  // With keep (and no grad), the non-scalar likelihoods also keep the
  // per-coordinate parts a gradient() on the same draws reuses, instead of
  // computing the values a second time.
  void loglik(const double* par, std::size_t S, Workspace& ws, double* grad,
              bool keep = false) const {
    const std::size_t m = ws.x.n_cols, n = m * S;
    ws.ll.set_size(n);
    if (scalar_sd()) {
      const double c = obs_sd(par), c2 = c * c;
      // d(-rec)/d xhat = (xhat - x) / (c^2 S), made with the squared residuals
      residuals(S, ws, 1.0 / (c2 * double(S)), grad == nullptr ? nullptr : &ws.d_a);
      const double ln = log_norm(par);
      for (std::size_t k = 0; k < n; ++k) ws.ll[k] = ln - 0.5 * ws.rss[k] / c2;
      if (grad != nullptr && spec_.learn_obs_sd) {
        // d(-rec)/d log c = (dx - rss / c^2) / S per draw, by units
        for_units(n, ws.unit * S, [&](std::size_t b, std::size_t e) {
          double d = 0.0;
          for (std::size_t k = b; k < e; ++k) d += double(dx_) - ws.rss[k] / c2;
          grad[log_c_] += d / double(S);
        });
      }
      return;
    }
    if (grad == nullptr) {
      values(ws, keep);
      return;
    }
    ws.wbar.set_size(n);  // uniform weights 1 / S (the ELBO has no others)
    ws.wbar.fill(1.0 / double(S));
    values(ws, true, ws.wbar.memptr());
  }

  // ws.d_a = d(-sum_c v_c ll_c) / d G for the weights v (one per draw), and
  // ws.d_head for U; the likelihood's own gradient added to grad. After
  // loglik() on the same draws (with keep: the kept parts weighed, the
  // values not computed again).
  void gradient(const double* par, std::size_t S, Workspace& ws, const double* v,
                double* grad) const {
    const std::size_t m = ws.x.n_cols;
    if (!scalar_sd()) {
      if (ws.kept)
        weigh_kept(ws, v);
      else
        values(ws, true, v);
      return;
    }
    // d(-L)/d xhat_c = v_c (xhat_c - x) / c^2.
    const double c = obs_sd(par), c2 = c * c;
    arma::mat& gx = ws.d_a;
    gx.set_size(dx_, m * S);
    for_units(m, ws.unit, [&](std::size_t b, std::size_t e) {
      double d_log_c = 0.0;
      for (std::size_t i = b; i < e; ++i) {
        const double* xi = ws.x.colptr(i);
        for (std::size_t s = 0; s < S; ++s) {
          const std::size_t col = i * S + s;
          const double vv = v[col], vc = vv / c2;
          const double* xh = ws.xhat.colptr(col);
          double* gc = gx.colptr(col);
          for (std::size_t k = 0; k < dx_; ++k) gc[k] = vc * (xh[k] - xi[k]);
          d_log_c += vv * (double(dx_) - ws.rss[col] / c2);
        }
      }
      if (spec_.learn_obs_sd) grad[log_c_] += d_log_c;
    });
  }

  // E[x | z] for the outputs of each column: G(z) for a Gaussian, the
  // probabilities sigmoid(G(z)) for a Bernoulli, the continuous Bernoulli's
  // mean.
  void mean(const arma::mat& xhat, arma::mat& out) const {
    out.set_size(xhat.n_rows, xhat.n_cols);
    for (std::size_t k = 0; k < xhat.n_elem; ++k) {
      const double e = xhat[k];
      switch (spec_.kind) {
        case LikelihoodKind::gaussian: out[k] = e; break;
        case LikelihoodKind::bernoulli: out[k] = sigmoid(e); break;
        case LikelihoodKind::continuous_bernoulli: out[k] = cb_mean(e); break;
      }
    }
  }

  // Draws from p(x | z) for the outputs of each column (ws.xhat, and ws.xvar
  // after head_variance()), from standard normals e of the same shape:
  // G + c e for a Gaussian; through u = Phi(e) for the Bernoullis.
  void sample(const double* par, const Workspace& ws, const arma::mat& e,
              arma::mat& out) const {
    out.set_size(ws.xhat.n_rows, ws.xhat.n_cols);
    const double c = scalar_sd() ? obs_sd(par) : 0.0;
    for (std::size_t k = 0; k < out.n_elem; ++k) {
      const double eta = ws.xhat[k];
      const double u = 0.5 * std::erfc(-e[k] / std::sqrt(2.0));
      switch (spec_.kind) {
        case LikelihoodKind::gaussian:
          out[k] = eta + (spec_.obs_sd_from_z ? std::sqrt(ws.xvar[k]) : c) * e[k];
          break;
        case LikelihoodKind::bernoulli: out[k] = u < sigmoid(eta) ? 1.0 : 0.0; break;
        case LikelihoodKind::continuous_bernoulli: out[k] = cb_quantile(eta, u); break;
      }
    }
  }

  // ws.rss[c] = ||xhat_c - x_i||^2 for every draw c = i * S + s and, when
  // out is given, out = scale * (xhat - x) (dx x mS) in the same pass.
  void residuals(std::size_t S, Workspace& ws, double scale, arma::mat* out) const {
    const std::size_t m = ws.x.n_cols, dx = dx_;
    ws.rss.set_size(m * S);
    if (out != nullptr) out->set_size(dx, m * S);
    for (std::size_t i = 0; i < m; ++i) {
      const double* xi = ws.x.colptr(i);
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t col = i * S + s;
        const double* xh = ws.xhat.colptr(col);
        double r0 = 0.0, r1 = 0.0;  // two chains: half the latency
        std::size_t k = 0;
        if (out != nullptr) {
          double* g = out->colptr(col);
          for (; k + 1 < dx; k += 2) {
            const double d0 = xh[k] - xi[k], d1 = xh[k + 1] - xi[k + 1];
            r0 += d0 * d0;
            r1 += d1 * d1;
            g[k] = scale * d0;
            g[k + 1] = scale * d1;
          }
          if (k < dx) {
            const double d = xh[k] - xi[k];
            r0 += d * d;
            g[k] = scale * d;
          }
        } else {
          for (; k + 1 < dx; k += 2) {
            const double d0 = xh[k] - xi[k], d1 = xh[k + 1] - xi[k + 1];
            r0 += d0 * d0;
            r1 += d1 * d1;
          }
          if (k < dx) {
            const double d = xh[k] - xi[k];
            r0 += d * d;
          }
        }
        ws.rss[col] = r0 + r1;
      }
    }
  }

 private:
  // The terms log p(x_k | eta_k) of one column of n coordinates into t and,
  // with G, d(-log p(x_k | eta_k)) / d eta_k into d, for the Bernoullis.
  // Per coordinate the same calls and operations as x eta - softplus(eta)
  // (+ cb_log_norm(eta)) and sigmoid(eta) - x (- cb_dlog_norm(eta)), so the
  // same bits, with less work: one e = exp(-|eta|) serves softplus, sigmoid
  // and the continuous Bernoulli's constant (each takes e^eta for eta <= 0
  // and e^-eta for eta >= 0: e^-|eta| in both cases, eta = +-0 included), and
  // one log1p(e) serves softplus and the constant. Every call runs over an
  // array through libm.hpp (the C library's bits, several values at a time
  // where its kernels serve): exp and log1p over the column, the constant's
  // own calls (log, expm1, sinh) over the coordinates with |eta| >=
  // cb_series_below, gathered first. The selections between the branches'
  // values are branch-free (the signs of eta are a coin toss), so that no
  // branch is mispredicted. scratch: 7 n doubles; big: n indices.
  template <bool G>
  void bernoulli_column(const double* x, const double* eta, std::size_t n, double* t, double* d,
                        double* scratch, std::size_t* big) const {
    double* e = scratch;           // e^-|eta|
    double* l = scratch + n;       // log1p(e)
    double* cl = scratch + 2 * n;  // log C(eta) where |eta| >= cb_series_below
    double* cd = scratch + 3 * n;  // d log C / d eta there
    libm::exp_neg_abs(eta, e, n);  // std::exp(-std::fabs(eta[k])), its bits
    libm::log1p(e, l, n);          // std::log1p(e[k])
    const bool cb = spec_.kind == LikelihoodKind::continuous_bernoulli;
    if (cb) {
      // cb_log_norm_far(a, l) = log(a) - log(-expm1(-a)) + l and
      // cb_dlog_norm_far(eta) = 1 / eta - 1 / sinh(eta) (1 / eta past 700)
      // where a = |eta| >= cb_series_below, gathered into p, their calls
      // through libm.hpp over the gathered values.
      double* p = scratch + 4 * n;
      double* q = scratch + 5 * n;
      double* r = scratch + 6 * n;
#if defined(VAECONV_EXACT_AVX512)
      if (vmath::simd_level() >= 2) {
        // The far values stay compressed (cl: log(a), r: log(-expm1(-a)),
        // cd: d log C / d eta) and are expanded by the combination.
        unsigned char* masks = reinterpret_cast<unsigned char*>(big);  // n / 8 of its bytes
        const std::size_t nb = detail::cb_far_gather_avx512(eta, n, p, masks);
        libm::log(p, cl, nb);           // log(a)
        libm::expm1_neg_abs(p, r, nb);  // expm1(-a)
        for (std::size_t j = 0; j < nb; ++j) r[j] = -r[j];
        libm::log(r, r, nb);            // log(-expm1(-a))
        if (G) {
          detail::cb_far_compress_avx512(eta, n, masks, p);
          libm::sinh(p, q, nb);
          detail::cb_dlog_far(p, q, nb, cd);
        }
        detail::cb_combine_avx512<G>(x, eta, e, l, cl, r, cd, masks, n, t, d);
        return;
      }
#endif
      std::size_t nb = 0;
      for (std::size_t k = 0; k < n; ++k) {
        big[nb] = k;
        nb += std::fabs(eta[k]) >= cb_series_below ? 1 : 0;
      }
      for (std::size_t j = 0; j < nb; ++j) p[j] = std::fabs(eta[big[j]]);
      libm::log(p, q, nb);             // log(a)
      libm::expm1_neg_abs(p, r, nb);   // expm1(-a)
      for (std::size_t j = 0; j < nb; ++j) r[j] = -r[j];
      libm::log(r, r, nb);             // log(-expm1(-a))
      for (std::size_t j = 0; j < nb; ++j) {
        const std::size_t k = big[j];
        cl[k] = q[j] - r[j] + l[k];
      }
      if (G) {
        for (std::size_t j = 0; j < nb; ++j) p[j] = eta[big[j]];
        libm::sinh(p, q, nb);
        detail::cb_dlog_far(p, q, nb, r);
        for (std::size_t j = 0; j < nb; ++j) cd[big[j]] = r[j];
      }
    }
    detail::bernoulli_combine<G>(x, eta, e, l, cl, cd, n, t, d, cb);
  }

  // The same for N(G, diag(c^2(z))) with the variances var (after
  // head_variance()) and the head's outputs u: t[k] = 0.5 (log 2 pi +
  // log c^2 + r^2 / c^2), the term subtracted, r = G - x; with G, r2v[k] =
  // r^2 / c^2 and sig[k] = sigmoid(u_k) (its e^-|u| shared as in
  // bernoulli_column). scratch: 2 n doubles.
  template <bool G>
  void head_column(const double* x, const double* xh, const double* var, const double* u,
                   std::size_t n, double* t, double* r2v, double* sig, double* scratch) const {
    double* lv = scratch;
    double* e = scratch + n;
    libm::log(var, lv, n);              // std::log(var[k]), its bits
    if (G) libm::exp_neg_abs(u, e, n);  // std::exp(-std::fabs(u[k])), its bits
    // Two coordinates at a time (IEEE operations lane by lane: the scalar
    // expressions' bits); sigmoid(u)'s numerators selected by a mask.
    typedef vmath::Base L;
    typedef L::vd vd;
    constexpr std::size_t W = L::width;
    const vd zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0),
             half = vmath::splat<L>(0.5), l2p = vmath::splat<L>(log_2pi);
    std::size_t k = 0;
    for (; k + W <= n; k += W) {
      const vd r = vmath::load<L>(xh + k) - vmath::load<L>(x + k);
      const vd q = r * r / vmath::load<L>(var + k);
      vmath::store<L>(t + k, half * (l2p + vmath::load<L>(lv + k) + q));
      if (G) {
        const vd uv = vmath::load<L>(u + k), ev = vmath::load<L>(e + k);
        vmath::store<L>(r2v + k, q);
        vmath::store<L>(sig + k, vmath::select<L>(uv >= zero, one, ev) / (one + ev));
      }
    }
    for (; k < n; ++k) {
      const double r = xh[k] - x[k], q = r * r / var[k];
      t[k] = 0.5 * (log_2pi + lv[k] + q);
      if (G) {
        r2v[k] = q;
        sig[k] = (u[k] >= 0.0 ? 1.0 : e[k]) / (1.0 + e[k]);
      }
    }
  }

  // d(-w ll) / d G = w r / c^2 into g and d(-w ll) / d U = w 0.5 (1 - r^2 /
  // c^2) / c^2 sigmoid(U) into gh, for one column, in place of the r^2 / c^2
  // in g and the sigmoid(U) in gh that head_column() made
  // (d(-ll)/d c^2 = (1 - r^2 / c^2) / (2 c^2), d c^2 / d U = sigmoid(U)).
  static void head_gradient(const double* x, const double* xh, const double* var, double w,
                            std::size_t n, double* g, double* gh) {
    typedef vmath::Base L;
    typedef L::vd vd;
    constexpr std::size_t W = L::width;
    const double w2 = w * 0.5;
    const vd wv = vmath::splat<L>(w), w2v = vmath::splat<L>(w2), one = vmath::splat<L>(1.0);
    std::size_t k = 0;
    for (; k + W <= n; k += W) {
      const vd r = vmath::load<L>(xh + k) - vmath::load<L>(x + k), v = vmath::load<L>(var + k);
      const vd q = vmath::load<L>(g + k), sg = vmath::load<L>(gh + k);
      vmath::store<L>(g + k, wv * r / v);
      vmath::store<L>(gh + k, w2v * (one - q) / v * sg);
    }
    for (; k < n; ++k) {
      const double r = xh[k] - x[k], q = g[k], sg = gh[k];
      g[k] = w * r / var[k];
      gh[k] = w2 * (1.0 - q) / var[k] * sg;
    }
  }

  double* scratch(Workspace& ws, std::size_t per) const {
    if (ws.pixel.size() < per * dx_) ws.pixel.resize(per * dx_);
    return ws.pixel.data();
  }

  // ws.ll for the likelihoods without a scalar sd; with keep, also their
  // unweighted per-coordinate parts for gradient(): d(-log p)/d G for the
  // Bernoullis in ws.d_a, r^2 / c^2 in ws.d_a and sigmoid(U) in ws.d_head
  // for c^2(z). With weights v (one per draw) each column's parts are
  // weighed as soon as they are made (weigh_column()): then ws.d_a (and
  // ws.d_head) = d(-sum_c v_c ll_c) / d outputs.
  void values(Workspace& ws, bool keep, const double* v = nullptr) const {
    const std::size_t m = ws.x.n_cols, n = ws.xhat.n_cols, S = n / std::max<std::size_t>(m, 1);
    keep = keep || v != nullptr;
    if (spec_.obs_sd_from_z) head_variance(ws);
    if (!spec_.obs_sd_from_z && S == 1) {
      bernoulli_blocks(ws, keep, v);
      return;
    }
    double* buf = scratch(ws, 8);
    double* t = buf + 7 * dx_;  // the terms; buf[0, 7 dx) the columns' scratch
    ws.pixel_big.resize(dx_);
    ws.ll.set_size(n);
    if (keep) {
      ws.d_a.set_size(dx_, n);
      if (spec_.obs_sd_from_z) ws.d_head.set_size(dx_, n);
    }
    for (std::size_t i = 0; i < m; ++i) {
      const double* xi = ws.x.colptr(i);
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t col = i * S + s;
        const double* xh = ws.xhat.colptr(col);
        double ll = 0.0;
        if (spec_.obs_sd_from_z) {
          if (keep)
            head_column<true>(xi, xh, ws.xvar.colptr(col), ws.xvar_u.colptr(col), dx_, t,
                              ws.d_a.colptr(col), ws.d_head.colptr(col), buf);
          else
            head_column<false>(xi, xh, ws.xvar.colptr(col), ws.xvar_u.colptr(col), dx_, t,
                               nullptr, nullptr, buf);
          for (std::size_t k = 0; k < dx_; ++k) ll -= t[k];
        } else {
          if (keep)
            bernoulli_column<true>(xi, xh, dx_, t, ws.d_a.colptr(col), buf,
                                   ws.pixel_big.data());
          else
            bernoulli_column<false>(xi, xh, dx_, t, nullptr, buf, ws.pixel_big.data());
          for (std::size_t k = 0; k < dx_; ++k) ll += t[k];
        }
        ws.ll[col] = ll;
        if (v != nullptr) weigh_column(ws, xi, col, v[col]);
      }
    }
    ws.kept = keep && v == nullptr;
  }

  // Column col's kept parts (of data column xi) weighed by w, in place: w d
  // for the Bernoullis; w r / c^2 and w 0.5 (1 - r^2 / c^2) / c^2 sigmoid(U)
  // for c^2(z).
  void weigh_column(Workspace& ws, const double* xi, std::size_t col, double w) const {
    double* g = ws.d_a.colptr(col);
    if (spec_.obs_sd_from_z)
      head_gradient(xi, ws.xhat.colptr(col), ws.xvar.colptr(col), w, dx_, g,
                    ws.d_head.colptr(col));
    else if (w != 1.0)  // (1 x g is g, to the bit: the ELBO's one draw a row)
      for (std::size_t k = 0; k < dx_; ++k) g[k] = w * g[k];
  }

  // values() for the Bernoullis with one draw per column: bernoulli_column()
  // over blocks of whole columns, about 2048 coordinates each (a column of
  // 64 pixels made eight calls of the kernels, each with its set-up and its
  // tail, for a few vectors' work). Each coordinate's value is its own (the
  // kernels act value by value), so the block changes no bit; each
  // column's terms are then summed in order, as before.
  void bernoulli_blocks(Workspace& ws, bool keep, const double* v) const {
    const std::size_t n = ws.xhat.n_cols;
    const std::size_t per = std::max<std::size_t>(1, 2048 / std::max<std::size_t>(dx_, 1));
    const std::size_t block = std::min(per, n) * dx_;
    double* buf = scratch(ws, 8 * std::min(per, n));  // 8 blocks
    double* t = buf + 7 * block;
    ws.pixel_big.resize(block);
    ws.ll.set_size(n);
    if (keep) ws.d_a.set_size(dx_, n);
    for (std::size_t c0 = 0; c0 < n; c0 += per) {
      const std::size_t c1 = std::min(n, c0 + per), np = (c1 - c0) * dx_;
      const double* x = ws.x.colptr(c0);
      const double* eta = ws.xhat.colptr(c0);
      if (keep)
        bernoulli_column<true>(x, eta, np, t, ws.d_a.colptr(c0), buf, ws.pixel_big.data());
      else
        bernoulli_column<false>(x, eta, np, t, nullptr, buf, ws.pixel_big.data());
      // The columns' sums four at a time: four chains side by side, each
      // in its column's order.
      std::size_t col = c0;
      for (; col + 4 <= c1; col += 4) {
        const double* tc = t + (col - c0) * dx_;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        for (std::size_t k = 0; k < dx_; ++k) {
          s0 += tc[k];
          s1 += tc[dx_ + k];
          s2 += tc[2 * dx_ + k];
          s3 += tc[3 * dx_ + k];
        }
        ws.ll[col] = s0;
        ws.ll[col + 1] = s1;
        ws.ll[col + 2] = s2;
        ws.ll[col + 3] = s3;
      }
      for (; col < c1; ++col) {
        const double* tc = t + (col - c0) * dx_;
        double ll = 0.0;
        for (std::size_t k = 0; k < dx_; ++k) ll += tc[k];
        ws.ll[col] = ll;
      }
      if (v != nullptr)
        for (col = c0; col < c1; ++col) weigh_column(ws, ws.x.colptr(col), col, v[col]);
    }
    ws.kept = keep && v == nullptr;
  }

  // ws.d_a (and ws.d_head) = d(-sum_c v_c ll_c) / d outputs from the parts
  // values(ws, true) kept there.
  void weigh_kept(Workspace& ws, const double* v) const {
    const std::size_t m = ws.x.n_cols, n = ws.xhat.n_cols, S = n / std::max<std::size_t>(m, 1);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t s = 0; s < S; ++s) weigh_column(ws, ws.x.colptr(i), i * S + s, v[i * S + s]);
    ws.kept = false;
  }

  LikelihoodSpec spec_;
  std::size_t dx_ = 0;
  std::size_t log_c_ = 0;
};

}  // namespace vaeconv
