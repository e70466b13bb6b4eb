// What a chunk of data columns returns, and the units its sums are made in.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace vaeconv {

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

// Calls f(begin, end) on the units [begin, end) of n columns, `unit`
// columns each (the last one may be shorter), in order; on all n at once
// when unit is 0. A task of the engine (engine.hpp) may hold several of
// its chunks, each then a unit: every sum over columns, and every addition
// to the parameters' gradient, is made unit by unit, as if each unit were
// a chunk of its own.
template <class F>
inline void for_units(std::size_t n, std::size_t unit, const F& f) {
  if (unit == 0 || unit >= n) {
    f(std::size_t(0), n);
    return;
  }
  for (std::size_t b = 0; b < n; b += unit) f(b, std::min(n, b + unit));
}

// The sums of each unit of n columns, f(begin, end) (for_units()), into
// `each` in unit order; returns their total, ((0 + s_0) + s_1) + ....
template <class F>
inline ChunkSums sum_units(std::size_t n, std::size_t unit, std::vector<ChunkSums>& each,
                           const F& f) {
  each.clear();
  ChunkSums total;
  for_units(n, unit, [&](std::size_t b, std::size_t e) {
    each.push_back(f(b, e));
    total += each.back();
  });
  return total;
}

}  // namespace vaeconv
