// Diagnostics of a fitted model: the importance-sampled log-likelihood of
// data rows and independent draws of the minibatch gradient (for its
// signal-to-noise ratio).
#pragma once

#include <armadillo>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "data.hpp"
#include "engine.hpp"
#include "iwae.hpp"
#include "model.hpp"
#include "monitor.hpp"
#include "objective.hpp"
#include "rng.hpp"

namespace vaeconv {

// Columns per product in log_likelihood_rows(): a multiple of 64 with about
// 2^18 values in the matrices of the widest layer (2 MiB), between 64 and
// 4096.
inline std::size_t likelihood_chunk_columns(const ModelSpec& m) {
  std::size_t width = std::max(m.dx, m.dz);
  for (std::size_t h : m.hidden) width = std::max(width, h);
  const std::size_t c = (std::size_t(1) << 18) / std::max<std::size_t>(width, 1) / 64 * 64;
  return std::min<std::size_t>(4096, std::max<std::size_t>(64, c));
}

// Lays the draws a..b-1 of a set of rows with S draws each into the columns
// of ws, as the diagnostics decode them in pieces: column c - a holds draw
// c % S of row i = c / S, that is row i's data (column i of x), its q(z | x)
// (column i of q, made by the encoder) and its noise, keyed by (stream,
// iteration, first(i) + s); a row's draws in the piece are drawn at once, as
// the engine draws a row's S.
template <class First>
inline void lay_draws(const Encoder& enc, const arma::mat& x, const Workspace& q,
                      std::size_t S, std::size_t a, std::size_t b, const KeyedRng& rng,
                      Stream stream, std::uint64_t iteration, const First& first,
                      Workspace& ws) {
  const std::size_t dx = x.n_rows, dz = enc.latent_dim(), nc = b - a;
  ws.x.set_size(dx, nc);
  ws.eps.set_size(dz, nc);
  enc.reserve_columns(ws, nc);
  for (std::size_t col = a; col < b;) {
    const std::size_t i = col / S, s0 = col % S;
    const std::size_t end = std::min(b, (i + 1) * S);
    rng.normals(stream, iteration, first(i) + s0, end - col, ws.eps.colptr(col - a), dz);
    for (std::size_t c = col; c < end; ++c) {
      std::copy(x.colptr(i), x.colptr(i) + dx, ws.x.colptr(c - a));
      enc.copy_column(q, i, ws, c - a);
    }
    col = end;
  }
}

// log p(x_i) for every column x_i of xt by importance sampling with q(z|x_i)
// as the proposal and L draws: est[i] = log (1/L) sum_s w_is. var[i] is the
// delta-method variance of est[i], var(w) / (L mean(w)^2) with the sample
// variance of the weights, which in normalised weights is
// (L sum_s wbar_s^2 - 1) / (L - 1); ess[i] is the effective sample size of
// the weights as a fraction of L, 1 / (L sum_s wbar_s^2). The draws of row i
// are keyed by (Stream::estimate, iteration 0, sample i * L + s), so the
// result does not depend on the thread count or on the other rows.
//
// The rows are taken in tasks of max(1, 4096 / L) rows (their L draws each
// are the columns i * L + s of the task), and a task's encoder and decoder
// run over its columns in pieces of likelihood_chunk_columns() columns, cut
// at multiples of that number from the task's first column. Memory is
// therefore a few pieces' activations per thread and the task's log
// weights (8 bytes a draw), whatever L. The BLAS computes a column of a
// product the same way whether the product has that piece's columns or the
// whole task's (its kernels take the columns in groups that divide 64, and
// the last, partial group ends the last piece as it ended the task), so the
// result is the one of one product over the task, to the bit.
//
// Returns the number of rows done: n, or fewer when the monitor asked to
// stop (checked between rounds of tasks and between the pieces of a task;
// est, var and ess then hold the rows before the returned count).
inline std::size_t log_likelihood_rows(const Vae& model, const double* par,
                                       const arma::mat& xt, std::size_t L,
                                       const KeyedRng& rng, Parallel& parallel, double* est,
                                       double* var, double* ess,
                                       Monitor& monitor = no_monitor()) {
  const std::size_t n = xt.n_cols;
  // Rows per task: about 4096 draws, at least one row.
  const std::size_t rows = std::max<std::size_t>(1, 4096 / L);
  const std::size_t n_tasks = (n + rows - 1) / rows;
  const std::size_t per_round =
      std::max<std::size_t>(1, std::min(Engine::chunks_per_round, parallel.concurrency()));
  const std::size_t C = likelihood_chunk_columns(model.spec());
  // Per task in flight: a workspace for the pieces, the encoder's output
  // for the task's rows, and the task's log weights.
  struct Task {
    Workspace ws, q;  // q: the encoder's q(z | x_i) of the task's rows
    arma::vec lw, wbar;
  };
  const Encoder& enc = model.encoder();
  std::vector<Task> tasks(per_round);
  std::atomic<bool> stopped{false};
  std::size_t done = 0;
  for (std::size_t first = 0; first < n_tasks; first += per_round) {
    const std::size_t round = std::min(per_round, n_tasks - first);
    parallel.run(round, [&](std::size_t k) {
      const std::size_t begin = (first + k) * rows;
      const std::size_t m = std::min(rows, n - begin);
      Task& t = tasks[k];
      Workspace& ws = t.ws;
      // The task's rows, read in place, and their q(z | x_i).
      const arma::mat rows_x(const_cast<double*>(xt.colptr(begin)), xt.n_rows, m, false, true);
      enc.reserve_columns(t.q, m);
      for (std::size_t a = 0; a < m; a += C) {
        const std::size_t b = std::min(m, a + C);
        ws.x = xt.cols(begin + a, begin + b - 1);
        model.encode(par, ws);
        for (std::size_t i = a; i < b; ++i) enc.copy_column(ws, i - a, t.q, i);
      }
      // The log weights of the task's m * L draws, a piece at a time: each
      // column of the piece holds its draw's row (x and q(z | x)), so the
      // model's own functions make its z, decoder output and log weight,
      // whatever the encoder and the likelihood.
      const std::size_t N = m * L;
      t.lw.set_size(N);
      for (std::size_t a = 0; a < N; a += C) {
        if (stopped.load(std::memory_order_relaxed) || monitor.stop_requested()) {
          stopped.store(true, std::memory_order_relaxed);
          return;
        }
        lay_draws(enc, rows_x, t.q, L, a, std::min(N, a + C), rng, Stream::estimate, 0,
                  [&](std::size_t i) { return std::uint64_t(begin + i) * L; }, ws);
        model.sample_z(1, ws);
        model.decode(par, ws.z, ws);
        log_weights(model, par, 1, ws);
        std::copy(ws.lw.begin(), ws.lw.end(), t.lw.begin() + a);
      }
      t.wbar.set_size(L);
      for (std::size_t i = 0; i < m; ++i) {
        double* wb = t.wbar.memptr();
        est[begin + i] = vr_bound(t.lw.memptr() + i * L, L, 0.0, wb);
        double s2 = 0.0;
        for (std::size_t s = 0; s < L; ++s) s2 += wb[s] * wb[s];
        var[begin + i] = L > 1 ? (double(L) * s2 - 1.0) / double(L - 1) : NAN;
        ess[begin + i] = 1.0 / (double(L) * s2);
      }
    });
    if (stopped.load()) return done;
    done = std::min(n, (first + round) * rows);
    monitor.progress(done, n, NAN);
    if (done < n && monitor.stop_requested()) return done;
  }
  return done;
}

// The value of the sampled ELBO (no gradient) over the rows idx[0..count) of
// data with `samples` draws per row: the sums Engine::run() returns for the
// ELBO with NoiseKey::row and no gradient, to the bit, in memory that does
// not grow with `samples`. The chunks of rows, their rounds and the order in
// which their sums are added are the engine's (engine.rows_per_chunk());
// inside a chunk, the encoder runs over its rows at once, as in the
// engine, and the decoder over its rows' draws in pieces of
// likelihood_chunk_columns() columns, cut at multiples of that number from
// the chunk's first column (see log_likelihood_rows() for why a column's
// values do not depend on the cut). Each piece's squared residuals are added
// to their row's reconstruction term in draw order, as elbo() (elbo.hpp)
// adds them, and the rows' terms are combined as there.
//
// Checks the engine's monitor (Engine::watch()) between rounds of chunks and
// between pieces; on a stop, sets *stopped and returns the sums so far.
inline ChunkSums elbo_value_rows(const Vae& model, const ObjectiveSpec& obj,
                                 const double* par, DataView data,
                                 const std::uint32_t* idx, std::size_t count,
                                 std::size_t samples, Stream stream, std::uint64_t iteration,
                                 const KeyedRng& rng, Parallel& parallel,
                                 std::size_t chunk_rows, Monitor& monitor, bool* stopped) {
  const std::size_t S = samples, dx = model.spec().dx;
  Engine engine(model, obj, data, rng, parallel, chunk_rows);
  const std::size_t rows = engine.rows_per_chunk(S);
  const std::size_t n_chunks = (count + rows - 1) / rows;
  const std::size_t per_round =
      std::max<std::size_t>(1, std::min(Engine::chunks_per_round, parallel.concurrency()));
  const std::size_t C = likelihood_chunk_columns(model.spec());
  const Encoder& enc = model.encoder();
  struct Chunk {
    Workspace enc, dec;
    std::vector<double> rec;
    ChunkSums sums;
  };
  std::vector<Chunk> chunks(per_round);
  std::atomic<bool> stop{false};
  ChunkSums total;
  *stopped = false;
  for (std::size_t first = 0; first < n_chunks; first += per_round) {
    const std::size_t round = std::min(per_round, n_chunks - first);
    parallel.run(round, [&](std::size_t k) {
      const std::size_t begin = (first + k) * rows;
      const std::size_t m = std::min(rows, count - begin);
      Chunk& ch = chunks[k];
      ch.enc.x.set_size(dx, m);
      data.gather(idx + begin, m, ch.enc.x.memptr());
      model.encode(par, ch.enc);
      ch.rec.assign(m, 0.0);
      Workspace& ws = ch.dec;
      const std::size_t N = m * S;
      for (std::size_t a = 0; a < N; a += C) {
        if (stop.load(std::memory_order_relaxed) || monitor.stop_requested()) {
          stop.store(true, std::memory_order_relaxed);
          return;
        }
        const std::size_t b = std::min(N, a + C);
        lay_draws(enc, ch.enc.x, ch.enc, S, a, b, rng, stream, iteration,
                  [&](std::size_t i) { return std::uint64_t(idx[begin + i]) * S; }, ws);
        model.sample_z(1, ws);
        model.decode(par, ws.z, ws);
        model.likelihood().loglik(par, 1, ws, nullptr);
        // As elbo() adds a row's draws.
        for (std::size_t col = a; col < b; ++col) ch.rec[col / S] += ws.ll[col - a];
      }
      ChunkSums sums;
      for (std::size_t i = 0; i < m; ++i) {
        const double rec = ch.rec[i] / double(S);
        const double kl = enc.kl_column(ch.enc, i);
        sums.reconstruction += rec;
        sums.kl += kl;
        sums.objective += rec - obj.beta * kl;
      }
      ch.sums = sums;
    });
    if (stop.load()) {
      *stopped = true;
      return total;
    }
    for (std::size_t k = 0; k < round; ++k) total += chunks[k].sums;
    if (first + round < n_chunks) {
      monitor.progress(first + round, n_chunks, NAN);
      if (monitor.stop_requested()) {
        *stopped = true;
        return total;
      }
    }
  }
  return total;
}

// `draws` independent minibatch gradients of the mean objective (to be
// maximised) at par, the columns of out (p x draws). Draw d takes the first
// B entries of a permutation of the rows keyed by (Stream::estimate_batch, d)
// and the objective's K draws per row keyed by (Stream::estimate, d + 1,
// minibatch slot), so the draws are independent, reproducible and free of the
// thread count. Returns the number of draws made: `draws`, or fewer when the
// monitor asked to stop (checked between draws and between the rounds of
// chunks of a draw).
inline std::size_t gradient_draws(const Vae& model, const ObjectiveSpec& obj,
                                  const double* par, const arma::mat& xt, std::size_t B,
                                  std::size_t K, std::size_t draws, const KeyedRng& rng,
                                  Parallel& parallel, std::size_t chunk_rows, arma::mat& out,
                                  Monitor& monitor = no_monitor()) {
  const std::size_t n = xt.n_cols, p = model.n_params();
  Engine engine(model, obj, xt, rng, parallel, chunk_rows);
  engine.watch(&monitor, false);
  std::vector<std::uint32_t> perm(n);
  out.set_size(p, draws);
  for (std::size_t d = 0; d < draws; ++d) {
    rng.permutation(Stream::estimate_batch, d, perm.data(), n);
    double* g = out.colptr(d);
    std::fill(g, g + p, 0.0);
    engine.run(par, perm.data(), B, K, 1, Stream::estimate, d + 1, NoiseKey::position, g);
    if (engine.stopped()) return d;
    for (std::size_t i = 0; i < p; ++i) g[i] *= -1.0 / double(B);
    monitor.progress(d + 1, draws, NAN);
    if (d + 1 < draws && monitor.stop_requested()) return d + 1;
  }
  return draws;
}

}  // namespace vaeconv
