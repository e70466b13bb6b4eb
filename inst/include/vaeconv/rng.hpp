// Counter-based random numbers: every draw is a pure function of
// (seed, stream, iteration, sample, coordinate), so results never depend on
// the order in which threads or chunks ask for them.
#pragma once

#include <cmath>
#include <cstddef>
#include <algorithm>
#include <cstdint>

#include "vmath.hpp"

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
  void normals(Stream stream, std::uint64_t iteration, std::uint64_t first,
               std::size_t count, double* out, std::size_t n) const {
    typedef vmath::Base L;
    constexpr std::size_t group = 8 * L::width;  // pairs per pass
    const std::size_t per = (n + 1) / 2;         // pairs per sample
    const std::size_t total = per * count;
    double u1[group], u2[group], r[group], c[group], s[group];
    std::size_t sample = 0, pair = 0;  // of the next pair to draw
    for (std::size_t g0 = 0; g0 < total; g0 += group) {
      const std::size_t pairs = std::min(group, total - g0);
      const std::size_t sample0 = sample, pair0 = pair;
      for (std::size_t k = 0; k < pairs; ++k) {
        const Philox::Block b = block(stream, iteration, first + sample, pair);
        u1[k] = 1.0 - to_unit(b.v[0], b.v[1]);  // (0, 1]
        u2[k] = to_unit(b.v[2], b.v[3]);
        if (++pair == per) {
          pair = 0;
          ++sample;
        }
      }
      const std::size_t used = (pairs + L::width - 1) / L::width * L::width;
      for (std::size_t k = pairs; k < used; ++k) {
        u1[k] = 1.0;
        u2[k] = 0.0;
      }
      for (std::size_t k = 0; k < used; k += L::width) {
        const L::vd lg = vmath::log_normal<L>(vmath::load<L>(u1 + k));
        vmath::store<L>(r + k, vmath::sqrt<L>(vmath::splat<L>(-2.0) * lg));
        L::vd cv, sv;
        vmath::sincos_turns<L>(vmath::load<L>(u2 + k), cv, sv);
        vmath::store<L>(c + k, cv);
        vmath::store<L>(s + k, sv);
      }
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
