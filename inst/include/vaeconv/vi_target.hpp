// Targets of black-box variational inference: densities p(z) on R^d known
// up to a constant, with the gradient of their log. Each evaluates a set of
// points (the columns of Z) at once; the result for a point never depends on
// the number of threads.
#pragma once

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <cstddef>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "engine.hpp"

namespace vaeconv {

enum class TargetKind { gaussian, logistic, mixture, funnel, custom };

inline TargetKind target_kind(const std::string& name) {
  if (name == "gaussian") return TargetKind::gaussian;
  if (name == "logistic") return TargetKind::logistic;
  if (name == "mixture") return TargetKind::mixture;
  if (name == "funnel") return TargetKind::funnel;
  if (name == "custom") return TargetKind::custom;
  throw std::invalid_argument("unknown target '" + name + "'");
}

// Thrown by a target (or anything the training loop calls) to stop a fit
// cleanly between iterations, as an interrupt does.
struct StopRequested : std::exception {
  const char* what() const noexcept override { return "stop requested"; }
};


// log_2pi: from model.hpp (through engine.hpp).
class GaussianTarget;

class Target {
 public:
  virtual ~Target() = default;
  virtual std::size_t dim() const = 0;
  // lp[s] = log p(z_s) for each column z_s of Z (d x S) and, when G is not
  // null, G->col(s) = grad log p(z_s) (G is sized by the caller).
  virtual void evaluate(const arma::mat& Z, double* lp, arma::mat* G,
                        Parallel& parallel) const = 0;
  // The Gaussian target (mean and covariance known), else null.
  virtual const GaussianTarget* gaussian() const { return nullptr; }
};

// A target whose points are independent: fixed chunks of columns, each
// written by one task (no sums across tasks, so any thread count gives the
// same bits).
class PointTarget : public Target {
 public:
  // log p(z) and, when g is not null, its gradient into g.
  virtual double point(const double* z, double* g) const = 0;
  void evaluate(const arma::mat& Z, double* lp, arma::mat* G,
                Parallel& parallel) const override {
    constexpr std::size_t chunk = 16;
    const std::size_t S = Z.n_cols;
    const std::size_t n_chunks = (S + chunk - 1) / chunk;
    const auto task = [&](std::size_t c) {
      for (std::size_t s = c * chunk; s < std::min(S, (c + 1) * chunk); ++s)
        lp[s] = point(Z.colptr(s), G != nullptr ? G->colptr(s) : nullptr);
    };
    if (n_chunks <= 1) {
      if (n_chunks == 1) task(0);
    } else {
      parallel.run(n_chunks, std::cref(task));
    }
  }
};

// N(mean, cov): log p(z) = -d/2 log(2 pi) - 1/2 log det cov
//   - 1/2 (z - mean)' P (z - mean), P = cov^-1; grad = -P (z - mean).
class GaussianTarget : public PointTarget {
 public:
  GaussianTarget(const arma::vec& mean, const arma::mat& cov) : mean_(mean), cov_(cov) {
    arma::mat C;
    if (!arma::chol(C, cov, "lower"))
      throw std::invalid_argument("the covariance is not positive definite");
    const arma::mat Ci = arma::inv(arma::trimatl(C));
    prec_ = Ci.t() * Ci;
    logdet_ = 2.0 * arma::accu(arma::log(C.diag()));
  }
  std::size_t dim() const override { return mean_.n_elem; }
  double point(const double* z, double* g) const override {
    const std::size_t d = dim();
    std::vector<double> r(d), pr(d, 0.0);
    for (std::size_t j = 0; j < d; ++j) r[j] = z[j] - mean_[j];
    for (std::size_t k = 0; k < d; ++k)
      for (std::size_t j = 0; j < d; ++j) pr[j] += prec_(j, k) * r[k];
    double q = 0.0;
    for (std::size_t j = 0; j < d; ++j) q += r[j] * pr[j];
    if (g != nullptr)
      for (std::size_t j = 0; j < d; ++j) g[j] = -pr[j];
    return -0.5 * (double(d) * log_2pi + logdet_ + q);
  }
  const GaussianTarget* gaussian() const override { return this; }
  const arma::vec& mean() const { return mean_; }
  const arma::mat& precision() const { return prec_; }
  double logdet() const { return logdet_; }

 private:
  arma::vec mean_;
  arma::mat cov_, prec_;
  double logdet_ = 0.0;
};

// sum_k w_k prod_j N(z_j; mu_kj, sd_kj^2): means and sds are K x d.
class MixtureTarget : public PointTarget {
 public:
  MixtureTarget(const arma::mat& means, const arma::mat& sds, const arma::vec& weights)
      : means_(means), sds_(sds), logw_(arma::log(weights / arma::accu(weights))) {
    if (sds.n_rows != means.n_rows || sds.n_cols != means.n_cols ||
        weights.n_elem != means.n_rows)
      throw std::invalid_argument("the mixture's means, sds and weights do not match");
  }
  std::size_t dim() const override { return means_.n_cols; }
  double point(const double* z, double* g) const override {
    const std::size_t K = means_.n_rows, d = dim();
    std::vector<double> lc(K);
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < K; ++k) {
      double l = logw_[k];
      for (std::size_t j = 0; j < d; ++j) {
        const double u = (z[j] - means_(k, j)) / sds_(k, j);
        l -= 0.5 * log_2pi + std::log(sds_(k, j)) + 0.5 * u * u;
      }
      lc[k] = l;
      mx = std::max(mx, l);
    }
    if (!std::isfinite(mx)) {
      if (g != nullptr) std::fill(g, g + d, std::numeric_limits<double>::quiet_NaN());
      return mx;
    }
    double sum = 0.0;
    for (std::size_t k = 0; k < K; ++k) sum += std::exp(lc[k] - mx);
    if (g != nullptr) {
      std::fill(g, g + d, 0.0);
      for (std::size_t k = 0; k < K; ++k) {
        const double r = std::exp(lc[k] - mx) / sum;  // responsibility
        for (std::size_t j = 0; j < d; ++j)
          g[j] -= r * (z[j] - means_(k, j)) / (sds_(k, j) * sds_(k, j));
      }
    }
    return mx + std::log(sum);
  }

 private:
  arma::mat means_, sds_;
  arma::vec logw_;
};

// Neal's funnel: z_1 ~ N(0, scale^2), z_j | z_1 ~ N(0, exp(z_1)), j >= 2.
class FunnelTarget : public PointTarget {
 public:
  FunnelTarget(std::size_t dim, double scale) : d_(dim), scale_(scale) {}
  std::size_t dim() const override { return d_; }
  double point(const double* z, double* g) const override {
    const double v = z[0], s2 = scale_ * scale_, e = std::exp(-v);
    double ss = 0.0;
    for (std::size_t j = 1; j < d_; ++j) ss += z[j] * z[j];
    const double m = double(d_ - 1);
    if (g != nullptr) {
      g[0] = -v / s2 - 0.5 * m + 0.5 * e * ss;
      for (std::size_t j = 1; j < d_; ++j) g[j] = -z[j] * e;
    }
    return -0.5 * (log_2pi + std::log(s2) + v * v / s2) -
           0.5 * (m * log_2pi + m * v + e * ss);
  }

 private:
  std::size_t d_;
  double scale_;
};

// Bayesian logistic regression: z ~ N(0, prior_sd^2 I) and
// y_i ~ Bernoulli(sigmoid(x_i' z)); log p(z) = log prior + sum_i log lik_i
// (unnormalised: the evidence is unknown). The sum over rows runs over
// fixed chunks of rows, in parallel; the chunks' sums are added in chunk
// order, so the result does not depend on the threads.
class LogisticTarget : public Target {
 public:
  static constexpr std::size_t chunk_rows = 256;

  // xt: d x n (one column per data row); y: 0/1.
  LogisticTarget(arma::mat xt, arma::vec y, double prior_sd)
      : xt_(std::move(xt)), y_(std::move(y)), prior_sd_(prior_sd) {}
  std::size_t dim() const override { return xt_.n_rows; }
  std::size_t n_rows() const { return xt_.n_cols; }

  void evaluate(const arma::mat& Z, double* lp, arma::mat* G,
                Parallel& parallel) const override {
    const std::size_t d = dim(), n = n_rows(), S = Z.n_cols;
    const std::size_t n_chunks = std::max<std::size_t>(1, (n + chunk_rows - 1) / chunk_rows);
    std::vector<arma::vec> lps(n_chunks);
    std::vector<arma::mat> gs(n_chunks);
    const auto task = [&](std::size_t c) {
      const std::size_t begin = c * chunk_rows, end = std::min(n, begin + chunk_rows);
      arma::vec& l = lps[c];
      l.zeros(S);
      if (G != nullptr) gs[c].zeros(d, S);
      for (std::size_t s = 0; s < S; ++s) {
        const double* z = Z.colptr(s);
        double* g = G != nullptr ? gs[c].colptr(s) : nullptr;
        double acc = 0.0;
        for (std::size_t i = begin; i < end; ++i) {
          const double* x = xt_.colptr(i);
          double eta = 0.0;
          for (std::size_t j = 0; j < d; ++j) eta += x[j] * z[j];
          // y eta - log(1 + e^eta) and y - sigmoid(eta), from one
          // e = exp(-|eta|): log(1 + e^eta) = max(eta, 0) + log1p(e).
          const double e = std::exp(-std::fabs(eta));
          acc += y_[i] * eta - (std::max(eta, 0.0) + std::log1p(e));
          if (g != nullptr) {
            const double sig = eta >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            const double r = y_[i] - sig;
            for (std::size_t j = 0; j < d; ++j) g[j] += r * x[j];
          }
        }
        l[s] = acc;
      }
    };
    if (n_chunks == 1)
      task(0);
    else
      parallel.run(n_chunks, std::cref(task));
    const double v = prior_sd_ * prior_sd_;
    const double norm = -0.5 * double(d) * (log_2pi + std::log(v));
    for (std::size_t s = 0; s < S; ++s) {
      const double* z = Z.colptr(s);
      double zz = 0.0;
      for (std::size_t j = 0; j < d; ++j) zz += z[j] * z[j];
      double acc = norm - 0.5 * zz / v;
      for (std::size_t c = 0; c < n_chunks; ++c) acc += lps[c][s];
      lp[s] = acc;
      if (G != nullptr) {
        double* g = G->colptr(s);
        for (std::size_t j = 0; j < d; ++j) {
          double gj = -z[j] / v;
          for (std::size_t c = 0; c < n_chunks; ++c) gj += gs[c](j, s);
          g[j] = gj;
        }
      }
    }
  }

 private:
  arma::mat xt_;
  arma::vec y_;
  double prior_sd_;
};

}  // namespace vaeconv
