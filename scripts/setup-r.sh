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

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup-r: installing ${#missing[@]} package(s): ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-r: done"
