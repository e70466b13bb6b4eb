#' Handwritten digits: the UCI optical recognition test set
#'
#' Images of handwritten digits, 8 by 8 pixels, from the test set of the UCI
#' "Optical Recognition of Handwritten Digits" data. Each pixel counts the
#' "on" bits in a 4 by 4 block of a 32 by 32 bitmap, so it is an integer from
#' 0 to 16. A small, real data set on which a variational autoencoder trains
#' in seconds.
#'
#' @format A data frame with 1797 rows (one per image) and 65 columns. The
#'   first 64, `r1c1`, `r1c2`, ..., `r8c8`, are integer pixel intensities in
#'   0..16: `r<i>c<j>` is the pixel in row `i` and column `j` of the image,
#'   and the columns run row by row, so `digits[, 1:64]` is the image unrolled
#'   row by row and `matrix(unlist(digits[k, 1:64]), 8, 8, byrow = TRUE)` is
#'   image `k`. The last, `label`, is the digit shown, an integer from 0 to 9
#'   (not a factor).
#'
#' @source UCI Machine Learning Repository: E. Alpaydin and C. Kaynak (1998),
#'   "Optical Recognition of Handwritten Digits", the test set
#'   (`optdigits.tes`). \doi{10.24432/C50P49}. Licensed under the Creative
#'   Commons Attribution 4.0 International licence (CC BY 4.0). Built by
#'   `data-raw/digits.R` in the package's source repository.
#'
#' @examples
#' dim(digits)
#' table(digits$label)
#'
#' # Pixels scaled to [0, 1], the usual input of fit_vae()
#' x <- as.matrix(digits[, 1:64]) / 16
#' range(x)
#'
#' # Draw the first image
#' image(t(matrix(x[1, ], 8, 8, byrow = TRUE))[, 8:1],
#'   col = grey.colors(17, start = 1, end = 0), axes = FALSE,
#'   main = paste("label", digits$label[1]))
"digits"
