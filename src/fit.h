// Glue shared by the fitting entry points: the training specification and
// state from R lists and the result as an R list (progress and interruption:
// progress.h).
#pragma once

#include <RcppArmadillo.h>

#include <cstdint>
#include <string>

#include "convert.h"

namespace vaeconv_glue {

// The training specification from fit_vae()'s control list.
vaeconv::TrainSpec train_spec(const Rcpp::List& control);

// R vectors that a state's par, par0, opt_m and opt_v live in.
struct RState {
  Rcpp::NumericVector par, par0, opt_m, opt_v;
};

// A new state (weights initialised from the seed) when `state` is NULL, else
// a copy of the state to continue from. With in_r, the state's vectors are
// views of new R vectors in *in_r (so the result needs no copy of them).
vaeconv::TrainState start_state(const vaeconv::Vae& vae, std::uint64_t seed,
                                const Rcpp::Nullable<Rcpp::List>& state,
                                RState* in_r = nullptr);

// list(state, trajectory, status, last_iteration), as fit_vae() reads it;
// with in_r (the vectors st lives in), the state's vectors are not copied.
Rcpp::List fit_result(const vaeconv::TrainResult& res, const vaeconv::TrainState& st,
                      const RState* in_r = nullptr);

// "completed", "diverged" or "interrupted": a fit's status as R reads it.
const char* status_name(vaeconv::Status s);

// The progress bar's status during a fit that continues from iteration
// `first`: the iteration and the latest minibatch objective.
std::string fit_status(std::uint64_t first, std::uint64_t done, std::uint64_t total,
                       double objective);

}  // namespace vaeconv_glue
