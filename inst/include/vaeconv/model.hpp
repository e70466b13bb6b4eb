// Gaussian VAEs: an MLP encoder q(z|x) = N(mu(x), diag(var(x))) and an MLP
// decoder p(x|z) = N(G(z), c^2 I) with the prior p(z) = N(0, I). The linear
// VAE is the special case with no hidden layers, identity activations and an
// encoder variance tau^2 free of x (held on the log scale).
#pragma once

#include <armadillo>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "activation.hpp"
#include "dense.hpp"
#include "layout.hpp"
#include "rng.hpp"

namespace vaeconv {

constexpr double log_2pi = 1.8378770664093454835606594728112;

struct ModelSpec {
  std::size_t dx = 0, dz = 0;
  std::vector<std::size_t> hidden;  // encoder widths; the decoder reverses them
  Activation act;
  double obs_sd = 1.0;
  bool learn_obs_sd = false;
  double min_var = 1e-4;
  bool linear = false;
};

// Buffers for one chunk of m data columns with S draws each; sized on first
// use and reused afterwards.
struct Workspace {
  arma::mat x;                             // dx x m
  std::vector<arma::mat> enc_pre, enc_act;  // encoder hidden layers, h x m
  arma::mat mu, u, var, sd;                // dz x m
  arma::mat log_var, dvar;                 // log var and d var / d u, dz x m
  arma::mat eps, z;                        // dz x mS, column i * S + s
  std::vector<arma::mat> dec_pre, dec_act;  // decoder hidden layers, h x mS
  arma::mat xhat;                          // dx x mS
  arma::vec rss;                           // mS squared residual norms
  arma::vec lw, wbar;                      // mS log weights and normalised weights (IWAE)
  arma::mat d_a, d_b, d_mu, d_u;           // backward scratch
};

// Sums over the chunk's data points (divide by the batch size for means).
struct ChunkSums {
  double objective = 0.0, reconstruction = 0.0, kl = 0.0;
  ChunkSums& operator+=(const ChunkSums& o) {
    objective += o.objective;
    reconstruction += o.reconstruction;
    kl += o.kl;
    return *this;
  }
};

class GaussianVae {
 public:
  explicit GaussianVae(const ModelSpec& spec) : spec_(spec) {
    if (spec.dx == 0 || spec.dz == 0) throw std::invalid_argument("empty model");
    if (spec.linear && !spec.hidden.empty())
      throw std::invalid_argument("a linear VAE has no hidden layers");
    // theta: decoder layers, then log c when learned.
    std::vector<std::size_t> widths{spec.dz};
    for (auto it = spec.hidden.rbegin(); it != spec.hidden.rend(); ++it)
      widths.push_back(*it);
    widths.push_back(spec.dx);
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      const std::string p = spec.linear ? "" : "decoder." + std::to_string(l + 1) + ".";
      decoder_.push_back(dense(p + (spec.linear ? "W" : "weight"),
                               p + (spec.linear ? "mu" : "bias"), widths[l],
                               widths[l + 1], Group::theta));
    }
    if (spec.learn_obs_sd) log_c_ = layout_.add("log_obs_sd", 1, 1, Group::theta);
    // phi: encoder hidden layers, then the mean and variance heads.
    std::size_t in = spec.dx;
    for (std::size_t l = 0; l < spec.hidden.size(); ++l) {
      const std::string p = "encoder." + std::to_string(l + 1) + ".";
      encoder_.push_back(dense(p + "weight", p + "bias", in, spec.hidden[l], Group::phi));
      in = spec.hidden[l];
    }
    if (spec.linear) {
      mean_ = dense("V", "b", in, spec.dz, Group::phi);
      var_.in = in;
      var_.out = spec.dz;
      var_.b = layout_.add("log_tau2", spec.dz, 1, Group::phi);
    } else {
      mean_ = dense("mean.weight", "mean.bias", in, spec.dz, Group::phi);
      var_ = dense("var.weight", "var.bias", in, spec.dz, Group::phi);
    }
  }

  const ModelSpec& spec() const { return spec_; }
  const Layout& layout() const { return layout_; }
  std::size_t n_params() const { return layout_.size(); }
  std::size_t n_theta() const { return layout_.n_theta(); }

  // Weights N(0, 1 / fan_in), biases 0, encoder variance 1 where the weights
  // of the variance head vanish, log c = log obs_sd.
  void init(double* par, const KeyedRng& rng) const {
    std::size_t k = 0;
    for (const Block& b : layout_.blocks()) {
      double* p = par + b.offset;
      if (b.weight) {
        rng.normals(Stream::init, k, 0, p, b.size());
        const double sd = 1.0 / std::sqrt(double(b.cols));
        for (std::size_t i = 0; i < b.size(); ++i) p[i] *= sd;
      } else {
        for (std::size_t i = 0; i < b.size(); ++i) p[i] = 0.0;
      }
      ++k;
    }
    if (spec_.learn_obs_sd) par[log_c_] = std::log(spec_.obs_sd);
    if (!spec_.linear) {
      const double u0 = std::log(std::expm1(1.0 - spec_.min_var));
      for (std::size_t j = 0; j < spec_.dz; ++j) par[var_.b + j] = u0;
    }
  }

  // Where log c is in the parameter vector (when learned).
  std::size_t log_obs_sd_offset() const { return log_c_; }

  double obs_sd(const double* par) const {
    return spec_.learn_obs_sd ? std::exp(par[log_c_]) : spec_.obs_sd;
  }

  // q(z|x) for the columns of ws.x: fills ws.mu, ws.u, ws.var, ws.sd.
  void encode(const double* par, Workspace& ws) const {
    const std::size_t m = ws.x.n_cols;
    ws.enc_pre.resize(encoder_.size());
    ws.enc_act.resize(encoder_.size());
    const arma::mat* h = &ws.x;
    for (std::size_t l = 0; l < encoder_.size(); ++l) {
      dense_forward(par, encoder_[l], *h, ws.enc_pre[l], ws.enc_act[l], spec_.act);
      h = &ws.enc_act[l];
    }
    dense_forward(par, mean_, *h, ws.mu);
    const std::size_t n = spec_.dz * m;
    for (arma::mat* a : {&ws.var, &ws.sd, &ws.log_var, &ws.dvar}) a->set_size(spec_.dz, m);
    typedef vmath::Base L;
    if (spec_.linear) {
      ws.u.set_size(spec_.dz, m);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < spec_.dz; ++j) ws.u(j, i) = par[var_.b + j];
      for (std::size_t k = 0; k < n; ++k) ws.var[k] = std::exp(ws.u[k]);
      ws.log_var = ws.u;
      ws.dvar = ws.var;
    } else {
      // var = min_var + softplus(u), d var / d u = sigmoid(u)
      dense_forward(par, var_, *h, ws.u);
      vmath::map<L>(ws.u.memptr(), ws.var.memptr(), n, detail::Softplus<L>());
      for (std::size_t k = 0; k < n; ++k) ws.var[k] += spec_.min_var;
      vmath::map<L>(ws.u.memptr(), ws.dvar.memptr(), n, detail::Sigmoid<L>());
      log_positive(ws.var.memptr(), ws.log_var.memptr(), n);
    }
    vmath::map<L>(ws.var.memptr(), ws.sd.memptr(), n, detail::Sqrt<L>());
  }

  // The decoder mean G(z) for the columns of z: fills ws.xhat.
  void decode(const double* par, const arma::mat& z, Workspace& ws) const {
    const std::size_t L = decoder_.size();
    ws.dec_pre.resize(L - 1);
    ws.dec_act.resize(L - 1);
    const arma::mat* h = &z;
    for (std::size_t l = 0; l + 1 < L; ++l) {
      dense_forward(par, decoder_[l], *h, ws.dec_pre[l], ws.dec_act[l], spec_.act);
      h = &ws.dec_act[l];
    }
    dense_forward(par, decoder_[L - 1], *h, ws.xhat);
  }

  // z = mu + sd * eps for the S draws of each column.
  void sample_z(std::size_t S, Workspace& ws) const {
    const std::size_t m = ws.mu.n_cols, dz = spec_.dz;
    ws.z.set_size(dz, m * S);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t c = i * S + s;
        for (std::size_t j = 0; j < dz; ++j)
          ws.z(j, c) = ws.mu(j, i) + ws.sd(j, i) * ws.eps(j, c);
      }
  }

  // log p(x_i | z_c) for every draw c = i * S + s; fills ws.rss with the
  // squared residual norms and returns the normalising constant's part.
  double gaussian_loglik_terms(const double* par, std::size_t S, Workspace& ws) const {
    residuals(S, ws, 0.0, nullptr);
    return log_norm(par);
  }

  // -dx/2 log(2 pi c^2): the normalising constant of log p(x | z).
  double log_norm(const double* par) const {
    return -0.5 * double(spec_.dx) * (log_2pi + 2.0 * std::log(obs_sd(par)));
  }

  // ws.rss[c] = ||xhat_c - x_i||^2 for every draw c = i * S + s and, when
  // out is given, out = scale * (xhat - x) (dx x mS) in the same pass.
  void residuals(std::size_t S, Workspace& ws, double scale, arma::mat* out) const {
    const std::size_t m = ws.x.n_cols, dx = spec_.dx;
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

  // KL(q(z|x_i) || N(0, I)) in closed form.
  double kl_column(const Workspace& ws, std::size_t i) const {
    double kl = 0.0;
    for (std::size_t j = 0; j < spec_.dz; ++j) {
      const double v = ws.var(j, i), mu = ws.mu(j, i);
      kl += v + mu * mu - 1.0 - ws.log_var(j, i);
    }
    return 0.5 * kl;
  }

  // The ELBO E_q[log p(x|z)] - beta KL(q || p) of each column of ws.x, its
  // expectation estimated with the S draws in ws.eps. Returns the sums over
  // the chunk; when grad is given, adds the gradient of -sum(ELBO) to it.
  ChunkSums elbo(const double* par, std::size_t S, double beta, Workspace& ws,
                 double* grad) const {
    const std::size_t m = ws.x.n_cols;
    encode(par, ws);
    sample_z(S, ws);
    decode(par, ws.z, ws);
    const double c = obs_sd(par), c2 = c * c;
    // d(-rec)/d xhat = (xhat - x) / (c^2 S), made with the squared residuals
    residuals(S, ws, 1.0 / (c2 * double(S)), grad == nullptr ? nullptr : &ws.d_a);
    const double ln = log_norm(par);
    ChunkSums sums;
    for (std::size_t i = 0; i < m; ++i) {
      double rec = 0.0;
      for (std::size_t s = 0; s < S; ++s) rec += ln - 0.5 * ws.rss[i * S + s] / c2;
      rec /= double(S);
      const double kl = kl_column(ws, i);
      sums.reconstruction += rec;
      sums.kl += kl;
      sums.objective += rec - beta * kl;
    }
    if (grad == nullptr) return sums;

    if (spec_.learn_obs_sd) {
      double d = 0.0;  // d(-rec)/d log c = (dx - rss / c^2) / S per draw
      for (std::size_t k = 0; k < m * S; ++k) d += double(spec_.dx) - ws.rss[k] / c2;
      grad[log_c_] += d / double(S);
    }
    backward_decoder(par, ws, grad);  // ws.d_a now holds d/dz (dz x mS)

    const arma::mat& dz_ = ws.d_a;
    ws.d_mu.set_size(spec_.dz, m);
    ws.d_u.set_size(spec_.dz, m);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < spec_.dz; ++j) {
        double dmu = 0.0, dsd = 0.0;
        for (std::size_t s = 0; s < S; ++s) {
          const std::size_t col = i * S + s;
          dmu += dz_(j, col);
          dsd += dz_(j, col) * ws.eps(j, col);
        }
        const double v = ws.var(j, i);
        ws.d_mu(j, i) = dmu + beta * ws.mu(j, i);
        const double dvar = dsd / (2.0 * ws.sd(j, i)) + beta * 0.5 * (1.0 - 1.0 / v);
        ws.d_u(j, i) = dvar * ws.dvar(j, i);
      }
    backward_encoder(par, ws, grad);
    return sums;
  }

  // d var / d u for the variance link (encode() stores it in ws.dvar).
  double dvar_du(double u, double var) const {
    return spec_.linear ? var : sigmoid(u);
  }

  // Backpropagates ws.d_a = d/d xhat (dx x mS) through the decoder, adding
  // the decoder's parameter gradients to grad and leaving d/dz in ws.d_a.
  void backward_decoder(const double* par, Workspace& ws, double* grad) const {
    const std::size_t L = decoder_.size();
    for (std::size_t l = L; l-- > 0;) {
      if (l + 1 < L)
        spec_.act.backward(ws.dec_pre[l].memptr(), ws.dec_act[l].memptr(),
                           ws.d_a.memptr(), ws.d_a.n_elem);
      const arma::mat& in = l == 0 ? ws.z : ws.dec_act[l - 1];
      dense_backward(par, decoder_[l], in, ws.d_a, grad, &ws.d_b);
      std::swap(ws.d_a, ws.d_b);
    }
  }

  // Backpropagates ws.d_mu and ws.d_u (dz x m) through the heads and the
  // encoder, adding the encoder's parameter gradients to grad.
  void backward_encoder(const double* par, Workspace& ws, double* grad) const {
    const std::size_t H = encoder_.size();
    const arma::mat& h = H == 0 ? ws.x : ws.enc_act[H - 1];
    arma::mat* dh = H == 0 ? nullptr : &ws.d_a;
    dense_backward(par, mean_, h, ws.d_mu, grad, dh);
    if (spec_.linear) {  // the variances are free of x: only their bias
      vmath::add_row_sums(ws.d_u.memptr(), spec_.dz, ws.d_u.n_cols, grad + var_.b);
    } else {
      dense_backward(par, var_, h, ws.d_u, grad, dh, true);
    }
    for (std::size_t l = H; l-- > 0;) {
      spec_.act.backward(ws.enc_pre[l].memptr(), ws.enc_act[l].memptr(),
                         ws.d_a.memptr(), ws.d_a.n_elem);
      const arma::mat& in = l == 0 ? ws.x : ws.enc_act[l - 1];
      dense_backward(par, encoder_[l], in, ws.d_a, grad, l == 0 ? nullptr : &ws.d_b);
      if (l > 0) std::swap(ws.d_a, ws.d_b);
    }
  }

 private:
  Dense dense(const std::string& wname, const std::string& bname,
              std::size_t in, std::size_t out, Group g) {
    Dense d;
    d.in = in;
    d.out = out;
    d.w = layout_.add(wname, out, in, g, true);
    d.b = layout_.add(bname, out, 1, g);
    return d;
  }

  ModelSpec spec_;
  Layout layout_;
  std::vector<Dense> decoder_, encoder_;
  Dense mean_, var_;
  std::size_t log_c_ = 0;
};

}  // namespace vaeconv
