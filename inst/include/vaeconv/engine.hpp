// Value and gradient of an objective over a set of data columns, computed in
// chunks of a fixed number of rows. Chunks may run on any thread; their
// gradients are summed in chunk order, so the result never depends on the
// number of threads.
#pragma once

#include <armadillo>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "model.hpp"
#include "objective.hpp"
#include "rng.hpp"

namespace vaeconv {

// Runs f(0), ..., f(n - 1), possibly concurrently; implemented by the glue.
class Parallel {
 public:
  virtual ~Parallel() = default;
  virtual void run(std::size_t n, const std::function<void(std::size_t)>& f) = 0;
};

class Serial : public Parallel {
 public:
  void run(std::size_t n, const std::function<void(std::size_t)>& f) override {
    for (std::size_t i = 0; i < n; ++i) f(i);
  }
};

// How the noise of a data column is keyed: by its position in the set
// (minibatch slot) or by its row in the data.
enum class NoiseKey { position, row };

class Engine {
 public:
  // Chunks handled per parallel round; a constant, not a thread count.
  static constexpr std::size_t chunks_per_round = 16;

  Engine(const GaussianVae& model, const ObjectiveSpec& obj, const arma::mat& xt,
         const KeyedRng& rng, Parallel& parallel, std::size_t chunk_rows)
      : model_(model), obj_(obj), xt_(xt), rng_(rng), parallel_(parallel),
        chunk_rows_(chunk_rows), ws_(chunks_per_round), grads_(chunks_per_round),
        sums_(chunks_per_round) {}

  // Sums of the objective over the columns idx[0..count) of the data, with
  // `samples` replicates of the objective's K draws per column (K given
  // explicitly, so that it may follow a schedule), keyed by (stream,
  // iteration, key); adds the gradient of minus the sum to grad when given.
  ChunkSums run(const double* par, const std::uint32_t* idx, std::size_t count,
                std::size_t K, std::size_t samples, Stream stream,
                std::uint64_t iteration, NoiseKey key, double* grad) {
    const std::size_t p = model_.n_params();
    const std::size_t n_chunks = (count + chunk_rows_ - 1) / chunk_rows_;
    const std::size_t S = draws_per_point(obj_, K, samples);
    const std::size_t dz = model_.spec().dz;
    ChunkSums total;
    for (std::size_t first = 0; first < n_chunks; first += chunks_per_round) {
      const std::size_t round = std::min(chunks_per_round, n_chunks - first);
      parallel_.run(round, [&](std::size_t k) {
        const std::size_t c = first + k;
        const std::size_t begin = c * chunk_rows_;
        const std::size_t m = std::min(chunk_rows_, count - begin);
        Workspace& ws = ws_[k];
        ws.x.set_size(xt_.n_rows, m);
        ws.eps.set_size(dz, m * S);
        for (std::size_t i = 0; i < m; ++i) {
          const std::size_t pos = begin + i;
          const std::uint32_t row = idx[pos];
          std::copy(xt_.colptr(row), xt_.colptr(row) + xt_.n_rows, ws.x.colptr(i));
          const std::uint64_t id = key == NoiseKey::row ? row : pos;
          for (std::size_t s = 0; s < S; ++s)
            rng_.normals(stream, iteration, id * S + s, ws.eps.colptr(i * S + s), dz);
        }
        double* g = nullptr;
        if (grad != nullptr) {
          grads_[k].zeros(p);
          g = grads_[k].memptr();
        }
        sums_[k] = chunk_objective(model_, obj_, par, K, samples, ws, g);
      });
      for (std::size_t k = 0; k < round; ++k) {
        total += sums_[k];
        if (grad != nullptr) {
          const double* gk = grads_[k].memptr();
          for (std::size_t i = 0; i < p; ++i) grad[i] += gk[i];
        }
      }
    }
    return total;
  }

 private:
  const GaussianVae& model_;
  const ObjectiveSpec& obj_;
  const arma::mat& xt_;
  const KeyedRng& rng_;
  Parallel& parallel_;
  std::size_t chunk_rows_;
  std::vector<Workspace> ws_;
  std::vector<arma::vec> grads_;
  std::vector<ChunkSums> sums_;
};

}  // namespace vaeconv
