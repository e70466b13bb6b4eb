// Glue for the benchmark in inst/bench: the machine's dgemm rate at the
// shapes a training iteration uses, through the same BLAS call as the core.
#include <RcppArmadillo.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "threads.h"

// Median seconds per call of C = op(A) op(B) + beta C for each shape
// (m, n, k, trans_a, trans_b, beta), over `blocks` blocks of `reps` calls,
// on one BLAS thread: through the BLAS's dgemm with blas = TRUE, through the
// core's product (gemm.hpp: its own kernels when the CPU runs them, else the
// same dgemm) with blas = FALSE.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_bench_gemm(const Rcpp::IntegerVector& m, const Rcpp::IntegerVector& n,
                                   const Rcpp::IntegerVector& k,
                                   const Rcpp::LogicalVector& trans_a,
                                   const Rcpp::LogicalVector& trans_b,
                                   const Rcpp::NumericVector& beta, int reps, int blocks,
                                   bool blas = true) {
  using clock = std::chrono::steady_clock;
  vaeconv_glue::BlasThreadsGuard one_thread;
  const R_xlen_t shapes = m.size();
  Rcpp::NumericVector out(shapes);
  for (R_xlen_t s = 0; s < shapes; ++s) {
    const std::size_t M = m[s], N = n[s], K = k[s];
    const bool ta = trans_a[s], tb = trans_b[s];
    // Values in [-1, 1): no denormals, no overflow.
    arma::mat A(ta ? K : M, ta ? M : K), B(tb ? N : K, tb ? K : N), C(M, N);
    for (std::size_t i = 0; i < A.n_elem; ++i) A[i] = double(i % 17) / 8.5 - 1.0;
    for (std::size_t i = 0; i < B.n_elem; ++i) B[i] = double(i % 13) / 6.5 - 1.0;
    C.zeros();
    auto call = [&] {
      if (blas)
        vaeconv::blas_gemm(ta, tb, M, N, K, 1.0, A.memptr(), A.n_rows, B.memptr(), B.n_rows,
                           beta[s], C.memptr(), M);
      else
        vaeconv::gemm(ta, tb, M, N, K, 1.0, A.memptr(), A.n_rows, B.memptr(), B.n_rows, beta[s],
                      C.memptr(), M);
    };
    for (int r = 0; r < 3; ++r) call();
    std::vector<double> times;
    for (int b = 0; b < blocks; ++b) {
      const auto t0 = clock::now();
      for (int r = 0; r < reps; ++r) call();
      times.push_back(std::chrono::duration<double>(clock::now() - t0).count() / reps);
    }
    std::sort(times.begin(), times.end());
    out[s] = times[times.size() / 2];
  }
  return out;
}
