// Progress bars and interruption for the long-running entry points.
//
// Every call into R made while C++ work is in progress (cli's progress bar,
// R's interrupt check) runs inside R_ToplevelExec() and an R_tryCatch() that
// catches interrupt and error conditions: an interrupt (Ctrl-C), a time limit
// set by setTimeLimit() or an error inside cli never longjmps through C++ or
// TBB frames. It only sets a flag, which the core's loops read between units
// of work; they stop, their workers are joined, and the caller returns to R
// normally, where the stop is reported (a fit's status) or signalled again
// (the caught condition, from R: see signal_stop() in R/fit.R). cli itself
// runs with interrupts suspended (progress_bar_start() etc. in R/fit.R):
// an interrupt unwinding cli's code half-way leaves cli's state broken.
#pragma once

#include <Rcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vaeconv/monitor.hpp>

namespace vaeconv_glue {

// The name, a bar, the percentage, the status (what is done so far, in the
// entry point's own words) and the time left; short enough for 80 columns.
extern const char* const bar_format;
// The same without the bar, for longer statuses.
extern const char* const status_format;

// A cli progress bar and R's interrupt check. Main thread only.
class RProgress {
 public:
  // A bar named `name` over `total` units when `show` (cli shows it once
  // the work has lasted cli.progress_show_after seconds), drawn by the cli
  // format string `format` (bar_format when empty).
  RProgress(bool show, double total, const std::string& name,
            const std::string& format = std::string());
  ~RProgress();
  RProgress(const RProgress&) = delete;
  RProgress& operator=(const RProgress&) = delete;

  // Whether 100 ms have passed since the last poll.
  bool due() const;
  // Sets the bar to `done` units with the status text `status`, and checks
  // for an interrupt, in one guarded call into R. Returns interrupted().
  bool poll(double done, const std::string& status);
  // Terminates the bar (guarded); called by the destructor if not before.
  // A stop seen here still counts (interrupted() turns true), so that the
  // caller may report it.
  void finish();
  // Whether an interrupt, a time limit or an error in the bar stopped us.
  bool interrupted() const { return interrupted_; }
  // The condition that was caught (R_NilValue when the stop was not a
  // condition, or when there was none).
  SEXP condition() const { return condition_; }
  // Records a stop, with the condition caught (or R_NilValue).
  void stopped(SEXP condition);

 private:
  friend struct RCall;

  SEXP bar_ = R_NilValue;        // preserved while set
  SEXP condition_ = R_NilValue;  // preserved while set
  bool interrupted_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// The core's Monitor through R, for loops run from the main thread.
// progress() (on the main thread) and stop_requested() on the main thread
// poll R when due; stop_requested() on another thread only reads the flag.
// `status` makes the bar's status text from (done, total, objective).
class RMonitor : public vaeconv::Monitor {
 public:
  typedef std::function<std::string(std::uint64_t, std::uint64_t, double)> StatusFn;
  RMonitor(bool show, double total, const std::string& name, StatusFn status,
           const std::string& format = std::string());
  void progress(std::uint64_t done, std::uint64_t total, double objective) override;
  bool stop_requested() override;
  // Terminates the bar; true if a stop was requested at any time.
  bool finish();
  SEXP condition() const { return r_.condition(); }

 private:
  void poll();
  RProgress r_;
  StatusFn status_;
  const std::thread::id main_ = std::this_thread::get_id();
  std::atomic<bool> stop_{false};
  std::uint64_t done_ = 0, total_ = 0;
  double objective_ = NAN;
};

// What an entry point returns to R when it stopped: list(interrupted = TRUE,
// condition = the caught condition or NULL), for stop_signal() in R.
Rcpp::List stop_result(const RMonitor& monitor);

// "%.*g" of x.
std::string format_number(double x, int digits = 6);

}  // namespace vaeconv_glue
