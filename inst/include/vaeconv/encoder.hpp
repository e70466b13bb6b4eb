// Encoder families q_phi(z | x): the distribution's parameters at the data,
// reparameterised draws z = mu + C eps with their standard noise eps, the
// closed-form KL to the prior N(0, I), the log-determinant part of log q,
// and the chain from what an objective asks of z and of log q back to the
// encoder's weights, written once here.
//
// - diagonal: q = N(mu(x), diag(var(x))), var = min_var + softplus(u(x)),
//   mu and u linear heads on an MLP trunk;
// - full: q = N(mu(x), Sigma(x)), Sigma = min_var I + L L' with L lower
//   triangular from a head of dz (dz + 1) / 2 units (column by column), so
//   every eigenvalue of Sigma is at least min_var; draws z = mu + C eps with
//   C the Cholesky factor of Sigma, so log q(z | x) = -||eps||^2 / 2 -
//   log det C - dz/2 log(2 pi) and the KL is
//   (tr Sigma + ||mu||^2 - dz - 2 log det C) / 2;
// - x_free (the linear VAE's): q = N(V x + b, diag(tau^2)), tau^2 = exp(u)
//   with u a free parameter vector.
//
// The objectives describe the gradient of what they minimise through an
// EncoderGrad: the derivative with respect to each draw z_c (from the
// decoder, in ws.d_a), per-draw weights on the prior's and log q's terms,
// and the weight of the closed-form KL. backward() turns that into the
// gradient of the distribution's parameters (d mu, d u) and chains it to the
// weights. A new family (full covariance) implements the same three steps.
#pragma once

#include <algorithm>

#include <armadillo>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "dense.hpp"
#include "layout.hpp"
#include "likelihood.hpp"
#include "rng.hpp"

namespace vaeconv {

namespace detail {

// Encoder::chain<true, false, false, false, false, false> (the plain
// reparameterised path) for one draw per column, where the arrays' n = dz m
// values line up: the same operations on each value, in the same order,
// L::width values at a time, the rest one at a time (Lanes<1>, scalars).
template <class L>
VAECONV_INLINE void chain_plain(std::size_t n, const double* dzc, const double* eps,
                                const double* sd, const double* var, const double* mu,
                                const double* dvar, bool kl, double beta, double* d_mu,
                                double* d_u) {
  typedef typename L::vd vd;
  const double half_beta = beta * 0.5;
  const vd zero = vmath::splat<L>(0.0), one = vmath::splat<L>(1.0),
           two = vmath::splat<L>(2.0), b = vmath::splat<L>(beta),
           hb = vmath::splat<L>(half_beta);
  std::size_t k = 0;
  for (; k + L::width <= n; k += L::width) {
    const vd t = vmath::load<L>(dzc + k);
    const vd dm = zero + t, ds = zero + t * vmath::load<L>(eps + k);
    const vd s2 = two * vmath::load<L>(sd + k);
    if (kl) {
      vmath::store<L>(d_mu + k, dm + b * vmath::load<L>(mu + k));
      const vd dv = ds / s2 + hb * (one - one / vmath::load<L>(var + k));
      vmath::store<L>(d_u + k, dv * vmath::load<L>(dvar + k));
    } else {
      vmath::store<L>(d_mu + k, dm);
      vmath::store<L>(d_u + k, ds / s2 * vmath::load<L>(dvar + k));
    }
  }
  if constexpr (L::width > 1)
    if (k < n)
      chain_plain<vmath::Lanes<1>>(n - k, dzc + k, eps + k, sd + k, var + k, mu + k, dvar + k,
                                   kl, beta, d_mu + k, d_u + k);
}

#if defined(VAECONV_EXACT_AVX512)
// Eight values at a time, contraction off (as the exact kernels of
// activation.hpp): the bits of the scalar chain.
VAECONV_TARGET_AVX512 __attribute__((optimize("fp-contract=off"))) inline void
chain_plain_avx512(std::size_t n, const double* dzc, const double* eps, const double* sd,
                   const double* var, const double* mu, const double* dvar, bool kl,
                   double beta, double* d_mu, double* d_u) {
  chain_plain<vmath::Lanes<8>>(n, dzc, eps, sd, var, mu, dvar, kl, beta, d_mu, d_u);
}
#endif

}  // namespace detail

// The families offered to users (the covariance of q); the linear VAE's
// x-free variances are not a user choice.
enum class EncoderKind { diagonal, full, x_free };

inline const std::vector<std::string>& covariance_names() {
  static const std::vector<std::string> names{"diagonal", "full"};
  return names;
}

inline EncoderKind covariance_kind(const std::string& name) {
  const auto& n = covariance_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return EncoderKind(i);
  throw std::invalid_argument("unknown covariance '" + name + "'");
}

// What an objective minimises, as seen by the encoder, per draw c of the
// chunk (column i * S + s): D_c = a_c * d_a(., c) + b_c * z_c + e_c * dlogq_c,
// the derivative in z through the draw z_c = mu + C eps_c (d_a from the
// decoder; z from the prior's -log p(z); dlogq_c = d log q(z | x) / d z at
// fixed q, -eps / sd for the diagonal family), plus f_c * d log q(z_c | x)
// / d(q's parameters) at fixed noise, plus g_c * d log q(z_c | x) / d(q's
// parameters) at fixed z (the score, for the score-function estimator),
// plus beta * d KL(q || p) / d(q's parameters). A null weight array means
// a_c = 1, resp. b_c = e_c = f_c = g_c = 0; path = false leaves out D_c
// altogether (no pathwise term); kl says whether the KL term is there.
struct EncoderGrad {
  const double* a = nullptr;  // scales the decoder's d/dz
  const double* b = nullptr;  // the prior's z
  const double* e = nullptr;  // log q's derivative in z (DReG)
  const double* f = nullptr;  // log q's own parameters at fixed noise (pathwise IWAE)
  const double* g = nullptr;  // log q's own parameters at fixed z (score function)
  bool path = true;
  bool kl = false;
  double beta = 0.0;
};

class Encoder {
 public:
  Encoder() = default;

  // Adds the encoder's blocks (phi) to the layout: trunk layers, mean head,
  // variance head (or the x-free log variances).
  Encoder(EncoderKind kind, std::size_t dx, std::size_t dz,
          const std::vector<std::size_t>& hidden, const Activation& act, double min_var,
          Layout& layout)
      : kind_(kind), dz_(dz), act_(act), min_var_(min_var) {
    std::size_t in = dx;
    for (std::size_t l = 0; l < hidden.size(); ++l) {
      const std::string p = "encoder." + std::to_string(l + 1) + ".";
      trunk_.push_back(dense_block(layout, p + "weight", p + "bias", in, hidden[l], Group::phi));
      in = hidden[l];
    }
    if (kind == EncoderKind::x_free) {
      mean_ = dense_block(layout, "V", "b", in, dz, Group::phi);
      var_.in = in;
      var_.out = dz;
      var_.b = layout.add("log_tau2", dz, 1, Group::phi);
    } else if (kind == EncoderKind::full) {
      mean_ = dense_block(layout, "mean.weight", "mean.bias", in, dz, Group::phi);
      var_ = dense_block(layout, "cov.weight", "cov.bias", in, dz * (dz + 1) / 2, Group::phi);
    } else {
      mean_ = dense_block(layout, "mean.weight", "mean.bias", in, dz, Group::phi);
      var_ = dense_block(layout, "var.weight", "var.bias", in, dz, Group::phi);
    }
  }

  EncoderKind kind() const { return kind_; }
  std::size_t latent_dim() const { return dz_; }

  // Encoder variance 1 where the variance head's weights vanish (after the
  // weights and biases were set).
  void init(double* par) const {
    if (kind_ == EncoderKind::x_free) return;
    if (kind_ == EncoderKind::full) {  // L = sqrt(1 - min_var) I: Sigma = I
      const double d = min_var_ < 1.0 ? std::sqrt(1.0 - min_var_) : 0.0;
      for (std::size_t j = 0, k = 0; j < dz_; ++j)
        for (std::size_t i = j; i < dz_; ++i, ++k) par[var_.b + k] = i == j ? d : 0.0;
      return;
    }
    const double u0 = std::log(std::expm1(1.0 - min_var_));
    for (std::size_t j = 0; j < dz_; ++j) par[var_.b + j] = u0;
  }

  // q(z|x) for the columns of ws.x: fills ws.mu, ws.u, ws.var, ws.sd,
  // ws.log_var and ws.dvar (d var / d u).
  void encode(const double* par, Workspace& ws) const {
    const std::size_t m = ws.x.n_cols;
    ws.enc_pre.resize(trunk_.size());
    ws.enc_act.resize(trunk_.size());
    const arma::mat* h = &ws.x;
    for (std::size_t l = 0; l < trunk_.size(); ++l) {
      dense_forward(par, trunk_[l], *h, ws.enc_pre[l], ws.enc_act[l], act_);
      h = &ws.enc_act[l];
    }
    if (kind_ == EncoderKind::diagonal)
      dense_forward_pair(par, mean_, var_, *h, ws.mu, ws.u);  // both heads
    else
      dense_forward(par, mean_, *h, ws.mu);
    const std::size_t n = dz_ * m;
    for (arma::mat* a : {&ws.var, &ws.sd, &ws.log_var, &ws.dvar}) a->set_size(dz_, m);
    if (kind_ == EncoderKind::full) {
      dense_forward(par, var_, *h, ws.u);
      encode_full(ws);
      return;
    }
    if (kind_ == EncoderKind::x_free) {
      ws.u.set_size(dz_, m);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < dz_; ++j) ws.u(j, i) = par[var_.b + j];
      for (std::size_t k = 0; k < n; ++k) ws.var[k] = std::exp(ws.u[k]);
      ws.log_var = ws.u;
      ws.dvar = ws.var;
    } else {
      // var = min_var + softplus(u), d var / d u = sigmoid(u); u made above
      detail::exact(detail::ExactKernel::softplus, ws.u.memptr(), ws.var.memptr(), n);
      for (std::size_t k = 0; k < n; ++k) ws.var[k] += min_var_;
      detail::exact(detail::ExactKernel::sigmoid, ws.u.memptr(), ws.dvar.memptr(), n);
      log_positive(ws.var.memptr(), ws.log_var.memptr(), n);
    }
    detail::exact(detail::ExactKernel::sqrt, ws.var.memptr(), ws.sd.memptr(), n);
  }

  // z = mu + sd * eps (mu + C eps) for the S draws of each column.
  void sample(std::size_t S, Workspace& ws) const {
    const std::size_t m = ws.mu.n_cols, dz = dz_;
    ws.z.set_size(dz, m * S);
    if (kind_ == EncoderKind::full) {
      for (std::size_t i = 0; i < m; ++i) {
        const double* C = ws.chol.colptr(i);
        for (std::size_t s = 0; s < S; ++s) {
          const std::size_t c = i * S + s;
          const double* e = ws.eps.colptr(c);
          double* z = ws.z.colptr(c);
          for (std::size_t j = 0; j < dz; ++j) {
            double v = ws.mu(j, i);
            for (std::size_t k = 0; k <= j; ++k) v += C[j + k * dz] * e[k];
            z[j] = v;
          }
        }
      }
      return;
    }
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t c = i * S + s;
        for (std::size_t j = 0; j < dz; ++j)
          ws.z(j, c) = ws.mu(j, i) + ws.sd(j, i) * ws.eps(j, c);
      }
  }

  // KL(q(z|x_i) || N(0, I)) in closed form.
  double kl_column(const Workspace& ws, std::size_t i) const {
    double kl = 0.0;
    if (kind_ == EncoderKind::full) {
      for (std::size_t j = 0; j < dz_; ++j) {
        const double mu = ws.mu(j, i);
        kl += ws.var(j, i) + mu * mu - 1.0;
      }
      return 0.5 * kl - ws.log_det[i];
    }
    for (std::size_t j = 0; j < dz_; ++j) {
      const double v = ws.var(j, i), mu = ws.mu(j, i);
      kl += v + mu * mu - 1.0 - ws.log_var(j, i);
    }
    return 0.5 * kl;
  }

  // log det C for column i, C the factor of the draw z = mu + C eps, so
  // that -log q(z | x_i) = log det C + ||eps||^2 / 2 + dz/2 log(2 pi).
  double log_det_factor(const Workspace& ws, std::size_t i) const {
    if (kind_ == EncoderKind::full) return ws.log_det[i];
    double log_sd = 0.0;
    for (std::size_t j = 0; j < dz_; ++j) log_sd += 0.5 * ws.log_var(j, i);
    return log_sd;
  }

  // Sizes n columns of q's parameters in `to`, as sample(), log_det_factor()
  // and copy_column() use them (the diagnostics lay one draw's q per column).
  void reserve_columns(Workspace& to, std::size_t n) const {
    for (arma::mat* a : {&to.mu, &to.sd, &to.log_var}) a->set_size(dz_, n);
    if (kind_ == EncoderKind::full) {
      to.chol.set_size(dz_ * dz_, n);
      to.log_det.set_size(n);
    }
  }

  // Copies q(z | x) of column i of `from` (made by encode(), or copied
  // there) to column j of `to` (sized by reserve_columns()): what sample()
  // and log_det_factor() read.
  void copy_column(const Workspace& from, std::size_t i, Workspace& to, std::size_t j) const {
    for (const auto& f : {&Workspace::mu, &Workspace::sd, &Workspace::log_var})
      std::copy((from.*f).colptr(i), (from.*f).colptr(i) + dz_, (to.*f).colptr(j));
    if (kind_ == EncoderKind::full) {
      std::copy(from.chol.colptr(i), from.chol.colptr(i) + dz_ * dz_, to.chol.colptr(j));
      to.log_det[j] = from.log_det[i];
    }
  }

  // The gradient described by g (see EncoderGrad) for the S draws of each
  // column, added to the encoder's parameters in grad. Reads the decoder's
  // d/dz from ws.d_a (which it then uses as scratch).
  void backward(const double* par, std::size_t S, const EncoderGrad& g, Workspace& ws,
                double* grad) const {
    if (kind_ == EncoderKind::full) {
      chain_full(S, g, ws);
      backward_params(par, ws, grad);
      return;
    }
    const int mode = (g.a != nullptr) * 1 + (g.b != nullptr) * 2 + (g.e != nullptr) * 4 +
                     (g.f != nullptr) * 8 + (g.g != nullptr) * 16 + (!g.path) * 32;
    switch (mode) {
      case 0:
#if defined(VAECONV_EXACT_AVX512)
        if (S == 1 && vmath::simd_level() >= 2) {
          const std::size_t n = ws.mu.n_elem;
          ws.d_mu.set_size(dz_, ws.mu.n_cols);
          ws.d_u.set_size(dz_, ws.mu.n_cols);
          detail::chain_plain_avx512(n, ws.d_a.memptr(), ws.eps.memptr(), ws.sd.memptr(),
                                     ws.var.memptr(), ws.mu.memptr(), ws.dvar.memptr(), g.kl,
                                     g.beta, ws.d_mu.memptr(), ws.d_u.memptr());
          break;
        }
#endif
        chain<true, false, false, false, false, false>(S, g, ws);
        break;
      case 2 + 8: chain<true, false, true, false, true, false>(S, g, ws); break;
      case 1 + 2 + 4: chain<true, true, true, true, false, false>(S, g, ws); break;
      case 16 + 32: chain<false, false, false, false, false, true>(S, g, ws); break;
      default: throw std::logic_error("unsupported combination of encoder gradient terms");
    }
    backward_params(par, ws, grad);
  }

  // Backpropagates ws.d_mu and ws.d_u (dz x m; for the full covariance the
  // head's dz (dz + 1) / 2 x m), the gradient with respect to q's
  // parameters, through the heads and the trunk, adding the encoder's
  // parameter gradients to grad.
  void backward_params(const double* par, Workspace& ws, double* grad) const {
    const std::size_t H = trunk_.size();
    const arma::mat& h = H == 0 ? ws.x : ws.enc_act[H - 1];
    arma::mat* dh = H == 0 ? nullptr : &ws.d_a;
    const std::size_t unit = ws.unit;  // data columns
    if (kind_ == EncoderKind::diagonal) {
      dense_backward_pair(par, mean_, var_, h, ws.d_mu, ws.d_u, grad, dh, unit);
    } else {
      dense_backward(par, mean_, h, ws.d_mu, grad, dh, false, unit);
    }
    if (kind_ == EncoderKind::diagonal) {
      // both heads done above
    } else if (kind_ == EncoderKind::x_free) {  // the variances are free of x: only their bias
      for_units(ws.d_u.n_cols, unit, [&](std::size_t b, std::size_t e) {
        vmath::add_row_sums(ws.d_u.memptr() + b * dz_, dz_, e - b, grad + var_.b);
      });
    } else {
      dense_backward(par, var_, h, ws.d_u, grad, dh, true, unit);
    }
    for (std::size_t l = H; l-- > 0;) {
      act_.backward(ws.enc_pre[l].memptr(), ws.enc_act[l].memptr(), ws.d_a.memptr(),
                    ws.d_a.n_elem);
      const arma::mat& in = l == 0 ? ws.x : ws.enc_act[l - 1];
      dense_backward(par, trunk_[l], in, ws.d_a, grad, l == 0 ? nullptr : &ws.d_b, false,
                     unit);
      if (l > 0) std::swap(ws.d_a, ws.d_b);
    }
  }

 private:
  // Sigma = min_var I + L L' and its Cholesky factor C for every column,
  // from the head's outputs ws.u: fills ws.lfac, ws.chol, ws.var (the
  // diagonal of Sigma), ws.sd, ws.log_var and ws.log_det (log det C).
  void encode_full(Workspace& ws) const {
    const std::size_t m = ws.u.n_cols, dz = dz_;
    ws.lfac.zeros(dz * dz, m);
    ws.chol.zeros(dz * dz, m);
    ws.log_det.set_size(m);
    arma::mat L(dz, dz), Sigma(dz, dz), C(dz, dz);
    for (std::size_t i = 0; i < m; ++i) {
      L.zeros();
      const double* u = ws.u.colptr(i);
      for (std::size_t j = 0, k = 0; j < dz; ++j)
        for (std::size_t r = j; r < dz; ++r, ++k) L(r, j) = u[k];
      Sigma = L * L.t();
      Sigma.diag() += min_var_;
      cholesky(Sigma, C);
      std::copy(L.begin(), L.end(), ws.lfac.colptr(i));
      std::copy(C.begin(), C.end(), ws.chol.colptr(i));
      double ld = 0.0;
      for (std::size_t j = 0; j < dz; ++j) {
        ws.var(j, i) = Sigma(j, j);
        ws.sd(j, i) = std::sqrt(Sigma(j, j));
        ws.log_var(j, i) = std::log(Sigma(j, j));
        ld += std::log(C(j, j));
      }
      ws.log_det[i] = ld;
    }
  }

  // The lower Cholesky factor C of a symmetric positive definite A (every
  // eigenvalue >= min_var > 0 here), in the Cholesky-Banachiewicz order.
  static void cholesky(const arma::mat& A, arma::mat& C) {
    const std::size_t n = A.n_rows;
    C.zeros(n, n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j <= i; ++j) {
        double s = A(i, j);
        for (std::size_t k = 0; k < j; ++k) s -= C(i, k) * C(j, k);
        C(i, j) = i == j ? std::sqrt(s) : s / C(j, j);
      }
  }

  // The full covariance's chain: per column, d/d mu and the gradient G_C
  // with respect to C from the per-draw terms (D_c eps_c' below the
  // diagonal, -f_c diag(1 / C) from log q's -log det C at fixed noise) and
  // the KL's beta (mu, C - diag(1 / C)); then through the Cholesky
  // factorisation to the symmetric gradient S in Sigma,
  // S = sym(C^-T Phi(C' G_C) C^-1) with Phi the lower triangle, diagonal
  // halved (Murray 2016), plus the score's g_c (y y' - Sigma^-1) / 2 with
  // y = C^-T eps (and g_c y for mu); L-bar = 2 S L, whose lower triangle
  // goes to ws.d_u.
  void chain_full(std::size_t S, const EncoderGrad& g, Workspace& ws) const {
    const std::size_t m = ws.mu.n_cols, dz = dz_;
    const arma::mat& dzc = ws.d_a;
    ws.d_mu.set_size(dz, m);
    ws.d_u.set_size(dz * (dz + 1) / 2, m);
    arma::mat GC(dz, dz), SB(dz, dz), P(dz, dz), X(dz, dz);
    arma::vec t(dz), y(dz), e(dz), dmu(dz);
    for (std::size_t i = 0; i < m; ++i) {
      const arma::mat C(ws.chol.colptr(i), dz, dz);
      const arma::mat L(ws.lfac.colptr(i), dz, dz);
      const arma::mat Cinv = arma::inv(arma::trimatl(C));
      GC.zeros();
      SB.zeros();
      dmu.zeros();
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t col = i * S + s;
        for (std::size_t j = 0; j < dz; ++j) e[j] = ws.eps(j, col);
        if (g.e != nullptr || g.g != nullptr) y = Cinv.t() * e;  // C^-T eps
        if (g.path) {
          for (std::size_t j = 0; j < dz; ++j) {
            double v = g.a != nullptr ? g.a[col] * dzc(j, col) : dzc(j, col);
            if (g.b != nullptr) v += g.b[col] * ws.z(j, col);
            if (g.e != nullptr) v -= g.e[col] * y[j];  // d log q / dz = -C^-T eps
            t[j] = v;
          }
          dmu += t;
          for (std::size_t c = 0; c < dz; ++c)
            for (std::size_t r = c; r < dz; ++r) GC(r, c) += t[r] * e[c];
          if (g.f != nullptr)
            for (std::size_t j = 0; j < dz; ++j) GC(j, j) -= g.f[col] / C(j, j);
        }
        if (g.g != nullptr) {
          // d log q / d mu = y, d log q / d Sigma = (y y' - Sigma^-1) / 2 at fixed z
          dmu += g.g[col] * y;
          SB += (0.5 * g.g[col]) * (y * y.t() - Cinv.t() * Cinv);
        }
      }
      if (g.kl) {
        for (std::size_t j = 0; j < dz; ++j) dmu[j] += g.beta * ws.mu(j, i);
        for (std::size_t c = 0; c < dz; ++c)
          for (std::size_t r = c; r < dz; ++r)
            GC(r, c) += g.beta * (r == c ? C(r, c) - 1.0 / C(r, c) : C(r, c));
      }
      // G_C -> S: P = Phi(C' G_C), X = C^-T P C^-1, S = (X + X') / 2
      P = arma::trimatl(C.t() * GC);
      P.diag() *= 0.5;
      X = Cinv.t() * P * Cinv;
      SB += 0.5 * (X + X.t());
      const arma::mat LB = 2.0 * SB * L;
      for (std::size_t j = 0; j < dz; ++j) ws.d_mu(j, i) = dmu[j];
      double* du = ws.d_u.colptr(i);
      for (std::size_t c = 0, k = 0; c < dz; ++c)
        for (std::size_t r = c; r < dz; ++r, ++k) du[k] = LB(r, c);
    }
  }

  // ws.d_mu and ws.d_u from the per-draw terms: with D_c the derivative in
  // z_c (see EncoderGrad), d/d mu = sum_c D_c + g_c eps_c / sd,
  // d/d sd = sum_c D_c eps_c - f_c / sd + g_c (eps_c^2 - 1) / sd, then the
  // KL's beta mu and beta (1 - 1 / var) / 2 for d/d var, and
  // d/d u = d/d var * d var / d u, d/d var = d/d sd / (2 sd).
  template <bool P, bool A, bool B, bool E, bool F, bool G>
  void chain(std::size_t S, const EncoderGrad& g, Workspace& ws) const {
    const std::size_t m = ws.mu.n_cols;
    const arma::mat& dzc = ws.d_a;
    ws.d_mu.set_size(dz_, m);
    ws.d_u.set_size(dz_, m);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < dz_; ++j) {
        const double sd = ws.sd(j, i);
        double dmu = 0.0, dsd = 0.0;
        for (std::size_t s = 0; s < S; ++s) {
          const std::size_t col = i * S + s;
          const double e = ws.eps(j, col);
          if (P) {
            double t = A ? g.a[col] * dzc(j, col) : dzc(j, col);
            if (B) t = t + g.b[col] * ws.z(j, col);
            if (E) t = t - g.e[col] * e / sd;
            dmu += t;
            if (F) {
              dsd += t * e - g.f[col] / sd;
            } else {
              dsd += t * e;
            }
          }
          if (G) {
            // d log q / d mu = eps / sd, d log q / d sd = (eps^2 - 1) / sd at fixed z
            dmu += g.g[col] * e / sd;
            dsd += g.g[col] * (e * e - 1.0) / sd;
          }
        }
        if (g.kl) {
          const double v = ws.var(j, i);
          ws.d_mu(j, i) = dmu + g.beta * ws.mu(j, i);
          const double dvar = dsd / (2.0 * sd) + g.beta * 0.5 * (1.0 - 1.0 / v);
          ws.d_u(j, i) = dvar * ws.dvar(j, i);
        } else {
          ws.d_mu(j, i) = dmu;
          ws.d_u(j, i) = dsd / (2.0 * sd) * ws.dvar(j, i);
        }
      }
  }

  EncoderKind kind_ = EncoderKind::diagonal;
  std::size_t dz_ = 0;
  Activation act_;
  double min_var_ = 1e-4;
  std::vector<Dense> trunk_;
  Dense mean_, var_;
};

}  // namespace vaeconv
