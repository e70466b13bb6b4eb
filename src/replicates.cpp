// Glue for fit_vae_replicates(): several fits of the same model, data and
// settings, one per seed, run concurrently in a TBB arena with every fit on a
// single thread. Each fit is the core's train() with the Serial Parallel, so it
// is identical to the same fit run alone (the engine's result never depends on
// the thread count). R is called only from the main thread: the main thread
// runs fits like the others and, in their monitor and while it waits, polls
// the progress bar and R's interrupt; an interrupt sets a flag that every fit
// checks between iterations.
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "fit.h"
#include "progress.h"
#include "threads.h"

namespace {

// What the fits share: the count of iterations done, the stop flag, and the
// R progress bar and interrupt check (main thread only; every call into R is
// guarded, see progress.h: an interrupt only sets the flag).
class Shared {
 public:
  Shared(bool progress, double total, std::size_t replicates)
      : main_(std::this_thread::get_id()),
        r_(progress, total, "Replicates"),
        replicates_(replicates) {
    if (r_.interrupted()) request_stop();
  }
  void add(std::uint64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  void finished_one() { finished_.fetch_add(1); }
  std::size_t finished() const { return finished_.load(); }
  bool stop() const { return stop_.load(std::memory_order_relaxed); }
  void request_stop() { stop_.store(true, std::memory_order_relaxed); }
  // On the main thread only, at most every 100 ms: progress and
  // interruption through R.
  void poll() {
    if (std::this_thread::get_id() != main_ || !r_.due()) return;
    const std::string status = std::to_string(finished()) + "/" +
                               std::to_string(replicates_) + " replicates done";
    if (r_.poll(double(done_.load(std::memory_order_relaxed)), status)) request_stop();
  }
  // Terminates the bar (main thread, after the workers are joined).
  void finish() { r_.finish(); }

 private:
  const std::thread::id main_;
  vaeconv_glue::RProgress r_;
  const std::size_t replicates_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::size_t> finished_{0};
  std::atomic<bool> stop_{false};
};

// The monitor of one fit: reports its iterations to the shared count, polls R
// when it runs on the main thread, and stops when the shared flag is set.
class ReplicateMonitor : public vaeconv::Monitor {
 public:
  explicit ReplicateMonitor(Shared& shared) : shared_(shared) {}
  void progress(std::uint64_t done, std::uint64_t, double) override {
    shared_.add(done - done_);
    done_ = done;
    shared_.poll();
  }
  bool stop_requested() override {
    shared_.poll();  // on the main thread, when due (a long evaluation)
    return shared_.stop();
  }

 private:
  Shared& shared_;
  std::uint64_t done_ = 0;
};

}  // namespace

// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_fit_replicates(const Rcpp::NumericMatrix& x, const Rcpp::List& model,
                              const Rcpp::List& objective, const Rcpp::List& optimizer,
                              const Rcpp::List& control, const Rcpp::NumericVector& seeds) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  const vaeconv::OptimizerSpec opt = vaeconv_glue::optimizer_spec(optimizer);
  const vaeconv::TrainSpec spec = vaeconv_glue::train_spec(control);
  const int n_threads = Rcpp::as<int>(control["n_threads"]);
  const bool progress = Rcpp::as<bool>(control["progress"]);
  const std::size_t R = std::size_t(seeds.size());

  // Everything R-side is read before any thread starts.
  std::vector<std::uint64_t> seed(R);
  std::vector<vaeconv::TrainState> states;
  states.reserve(R);
  for (std::size_t i = 0; i < R; ++i) {
    seed[i] = std::uint64_t(seeds[i]);
    states.push_back(vaeconv_glue::start_state(vae, seed[i], R_NilValue));
  }
  const arma::mat xt = vaeconv_glue::columns_of(x);
  std::vector<vaeconv::TrainResult> results(R);
  std::vector<char> started(R, 0);

  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  {
    vaeconv_glue::BlasThreadsGuard blas;
    Shared shared(progress, double(spec.iterations) * double(R), R);
    // Takes fits off the queue until it is empty or a stop is requested.
    auto work = [&] {
      for (;;) {
        if (shared.stop()) return;
        const std::size_t i = next.fetch_add(1);
        if (i >= R) return;
        started[i] = 1;
        try {
          vaeconv::Serial serial;
          ReplicateMonitor monitor(shared);
          results[i] = vaeconv::train(vae, obj, opt, spec, xt, seed[i], states[i], serial,
                                      monitor);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
          shared.request_stop();
        }
        shared.finished_one();
      }
    };
    const int n_workers = int(std::min<std::size_t>(std::size_t(std::max(n_threads, 1)), R));
    tbb::task_arena arena(n_workers);
    arena.execute([&] {
      tbb::task_group group;
      for (int k = 1; k < n_workers; ++k) group.run(work);
      work();
      // The queue is empty (or a stop was requested): every fit taken is
      // being run by a thread that took it. Poll R until they are done, then
      // let the group finish (tasks that never started return at once).
      for (;;) {
        const std::size_t taken = std::min(next.load(), R);
        if (shared.finished() >= taken) break;
        shared.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      group.wait();
    });
    // Every worker has returned: no thread works on any fit from here.
    shared.finish();
  }
  if (error) std::rethrow_exception(error);

  Rcpp::List out(R);
  for (std::size_t i = 0; i < R; ++i) {
    if (started[i]) out[i] = vaeconv_glue::fit_result(results[i], states[i]);
  }
  return out;
}
