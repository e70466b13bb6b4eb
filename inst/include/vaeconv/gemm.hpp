// The core's matrix products C = op(A) op(B) + beta C (alpha = 1, beta 0 or
// 1) with a fixed order of operations, run by AVX-512 kernels when the CPU
// has them.
//
// The order is that of the BLAS the core was first verified with and its
// fixtures recorded with (OpenBLAS 0.3.21's Haswell kernels): the inner
// dimension is cut into blocks (kblock() below: 256 terms at a time, and
// 257 to 511 remaining terms in two blocks, the first rounded up to a
// multiple of 4), and within a block each element of C is one chain of fused
// multiply-adds in the order of k, started from zero and then added to C
// (after C is set to zero when beta = 0). One case is different: when n is
// odd, the last column's elements in the first 4 floor(m / 4) rows are
// summed in four chains (the terms k = 0, 4, 8, ... of the block's first
// 8 floor(len / 8), and then every term after them, in the first; k = 1,
// 5, ... in the second, and so on), added as (c0 + c1) + (c2 + c3).
//
// Same order, same bits: with these kernels a fit is identical to the bit
// to one made through that BLAS, and on a CPU with AVX-512 its results no
// longer depend on which BLAS R is linked to. gemm_reference() spells the order out one element at
// a time; the tests compare the kernels with it (and, on a machine whose
// BLAS is that OpenBLAS, with the BLAS). Without AVX-512 the products go to
// the BLAS as before.
#pragma once

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <cstddef>
#include <vector>

#include "vmath.hpp"

#if defined(VAECONV_AVX2)
#include <immintrin.h>
#endif

// Loops over a tile's columns are unrolled so that its sums stay in
// registers.
#if defined(__clang__)
#define VAECONV_UNROLL(n) _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define VAECONV_UNROLL(n) _Pragma(VAECONV_STR(GCC unroll n))
#define VAECONV_STR(x) #x
#else
#define VAECONV_UNROLL(n)
#endif

namespace vaeconv {

// The length of the block of the inner dimension that starts with `left`
// terms to go.
inline std::size_t kblock(std::size_t left) {
  constexpr std::size_t q = 256, unroll = 4;
  if (left >= 2 * q) return q;
  if (left > q) return ((left / 2 + unroll - 1) / unroll) * unroll;
  return left;
}

// op(A)(i, l) of a column-major A with leading dimension lda.
inline double op_at(bool trans, const double* A, std::size_t lda, std::size_t i,
                    std::size_t l) {
  return trans ? A[l + i * lda] : A[i + l * lda];
}

// The order above, one element at a time (for tests; slow).
inline void gemm_reference(bool trans_a, bool trans_b, std::size_t m, std::size_t n,
                           std::size_t k, const double* A, std::size_t lda, const double* B,
                           std::size_t ldb, double beta, double* C, std::size_t ldc) {
  if (beta == 0.0)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < m; ++i) C[i + j * ldc] = 0.0;
  const std::size_t m4 = m / 4 * 4;
  for (std::size_t ls = 0, len = 0; ls < k; ls += len) {
    len = kblock(k - ls);
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t i = 0; i < m; ++i) {
        double acc = 0.0;
        if (n % 2 == 1 && j == n - 1 && i < m4) {
          double c[4] = {0.0, 0.0, 0.0, 0.0};
          const std::size_t end8 = ls + len / 8 * 8;
          std::size_t l = ls;
          for (; l < end8; ++l)
            c[(l - ls) % 4] = std::fma(op_at(trans_a, A, lda, i, l),
                                       op_at(trans_b, B, ldb, l, j), c[(l - ls) % 4]);
          for (; l < ls + len; ++l)
            c[0] = std::fma(op_at(trans_a, A, lda, i, l), op_at(trans_b, B, ldb, l, j), c[0]);
          acc = (c[0] + c[1]) + (c[2] + c[3]);
        } else {
          for (std::size_t l = ls; l < ls + len; ++l)
            acc = std::fma(op_at(trans_a, A, lda, i, l), op_at(trans_b, B, ldb, l, j), acc);
        }
        C[i + j * ldc] = C[i + j * ldc] + acc;
      }
    }
  }
}

#if defined(VAECONV_AVX2)
namespace detail {

constexpr std::size_t gemm_mr = 16;  // rows of a tile: two vectors of 8
constexpr std::size_t gemm_nr = 12;  // columns of a tile

// The mask of the first `rows` (of at most 16) in vector v (0 or 1) of 8.
inline __mmask8 row_mask(std::size_t rows, int v) {
  const std::size_t r = rows > 8 * std::size_t(v) ? rows - 8 * std::size_t(v) : 0;
  return r >= 8 ? __mmask8(0xFF) : __mmask8((1u << r) - 1);
}

// Rows [i0, i0 + 16) of op(A), terms [ls, ls + len), packed k-major (16 per
// term), rows past m as zeros.
VAECONV_TARGET_AVX512 inline void pack_a(bool trans, const double* A, std::size_t lda,
                                         std::size_t m, std::size_t i0, std::size_t ls,
                                         std::size_t len, double* out) {
  const std::size_t rows = std::min(gemm_mr, m - i0);
  if (!trans) {
    // 16 rows of a column of A at a time (masked loads for fewer).
    const __mmask8 k0 = row_mask(rows, 0), k1 = row_mask(rows, 1);
    for (std::size_t l = 0; l < len; ++l) {
      const double* a = A + i0 + (ls + l) * lda;
      double* o = out + l * gemm_mr;
      _mm512_storeu_pd(o, _mm512_maskz_loadu_pd(k0, a));
      _mm512_storeu_pd(o + 8, _mm512_maskz_loadu_pd(k1, a + 8));
    }
    return;
  }
  // op(A) = A': row i of op(A) is column i of A, read along its length;
  // 8 rows by 8 terms at a time through an 8 x 8 transpose in registers,
  // the rest one value at a time.
  const std::size_t rows8 = rows / 8 * 8, len8 = len / 8 * 8;
  for (std::size_t g = 0; g < rows8; g += 8) {
    const double* a = A + ls + (i0 + g) * lda;
    for (std::size_t l = 0; l < len8; l += 8) {
      __m512d r[8], t[8], u[8];
      for (int q = 0; q < 8; ++q) r[q] = _mm512_loadu_pd(a + q * lda + l);
      for (int q = 0; q < 8; q += 2) {
        t[q] = _mm512_unpacklo_pd(r[q], r[q + 1]);
        t[q + 1] = _mm512_unpackhi_pd(r[q], r[q + 1]);
      }
      for (int h = 0; h < 8; h += 4) {  // rows h..h+3
        u[h] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0x88);      // terms 0, 4
        u[h + 1] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0xDD);  // 2, 6
        u[h + 2] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0x88);  // 1, 5
        u[h + 3] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0xDD);  // 3, 7
      }
      double* o = out + l * gemm_mr + g;
      _mm512_storeu_pd(o + 0 * gemm_mr, _mm512_shuffle_f64x2(u[0], u[4], 0x88));
      _mm512_storeu_pd(o + 4 * gemm_mr, _mm512_shuffle_f64x2(u[0], u[4], 0xDD));
      _mm512_storeu_pd(o + 2 * gemm_mr, _mm512_shuffle_f64x2(u[1], u[5], 0x88));
      _mm512_storeu_pd(o + 6 * gemm_mr, _mm512_shuffle_f64x2(u[1], u[5], 0xDD));
      _mm512_storeu_pd(o + 1 * gemm_mr, _mm512_shuffle_f64x2(u[2], u[6], 0x88));
      _mm512_storeu_pd(o + 5 * gemm_mr, _mm512_shuffle_f64x2(u[2], u[6], 0xDD));
      _mm512_storeu_pd(o + 3 * gemm_mr, _mm512_shuffle_f64x2(u[3], u[7], 0x88));
      _mm512_storeu_pd(o + 7 * gemm_mr, _mm512_shuffle_f64x2(u[3], u[7], 0xDD));
    }
    for (std::size_t q = 0; q < 8; ++q)
      for (std::size_t l = len8; l < len; ++l) out[l * gemm_mr + g + q] = a[q * lda + l];
  }
  for (std::size_t r = rows8; r < rows; ++r) {
    const double* a = A + ls + (i0 + r) * lda;
    for (std::size_t l = 0; l < len; ++l) out[l * gemm_mr + r] = a[l];
  }
  for (std::size_t r = rows; r < gemm_mr; ++r)
    for (std::size_t l = 0; l < len; ++l) out[l * gemm_mr + r] = 0.0;
}

// Columns [j0, j0 + cols) of op(B) (cols at most w, the tile's width: 4, 8
// or 12), terms [ls, ls + len), packed k-major (w per term), the columns
// past cols as zeros.
inline void pack_b(bool trans, const double* B, std::size_t ldb, std::size_t j0,
                   std::size_t cols, std::size_t ls, std::size_t len, std::size_t w,
                   double* out) {
  if (trans) {
    for (std::size_t l = 0; l < len; ++l) {
      const double* b = B + j0 + (ls + l) * ldb;
      for (std::size_t c = 0; c < cols; ++c) out[l * w + c] = b[c];
    }
  } else {
    // Column j of op(B) = B is read along its length.
    for (std::size_t c = 0; c < cols; ++c) {
      const double* b = B + ls + (j0 + c) * ldb;
      for (std::size_t l = 0; l < len; ++l) out[l * w + c] = b[l];
    }
  }
  if (cols < w)
    for (std::size_t l = 0; l < len; ++l)
      for (std::size_t c = cols; c < w; ++c) out[l * w + c] = 0.0;
}

// Prefetches. Nothing here changes a result; they let the kernels run near
// their in-cache speed on operands that memory must supply: in a fit, the
// weights (2.5 MB each at 784 x 400) and the gradient they add to have
// left the caches between two uses. Prefetched while the tile before them
// computes: the next tile's part of C (read and written when the tile ends)
// and the next panel of rows of A (read by the first tile of that panel).
// (A volatile asm statement: GCC 12 deletes loops of _mm_prefetch() calls
// when it sees nothing else in them.)
#define VAECONV_PREFETCH(p) \
  __asm__ volatile("prefetcht0 %0" : : "m"(*reinterpret_cast<const char*>(p)))

// The lines of C's rows x cols block at c (rows at most 16).
VAECONV_TARGET_AVX512 inline void prefetch_c(const double* c, std::size_t ldc, std::size_t rows,
                                             std::size_t cols) {
  for (std::size_t j = 0; j < cols; ++j) {
    const double* cj = c + j * ldc;
    VAECONV_PREFETCH(cj);
    if (rows > 8) VAECONV_PREFETCH(cj + 8);
    VAECONV_PREFETCH(cj + rows - 1);
  }
}

// The 8 V x NC tile of sums over len terms l of a(r, l) b(l, j) into c,
// with a(r, l) = a[l sa + r] (8 V rows, packed or straight from A) and
// b(l, j) = b[l sl + j sj] (packed or straight from B): each element one
// chain of fused multiply-adds in the order of the terms. PF = 1 or 2
// fetches as it goes the next panel of A, 16 rows of op(A) over the same
// terms: read straight (PF = 1: the 16 values at pf + l pf_ld, up to three
// lines, at step l) or transposed (PF = 2: 16 columns of A of len values
// each, from pf with leading dimension pf_ld; two of their 2 len lines at
// each step).
template <int V, int PF, std::size_t NC>
VAECONV_TARGET_AVX512 VAECONV_INLINE void tile_sums(const double* a, std::size_t sa,
                                                    const double* b, std::size_t sl,
                                                    std::size_t sj, std::size_t len,
                                                    const double* pf, std::size_t pf_ld,
                                                    __m512d (&c)[V][NC]) {
VAECONV_UNROLL(12)
  for (std::size_t j = 0; j < NC; ++j)
    for (int v = 0; v < V; ++v) c[v][j] = _mm512_setzero_pd();
  for (std::size_t l = 0; l < len; ++l) {
    if constexpr (PF == 1) {
      const double* q = pf + l * pf_ld;
      VAECONV_PREFETCH(q);
      VAECONV_PREFETCH(q + 8);
      VAECONV_PREFETCH(q + 15);
    } else if constexpr (PF == 2) {
      const std::size_t line = 2 * l;  // lines 2l and 2l + 1 of the 16 columns' 2 len
      VAECONV_PREFETCH(pf + (line % gemm_mr) * pf_ld + (line / gemm_mr) * 8);
      VAECONV_PREFETCH(pf + ((line + 1) % gemm_mr) * pf_ld + ((line + 1) / gemm_mr) * 8);
    }
    __m512d av[V];
    for (int v = 0; v < V; ++v) av[v] = _mm512_loadu_pd(a + l * sa + 8 * v);
    const double* bl = b + l * sl;
VAECONV_UNROLL(12)
    for (std::size_t j = 0; j < NC; ++j) {
      const __m512d bj = _mm512_set1_pd(bl[j * sj]);
      for (int v = 0; v < V; ++v) c[v][j] = _mm512_fmadd_pd(av[v], bj, c[v][j]);
    }
  }
}

// Adds to C (rows x cols of it, at most 8 V x 12, leading dimension ldc)
// the 8 V x 12 tile of tile_sums(). V = 2 (16 rows) but for a panel of at
// most 8 rows, which V = 1 does at half the work. PF: see tile_sums() (only
// the first tile of a panel fetches: the others keep the plain loop).
// NC = 4 or 8 (PF = 0 only) sums only the first NC of the 12 columns: a
// last, narrower panel of at most NC columns, without the work of the
// columns past it (each element's chain is the same).
// With init, the tile's sums are added to init[r] (the same for every
// column) instead of to C, and written to C: C = init 1' + the sums.
template <int V, int PF, std::size_t NC = gemm_nr>
VAECONV_TARGET_AVX512 inline void tile_avx512(const double* a, std::size_t sa, const double* b,
                                              std::size_t sl, std::size_t sj, std::size_t len,
                                              double* C, std::size_t ldc, std::size_t rows,
                                              std::size_t cols, const double* pf,
                                              std::size_t pf_ld, const double* init) {
  static_assert(NC == gemm_nr || (PF == 0 && NC % 4 == 0 && NC < gemm_nr), "a narrow tile");
  __m512d c[V][NC];
  tile_sums<V, PF, NC>(a, sa, b, sl, sj, len, pf, pf_ld, c);
  const __mmask8 k[2] = {row_mask(rows, 0), row_mask(rows, 1)};
  __m512d iv[V];
  if (init != nullptr)
    for (int v = 0; v < V; ++v) iv[v] = _mm512_maskz_loadu_pd(k[v], init + 8 * v);
  if (rows == 8 * V && cols == NC) {
VAECONV_UNROLL(12)
    for (std::size_t j = 0; j < NC; ++j)
      for (int v = 0; v < V; ++v) {
        double* cj = C + j * ldc + 8 * v;
        _mm512_storeu_pd(cj, _mm512_add_pd(init != nullptr ? iv[v] : _mm512_loadu_pd(cj), c[v][j]));
      }
    return;
  }
VAECONV_UNROLL(12)
  for (std::size_t j = 0; j < NC; ++j) {
    if (j >= cols) continue;
    for (int v = 0; v < V; ++v) {
      double* cj = C + j * ldc + 8 * v;
      if (k[v] != 0)
        _mm512_mask_storeu_pd(
            cj, k[v],
            _mm512_add_pd(init != nullptr ? iv[v] : _mm512_maskz_loadu_pd(k[v], cj), c[v][j]));
    }
  }
}

// The tile of two products (gemm_pair_avx512()): the 16 x NC sums of
// tile_sums(), its first 8 rows added to C (or to init, and written to C)
// and its last 8 to C2 (or init2), `rows` rows of each.
template <std::size_t NC>
VAECONV_TARGET_AVX512 inline void tile_pair_avx512(const double* a, const double* b,
                                                   std::size_t sl, std::size_t sj,
                                                   std::size_t len, double* C, double* C2,
                                                   std::size_t ldc, std::size_t rows,
                                                   std::size_t cols, const double* init,
                                                   const double* init2) {
  __m512d c[2][NC];
  tile_sums<2, 0, NC>(a, gemm_mr, b, sl, sj, len, nullptr, 0, c);
  const __mmask8 k = row_mask(rows, 0);
  double* const out[2] = {C, C2};
  __m512d iv[2];
  if (init != nullptr) {
    iv[0] = _mm512_maskz_loadu_pd(k, init);
    iv[1] = _mm512_maskz_loadu_pd(k, init2);
  }
VAECONV_UNROLL(12)
  for (std::size_t j = 0; j < NC; ++j) {
    if (j >= cols) continue;
    for (int v = 0; v < 2; ++v) {
      double* cj = out[v] + j * ldc;
      _mm512_mask_storeu_pd(
          cj, k, _mm512_add_pd(init != nullptr ? iv[v] : _mm512_maskz_loadu_pd(k, cj), c[v][j]));
    }
  }
}

// The 16 sums over len terms of the packed a and the column b (len values),
// both ways: one chain each (plain) and four chains (four, see the order).
VAECONV_TARGET_AVX512 inline void column_avx512(const double* a, const double* b,
                                                std::size_t len, double* plain, double* four) {
  __m512d p0 = _mm512_setzero_pd(), p1 = _mm512_setzero_pd();
  __m512d f0[4], f1[4];
  for (int r = 0; r < 4; ++r) {
    f0[r] = _mm512_setzero_pd();
    f1[r] = _mm512_setzero_pd();
  }
  const std::size_t end8 = len / 8 * 8;
  std::size_t l = 0;
  for (; l < end8; l += 4) {
VAECONV_UNROLL(4)
    for (std::size_t r = 0; r < 4; ++r) {
      const __m512d a0 = _mm512_loadu_pd(a + (l + r) * gemm_mr);
      const __m512d a1 = _mm512_loadu_pd(a + (l + r) * gemm_mr + 8);
      const __m512d bl = _mm512_set1_pd(b[l + r]);
      p0 = _mm512_fmadd_pd(a0, bl, p0);
      p1 = _mm512_fmadd_pd(a1, bl, p1);
      f0[r] = _mm512_fmadd_pd(a0, bl, f0[r]);
      f1[r] = _mm512_fmadd_pd(a1, bl, f1[r]);
    }
  }
  for (; l < len; ++l) {
    const __m512d a0 = _mm512_loadu_pd(a + l * gemm_mr);
    const __m512d a1 = _mm512_loadu_pd(a + l * gemm_mr + 8);
    const __m512d bl = _mm512_set1_pd(b[l]);
    p0 = _mm512_fmadd_pd(a0, bl, p0);
    p1 = _mm512_fmadd_pd(a1, bl, p1);
    f0[0] = _mm512_fmadd_pd(a0, bl, f0[0]);
    f1[0] = _mm512_fmadd_pd(a1, bl, f1[0]);
  }
  _mm512_storeu_pd(plain, p0);
  _mm512_storeu_pd(plain + 8, p1);
  _mm512_storeu_pd(four, _mm512_add_pd(_mm512_add_pd(f0[0], f0[1]), _mm512_add_pd(f0[2], f0[3])));
  _mm512_storeu_pd(four + 8, _mm512_add_pd(_mm512_add_pd(f1[0], f1[1]), _mm512_add_pd(f1[2], f1[3])));
}

// Packing buffers, one set per thread.
struct GemmBuffers {
  std::vector<double> a, b, col;
  std::vector<double> zeros;  // (only zeros)
};
inline GemmBuffers& gemm_buffers() {
  thread_local GemmBuffers buf;
  return buf;
}

// With bias (and k > 0), C = bias 1' + op(A) op(B): the bits of C set to
// bias in every column and then beta = 1, without that pass (the first
// block of terms adds its sums to bias).
VAECONV_TARGET_AVX512 inline void gemm_avx512(bool trans_a, bool trans_b, std::size_t m,
                                              std::size_t n, std::size_t k, const double* A,
                                              std::size_t lda, const double* B,
                                              std::size_t ldb, double beta, double* C,
                                              std::size_t ldc, const double* bias = nullptr) {
  GemmBuffers& buf = gemm_buffers();
  if (beta == 0.0 && bias == nullptr) {
    if (k == 0) {
      for (std::size_t j = 0; j < n; ++j) std::fill(C + j * ldc, C + j * ldc + m, 0.0);
      return;
    }
    // C = 0 + the first block's sums, as C set to zero and then added to,
    // without that pass: a bias of zeros.
    if (buf.zeros.size() < m + gemm_mr) buf.zeros.assign(m + gemm_mr, 0.0);
    bias = buf.zeros.data();
  }
  const std::size_t m4 = m / 4 * 4;
  // Columns summed by tiles; an odd n's last column on its own.
  const std::size_t n_tiles = n % 2 == 1 ? n - 1 : n;
  // Operands of a megabyte or more (the size of a core's L2 cache here and
  // on most CPUs with AVX-512) are prefetched as the tiles go; smaller ones
  // stay in the caches, where the prefetches would only cost instructions.
  constexpr std::size_t cached = std::size_t(1) << 17;  // doubles
  const bool fetch_c = m * n >= cached, fetch_a = m * k >= cached;
  for (std::size_t ls = 0, len = 0; ls < k; ls += len) {
    len = kblock(k - ls);
    const double* init = ls == 0 ? bias : nullptr;  // the first block adds to bias
    buf.a.resize(gemm_mr * len);
    buf.b.resize(gemm_nr * len);
    // Full panels of 12 columns are read straight from B; a last, narrower
    // one is packed with zeros after its columns, up to the width of the
    // tile that sums it: 4 or 8 when it has at most that many columns (12
    // when it is the only panel and its first tile fetches the next panel of
    // A, which only the 12-wide tiles do).
    const std::size_t full = n_tiles / gemm_nr * gemm_nr, rest = n_tiles - full;
    const std::size_t width = (full == 0 && fetch_a) || rest > 8 ? gemm_nr : rest > 4 ? 8 : 4;
    if (rest > 0) pack_b(trans_b, B, ldb, full, rest, ls, len, width, buf.b.data());
    const std::size_t b_sl = trans_b ? ldb : 1, b_sj = trans_b ? 1 : ldb;
    for (std::size_t i0 = 0; i0 < m; i0 += gemm_mr) {
      const std::size_t rows = std::min(gemm_mr, m - i0);
      // 16 rows of A straight from it, else packed.
      const bool direct = !trans_a && rows == gemm_mr;
      if (!direct) pack_a(trans_a, A, lda, m, i0, ls, len, buf.a.data());
      const double* a = direct ? A + i0 + ls * lda : buf.a.data();
      const std::size_t sa = direct ? lda : gemm_mr;
      const auto tile = rows > 8 ? tile_avx512<2, 0> : tile_avx512<1, 0>;
      const auto fetching = rows > 8 ? (trans_a ? tile_avx512<2, 2> : tile_avx512<2, 1>)
                                     : (trans_a ? tile_avx512<1, 2> : tile_avx512<1, 1>);
      // The first tile of the panel fetches the next panel of A when full.
      const double* next = nullptr;
      if (fetch_a && i0 + 2 * gemm_mr <= m)
        next = trans_a ? A + ls + (i0 + gemm_mr) * lda : A + i0 + gemm_mr + ls * lda;
      for (std::size_t p = 0; p < n_tiles; p += gemm_nr) {
        // The next tile's block of C: this panel's next, else the next
        // panel's first.
        if (fetch_c) {
          if (p + gemm_nr < n_tiles)
            prefetch_c(C + i0 + (p + gemm_nr) * ldc, ldc, rows,
                       std::min(gemm_nr, n_tiles - p - gemm_nr));
          else if (i0 + gemm_mr < m)
            prefetch_c(C + i0 + gemm_mr, ldc, std::min(gemm_mr, m - i0 - gemm_mr),
                       std::min(gemm_nr, n_tiles));
        }
        const bool fetches = p == 0 && next != nullptr;
        const auto run = fetches ? fetching : tile;
        if (p < full) {
          const double* b = trans_b ? B + p + ls * ldb : B + ls + p * ldb;
          run(a, sa, b, b_sl, b_sj, len, C + i0 + p * ldc, ldc, rows, gemm_nr, next, lda,
              init != nullptr ? init + i0 : nullptr);
        } else {
          const auto last = width == gemm_nr ? run
                            : width == 8 ? (rows > 8 ? tile_avx512<2, 0, 8> : tile_avx512<1, 0, 8>)
                                         : (rows > 8 ? tile_avx512<2, 0, 4> : tile_avx512<1, 0, 4>);
          last(a, sa, buf.b.data(), width, 1, len, C + i0 + full * ldc, ldc, rows, rest, next,
               lda, init != nullptr ? init + i0 : nullptr);
        }
      }
    }
    if (n_tiles == n) continue;
    // The odd last column: four chains in the rows below m4, one after.
    buf.col.resize(2 * gemm_mr + len);
    double* plain = buf.col.data();
    double* four = plain + gemm_mr;
    double* bcol = four + gemm_mr;
    for (std::size_t l = 0; l < len; ++l)
      bcol[l] = trans_b ? B[n - 1 + (ls + l) * ldb] : B[ls + l + (n - 1) * ldb];
    for (std::size_t i0 = 0; i0 < m; i0 += gemm_mr) {
      const std::size_t rows = std::min(gemm_mr, m - i0);
      pack_a(trans_a, A, lda, m, i0, ls, len, buf.a.data());
      column_avx512(buf.a.data(), bcol, len, plain, four);
      double* cc = C + i0 + (n - 1) * ldc;
      const double* c0 = init != nullptr ? init + i0 : cc;
      for (std::size_t r = 0; r < rows; ++r) cc[r] = c0[r] + (i0 + r < m4 ? four[r] : plain[r]);
    }
  }
}

// Two products that share op(B), of m <= 8 rows each (A and A2 not
// transposed), in one pass of 16-row tiles: C = op(A) op(B) in the tiles'
// first 8 rows and C2 = A2 op(B) in their last 8, with bias and bias2 (as
// gemm_avx512()) or, without, added to C and C2 (beta = 1). n must be even
// (an odd last column has an order of its own). Each element's sums are
// those of gemm_avx512() (a panel of at most 8 rows is packed there too):
// the same bits, in one pass where there were two of 8-row tiles.
VAECONV_TARGET_AVX512 inline void gemm_pair_avx512(bool trans_b, std::size_t m, std::size_t n,
                                                   std::size_t k, const double* A,
                                                   const double* A2, std::size_t lda,
                                                   const double* B, std::size_t ldb, double* C,
                                                   double* C2, std::size_t ldc,
                                                   const double* bias, const double* bias2) {
  GemmBuffers& buf = gemm_buffers();
  const __mmask8 km = row_mask(m, 0);
  const std::size_t full = n / gemm_nr * gemm_nr, rest = n - full;
  const std::size_t width = rest > 8 ? gemm_nr : rest > 4 ? 8 : 4;
  const std::size_t b_sl = trans_b ? ldb : 1, b_sj = trans_b ? 1 : ldb;
  const auto last = width == gemm_nr ? tile_pair_avx512<gemm_nr>
                    : width == 8     ? tile_pair_avx512<8>
                                     : tile_pair_avx512<4>;
  for (std::size_t ls = 0, len = 0; ls < k; ls += len) {
    len = kblock(k - ls);
    const double* init = ls == 0 ? bias : nullptr;  // the first block adds to bias
    const double* init2 = ls == 0 ? bias2 : nullptr;
    buf.a.resize(gemm_mr * len);
    buf.b.resize(gemm_nr * len);
    double* a = buf.a.data();
    for (std::size_t l = 0; l < len; ++l) {
      _mm512_storeu_pd(a + l * gemm_mr, _mm512_maskz_loadu_pd(km, A + (ls + l) * lda));
      _mm512_storeu_pd(a + l * gemm_mr + 8, _mm512_maskz_loadu_pd(km, A2 + (ls + l) * lda));
    }
    for (std::size_t p = 0; p < full; p += gemm_nr) {
      const double* b = trans_b ? B + p + ls * ldb : B + ls + p * ldb;
      tile_pair_avx512<gemm_nr>(a, b, b_sl, b_sj, len, C + p * ldc, C2 + p * ldc, ldc, m,
                                gemm_nr, init, init2);
    }
    if (rest > 0) {
      pack_b(trans_b, B, ldb, full, rest, ls, len, width, buf.b.data());
      last(a, buf.b.data(), width, 1, len, C + full * ldc, C2 + full * ldc, ldc, m, rest, init,
           init2);
    }
  }
}

}  // namespace detail
#endif

// Whether gemm() uses the kernels above (else the BLAS): with AVX-512, or
// when forced for tests (gemm_override() = 1; 0 forces the BLAS).
inline int& gemm_override() {
  static int v = -1;
  return v;
}
inline bool gemm_uses_kernels() {
#if defined(VAECONV_AVX2)
  if (gemm_override() >= 0) return gemm_override() == 1 && vmath::simd_level() >= 2;
  return vmath::simd_level() >= 2;
#else
  return false;
#endif
}

// C = alpha op(A) op(B) + beta C for column-major matrices, op(A) m x k and
// op(B) k x n, straight through the BLAS dgemm.
inline void blas_gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                      double alpha, const double* A, std::size_t lda, const double* B,
                      std::size_t ldb, double beta, double* C, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  const arma::blas_int bm = arma::blas_int(m), bn = arma::blas_int(n),
                       bk = arma::blas_int(k), blda = arma::blas_int(lda > 0 ? lda : 1),
                       bldb = arma::blas_int(ldb > 0 ? ldb : 1),
                       bldc = arma::blas_int(ldc > 0 ? ldc : 1);
  arma::blas::gemm<double>(trans_a ? "T" : "N", trans_b ? "T" : "N", &bm, &bn, &bk, &alpha, A,
                           &blda, B, &bldb, &beta, C, &bldc);
}

// The core's product: the kernels above for alpha = 1 and beta 0 or 1 when
// they run, the BLAS otherwise.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 double alpha, const double* A, std::size_t lda, const double* B,
                 std::size_t ldb, double beta, double* C, std::size_t ldc) {
  if (m == 0 || n == 0) return;
#if defined(VAECONV_AVX2)
  if (alpha == 1.0 && (beta == 0.0 || beta == 1.0) && gemm_uses_kernels()) {
    detail::gemm_avx512(trans_a, trans_b, m, n, k, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#endif
  blas_gemm(trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

// C = bias 1' + op(A) op(B) (C m x n, bias m values): the bits of C set to
// bias in every column and then gemm() with beta = 1 (the kernels do it
// without that pass).
inline void gemm_bias(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                      const double* A, std::size_t lda, const double* B, std::size_t ldb,
                      const double* bias, double* C, std::size_t ldc) {
  if (m == 0 || n == 0) return;
#if defined(VAECONV_AVX2)
  if (k > 0 && gemm_uses_kernels()) {
    detail::gemm_avx512(trans_a, trans_b, m, n, k, A, lda, B, ldb, 1.0, C, ldc, bias);
    return;
  }
#endif
  for (std::size_t j = 0; j < n; ++j) std::copy(bias, bias + m, C + j * ldc);
  gemm(trans_a, trans_b, m, n, k, 1.0, A, lda, B, ldb, 1.0, C, ldc);
}

// The pair C += A op(B), C2 += A2 op(B) (A, A2 m x k not transposed, the
// same leading dimensions), or with biases, C = bias 1' + A op(B) and C2 =
// bias2 1' + A2 op(B) as gemm_bias(): through gemm_pair_avx512() when the
// kernels run, m <= 8 and n is even, else as two products. The same bits
// either way.
inline void gemm_pair(bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                      const double* A, const double* A2, std::size_t lda, const double* B,
                      std::size_t ldb, double* C, double* C2, std::size_t ldc,
                      const double* bias = nullptr, const double* bias2 = nullptr) {
  if (m == 0 || n == 0) return;
#if defined(VAECONV_AVX2)
  if (k > 0 && m <= 8 && n % 2 == 0 && gemm_uses_kernels()) {
    detail::gemm_pair_avx512(trans_b, m, n, k, A, A2, lda, B, ldb, C, C2, ldc, bias, bias2);
    return;
  }
#endif
  if (bias != nullptr) {
    gemm_bias(false, trans_b, m, n, k, A, lda, B, ldb, bias, C, ldc);
    gemm_bias(false, trans_b, m, n, k, A2, lda, B, ldb, bias2, C2, ldc);
  } else {
    gemm(false, trans_b, m, n, k, 1.0, A, lda, B, ldb, 1.0, C, ldc);
    gemm(false, trans_b, m, n, k, 1.0, A2, lda, B, ldb, 1.0, C2, ldc);
  }
}

}  // namespace vaeconv
