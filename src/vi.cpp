// Glue for fit_vi(): targets and families from R lists, threads, progress
// and interruption, and the target given as R functions.
#include <RcppArmadillo.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vaeconv/vi_train.hpp>

#include "convert.h"
#include "fit.h"
#include "progress.h"
#include "threads.h"

namespace {

double num(const Rcpp::List& l, const char* name) { return Rcpp::as<double>(l[name]); }
std::string str(const Rcpp::List& l, const char* name) {
  return Rcpp::as<std::string>(l[name]);
}

// An error in (or a bad value from) a custom target's R functions; its
// message goes back to R, which signals it once the C++ frames are gone.
struct CustomTargetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The target given as R functions. `caller` (made by R's custom_caller())
// evaluates the log density and gradient at every column of a matrix and
// catches errors and interrupts itself, returning list(status, ...): so no
// R condition ever jumps through these frames. Main thread only: evaluate()
// ignores the Parallel it is given.
class RTarget : public vaeconv::Target {
 public:
  RTarget(std::size_t dim, Rcpp::Function caller) : dim_(dim), caller_(caller) {}
  std::size_t dim() const override { return dim_; }
  void evaluate(const arma::mat& Z, double* lp, arma::mat* G,
                vaeconv::Parallel&) const override {
    Rcpp::NumericMatrix zr(Z.n_rows, Z.n_cols, Z.begin());
    const Rcpp::List out = caller_(zr, G != nullptr);
    const std::string status = Rcpp::as<std::string>(out["status"]);
    if (status == "interrupted") throw vaeconv::StopRequested();
    if (status != "ok") throw CustomTargetError(Rcpp::as<std::string>(out["message"]));
    const Rcpp::NumericVector l = out["log_density"];
    std::copy(l.begin(), l.end(), lp);
    if (G != nullptr) {
      const Rcpp::NumericVector g = out["gradient"];
      std::copy(g.begin(), g.end(), G->begin());
    }
  }

 private:
  std::size_t dim_;
  Rcpp::Function caller_;
};

std::unique_ptr<vaeconv::Target> make_target(const Rcpp::List& t) {
  const vaeconv::TargetKind kind = vaeconv::target_kind(str(t, "type"));
  switch (kind) {
    case vaeconv::TargetKind::gaussian:
      return std::unique_ptr<vaeconv::Target>(new vaeconv::GaussianTarget(
          Rcpp::as<arma::vec>(t["mean"]), Rcpp::as<arma::mat>(t["cov"])));
    case vaeconv::TargetKind::logistic: {
      const Rcpp::NumericMatrix x = t["x"];
      return std::unique_ptr<vaeconv::Target>(new vaeconv::LogisticTarget(
          vaeconv_glue::columns_of(x), Rcpp::as<arma::vec>(t["y"]), num(t, "prior_sd")));
    }
    case vaeconv::TargetKind::mixture:
      return std::unique_ptr<vaeconv::Target>(new vaeconv::MixtureTarget(
          Rcpp::as<arma::mat>(t["means"]), Rcpp::as<arma::mat>(t["sds"]),
          Rcpp::as<arma::vec>(t["weights"])));
    case vaeconv::TargetKind::funnel:
      return std::unique_ptr<vaeconv::Target>(
          new vaeconv::FunnelTarget(std::size_t(num(t, "dim")), num(t, "scale")));
    case vaeconv::TargetKind::custom:
      return std::unique_ptr<vaeconv::Target>(
          new RTarget(std::size_t(num(t, "dim")), Rcpp::Function(t["caller"])));
  }
  Rcpp::stop("unknown target");
}

vaeconv::FamilySpec family_spec(const Rcpp::List& f, std::size_t dim) {
  vaeconv::FamilySpec s;
  s.kind = vaeconv::family_kind(str(f, "type"));
  s.dim = dim;
  s.full = str(f, "covariance") == "full";
  s.scale = vaeconv::scale_kind(str(f, "scale"));
  s.min_scale = num(f, "min_scale");
  s.layers = std::size_t(num(f, "layers"));
  s.init_sd = num(f, "init_sd");
  return s;
}

Rcpp::NumericVector as_numeric(const std::vector<double>& x) {
  return Rcpp::NumericVector(x.begin(), x.end());
}

}  // namespace

// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_vi_init(const Rcpp::List& family, int dim, double seed) {
  const vaeconv::Family fam(family_spec(family, std::size_t(dim)));
  Rcpp::NumericVector par(fam.n_params());
  fam.init(par.begin(), vaeconv::KeyedRng(std::uint64_t(seed)));
  return par;
}

// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_fit_vi(const Rcpp::List& target, const Rcpp::List& family,
                      const Rcpp::List& objective, const Rcpp::List& optimizer,
                      const Rcpp::List& control, const Rcpp::Nullable<Rcpp::List>& state) {
  const std::unique_ptr<vaeconv::Target> tgt = make_target(target);
  const vaeconv::Family fam(family_spec(family, tgt->dim()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  const vaeconv::OptimizerSpec opt = vaeconv_glue::optimizer_spec(optimizer);
  vaeconv::ViSpec spec;
  spec.iterations = std::uint64_t(num(control, "iterations"));
  spec.record_every = std::uint64_t(num(control, "record_every"));
  spec.eval_every = std::uint64_t(num(control, "eval_every"));
  spec.eval_samples = std::size_t(num(control, "eval_samples"));
  spec.draws = std::size_t(num(control, "draws"));
  const std::uint64_t seed = std::uint64_t(num(control, "seed"));
  const int n_threads = Rcpp::as<int>(control["n_threads"]);
  const bool progress = Rcpp::as<bool>(control["progress"]);
  const std::size_t p = fam.n_params();

  vaeconv::TrainState st;
  st.par.set_size(p);
  st.opt.reset(p);
  if (state.isNull()) {
    fam.init(st.par.memptr(), vaeconv::KeyedRng(seed));
    st.par0 = st.par;
  } else {
    const Rcpp::List s(state.get());
    const Rcpp::NumericVector from[] = {s["par"], s["par0"], s["opt_m"], s["opt_v"]};
    st.par0.set_size(p);
    arma::vec* to[] = {&st.par, &st.par0, &st.opt.m, &st.opt.v};
    for (int k = 0; k < 4; ++k) {
      if (std::size_t(from[k].size()) != p)
        Rcpp::stop("the state to continue from does not match the family");
      std::copy(from[k].begin(), from[k].end(), to[k]->begin());
    }
    st.iteration = std::uint64_t(num(s, "iteration"));
    st.seconds = num(s, "seconds");
  }

  vaeconv::ViResult res;
  std::string error;
  {
    vaeconv_glue::BlasThreadsGuard blas;
    // A target of R functions runs on this thread only.
    std::unique_ptr<vaeconv::Parallel> parallel =
        vaeconv_glue::make_parallel(str(target, "type") == "custom" ? 1 : n_threads);
    const std::uint64_t first = st.iteration;
    vaeconv_glue::RMonitor monitor(
        progress, double(spec.iterations), "Fitting",
        [first](std::uint64_t done, std::uint64_t total, double objective) {
          return vaeconv_glue::fit_status(first, done, total, objective);
        },
        vaeconv_glue::status_format);
    try {
      res = vaeconv::train_vi(fam, *tgt, obj, opt, spec, seed, st, *parallel, monitor);
    } catch (const CustomTargetError& e) {
      error = e.what();
    }
    // The bar goes; an interrupt seen only now leaves a finished fit as it is.
    monitor.finish();
  }
  if (!error.empty())
    return Rcpp::List::create(Rcpp::Named("status") = "error", Rcpp::Named("message") = error);
  const vaeconv::ViTrajectory& tr = res.trajectory;
  Rcpp::List traj = Rcpp::List::create(
      Rcpp::Named("iteration") = as_numeric(tr.iteration),
      Rcpp::Named("objective") = as_numeric(tr.objective),
      Rcpp::Named("grad_norm_sq") = as_numeric(tr.grad_norm_sq),
      Rcpp::Named("lr") = as_numeric(tr.lr),
      Rcpp::Named("seconds") = as_numeric(tr.seconds),
      Rcpp::Named("weight_change") = as_numeric(tr.weight_change),
      Rcpp::Named("full_objective") = as_numeric(tr.full_objective),
      Rcpp::Named("full_grad_norm_sq") = as_numeric(tr.full_grad_norm_sq),
      Rcpp::Named("kl_to_target") = as_numeric(tr.kl_to_target));
  Rcpp::List out_state = Rcpp::List::create(
      Rcpp::Named("par") = Rcpp::NumericVector(st.par.begin(), st.par.end()),
      Rcpp::Named("par0") = Rcpp::NumericVector(st.par0.begin(), st.par0.end()),
      Rcpp::Named("opt_m") = Rcpp::NumericVector(st.opt.m.begin(), st.opt.m.end()),
      Rcpp::Named("opt_v") = Rcpp::NumericVector(st.opt.v.begin(), st.opt.v.end()),
      Rcpp::Named("iteration") = double(st.iteration),
      Rcpp::Named("seconds") = st.seconds);
  return Rcpp::List::create(Rcpp::Named("state") = out_state,
                            Rcpp::Named("trajectory") = traj,
                            Rcpp::Named("status") = vaeconv_glue::status_name(res.status),
                            Rcpp::Named("last_iteration") = double(res.last_iteration));
}

// The objective and its gradient over phi at given noise (d x groups K),
// for tests: list(objective, gradient).
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_vi_objective(const Rcpp::List& target, const Rcpp::List& family,
                            const Rcpp::NumericVector& par, const arma::mat& eps, int K,
                            double alpha) {
  const std::unique_ptr<vaeconv::Target> tgt = make_target(target);
  const vaeconv::Family fam(family_spec(family, tgt->dim()));
  vaeconv::Serial serial;
  vaeconv::ViWorkspace ws;
  arma::vec grad(fam.n_params(), arma::fill::zeros);
  const std::size_t groups = eps.n_cols / std::size_t(K);
  double value;
  try {
    value = vaeconv::vi_objective(fam, *tgt, par.begin(), groups, std::size_t(K), alpha,
                                  vaeconv::KeyedRng(0), vaeconv::Stream::user, 0, serial,
                                  grad.memptr(), ws, &eps);
  } catch (const std::exception& e) {
    return Rcpp::List::create(Rcpp::Named("status") = "error",
                              Rcpp::Named("message") = std::string(e.what()));
  }
  return Rcpp::List::create(Rcpp::Named("objective") = value,
                            Rcpp::Named("gradient") =
                                Rcpp::NumericVector(grad.begin(), grad.end()));
}

// log p and its gradient at the columns of z (d x n), on n_threads threads:
// list(log_density, gradient (d x n)).
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_vi_target(const Rcpp::List& target, const arma::mat& z, int n_threads) {
  const std::unique_ptr<vaeconv::Target> tgt = make_target(target);
  arma::vec lp(z.n_cols);
  arma::mat g(z.n_rows, z.n_cols);
  std::string error;
  {
    std::unique_ptr<vaeconv::Parallel> parallel =
        vaeconv_glue::make_parallel(str(target, "type") == "custom" ? 1 : n_threads);
    try {
      tgt->evaluate(z, lp.memptr(), &g, *parallel);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (!error.empty())
    return Rcpp::List::create(Rcpp::Named("status") = "error", Rcpp::Named("message") = error);
  return Rcpp::List::create(Rcpp::Named("log_density") = Rcpp::NumericVector(lp.begin(), lp.end()),
                            Rcpp::Named("gradient") = g);
}

// Draws z = T(eps) at the columns of eps (d x n) and their log q.
// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_vi_sample(const Rcpp::List& family, const Rcpp::NumericVector& par,
                         const arma::mat& eps) {
  const vaeconv::Family fam(family_spec(family, eps.n_rows));
  arma::mat z(eps.n_rows, eps.n_cols);
  arma::vec lq(eps.n_cols);
  const double d = double(eps.n_rows);
  for (std::size_t s = 0; s < eps.n_cols; ++s) {
    const double logdet = fam.forward(par.begin(), eps.colptr(s), z.colptr(s));
    lq[s] = -0.5 * (d * vaeconv::log_2pi + arma::dot(eps.col(s), eps.col(s))) - logdet;
  }
  return Rcpp::List::create(Rcpp::Named("z") = z,
                            Rcpp::Named("log_density") = Rcpp::NumericVector(lq.begin(), lq.end()));
}

// log q at the columns of z (d x n).
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector cpp_vi_log_density(const Rcpp::List& family, const Rcpp::NumericVector& par,
                                       const arma::mat& z) {
  const vaeconv::Family fam(family_spec(family, z.n_rows));
  Rcpp::NumericVector out(z.n_cols);
  for (std::size_t s = 0; s < z.n_cols; ++s) out[s] = fam.log_density(par.begin(), z.colptr(s));
  return out;
}

// The number of parameters of a family in dimension dim.
// [[Rcpp::export(rng = false)]]
int cpp_vi_n_params(const Rcpp::List& family, int dim) {
  return int(vaeconv::Family(family_spec(family, std::size_t(dim))).n_params());
}
