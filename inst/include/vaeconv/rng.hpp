// Counter-based random numbers: every draw is a pure function of
// (seed, stream, iteration, sample, coordinate), so results never depend on
// the order in which threads or chunks ask for them.
#pragma once

#include <cmath>
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "vmath.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define VAECONV_LAMBDA_INLINE __attribute__((always_inline))
#else
#define VAECONV_LAMBDA_INLINE
#endif

namespace vaeconv {

// Purposes of the random draws; each has its own stream of counters.
enum class Stream : std::uint32_t {
  init = 1,        // initial weights
  permutation = 2, // minibatch order, keyed by epoch
  train = 3,       // reparameterisation noise at a training iteration
  eval = 4,        // noise of the full-data evaluation
  generate = 5,    // draws of z for generate()
  estimate = 6,    // diagnostics (log-likelihood, SNR)
  user = 7,
  estimate_batch = 8  // minibatches of the diagnostics (gradient SNR)
};

// Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as
// 1, 2, 3"), the generator behind curand and numpy's Philox.
class Philox {
 public:
  struct Block {
    std::uint32_t v[4];
  };

  static Block draw(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2,
                    std::uint32_t c3, std::uint32_t k0, std::uint32_t k1) {
    Block x{{c0, c1, c2, c3}};
    for (int r = 0; r < 10; ++r) {
      const std::uint64_t p0 = std::uint64_t(0xD2511F53u) * x.v[0];
      const std::uint64_t p1 = std::uint64_t(0xCD9E8D57u) * x.v[2];
      const std::uint32_t hi0 = std::uint32_t(p0 >> 32), lo0 = std::uint32_t(p0);
      const std::uint32_t hi1 = std::uint32_t(p1 >> 32), lo1 = std::uint32_t(p1);
      x = Block{{hi1 ^ x.v[1] ^ k0, lo1, hi0 ^ x.v[3] ^ k1, lo0}};
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    return x;
  }
};

namespace detail {

// Philox4x32-10 on L::width counter blocks at once (one per lane, 32-bit
// words held in 64-bit lanes), then the Box-Muller pair of each block:
// r = sqrt(-2 log u1), c = cos(2 pi u2), s = sin(2 pi u2) with u1 and u2
// formed from the block as to_unit() does. Integer arithmetic is exact, so
// the blocks equal Philox::draw()'s.
template <class L>
VAECONV_INLINE void philox_box_muller(const std::uint32_t* c0, const std::uint32_t* c1,
                                      std::uint32_t c2, const std::uint32_t* c3,
                                      std::uint32_t k0, std::uint32_t k1, double* r, double* c,
                                      double* s) {
  typedef typename L::vu vu;
  typedef typename L::vd vd;
  constexpr std::size_t W = L::width;
  vu x0, x1, x2, x3;
  if constexpr (W == 1) {
    x0 = c0[0];
    x1 = c1[0];
    x3 = c3[0];
  } else {
    // The 32-bit words widened in registers (a store of the 64-bit values
    // followed by a wider load stalled the store forwarding).
    typedef std::uint32_t v32 __attribute__((vector_size(4 * W)));
    v32 w;
    std::memcpy(&w, c0, sizeof w);
    x0 = __builtin_convertvector(w, vu);
    std::memcpy(&w, c1, sizeof w);
    x1 = __builtin_convertvector(w, vu);
    std::memcpy(&w, c3, sizeof w);
    x3 = __builtin_convertvector(w, vu);
  }
  x2 = vu{} + std::uint64_t(c2);
  const std::uint64_t low = 0xffffffffULL;
  for (int round = 0; round < 10; ++round) {
    const vu p0 = x0 * std::uint64_t(0xD2511F53u);
    const vu p1 = x2 * std::uint64_t(0xCD9E8D57u);
    const vu y0 = (p1 >> 32) ^ x1 ^ std::uint64_t(k0);
    const vu y2 = (p0 >> 32) ^ x3 ^ std::uint64_t(k1);
    x0 = y0;
    x1 = p1 & low;
    x2 = y2;
    x3 = p0 & low;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  // to_unit(a, b) = ((a >> 5) 2^26 + (b >> 6)) 2^-53, the integers made
  // doubles exactly (2^52 + v has v in its low bits).
  const vu magic = vu{} + 0x4330000000000000ULL;
  const vd two52 = vmath::splat<L>(4503599627370496.0);
  // Always inlined: out of line, the lambda would not share the caller's
  // target (AVX2/AVX-512) and its vector return would change ABI.
  auto to_unit = [&](const vu& a, const vu& b) VAECONV_LAMBDA_INLINE {
    const vd da = vmath::from_bits<L>((a >> 5) | magic) - two52;
    const vd db = vmath::from_bits<L>((b >> 6) | magic) - two52;
    return (da * vmath::splat<L>(67108864.0) + db) * vmath::splat<L>(1.0 / 9007199254740992.0);
  };
  const vd u1 = vmath::splat<L>(1.0) - to_unit(x0, x1);  // (0, 1]
  const vd u2 = to_unit(x2, x3);
  vmath::store<L>(r, vmath::sqrt<L>(vmath::splat<L>(-2.0) * vmath::log_normal<L>(u1)));
  vd cv, sv;
  vmath::sincos_turns<L>(u2, cv, sv);
  vmath::store<L>(c, cv);
  vmath::store<L>(s, sv);
}

// The same over n lanes (a multiple of the width), at the widest vector
// width the CPU runs.
template <class L>
VAECONV_INLINE void philox_box_muller_n(std::size_t n, const std::uint32_t* c0,
                                        const std::uint32_t* c1, std::uint32_t c2,
                                        const std::uint32_t* c3, std::uint32_t k0,
                                        std::uint32_t k1, double* r, double* c, double* s) {
  for (std::size_t i = 0; i < n; i += L::width)
    philox_box_muller<L>(c0 + i, c1 + i, c2, c3 + i, k0, k1, r + i, c + i, s + i);
}
#if defined(VAECONV_AVX2)
VAECONV_TARGET_AVX512 inline void philox_box_muller_avx512(
    std::size_t n, const std::uint32_t* c0, const std::uint32_t* c1, std::uint32_t c2,
    const std::uint32_t* c3, std::uint32_t k0, std::uint32_t k1, double* r, double* c,
    double* s) {
  philox_box_muller_n<vmath::Lanes<8>>(n, c0, c1, c2, c3, k0, k1, r, c, s);
}
VAECONV_TARGET_AVX2 inline void philox_box_muller_avx2(
    std::size_t n, const std::uint32_t* c0, const std::uint32_t* c1, std::uint32_t c2,
    const std::uint32_t* c3, std::uint32_t k0, std::uint32_t k1, double* r, double* c,
    double* s) {
  philox_box_muller_n<vmath::Lanes<4>>(n, c0, c1, c2, c3, k0, k1, r, c, s);
}
#endif

}  // namespace detail

// A uniform on [0, 1) with 53 random bits from two 32-bit words.
inline double to_unit(std::uint32_t a, std::uint32_t b) {
  return ((a >> 5) * 67108864.0 + (b >> 6)) * (1.0 / 9007199254740992.0);
}

class KeyedRng {
 public:
  explicit KeyedRng(std::uint64_t seed = 0)
      : k0_(std::uint32_t(seed)), k1_(std::uint32_t(seed >> 32)) {}

  // Fills out[0..n) with standard normals for (stream, iteration, sample):
  // coordinate j is the cos (j even) or sin (j odd) half of a Box-Muller
  // pair drawn from counter block j / 2: with u1 in (0, 1] and u2 in
  // [0, 1) from the block, sqrt(-2 log u1) (cos, sin)(2 pi u2). The
  // logarithm, cosine and sine are vmath's vector kernels, a few pairs at a
  // time; every pair goes through the same operations, so a shorter draw is
  // a prefix of a longer one.
  void normals(Stream stream, std::uint64_t iteration, std::uint64_t sample,
               double* out, std::size_t n) const {
    normals(stream, iteration, sample, 1, out, n);
  }

  // The same for samples first, ..., first + count - 1, each of dimension
  // n, into the columns of out (n x count): sample first + c in column c.
  // The pairs go through Philox and Box-Muller a group at a time, on the
  // widest vectors the CPU runs (padding lanes are drawn and dropped).
  void normals(Stream stream, std::uint64_t iteration, std::uint64_t first,
               std::size_t count, double* out, std::size_t n) const {
    constexpr std::size_t group = 32;  // pairs per pass, a multiple of every width
    const std::size_t per = (n + 1) / 2;  // pairs per sample
    const std::size_t total = per * count;
    std::uint32_t c0[group], c1[group], c3[group];
    double r[group], c[group], s[group];
    const std::uint32_t c2 = std::uint32_t(iteration);
    const std::uint32_t c3_base = (std::uint32_t(stream) << 24) ^ std::uint32_t(iteration >> 32);
    const int level = vmath::simd_level();
    const std::size_t width = level == 2 ? 8 : level == 1 ? 4 : vmath::Base::width;
    std::size_t sample = 0, pair = 0;  // of the next pair to draw
    for (std::size_t g0 = 0; g0 < total; g0 += group) {
      const std::size_t pairs = std::min(group, total - g0);
      const std::size_t sample0 = sample, pair0 = pair;
      const std::size_t lanes = (pairs + width - 1) / width * width;
      for (std::size_t k = 0; k < lanes; ++k) {
        // Counter words as in block(); lanes past the last pair repeat it.
        const std::uint64_t smp = first + sample, pr = pair;
        c0[k] = std::uint32_t(pr);
        c1[k] = std::uint32_t(smp);
        c3[k] = c3_base ^ (std::uint32_t(smp >> 32) << 12) ^ std::uint32_t(pr >> 32);
        if (k + 1 < pairs && ++pair == per) {
          pair = 0;
          ++sample;
        }
      }
      if (pairs > 0 && ++pair == per) {  // step past the group's last pair
        pair = 0;
        ++sample;
      }
#if defined(VAECONV_AVX2)
      if (level == 2)
        detail::philox_box_muller_avx512(lanes, c0, c1, c2, c3, k0_, k1_, r, c, s);
      else if (level == 1)
        detail::philox_box_muller_avx2(lanes, c0, c1, c2, c3, k0_, k1_, r, c, s);
      else
#endif
        detail::philox_box_muller_n<vmath::Base>(lanes, c0, c1, c2, c3, k0_, k1_, r, c, s);
      std::size_t si = sample0, pi = pair0;
      for (std::size_t k = 0; k < pairs; ++k) {
        double* o = out + si * n;
        const std::size_t j = 2 * pi;
        o[j] = r[k] * c[k];
        if (j + 1 < n) o[j + 1] = r[k] * s[k];
        if (++pi == per) {
          pi = 0;
          ++si;
        }
      }
    }
  }

  // A uniform on [0, 1) for (stream, iteration, index).
  double uniform(Stream stream, std::uint64_t iteration,
                 std::uint64_t index) const {
    const Philox::Block b = block(stream, iteration, index, 0);
    return to_unit(b.v[0], b.v[1]);
  }

  // A uniform permutation of 0..n-1 (Fisher-Yates) keyed by (stream, key).
  template <class Index>
  void permutation(Stream stream, std::uint64_t key, Index* out,
                   std::size_t n) const {
    for (std::size_t i = 0; i < n; ++i) out[i] = Index(i);
    for (std::size_t i = n; i > 1; --i) {
      std::size_t j = std::size_t(uniform(stream, key, i - 1) * double(i));
      if (j >= i) j = i - 1;
      const Index tmp = out[i - 1];
      out[i - 1] = out[j];
      out[j] = tmp;
    }
  }

 private:
  Philox::Block block(Stream stream, std::uint64_t iteration,
                      std::uint64_t sample, std::uint64_t pair) const {
    // Counter words: pair index, sample index, iteration, and the stream in
    // the top byte of the last word beside the iteration's high bits.
    return Philox::draw(std::uint32_t(pair), std::uint32_t(sample),
                        std::uint32_t(iteration),
                        (std::uint32_t(stream) << 24) ^
                            std::uint32_t(iteration >> 32) ^
                            (std::uint32_t(sample >> 32) << 12) ^
                            std::uint32_t(pair >> 32),
                        k0_, k1_);
  }

  std::uint32_t k0_, k1_;
};

}  // namespace vaeconv
