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
  m.dx = dx;
  m.dz = std::size_t(num(model, "latent_dim"));
  m.obs_sd = num(model, "obs_sd");
  m.learn_obs_sd = Rcpp::as<bool>(model["learn_obs_sd"]);
  const std::string type = str(model, "type");
  m.linear = type == "linear";
  if (m.linear) {
    m.act.kind = vaeconv::ActivationKind::identity;
    return m;
  }
  m.min_var = num(model, "min_var");
  const Rcpp::IntegerVector hidden = model["hidden"];
  for (int h : hidden) m.hidden.push_back(std::size_t(h));
  m.act = activation_spec(model["activation"]);
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
  o.K = 1;
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
