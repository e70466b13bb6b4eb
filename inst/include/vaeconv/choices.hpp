// The names of every choice the core offers, in one place for the glue:
// R reads them (cpp_choices()) to validate its arguments, so a name exists
// once, in the header of the part that defines it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "activation.hpp"
#include "encoder.hpp"
#include "iwae.hpp"
#include "likelihood.hpp"
#include "model.hpp"
#include "objective.hpp"
#include "optimizer.hpp"

namespace vaeconv {

inline std::vector<std::pair<std::string, std::vector<std::string>>> choices() {
  return {{"model", model_names()},         {"likelihood", likelihood_names()},
          {"covariance", covariance_names()}, {"activation", activation_names()},
          {"objective", objective_names()}, {"estimator", estimator_names()},
          {"k_growth", k_growth_names()},   {"optimizer", optimizer_names()}};
}

}  // namespace vaeconv
