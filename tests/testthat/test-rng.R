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

test_that("normals agree at every vector width of the kernels", {
  # Philox runs on 2, 4 or 8 counter blocks at once and Box-Muller on the
  # same vectors; the blocks are exact integers, so the widths agree up to
  # the rounding of the logarithm, sine and cosine (FMA on wide CPUs).
  previous <- vaeconv:::cpp_simd_override(-1L)
  on.exit(vaeconv:::cpp_simd_override(previous))
  wide <- vaeconv:::cpp_normals(9, 3, 2^33 + 5, 2^32 - 3, 41, 7)
  for (level in 0:1) {
    vaeconv:::cpp_simd_override(level)
    expect_equal(vaeconv:::cpp_normals(9, 3, 2^33 + 5, 2^32 - 3, 41, 7), wide,
                 tolerance = 1e-13)
  }
})

test_that("normals are Box-Muller pairs of the scalar Philox blocks", {
  # Counter words of block `pair` of `sample` (rng.hpp): pair, sample's low
  # word, iteration's low word, and stream << 24 ^ iteration's high word ^
  # sample's high word << 12 ^ pair's high word; key words: the seed's.
  seed <- 9; stream <- 3; iteration <- 2^33 + 5; first <- 2^32 - 3
  z <- vaeconv:::cpp_normals(seed, stream, iteration, first, 6, 5)
  to_unit <- function(a, b) ((a %/% 32) * 67108864 + (b %/% 64)) / 2^53
  for (i in 1:6) {
    sample <- first + i - 1
    for (pair in 0:2) {
      c3 <- bitwXor(bitwXor(stream * 2^24, iteration %/% 2^32), (sample %/% 2^32) * 2^12)
      b <- vaeconv:::cpp_philox_block(c(pair, sample %% 2^32, iteration %% 2^32, c3),
                                      c(seed, 0))
      u1 <- 1 - to_unit(b[1], b[2])
      u2 <- to_unit(b[3], b[4])
      r <- sqrt(-2 * log(u1))
      expect_equal(z[i, 2 * pair + 1], r * cos(2 * pi * u2), tolerance = 1e-13)
      if (2 * pair + 2 <= 5) {
        expect_equal(z[i, 2 * pair + 2], r * sin(2 * pi * u2), tolerance = 1e-13)
      }
    }
  }
})
