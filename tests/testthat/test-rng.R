# The counter-based generator of the core (rng.hpp), through cpp_normals().

test_that("normals are keyed by (seed, stream, iteration, sample), not by order", {
  a <- vaeconv:::cpp_normals(7, 3, 5, 0, 20, 3)
  b <- vaeconv:::cpp_normals(7, 3, 5, 10, 5, 3)
  expect_identical(b, a[11:15, ])
  # Coordinates come in Box-Muller pairs: a shorter draw is a prefix.
  expect_identical(vaeconv:::cpp_normals(7, 3, 5, 0, 20, 2), a[, 1:2])
  expect_false(identical(a, vaeconv:::cpp_normals(7, 3, 6, 0, 20, 3)))
  expect_false(identical(a, vaeconv:::cpp_normals(7, 4, 5, 0, 20, 3)))
  expect_false(identical(a, vaeconv:::cpp_normals(8, 3, 5, 0, 20, 3)))
})

test_that("normals are standard normal", {
  z <- c(vaeconv:::cpp_normals(1, 7, 1, 0, 50000, 2))
  expect_lt(abs(mean(z)), 4 / sqrt(length(z)))
  expect_lt(abs(stats::var(z) - 1), 4 * sqrt(2 / length(z)))
  expect_gt(stats::ks.test(z, "pnorm")$p.value, 1e-3)
  # Pairs are uncorrelated.
  m <- vaeconv:::cpp_normals(1, 7, 1, 0, 50000, 2)
  expect_lt(abs(stats::cor(m[, 1], m[, 2])), 4 / sqrt(nrow(m)))
})
