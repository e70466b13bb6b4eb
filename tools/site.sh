#!/usr/bin/env bash
# Builds the documentation site of vaeconv (pkgdown) into docs/: the home page
# from README.md, the reference grouped by family (_pkgdown.yml), the vignettes
# as articles, and NEWS.
#
#     bash tools/site.sh            # then open docs/index.html
#
# Installs pkgdown if it is missing (Debian's r-cran-pkgdown first, CRAN
# otherwise). The site is built from this tree against a temporary install of
# the package, so it runs the examples and knits the vignettes (a few
# minutes). docs/ and _pkgdown.yml are left out of the built package
# (.Rbuildignore).
# Environment:
#   VAECONV_SITE_INTERNET=1   let pkgdown look the package up online (CRAN,
#                      Bioconductor) for the home page's links
#   VAECONV_CRAN=URL   the CRAN mirror for the fallback (default: R's option,
#                      else https://cloud.r-project.org)

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*"; }

has_pkgdown() { Rscript -e 'quit(status = !requireNamespace("pkgdown", quietly = TRUE))' 2>/dev/null; }

if ! has_pkgdown; then
  if [[ $(id -u) -eq 0 ]] && apt-cache show r-cran-pkgdown >/dev/null 2>&1; then
    say "Installing Debian's r-cran-pkgdown"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 r-cran-pkgdown
  fi
fi
if ! has_pkgdown; then
  say "Installing pkgdown from CRAN"
  Rscript -e '
    lib <- .libPaths()[1L]
    if (file.access(lib, 2L) != 0L) {
      lib <- path.expand(Sys.getenv("R_LIBS_USER"))
      dir.create(lib, recursive = TRUE, showWarnings = FALSE)
    }
    repos <- Sys.getenv("VAECONV_CRAN")
    if (!nzchar(repos)) {
      repos <- getOption("repos")[["CRAN"]]
      if (is.null(repos) || !nzchar(repos) || repos == "@CRAN@") repos <- "https://cloud.r-project.org"
    }
    utils::install.packages("pkgdown", lib = lib, repos = repos)
  '
fi

export MAKEFLAGS="${MAKEFLAGS:--j$(nproc 2>/dev/null || echo 2)}"
say "Building the site into docs/"
# VAECONV_SITE_INTERNET=0 (the default) builds offline: pkgdown does not
# look the package up on CRAN or Bioconductor for the sidebar's links.
Rscript -e 'options(pkgdown.internet = identical(Sys.getenv("VAECONV_SITE_INTERNET"), "1"))
  pkgdown::build_site(preview = FALSE)'
say "Done: open docs/index.html"
