#!/usr/bin/env bash
# Installs R and the R packages used to regenerate the analysis fixtures
# (tests/fixtures/analysis/make_fixtures.R) and to run the side-by-side benchmark
# (bench/analysis/estimatr_bench.R). Only developers who regenerate fixtures or run the
# benchmark need it: the C++ tests read the committed fixture files, so CI needs no R.
# Idempotent: when everything is installed it only runs dpkg-query and exits quietly.
# Usage: scripts/setup-r.sh            (as root, or with sudo available)
# PowerUp!'s R package (PowerUpR) is not in Debian: make_fixtures.R computes mdes.ira and
# mdes.cra2r2 from PowerUp!'s formulas directly.
set -euo pipefail

packages=(
  r-base-core
  r-cran-estimatr      # lm_robust, lm_lin, iv_robust
  r-cran-clubsandwich  # vcovCR(type = "CR2"), coef_test(test = "Satterthwaite")
  r-cran-sandwich      # vcovHC for cross-checks
  r-cran-car           # linearHypothesis (Wald F with a robust vcov)
  r-cran-jsonlite      # writes the expected values
)

# shellcheck source=scripts/lib/debian_packages.sh
source "$(dirname "$0")/lib/debian_packages.sh"
install_missing_packages setup-r "${packages[@]}"
