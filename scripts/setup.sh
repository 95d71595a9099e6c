#!/usr/bin/env bash
# Installs every Debian package that Fieldwork's build, tests and scripts need, then the browser
# tests' npm packages (tests/browser, pinned by its package-lock.json).
# Idempotent: when everything is installed it only runs dpkg-query, compares two files' times
# and exits quietly.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates clang-format
  lld  # links our debug binaries about five times faster than GNU ld (CMakeLists.txt)
  # libraries the services link
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libhiredis-dev prometheus-cpp-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  nlohmann-json3-dev libsodium-dev libcurl4-openssl-dev libeigen3-dev libboost-math1.74-dev
  libboost-dev libcpp-httplib-dev libssl-dev
  # tests and benchmarks; clang and libFuzzer for the fuzz targets (scripts/fuzz.sh)
  libgtest-dev libgmock-dev libbenchmark-dev clang libfuzzer-14-dev
  # real servers and checkers used by the tests and the demo
  redis-server redis-tools prometheus python3 python3-aiosmtpd python3-grpcio python3-protobuf openssl tzdata python3-yaml
  # the HTML report rendered headless (tests/e2e/cli)
  chromium
  # the offline deployment checks (tests/deploy): Helm's template engine rebuilt in Go, and
  # the Kubernetes schema validation in Node.js
  golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev nodejs
)
# Debian's npm conflicts with the NodeSource nodejs some machines carry (it bundles npm).
command -v npm >/dev/null || packages+=(npm)

# shellcheck source=scripts/lib/debian_packages.sh
source "$(dirname "$0")/lib/debian_packages.sh"
# The Debian redis-server and prometheus packages start system daemons on install; the project
# never uses them (tests and the demo run their own on free ports).
install_missing_packages setup "${packages[@]}"

# The browser tests' packages (puppeteer-core driving the chromium above, axe-core) into
# tests/browser/node_modules, exactly as package-lock.json pins them. npm rewrites
# node_modules/.package-lock.json on every install, so when that is newer than the lock file
# the installed packages are the pinned ones and there is nothing to do.
browser_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [[ ! "$browser_tests/node_modules/.package-lock.json" -nt "$browser_tests/package-lock.json" ]]; then
  echo "setup: installing the browser tests' npm packages (npm ci in tests/browser)"
  npm ci --prefix "$browser_tests" --no-audit --no-fund --loglevel=error >/dev/null
fi
