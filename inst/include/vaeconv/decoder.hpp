// The decoder network G_theta(z): dense layers with the activation between
// them and a linear output layer (W z + mu for the linear VAE), and an
// optional second linear output head U(z) on the last hidden layer (for a
// likelihood that reads two outputs, e.g. c^2(z) = min_var + softplus(U)).
#pragma once

#include <armadillo>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "activation.hpp"
#include "dense.hpp"
#include "layout.hpp"
#include "likelihood.hpp"

namespace vaeconv {

class Decoder {
 public:
  Decoder() = default;

  // widths: dz, the hidden widths, dx. Adds the blocks (theta) to the
  // layout; `linear` names them W and mu.
  Decoder(const std::vector<std::size_t>& widths, const Activation& act, bool linear,
          std::size_t heads, Layout& layout)
      : act_(act), heads_(heads) {
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      const std::string p = linear ? "" : "decoder." + std::to_string(l + 1) + ".";
      layers_.push_back(dense_block(layout, p + (linear ? "W" : "weight"),
                                    p + (linear ? "mu" : "bias"), widths[l], widths[l + 1],
                                    Group::theta));
    }
    if (heads > 1) {
      const std::size_t in = widths[widths.size() - 2];
      head_ = dense_block(layout, "decoder.var.weight", "decoder.var.bias", in,
                          widths.back(), Group::theta);
    }
  }

  std::size_t heads() const { return heads_; }
  const Dense& second_head() const { return head_; }

  // The outputs for the columns of z: ws.xhat = G(z), and ws.xvar_u = U(z).
  void forward(const double* par, const arma::mat& z, Workspace& ws) const {
    const std::size_t L = layers_.size();
    ws.dec_pre.resize(L - 1);
    ws.dec_act.resize(L - 1);
    const arma::mat* h = &z;
    for (std::size_t l = 0; l + 1 < L; ++l) {
      dense_forward(par, layers_[l], *h, ws.dec_pre[l], ws.dec_act[l], act_);
      h = &ws.dec_act[l];
    }
    dense_forward(par, layers_[L - 1], *h, ws.xhat);
    if (heads_ > 1) dense_forward(par, head_, *h, ws.xvar_u);
  }

  // Backpropagates ws.d_a = d/d G (dx x mS), and ws.d_head = d/d U with a
  // second head, adding the decoder's parameter gradients to grad (by units
  // of ws.unit data columns, S draws each) and leaving d/dz in ws.d_a.
  void backward(const double* par, const arma::mat& z, Workspace& ws, double* grad) const {
    const std::size_t L = layers_.size();
    const std::size_t unit = ws.unit == 0 ? 0 : ws.unit * (z.n_cols / ws.x.n_cols);
    for (std::size_t l = L; l-- > 0;) {
      if (l + 1 < L)
        act_.backward(ws.dec_pre[l].memptr(), ws.dec_act[l].memptr(), ws.d_a.memptr(),
                      ws.d_a.n_elem);
      const arma::mat& in = l == 0 ? z : ws.dec_act[l - 1];
      dense_backward(par, layers_[l], in, ws.d_a, grad, &ws.d_b, false, unit);
      if (l + 1 == L && heads_ > 1)
        dense_backward(par, head_, in, ws.d_head, grad, &ws.d_b, true, unit);
      std::swap(ws.d_a, ws.d_b);
    }
  }

 private:
  Activation act_;
  std::size_t heads_ = 1;
  std::vector<Dense> layers_;
  Dense head_;
};

}  // namespace vaeconv
