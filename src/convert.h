// Conversions between R specification lists and the core's structs.
#pragma once

#include <RcppArmadillo.h>

#include <vaeconv/vaeconv.hpp>

namespace vaeconv_glue {

vaeconv::ModelSpec model_spec(const Rcpp::List& model, std::size_t dx);
vaeconv::Activation activation_spec(const Rcpp::List& activation);
vaeconv::ObjectiveSpec objective_spec(const Rcpp::List& objective);
vaeconv::OptimizerSpec optimizer_spec(const Rcpp::List& optimizer);

// The data transposed: one column per row of x.
arma::mat columns_of(const Rcpp::NumericMatrix& x);

}  // namespace vaeconv_glue
