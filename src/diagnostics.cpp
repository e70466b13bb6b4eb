// Glue for the diagnostics of a fit: the importance-sampled log-likelihood
// and draws of the minibatch gradient.
#include <RcppArmadillo.h>

#include "convert.h"
#include "threads.h"

// Per row of x: the importance-sampled log p(x_i) with `samples` draws from
// q(z | x_i) and the delta-method variance of that estimate.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_log_likelihood(const Rcpp::List& model, const Rcpp::NumericVector& par,
                              const Rcpp::NumericMatrix& x, int samples, double seed,
                              int n_threads) {
  const vaeconv::GaussianVae vae(vaeconv_glue::model_spec(model, x.ncol()));
  if (std::size_t(par.size()) != vae.n_params()) Rcpp::stop("wrong parameter vector");
  const arma::mat xt = vaeconv_glue::columns_of(x);
  Rcpp::NumericVector est(x.nrow()), var(x.nrow());
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    vaeconv::log_likelihood_rows(vae, par.begin(), xt, std::size_t(samples),
                                 vaeconv::KeyedRng(std::uint64_t(seed)), *parallel,
                                 est.begin(), var.begin());
  }
  return Rcpp::List::create(Rcpp::Named("estimate") = est, Rcpp::Named("variance") = var);
}

// `draws` independent minibatch gradients of the mean objective at par with
// K draws per row: a draws x n_params matrix.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix cpp_gradient_draws(const Rcpp::List& model, const Rcpp::List& objective,
                                       const Rcpp::NumericVector& par,
                                       const Rcpp::NumericMatrix& x, int batch_size, int K,
                                       int draws, double seed, int n_threads,
                                       int chunk_rows) {
  const vaeconv::GaussianVae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  if (std::size_t(par.size()) != vae.n_params()) Rcpp::stop("wrong parameter vector");
  const arma::mat xt = vaeconv_glue::columns_of(x);
  arma::mat out;
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    vaeconv::gradient_draws(vae, obj, par.begin(), xt, std::size_t(batch_size),
                            std::size_t(K), std::size_t(draws),
                            vaeconv::KeyedRng(std::uint64_t(seed)), *parallel,
                            std::size_t(chunk_rows), out);
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
