#!/usr/bin/env bash
# Runs every Fieldwork test: installs what is missing, builds (warnings are errors), and runs
# CTest with the labels unit, integration and e2e. Tests start their own redis-server, SMTP
# sink and service processes on free loopback ports.
# Usage: scripts/test.sh [debug|asan|release]   (default: debug)
# Exits non-zero on any build error, compiler warning in our code, or failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-debug}"

scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"

# Two cores: two tests at a time. Output of failing tests is printed in full.
ctest --preset "$preset" -L 'unit|integration|e2e' -j 2 --timeout 600
