# Builds data/digits.rda from the UCI "Optical Recognition of Handwritten
# Digits" test set (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0;
# doi:10.24432/C50P49).
#
# Run from the package root:
#
#     Rscript data-raw/digits.R [path/to/uci-digits.csv.gz]
#
# The source file has 1797 rows and no header: 64 integer pixels in 0..16
# (an 8x8 image, row by row), then the digit label 0..9.

args <- commandArgs(trailingOnly = TRUE)
src <- if (length(args) >= 1L) args[[1L]] else "../shared/data/uci-digits.csv.gz"

if (!file.exists("DESCRIPTION") ||
    !identical(unname(read.dcf("DESCRIPTION", fields = "Package")[1, 1]), "vaeconv")) {
  stop("Run this script from the root of the vaeconv package.", call. = FALSE)
}
if (!file.exists(src)) {
  stop("Cannot find the source file '", src, "'.", call. = FALSE)
}

pixel_names <- sprintf("r%dc%d", rep(1:8, each = 8), rep(1:8, times = 8))

raw <- utils::read.csv(
  src,
  header = FALSE,
  colClasses = "integer",
  col.names = c(pixel_names, "label")
)

digits <- data.frame(raw[pixel_names], label = raw$label)
rownames(digits) <- NULL

# The data set's contract: check it before it is written.
stopifnot(
  identical(dim(digits), c(1797L, 65L)),
  identical(names(digits), c(pixel_names, "label")),
  all(vapply(digits, is.integer, logical(1))),
  !anyNA(digits),
  all(as.matrix(digits[pixel_names]) >= 0L),
  all(as.matrix(digits[pixel_names]) <= 16L),
  all(digits$label %in% 0:9),
  setequal(unique(digits$label), 0:9)
)

dir.create("data", showWarnings = FALSE)
save(digits, file = file.path("data", "digits.rda"), compress = "xz", version = 2)
message("Wrote data/digits.rda: ", nrow(digits), " rows, ", ncol(digits), " columns.")
