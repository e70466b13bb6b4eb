// Tests of the C++ core without R: every likelihood's gradient (through the
// objectives that use it) against central finite differences, the
// continuous Bernoulli's constant, the keyed random numbers, and the strict
// parsing of names, the products' order, the C library functions' kernels' bits. Exits non-zero on the first failed group.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <vaeconv/vaeconv.hpp>

using namespace vaeconv;

static int failures = 0;

static void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

// A model, data it accepts (dx = 4, m = 3 columns) and parameters away from
// their initial values.
struct Case {
  std::string name;
  ModelSpec spec;
  arma::mat x;
};

static std::vector<Case> cases() {
  std::vector<Case> out;
  arma::arma_rng::set_seed(1);
  ModelSpec base;
  base.dx = 4;
  base.dz = 2;
  base.hidden = {4, 3};
  base.act.kind = ActivationKind::tanh;
  base.obs_sd = 0.8;
  Case g{"gaussian, learned c", base, arma::randn(4, 3)};
  g.spec.learn_obs_sd = true;
  out.push_back(g);
  Case z{"gaussian, c(z)", base, arma::randn(4, 3)};
  z.spec.obs_sd_from_z = true;
  out.push_back(z);
  Case b{"bernoulli", base, arma::conv_to<arma::mat>::from(arma::randu(4, 3) > 0.5)};
  b.spec.kind = ModelKind::bernoulli;
  out.push_back(b);
  Case cb{"continuous bernoulli", base, arma::randu(4, 3)};
  cb.spec.kind = ModelKind::bernoulli;
  cb.spec.continuous = true;
  out.push_back(cb);
  Case full{"gaussian, full covariance", base, arma::randn(4, 3)};
  full.spec.covariance = EncoderKind::full;
  full.spec.learn_obs_sd = true;
  out.push_back(full);
  Case lin{"linear", base, arma::randn(4, 3)};
  lin.spec.kind = ModelKind::linear;
  lin.spec.hidden.clear();
  lin.spec.act.kind = ActivationKind::identity;
  lin.spec.learn_obs_sd = true;
  out.push_back(lin);
  return out;
}

static double objective(const Vae& vae, const ObjectiveSpec& obj, const arma::vec& par,
                        const arma::mat& x, const arma::mat& eps, std::size_t samples,
                        arma::vec* grad) {
  Workspace ws;
  ws.x = x;
  ws.eps = eps;
  if (grad != nullptr) grad->zeros(vae.n_params());
  return chunk_objective(vae, obj, par.memptr(), obj.K, samples, ws,
                         grad == nullptr ? nullptr : grad->memptr())
      .objective;
}

// Worst relative error, max_block |g - fd| / max |fd|, of the gradient of
// minus the objective.
static double fd_error(const Vae& vae, const ObjectiveSpec& obj, const arma::vec& par,
                       const arma::mat& x, std::size_t samples) {
  const std::size_t S = obj.K * samples;
  arma::arma_rng::set_seed(4);
  const arma::mat eps = arma::randn(vae.spec().dz, x.n_cols * S);
  arma::vec g;
  objective(vae, obj, par, x, eps, samples, &g);
  arma::vec fd(par.n_elem);
  const double h = 1e-5;
  for (std::size_t i = 0; i < par.n_elem; ++i) {
    arma::vec p = par, q = par;
    p[i] += h;
    q[i] -= h;
    // g is the gradient of minus the sum over the columns
    fd[i] = -(objective(vae, obj, p, x, eps, samples, nullptr) -
              objective(vae, obj, q, x, eps, samples, nullptr)) /
            (2 * h);
  }
  double worst = 0.0;
  for (const Block& b : vae.layout().blocks()) {
    const arma::vec gb = g.subvec(b.offset, b.offset + b.size() - 1);
    const arma::vec fb = fd.subvec(b.offset, b.offset + b.size() - 1);
    worst = std::max(worst, arma::max(arma::abs(gb - fb)) / std::max(arma::max(arma::abs(fb)), 1e-8));
  }
  return worst;
}

static void test_gradients() {
  std::vector<std::pair<std::string, ObjectiveSpec>> objectives;
  ObjectiveSpec e;
  e.beta = 0.7;
  e.K = e.K_max = 2;  // the ELBO averages K * samples draws
  objectives.push_back({"elbo", e});
  ObjectiveSpec w;
  w.kind = ObjectiveKind::iwae;
  w.K = w.K_max = 3;
  objectives.push_back({"iwae K=3", w});
  w.alpha = 0.4;
  objectives.push_back({"vr-iwae alpha=0.4", w});
  ObjectiveSpec ex;
  ex.exact = true;
  for (const Case& c : cases()) {
    const Vae vae(c.spec);
    arma::vec par(vae.n_params());
    vae.init(par.memptr(), KeyedRng(7));
    arma::arma_rng::set_seed(8);
    par += 0.3 * arma::randn(par.n_elem);
    for (const auto& o : objectives) {
      const double err = fd_error(vae, o.second, par, c.x, o.second.kind == ObjectiveKind::iwae ? 2 : 1);
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s, %s: worst block error %.1e", c.name.c_str(),
                    o.first.c_str(), err);
      check(err < 1e-6, buf);
    }
    if (vae.linear()) {
      const double err = fd_error(vae, ex, par, c.x, 0);
      char buf[160];
      std::snprintf(buf, sizeof buf, "linear, exact ELBO: worst block error %.1e", err);
      check(err < 1e-6, buf);
    }
  }
}

// The likelihoods alone: d(-sum_c v_c ll_c)/d outputs against differences.
static void test_likelihood_outputs() {
  for (const Case& c : cases()) {
    if (c.spec.linear()) continue;
    const Vae vae(c.spec);
    const Likelihood& lik = vae.likelihood();
    arma::vec par(vae.n_params());
    vae.init(par.memptr(), KeyedRng(3));
    Workspace ws;
    ws.x = c.x;
    const std::size_t S = 2, n = c.x.n_cols * S;
    arma::arma_rng::set_seed(2);
    ws.xhat = 2.0 * arma::randn(c.spec.dx, n);
    ws.xvar_u = arma::randn(c.spec.dx, n);
    arma::vec v = arma::randu(n);
    auto value = [&](Workspace& w) {
      lik.loglik(par.memptr(), S, w, nullptr);
      return -arma::dot(v, w.ll);
    };
    Workspace wg = ws;
    lik.loglik(par.memptr(), S, wg, nullptr);
    arma::vec gpar(vae.n_params(), arma::fill::zeros);
    lik.gradient(par.memptr(), S, wg, v.memptr(), gpar.memptr());
    double worst = 0.0, scale = 0.0;
    const double h = 1e-6;
    for (int head = 0; head < (c.spec.obs_sd_from_z ? 2 : 1); ++head) {
      arma::mat& out = head == 0 ? ws.xhat : ws.xvar_u;
      const arma::mat& g = head == 0 ? wg.d_a : wg.d_head;
      for (std::size_t k = 0; k < out.n_elem; ++k) {
        Workspace p = ws, q = ws;
        (head == 0 ? p.xhat : p.xvar_u)[k] += h;
        (head == 0 ? q.xhat : q.xvar_u)[k] -= h;
        const double fd = (value(p) - value(q)) / (2 * h);
        worst = std::max(worst, std::fabs(g[k] - fd));
        scale = std::max(scale, std::fabs(fd));
      }
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s: d/d outputs, relative error %.1e", c.name.c_str(),
                  worst / scale);
    check(worst / scale < 1e-7, buf);
  }
}

static void test_continuous_bernoulli() {
  double worst = 0.0;
  for (double eta : {-30.0, -4.0, -0.3, 0.26, 1.0, 7.0, 30.0})
    worst = std::max(worst, std::fabs(cb_log_norm(eta) - std::log(eta / std::tanh(eta / 2))));
  check(worst < 1e-13, "continuous Bernoulli: log C against log(eta / tanh(eta / 2))");
  const double below = cb_series_below * (1 - 1e-15), above = cb_series_below * (1 + 1e-15);
  check(std::fabs(cb_log_norm(below) - cb_log_norm(above)) < 1e-15 &&
            std::fabs(cb_dlog_norm(below) - cb_dlog_norm(above)) < 1e-14,
        "continuous Bernoulli: log C and its derivative continuous at the series switch");
  check(cb_log_norm(0.0) == std::log(2.0) && std::isfinite(cb_log_norm(1e5)) &&
            cb_dlog_norm(0.0) == 0.0,
        "continuous Bernoulli: log 2 at 0, finite for extreme logits");
  // the density integrates to 1 (Simpson's rule, 2000 intervals)
  double worst_int = 0.0;
  for (double eta = -30.0; eta <= 30.0; eta += 2.5) {
    const int N = 2000;
    double s = 0.0;
    for (int i = 0; i <= N; ++i) {
      const double x = double(i) / N, w = (i == 0 || i == N) ? 1 : (i % 2 ? 4 : 2);
      s += w * std::exp(x * eta - softplus(eta) + cb_log_norm(eta));
    }
    worst_int = std::max(worst_int, std::fabs(s / (3.0 * N) - 1.0));
  }
  check(worst_int < 1e-6, "continuous Bernoulli: the density integrates to 1, logits -30..30");
}

// The likelihoods' column passes (shared calls, masks, lanes) against the
// scalar expressions they replace, to the bit: x eta - softplus(eta)
// (+ cb_log_norm(eta)) summed in order, sigmoid(eta) - x (- cb_dlog_norm(eta))
// weighed; for c^2(z), -0.5 (log 2 pi + log v + r^2 / v) summed, w r / v and
// w 0.5 (1 - r^2 / v) / v sigmoid(U). Logits at the branches' edges (0, -0,
// +-0.25, +-700) included, on the widest kernels and the two-lane ones, with
// the gradient in one pass with the values (the ELBO's) and from the parts
// the values kept (IWAE's).
static bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

static void test_likelihood_bits() {
  const double edges[] = {0.0, -0.0, 0.25, -0.25, 0.24999999999999997, -0.25000000000000006,
                          700.0, -700.0, 700.5, -701.0, 1e-300, 40.0, -40.0, 1e5, -1e5, 1e-8};
  const std::size_t ne = sizeof edges / sizeof edges[0];
  arma::arma_rng::set_seed(3);
  for (int level : {-1, 0}) {
    vmath::simd_override() = level;
    for (int kind = 0; kind < 3; ++kind) {
      for (std::size_t dx : {1, 5, 64, 700})
      for (std::size_t S : {1, 2}) {  // S = 1: the Bernoullis' blocks of columns
        const std::size_t m = 4, n = m * S;
        arma::mat x = kind == 1 ? arma::conv_to<arma::mat>::from(arma::randu(dx, m) > 0.5)
                                : arma::mat(arma::randu(dx, m));
        arma::mat xh = arma::randn(dx, n) * 2.0, u = arma::randn(dx, n) * 3.0;
        for (std::size_t i = 0; i < xh.n_elem; i += 3) xh[i] = edges[(i / 3) % ne];
        for (std::size_t i = 1; i < u.n_elem; i += 4) u[i] = edges[(i / 4) % ne] * 1e-3;
        LikelihoodSpec spec;
        spec.kind = kind == 0 ? LikelihoodKind::gaussian
                              : (kind == 1 ? LikelihoodKind::bernoulli
                                           : LikelihoodKind::continuous_bernoulli);
        spec.obs_sd_from_z = kind == 0;
        const Likelihood lik(spec, dx);
        std::vector<double> v(n);
        for (std::size_t c = 0; c < n; ++c) v[c] = 0.1 * double(c + 1);
        // the expected values and derivatives, coordinate by coordinate
        arma::vec ll(n);
        arma::mat g(dx, n), gh(dx, n);
        Workspace ref;
        ref.xvar_u = u;
        if (kind == 0) lik.head_variance(ref);
        for (std::size_t c = 0; c < n; ++c) {
          double s = 0.0;
          for (std::size_t k = 0; k < dx; ++k) {
            const double xi = x(k, c / S), eta = xh(k, c);
            if (kind == 0) {
              const double var = ref.xvar(k, c), r = eta - xi, r2v = r * r / var;
              s -= 0.5 * (log_2pi + std::log(var) + r2v);
              g(k, c) = v[c] * r / var;
              gh(k, c) = v[c] * 0.5 * (1.0 - r2v) / var * sigmoid(u(k, c));
            } else {
              double t = xi * eta - softplus(eta), d = sigmoid(eta) - xi;
              if (kind == 2) {
                t += cb_log_norm(eta);
                d -= cb_dlog_norm(eta);
              }
              s += t;
              g(k, c) = v[c] * d;
            }
          }
          ll[c] = s;
        }
        bool ok = true;
        // values alone, then the gradient in one pass with them (keep = 0)
        // or from the parts the values kept (keep = 1)
        for (int keep = 0; keep < 2; ++keep) {
          Workspace ws;
          ws.x = x;
          ws.xhat = xh;
          ws.xvar_u = u;
          ws.ll.set_size(n);
          double unused = 0.0;
          lik.loglik(nullptr, S, ws, nullptr, keep == 1);
          lik.gradient(nullptr, S, ws, v.data(), &unused);
          for (std::size_t c = 0; c < n; ++c) ok = ok && same_bits(ws.ll[c], ll[c]);
          for (std::size_t i = 0; i < g.n_elem; ++i) {
            ok = ok && same_bits(ws.d_a[i], g[i]);
            if (kind == 0) ok = ok && same_bits(ws.d_head[i], gh[i]);
          }
        }
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      "%s, dx = %zu, S = %zu, %s kernels: values and gradients to the bit",
                      kind == 0 ? "gaussian c(z)" : likelihood_names()[std::size_t(spec.kind)].c_str(),
                      dx, S, level == 0 ? "two-lane" : "widest");
        check(ok, buf);
      }
    }
  }
  vmath::simd_override() = -1;
}

static void test_rng() {
  const KeyedRng a(42), b(42), c(43);
  std::vector<double> x(1000), y(1000), z(1000);
  a.normals(Stream::train, 5, 7, x.data(), x.size());
  b.normals(Stream::train, 5, 7, y.data(), y.size());
  c.normals(Stream::train, 5, 7, z.data(), z.size());
  check(x == y, "rng: the same key gives the same draws");
  check(x != z, "rng: another seed gives other draws");
  // batched draws equal one-by-one draws of the same samples
  std::vector<double> batch(4 * 3), one(3);
  a.normals(Stream::eval, 2, 10, 4, batch.data(), 3);
  bool same = true;
  for (std::size_t s = 0; s < 4; ++s) {
    a.normals(Stream::eval, 2, 10 + s, one.data(), 3);
    for (std::size_t j = 0; j < 3; ++j) same = same && one[j] == batch[s * 3 + j];
  }
  check(same, "rng: batched draws equal single draws of the same samples");
  // moments of 10^5 normals
  std::vector<double> big(100000);
  a.normals(Stream::user, 0, 0, big.data(), big.size());
  double m = 0, v = 0;
  for (double d : big) m += d;
  m /= big.size();
  for (double d : big) v += (d - m) * (d - m);
  v /= big.size() - 1;
  check(std::fabs(m) < 4.5 / std::sqrt(1e5) && std::fabs(v - 1) < 4.5 * std::sqrt(2 / 1e5),
        "rng: normals have mean 0 and variance 1");
  std::vector<std::uint32_t> perm(1000);
  a.permutation(Stream::permutation, 3, perm.data(), perm.size());
  check(std::set<std::uint32_t>(perm.begin(), perm.end()).size() == 1000 &&
            *std::max_element(perm.begin(), perm.end()) == 999,
        "rng: a permutation of 0..n-1");
}

// The row sums of vmath.hpp at every vector width, to the bit against one
// chain per row.
static void test_sums() {
  arma::arma_rng::set_seed(5);
  bool rows_ok = true;
  for (std::size_t rows : {1, 3, 8, 20, 31, 32, 33, 64, 100, 400, 784})
    for (std::size_t cols : {1, 2, 7, 64, 65}) {
      const arma::mat d = arma::randn(rows, cols) * 1e3;
      std::vector<double> ref(rows);
      for (std::size_t i = 0; i < rows; ++i) {
        double a = 0.0;
        for (std::size_t j = 0; j < cols; ++j) a += d(i, j);
        ref[i] = 0.5 + a;
      }
      for (int level : {0, 1, 2}) {
        vmath::simd_override() = level;
        std::vector<double> out(rows, 0.5);
        vmath::add_row_sums(d.memptr(), rows, cols, out.data());
        for (std::size_t i = 0; i < rows; ++i) rows_ok = rows_ok && same_bits(out[i], ref[i]);
      }
    }
  vmath::simd_override() = -1;
  check(rows_ok, "row sums: every vector width has the bits of one chain per row");
}

static void test_names() {
  bool threw = false;
  try {
    model_kind("poisson");
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  check(threw, "names: an unknown model type is an error");
  bool round_trip = true;
  for (const auto& c : choices())
    for (const auto& n : c.second) {
      if (c.first == "model") round_trip = round_trip && model_names()[std::size_t(model_kind(n))] == n;
      if (c.first == "likelihood") round_trip = round_trip && likelihood_names()[std::size_t(likelihood_kind(n))] == n;
      if (c.first == "activation") round_trip = round_trip && activation_names()[std::size_t(activation_kind(n))] == n;
      if (c.first == "estimator") round_trip = round_trip && estimator_names()[std::size_t(estimator_kind(n))] == n;
    }
  check(round_trip, "names: every name parses to its own kind");
}

// The products: the core's (AVX-512 kernels when the CPU has them) against
// gemm_reference(), the documented order one element at a time, to the bit;
// and how often the linked BLAS agrees with that order (information only:
// it does for OpenBLAS 0.3.21's Haswell kernels).
static void test_products() {
  std::uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(state >> 11) / 9007199254740992.0 - 0.5;
  };
  const std::size_t dims[] = {1, 2, 3, 4, 5, 8, 9, 13, 16, 17, 31, 40};
  const std::size_t ks[] = {1, 7, 9, 100, 256, 257, 511, 513, 784};
  long cases = 0, differ = 0, blas_differ = 0;
  for (std::size_t m : dims)
    for (std::size_t n : dims)
      for (std::size_t k : ks)
        for (int t = 0; t < 8; ++t) {
          const bool ta = t & 1, tb = t & 2;
          const double beta = (t & 4) ? 1.0 : 0.0;
          const std::size_t lda = (ta ? k : m) + 1, ldb = (tb ? n : k) + 2, ldc = m + 3;
          std::vector<double> A(lda * (ta ? m : k)), B(ldb * (tb ? k : n)), C(ldc * n);
          for (double& v : A) v = next();
          for (double& v : B) v = next();
          for (double& v : C) v = next();
          std::vector<double> core = C, ref = C, blas = C;
          gemm(ta, tb, m, n, k, 1.0, A.data(), lda, B.data(), ldb, beta, core.data(), ldc);
          gemm_reference(ta, tb, m, n, k, A.data(), lda, B.data(), ldb, beta, ref.data(), ldc);
          blas_gemm(ta, tb, m, n, k, 1.0, A.data(), lda, B.data(), ldb, beta, blas.data(), ldc);
          ++cases;
          differ += core != ref;
          blas_differ += blas != ref;
        }
  if (gemm_uses_kernels())
    check(differ == 0, "products: the kernels sum in the documented order (" +
                           std::to_string(cases - differ) + " of " + std::to_string(cases) +
                           " products identical)");
  else
    std::printf("skip products: no AVX-512, the products go to the BLAS\n");
  std::printf("info products: the BLAS agrees with the documented order in %ld of %ld products\n",
              cases - blas_differ, cases);
}

// gemm_pair(), two products sharing op(B) in one pass: each of its two
// results identical to gemm() / gemm_bias() on its own, to the bit (shapes
// of every panel width, several blocks of the inner dimension, both
// transpositions of B, with biases and added to C).
static void test_product_pairs() {
  std::uint64_t state = 777;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(state >> 11) / 9007199254740992.0 - 0.5;
  };
  const std::size_t ms[] = {1, 2, 3, 5, 8};
  const std::size_t ns[] = {2, 4, 6, 10, 12, 14, 20, 24, 100, 128};
  const std::size_t ks[] = {1, 8, 64, 100, 257, 600};
  long cases = 0, differ = 0;
  for (std::size_t m : ms)
    for (std::size_t n : ns)
      for (std::size_t k : ks)
        for (int t = 0; t < 4; ++t) {
          const bool tb = t & 1, with_bias = t & 2;
          const std::size_t lda = m, ldb = (tb ? n : k) + 1, ldc = m;
          std::vector<double> A(lda * k), A2(lda * k), B(ldb * (tb ? k : n)), bias(m), bias2(m);
          std::vector<double> C(ldc * n), C2(ldc * n);
          for (auto* v : {&A, &A2, &B, &bias, &bias2, &C, &C2})
            for (double& x : *v) x = next();
          std::vector<double> p1 = C, p2 = C2, s1 = C, s2 = C2;
          if (with_bias) {
            gemm_pair(tb, m, n, k, A.data(), A2.data(), lda, B.data(), ldb, p1.data(), p2.data(),
                      ldc, bias.data(), bias2.data());
            gemm_bias(false, tb, m, n, k, A.data(), lda, B.data(), ldb, bias.data(), s1.data(), ldc);
            gemm_bias(false, tb, m, n, k, A2.data(), lda, B.data(), ldb, bias2.data(), s2.data(), ldc);
          } else {
            gemm_pair(tb, m, n, k, A.data(), A2.data(), lda, B.data(), ldb, p1.data(), p2.data(),
                      ldc);
            gemm(false, tb, m, n, k, 1.0, A.data(), lda, B.data(), ldb, 1.0, s1.data(), ldc);
            gemm(false, tb, m, n, k, 1.0, A2.data(), lda, B.data(), ldb, 1.0, s2.data(), ldc);
          }
          ++cases;
          differ += p1 != s1 || p2 != s2;
        }
  check(differ == 0, "products: pairs equal their two products (" +
                         std::to_string(cases - differ) + " of " + std::to_string(cases) + ")");
}

// libm.hpp's kernels against the C library, bit for bit, at each width the
// CPU runs: for each function 2^22 pseudo-random arguments over the domains
// the likelihoods use and beyond (raw bit patterns among them: NaNs,
// infinities, subnormals) and every double within a few thousand ulps of
// each of its branch boundaries.
static double from_bits(std::uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
static std::uint64_t to_bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}
static std::vector<double> libm_arguments(libm::Fn f) {
  using libm::Fn;
  std::vector<double> x;
  std::uint64_t s = 0x853c49e6748fea9bULL + std::uint64_t(f);
  auto next = [&s]() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  for (std::size_t i = 0; i < (std::size_t(1) << 22); ++i) {
    const std::uint64_t r = next();
    const double u = double(r >> 11) * 0x1.0p-53, sign = (r & 1) ? -1.0 : 1.0;
    const int c = int(i % 5);
    if (c == 4) {  // raw bits
      x.push_back(from_bits(next()));
      continue;
    }
    switch (f) {
      case Fn::exp:
        x.push_back(c == 0 ? -30.0 * u : c == 1 ? 1455.0 * u - 745.0
                    : c == 2 ? -std::ldexp(1.0 + u, int(r % 70) - 60) : -5.0 * u);
        break;
      case Fn::log1p:
        x.push_back(c == 0 ? std::exp(-30.0 * u) : c == 1 ? u
                    : c == 2 ? std::ldexp(u, -int(r % 80)) : 1.0 - 0.6 * u);
        break;
      case Fn::log:
        x.push_back(c == 0 ? 1e-4 + 10.0 * u : c == 1 ? 0.9 + 0.2 * u
                    : c == 2 ? std::ldexp(1.0 + u, int(r % 2046) - 1022) : 1.0 + sign * std::ldexp(u, -int(r % 60)));
        break;
      case Fn::expm1:
        x.push_back(c == 0 ? -0.25 - 39.75 * u : c == 1 ? 1600.0 * u - 800.0
                    : c == 2 ? 2.0 * u - 1.0 : sign * std::ldexp(1.0 + u, int(r % 86) - 80));
        break;
      case Fn::sinh:
        x.push_back(c == 0 ? sign * (0.25 + 29.75 * u) : c == 1 ? sign * (0.25 + 709.75 * u)
                    : c == 2 ? 2.0 * u - 1.0 : sign * std::ldexp(1.0 + u, int(r % 86) - 80));
        break;
    }
  }
  std::vector<double> edges;
  switch (f) {
    case Fn::exp: edges = {0x1.0p-54, 512.0, 708.0, 709.78, 745.13, 1.0, 0x1.0p-30}; break;
    case Fn::log1p:
      edges = {0x1.0p-29, from_bits(0x3fda827a00000000ULL), 1.0, 0x1.0p-20,
               from_bits(0x3ff6a09e00000000ULL) - 1.0, from_bits(0x3ffffffd00000000ULL) - 1.0};
      break;
    case Fn::log:
      edges = {1.0, 0x1.ep-1, 0x1.109p0, 0x1.6p-1, 0x1.6p0, 0x1.0p-1022, 0x1.fffffffffffffp1023, 2.0};
      break;
    case Fn::expm1:
      edges = {0x1.0p-54, from_bits(0x3fd62e4300000000ULL), from_bits(0x3ff0a2b200000000ULL),
               from_bits(0x4043687a00000000ULL), 0.25, 1.0, 20.0 * 0.6931471805599453,
               1.5 * 0.6931471805599453, 2.5 * 0.6931471805599453, 38.5 * 0.6931471805599453};
      break;
    case Fn::sinh:
      edges = {0x1.0p-28, 1.0, 22.0, 512.0, from_bits(0x40862e4200000000ULL), 0.25,
               0.5 * 0.6931471805599453, 1.5 * 0.6931471805599453};
      break;
  }
  for (double b : edges)
    for (double sign : {1.0, -1.0})
      for (long d = -3000; d <= 3000; ++d) x.push_back(sign * from_bits(to_bits(b) + d));
  return x;
}
static void test_libm() {
  using libm::Fn;
  std::vector<int> widths;
#if defined(VAECONV_LIBM_KERNELS)
  if (vmath::simd_level() >= 1) widths.push_back(4);
  if (vmath::simd_level() >= 2) widths.push_back(8);
#endif
  if (widths.empty()) {
    std::printf("skip libm: no kernels (a CPU without AVX2 + FMA, or not GCC)\n");
    return;
  }
  const char* names[] = {"exp", "log1p", "log", "expm1", "sinh"};
  for (Fn f : {Fn::exp, Fn::log1p, Fn::log, Fn::expm1, Fn::sinh}) {
    const std::vector<double> x = libm_arguments(f);
    std::vector<double> a(x.size()), b(x.size());
    const bool has_neg_abs = f == Fn::exp || f == Fn::expm1;
    for (int w : widths) {
      long bad = 0, count = 0;
      for (bool neg_abs : {false, true}) {
        if (neg_abs && !has_neg_abs) break;
        libm::at(f, w, x.data(), a.data(), x.size(), neg_abs);
        libm::at(f, 0, x.data(), b.data(), x.size(), neg_abs);
        for (std::size_t i = 0; i < x.size(); ++i)
          bad += to_bits(a[i]) != to_bits(b[i]) && !(std::isnan(a[i]) && std::isnan(b[i]));
        count += long(x.size());
      }
      check(bad == 0, std::string("libm: ") + names[int(f)] + (has_neg_abs ? " (and of -|x|)" : "") +
                          " at width " + std::to_string(w) + " has the C library's bits on " +
                          std::to_string(count) + " arguments (" + std::to_string(bad) + " differ)");
    }
    std::printf("info libm: %s's kernels of width %d in use (0: the C library's calls)\n",
                names[int(f)], libm::width(f));
  }
}

int main() {
  test_libm();
  test_products();
  test_product_pairs();
  test_gradients();
  test_likelihood_outputs();
  test_continuous_bernoulli();
  test_likelihood_bits();
  test_rng();
  test_sums();
  test_names();
  std::printf("%s: %d failure%s\n", failures ? "FAILED" : "passed", failures,
              failures == 1 ? "" : "s");
  return failures == 0 ? 0 : 1;
}
