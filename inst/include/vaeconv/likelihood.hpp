// Observation likelihoods p(x | z) given the decoder's output(s) at z: the
// value log p(x_i | z_c) of every draw, its gradient with respect to the
// decoder's outputs and the likelihood's own parameters, the mean of x given
// z and draws from p(x | z). Each is written once here; the objectives
// (elbo.hpp, iwae.hpp) and diagnostics use only this interface.
//
// - Gaussian N(G(z), c^2 I), c fixed or learned (one scalar, held as log c);
// - Gaussian N(G(z), diag(c^2(z))) with c_j^2(z) = min_var + softplus(U_j(z)),
//   U the decoder's second output head (Damm et al.'s VAE-3);
// - Bernoulli with logits G(z), for x in {0, 1};
// - continuous Bernoulli with logits G(z) (Loaiza-Ganem & Cunningham 2019),
//   a density on [0, 1]: log p(x | eta) = x eta - softplus(eta) + log C(eta),
//   with C(eta) = eta / tanh(eta / 2), the normalising constant
//   2 atanh(1 - 2p) / (1 - 2p) written in terms of the logit eta.
#pragma once

#include <armadillo>
#include <array>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "layout.hpp"
#include "vmath.hpp"

namespace vaeconv {

constexpr double log_2pi = 1.8378770664093454835606594728112;

enum class LikelihoodKind { gaussian, bernoulli, continuous_bernoulli };

inline const std::vector<std::string>& likelihood_names() {
  static const std::vector<std::string> names{"gaussian", "bernoulli",
                                              "continuous_bernoulli"};
  return names;
}

inline LikelihoodKind likelihood_kind(const std::string& name) {
  const auto& n = likelihood_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return LikelihoodKind(i);
  throw std::invalid_argument("unknown likelihood '" + name + "'");
}

// Buffers for one chunk of m data columns with S draws each; sized on first
// use and reused afterwards.
struct Workspace {
  arma::mat x;                              // dx x m
  std::vector<arma::mat> enc_pre, enc_act;  // encoder hidden layers, h x m
  arma::mat mu, u, var, sd;                 // dz x m (u: the covariance head's outputs)
  arma::mat log_var, dvar;                  // log var and d var / d u, dz x m
  arma::mat chol, lfac;                     // full covariance: C and L, dz^2 x m
  arma::vec log_det;                        // full covariance: log det C per column
  arma::mat eps, z;                         // dz x mS, column i * S + s
  std::vector<arma::mat> dec_pre, dec_act;  // decoder hidden layers, h x mS
  arma::mat xhat;                           // the decoder's output G(z), dx x mS
  arma::mat xvar_u, xvar;                   // its second head U(z) and c^2(z)
  arma::vec rss;                            // mS squared residual norms (Gaussian)
  arma::vec ll;                             // mS values of log p(x_i | z_c)
  arma::vec lw, wbar;                       // mS log weights and normalised weights
  arma::vec w_dec, w_prior, w_logq;         // mS per-draw weights of the encoder's chain
  arma::mat d_a, d_b, d_mu, d_u, d_head;    // backward scratch
};

// The log normalising constant of the continuous Bernoulli with logit eta,
// log C = log(eta / tanh(eta / 2)) (even in eta; log 2 at eta = 0), and its
// derivative d log C / d eta = 1 / eta - 1 / sinh(eta). Near eta = 0 both by
// the series in t = eta / 2,
//   log(t coth t) = sum_k 2^(2k-1) (2^(2k) - 2) B_2k t^(2k) / (k (2k)!)
//                 = t^2/3 - 7 t^4/90 + 62 t^6/2835 - ...
// (B the Bernoulli numbers; eight terms, the first left out below 1e-20 for
// |eta| < 0.25); elsewhere log C = log a - log(-expm1(-a)) + log1p(e^-a)
// with a = |eta|, free of cancellation and overflow.
constexpr double cb_series_below = 0.25;
constexpr double cb_series[8] = {
    1.0 / 3.0,           -7.0 / 90.0,         62.0 / 2835.0,
    -127.0 / 18900.0,    146.0 / 66825.0,     -1414477.0 / 1915538625.0,
    32764.0 / 127702575.0, -16931177.0 / 186080895000.0};

inline double cb_log_norm(double eta) {
  const double a = std::fabs(eta);
  if (a < cb_series_below) {
    const double t2 = 0.25 * a * a;
    double s = cb_series[7];
    for (int k = 6; k >= 0; --k) s = s * t2 + cb_series[k];
    return 0.69314718055994530942 + s * t2;
  }
  const double e = std::exp(-a);
  return std::log(a) - std::log(-std::expm1(-a)) + std::log1p(e);
}

inline double cb_dlog_norm(double eta) {
  const double a = std::fabs(eta);
  if (a < cb_series_below) {
    // d/d eta of the series: (1/2) sum_k 2k c_k t^(2k - 1), t = eta / 2.
    const double t = 0.5 * eta, t2 = t * t;
    double s = 16.0 * cb_series[7];
    for (int k = 6; k >= 0; --k) s = s * t2 + 2.0 * double(k + 1) * cb_series[k];
    return 0.5 * s * t;
  }
  if (a > 700.0) return 1.0 / eta;
  return 1.0 / eta - 1.0 / std::sinh(eta);
}

// The mean of the continuous Bernoulli with logit eta:
// 1 / (1 - e^-eta) - 1 / eta (1/2 at eta = 0; a series near 0).
inline double cb_mean(double eta) {
  const double a = std::fabs(eta);
  if (a < 1e-4) return 0.5 + eta / 12.0;
  return -1.0 / std::expm1(-eta) - 1.0 / eta;
}

// The inverse of the continuous Bernoulli's distribution function at u in
// (0, 1): log1p(u expm1(eta)) / eta, written so that it neither overflows
// for large |eta| nor cancels near eta = 0.
inline double cb_quantile(double eta, double u) {
  if (std::fabs(eta) < 1e-8) return u;
  if (eta > 0.0) return 1.0 + std::log(u + (1.0 - u) * std::exp(-eta)) / eta;
  return std::log1p(u * std::expm1(eta)) / eta;
}

struct LikelihoodSpec {
  LikelihoodKind kind = LikelihoodKind::gaussian;
  double obs_sd = 1.0;
  bool learn_obs_sd = false;
  bool obs_sd_from_z = false;  // Gaussian: c^2(z) from a second decoder head
  double min_var = 1e-4;       // the floor of c^2(z)
};

class Likelihood {
 public:
  Likelihood() = default;
  Likelihood(const LikelihoodSpec& spec, std::size_t dx) : spec_(spec), dx_(dx) {
    if (spec.kind != LikelihoodKind::gaussian && (spec.learn_obs_sd || spec.obs_sd_from_z))
      throw std::invalid_argument("only a Gaussian likelihood has an observation sd");
    if (spec.learn_obs_sd && spec.obs_sd_from_z)
      throw std::invalid_argument("obs_sd is either learned or a function of z");
  }

  const LikelihoodSpec& spec() const { return spec_; }
  LikelihoodKind kind() const { return spec_.kind; }
  bool gaussian() const { return spec_.kind == LikelihoodKind::gaussian; }
  bool scalar_sd() const { return gaussian() && !spec_.obs_sd_from_z; }
  // The decoder output heads it reads: G(z), and U(z) for c^2(z).
  std::size_t heads() const { return spec_.obs_sd_from_z ? 2 : 1; }

  // Its own parameters (theta): log c when learned.
  void add_params(Layout& layout) {
    if (spec_.learn_obs_sd) log_c_ = layout.add("log_obs_sd", 1, 1, Group::theta);
  }
  void init(double* par) const {
    if (spec_.learn_obs_sd) par[log_c_] = std::log(spec_.obs_sd);
  }
  std::size_t log_obs_sd_offset() const { return log_c_; }

  // The scalar c (fixed or learned).
  double obs_sd(const double* par) const {
    return spec_.learn_obs_sd ? std::exp(par[log_c_]) : spec_.obs_sd;
  }

  // -dx/2 log(2 pi c^2): the normalising constant of the scalar Gaussian.
  double log_norm(const double* par) const {
    return -0.5 * double(dx_) * (log_2pi + 2.0 * std::log(obs_sd(par)));
  }

  // c^2(z) = min_var + softplus(U(z)) from the second head: fills ws.xvar.
  void head_variance(Workspace& ws) const {
    const std::size_t n = ws.xvar_u.n_elem;
    ws.xvar.set_size(ws.xvar_u.n_rows, ws.xvar_u.n_cols);
    vmath::map<vmath::Base>(ws.xvar_u.memptr(), ws.xvar.memptr(), n,
                            detail::Softplus<vmath::Base>());
    for (std::size_t k = 0; k < n; ++k) ws.xvar[k] += spec_.min_var;
  }

  // ws.ll[c] = log p(x_i | z_c) for every draw c = i * S + s, from the
  // decoder's outputs in ws.xhat (and ws.xvar_u). With grad (the ELBO's
  // uniform weights 1/S), also ws.d_a = d(-sum_c ll_c / S) / d G (and
  // ws.d_head for U), and the likelihood's own gradient added to grad.
  void loglik(const double* par, std::size_t S, Workspace& ws, double* grad) const {
    const std::size_t m = ws.x.n_cols, n = m * S;
    ws.ll.set_size(n);
    if (scalar_sd()) {
      const double c = obs_sd(par), c2 = c * c;
      // d(-rec)/d xhat = (xhat - x) / (c^2 S), made with the squared residuals
      residuals(S, ws, 1.0 / (c2 * double(S)), grad == nullptr ? nullptr : &ws.d_a);
      const double ln = log_norm(par);
      for (std::size_t k = 0; k < n; ++k) ws.ll[k] = ln - 0.5 * ws.rss[k] / c2;
      if (grad != nullptr && spec_.learn_obs_sd) {
        double d = 0.0;  // d(-rec)/d log c = (dx - rss / c^2) / S per draw
        for (std::size_t k = 0; k < n; ++k) d += double(dx_) - ws.rss[k] / c2;
        grad[log_c_] += d / double(S);
      }
      return;
    }
    if (grad == nullptr) {
      values(ws);
      return;
    }
    ws.wbar.set_size(n);  // uniform weights 1 / S (the ELBO has no others)
    ws.wbar.fill(1.0 / double(S));
    values_and_gradient(ws, ws.wbar.memptr());
  }

  // ws.d_a = d(-sum_c v_c ll_c) / d G for the weights v (one per draw), and
  // ws.d_head for U; the likelihood's own gradient added to grad. After
  // loglik() on the same draws.
  void gradient(const double* par, std::size_t S, Workspace& ws, const double* v,
                double* grad) const {
    const std::size_t m = ws.x.n_cols;
    if (!scalar_sd()) {
      values_and_gradient(ws, v);
      return;
    }
    // d(-L)/d xhat_c = v_c (xhat_c - x) / c^2.
    const double c = obs_sd(par), c2 = c * c;
    arma::mat& gx = ws.d_a;
    gx.set_size(dx_, m * S);
    double d_log_c = 0.0;
    for (std::size_t i = 0; i < m; ++i) {
      const double* xi = ws.x.colptr(i);
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t col = i * S + s;
        const double vv = v[col], vc = vv / c2;
        const double* xh = ws.xhat.colptr(col);
        double* gc = gx.colptr(col);
        for (std::size_t k = 0; k < dx_; ++k) gc[k] = vc * (xh[k] - xi[k]);
        d_log_c += vv * (double(dx_) - ws.rss[col] / c2);
      }
    }
    if (spec_.learn_obs_sd) grad[log_c_] += d_log_c;
  }

  // E[x | z] for the outputs of each column: G(z) for a Gaussian, the
  // probabilities sigmoid(G(z)) for a Bernoulli, the continuous Bernoulli's
  // mean.
  void mean(const arma::mat& xhat, arma::mat& out) const {
    out.set_size(xhat.n_rows, xhat.n_cols);
    for (std::size_t k = 0; k < xhat.n_elem; ++k) {
      const double e = xhat[k];
      switch (spec_.kind) {
        case LikelihoodKind::gaussian: out[k] = e; break;
        case LikelihoodKind::bernoulli: out[k] = sigmoid(e); break;
        case LikelihoodKind::continuous_bernoulli: out[k] = cb_mean(e); break;
      }
    }
  }

  // Draws from p(x | z) for the outputs of each column (ws.xhat, and ws.xvar
  // after head_variance()), from standard normals e of the same shape:
  // G + c e for a Gaussian; through u = Phi(e) for the Bernoullis.
  void sample(const double* par, const Workspace& ws, const arma::mat& e,
              arma::mat& out) const {
    out.set_size(ws.xhat.n_rows, ws.xhat.n_cols);
    const double c = scalar_sd() ? obs_sd(par) : 0.0;
    for (std::size_t k = 0; k < out.n_elem; ++k) {
      const double eta = ws.xhat[k];
      const double u = 0.5 * std::erfc(-e[k] / std::sqrt(2.0));
      switch (spec_.kind) {
        case LikelihoodKind::gaussian:
          out[k] = eta + (spec_.obs_sd_from_z ? std::sqrt(ws.xvar[k]) : c) * e[k];
          break;
        case LikelihoodKind::bernoulli: out[k] = u < sigmoid(eta) ? 1.0 : 0.0; break;
        case LikelihoodKind::continuous_bernoulli: out[k] = cb_quantile(eta, u); break;
      }
    }
  }

  // ws.rss[c] = ||xhat_c - x_i||^2 for every draw c = i * S + s and, when
  // out is given, out = scale * (xhat - x) (dx x mS) in the same pass.
  void residuals(std::size_t S, Workspace& ws, double scale, arma::mat* out) const {
    const std::size_t m = ws.x.n_cols, dx = dx_;
    ws.rss.set_size(m * S);
    if (out != nullptr) out->set_size(dx, m * S);
    for (std::size_t i = 0; i < m; ++i) {
      const double* xi = ws.x.colptr(i);
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t col = i * S + s;
        const double* xh = ws.xhat.colptr(col);
        double r0 = 0.0, r1 = 0.0;  // two chains: half the latency
        std::size_t k = 0;
        if (out != nullptr) {
          double* g = out->colptr(col);
          for (; k + 1 < dx; k += 2) {
            const double d0 = xh[k] - xi[k], d1 = xh[k + 1] - xi[k + 1];
            r0 += d0 * d0;
            r1 += d1 * d1;
            g[k] = scale * d0;
            g[k + 1] = scale * d1;
          }
          if (k < dx) {
            const double d = xh[k] - xi[k];
            r0 += d * d;
            g[k] = scale * d;
          }
        } else {
          for (; k + 1 < dx; k += 2) {
            const double d0 = xh[k] - xi[k], d1 = xh[k + 1] - xi[k + 1];
            r0 += d0 * d0;
            r1 += d1 * d1;
          }
          if (k < dx) {
            const double d = xh[k] - xi[k];
            r0 += d * d;
          }
        }
        ws.rss[col] = r0 + r1;
      }
    }
  }

 private:
  // log p(x_j | eta) and d(-log p)/d eta of one Bernoulli coordinate.
  double bernoulli_term(double x, double eta, double* d) const {
    double ll = x * eta - softplus(eta);
    double g = sigmoid(eta) - x;
    if (spec_.kind == LikelihoodKind::continuous_bernoulli) {
      ll += cb_log_norm(eta);
      g -= cb_dlog_norm(eta);
    }
    if (d != nullptr) *d = g;
    return ll;
  }

  // ws.ll for the likelihoods without a scalar sd.
  void values(Workspace& ws) const {
    const std::size_t m = ws.x.n_cols, S = ws.xhat.n_cols / std::max<std::size_t>(m, 1);
    if (spec_.obs_sd_from_z) head_variance(ws);
    for (std::size_t i = 0; i < m; ++i) {
      const double* xi = ws.x.colptr(i);
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t col = i * S + s;
        const double* xh = ws.xhat.colptr(col);
        double ll = 0.0;
        if (spec_.obs_sd_from_z) {
          const double* v = ws.xvar.colptr(col);
          for (std::size_t k = 0; k < dx_; ++k) {
            const double r = xh[k] - xi[k];
            ll -= 0.5 * (log_2pi + std::log(v[k]) + r * r / v[k]);
          }
        } else {
          for (std::size_t k = 0; k < dx_; ++k) ll += bernoulli_term(xi[k], xh[k], nullptr);
        }
        ws.ll[col] = ll;
      }
    }
  }

  // ws.ll and ws.d_a (and ws.d_head) = d(-sum_c v_c ll_c) / d outputs.
  void values_and_gradient(Workspace& ws, const double* v) const {
    const std::size_t m = ws.x.n_cols, n = ws.xhat.n_cols, S = n / std::max<std::size_t>(m, 1);
    if (spec_.obs_sd_from_z) head_variance(ws);
    ws.ll.set_size(n);
    ws.d_a.set_size(dx_, n);
    if (spec_.obs_sd_from_z) ws.d_head.set_size(dx_, n);
    for (std::size_t i = 0; i < m; ++i) {
      const double* xi = ws.x.colptr(i);
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t col = i * S + s;
        const double* xh = ws.xhat.colptr(col);
        double* g = ws.d_a.colptr(col);
        const double w = v[col];
        double ll = 0.0;
        if (spec_.obs_sd_from_z) {
          const double* var = ws.xvar.colptr(col);
          const double* u = ws.xvar_u.colptr(col);
          double* gh = ws.d_head.colptr(col);
          for (std::size_t k = 0; k < dx_; ++k) {
            const double r = xh[k] - xi[k], r2v = r * r / var[k];
            ll -= 0.5 * (log_2pi + std::log(var[k]) + r2v);
            g[k] = w * r / var[k];
            // d(-ll)/d c^2 = (1 - r^2 / c^2) / (2 c^2); d c^2 / d U = sigmoid(U)
            gh[k] = w * 0.5 * (1.0 - r2v) / var[k] * sigmoid(u[k]);
          }
        } else {
          for (std::size_t k = 0; k < dx_; ++k) {
            double d;
            ll += bernoulli_term(xi[k], xh[k], &d);
            g[k] = w * d;
          }
        }
        ws.ll[col] = ll;
      }
    }
  }

  LikelihoodSpec spec_;
  std::size_t dx_ = 0;
  std::size_t log_c_ = 0;
};

}  // namespace vaeconv
