// Small entry points into the core, used by the tests to check pieces
// (activations, one optimiser step) against hand computations.
#include <RcppArmadillo.h>

#include "convert.h"

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

// One optimiser step at iteration n along the loss gradient g; returns the
// new parameters and optimiser state.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_optimizer_step(const Rcpp::List& optimizer, double n,
                              const Rcpp::NumericVector& par, const Rcpp::NumericVector& grad,
                              const Rcpp::NumericVector& m, const Rcpp::NumericVector& v) {
  const vaeconv::OptimizerSpec spec = vaeconv_glue::optimizer_spec(optimizer);
  const std::size_t p = par.size();
  if (std::size_t(grad.size()) != p || std::size_t(m.size()) != p || std::size_t(v.size()) != p)
    Rcpp::stop("par, grad, m and v must have the same length");
  arma::vec w(par.begin(), p);
  vaeconv::OptimizerState st;
  st.m = arma::vec(m.begin(), p);
  st.v = arma::vec(v.begin(), p);
  vaeconv::optimizer_step(spec, std::uint64_t(n), w.memptr(), grad.begin(), st, p);
  return Rcpp::List::create(
      Rcpp::Named("par") = Rcpp::NumericVector(w.begin(), w.end()),
      Rcpp::Named("m") = Rcpp::NumericVector(st.m.begin(), st.m.end()),
      Rcpp::Named("v") = Rcpp::NumericVector(st.v.begin(), st.v.end()),
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

// One Philox4x32-10 block (the scalar reference) for counter words c and key
// words k, as doubles. For tests.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_philox_block(const Rcpp::NumericVector& c, const Rcpp::NumericVector& k) {
  const vaeconv::Philox::Block b = vaeconv::Philox::draw(
      std::uint32_t(c[0]), std::uint32_t(c[1]), std::uint32_t(c[2]), std::uint32_t(c[3]),
      std::uint32_t(k[0]), std::uint32_t(k[1]));
  return Rcpp::NumericVector::create(b.v[0], b.v[1], b.v[2], b.v[3]);
}
