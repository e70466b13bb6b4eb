#!/usr/bin/env bash
# Checks vaeconv the way a user's machine and CRAN would see it, and runs its
# test suite against the package installed from the built tarball.
#
#     bash tools/test.sh
#
# 0. the core's standalone C++ tests (cpp-tests/, no R), built and run with
#    make; a failure there fails the script;
# 1. R CMD build (knits the vignettes, so a vignette that fails fails here);
# 2. R CMD check --no-manual --no-tests on the tarball (installs it, runs the
#    examples and every static check);
# 3. the testthat suite, run once, against the package that check installed,
#    from the tarball's copy of tests/testthat (nothing is written in this tree).
# It exits non-zero if the build fails, check reports an ERROR or a WARNING,
# or any test fails, and its last line is "tests: N passed, N failed, N skipped".
#
# Needs what tools/setup.sh installs. Nothing is left in the source tree:
# everything goes to a temporary directory.
#
# Environment:
#   VAECONV_BUILD_VIGNETTES=0   skip knitting the vignettes (faster)
#   VAECONV_CHECK_VIGNETTES=1   also run the vignettes' code again in check
#   VAECONV_KEEP=1              keep the temporary directory and print its path
#   NOT_CRAN                    "true" (default) runs the tests marked
#                               skip_on_cran(); set it to "false" to skip them
#   VAECONV_TIMEOUT             seconds allowed for each step (default 1800)
#   VAECONV_SLURM=0             do not start the single-node Slurm cluster
#                               (tools/slurm.sh) for the tests; its test then
#                               skips. Otherwise the cluster is started before
#                               the tests (and stopped after, if this script
#                               started it) and VAECONV_REQUIRE_SLURM=1 makes
#                               the Slurm test fail rather than skip.

set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
pkg_root=$(pwd)
pkg=$(sed -n 's/^Package:[[:space:]]*//p' DESCRIPTION)
version=$(sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)

work=$(mktemp -d "${TMPDIR:-/tmp}/vaeconv-test.XXXXXX")
slurm_started=0
cleanup() {
  if [[ $slurm_started == 1 ]]; then bash "$pkg_root/tools/slurm.sh" stop || true; fi
  if [[ ${VAECONV_KEEP:-0} != 1 ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf '\n==> %s\n' "$*"; }
step_timeout=${VAECONV_TIMEOUT:-1800}

export NOT_CRAN="${NOT_CRAN:-true}"
export _R_CHECK_FORCE_SUGGESTS_=false
export _R_CHECK_CRAN_INCOMING_=false
export _R_CHECK_CRAN_INCOMING_REMOTE_=false
export MAKEFLAGS="${MAKEFLAGS:--j$(nproc 2>/dev/null || echo 2)}"

build_args=(--no-manual)
check_args=(--no-manual --no-tests)
if [[ ${VAECONV_BUILD_VIGNETTES:-1} == 0 ]]; then
  build_args+=(--no-build-vignettes)
  check_args+=(--ignore-vignettes)
elif [[ ${VAECONV_CHECK_VIGNETTES:-0} != 1 ]]; then
  # R CMD build has just knitted them; do not knit them a second time.
  check_args+=(--no-vignettes)
fi

fail=0
check_dir="$work/$pkg.Rcheck"
check_log="$check_dir/00check.log"
start=$SECONDS

# ---------------------------------------------------------------------------
# 0. The core's own tests, without R
# ---------------------------------------------------------------------------
say "C++ core tests (cpp-tests)"
cpp_build="$work/cpp-tests"
mkdir -p "$cpp_build"
cp cpp-tests/Makefile cpp-tests/test-core.cpp "$cpp_build/"
if ! (cd "$cpp_build" && timeout "$step_timeout" make -s \
        CPPFLAGS_CORE="-I$pkg_root/inst/include -I\$(ARMA_INCLUDE) -DARMA_DONT_USE_OPENMP -DARMA_NO_DEBUG -DARMA_DONT_USE_WRAPPER" \
        HEADERS="$(ls "$pkg_root"/inst/include/vaeconv/*.hpp | tr '\n' ' ')"); then
  echo "The C++ core tests failed." >&2
  echo "tests: not run, the C++ core tests failed"
  exit 1
fi

# ---------------------------------------------------------------------------
# 1. Build
# ---------------------------------------------------------------------------
say "R CMD build ${build_args[*]} ($pkg $version)"
(cd "$work" && timeout "$step_timeout" R CMD build "${build_args[@]}" "$pkg_root")
build_rc=$?
[[ $build_rc -ne 124 ]] || echo "R CMD build took longer than $step_timeout s." >&2
tarball="$work/${pkg}_${version}.tar.gz"
if [[ $build_rc -ne 0 || ! -f $tarball ]]; then
  echo "R CMD build failed (exit $build_rc)." >&2
  echo "tests: not run, the package did not build"
  exit 1
fi

# ---------------------------------------------------------------------------
# 2. Check
# ---------------------------------------------------------------------------
say "R CMD check ${check_args[*]} $(basename "$tarball")"
(cd "$work" && timeout "$step_timeout" R CMD check "${check_args[@]}" "$tarball")
check_rc=$?
[[ $check_rc -ne 124 ]] || echo "R CMD check took longer than $step_timeout s." >&2
check_status="Status: unknown (no check log)"
if [[ -f $check_log ]]; then
  check_status=$(grep -E '^Status:' "$check_log" | tail -n 1)
  [[ -n $check_status ]] || check_status="Status: unknown (check did not finish)"
fi
if [[ $check_rc -ne 0 ]] || ! grep -qE '^Status: (OK|[0-9]+ NOTEs?)$' <<<"$check_status"; then
  fail=1
fi

# Show the details of a failed installation.
if [[ -f $check_dir/00install.out && ! -f $check_dir/$pkg/DESCRIPTION ]]; then
  say "Installation failed; the end of 00install.out:"
  tail -n 80 "$check_dir/00install.out"
fi

# ---------------------------------------------------------------------------
# 3. Tests, against the package that check installed
# ---------------------------------------------------------------------------
counts_file="$work/test-counts.txt"
tests_ran=0
if [[ -f $check_dir/$pkg/DESCRIPTION ]]; then
  test_path="$check_dir/00_pkg_src/$pkg/tests/testthat"
  say "testthat (NOT_CRAN=$NOT_CRAN) on the installed package"
  if [[ -d $test_path ]]; then
    tests_ran=1
    # The single-node Slurm cluster of the fit_vae_study() test on
    # future.batchtools (tools/slurm.sh); that test must run, not skip.
    if [[ ${VAECONV_SLURM:-1} != 0 ]]; then
      export VAECONV_REQUIRE_SLURM=1
      # batchtools finds a user's jobs with squeue --user=$USER.
      export USER="${USER:-$(id -un)}"
      if bash tools/slurm.sh status >/dev/null 2>&1; then
        say "Slurm: $(bash tools/slurm.sh status)"
      else
        say "Starting a single-node Slurm cluster (tools/slurm.sh start)"
        slurm_t0=$SECONDS
        if bash tools/slurm.sh start; then
          slurm_started=1
          echo "Slurm started in $((SECONDS - slurm_t0)) s."
        else
          echo "Slurm did not start: its test will fail." >&2
        fi
      fi
    fi
    cat >"$work/run-tests.R" <<'EOF_R'
args <- commandArgs(trailingOnly = TRUE)
counts_file <- args[[3]]
library(testthat)
reporter <- MultiReporter$new(list(
  ProgressReporter$new(show_praise = FALSE, max_failures = Inf),
  ListReporter$new()
))
results <- test_dir(args[[1]], package = args[[2]],
  load_package = "installed", reporter = reporter,
  stop_on_failure = FALSE, stop_on_warning = FALSE)
df <- as.data.frame(results)
# As testthat counts them: expectations passed; failures and errors; tests
# skipped; warnings.
counts <- c(
  passed = sum(df$passed),
  failed = sum(df$failed) + sum(df$error),
  skipped = sum(df$skipped),
  warnings = sum(df$warning),
  tests = nrow(df)
)
writeLines(paste(names(counts), counts), counts_file)
EOF_R
    R_LIBS="$check_dir${R_LIBS:+:$R_LIBS}" timeout "$step_timeout" \
      Rscript "$work/run-tests.R" "$test_path" "$pkg" "$counts_file"
    test_rc=$?
    if [[ $test_rc -ne 0 ]]; then
      if [[ $test_rc -eq 124 ]]; then
        echo "The test run took longer than $step_timeout s and was stopped." >&2
      else
        echo "The test run stopped with exit status $test_rc." >&2
      fi
      fail=1
    fi
  else
    echo "No tests/testthat directory in the package."
    fail=1
  fi
fi

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
say "Summary ($((SECONDS - start)) s)"
if [[ -f $check_log ]]; then
  grep -E '\.\.\. *(NOTE|WARNING|ERROR)' "$check_log" || true
fi
echo "R CMD check: $check_status"
if [[ ${VAECONV_KEEP:-0} == 1 ]]; then
  echo "Build and check outputs kept in $work"
fi

if [[ -s $counts_file ]]; then
  count() { awk -v k="$1" '$1 == k { print $2 }' "$counts_file"; }
  passed=$(count passed)
  failed=$(count failed)
  skipped=$(count skipped)
  warnings=$(count warnings)
  n_tests=$(count tests)
  echo "testthat: $n_tests tests (test_that blocks), $skipped of them skipped, $warnings warnings; counts below are of expectations"
  if [[ $failed -ne 0 ]]; then
    fail=1
  fi
  if [[ $n_tests -eq 0 ]]; then
    echo "No test was run."
    fail=1
  fi
  echo "tests: $passed passed, $failed failed, $skipped skipped"
elif [[ $tests_ran == 1 ]]; then
  # The test process died (a crash, a timeout, an error in a helper file)
  # before it could report: count the run as one failure.
  echo "The test process died before it could report its results."
  echo "tests: 0 passed, 1 failed"
else
  echo "tests: not run, the package did not install"
fi

exit "$fail"
