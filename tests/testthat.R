# The test suite under R CMD check. Tests marked skip_on_cran() (long fits,
# timing, interruption) and the snapshot tests run only with NOT_CRAN=true.
library(testthat)
library(vaeconv)

test_check("vaeconv")
