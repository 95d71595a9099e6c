#!/usr/bin/env bash
# Runs every Fieldwork test: installs what is missing, builds (warnings are errors), and runs
# CTest with the labels unit, integration, e2e and cluster (the services' integration suites
# again on a 3-master, 3-replica Redis Cluster: FIELDWORK_TEST_REDIS=cluster, see
# tests/cluster_runs.cmake). Tests start their own redis-server (or cluster), SMTP sink and
# service processes on free loopback ports.
# Usage: scripts/test.sh [debug|asan|release]   (default: debug)
# Exits non-zero on any build error, compiler warning in our code, or failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-debug}"

scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"

# Two cores: two tests at a time. Three were faster (594 s against 804 s) but not safe yet: the
# messaging kill test's bound failed once at -j 3, unexplained (services/messaging/README.md,
# window 5). (The other -j 3 failure, a port taken between run.sh's choice and a service's
# bind, cannot happen since run.sh chooses outside the ephemeral range.) Output of failing tests
# is printed in full.
ctest --preset "$preset" -L 'unit|integration|e2e|cluster' -j 2 --timeout 600
