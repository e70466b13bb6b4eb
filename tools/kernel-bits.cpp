// Writes what the core's elementwise kernels return on a fixed set of
// arguments to one binary file, at each SIMD level the CPU runs (two lanes,
// AVX2, AVX-512): the activations and their derivatives, the exact kernels,
// log_positive(), the normals and the four optimisers' steps. Built twice by
// tools/kernel-bits.sh, from two versions of inst/include, the two files must
// be equal byte for byte when a change keeps the bits. (The C library's
// functions that libm.hpp follows are compared with the C library itself by
// cpp-tests; the products' order is checked there too.)
#include <vaeconv/vaeconv.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace vaeconv;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kernel-bits OUTPUT\n");
    return 2;
  }
  FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr) return 1;
  const std::size_t N = std::size_t(1) << 21;
  std::vector<double> x(N), y(N), g(N);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  // Normals at nine scales, and every 97th argument one of the values where
  // the kernels change branch or saturate, or a special value.
  const double scales[] = {1e-9, 0.01, 0.3, 1, 3, 10, 30, 300, 800};
  const double edges[] = {0.0,   -0.0,    1e-310, -1e-310, INFINITY, -INFINITY, NAN,
                          0.625, -0.625,  22,     -22,     708,      -708,      709.78,
                          -709.78, 746,   -746,   1e300,   -1e300};
  const std::size_t n_edges = sizeof edges / sizeof edges[0];
  for (std::size_t i = 0; i < N; ++i)
    x[i] = i % 97 == 0 ? edges[(i / 97) % n_edges] : normal(rng) * scales[i % 9];
  auto out = [&](const double* v, std::size_t n) { std::fwrite(v, sizeof(double), n, f); };
  for (int level : {0, 1, 2}) {
    vmath::simd_override() = level;  // capped at what the CPU runs
    for (int k = 0; k < 6; ++k) {
      Activation a;
      a.kind = ActivationKind(k);
      a.s = 2.5;
      a.s1 = -1.0;
      a.s2 = 3.0;
      a.apply(x.data(), y.data(), N);
      out(y.data(), N);
      std::fill(g.begin(), g.end(), 1.5);
      a.backward(x.data(), y.data(), g.data(), N);
      out(g.data(), N);
    }
    std::vector<double> pos(x);
    for (double& v : pos) v = std::fabs(v);
    for (int k = 0; k < 6; ++k) {  // sqrt and log_normal on |x|
      std::fill(y.begin(), y.end(), 1.25);
      detail::exact(detail::ExactKernel(k), k == 2 || k == 3 ? pos.data() : x.data(), y.data(),
                    N);
      out(y.data(), N);
    }
    log_positive(pos.data(), y.data(), N);
    out(y.data(), N);
    const KeyedRng keyed(99);
    keyed.normals(Stream::train, 3, 5, 1000, y.data(), 7);
    out(y.data(), 7000);
    keyed.normals(Stream::train, 4, 0, 1, y.data(), 100001);
    out(y.data(), 100001);
    for (int kind = 0; kind < 4; ++kind)
      for (int bounded = 0; bounded < 2; ++bounded) {
        OptimizerSpec o;
        o.kind = OptimizerKind(kind);
        o.momentum = 0.9;
        if (bounded) o.bound = 0.5;
        const std::size_t p = 100003;
        OptimizerState st;
        st.reset(p);
        std::vector<double> w(x.begin(), x.begin() + p), grad(x.begin() + 7, x.begin() + 7 + p);
        for (double& v : w)
          if (!std::isfinite(v)) v = 0.1;
        for (double& v : grad)
          if (!std::isfinite(v)) v = 0.2;
        const std::vector<double> w0(w);
        double change = 0.0;
        for (int it = 1; it <= 3; ++it)
          change += optimizer_step(o, it, w.data(), grad.data(), st, 0, p, w0.data(), 0.5);
        out(w.data(), p);
        out(&change, 1);
        out(st.m.memptr(), p);
        out(st.v.memptr(), p);
      }
  }
  return std::fclose(f) == 0 ? 0 : 1;
}
