// Glue for the parameter layout and for using a fitted model.
#include <RcppArmadillo.h>

#include "convert.h"
#include "threads.h"

namespace {

vaeconv::Workspace workspace_for(const Rcpp::NumericMatrix& x) {
  vaeconv::Workspace ws;
  ws.x = vaeconv_glue::columns_of(x);
  return ws;
}

void check_par(const vaeconv::Vae& vae, const Rcpp::NumericVector& par) {
  if (std::size_t(par.size()) != vae.n_params())
    Rcpp::stop("the parameter vector has length %d, not %d", int(par.size()),
               int(vae.n_params()));
}

}  // namespace

// [[Rcpp::export(rng = false)]]
Rcpp::DataFrame cpp_layout(const Rcpp::List& model, int dx) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, dx));
  const auto& blocks = vae.layout().blocks();
  Rcpp::CharacterVector name, group;
  Rcpp::IntegerVector rows, cols, offset;
  for (const vaeconv::Block& b : blocks) {
    name.push_back(b.name);
    group.push_back(b.group == vaeconv::Group::theta ? "theta" : "phi");
    rows.push_back(int(b.rows));
    cols.push_back(int(b.cols));
    offset.push_back(int(b.offset));
  }
  return Rcpp::DataFrame::create(Rcpp::Named("name") = name, Rcpp::Named("group") = group,
                                 Rcpp::Named("rows") = rows, Rcpp::Named("cols") = cols,
                                 Rcpp::Named("offset") = offset,
                                 Rcpp::Named("stringsAsFactors") = false);
}

// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_init(const Rcpp::List& model, int dx, double seed) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, dx));
  Rcpp::NumericVector par(vae.n_params());
  vae.init(par.begin(), vaeconv::KeyedRng(std::uint64_t(seed)));
  return par;
}

// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_encode(const Rcpp::List& model, const Rcpp::NumericVector& par,
                      const Rcpp::NumericMatrix& x) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, x.ncol()));
  check_par(vae, par);
  vaeconv::Workspace ws = workspace_for(x);
  // One BLAS thread, as in a fit: a multi-threaded BLAS gains nothing on
  // these small products and, on a busy machine, costs tens of milliseconds.
  vaeconv_glue::BlasThreadsGuard blas;
  vae.encode(par.begin(), ws);
  // The covariances, a row per data row (dz x dz, column-major), and
  // log det Sigma.
  const std::size_t dz = vae.spec().dz, m = ws.x.n_cols;
  arma::mat cov(dz * dz, m, arma::fill::zeros);
  arma::vec log_det(m);
  const bool full = vae.encoder().kind() == vaeconv::EncoderKind::full;
  for (std::size_t i = 0; i < m; ++i) {
    if (full) {
      const arma::mat C(ws.chol.colptr(i), dz, dz);
      const arma::mat Sigma = C * C.t();
      std::copy(Sigma.begin(), Sigma.end(), cov.colptr(i));
      log_det[i] = 2.0 * ws.log_det[i];
    } else {
      double ld = 0.0;
      for (std::size_t j = 0; j < dz; ++j) {
        cov(j + j * dz, i) = ws.var(j, i);
        ld += ws.log_var(j, i);
      }
      log_det[i] = ld;
    }
  }
  return Rcpp::List::create(Rcpp::Named("mean") = Rcpp::wrap(arma::mat(ws.mu.t())),
                            Rcpp::Named("var") = Rcpp::wrap(arma::mat(ws.var.t())),
                            Rcpp::Named("covariance") = Rcpp::wrap(arma::mat(cov.t())),
                            Rcpp::Named("log_det") = Rcpp::NumericVector(log_det.begin(), log_det.end()));
}

// What the decoder gives for the rows of z: "mean", E[x | z] (G(z) for a
// Gaussian, the probabilities sigmoid(G(z)) for a Bernoulli, the continuous
// Bernoulli's mean); "output", G(z) itself (the logits of a Bernoulli);
// "variance", the Gaussian's variance per data dimension (c^2, or c^2(z));
// "draws", draws from p(x | z) made from the standard normals `normals`
// (nrow(z) x dx).
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix cpp_decode(const Rcpp::List& model, const Rcpp::NumericVector& par,
                               const Rcpp::NumericMatrix& z, int dx,
                               std::string what = "mean",
                               Rcpp::Nullable<Rcpp::NumericMatrix> normals = R_NilValue) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, dx));
  check_par(vae, par);
  vaeconv::Workspace ws;
  const arma::mat zt = vaeconv_glue::columns_of(z);
  vaeconv_glue::BlasThreadsGuard blas;
  vae.decode(par.begin(), zt, ws);
  const vaeconv::Likelihood& lik = vae.likelihood();
  arma::mat out;
  if (what == "mean") {
    lik.mean(ws.xhat, out);
  } else if (what == "output") {
    out = ws.xhat;
  } else if (what == "variance") {
    if (!lik.gaussian()) Rcpp::stop("only a Gaussian decoder has a variance");
    if (lik.spec().obs_sd_from_z) {
      lik.head_variance(ws);
      out = ws.xvar;
    } else {
      const double c = lik.obs_sd(par.begin());
      out.set_size(ws.xhat.n_rows, ws.xhat.n_cols);
      out.fill(c * c);
    }
  } else if (what == "draws") {
    if (normals.isNull()) Rcpp::stop("draws need normals");
    const arma::mat e = vaeconv_glue::columns_of(Rcpp::NumericMatrix(normals.get()));
    if (e.n_rows != ws.xhat.n_rows || e.n_cols != ws.xhat.n_cols)
      Rcpp::stop("normals must be nrow(z) x dx");
    if (lik.spec().obs_sd_from_z) lik.head_variance(ws);
    lik.sample(par.begin(), ws, e, out);
  } else {
    Rcpp::stop("unknown output '%s'", what);
  }
  return Rcpp::wrap(arma::mat(out.t()));
}

// The names of the core's choices (choices.hpp): a named list of character
// vectors, read by the R validators.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_choices() {
  Rcpp::List out;
  for (const auto& c : vaeconv::choices())
    out[c.first] = Rcpp::CharacterVector(c.second.begin(), c.second.end());
  return out;
}

// The objective of the rows of x (per data point means) with the noise given
// in eps (latent_dim x nrow(x) * draws, column i * draws + s, draws = K *
// samples with K the objective's K at `iteration`), and its gradient (of the
// mean objective, to be maximised) when asked.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_objective(const Rcpp::List& model, const Rcpp::List& objective,
                         const Rcpp::NumericVector& par, const Rcpp::NumericMatrix& x,
                         const Rcpp::NumericMatrix& eps, int samples, bool gradient,
                         double iteration = 1) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  check_par(vae, par);
  const std::size_t n = x.nrow();
  const std::size_t K = vaeconv::objective_K(obj, std::uint64_t(iteration));
  const std::size_t S = vaeconv::draws_per_point(obj, K, std::size_t(samples));
  if (std::size_t(eps.nrow()) != vae.spec().dz || std::size_t(eps.ncol()) != n * S)
    Rcpp::stop("eps must be %d x %d", int(vae.spec().dz), int(n * S));
  vaeconv::Workspace ws = workspace_for(x);
  ws.eps = arma::mat(const_cast<double*>(eps.begin()), eps.nrow(), eps.ncol());
  arma::vec grad(vae.n_params(), arma::fill::zeros);
  const vaeconv::ChunkSums s = vaeconv::chunk_objective(
      vae, obj, par.begin(), K, std::size_t(samples), ws, gradient ? grad.memptr() : nullptr);
  Rcpp::List out = Rcpp::List::create(
      Rcpp::Named("objective") = s.objective / double(n),
      Rcpp::Named("reconstruction") = s.reconstruction / double(n),
      Rcpp::Named("kl") = s.kl / double(n));
  if (gradient) {
    grad *= -1.0 / double(n);
    out["gradient"] = Rcpp::NumericVector(grad.begin(), grad.end());
  }
  return out;
}

// Standard normals keyed by (seed, stream, iteration, sample): an n x dim
// matrix whose row i is sample `first + i`.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix cpp_normals(double seed, int stream, double iteration, double first,
                                int n, int dim) {
  const vaeconv::KeyedRng rng{std::uint64_t(seed)};
  arma::mat out(dim, n);
  for (int i = 0; i < n; ++i)
    rng.normals(vaeconv::Stream(stream), std::uint64_t(iteration),
                std::uint64_t(first) + std::uint64_t(i), out.colptr(i), std::size_t(dim));
  return Rcpp::wrap(arma::mat(out.t()));
}

// The continuous Bernoulli's log normalising constant log C(eta) and its
// derivative at the logits eta (for the tests).
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_cb_log_norm(const Rcpp::NumericVector& eta) {
  Rcpp::NumericVector value(eta.size()), derivative(eta.size());
  for (R_xlen_t i = 0; i < eta.size(); ++i) {
    value[i] = vaeconv::cb_log_norm(eta[i]);
    derivative[i] = vaeconv::cb_dlog_norm(eta[i]);
  }
  return Rcpp::List::create(Rcpp::Named("value") = value,
                            Rcpp::Named("derivative") = derivative);
}
