// Value and gradient of an objective over a set of data columns, computed in
// chunks of a fixed number of rows. Chunks may run on any thread; their
// gradients are summed in chunk order, so the result never depends on the
// number of threads.
#pragma once

#include <algorithm>
#include <armadillo>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "data.hpp"
#include "model.hpp"
#include "monitor.hpp"
#include "objective.hpp"
#include "rng.hpp"

namespace vaeconv {

// n doubles, zeroed, whose first is on a 64-byte boundary (a cache line):
// the products' tiles then read and write a gradient block that starts at a
// multiple of 8 doubles from it in whole lines, not lines split in two
// (about 6% of a 784 x 400 weight gradient's time on this project's host).
class AlignedVec {
 public:
  void zeros(std::size_t n) {
    store_.zeros(n + 8);
    const auto a = reinterpret_cast<std::uintptr_t>(store_.memptr());
    off_ = ((64 - a % 64) % 64) / sizeof(double);
    n_ = n;
  }
  void zeros() { std::fill(memptr(), memptr() + n_, 0.0); }
  double* memptr() { return store_.memptr() + off_; }
  const double* memptr() const { return store_.memptr() + off_; }
  std::size_t size() const { return n_; }

 private:
  arma::vec store_;
  std::size_t off_ = 0, n_ = 0;
};

// Runs f(0), ..., f(n - 1), possibly concurrently; implemented by the glue.
// concurrency() is how many run at once (it may size work queues, never the
// way work is split).
class Parallel {
 public:
  virtual ~Parallel() = default;
  virtual void run(std::size_t n, const std::function<void(std::size_t)>& f) = 0;
  virtual std::size_t concurrency() const { return 1; }
};

class Serial : public Parallel {
 public:
  void run(std::size_t n, const std::function<void(std::size_t)>& f) override {
    for (std::size_t i = 0; i < n; ++i) f(i);
  }
};

// Runs f(b, begin, end) over the fixed blocks [begin, end) of 0..n, in
// parallel; the blocks depend on n only, never on the thread count. (The
// task reaches Parallel::run through std::ref: a std::function holds a
// reference inline, so nothing is allocated per call.)
constexpr std::size_t param_block = 32768;  // 256 KiB of doubles

inline std::size_t n_param_blocks(std::size_t n) {
  return (n + param_block - 1) / param_block;
}

template <class F>
inline void for_blocks(Parallel& parallel, std::size_t n, const F& f) {
  constexpr std::size_t block = param_block;
  const std::size_t n_blocks = n_param_blocks(n);
  const auto task = [&](std::size_t b) { f(b, b * block, std::min(n, (b + 1) * block)); };
  parallel.run(n_blocks, std::cref(task));
}

// Sums of squares of scale * g over [begin, min(end, split)) and the rest of
// block b, into part[2b] and part[2b + 1].
inline void block_sq_sums(const double* g, std::size_t b, std::size_t begin, std::size_t end,
                          std::size_t split, double scale, double* part) {
  const std::size_t mid = std::min(end, std::max(begin, split));
  part[2 * b] = vmath::sum_sq_scaled(g + begin, mid - begin, scale);
  part[2 * b + 1] = vmath::sum_sq_scaled(g + mid, end - mid, scale);
}

// The squared norms of scale * grad over [0, split) and [split, p) by
// parameter block (part: 2 per block), made by Engine::run in its last pass
// over grad when there is one (more than one chunk); made = false otherwise.
struct GradNorms {
  double scale = 1.0;
  std::size_t split = 0;
  std::vector<double> part;
  bool made = false;
};

// The squared norm over [begin, end) of the gradient of a mean over n rows,
// from grad, the gradient of their sum: |grad / n|^2.
inline double mean_grad_norm_sq(const double* grad, std::size_t begin, std::size_t end,
                                std::size_t n) {
  return vmath::sum_sq(grad + begin, end - begin) / (double(n) * double(n));
}

// How the noise of a data column is keyed: by its position in the set
// (minibatch slot) or by its row in the data.
enum class NoiseKey { position, row };

class Engine {
 public:
  // At most this many chunks are in flight (each with its workspace and
  // gradient buffer). A round holds min(chunks_per_round, concurrency)
  // chunks: since each chunk's gradient is summed into grad in chunk order
  // whatever the rounds, the result does not depend on it.
  static constexpr std::size_t chunks_per_round = 16;

  // chunk_rows: rows per chunk, or 0 to choose them (rows_per_chunk()).
  Engine(const Vae& model, const ObjectiveSpec& obj, DataView data,
         const KeyedRng& rng, Parallel& parallel, std::size_t chunk_rows)
      : model_(model), obj_(obj), data_(data), rng_(rng), parallel_(parallel),
        chunk_rows_(chunk_rows), ws_(chunks_per_round), grads_(chunks_per_round) {}

  // Sums of the objective over the columns idx[0..count) of the data, with
  // `samples` replicates of the objective's K draws per column (K given
  // explicitly, so that it may follow a schedule), keyed by (stream,
  // iteration, key); adds the gradient of minus the sum to grad when given.
  //
  // The data are cut into chunks of rows_per_chunk() rows. The first chunk
  // adds its gradient straight into grad; every other chunk fills a zeroed
  // buffer of its own, and the buffers are added to grad in chunk order (in
  // parallel over fixed blocks of parameters) and zeroed again. Each
  // element of grad is therefore ((grad + g_0) + g_1) + ..., whatever the
  // threads, and the sums are ((0 + s_0) + s_1) + ....
  //
  // On one thread, when every chunk adds at most one value to each element
  // of the gradient (one_pass() below), the chunks add theirs straight into
  // grad, in order: grad + (0 + v) is grad + v (a sum that starts from +0
  // is never -0, and neither is grad, which starts from +0), so the bits
  // are the same, without the buffers and their pass. A task then takes
  // several chunks at once (its products over more columns, fewer calls):
  // each is a unit of the task (Workspace::unit), whose sums and gradient
  // terms are made unit by unit, as a chunk's.
  ChunkSums run(const double* par, const std::uint32_t* idx, std::size_t count,
                std::size_t K, std::size_t samples, Stream stream,
                std::uint64_t iteration, NoiseKey key, double* grad,
                GradNorms* norms = nullptr) {
    const std::size_t p = model_.n_params();
    if (norms != nullptr) {
      norms->made = false;
      norms->part.assign(2 * n_param_blocks(p), 0.0);
    }
    const std::size_t S = draws_per_point(obj_, K, samples);
    const std::size_t rows = rows_per_chunk(S);
    const std::size_t n_units = (count + rows - 1) / rows;
    const std::size_t dz = model_.spec().dz;
    const bool direct = one_pass(rows * S);
    // Chunks per task: as many as make about task_columns columns of draws,
    // when a chunk's columns are even. (A product over an odd number of
    // columns sums its last column in four chains (gemm.hpp): a task's
    // products then keep the chunks' bits only if no chunk but the last,
    // which may be shorter, has an odd number.)
    const std::size_t group =
        direct && (rows * S) % 2 == 0 ? std::max<std::size_t>(1, task_columns / (rows * S)) : 1;
    const std::size_t task_rows = group * rows;
    const std::size_t n_tasks = (n_units + group - 1) / group;
    const std::size_t per_round =  // 1 when direct (one thread)
        std::max<std::size_t>(1, std::min(chunks_per_round, parallel_.concurrency()));
    ChunkSums total;
    stopped_ = false;
    for (std::size_t first = 0; first < n_tasks; first += per_round) {
      const std::size_t round = std::min(per_round, n_tasks - first);
      // chunk 0, and every chunk when direct, adds into grad itself
      const std::size_t k0 = direct ? round : first == 0 ? 1 : 0;
      // The chunks' gradient buffers (p doubles each, kept zero after use)
      // are allocated here, on the calling thread, not in the tasks: memory
      // a TBB worker allocates comes from that worker's malloc arena (glibc
      // gives each thread its own) and, freed when the engine goes, stays
      // there, out of reach of the caller's (R's) later allocations: a fit
      // of the 784-400-20 model on two threads then raised the process's
      // peak by 5 MiB more.
      if (grad != nullptr)
        for (std::size_t k = k0; k < round; ++k)
          if (grads_[k].size() != p) grads_[k].zeros(p);
      const auto task = [&](std::size_t k) {
        const std::size_t c = first + k;
        const std::size_t begin = c * task_rows;
        const std::size_t m = std::min(task_rows, count - begin);
        Workspace& ws = ws_[k];
        ws.unit = group > 1 ? rows : 0;
        ws.x.set_size(data_.d(), m);
        data_.gather(idx + begin, m, ws.x.memptr());
        ws.eps.set_size(dz, m * S);
        // Column i's S draws are samples id_i * stride + offset, ...: a run of
        // columns whose samples follow on (consecutive keys, stride S: every
        // minibatch by position, a full-data pass over rows in order) is
        // drawn in one call, its vectors filled across the columns (the same
        // numbers as a call per column: every pair is drawn alone).
        const std::size_t stride = key_stride_ > 0 ? key_stride_ : S;
        const auto id = [&](std::size_t i) -> std::uint64_t {
          return key == NoiseKey::row ? idx[begin + i] : begin + i;
        };
        for (std::size_t i = 0; i < m;) {
          std::size_t j = i + 1;
          if (stride == S)
            while (j < m && id(j) == id(i) + (j - i)) ++j;
          rng_.normals(stream, iteration, id(i) * stride + key_offset_, (j - i) * S,
                       ws.eps.colptr(i * S), dz);
          i = j;
        }
        double* g = nullptr;
        if (grad != nullptr) {
          g = k < k0 ? grad : grads_[k].memptr();
        }
        chunk_objective(model_, obj_, par, K, samples, ws, g);
      };
      parallel_.run(round, std::cref(task));
      for (std::size_t k = 0; k < round; ++k)
        for (const ChunkSums& u : ws_[k].unit_sums) total += u;
      if (grad != nullptr && round > k0) {
        const bool last = first + round >= n_tasks && norms != nullptr;
        // One pass per buffer: grad += g_k and g_k = 0, the last buffer's
        // pass making the block's squared norms too when they are asked for.
        for_blocks(parallel_, p, [&](std::size_t blk, std::size_t b, std::size_t e) {
          const std::size_t k_end = last ? round - 1 : round;
          for (std::size_t k = k0; k < k_end; ++k)
            vmath::add_and_clear(grad + b, grads_[k].memptr() + b, e - b);
          if (last) {
            double* gk = grads_[round - 1].memptr();
            const std::size_t mid = std::min(e, std::max(b, norms->split));
            double* part = norms->part.data();
            part[2 * blk] = vmath::add_clear_sum_sq_scaled(grad + b, gk + b, mid - b, norms->scale);
            part[2 * blk + 1] =
                vmath::add_clear_sum_sq_scaled(grad + mid, gk + mid, e - mid, norms->scale);
          }
        });
        if (last) norms->made = true;
      }
      if (monitor_ != nullptr && first + round < n_tasks) {
        if (report_) monitor_->progress(first + round, n_tasks, NAN);
        if (monitor_->stop_requested()) {
          stopped_ = true;
          break;
        }
      }
    }
    return total;
  }

  // The noise of a column with key id is draws id * stride + offset, ...,
  // of which run() uses the first draws_per_point(); stride 0 (the default)
  // is draws_per_point() and offset 0. A window lets a run with fewer
  // replicates use the same draws as the first replicates of a larger run.
  void noise_window(std::size_t stride, std::size_t offset) {
    key_stride_ = stride;
    key_offset_ = offset;
  }

  // Stop checks: with a monitor, run() asks it between rounds of chunks
  // whether to stop (and, with report, reports the chunks done), and
  // returns at once when it should: the sums and the gradient then cover
  // the chunks before it, and stopped() is true until the next run().
  void watch(Monitor* monitor, bool report = true) {
    monitor_ = monitor;
    report_ = report;
  }
  bool stopped() const { return stopped_; }

  // Rows per chunk for S draws per row: chunk_rows when set (non-zero);
  // else chunks of about 2^16 values in the matrices of the widest layer,
  // between 1 and 64 rows: 64 rows for one draw per row up to width 1024,
  // 13 rows for 50 draws at width 100 (where per-chunk matrices stay in
  // the core's cache). A function of the model and S only, never of the
  // threads.
  std::size_t rows_per_chunk(std::size_t S) const {
    if (chunk_rows_ > 0) return chunk_rows_;
    const ModelSpec& m = model_.spec();
    std::size_t width = std::max(m.dx, m.dz);
    for (std::size_t h : m.hidden) width = std::max(width, h);
    const std::size_t rows = (std::size_t(1) << 16) / (std::max<std::size_t>(S, 1) * width);
    return std::min<std::size_t>(64, std::max<std::size_t>(1, rows));
  }

  // Whether the chunks, of `columns` columns of draws each, add their
  // gradients straight into grad (see run()): on one thread, through the
  // core's own products (gemm.hpp), whose weight gradient over at most 256
  // columns is one block of sums added once to each element (a BLAS may
  // add term by term), with every other gradient term a sum added once per
  // chunk; not for the linear VAE's exact ELBO (linear.hpp, whose products
  // are Armadillo's).
  bool one_pass(std::size_t columns) const {
    return parallel_.concurrency() == 1 && gemm_uses_kernels() && !obj_.exact &&
           columns > 0 && columns <= 256;
  }
  // Columns of draws a task takes at once when the chunks go straight into
  // grad: two chunks of the 64 rows of one draw each.
  static constexpr std::size_t task_columns = 128;

 private:
  const Vae& model_;
  const ObjectiveSpec& obj_;
  DataView data_;
  const KeyedRng& rng_;
  Parallel& parallel_;
  std::size_t chunk_rows_;
  std::size_t key_stride_ = 0, key_offset_ = 0;
  std::vector<Workspace> ws_;
  std::vector<AlignedVec> grads_;
  Monitor* monitor_ = nullptr;
  bool report_ = true;
  bool stopped_ = false;
};

// The full-data squared gradient norms of a mean over the n columns idx,
// from grad, the gradient of minus their sum that engine.run() made with
// `samples` replicates of K draws per column (keyed by stream, iteration,
// key): the squared norm `all` = |grad / n|^2 over [0, p) and its parts
// `theta` over [0, split) and `phi` over [split, p), and `unbiased`, the
// inner product of the gradients of the first h = samples / 2 replicates
// and of the other samples - h. Those are independent given the
// parameters, each an unbiased estimate of the gradient, so the inner
// product is an unbiased estimate of the squared norm of the gradient,
// where `all` is biased upwards by the estimate's variance. The first half
// is one more run over the same draws (half is its buffer); the second is
// grad minus it. NaN with one replicate; `all` under the exact ELBO.
struct FullNorms {
  double all = NAN, theta = NAN, phi = NAN, unbiased = NAN;
};

inline FullNorms full_norms(Engine& engine, const ObjectiveSpec& obj, const double* par,
                            const std::uint32_t* idx, std::size_t n, std::size_t K,
                            std::size_t samples, Stream stream, std::uint64_t iteration,
                            NoiseKey key, const double* grad, std::size_t p,
                            std::size_t split, arma::vec& half) {
  FullNorms out;
  out.all = mean_grad_norm_sq(grad, 0, p, n);
  out.theta = mean_grad_norm_sq(grad, 0, split, n);
  out.phi = mean_grad_norm_sq(grad, split, p, n);
  if (obj.exact) {
    out.unbiased = out.all;
    return out;
  }
  if (samples < 2) return out;
  const std::size_t h = samples / 2;
  half.zeros(p);
  engine.noise_window(draws_per_point(obj, K, samples), 0);
  engine.run(par, idx, n, K, h, stream, iteration, key, half.memptr());
  engine.noise_window(0, 0);
  // grad is minus the sum over columns of the mean over all the replicates,
  // half of the mean over the first h: the mean over the other ones is
  // (samples grad - h half) / (samples - h).
  const double S = double(samples), a = double(h), b = S - a;
  double dot = 0.0;
  for (std::size_t i = 0; i < p; ++i) {
    const double first = half[i];
    dot += first * ((S * grad[i] - a * first) / b);
  }
  out.unbiased = dot / (double(n) * double(n));
  return out;
}

}  // namespace vaeconv
