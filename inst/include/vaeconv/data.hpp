// A view of the data a fit reads: no copy, either layout.
#pragma once

#include <algorithm>
#include <armadillo>
#include <cstddef>
#include <cstdint>

namespace vaeconv {

// Data of at most this many values (16 MiB) are worth a copy in
// observation-major order for training (see fit.cpp): a minibatch's rows,
// read from R's column-major matrix, take one cache line per value, and a
// copy makes each row one contiguous run. Larger data are read in place, so
// that a fit never holds a second copy of a large data set.
constexpr std::size_t copy_values = std::size_t(1) << 21;

// The data: n observations of dimension d, read in place either from the
// columns of a d x n matrix or from the rows of a column-major n x d matrix
// (R's layout, so that a fit can read its data without a transposed copy).
class DataView {
 public:
  DataView(const arma::mat& xt)  // NOLINT: implicit, columns are observations
      : ptr_(xt.memptr()), n_(xt.n_cols), d_(xt.n_rows), by_row_(false) {}
  static DataView rows(const double* x, std::size_t n, std::size_t d) {
    return DataView(x, n, d);
  }
  std::size_t n() const { return n_; }
  std::size_t d() const { return d_; }

  // Observations first, ..., first + m - 1 into the columns of out (d x m).
  void columns(std::size_t first, std::size_t m, double* out) const {
    if (!by_row_) {
      std::copy(ptr_ + first * d_, ptr_ + (first + m) * d_, out);
      return;
    }
    for (std::size_t k = 0; k < d_; ++k) {
      const double* src = ptr_ + k * n_ + first;
      for (std::size_t i = 0; i < m; ++i) out[i * d_ + k] = src[i];
    }
  }

  // Asks the caches for observations idx[0..m) ahead of a gather(), when
  // they are columns (each a contiguous run; nothing for R's layout, where
  // an observation is d lines apart). Changes no value.
  void prefetch(const std::uint32_t* idx, std::size_t m) const {
#if defined(__GNUC__) || defined(__clang__)
    if (by_row_) return;
    for (std::size_t i = 0; i < m; ++i) {
      const char* p = reinterpret_cast<const char*>(ptr_ + std::size_t(idx[i]) * d_);
      const char* end = reinterpret_cast<const char*>(ptr_ + (std::size_t(idx[i]) + 1) * d_);
      for (; p < end; p += 64) __builtin_prefetch(p, 0, 2);
      __builtin_prefetch(end - 1, 0, 2);
    }
#else
    (void)idx;
    (void)m;
#endif
  }

  // Observations idx[0..m) into the columns of out (d x m).
  void gather(const std::uint32_t* idx, std::size_t m, double* out) const {
    if (!by_row_) {
      for (std::size_t i = 0; i < m; ++i)
        std::copy(ptr_ + std::size_t(idx[i]) * d_, ptr_ + (std::size_t(idx[i]) + 1) * d_,
                  out + i * d_);
      return;
    }
    // Eight columns of x at a time: one cache line of out per observation.
    constexpr std::size_t tile = 8;
    for (std::size_t k0 = 0; k0 < d_; k0 += tile) {
      const std::size_t k1 = std::min(d_, k0 + tile);
      for (std::size_t i = 0; i < m; ++i) {
        const double* src = ptr_ + idx[i];
        double* dst = out + i * d_;
        for (std::size_t k = k0; k < k1; ++k) dst[k] = src[k * n_];
      }
    }
  }

 private:
  DataView(const double* x, std::size_t n, std::size_t d)
      : ptr_(x), n_(n), d_(d), by_row_(true) {}
  const double* ptr_;
  std::size_t n_, d_;
  bool by_row_;
};

}  // namespace vaeconv
