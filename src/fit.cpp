// Glue for fit_vae(): conversion, threads, progress and interruption.
#include "fit.h"

#include "progress.h"
#include "threads.h"

namespace vaeconv_glue {

namespace {

Rcpp::NumericVector as_numeric(const std::vector<double>& x) {
  return Rcpp::NumericVector(x.begin(), x.end());
}

Rcpp::NumericVector as_numeric(const arma::vec& x) {
  return Rcpp::NumericVector(x.begin(), x.end());
}

// A vector that works in the memory of x (Armadillo's move assignment
// adopts it).
arma::vec r_memory(Rcpp::NumericVector& x) {
  return arma::vec(x.begin(), std::size_t(x.size()), false, true);
}


}  // namespace

vaeconv::TrainSpec train_spec(const Rcpp::List& control) {
  vaeconv::TrainSpec spec;
  spec.batch_size = std::size_t(Rcpp::as<double>(control["batch_size"]));
  spec.iterations = std::uint64_t(Rcpp::as<double>(control["iterations"]));
  spec.record_every = std::uint64_t(Rcpp::as<double>(control["record_every"]));
  spec.eval_every = std::uint64_t(Rcpp::as<double>(control["eval_every"]));
  spec.eval_samples = std::size_t(Rcpp::as<double>(control["eval_samples"]));
  spec.chunk_rows = std::size_t(Rcpp::as<double>(control["chunk_rows"]));
  if (control.containsElementNamed("loglik_optimum"))
    spec.loglik_optimum = Rcpp::as<double>(control["loglik_optimum"]);
  return spec;
}

vaeconv::TrainState start_state(const vaeconv::Vae& vae, std::uint64_t seed,
                                const Rcpp::Nullable<Rcpp::List>& state, RState* in_r) {
  const std::size_t p = vae.n_params();
  vaeconv::TrainState st;
  if (in_r != nullptr) {
    // Zero-filled R vectors, adopted by the state's arma::vecs (no copy).
    in_r->par = Rcpp::NumericVector(p);
    in_r->par0 = Rcpp::NumericVector(p);
    in_r->opt_m = Rcpp::NumericVector(p);
    in_r->opt_v = Rcpp::NumericVector(p);
    st.par = r_memory(in_r->par);
    st.par0 = r_memory(in_r->par0);
    st.opt.m = r_memory(in_r->opt_m);
    st.opt.v = r_memory(in_r->opt_v);
  } else {
    st.par.set_size(p);
    st.par0.set_size(p);
    st.opt.reset(p);
  }
  if (state.isNull()) {
    vae.init(st.par.memptr(), vaeconv::KeyedRng(seed));
    st.par0 = st.par;
  } else {
    const Rcpp::List s(state.get());
    const Rcpp::NumericVector from[] = {s["par"], s["par0"], s["opt_m"], s["opt_v"]};
    arma::vec* to[] = {&st.par, &st.par0, &st.opt.m, &st.opt.v};
    for (int k = 0; k < 4; ++k) {
      if (std::size_t(from[k].size()) != p)
        Rcpp::stop("the state to continue from does not match the model");
      std::copy(from[k].begin(), from[k].end(), to[k]->begin());
    }
    st.iteration = std::uint64_t(Rcpp::as<double>(s["iteration"]));
    st.seconds = Rcpp::as<double>(s["seconds"]);
    // Fits made before evaluations were timed apart have no eval_seconds.
    if (s.containsElementNamed("eval_seconds"))
      st.eval_seconds = Rcpp::as<double>(s["eval_seconds"]);
  }
  return st;
}

Rcpp::List fit_result(const vaeconv::TrainResult& res, const vaeconv::TrainState& st,
                      const RState* in_r) {
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
      Rcpp::Named("eval_seconds") = as_numeric(tr.eval_seconds),
      Rcpp::Named("weight_change") = as_numeric(tr.weight_change),
      Rcpp::Named("full_objective") = as_numeric(tr.full_objective),
      Rcpp::Named("full_grad_norm_sq") = as_numeric(tr.full_grad_norm_sq),
      Rcpp::Named("full_grad_norm_sq_theta") = as_numeric(tr.full_grad_norm_sq_theta),
      Rcpp::Named("full_grad_norm_sq_phi") = as_numeric(tr.full_grad_norm_sq_phi),
      Rcpp::Named("full_grad_norm_sq_unbiased") = as_numeric(tr.full_grad_norm_sq_unbiased),
      Rcpp::Named("full_loglik") = as_numeric(tr.full_loglik),
      Rcpp::Named("loglik_gap") = as_numeric(tr.loglik_gap));
  Rcpp::List out_state =
      in_r != nullptr
          ? Rcpp::List::create(Rcpp::Named("par") = in_r->par,
                               Rcpp::Named("par0") = in_r->par0,
                               Rcpp::Named("opt_m") = in_r->opt_m,
                               Rcpp::Named("opt_v") = in_r->opt_v)
          : Rcpp::List::create(Rcpp::Named("par") = as_numeric(st.par),
                               Rcpp::Named("par0") = as_numeric(st.par0),
                               Rcpp::Named("opt_m") = as_numeric(st.opt.m),
                               Rcpp::Named("opt_v") = as_numeric(st.opt.v));
  out_state["iteration"] = double(st.iteration);
  out_state["seconds"] = st.seconds;
  out_state["eval_seconds"] = st.eval_seconds;
  return Rcpp::List::create(Rcpp::Named("state") = out_state,
                            Rcpp::Named("trajectory") = traj,
                            Rcpp::Named("status") = status_name(res.status),
                            Rcpp::Named("last_iteration") = double(res.last_iteration));
}

const char* status_name(vaeconv::Status s) {
  switch (s) {
    case vaeconv::Status::completed: return "completed";
    case vaeconv::Status::diverged: return "diverged";
    case vaeconv::Status::interrupted: return "interrupted";
  }
  return "unknown";
}

std::string fit_status(std::uint64_t first, std::uint64_t done, std::uint64_t total,
                       double objective) {
  return "iteration " + std::to_string(first + done) + "/" + std::to_string(first + total) +
         " | objective " + format_number(objective, 5);
}

}  // namespace vaeconv_glue


// [[Rcpp::export(rng = false)]]
Rcpp::List cpp_fit(const Rcpp::NumericMatrix& x, const Rcpp::List& model,
                   const Rcpp::List& objective, const Rcpp::List& optimizer,
                   const Rcpp::List& control, const Rcpp::Nullable<Rcpp::List>& state) {
  const vaeconv::Vae vae(vaeconv_glue::model_spec(model, x.ncol()));
  const vaeconv::ObjectiveSpec obj = vaeconv_glue::objective_spec(objective);
  const vaeconv::OptimizerSpec opt = vaeconv_glue::optimizer_spec(optimizer);
  const vaeconv::TrainSpec spec = vaeconv_glue::train_spec(control);
  const std::uint64_t seed = std::uint64_t(Rcpp::as<double>(control["seed"]));
  const int n_threads = Rcpp::as<int>(control["n_threads"]);
  const bool progress = Rcpp::as<bool>(control["progress"]);
  const std::string name = control.containsElementNamed("progress_name")
                               ? Rcpp::as<std::string>(control["progress_name"])
                               : std::string("Fitting");

  // The state lives in the R vectors that are returned. The rows of x are
  // read in place, but for data of at most vaeconv::copy_values values,
  // which are copied into observation-major order (their minibatches'
  // rows gathered from contiguous memory; the same values, so the same
  // fit).
  vaeconv_glue::RState in_r;
  vaeconv::TrainState st = vaeconv_glue::start_state(vae, seed, state, &in_r);
  const std::size_t n_values = std::size_t(x.nrow()) * std::size_t(x.ncol());
  const arma::mat xt = n_values <= vaeconv::copy_values && n_values > 0
                           ? vaeconv_glue::columns_of(x)
                           : arma::mat();
  const vaeconv::DataView data =
      xt.n_elem > 0
          ? vaeconv::DataView(xt)
          : vaeconv::DataView::rows(x.begin(), std::size_t(x.nrow()), std::size_t(x.ncol()));

  vaeconv::TrainResult res;
  {
    vaeconv_glue::BlasThreadsGuard blas;
    std::unique_ptr<vaeconv::Parallel> parallel = vaeconv_glue::make_parallel(n_threads);
    const std::uint64_t first = st.iteration;
    vaeconv_glue::RMonitor monitor(
        progress, double(spec.iterations), name,
        [first](std::uint64_t done, std::uint64_t total, double objective) {
          return vaeconv_glue::fit_status(first, done, total, objective);
        },
        vaeconv_glue::status_format);
    res = vaeconv::train(vae, obj, opt, spec, data, seed, st, *parallel, monitor);
    // The bar goes; an interrupt seen only now leaves a finished fit as it is.
    monitor.finish();
  }
  return vaeconv_glue::fit_result(res, st, &in_r);
}

// [[Rcpp::export(rng = false)]]
int cpp_blas_threads() { return vaeconv_glue::blas_threads(); }
