#include "convert.h"

#include <string>

namespace vaeconv_glue {

namespace {
double num(const Rcpp::List& l, const char* name) { return Rcpp::as<double>(l[name]); }
std::string str(const Rcpp::List& l, const char* name) {
  return Rcpp::as<std::string>(l[name]);
}
}  // namespace

vaeconv::ModelSpec model_spec(const Rcpp::List& model, std::size_t dx) {
  vaeconv::ModelSpec m;
  m.kind = vaeconv::model_kind(str(model, "type"));  // an unknown type is an error
  m.dx = dx;
  m.dz = std::size_t(num(model, "latent_dim"));
  if (m.kind != vaeconv::ModelKind::bernoulli) {
    m.obs_sd = num(model, "obs_sd");
    m.learn_obs_sd = Rcpp::as<bool>(model["learn_obs_sd"]);
  }
  if (m.linear()) {
    m.act.kind = vaeconv::ActivationKind::identity;
    return m;
  }
  m.min_var = num(model, "min_var");
  const Rcpp::IntegerVector hidden = model["hidden"];
  for (int h : hidden) m.hidden.push_back(std::size_t(h));
  m.act = activation_spec(model["activation"]);
  if (model.containsElementNamed("covariance"))
    m.covariance = vaeconv::covariance_kind(str(model, "covariance"));
  if (model.containsElementNamed("obs_sd_from_z"))
    m.obs_sd_from_z = Rcpp::as<bool>(model["obs_sd_from_z"]);
  if (m.kind == vaeconv::ModelKind::bernoulli)
    m.continuous = Rcpp::as<bool>(model["continuous"]);
  return m;
}

vaeconv::Activation activation_spec(const Rcpp::List& activation) {
  vaeconv::Activation a;
  a.kind = vaeconv::activation_kind(str(activation, "name"));
  a.s = num(activation, "s");
  a.s1 = num(activation, "s1");
  a.s2 = num(activation, "s2");
  return a;
}

vaeconv::ObjectiveSpec objective_spec(const Rcpp::List& objective) {
  vaeconv::ObjectiveSpec o;
  o.kind = vaeconv::objective_kind(str(objective, "type"));
  o.beta = num(objective, "beta");
  o.alpha = num(objective, "alpha");
  o.estimator = vaeconv::estimator_kind(str(objective, "estimator"));
  // K: a whole number, or a k_schedule() list (start, max, every, growth).
  const SEXP K = objective["K"];
  if (Rf_isNewList(K)) {
    const Rcpp::List sched(K);
    o.K = std::size_t(num(sched, "start"));
    o.K_max = std::size_t(num(sched, "max"));
    o.K_every = std::uint64_t(num(sched, "every"));
    o.K_growth = vaeconv::k_growth(str(sched, "growth"));
  } else {
    o.K = o.K_max = std::size_t(Rcpp::as<double>(K));
  }
  o.exact = objective.containsElementNamed("exact") &&
            Rcpp::as<bool>(objective["exact"]);
  return o;
}

vaeconv::OptimizerSpec optimizer_spec(const Rcpp::List& optimizer) {
  vaeconv::OptimizerSpec o;
  o.kind = vaeconv::optimizer_kind(str(optimizer, "type"));
  o.lr = num(optimizer, "lr");
  o.decay = num(optimizer, "decay");
  o.momentum = num(optimizer, "momentum");
  o.beta1 = num(optimizer, "beta1");
  o.beta2 = num(optimizer, "beta2");
  o.rho = num(optimizer, "rho");
  o.eps = num(optimizer, "eps");
  o.bound = num(optimizer, "bound");
  return o;
}

arma::mat columns_of(const Rcpp::NumericMatrix& x) {
  const arma::mat xm(const_cast<double*>(x.begin()), x.nrow(), x.ncol(), false, true);
  return xm.t();
}

}  // namespace vaeconv_glue
