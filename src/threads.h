// Threads: a TBB arena of a fixed size for the core's Parallel interface, and
// a guard that keeps a multi-threaded BLAS to one thread inside fits.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <memory>
#include <vaeconv/engine.hpp>

namespace vaeconv_glue {

class ArenaParallel : public vaeconv::Parallel {
 public:
  explicit ArenaParallel(int n_threads) : arena_(n_threads), n_threads_(n_threads) {}
  std::size_t concurrency() const override { return std::size_t(n_threads_); }
  void run(std::size_t n, const std::function<void(std::size_t)>& f) override {
    if (n == 1) {
      f(0);
      return;
    }
    arena_.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t i = r.begin(); i != r.end(); ++i) f(i);
                        });
    });
  }

 private:
  tbb::task_arena arena_;
  int n_threads_;
};

// Serial for one thread, a TBB arena otherwise.
std::unique_ptr<vaeconv::Parallel> make_parallel(int n_threads);

// While alive, the BLAS (OpenBLAS or FlexiBLAS, when loaded) runs on one
// thread; the previous setting is restored on destruction.
class BlasThreadsGuard {
 public:
  BlasThreadsGuard();
  ~BlasThreadsGuard();
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int previous_ = -1;
};

// Threads the BLAS would use now (-1 when it cannot say).
int blas_threads();

// Sets the BLAS's threads to n (n >= 1) and returns the previous setting;
// -1, changing nothing, when the BLAS cannot say.
int set_blas_threads(int n);

}  // namespace vaeconv_glue
