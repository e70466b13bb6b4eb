// Glue for the diagnostics of a fit: the importance-sampled log-likelihood
// and draws of the minibatch gradient.
#include <RcppArmadillo.h>

#include "convert.h"
#include "progress.h"
#include "threads.h"

// Per row of x: the importance-sampled log p(x_i) with `samples` draws from
// q(z | x_i), the delta-method variance of that estimate and the effective
// sample size of its weights over `samples`. On an interrupt (or a time
// limit), list(interrupted = TRUE, condition) once every thread has stopped.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_log_likelihood(const Rcpp::List& model, const Rcpp::NumericVector& par,
                              const Rcpp::NumericMatrix& x, int samples, double seed,
                              int n_threads, bool progress = false) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, x.ncol()));
  if (std::size_t(par.size()) != vae.n_params()) Rcpp::stop("wrong parameter vector");
  const arma::mat xt = vaeconv_glue::columns_of(x);
  const std::size_t n = std::size_t(x.nrow());
  Rcpp::NumericVector est(x.nrow()), var(x.nrow()), ess(x.nrow());
  std::size_t done = 0;
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    vaeconv_glue::RMonitor monitor(
        progress, double(n), "Log-likelihood",
        [](std::uint64_t done, std::uint64_t total, double) {
          return "row " + std::to_string(done) + "/" + std::to_string(total);
        });
    done = vaeconv::log_likelihood_rows(vae, par.begin(), xt, std::size_t(samples),
                                        vaeconv::KeyedRng(std::uint64_t(seed)), *parallel,
                                        est.begin(), var.begin(), ess.begin(), monitor);
    monitor.finish();
    if (done < n) return vaeconv_glue::stop_result(monitor);
  }
  return Rcpp::List::create(Rcpp::Named("estimate") = est, Rcpp::Named("variance") = var,
                            Rcpp::Named("ess") = ess);
}

// `draws` independent minibatch gradients of the mean objective at par with
// K draws per row: a draws x n_params matrix. On an interrupt (or a time
// limit), list(interrupted = TRUE, condition) once every thread has stopped.
// [[Rcpp::export(rng = false)]]
SEXP cpp_gradient_draws(const Rcpp::List& model, const Rcpp::List& objective,
                        const Rcpp::NumericVector& par, const Rcpp::NumericMatrix& x,
                        int batch_size, int K, int draws, double seed, int n_threads,
                        int chunk_rows, bool progress = false) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  if (std::size_t(par.size()) != vae.n_params()) Rcpp::stop("wrong parameter vector");
  const arma::mat xt = vaeconv_glue::columns_of(x);
  arma::mat out;
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    vaeconv_glue::RMonitor monitor(
        progress, double(draws), "Gradient draws",
        [](std::uint64_t done, std::uint64_t total, double) {
          return "draw " + std::to_string(done) + "/" + std::to_string(total);
        });
    const std::size_t made = vaeconv::gradient_draws(
        vae, obj, par.begin(), xt, std::size_t(batch_size), std::size_t(K),
        std::size_t(draws), vaeconv::KeyedRng(std::uint64_t(seed)), *parallel,
        std::size_t(chunk_rows), out, monitor);
    monitor.finish();
    if (made < std::size_t(draws)) return vaeconv_glue::stop_result(monitor);
  }
  return Rcpp::wrap(arma::mat(out.t()));
}

// K of the objective at the iterations n (counted from 1).
// [[Rcpp::export(rng = false)]]
Rcpp::IntegerVector cpp_objective_K(const Rcpp::List& objective,
                                    const Rcpp::NumericVector& n) {
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  Rcpp::IntegerVector out(n.size());
  for (R_xlen_t i = 0; i < n.size(); ++i)
    out[i] = int(vaeconv::objective_K(obj, std::uint64_t(n[i])));
  return out;
}
