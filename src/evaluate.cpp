// Glue for evaluating an objective on data at given parameters.
#include <RcppArmadillo.h>

#include <numeric>

#include "convert.h"
#include "threads.h"

// The objective (with K draws) of the rows of x at the parameters par, as
// means per data point, with `samples` replicates of the objective's draws
// keyed by (seed, Stream::estimate, iteration 0, row): deterministic for any
// n_threads. The rows are read in place, as a fit reads them. With
// gradient = true, also the squared norms of the gradient of the mean over
// the rows (decoder part theta, encoder part phi), as the trajectory's
// full_grad_norm_sq.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_evaluate(const Rcpp::List& model, const Rcpp::List& objective,
                        const Rcpp::NumericVector& par, const Rcpp::NumericMatrix& x,
                        int K, int samples, double seed, int n_threads, int chunk_rows,
                        bool gradient = false) {
  const vaeconv::GaussianVae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  if (std::size_t(par.size()) != vae.n_params())
    Rcpp::stop("the parameter vector has length %d, not %d", int(par.size()),
               int(vae.n_params()));
  if (obj.exact && !vae.linear()) Rcpp::stop("the exact ELBO needs a linear VAE");
  const std::size_t n = std::size_t(x.nrow());
  const vaeconv::DataView data =
      vaeconv::DataView::rows(x.begin(), n, std::size_t(x.ncol()));
  std::vector<std::uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  const vaeconv::KeyedRng rng{std::uint64_t(seed)};
  vaeconv::ChunkSums s;
  arma::vec grad;
  if (gradient) grad.zeros(vae.n_params());
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    vaeconv::Engine engine(vae, obj, data, rng, *parallel, std::size_t(chunk_rows));
    s = engine.run(par.begin(), all.data(), n, std::size_t(K), std::size_t(samples),
                   vaeconv::Stream::estimate, 0,
                   vaeconv::NoiseKey::row, gradient ? grad.memptr() : nullptr);
  }
  Rcpp::List out = Rcpp::List::create(Rcpp::Named("objective") = s.objective / double(n),
                                      Rcpp::Named("reconstruction") = s.reconstruction / double(n),
                                      Rcpp::Named("kl") = s.kl / double(n));
  if (gradient) {
    const std::size_t pt = vae.n_theta(), p = vae.n_params();
    const double* g = grad.memptr();
    out["grad_norm_sq"] = vaeconv::mean_grad_norm_sq(g, 0, p, n);
    out["grad_norm_sq_theta"] = vaeconv::mean_grad_norm_sq(g, 0, pt, n);
    out["grad_norm_sq_phi"] = vaeconv::mean_grad_norm_sq(g, pt, p, n);
  }
  return out;
}
