#!/usr/bin/env bash
# Installs every Debian package that Fieldwork's build, tests and scripts need.
# Idempotent: when everything is installed it only runs dpkg-query and exits quietly.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates clang-format
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

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The Debian redis-server and prometheus packages start system daemons on install; the
# project never uses them (tests and the demo run their own on free ports), so keep
# policy-rc.d from starting them where we can.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
