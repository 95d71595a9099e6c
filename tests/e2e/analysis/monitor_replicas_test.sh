#!/usr/bin/env bash
# Two replicas of the analysis service on one scripts/run.sh stack (issue 18): the second is the
# first's recorded command line (DIR/pids/analysis.cmd) on ports of its own, so both share the
# stack's Redis and its monitor lease. Exactly one of them publishes (its
# fieldwork_analysis_monitor_leader is 1, the other's 0) pass after pass; once the publishing
# one is killed with SIGKILL, the other takes over. The monitor runs every second here; the
# waits are deadlines, not measurements.
#
# Environment (set by tests/e2e/analysis/CMakeLists.txt): FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR.
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
work=$(mktemp -d /tmp/fieldwork-replicas.XXXXXX)
stack=$work/stack
second_pid=
cleanup() {
  [[ -n $second_pid ]] && kill -9 "$second_pid" 2>/dev/null
  "$src/scripts/run.sh" stop --dir "$stack" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [[ -f $work/second.log ]] && tail -n 20 "$work/second.log" >&2
  exit 1
}

FIELDWORK_MONITOR_INTERVAL=1s "$src/scripts/run.sh" start --dir "$stack" >"$work/start.log" 2>&1 ||
  { cat "$work/start.log" >&2; fail "run.sh start"; }
first_metrics=$(sed -n 's/^FIELDWORK_ANALYSIS_METRICS_PORT=//p' "$stack/env")
first_pid=$(cat "$stack/pids/analysis.pid")
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
second_metrics=$(free_port)
mapfile -d '' -t command <"$stack/pids/analysis.cmd"
"${command[@]}" --listen_address="127.0.0.1:$(free_port)" --metrics_port="$second_metrics" \
  >"$work/second.log" 2>&1 &
second_pid=$!

# metric PORT NAME: the value of an unlabelled sample on that /metrics page ("" when absent or
# the page cannot be read yet).
metric() {
  { curl -sf "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } | awk -v name="$2" '$1 == name {print $2}'
}
# Both replicas have made at least two passes (so each has asked for the lease since the other
# started).
for _ in $(seq 1 150); do
  a=$(metric "$first_metrics" fieldwork_analysis_monitor_run_seconds_count)
  b=$(metric "$second_metrics" fieldwork_analysis_monitor_run_seconds_count)
  (( ${a:-0} >= 2 && ${b:-0} >= 2 )) && break
  sleep 0.2
done
(( ${a:-0} >= 2 && ${b:-0} >= 2 )) || fail "the replicas did not both run the monitor (passes: ${a:-none}, ${b:-none})"

# One leader, and the same one, for five more seconds (five passes each).
leaders=""
for _ in $(seq 1 5); do
  pair="$(metric "$first_metrics" fieldwork_analysis_monitor_leader)$(metric "$second_metrics" fieldwork_analysis_monitor_leader)"
  [[ $pair == 10 || $pair == 01 ]] || fail "leader gauges read '$pair' (first, second): not exactly one publisher"
  [[ -z $leaders || $leaders == "$pair" ]] || fail "the lease moved between live replicas ($leaders, then $pair)"
  leaders=$pair
  sleep 1
done

# The publishing replica dies; the other takes over once the lease lapses (two intervals).
if [[ $leaders == 10 ]]; then
  kill -9 "$first_pid"
  survivor=$second_metrics
else
  kill -9 "$second_pid"
  second_pid=
  survivor=$first_metrics
fi
for _ in $(seq 1 150); do
  [[ $(metric "$survivor" fieldwork_analysis_monitor_leader) == 1 ]] && break
  sleep 0.2
done
[[ $(metric "$survivor" fieldwork_analysis_monitor_leader) == 1 ]] ||
  fail "the surviving replica never took the monitor over"
echo "two analysis replicas: one publisher ($leaders), the other took over after kill -9"
