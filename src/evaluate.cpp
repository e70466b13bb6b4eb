// Glue for evaluating an objective on data at given parameters.
#include <RcppArmadillo.h>

#include <numeric>

#include "convert.h"
#include "progress.h"
#include "threads.h"

// The objective (with K draws) of the rows of x at the parameters par, as
// means per data point, with `samples` replicates of the objective's draws
// keyed by (seed, Stream::estimate, iteration 0, row): deterministic for any
// n_threads. The rows are read in place, as a fit reads them. With
// gradient = true, also the squared norms of the gradient of the mean over
// the rows (decoder part theta, encoder part phi), as the trajectory's
// full_grad_norm_sq, and its unbiased estimate from two halves of the
// replicates (NA for one replicate). With return_gradient, also the gradient
// of the mean objective (to be maximised) itself, `grad`. With progress, a
// bar named `name`; on an interrupt (or a time limit),
// list(interrupted = TRUE, condition) once every thread has stopped.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_evaluate(const Rcpp::List& model, const Rcpp::List& objective,
                        const Rcpp::NumericVector& par, const Rcpp::NumericMatrix& x,
                        int K, int samples, double seed, int n_threads, int chunk_rows,
                        bool gradient = false, bool return_gradient = false,
                        bool progress = false, std::string name = "Evaluating") {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, x.ncol()));
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
  vaeconv::FullNorms norms;
  arma::vec grad, half;
  if (gradient) grad.zeros(vae.n_params());
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    vaeconv::Engine engine(vae, obj, data, rng, *parallel, std::size_t(chunk_rows));
    const std::size_t rows = engine.rows_per_chunk(
        vaeconv::draws_per_point(obj, std::size_t(K), std::size_t(samples)));
    vaeconv_glue::RMonitor monitor(
        progress, double((n + rows - 1) / rows), name, [](std::uint64_t done, std::uint64_t total, double) {
          return "chunk " + std::to_string(done) + "/" + std::to_string(total);
        });
    bool stopped = false;
    if (!gradient && obj.kind == vaeconv::ObjectiveKind::elbo && !obj.exact) {
      // The same sums in memory that does not grow with `samples`.
      s = vaeconv::elbo_value_rows(vae, obj, par.begin(), data, all.data(), n,
                                   vaeconv::draws_per_point(obj, std::size_t(K), std::size_t(samples)),
                                   vaeconv::Stream::estimate, 0, rng,
                                   *parallel, std::size_t(chunk_rows), monitor, &stopped);
    } else {
      engine.watch(&monitor);
      s = engine.run(par.begin(), all.data(), n, std::size_t(K), std::size_t(samples),
                     vaeconv::Stream::estimate, 0,
                     vaeconv::NoiseKey::row, gradient ? grad.memptr() : nullptr);
      stopped = engine.stopped();
      if (gradient && !stopped) {
        // The unbiased estimate's half-size run is watched too.
        norms = vaeconv::full_norms(engine, obj, par.begin(), all.data(), n, std::size_t(K),
                                    std::size_t(samples), vaeconv::Stream::estimate, 0,
                                    vaeconv::NoiseKey::row, grad.memptr(), vae.n_params(),
                                    vae.n_theta(), half);
        stopped = engine.stopped();
      }
    }
    monitor.finish();
    if (stopped) return vaeconv_glue::stop_result(monitor);
  }
  Rcpp::List out = Rcpp::List::create(Rcpp::Named("objective") = s.objective / double(n),
                                      Rcpp::Named("reconstruction") = s.reconstruction / double(n),
                                      Rcpp::Named("kl") = s.kl / double(n));
  if (gradient) {
    out["grad_norm_sq"] = norms.all;
    out["grad_norm_sq_theta"] = norms.theta;
    out["grad_norm_sq_phi"] = norms.phi;
    out["grad_norm_sq_unbiased"] = norms.unbiased;
    if (return_gradient) {
      // grad is the gradient of minus the sum over the rows.
      Rcpp::NumericVector g(grad.n_elem);
      for (std::size_t i = 0; i < grad.n_elem; ++i) g[i] = -grad[i] / double(n);
      out["grad"] = g;
    }
  }
  return out;
}
