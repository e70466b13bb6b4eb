// Variational families of black-box VI: a map z = T_phi(eps) of standard
// normal noise eps with its log-Jacobian, so that
//   log q_phi(z) = log N(eps; 0, I) - log |det dT_phi / d eps|,
// and the reparameterised gradient of any F(phi) = f(T_phi(eps)) + c log|det|
// for a fixed eps (backward()).
//
// Families
// - location-scale ("gaussian"): z = m + L x with x = eps; L lower
//   triangular (diagonal, or full Cholesky) with diagonal h(r_j): softplus,
//   exp, or the linear parameterisation L_jj = r_j (Domke et al. 2023),
//   kept valid by projecting r_j onto [min_scale, inf) after every step;
// - sinh-arcsinh (Jones & Pewsey 2009) on the same location-scale map:
//   x_j = sinh((asinh(eps_j) + a_j) / delta_j), skewness a_j, tail weight
//   delta_j = softplus(t_j) (delta < 1: heavier tails than the normal);
// - planar flow (Rezende & Mohamed 2015) on a diagonal Gaussian base:
//   x_0 = m + s * eps, x_k = x_{k-1} + uh_k tanh(w_k' x_{k-1} + b_k), with
//   uh = u + (m(w'u) - w'u) w / |w|^2, m(t) = -1 + softplus(t), so that
//   w'uh = m(w'u) > -1 and each layer is invertible; its inverse solves a
//   scalar monotone equation (Newton's method inside a bracket).
//
// Layout of phi: m (d), r (d), [full: the strictly lower part of L, column
// by column, d (d - 1) / 2], [sinh-arcsinh: a (d), t (d)]; the planar flow:
// m (d), r (d, base sd = softplus(r)), then per layer u (d), w (d), b (1).
#pragma once

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "rng.hpp"
#include "vi_target.hpp"

namespace vaeconv {

enum class FamilyKind { gaussian, sinh_arcsinh, planar };
enum class ScaleKind { softplus, exp, linear };

inline FamilyKind family_kind(const std::string& name) {
  if (name == "gaussian") return FamilyKind::gaussian;
  if (name == "sinh_arcsinh") return FamilyKind::sinh_arcsinh;
  if (name == "planar") return FamilyKind::planar;
  throw std::invalid_argument("unknown variational family '" + name + "'");
}

inline ScaleKind scale_kind(const std::string& name) {
  if (name == "softplus") return ScaleKind::softplus;
  if (name == "exp") return ScaleKind::exp;
  if (name == "linear") return ScaleKind::linear;
  throw std::invalid_argument("unknown scale parameterisation '" + name + "'");
}

struct FamilySpec {
  FamilyKind kind = FamilyKind::gaussian;
  std::size_t dim = 1;
  bool full = false;                       // full (Cholesky) scale
  ScaleKind scale = ScaleKind::softplus;  // of the diagonal of L
  double min_scale = 1e-3;                // linear scale: L_jj >= min_scale
  std::size_t layers = 0;                 // planar flow
  double init_sd = 0.01;                  // planar flow: sd of u and w at start
};

// log cosh(w) without overflow.
inline double log_cosh(double w) {
  const double a = std::fabs(w);
  return a + std::log1p(std::exp(-2.0 * a)) - 0.6931471805599453094;
}

class Family {
 public:
  explicit Family(const FamilySpec& s) : s_(s) {
    const std::size_t d = s.dim;
    if (d == 0) throw std::invalid_argument("the dimension must be positive");
    if (s.kind == FamilyKind::planar) {
      p_ = 2 * d + s.layers * (2 * d + 1);
    } else {
      off_lower_ = 2 * d;
      p_ = 2 * d + (s.full ? d * (d - 1) / 2 : 0);
      off_sas_ = p_;
      if (s.kind == FamilyKind::sinh_arcsinh) p_ += 2 * d;
    }
  }

  const FamilySpec& spec() const { return s_; }
  std::size_t dim() const { return s_.dim; }
  std::size_t n_params() const { return p_; }
  bool location_scale_gaussian() const { return s_.kind == FamilyKind::gaussian; }

  // The starting point: q = N(0, I) for the location-scale families (a = 0,
  // delta = 1 for sinh-arcsinh: the identity transform); for the planar
  // flow, N(0, I) base and u, w ~ N(0, init_sd^2) keyed by the seed, b = 0.
  void init(double* phi, const KeyedRng& rng) const {
    const std::size_t d = s_.dim;
    std::fill(phi, phi + p_, 0.0);
    const double one_sp = std::log(std::expm1(1.0));  // softplus^-1(1)
    for (std::size_t j = 0; j < d; ++j) phi[d + j] = raw_of_one();
    if (s_.kind == FamilyKind::sinh_arcsinh)
      for (std::size_t j = 0; j < d; ++j) phi[off_sas_ + d + j] = one_sp;
    if (s_.kind == FamilyKind::planar) {
      for (std::size_t j = 0; j < d; ++j) phi[d + j] = one_sp;
      std::vector<double> e(2 * d);
      for (std::size_t k = 0; k < s_.layers; ++k) {
        rng.normals(Stream::init, 0, k, e.data(), 2 * d);
        double* l = phi + layer(k);
        for (std::size_t j = 0; j < 2 * d; ++j) l[j] = s_.init_sd * e[j];
      }
    }
  }

  // Keeps the linear parameterisation valid: L_jj >= min_scale.
  void project(double* phi) const {
    if (s_.kind == FamilyKind::planar || s_.scale != ScaleKind::linear) return;
    for (std::size_t j = 0; j < s_.dim; ++j)
      phi[s_.dim + j] = std::max(phi[s_.dim + j], s_.min_scale);
  }

  // z = T(eps); returns log |det dT/deps|.
  double forward(const double* phi, const double* eps, double* z) const {
    if (s_.kind == FamilyKind::planar) return planar_forward(phi, eps, z, nullptr, nullptr);
    const std::size_t d = s_.dim;
    std::vector<double> x(d);
    double logdet = base(phi, eps, x.data());
    for (std::size_t j = 0; j < d; ++j) logdet += std::log(std::fabs(diag(phi, j)));
    scale_apply(phi, x.data(), z);
    return logdet;
  }

  // Adds to grad the gradient over phi of v' T(eps) + c log|det dT/deps|.
  void backward(const double* phi, const double* eps, const double* v, double c,
                double* grad) const {
    if (s_.kind == FamilyKind::planar) {
      planar_backward(phi, eps, v, c, grad);
      return;
    }
    const std::size_t d = s_.dim;
    std::vector<double> x(d), lv(d, 0.0);
    base(phi, eps, x.data());
    for (std::size_t j = 0; j < d; ++j) grad[j] += v[j];
    for (std::size_t j = 0; j < d; ++j) {
      const double Ljj = diag(phi, j);
      grad[d + j] += (v[j] * x[j] + c / Ljj) * diag_deriv(phi[d + j]);
      lv[j] += Ljj * v[j];
    }
    if (s_.full) {
      std::size_t o = off_lower_;
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t i = j + 1; i < d; ++i, ++o) {
          grad[o] += v[i] * x[j];
          lv[j] += phi[o] * v[i];
        }
    }
    if (s_.kind == FamilyKind::sinh_arcsinh) {
      // lv = L' v = dF/dx.
      for (std::size_t j = 0; j < d; ++j) {
        const double a = phi[off_sas_ + j], tr = phi[off_sas_ + d + j];
        const double delta = softplus(tr);
        const double w = (std::asinh(eps[j]) + a) / delta;
        const double ch = std::cosh(w), th = std::tanh(w);
        grad[off_sas_ + j] += lv[j] * ch / delta + c * th / delta;
        const double gd = -lv[j] * ch * w / delta + c * (-th * w / delta - 1.0 / delta);
        grad[off_sas_ + d + j] += gd * sigmoid(tr);
      }
    }
  }

  // log q(z); NaN where T cannot be inverted (not reached for valid phi).
  double log_density(const double* phi, const double* z) const {
    const std::size_t d = s_.dim;
    std::vector<double> eps(d);
    double logdet;
    if (s_.kind == FamilyKind::planar) {
      logdet = planar_inverse(phi, z, eps.data());
    } else {
      // x = L^-1 (z - m), then eps = base^-1(x).
      std::vector<double> x(d);
      logdet = 0.0;
      for (std::size_t i = 0; i < d; ++i) {
        double r = z[i] - phi[i];
        if (s_.full)
          for (std::size_t j = 0; j < i; ++j) r -= phi[lower_index(i, j)] * x[j];
        x[i] = r / diag(phi, i);
        logdet += std::log(std::fabs(diag(phi, i)));
      }
      if (s_.kind == FamilyKind::sinh_arcsinh) {
        for (std::size_t j = 0; j < d; ++j) {
          const double a = phi[off_sas_ + j], delta = softplus(phi[off_sas_ + d + j]);
          eps[j] = std::sinh(delta * std::asinh(x[j]) - a);
          const double w = (std::asinh(eps[j]) + a) / delta;
          logdet += log_cosh(w) - std::log(delta) - 0.5 * std::log1p(eps[j] * eps[j]);
        }
      } else {
        eps = x;
      }
    }
    double ee = 0.0;
    for (double e : eps) ee += e * e;
    return -0.5 * (double(d) * log_2pi + ee) - logdet;
  }

  // Location-scale Gaussian only: the mean and the scale matrix L (q = N(m, L L')).
  void gaussian_moments(const double* phi, arma::vec& m, arma::mat& L) const {
    const std::size_t d = s_.dim;
    m.set_size(d);
    L.zeros(d, d);
    for (std::size_t j = 0; j < d; ++j) {
      m[j] = phi[j];
      L(j, j) = diag(phi, j);
    }
    if (s_.full)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t i = j + 1; i < d; ++i) L(i, j) = phi[lower_index(i, j)];
  }

 private:
  double raw_of_one() const {
    switch (s_.scale) {
      case ScaleKind::softplus: return std::log(std::expm1(1.0));
      case ScaleKind::exp: return 0.0;
      case ScaleKind::linear: return 1.0;
    }
    return 1.0;
  }
  double diag(const double* phi, std::size_t j) const {
    const double r = phi[s_.dim + j];
    switch (s_.scale) {
      case ScaleKind::softplus: return softplus(r);
      case ScaleKind::exp: return std::exp(r);
      case ScaleKind::linear: return r;
    }
    return r;
  }
  double diag_deriv(double r) const {
    switch (s_.scale) {
      case ScaleKind::softplus: return sigmoid(r);
      case ScaleKind::exp: return std::exp(r);
      case ScaleKind::linear: return 1.0;
    }
    return 1.0;
  }
  std::size_t lower_index(std::size_t i, std::size_t j) const {
    // column j holds rows j + 1 .. d - 1; columns before it hold
    // sum_{k < j} (d - 1 - k) entries.
    const std::size_t d = s_.dim;
    return off_lower_ + j * (d - 1) - j * (j - 1) / 2 + (i - j - 1);
  }
  // x = base(eps); returns the log-Jacobian of the base transform.
  double base(const double* phi, const double* eps, double* x) const {
    const std::size_t d = s_.dim;
    if (s_.kind != FamilyKind::sinh_arcsinh) {
      std::copy(eps, eps + d, x);
      return 0.0;
    }
    double logdet = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double a = phi[off_sas_ + j], delta = softplus(phi[off_sas_ + d + j]);
      const double w = (std::asinh(eps[j]) + a) / delta;
      x[j] = std::sinh(w);
      logdet += log_cosh(w) - std::log(delta) - 0.5 * std::log1p(eps[j] * eps[j]);
    }
    return logdet;
  }
  // z = m + L x.
  void scale_apply(const double* phi, const double* x, double* z) const {
    const std::size_t d = s_.dim;
    for (std::size_t i = 0; i < d; ++i) z[i] = phi[i] + diag(phi, i) * x[i];
    if (s_.full)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t i = j + 1; i < d; ++i) z[i] += phi[lower_index(i, j)] * x[j];
  }

  // Planar flow ------------------------------------------------------------
  std::size_t layer(std::size_t k) const { return 2 * s_.dim + k * (2 * s_.dim + 1); }

  // uh of layer k, with kappa = (m(t) - t) / |w|^2, t = w'u, n2 = |w|^2.
  void planar_uhat(const double* l, double* uh, double& t, double& n2, double& kappa) const {
    const std::size_t d = s_.dim;
    const double* u = l;
    const double* w = l + d;
    t = n2 = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      t += w[j] * u[j];
      n2 += w[j] * w[j];
    }
    kappa = (-1.0 + softplus(t) - t) / n2;
    for (std::size_t j = 0; j < d; ++j) uh[j] = u[j] + kappa * w[j];
  }

  // Forward through the flow; with xs, keeps each layer's input (d each)
  // and with as, each layer's pre-activation.
  double planar_forward(const double* phi, const double* eps, double* z,
                        std::vector<double>* xs, std::vector<double>* as) const {
    const std::size_t d = s_.dim, K = s_.layers;
    std::vector<double> x(d), uh(d);
    double logdet = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double s = softplus(phi[d + j]);
      x[j] = phi[j] + s * eps[j];
      logdet += std::log(s);
    }
    for (std::size_t k = 0; k < K; ++k) {
      const double* l = phi + layer(k);
      const double* w = l + d;
      const double b = l[2 * d];
      double t, n2, kappa;
      planar_uhat(l, uh.data(), t, n2, kappa);
      if (xs != nullptr) xs->insert(xs->end(), x.begin(), x.end());
      double a = b, psi = 0.0;
      for (std::size_t j = 0; j < d; ++j) {
        a += w[j] * x[j];
        psi += w[j] * uh[j];
      }
      if (as != nullptr) as->push_back(a);
      const double th = std::tanh(a);
      for (std::size_t j = 0; j < d; ++j) x[j] += uh[j] * th;
      logdet += std::log1p((1.0 - th * th) * psi);
    }
    std::copy(x.begin(), x.end(), z);
    return logdet;
  }

  void planar_backward(const double* phi, const double* eps, const double* v, double c,
                       double* grad) const {
    const std::size_t d = s_.dim, K = s_.layers;
    std::vector<double> xs, as, z(d), g(v, v + d), uh(d), guh(d);
    xs.reserve(K * d);
    planar_forward(phi, eps, z.data(), &xs, &as);
    for (std::size_t k = K; k-- > 0;) {
      const double* l = phi + layer(k);
      const double* u = l;
      const double* w = l + d;
      double* gl = grad + layer(k);
      const double* x = xs.data() + k * d;
      double t, n2, kappa;
      planar_uhat(l, uh.data(), t, n2, kappa);
      const double a = as[k], th = std::tanh(a), hp = 1.0 - th * th;
      double psi = 0.0, guh_dot_uh = 0.0;
      for (std::size_t j = 0; j < d; ++j) {
        psi += w[j] * uh[j];
        guh_dot_uh += g[j] * uh[j];
      }
      const double D = 1.0 + hp * psi;
      // z = x + uh tanh(a): dF/da from the output and from c log D.
      const double ga = guh_dot_uh * hp + c * (-2.0 * th * hp * psi) / D;
      const double gpsi = c * hp / D;
      // dF/d uh = g tanh(a) + gpsi w; dF/dw (direct) = gpsi uh + ga x.
      double s_ = 0.0;
      for (std::size_t j = 0; j < d; ++j) {
        guh[j] = g[j] * th + gpsi * w[j];
        s_ += guh[j] * w[j];
      }
      const double dkappa_dt = (sigmoid(t) - 1.0) / n2;
      for (std::size_t j = 0; j < d; ++j) {
        gl[j] += guh[j] + s_ * dkappa_dt * w[j];
        gl[d + j] += gpsi * uh[j] + ga * x[j] + kappa * guh[j] +
                     s_ * (dkappa_dt * u[j] - 2.0 * kappa / n2 * w[j]);
      }
      gl[2 * d] += ga;
      for (std::size_t j = 0; j < d; ++j) g[j] += ga * w[j];
    }
    for (std::size_t j = 0; j < d; ++j) {
      const double r = phi[d + j], s = softplus(r);
      grad[j] += g[j];
      grad[d + j] += (g[j] * eps[j] + c / s) * sigmoid(r);
    }
  }

  // eps = T^-1(z); returns log |det dT/deps| at eps.
  double planar_inverse(const double* phi, const double* z, double* eps) const {
    const std::size_t d = s_.dim, K = s_.layers;
    std::vector<double> x(z, z + d), uh(d);
    double logdet = 0.0;
    for (std::size_t k = K; k-- > 0;) {
      const double* l = phi + layer(k);
      const double* w = l + d;
      const double b = l[2 * d];
      double t, n2, kappa;
      planar_uhat(l, uh.data(), t, n2, kappa);
      double psi = 0.0, r = b;
      for (std::size_t j = 0; j < d; ++j) {
        psi += w[j] * uh[j];
        r += w[j] * x[j];
      }
      // Solve a + psi tanh(a) = r: increasing (psi > -1), root in
      // [r - |psi|, r + |psi|].
      double lo = r - std::fabs(psi) - 1e-12, hi = r + std::fabs(psi) + 1e-12, a = r;
      for (int it = 0; it < 200; ++it) {
        const double th = std::tanh(a), f = a + psi * th - r;
        if (f > 0.0) hi = a; else lo = a;
        if (f == 0.0 || hi - lo < 1e-15 * std::max(1.0, std::fabs(a))) break;
        double next = a - f / (1.0 + psi * (1.0 - th * th));
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (next == a) break;
        a = next;
      }
      const double th = std::tanh(a);
      for (std::size_t j = 0; j < d; ++j) x[j] -= uh[j] * th;
      logdet += std::log1p((1.0 - th * th) * psi);
    }
    for (std::size_t j = 0; j < d; ++j) {
      const double s = softplus(phi[d + j]);
      eps[j] = (x[j] - phi[j]) / s;
      logdet += std::log(s);
    }
    return logdet;
  }

  FamilySpec s_;
  std::size_t p_ = 0, off_lower_ = 0, off_sas_ = 0;
};

// KL(N(m, L L') || N(mu, Sigma)) = 1/2 [tr(P L L') + (mu - m)' P (mu - m)
//   - d + log det Sigma - 2 sum_j log |L_jj|], P = Sigma^-1.
inline double gaussian_kl(const arma::vec& m, const arma::mat& L, const GaussianTarget& t) {
  const arma::mat& P = t.precision();
  const arma::vec r = t.mean() - m;
  const double tr = arma::accu(L % (P * L));
  const double quad = arma::dot(r, P * r);
  return 0.5 * (tr + quad - double(m.n_elem) + t.logdet() -
                2.0 * arma::accu(arma::log(arma::abs(L.diag()))));
}

}  // namespace vaeconv
