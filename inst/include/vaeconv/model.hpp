// A VAE is three parts (DESIGN.md section 1): an encoder family q_phi(z|x)
// (encoder.hpp), a decoder network G_theta(z) (decoder.hpp) and an
// observation likelihood p_theta(x|z) (likelihood.hpp), with the prior
// p(z) = N(0, I). Vae builds the parts from a ModelSpec and owns the layout
// of their parameters; the objectives (elbo.hpp, iwae.hpp, linear.hpp) and
// the diagnostics are written against the parts.
//
// Model kinds: gaussian (MLP decoder, Gaussian likelihood, diagonal
// encoder), bernoulli (MLP decoder, Bernoulli or continuous Bernoulli
// likelihood, diagonal encoder) and linear (W z + mu, Gaussian likelihood,
// the encoder N(V x + b, diag(tau^2)) with tau^2 free of x).
#pragma once

#include <armadillo>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "decoder.hpp"
#include "dense.hpp"
#include "encoder.hpp"
#include "layout.hpp"
#include "likelihood.hpp"
#include "rng.hpp"

namespace vaeconv {

enum class ModelKind { gaussian, bernoulli, linear };

inline const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{"gaussian", "bernoulli", "linear"};
  return names;
}

inline ModelKind model_kind(const std::string& name) {
  const auto& n = model_names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return ModelKind(i);
  throw std::invalid_argument("unknown model type '" + name + "'");
}

struct ModelSpec {
  ModelKind kind = ModelKind::gaussian;
  std::size_t dx = 0, dz = 0;
  std::vector<std::size_t> hidden;  // encoder widths; the decoder reverses them
  Activation act;
  double obs_sd = 1.0;
  bool learn_obs_sd = false;
  bool obs_sd_from_z = false;
  bool continuous = false;  // bernoulli: the continuous Bernoulli
  double min_var = 1e-4;
  EncoderKind covariance = EncoderKind::diagonal;

  bool linear() const { return kind == ModelKind::linear; }
};

inline LikelihoodSpec likelihood_spec(const ModelSpec& s) {
  LikelihoodSpec l;
  switch (s.kind) {
    case ModelKind::gaussian:
    case ModelKind::linear:
      l.kind = LikelihoodKind::gaussian;
      break;
    case ModelKind::bernoulli:
      l.kind = s.continuous ? LikelihoodKind::continuous_bernoulli : LikelihoodKind::bernoulli;
      break;
  }
  l.obs_sd = s.obs_sd;
  l.learn_obs_sd = s.learn_obs_sd;
  l.obs_sd_from_z = s.obs_sd_from_z;
  l.min_var = s.min_var;
  return l;
}

class Vae {
 public:
  explicit Vae(const ModelSpec& spec)
      : spec_(spec), likelihood_(likelihood_spec(spec), spec.dx) {
    if (spec.dx == 0 || spec.dz == 0) throw std::invalid_argument("empty model");
    if (spec.linear() && !spec.hidden.empty())
      throw std::invalid_argument("a linear VAE has no hidden layers");
    if (spec.linear() && spec.obs_sd_from_z)
      throw std::invalid_argument("a linear VAE has one observation sd");
    // theta: decoder layers (and its second head), then the likelihood's own.
    std::vector<std::size_t> widths{spec.dz};
    for (auto it = spec.hidden.rbegin(); it != spec.hidden.rend(); ++it)
      widths.push_back(*it);
    widths.push_back(spec.dx);
    decoder_ = Decoder(widths, spec.act, spec.linear(), likelihood_.heads(), layout_);
    likelihood_.add_params(layout_);
    // phi: the encoder.
    encoder_ = Encoder(spec.linear() ? EncoderKind::x_free : spec.covariance, spec.dx,
                       spec.dz, spec.hidden, spec.act, spec.min_var, layout_);
  }

  const ModelSpec& spec() const { return spec_; }
  bool linear() const { return spec_.linear(); }
  const Layout& layout() const { return layout_; }
  std::size_t n_params() const { return layout_.size(); }
  std::size_t n_theta() const { return layout_.n_theta(); }
  const Encoder& encoder() const { return encoder_; }
  const Decoder& decoder() const { return decoder_; }
  const Likelihood& likelihood() const { return likelihood_; }

  // Weights N(0, 1 / fan_in), biases 0, then each part's own starting
  // values: log c = log obs_sd, c^2(z) = obs_sd^2 where the second head's
  // weights vanish, encoder variance 1 where those of its head vanish.
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
    likelihood_.init(par);
    if (decoder_.heads() > 1) {
      const double v = spec_.obs_sd * spec_.obs_sd - spec_.min_var;
      const double u0 = v > 0.0 ? std::log(std::expm1(v)) : -30.0;
      const Dense& h = decoder_.second_head();
      for (std::size_t j = 0; j < h.out; ++j) par[h.b + j] = u0;
    }
    encoder_.init(par);
  }

  // Shorthands for the parts' forward passes.
  void encode(const double* par, Workspace& ws) const { encoder_.encode(par, ws); }
  void sample_z(std::size_t S, Workspace& ws) const { encoder_.sample(S, ws); }
  void decode(const double* par, const arma::mat& z, Workspace& ws) const {
    decoder_.forward(par, z, ws);
  }

 private:
  ModelSpec spec_;
  Layout layout_;
  Likelihood likelihood_;
  Decoder decoder_;
  Encoder encoder_;
};

}  // namespace vaeconv
