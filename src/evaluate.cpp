// Glue for evaluating an objective on data at given parameters.
#include <RcppArmadillo.h>

#include <numeric>

#include "convert.h"
#include "threads.h"

// The objective of the rows of x at the parameters par, as means per data
// point, with `samples` replicates of the objective's draws keyed by
// (seed, Stream::estimate, iteration 0, row): deterministic for any n_threads.
// With gradient = true, also the squared norms of the gradient of the mean
// over the rows (decoder part theta, encoder part phi), as in the
// trajectory's full_grad_norm_sq.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_evaluate(const Rcpp::List& model, const Rcpp::List& objective,
                        const Rcpp::NumericVector& par, const Rcpp::NumericMatrix& x,
                        int samples, double seed, int n_threads, int chunk_rows,
                        bool gradient = false) {
  const vaeconv::GaussianVae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  if (std::size_t(par.size()) != vae.n_params())
    Rcpp::stop("the parameter vector has length %d, not %d", int(par.size()),
               int(vae.n_params()));
  if (obj.exact && !vae.spec().linear) Rcpp::stop("the exact ELBO needs a linear VAE");
  const arma::mat xt = vaeconv_glue::columns_of(x);
  const std::size_t n = xt.n_cols;
  std::vector<std::uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  const vaeconv::KeyedRng rng{std::uint64_t(seed)};
  vaeconv::ChunkSums s;
  arma::vec grad;
  if (gradient) grad.zeros(vae.n_params());
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    vaeconv::Engine engine(vae, obj, xt, rng, *parallel, std::size_t(chunk_rows));
    // K of the objective at its first iteration (a schedule's start).
    s = engine.run(par.begin(), all.data(), n, vaeconv::objective_K(obj, 1),
                   std::size_t(samples), vaeconv::Stream::estimate, 0,
                   vaeconv::NoiseKey::row, gradient ? grad.memptr() : nullptr);
  }
  Rcpp::List out = Rcpp::List::create(Rcpp::Named("objective") = s.objective / double(n),
                                      Rcpp::Named("reconstruction") = s.reconstruction / double(n),
                                      Rcpp::Named("kl") = s.kl / double(n));
  if (gradient) {
    // As the trajectory's full_grad_norm_sq: the sum of squares of the
    // summed gradient over n^2.
    const std::size_t pt = vae.n_theta(), p = vae.n_params();
    const double nn = double(n) * double(n);
    out["grad_norm_sq"] = vaeconv::vmath::sum_sq(grad.memptr(), p) / nn;
    out["grad_norm_sq_theta"] = vaeconv::vmath::sum_sq(grad.memptr(), pt) / nn;
    out["grad_norm_sq_phi"] = vaeconv::vmath::sum_sq(grad.memptr() + pt, p - pt) / nn;
  }
  return out;
}
