// Small entry points into the core, used by the tests to check pieces
// (activations, one optimiser step) against hand computations.
#include <RcppArmadillo.h>

#include "convert.h"
#include "threads.h"
#include "vaeconv/gemm.hpp"
#include "vaeconv/libm.hpp"

#include <algorithm>
#include <string>

// f(x) and f'(x) of an activation given as the R list of soft_clip() etc.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_activation(const Rcpp::List& activation, const Rcpp::NumericVector& x) {
  vaeconv::Activation act = vaeconv_glue::activation_spec(activation);
  Rcpp::NumericVector value(x.size()), derivative(x.size());
  for (R_xlen_t i = 0; i < x.size(); ++i) {
    value[i] = act.value(x[i]);
    derivative[i] = act.derivative(x[i], value[i]);
  }
  return Rcpp::List::create(Rcpp::Named("value") = value,
                            Rcpp::Named("derivative") = derivative);
}

// One optimiser step at iteration n along g_scale * grad (the loss
// gradient) over the coordinates [begin, end) (0-based, end exclusive; end
// below 0: all of them), as the trainer takes it: with par0, the squared
// change from it; with clear, grad set to 0 in the same pass; the kernels
// capped at simd (as cpp_simd_override(); below -1, left as they are).
// Returns the new parameters, optimiser state and gradient, the change and
// the step size.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_optimizer_step(const Rcpp::List& optimizer, double n,
                              const Rcpp::NumericVector& par, const Rcpp::NumericVector& grad,
                              const Rcpp::NumericVector& m, const Rcpp::NumericVector& v,
                              Rcpp::Nullable<Rcpp::NumericVector> par0 = R_NilValue,
                              double g_scale = 1.0, bool clear = false, double begin = 0.0,
                              double end = -1.0, int simd = -2) {
  const vaeconv::OptimizerSpec spec = vaeconv_glue::optimizer_spec(optimizer);
  const std::size_t p = par.size();
  if (std::size_t(grad.size()) != p || std::size_t(m.size()) != p || std::size_t(v.size()) != p)
    Rcpp::stop("par, grad, m and v must have the same length");
  if (end < 0.0) end = double(p);
  if (!(begin >= 0.0 && begin <= end && end <= double(p)))
    Rcpp::stop("begin and end must satisfy 0 <= begin <= end <= length(par)");
  arma::vec w(par.begin(), p), g(grad.begin(), p), w0;
  if (par0.isNotNull()) {
    const Rcpp::NumericVector x(par0);
    if (std::size_t(x.size()) != p) Rcpp::stop("par0 must have the length of par");
    w0 = arma::vec(x.begin(), p);
  }
  vaeconv::OptimizerState st;
  st.m = arma::vec(m.begin(), p);
  st.v = arma::vec(v.begin(), p);
  const int previous = vaeconv::vmath::simd_override();
  if (simd >= -1) vaeconv::vmath::simd_override() = simd;
  const double change = vaeconv::optimizer_step(
      spec, std::uint64_t(n), w.memptr(), g.memptr(), st, std::size_t(begin), std::size_t(end),
      w0.n_elem > 0 ? w0.memptr() : nullptr, g_scale, clear ? g.memptr() : nullptr);
  vaeconv::vmath::simd_override() = previous;
  return Rcpp::List::create(
      Rcpp::Named("par") = Rcpp::NumericVector(w.begin(), w.end()),
      Rcpp::Named("m") = Rcpp::NumericVector(st.m.begin(), st.m.end()),
      Rcpp::Named("v") = Rcpp::NumericVector(st.v.begin(), st.v.end()),
      Rcpp::Named("grad") = Rcpp::NumericVector(g.begin(), g.end()),
      Rcpp::Named("change") = change,
      Rcpp::Named("lr") = vaeconv::step_size(spec, std::uint64_t(n)));
}

// The activation (its derivative with derivative = TRUE) at x through the
// core's array kernels, the vector width capped by simd: 0 the base
// (2-wide) kernels, 1 AVX2 + FMA, -1 the widest the CPU has. For tests.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_activation_kernels(const Rcpp::List& activation,
                                           const Rcpp::NumericVector& x, bool derivative,
                                           int simd) {
  const vaeconv::Activation a = vaeconv_glue::activation_spec(activation);
  const std::size_t n = x.size();
  Rcpp::NumericVector y(n);
  const int previous = vaeconv::vmath::simd_override();
  vaeconv::vmath::simd_override() = simd;
  a.apply(x.begin(), y.begin(), n);
  if (derivative) {
    Rcpp::NumericVector g(n, 1.0);
    a.backward(x.begin(), y.begin(), g.begin(), n);
    y = g;
  }
  vaeconv::vmath::simd_override() = previous;
  return y;
}

// The vector kernels in use: 0 base, 1 AVX2 + FMA, 2 AVX-512.
// [[Rcpp::export(rng = false)]]
int cpp_simd_level() { return vaeconv::vmath::simd_level(); }

// Caps the vector kernels at `level` (0 base, 1 AVX2, 2 AVX-512, -1 none) for
// what runs next on this process; returns the previous cap. For tests.
// [[Rcpp::export(rng = false)]]
int cpp_simd_override(int level) {
  const int previous = vaeconv::vmath::simd_override();
  vaeconv::vmath::simd_override() = level;
  return previous;
}

// The C library's function `fun` ("exp", "exp_neg_abs" (exp(-|x|)), "log1p",
// "log", "expm1", "expm1_neg_abs" or "sinh") at x through libm.hpp's kernels
// of width w: 8 (AVX-512), 4 (AVX2 + FMA) or 0 (the C library, value by
// value); -1 the width a fit uses (the widest whose run-time check passed).
// Asking for kernels the CPU or the build lacks is an error. For tests.
static vaeconv::libm::Fn libm_fn(const std::string& fun, bool* neg_abs) {
  using vaeconv::libm::Fn;
  *neg_abs = fun == "exp_neg_abs" || fun == "expm1_neg_abs";
  if (fun == "exp" || fun == "exp_neg_abs") return Fn::exp;
  if (fun == "log1p") return Fn::log1p;
  if (fun == "log") return Fn::log;
  if (fun == "expm1" || fun == "expm1_neg_abs") return Fn::expm1;
  if (fun == "sinh") return Fn::sinh;
  Rcpp::stop("fun must be one of \"exp\", \"exp_neg_abs\", \"log1p\", \"log\", \"expm1\", "
             "\"expm1_neg_abs\" and \"sinh\"");
}

// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_libm(const std::string& fun, const Rcpp::NumericVector& x, int w) {
  bool neg_abs = false;
  const vaeconv::libm::Fn f = libm_fn(fun, &neg_abs);
  if (w == -1) w = vaeconv::libm::width(f);
#if defined(VAECONV_LIBM_KERNELS)
  const int level = vaeconv::vmath::simd_level();
  const bool ok = w == 0 || (w == 4 && level >= 1) || (w == 8 && level >= 2);
#else
  const bool ok = w == 0;
#endif
  if (!ok) Rcpp::stop("this CPU or build has no kernels of width %d", w);
  Rcpp::NumericVector y(x.size());
  vaeconv::libm::at(f, w, x.begin(), y.begin(), x.size(), neg_abs);
  return y;
}

// The width of libm.hpp's kernels in use for `fun` (0: the C library's calls).
// [[Rcpp::export(rng = false)]]
int cpp_libm_width(const std::string& fun) {
  bool neg_abs = false;
  return vaeconv::libm::width(libm_fn(fun, &neg_abs));
}

// One Philox4x32-10 block (the scalar reference) for counter words c and key
// words k, as doubles. For tests.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_philox_block(const Rcpp::NumericVector& c, const Rcpp::NumericVector& k) {
  const vaeconv::Philox::Block b = vaeconv::Philox::draw(
      std::uint32_t(c[0]), std::uint32_t(c[1]), std::uint32_t(c[2]), std::uint32_t(c[3]),
      std::uint32_t(k[0]), std::uint32_t(k[1]));
  return Rcpp::NumericVector::create(b.v[0], b.v[1], b.v[2], b.v[3]);
}

// Which products the core uses from now on in this process: 1 the ordered
// kernels of gemm.hpp (when the CPU runs them), 0 the BLAS, -1 the default;
// returns the previous setting. For tests and the benchmark.
// [[Rcpp::export(rng = false)]]
int cpp_gemm_override(int mode) {
  const int previous = vaeconv::gemm_override();
  vaeconv::gemm_override() = mode;
  return previous;
}

// Whether the core's products run through the ordered kernels.
// [[Rcpp::export(rng = false)]]
bool cpp_gemm_uses_kernels() { return vaeconv::gemm_uses_kernels(); }

// C = op(A) op(B) + beta C by `how`: "core" (the core's product, kernels or
// BLAS as set), "core_bias" (gemm_bias() with C's first column as the bias,
// beta ignored), "blas" (on one BLAS thread, as in a fit) or "reference" (gemm_reference(), the order one
// element at a time). For tests.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix cpp_gemm_product(const Rcpp::NumericMatrix& A, const Rcpp::NumericMatrix& B,
                                     bool trans_a, bool trans_b, const Rcpp::NumericMatrix& C,
                                     double beta, const std::string& how) {
  const std::size_t m = trans_a ? A.ncol() : A.nrow(), k = trans_a ? A.nrow() : A.ncol();
  const std::size_t n = trans_b ? B.nrow() : B.ncol();
  if ((trans_b ? B.ncol() : B.nrow()) != std::size_t(k) || std::size_t(C.nrow()) != m ||
      std::size_t(C.ncol()) != n)
    Rcpp::stop("non-conformable arguments");
  Rcpp::NumericMatrix out = Rcpp::clone(C);
  const std::size_t lda = std::max<std::size_t>(1, A.nrow()), ldb = std::max<std::size_t>(1, B.nrow()),
                    ldc = std::max<std::size_t>(1, m);
  if (how == "core") {
    vaeconv::gemm(trans_a, trans_b, m, n, k, 1.0, A.begin(), lda, B.begin(), ldb, beta,
                  out.begin(), ldc);
  } else if (how == "core_bias") {  // C's first column as the bias of gemm_bias()
    const std::vector<double> bias(C.begin(), C.begin() + m);
    vaeconv::gemm_bias(trans_a, trans_b, m, n, k, A.begin(), lda, B.begin(), ldb, bias.data(),
                       out.begin(), ldc);
  } else if (how == "blas") {
    vaeconv_glue::BlasThreadsGuard one_thread;  // as in a fit
    vaeconv::blas_gemm(trans_a, trans_b, m, n, k, 1.0, A.begin(), lda, B.begin(), ldb, beta,
                       out.begin(), ldc);
  } else {
    vaeconv::gemm_reference(trans_a, trans_b, m, n, k, A.begin(), lda, B.begin(), ldb, beta,
                            out.begin(), ldc);
  }
  return out;
}
