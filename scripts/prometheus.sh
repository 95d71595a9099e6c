#!/usr/bin/env bash
# Starts and stops a local Prometheus (Debian's package) on loopback that scrapes the four
# Fieldwork services and loads the Fieldwork alert rules, for demos and end-to-end tests.
#
# Usage:
#   scripts/prometheus.sh start [--port N] [--fast]   # prints the URL; N=0 or unset: a free port
#   scripts/prometheus.sh stop
#   scripts/prometheus.sh status                      # prints the URL; exit 1 if not running
#
# --fast: scrape every second, evaluate every rule group every second and drop every alert's
#         `for:` so alerts fire as soon as their condition holds (demos and e2e tests only; the
#         conditions and thresholds themselves are unchanged).
#
# Environment:
#   FIELDWORK_PROMETHEUS_DIR   state (config copy, data, log, pid, port); default <repo>/var/prometheus
#   FIELDWORK_PROMETHEUS_PORT  port when --port is not given (default: a free port)
#   FIELDWORK_RANDOMISATION_METRICS_PORT, FIELDWORK_MESSAGING_METRICS_PORT,
#   FIELDWORK_SURVEY_INGEST_METRICS_PORT, FIELDWORK_ANALYSIS_METRICS_PORT
#                              the services' metrics ports (defaults 9464, 9465, 9466, 9467)
#   PROMETHEUS                 the prometheus binary (default: prometheus on PATH)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
state="$(realpath -m "${FIELDWORK_PROMETHEUS_DIR:-$repo/var/prometheus}")"
prometheus_bin="${PROMETHEUS:-prometheus}"

die() { echo "prometheus.sh: $*" >&2; exit 1; }

# Prints the pid of the Prometheus this state directory started, if it is still running.
running_pid() {
  [[ -f "$state/prometheus.pid" ]] || return 1
  local pid
  pid="$(cat "$state/prometheus.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # The pid must still be our Prometheus (same config file), not a recycled pid.
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--config.file=$state/prometheus.yml" || return 1
  echo "$pid"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

check_port() {
  local name="$1" value="$2"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || (( value < 1 || value > 65535 )); then
    die "$name must be a port number from 1 to 65535, got '$value'"
  fi
}

start() {
  local port="${FIELDWORK_PROMETHEUS_PORT:-0}" fast=0
  while (( $# > 0 )); do
    case "$1" in
      --port) [[ $# -ge 2 ]] || die "--port needs a value"; port="$2"; shift 2 ;;
      --fast) fast=1; shift ;;
      *) die "unknown option '$1' (usage: start [--port N] [--fast])" ;;
    esac
  done
  local pid
  command -v "$prometheus_bin" >/dev/null || die "'$prometheus_bin' not found (apt-get install prometheus)"
  if pid="$(running_pid)"; then
    die "already running (pid $pid) at http://127.0.0.1:$(cat "$state/port"); run 'stop' first"
  fi

  [[ "$port" == 0 ]] && port="$(free_port)"
  check_port "the Prometheus port" "$port"
  # The services' metrics ports, in the job order of deploy/prometheus/prometheus.yml.
  local ports=() var name defaults=(9464 9465 9466 9467) j=0
  for var in RANDOMISATION MESSAGING SURVEY_INGEST ANALYSIS; do
    name="FIELDWORK_${var}_METRICS_PORT"
    ports+=("${!name:-${defaults[$j]}}")
    check_port "$name" "${ports[$j]}"
    j=$((j + 1))
  done

  mkdir -p "$state/data" "$state/rules"
  # The rules, as committed or with --fast timings.
  local rules="$state/rules/fieldwork.rules.yaml"
  if (( fast )); then
    sed -E -e 's/^([[:space:]]+)for: .*/\1for: 0s/' \
           -e 's/^([[:space:]]+)interval: .*/\1interval: 1s/' \
           "$repo/deploy/prometheus/rules/fieldwork.rules.yaml" >"$rules"
  else
    cp "$repo/deploy/prometheus/rules/fieldwork.rules.yaml" "$rules"
  fi
  # The config: targets in job order, rule path absolute, faster intervals with --fast.
  local i=0 line
  : >"$state/prometheus.yml"
  while IFS= read -r line; do
    if [[ "$line" =~ ^(.*\")127\.0\.0\.1:[0-9]+(\".*)$ ]]; then
      (( i < 4 )) || die "deploy/prometheus/prometheus.yml has more than four targets"
      line="${BASH_REMATCH[1]}127.0.0.1:${ports[$i]}${BASH_REMATCH[2]}"
      i=$((i + 1))
    elif [[ "$line" =~ ^([[:space:]]+-[[:space:]]+)rules/fieldwork\.rules\.yaml$ ]]; then
      line="${BASH_REMATCH[1]}$rules"
    elif (( fast )) && [[ "$line" =~ ^([[:space:]]+)(scrape_interval|evaluation_interval):.*$ ]]; then
      line="${BASH_REMATCH[1]}${BASH_REMATCH[2]}: 1s"
    elif (( fast )) && [[ "$line" =~ ^([[:space:]]+)scrape_timeout:.*$ ]]; then
      line="${BASH_REMATCH[1]}scrape_timeout: 1s"
    fi
    printf '%s\n' "$line" >>"$state/prometheus.yml"
  done <"$repo/deploy/prometheus/prometheus.yml"
  (( i == 4 )) || die "expected four 127.0.0.1 targets in deploy/prometheus/prometheus.yml, found $i"
  if command -v promtool >/dev/null; then
    promtool check config "$state/prometheus.yml" >"$state/check.log" 2>&1 \
      || { cat "$state/check.log" >&2; die "generated config $state/prometheus.yml is invalid"; }
  fi

  setsid "$prometheus_bin" \
    --config.file="$state/prometheus.yml" \
    --storage.tsdb.path="$state/data" \
    --web.listen-address="127.0.0.1:$port" \
    --web.enable-lifecycle \
    >"$state/prometheus.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$state/prometheus.pid"
  echo "$port" >"$state/port"

  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$state/prometheus.log" >&2
      rm -f "$state/prometheus.pid"
      die "Prometheus exited during startup (log: $state/prometheus.log)"
    fi
    if curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$state/prometheus.pid"
  tail -n 20 "$state/prometheus.log" >&2
  die "Prometheus did not become ready on 127.0.0.1:$port within 20 s (log: $state/prometheus.log)"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$state/prometheus.pid"
    echo "not running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 75); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$state/prometheus.pid"; echo "stopped"; return 0; }
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$state/prometheus.pid"
  echo "killed (did not stop within 15 s)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "http://127.0.0.1:$(cat "$state/port")"
  else
    echo "not running" >&2
    return 1
  fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start [--port N] [--fast] | stop | status" ;;
esac
