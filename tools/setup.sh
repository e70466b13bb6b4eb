#!/usr/bin/env bash
# Sets up vaeconv on a Debian 12 machine: installs the system and R packages it
# needs (Debian's prebuilt ones first, CRAN for anything still missing), builds
# the package from this source tree with its vignettes and installs it (so that
# `vignette(package = "vaeconv")` lists them), and runs a demonstration fit.
#
#     bash tools/setup.sh
#
# Safe to run again: what is already installed is skipped.
# Environment:
#   VAECONV_SKIP_DEMO=1   do not run the demonstration fit at the end
#   VAECONV_SETUP_VIGNETTES=0
#                         build without the vignettes (a few minutes faster;
#                         tools/test.sh knits them anyway, so .ci/run sets it)
#   VAECONV_CRAN=URL      the CRAN mirror for the fallback (default: R's option,
#                         else https://cloud.r-project.org)

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
pkg_root=$(pwd)
pkg=$(sed -n 's/^Package:[[:space:]]*//p' DESCRIPTION)
version=$(sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)

say() { printf '==> %s\n' "$*"; }

apt_packages=(
  r-base-dev
  r-cran-rcpp r-cran-rcpparmadillo r-cran-rcppparallel
  r-cran-cli r-cran-rlang r-cran-tibble r-cran-ggplot2
  r-cran-knitr r-cran-rmarkdown r-cran-testthat r-cran-withr r-cran-roxygen2
  r-cran-future r-cran-future.apply r-cran-progressr
  r-cran-batchtools r-cran-future.batchtools r-cran-callr r-cran-digest
  pandoc
  libopenblas0-pthread
)

# R packages and the least version the package needs (0 = any).
r_packages="c(Rcpp = '1.0.8', RcppArmadillo = '0', RcppParallel = '5.1.0',
  cli = '3.4.0', rlang = '1.0.0', tibble = '3.1.0', ggplot2 = '3.4.0',
  knitr = '0', rmarkdown = '0', testthat = '3.0.0', withr = '0', roxygen2 = '0',
  future = '1.21.0', future.apply = '1.7.0', progressr = '0.8.0',
  batchtools = '0', future.batchtools = '0.10.0', callr = '0', digest = '0')"

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------
missing_apt=()
for p in "${apt_packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ $status == ii* ]] || missing_apt+=("$p")
done

if ((${#missing_apt[@]} == 0)); then
  say "Debian packages: all ${#apt_packages[@]} already installed"
else
  say "Debian packages to install: ${missing_apt[*]}"
  sudo_cmd=()
  can_apt=1
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }; then
      sudo_cmd=(sudo)
    else
      can_apt=0
    fi
  fi
  if ((can_apt)); then
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-y -q -o DPkg::Lock::Timeout=600)
    "${sudo_cmd[@]}" apt-get "${apt_opts[@]}" update
    # Install only what this system's apt knows; CRAN covers the rest below.
    installable=()
    for p in "${missing_apt[@]}"; do
      if apt-cache show "$p" >/dev/null 2>&1; then
        installable+=("$p")
      else
        say "note: apt has no package '$p'; R packages will come from CRAN instead"
      fi
    done
    if ((${#installable[@]} > 0)); then
      "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get "${apt_opts[@]}" install "${installable[@]}"
    fi
  else
    say "Not root and no sudo: please install these Debian packages, then run this again:"
    echo "    apt-get install -y ${missing_apt[*]}"
    say "Trying to go on with CRAN for the R packages."
  fi
fi

if ! command -v Rscript >/dev/null 2>&1; then
  echo "error: R is not installed (Debian package r-base-dev)." >&2
  exit 1
fi

# ---------------------------------------------------------------------------
# 2. R packages still missing (or too old): install from CRAN
# ---------------------------------------------------------------------------
# Prints the R packages that are missing or too old, one a line. Each check runs
# in a fresh R process, so a package just installed is seen as it now is.
missing_r_packages() {
  VAECONV_R_PACKAGES="$r_packages" Rscript -e '
    need <- eval(parse(text = Sys.getenv("VAECONV_R_PACKAGES")))
    ok <- function(p) {
      suppressWarnings(suppressMessages(requireNamespace(p, quietly = TRUE))) &&
        utils::packageVersion(p) >= need[[p]]
    }
    writeLines(names(need)[!vapply(names(need), ok, logical(1))])
  '
}

missing_r=$(missing_r_packages)
if [[ -z $missing_r ]]; then
  say "R packages: all available"
else
  say "R packages to install from CRAN:" $missing_r
  # shellcheck disable=SC2086
  Rscript -e '
    lib <- .libPaths()[1L]
    if (file.access(lib, 2L) != 0L) {
      lib <- path.expand(Sys.getenv("R_LIBS_USER"))
      dir.create(lib, recursive = TRUE, showWarnings = FALSE)
      .libPaths(c(lib, .libPaths()))
    }
    repos <- Sys.getenv("VAECONV_CRAN")
    if (!nzchar(repos)) {
      repos <- getOption("repos")[["CRAN"]]
      if (is.null(repos) || !nzchar(repos) || repos == "@CRAN@") {
        repos <- "https://cloud.r-project.org"
      }
    }
    utils::install.packages(commandArgs(trailingOnly = TRUE), lib = lib,
      repos = repos, Ncpus = 2L)
  ' $missing_r
  still=$(missing_r_packages)
  if [[ -n $still ]]; then
    echo "error: could not install the R packages:" $still >&2
    exit 1
  fi
fi

# ---------------------------------------------------------------------------
# 3. Build the package from this tree and install it
# ---------------------------------------------------------------------------
# Build in a temporary directory so that no artefact is left in the tree.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export MAKEFLAGS="${MAKEFLAGS:--j$(nproc 2>/dev/null || echo 2)}"

build_args=(--no-manual)
if [[ ${VAECONV_SETUP_VIGNETTES:-1} == 0 ]]; then
  build_args+=(--no-build-vignettes)
  say "Building $pkg $version from $pkg_root (without vignettes: VAECONV_SETUP_VIGNETTES=0)"
else
  say "Building $pkg $version from $pkg_root, knitting its vignettes (a few minutes)"
fi
(cd "$work" && R CMD build "${build_args[@]}" "$pkg_root")
tarball="$work/${pkg}_${version}.tar.gz"
if [[ ! -f $tarball ]]; then
  echo "error: R CMD build made no tarball." >&2
  exit 1
fi

install_lib=()
site_lib=$(Rscript -e 'cat(.libPaths()[1L])')
target_lib=$site_lib
if [[ ! -w $site_lib ]]; then
  user_lib=$(Rscript -e 'cat(path.expand(Sys.getenv("R_LIBS_USER")))')
  mkdir -p "$user_lib"
  install_lib=(-l "$user_lib")
  target_lib=$user_lib
fi

say "Installing $(basename "$tarball")"
R CMD INSTALL "${install_lib[@]}" "$tarball"

if [[ ${VAECONV_SETUP_VIGNETTES:-1} != 0 ]]; then
  n_vignettes=$(Rscript -e "cat(nrow(vignette(package = '$pkg', lib.loc = '$target_lib')\$results))")
  if [[ $n_vignettes -eq 0 ]]; then
    echo "error: $pkg was installed without its vignettes." >&2
    exit 1
  fi
  say "Installed with $n_vignettes vignettes: see vignette(package = \"$pkg\")"
fi

# ---------------------------------------------------------------------------
# 4. A demonstration fit
# ---------------------------------------------------------------------------
if [[ ${VAECONV_SKIP_DEMO:-0} != 1 ]]; then
  say "Demonstration: the README's first fit, a Gaussian VAE on the digits"
  Rscript -e 'library(vaeconv); x <- as.matrix(digits[, 1:64]) / 16; fit <- fit_vae(x, gaussian_vae(latent_dim = 4, hidden = c(64, 64), obs_sd = 0.1), optimizer = adam(lr = 1e-2), iterations = 2000, seed = 1, n_threads = 2); print(fit); print(latent_activity(fit, x))'
fi

say "$pkg $version is installed. Run the tests with: bash tools/test.sh"
