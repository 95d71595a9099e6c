#!/usr/bin/env bash
# Builds Fieldwork (release preset by default) into build/<preset>.
# Usage: scripts/build.sh [debug|release|asan] [extra ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -- "$@"
echo "build: binaries are in build/$preset/bin"
