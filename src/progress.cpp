// Progress bars and interruption (see progress.h).
#include "progress.h"

#include <R_ext/Utils.h>

#include <cstdio>

namespace vaeconv_glue {

// One guarded call into R: what to do, and for whom. The functions that run
// inside the guard hold no C++ object with a destructor, since a jump out of
// them (caught by R_tryCatch() or R_ToplevelExec()) would skip it.
struct RCall {
  enum Op { create, update, done };
  RProgress* self;
  Op op;
  double value;        // create: the total; update: the units done
  const char* text;    // create: the name; update: the status
  const char* format;  // create: the format
  static SEXP body(void* data);
};

const char* const bar_format =
    "{cli::pb_name}{cli::pb_bar} {cli::pb_percent} | {cli::pb_status} | ETA: {cli::pb_eta}";
const char* const status_format =
    "{cli::pb_name}{cli::pb_status} | {cli::pb_percent} | ETA: {cli::pb_eta}";

namespace {

// f(args...) evaluated in the package's namespace.
SEXP call_in_namespace(const char* f, SEXP args) {
  SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("vaeconv"))));
  SEXP call = PROTECT(Rf_lcons(Rf_install(f), args));
  SEXP out = Rf_eval(call, ns);
  UNPROTECT(3);
  return out;
}

}  // namespace

// The bar through progress_bar_start(), progress_bar_set() and
// progress_bar_done() (R/fit.R), which run cli with interrupts suspended;
// R's interrupt check before them takes an interrupt that arrived while
// C++ worked, and the one after them one that arrived while cli worked.
SEXP RCall::body(void* data) {
  RCall* call = static_cast<RCall*>(data);
  RProgress* self = call->self;
  R_CheckUserInterrupt();
  switch (call->op) {
    case RCall::create: {
      SEXP total = PROTECT(Rf_ScalarReal(call->value));
      SEXP name = PROTECT(Rf_mkString(call->text));
      SEXP format = PROTECT(Rf_mkString(call->format));
      SEXP args = PROTECT(Rf_list3(total, name, format));
      SEXP bar = PROTECT(call_in_namespace("progress_bar_start", args));
      R_PreserveObject(bar);
      self->bar_ = bar;
      UNPROTECT(5);
      break;
    }
    case RCall::update:
      if (self->bar_ != R_NilValue) {
        SEXP done = PROTECT(Rf_ScalarReal(call->value));
        SEXP status = PROTECT(Rf_mkString(call->text != nullptr ? call->text : ""));
        SEXP args = PROTECT(Rf_list3(self->bar_, done, status));
        call_in_namespace("progress_bar_set", args);
        UNPROTECT(3);
      }
      break;
    case RCall::done:
      if (self->bar_ != R_NilValue) {
        // A jump out of progress_bar_done() (not an interrupt: those wait)
        // leaves the bar set, and finish() tries again.
        SEXP args = PROTECT(Rf_list1(self->bar_));
        call_in_namespace("progress_bar_done", args);
        UNPROTECT(1);
        R_ReleaseObject(self->bar_);
        self->bar_ = R_NilValue;
      }
      break;
  }
  R_CheckUserInterrupt();
  return R_NilValue;
}

namespace {

SEXP call_handler(SEXP condition, void* data) {
  RCall* call = static_cast<RCall*>(data);
  call->self->stopped(condition);
  return R_NilValue;
}

// Inside R_ToplevelExec(): no handler of the caller is seen and no jump
// leaves. R_tryCatch() catches the interrupt (so R prints nothing of its
// own) and errors: the time limit's, or one inside cli.
void guarded(void* data) {
  SEXP classes = PROTECT(Rf_allocVector(STRSXP, 2));
  SET_STRING_ELT(classes, 0, Rf_mkChar("interrupt"));
  SET_STRING_ELT(classes, 1, Rf_mkChar("error"));
  R_tryCatch(RCall::body, data, classes, call_handler, data, nullptr, nullptr);
  UNPROTECT(1);
}

void run_guarded(RCall& call) {
  if (R_ToplevelExec(guarded, &call) == FALSE) call.self->stopped(R_NilValue);
}

}  // namespace

RProgress::RProgress(bool show, double total, const std::string& name,
                     const std::string& format) {
  if (!show) return;
  RCall call{this, RCall::create, total, name.c_str(),
             format.empty() ? bar_format : format.c_str()};
  run_guarded(call);
}

RProgress::~RProgress() {
  finish();
  if (condition_ != R_NilValue) R_ReleaseObject(condition_);
}

void RProgress::stopped(SEXP condition) {
  interrupted_ = true;
  if (condition_ == R_NilValue && condition != R_NilValue) {
    R_PreserveObject(condition);
    condition_ = condition;
  }
}

bool RProgress::due() const {
  return std::chrono::steady_clock::now() - last_ >= std::chrono::milliseconds(100);
}

bool RProgress::poll(double done, const std::string& status) {
  last_ = std::chrono::steady_clock::now();
  RCall call{this, RCall::update, done, status.empty() ? nullptr : status.c_str(), nullptr};
  run_guarded(call);
  return interrupted_;
}

void RProgress::finish() {
  if (finished_) return;
  finished_ = true;
  // An error inside progress_bar_done() leaves the bar in place: one more
  // try terminates it.
  for (int attempt = 0; attempt < 2 && bar_ != R_NilValue; ++attempt) {
    RCall call{this, RCall::done, 0.0, nullptr, nullptr};
    run_guarded(call);
  }
}

RMonitor::RMonitor(bool show, double total, const std::string& name, StatusFn status,
                   const std::string& format)
    : r_(show, total, name, format), status_(std::move(status)) {
  if (r_.interrupted()) stop_.store(true);
}

void RMonitor::poll() {
  if (r_.poll(double(done_), status_(done_, total_, objective_))) stop_.store(true);
}

void RMonitor::progress(std::uint64_t done, std::uint64_t total, double objective) {
  done_ = done;
  total_ = total;
  objective_ = objective;
  if (r_.due()) poll();
}

bool RMonitor::stop_requested() {
  if (std::this_thread::get_id() == main_ && r_.due()) poll();
  return stop_.load(std::memory_order_relaxed);
}

bool RMonitor::finish() {
  r_.finish();
  if (r_.interrupted()) stop_.store(true);
  return stop_.load();
}

Rcpp::List stop_result(const RMonitor& monitor) {
  return Rcpp::List::create(Rcpp::Named("interrupted") = true,
                            Rcpp::Named("condition") = monitor.condition());
}

std::string format_number(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  return buf;
}

}  // namespace vaeconv_glue
