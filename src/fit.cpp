// Glue for fit_vae(): conversion, threads, progress and interruption.
#include <RcppArmadillo.h>
#include <R_ext/Utils.h>
#include <cli/progress.h>

#include <chrono>

#include "convert.h"
#include "threads.h"

namespace {

void check_interrupt(void*) { R_CheckUserInterrupt(); }

// Progress through a cli bar and interruption through R, asked at most every
// 100 ms and only from the main thread (the loop calls it between iterations).
class RMonitor : public vaeconv::Monitor {
 public:
  RMonitor(bool progress, double total) {
    if (progress) {
      Rcpp::List config = Rcpp::List::create(Rcpp::Named("name") = "Fitting");
      bar_ = cli_progress_bar(total, config);
    }
  }
  ~RMonitor() {
    if (bar_ != R_NilValue) cli_progress_done(bar_);
  }
  void progress(std::uint64_t done, std::uint64_t) override {
    if (!due()) return;
    if (bar_ != R_NilValue) cli_progress_set(bar_, double(done));
    interrupted_ = R_ToplevelExec(check_interrupt, nullptr) == FALSE;
  }
  bool stop_requested() override { return interrupted_; }

 private:
  bool due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return false;
    last_ = now;
    return true;
  }
  Rcpp::RObject bar_ = R_NilValue;
  bool interrupted_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

Rcpp::NumericVector as_numeric(const std::vector<double>& x) {
  return Rcpp::NumericVector(x.begin(), x.end());
}

// A vector that works in the memory of x (Armadillo's move assignment
// adopts it).
arma::vec r_memory(Rcpp::NumericVector& x) {
  return arma::vec(x.begin(), std::size_t(x.size()), false, true);
}

const char* status_name(vaeconv::Status s) {
  switch (s) {
    case vaeconv::Status::completed: return "completed";
    case vaeconv::Status::diverged: return "diverged";
    case vaeconv::Status::interrupted: return "interrupted";
  }
  return "unknown";
}

}  // namespace

// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_fit(const Rcpp::NumericMatrix& x, const Rcpp::List& model,
                   const Rcpp::List& objective, const Rcpp::List& optimizer,
                   const Rcpp::List& control, const Rcpp::Nullable<Rcpp::List>& state) {
  const vaeconv::GaussianVae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  const vaeconv::OptimizerSpec opt = vaeconv_glue::optimizer_spec(optimizer);
  vaeconv::TrainSpec spec;
  spec.batch_size = std::size_t(Rcpp::as<double>(control["batch_size"]));
  spec.iterations = std::uint64_t(Rcpp::as<double>(control["iterations"]));
  spec.record_every = std::uint64_t(Rcpp::as<double>(control["record_every"]));
  spec.eval_every = std::uint64_t(Rcpp::as<double>(control["eval_every"]));
  spec.eval_samples = std::size_t(Rcpp::as<double>(control["eval_samples"]));
  spec.chunk_rows = std::size_t(Rcpp::as<double>(control["chunk_rows"]));
  if (control.containsElementNamed("loglik_optimum"))
    spec.loglik_optimum = Rcpp::as<double>(control["loglik_optimum"]);
  const std::uint64_t seed = std::uint64_t(Rcpp::as<double>(control["seed"]));
  const int n_threads = Rcpp::as<int>(control["n_threads"]);
  const bool progress = Rcpp::as<bool>(control["progress"]);

  // The state lives in the R vectors that are returned (no copy at the end).
  const std::size_t p = vae.n_params();
  Rcpp::NumericVector par(p), par0(p), opt_m(p), opt_v(p);  // zero-filled
  double iteration = 0.0, seconds = 0.0;
  if (state.isNull()) {
    vae.init(par.begin(), vaeconv::KeyedRng(seed));
    std::copy(par.begin(), par.end(), par0.begin());
  } else {
    const Rcpp::List s(state.get());
    const Rcpp::NumericVector from[] = {s["par"], s["par0"], s["opt_m"], s["opt_v"]};
    Rcpp::NumericVector* to[] = {&par, &par0, &opt_m, &opt_v};
    for (int k = 0; k < 4; ++k) {
      if (std::size_t(from[k].size()) != p)
        Rcpp::stop("the state to continue from does not match the model");
      std::copy(from[k].begin(), from[k].end(), to[k]->begin());
    }
    iteration = Rcpp::as<double>(s["iteration"]);
    seconds = Rcpp::as<double>(s["seconds"]);
  }
  vaeconv::TrainState st;
  st.par = r_memory(par);
  st.par0 = r_memory(par0);
  st.opt.m = r_memory(opt_m);
  st.opt.v = r_memory(opt_v);
  st.iteration = std::uint64_t(iteration);
  st.seconds = seconds;
  // The rows of x are read in place.
  const vaeconv::DataView data =
      vaeconv::DataView::rows(x.begin(), std::size_t(x.nrow()), std::size_t(x.ncol()));

  vaeconv::TrainResult res;
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    RMonitor monitor(progress, double(spec.iterations));
    res = vaeconv::train(vae, obj, opt, spec, data, seed, st, *parallel, monitor);
  }
  const vaeconv::Trajectory& tr = res.trajectory;
  Rcpp::List traj = Rcpp::List::create(
      Rcpp::Named("iteration") = as_numeric(tr.iteration),
      Rcpp::Named("objective") = as_numeric(tr.objective),
      Rcpp::Named("reconstruction") = as_numeric(tr.reconstruction),
      Rcpp::Named("kl") = as_numeric(tr.kl),
      Rcpp::Named("grad_norm_sq") = as_numeric(tr.grad_norm_sq),
      Rcpp::Named("grad_norm_sq_theta") = as_numeric(tr.grad_norm_sq_theta),
      Rcpp::Named("grad_norm_sq_phi") = as_numeric(tr.grad_norm_sq_phi),
      Rcpp::Named("lr") = as_numeric(tr.lr),
      Rcpp::Named("seconds") = as_numeric(tr.seconds),
      Rcpp::Named("weight_change") = as_numeric(tr.weight_change),
      Rcpp::Named("full_objective") = as_numeric(tr.full_objective),
      Rcpp::Named("full_grad_norm_sq") = as_numeric(tr.full_grad_norm_sq),
      Rcpp::Named("full_loglik") = as_numeric(tr.full_loglik),
      Rcpp::Named("loglik_gap") = as_numeric(tr.loglik_gap));
  Rcpp::List out_state = Rcpp::List::create(
      Rcpp::Named("par") = par, Rcpp::Named("par0") = par0, Rcpp::Named("opt_m") = opt_m,
      Rcpp::Named("opt_v") = opt_v, Rcpp::Named("iteration") = double(st.iteration),
      Rcpp::Named("seconds") = st.seconds);
  return Rcpp::List::create(Rcpp::Named("state") = out_state,
                            Rcpp::Named("trajectory") = traj,
                            Rcpp::Named("status") = status_name(res.status),
                            Rcpp::Named("last_iteration") = double(res.last_iteration));
}

// [[Rcpp::export(rng = false)]]
int cpp_blas_threads() { return vaeconv_glue::blas_threads(); }
