#!/usr/bin/env bash
# The HTML report's figures in a real browser (issue 17): report_figures_page writes a report
# with every figure (the CONSORT flow, the forest plot, the attenuation panels) through the path
# `fieldwork report` takes, and report_figures.mjs opens it in headless Chromium: each figure is
# there with the expected number of boxes, rows and bins, nothing scrolls sideways at 320 px,
# axe finds no violations, and a screenshot is kept (copied to docs/img/report-figures.png by
# hand when the figures change).
#
# Environment (set by tests/unit/cli/CMakeLists.txt): FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR,
# FIELDWORK_ARTEFACTS_DIR (the page, the screenshots and axe's findings are kept there).
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
bin=${FIELDWORK_BIN_DIR:?}
artefacts=${FIELDWORK_ARTEFACTS_DIR:?}
here=$src/tests/browser
chromium=/usr/bin/chromium

die() { echo "FAIL: $*" >&2; exit 1; }

# What the browser needs: a missing piece is a failure, never a skip.
[[ -x $chromium ]] || die "$chromium is missing: run scripts/setup.sh"
command -v node >/dev/null || die "node is missing: run scripts/setup.sh"
[[ $here/node_modules/.package-lock.json -nt $here/package-lock.json ]] ||
  die "tests/browser/node_modules is missing or older than its package-lock.json: run scripts/setup.sh"

# This run's artefacts only.
mkdir -p "$artefacts"
rm -f "$artefacts"/*.png "$artefacts"/*.html "$artefacts"/*.json
"$bin/report_figures_page" "$artefacts/report.html" || die "report_figures_page failed"

CHROMIUM=$chromium ARTEFACTS_DIR=$artefacts REPORT_HTML=$artefacts/report.html \
  node "$here/report_figures.mjs"
