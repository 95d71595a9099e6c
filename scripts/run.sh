#!/usr/bin/env bash
# Runs the whole Fieldwork suite on this machine, on free loopback ports, with all state under
# one directory: redis-server, the four services, a local SMTP sink and SMS gateway (each mail
# or text a file in DIR/mail, scripts/smtp_sink.py) and, with --prometheus, a Prometheus scraping the services (scripts/prometheus.sh,
# rules in fast mode). Used by scripts/demo.sh and the end-to-end tests.
#
# Usage:
#   scripts/run.sh start [--dir DIR] [--simulated-clock] [--prometheus] [--partner-trial TRIAL]...
#                        [--replicas N]
#   scripts/run.sh stop [--dir DIR]      # stops exactly what `start` started; exit 0 if stopped
#   scripts/run.sh status [--dir DIR]    # exit 0 when everything started is running, else 1
#   scripts/run.sh start-service NAME [--dir DIR]  # starts NAME again after it died (see below)
#   scripts/run.sh start-redis [--dir DIR]  # the same as `start-service redis`
#
# DIR defaults to ./var. `start` waits until every service answers the gRPC health check, then
# writes DIR/env (KEY=VALUE lines, shell-sourceable): the four FIELDWORK_*_ADDRESS (the CLI's
# flags), FIELDWORK_TOKEN (admin), FIELDWORK_PARTNER_TOKEN (a partner token for the
# --partner-trial trials, when given), FIELDWORK_REDIS_ADDRESS, FIELDWORK_*_METRICS_PORT,
# FIELDWORK_TRACKING_URL, FIELDWORK_MAIL_DIR, FIELDWORK_SURVEY_FORM_URL (survey-ingest's survey
# form, where invitations' personal links point) and, with --prometheus, FIELDWORK_PROMETHEUS_URL.
# With --simulated-clock every service reads the simulated clock in Redis; move it with
# fieldwork-simclock (FIELDWORK_REDIS_URL is in DIR/env too).
#
# Redis is durable, as the services require (they refuse to start otherwise): the append-only
# file in DIR/redis, fsynced before every reply (appendonly yes, appendfsync always; no RDB
# snapshots), so a Redis crash loses nothing acknowledged. `start-redis` brings a Redis that
# crashed or was killed back on the same port and DIR/redis, reloading the AOF, while the
# services keep running (they reconnect); it refuses when Redis is running. A later `start` on
# the same DIR reloads the same data too.
#
# `start-service NAME` (NAME: redis, smtp-sink, randomisation, survey-ingest, messaging,
# analysis) brings back one process of a running stack that crashed or was killed, with exactly
# the command line `start` gave it (same ports, keys, clock) and the FIELDWORK_* variables it
# had then (recorded in DIR/pids/NAME.cmd), and waits until it is ready (a service: gRPC health
# and /metrics); nothing else is touched, the others reconnect to it. It refuses while NAME is
# still running. Its previous log is kept as DIR/logs/NAME.previous.log.
#
# --replicas N (1 to 9, default 1) starts N processes of each of the four services, each on
# ports of its own (the second randomisation is named randomisation-2 in DIR/pids and DIR/logs),
# all on the one Redis, as N pods each would be. Every caller spreads its calls over them in
# turn: a service's address in DIR/env, and the one each service is given for the others, is
# then "ipv4:127.0.0.1:P1,127.0.0.1:P2,..." (gRPC's round_robin over every address). Messaging
# replica R puts survey-ingest replica R's form in the links it sends, so the form's traffic is
# spread too; DIR/env's metrics ports, tracking and form URLs are replica 1's. `start-service`
# takes a replica's name (messaging-2).
#
# Binaries come from $FIELDWORK_BIN_DIR, else build/release/bin, else build/debug/bin.
# Tokens and keys are made fresh under DIR/secrets on the first start and kept after that, so
# the contacts stored in Redis stay readable across restarts. Logs: DIR/logs; pids: DIR/pids.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
system_python=/usr/bin/python3  # Debian's, with python3-aiosmtpd and python3-grpcio
services=(randomisation survey-ingest messaging analysis)

die() { echo "run.sh: $*" >&2; exit 1; }
usage() {
  echo "usage: scripts/run.sh start [--dir DIR] [--simulated-clock] [--prometheus] [--partner-trial TRIAL]... [--replicas N]" >&2
  echo "       scripts/run.sh stop|status|start-redis [--dir DIR]" >&2
  echo "       scripts/run.sh start-service NAME [--dir DIR]   # NAME: redis, smtp-sink, ${services[*]}" >&2
  exit 2
}

command_name="${1:-}"
[[ -n "$command_name" ]] || usage
shift
dir=./var simulated_clock=0 prometheus=0 partner_trials=() service_name= replicas=1
while (( $# > 0 )); do
  case "$1" in
    --dir) [[ $# -ge 2 ]] || usage; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --simulated-clock) simulated_clock=1; shift ;;
    --prometheus) prometheus=1; shift ;;
    --partner-trial) [[ $# -ge 2 ]] || usage; partner_trials+=("$2"); shift 2 ;;
    --partner-trial=*) partner_trials+=("${1#--partner-trial=}"); shift ;;
    --replicas) [[ $# -ge 2 ]] || usage; replicas="$2"; shift 2 ;;
    --replicas=*) replicas="${1#--replicas=}"; shift ;;
    -*) echo "run.sh: unknown option '$1'" >&2; usage ;;
    *)
      [[ "$command_name" == start-service && -z "$service_name" ]] ||
        { echo "run.sh: unexpected argument '$1'" >&2; usage; }
      service_name="$1"; shift ;;
  esac
done
[[ "$replicas" =~ ^[1-9]$ ]] || die "--replicas: give 1 to 9 (got '$replicas')"
dir="$(realpath -m "$dir")"
pids="$dir/pids" logs="$dir/logs"

# replica_name SERVICE R: the process name of SERVICE's replica R (the first is SERVICE itself).
replica_name() { if (( $2 == 1 )); then echo "$1"; else echo "$1-$2"; fi; }

# The service processes this stack started (every replica), from DIR/pids.
started_services() {
  local file name
  for file in "$pids"/*.grpc_port; do
    [[ -e "$file" ]] || continue
    name="$(basename "$file" .grpc_port)"
    echo "$name"
  done
}

# --- processes --------------------------------------------------------------------------------

# The pid recorded for NAME if that process is still the one we started: every process is
# started in DIR, so its working directory is DIR or below (redis-server moves to DIR/redis and
# rewrites its command line), and a recycled pid is never taken for ours.
running_pid() {
  local file="$pids/$1.pid" pid cwd
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || return 1
  [[ "$cwd" == "$dir" || "$cwd" == "$dir"/* ]] || return 1
  echo "$pid"
}

# spawn NAME COMMAND...: starts COMMAND in its own session, logging to DIR/logs/NAME.log. The
# child is forked with DIR as its working directory already (running_pid's check): a child that
# had to `cd` there itself was, until the scheduler ran it, taken for a process that had exited.
spawn() {
  local name="$1"
  shift
  pushd "$dir" >/dev/null
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pids/$name.pid"
  popd >/dev/null
}

# launch NAME COMMAND...: spawns COMMAND and records it in DIR/pids/NAME.cmd (NUL-separated
# words) with the FIELDWORK_* variables it inherits, which set a service's flags as much as its
# command line does, so that start-service can start exactly the same process again. The record
# may hold a token from the environment: only the owner reads it.
launch() {
  local name="$1" variable
  shift
  local record=(env)
  for variable in $(compgen -e); do
    if [[ "$variable" == FIELDWORK_* ]]; then record+=("$variable=${!variable}"); fi
  done
  record+=("$@")
  (umask 077 && printf '%s\0' "${record[@]}" >"$pids/$name.cmd")
  spawn "$name" "${record[@]}"
}

# PID is a live process (a zombie, exited but not yet reaped by its new parent, is not).
alive() { grep -q '^State:[[:space:]]*[^Z]' "/proc/$1/status" 2>/dev/null; }

# stop_all NAME...: SIGTERM to all at once (each service takes a few seconds to wind down),
# then SIGKILL to any still there after 20 s.
stop_all() {
  local name pid stopping=()
  for name in "$@"; do
    if pid="$(running_pid "$name")"; then
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$name:$pid")
    fi
  done
  local entry deadline=$((SECONDS + 20))
  for entry in "${stopping[@]}"; do
    name="${entry%%:*}" pid="${entry#*:}"
    while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
    if alive "$pid"; then
      echo "run.sh: $name (pid $pid) ignored SIGTERM for 20 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "stopped $name (pid $pid)"
  done
  for name in "$@"; do rm -f "$pids/$name.pid" "$pids/$name.cmd"; done
}

# Fails naming NAME and showing its log when it has exited.
require_alive() {
  local name="$1"
  if ! running_pid "$name" >/dev/null; then
    echo "run.sh: $name exited during startup; last lines of $logs/$name.log:" >&2
    tail -n 20 "$logs/$name.log" | sed 's/^/    /' >&2
    return 1
  fi
}

# free_ports N: N distinct free loopback ports, one a line. They are chosen outside the kernel's
# ephemeral range, where no outgoing connection and no bind to port 0 (the test fixtures' way)
# is given one between this choice and the service's own bind. Stacks starting side by side
# (tests run in parallel) do not choose the same port: each choice is kept for five minutes,
# plenty for a start to bind it, in a registry read and written under a lock.
free_ports() {
  "$system_python" - "$1" <<'EOF'
import fcntl, json, os, random, socket, sys, tempfile, time
count = int(sys.argv[1])
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    ephemeral_low, ephemeral_high = map(int, f.read().split())
candidates = [p for p in range(10000, 65536) if not ephemeral_low <= p <= ephemeral_high]
registry = os.path.join(tempfile.gettempdir(), f"fieldwork-run-ports-{os.getuid()}.json")
with open(registry + ".lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    now = time.time()
    try:
        with open(registry) as f:
            reserved = {int(p): t for p, t in json.load(f).items() if now - t < 300}
    except (OSError, ValueError):
        reserved = {}
    chosen = []
    for port in random.sample(candidates, len(candidates)):
        if len(chosen) == count:
            break
        if port in reserved:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
    if len(chosen) < count:
        sys.exit(f"free_ports: only {len(chosen)} of {count} free loopback ports found")
    reserved.update((port, now) for port in chosen)
    with open(registry + ".tmp", "w") as f:
        json.dump(reserved, f)
    os.replace(registry + ".tmp", registry)
print("\n".join(map(str, chosen)))
EOF
}

# grpc_healthy ADDRESS TOKEN: the server's overall health is SERVING (grpc.health.v1, raw bytes:
# an empty HealthCheckRequest asks about the whole server; SERVING is field 1 = 1).
grpc_healthy() {
  "$system_python" - "$1" "$2" <<'EOF' >/dev/null 2>&1
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1])
check = channel.unary_unary("/grpc.health.v1.Health/Check")
reply = check(b"", timeout=2, metadata=[("authorization", "Bearer " + sys.argv[2])])
sys.exit(0 if reply == b"\x08\x01" else 1)
EOF
}

# wait_until NAME SECONDS COMMAND...: polls COMMAND until it succeeds while NAME is alive.
wait_until() {
  local name="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    require_alive "$name" || return 1
    if (( SECONDS >= deadline )); then
      echo "run.sh: $name did not become ready within $seconds s (log: $logs/$name.log)" >&2
      return 1
    fi
    sleep 0.2
  done
}

# PONG only once Redis has loaded its data (while loading the AOF it answers LOADING).
redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]; }

# launch_redis PORT: Redis on loopback with its data in DIR/redis, every write in the
# append-only file and fsynced before Redis replies (what the services check for at start-up);
# no RDB snapshots, the AOF is the one copy. Waits until it has loaded what was there.
launch_redis() {
  launch redis redis-server --bind 127.0.0.1 --port "$1" --dir "$dir/redis" \
    --appendonly yes --appendfsync always --save "" --protected-mode yes
  wait_until redis 60 redis_ready "$1"
}

binary_dir() {
  local candidate
  for candidate in "${FIELDWORK_BIN_DIR:-}" "$repo/build/release/bin" "$repo/build/debug/bin"; do
    if [[ -n "$candidate" && -x "$candidate/fieldwork-randomisation" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  die "no service binaries: set FIELDWORK_BIN_DIR or build (scripts/build.sh release)"
}

# --- secrets ----------------------------------------------------------------------------------

# new_token NAME: a fresh bearer token in DIR/secrets/NAME.token (kept if already there).
new_token() {
  local file="$dir/secrets/$1.token"
  if [[ ! -s "$file" ]]; then
    "$bin/fieldwork-token" new | sed -n 's/^token: *//p' >"$file"
  fi
  [[ -s "$file" ]] || die "fieldwork-token made no token for $1"
}

token_hash() { "$bin/fieldwork-token" hash <"$dir/secrets/$1.token"; }

make_secrets() {
  mkdir -p "$dir/secrets"
  chmod 700 "$dir/secrets"
  new_token admin
  new_token services
  local key
  for key in contact link; do
    [[ -s "$dir/secrets/$key.key" ]] || openssl rand -hex 32 >"$dir/secrets/$key.key"
  done
  # The survey link key ring (services/survey_link/key_ring.h), shared by messaging (seals the
  # links in invitations) and survey-ingest (opens them): one sealing key, id 1, from the kernel.
  local ring="$dir/secrets/survey_link.keys"
  if [[ ! -s "$ring" ]]; then
    (umask 077 && {
      echo "# Made by scripts/run.sh: the first line seals survey links; never commit this file."
      echo "1 $(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
    } >"$ring")
  fi
  chmod 600 "$ring"
  {
    echo "# Made by scripts/run.sh: SHA-256 digests of the tokens in this directory."
    echo "tokens:"
    echo "  - name: admin"
    echo "    sha256: $(token_hash admin)"
    echo "    roles: [admin]"
    echo "    trials: [\"*\"]"
    echo "  - name: services"
    echo "    sha256: $(token_hash services)"
    echo "    roles: [analyst]"
    echo "    trials: [\"*\"]"
    if (( ${#partner_trials[@]} > 0 )); then
      new_token partner
      local joined
      joined="$(printf '"%s", ' "${partner_trials[@]}")"
      echo "  - name: partner"
      echo "    sha256: $(token_hash partner)"
      echo "    roles: [partner]"
      echo "    trials: [${joined%, }]"
    fi
  } >"$dir/secrets/tokens.yaml"
}

# --- commands ---------------------------------------------------------------------------------

start() {
  local name
  for name in redis smtp-sink "${services[@]}" $(started_services); do
    if running_pid "$name" >/dev/null; then
      die "already running under $dir ($name); run 'scripts/run.sh stop --dir $dir' first"
    fi
  done
  [[ -x "$system_python" ]] || die "$system_python not found (scripts/setup.sh installs it)"
  command -v redis-server >/dev/null || die "redis-server not found (scripts/setup.sh installs it)"
  bin="$(binary_dir)"
  mkdir -p "$pids" "$logs" "$dir/redis" "$dir/mail"
  rm -f "$dir/env"
  make_secrets

  # Ports: Redis, the SMTP sink and the SMS gateway, then per replica each service's gRPC and
  # metrics ports, messaging's link endpoint and survey-ingest's form.
  local ports
  mapfile -t ports < <(free_ports $((3 + 10 * replicas)))
  local redis_port=${ports[0]} smtp_port=${ports[1]} sms_port=${ports[2]} next=3
  local -A grpc_port metrics_port
  local -a http_port form_port
  local r name service
  for ((r = 1; r <= replicas; r++)); do
    for service in "${services[@]}"; do
      name="$(replica_name "$service" "$r")"
      grpc_port[$name]=${ports[next]} metrics_port[$name]=${ports[next + 1]}
      next=$((next + 2))
    done
    http_port[r]=${ports[next]} form_port[r]=${ports[next + 1]}
    next=$((next + 2))
  done
  # What callers are given for each service: its one address, or every replica's.
  local -A address_of
  for service in "${services[@]}"; do
    local list=()
    for ((r = 1; r <= replicas; r++)); do
      list+=("127.0.0.1:${grpc_port[$(replica_name "$service" "$r")]}")
    done
    if (( replicas == 1 )); then
      address_of[$service]="${list[0]}"
    else
      address_of[$service]="ipv4:$(IFS=,; echo "${list[*]}")"
    fi
  done
  local form_url="http://127.0.0.1:${form_port[1]}"
  local redis_url="redis://127.0.0.1:$redis_port"

  # If anything fails from here on, stop what was started.
  trap 'echo "run.sh: start failed; stopping what was started" >&2; stop >/dev/null' ERR

  launch_redis "$redis_port"

  launch smtp-sink "$system_python" "$repo/scripts/smtp_sink.py" "$smtp_port" "$sms_port" "$dir/mail"
  wait_until smtp-sink 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$smtp_port" 2>/dev/null

  local common=(--redis_url="$redis_url" --tokens_file="$dir/secrets/tokens.yaml"
                --metrics_bind_address=127.0.0.1 --drain_delay=0s)
  (( simulated_clock )) && common+=(--simulated_clock)
  local upstream=(--service_token_file="$dir/secrets/services.token")

  local admin_token
  admin_token="$(cat "$dir/secrets/admin.token")"
  # launch_service SERVICE R COMMAND...: replica R of SERVICE on its ports, its ports recorded
  # for start-service.
  launch_service() {
    local name
    name="$(replica_name "$1" "$2")"
    shift 2
    echo "${grpc_port[$name]}" >"$pids/$name.grpc_port"
    echo "${metrics_port[$name]}" >"$pids/$name.metrics_port"
    launch "$name" "$@" --listen_address="127.0.0.1:${grpc_port[$name]}" \
      --metrics_port="${metrics_port[$name]}"
  }
  # Each service is up before the next that calls it starts: a gRPC channel whose first connect
  # was refused backs off, and calls through it fail for a second or more.
  wait_for_replicas() {
    local r name
    for ((r = 1; r <= replicas; r++)); do
      name="$(replica_name "$1" "$r")"
      wait_until "$name" 60 grpc_healthy "127.0.0.1:${grpc_port[$name]}" "$admin_token"
    done
  }
  for ((r = 1; r <= replicas; r++)); do
    launch_service randomisation "$r" "$bin/fieldwork-randomisation" "${common[@]}"
  done
  wait_for_replicas randomisation
  # survey-ingest serves the questionnaire participants answer at $form_url/s/<token>. Every
  # participant of this stack reaches it from 127.0.0.1, as every one behind an ingress reaches
  # it from the ingress's address (services/survey_ingest/README.md): the per-address limit is
  # raised as it must be there (the demo's 1,148 trainees answer within a minute); the limit
  # per link stays.
  for ((r = 1; r <= replicas; r++)); do
    launch_service survey-ingest "$r" "$bin/fieldwork-survey-ingest" "${common[@]}" "${upstream[@]}" \
      --randomisation_address="${address_of[randomisation]}" \
      --survey_link_keys="$dir/secrets/survey_link.keys" \
      --http_listen_address="127.0.0.1:${form_port[r]}" \
      --form_rate_limit_per_address_per_minute=60000
  done
  wait_for_replicas survey-ingest
  for ((r = 1; r <= replicas; r++)); do
    launch_service messaging "$r" "$bin/fieldwork-messaging" "${common[@]}" "${upstream[@]}" \
      --randomisation_address="${address_of[randomisation]}" \
      --survey_ingest_address="${address_of[survey-ingest]}" \
      --contact_key_file="$dir/secrets/contact.key" --link_key_file="$dir/secrets/link.key" \
      --smtp_url="smtp://127.0.0.1:$smtp_port" --sms_gateway_url="http://127.0.0.1:$sms_port/" \
      --http_port="${http_port[r]}" --http_bind_address=127.0.0.1 \
      --link_base_url="http://127.0.0.1:${http_port[r]}" \
      --survey_link_keys="$dir/secrets/survey_link.keys" \
      --survey_base_url="http://127.0.0.1:${form_port[r]}"
  done
  wait_for_replicas messaging
  for ((r = 1; r <= replicas; r++)); do
    launch_service analysis "$r" "$bin/fieldwork-analysis" "${common[@]}" "${upstream[@]}" \
      --randomisation_address="${address_of[randomisation]}" \
      --survey_ingest_address="${address_of[survey-ingest]}" \
      --messaging_address="${address_of[messaging]}"
  done

  for name in $(started_services); do
    wait_until "$name" 60 grpc_healthy "127.0.0.1:${grpc_port[$name]}" "$admin_token"
    wait_until "$name" 20 curl -sf -o /dev/null "http://127.0.0.1:${metrics_port[$name]}/metrics"
  done

  local prometheus_url=""
  if (( prometheus )); then
    prometheus_url="$(FIELDWORK_PROMETHEUS_DIR="$dir/prometheus" \
      FIELDWORK_RANDOMISATION_METRICS_PORT="${metrics_port[randomisation]}" \
      FIELDWORK_MESSAGING_METRICS_PORT="${metrics_port[messaging]}" \
      FIELDWORK_SURVEY_INGEST_METRICS_PORT="${metrics_port[survey-ingest]}" \
      FIELDWORK_ANALYSIS_METRICS_PORT="${metrics_port[analysis]}" \
      "$repo/scripts/prometheus.sh" start --fast)"
  fi
  trap - ERR

  # Written last and atomically: its presence means everything is up.
  {
    echo "FIELDWORK_RANDOMISATION_ADDRESS=${address_of[randomisation]}"
    echo "FIELDWORK_SURVEY_INGEST_ADDRESS=${address_of[survey-ingest]}"
    echo "FIELDWORK_MESSAGING_ADDRESS=${address_of[messaging]}"
    echo "FIELDWORK_ANALYSIS_ADDRESS=${address_of[analysis]}"
    echo "FIELDWORK_REPLICAS=$replicas"
    echo "FIELDWORK_TOKEN=$admin_token"
    (( ${#partner_trials[@]} > 0 )) && echo "FIELDWORK_PARTNER_TOKEN=$(cat "$dir/secrets/partner.token")"
    echo "FIELDWORK_REDIS_ADDRESS=127.0.0.1:$redis_port"
    echo "FIELDWORK_REDIS_URL=$redis_url"
    echo "FIELDWORK_RANDOMISATION_METRICS_PORT=${metrics_port[randomisation]}"
    echo "FIELDWORK_MESSAGING_METRICS_PORT=${metrics_port[messaging]}"
    echo "FIELDWORK_SURVEY_INGEST_METRICS_PORT=${metrics_port[survey-ingest]}"
    echo "FIELDWORK_ANALYSIS_METRICS_PORT=${metrics_port[analysis]}"
    echo "FIELDWORK_TRACKING_URL=http://127.0.0.1:${http_port[1]}"
    echo "FIELDWORK_MAIL_DIR=$dir/mail"
    echo "FIELDWORK_SURVEY_FORM_URL=$form_url"
    [[ -n "$prometheus_url" ]] && echo "FIELDWORK_PROMETHEUS_URL=$prometheus_url"
    true
  } >"$dir/env.tmp"
  chmod 600 "$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  echo "fieldwork running under $dir (binaries: $bin$( (( simulated_clock )) && echo ', simulated clock')$( (( replicas > 1 )) && echo ", $replicas replicas of each service"))"
  echo "  source $dir/env   # addresses, admin token, ports"
  [[ -n "$prometheus_url" ]] && echo "  Prometheus: $prometheus_url"
  echo "  mail sink: $dir/mail"
}

stop() {
  if [[ -d "$dir/prometheus" ]]; then
    FIELDWORK_PROMETHEUS_DIR="$dir/prometheus" "$repo/scripts/prometheus.sh" stop || true
  fi
  # The services first (they may still write to Redis or mail on their way out), then the rest.
  local names
  mapfile -t names < <(started_services)
  (( ${#names[@]} == 0 )) || stop_all "${names[@]}"
  stop_all smtp-sink redis
  rm -f "$pids"/*.grpc_port "$pids"/*.metrics_port
  rm -f "$dir/env"
}

# env_value KEY: KEY's value in DIR/env.
env_value() { sed -n "s/^$1=//p" "$dir/env"; }

# One process of the stack again, after it crashed or was killed, from the command recorded when
# `start` launched it (the others are still running and reconnect). Nothing else is touched.
start_service() {
  local name="$service_name" known
  [[ -n "$name" ]] || { echo "run.sh: start-service needs a NAME" >&2; usage; }
  local names=(redis smtp-sink)
  mapfile -t -O 2 names < <(started_services)
  for known in "${names[@]}"; do
    [[ "$name" == "$known" ]] && break
  done
  [[ "$name" == "$known" ]] ||
    die "start-service: NAME '$name' is not one of ${names[*]}"
  [[ -f "$dir/env" ]] || die "no stack under $dir (no $dir/env): use 'start'"
  local pid
  if pid="$(running_pid "$name")"; then
    [[ "$name" == redis ]] && name=Redis
    die "$name is running under $dir (pid $pid); start-service only brings back a process that died"
  fi
  [[ -s "$pids/$name.cmd" ]] ||
    die "no record of how $name was started ($pids/$name.cmd): 'stop' and 'start' the stack"
  local command
  mapfile -d '' -t command <"$pids/$name.cmd"
  [[ -f "$logs/$name.log" ]] && mv -f "$logs/$name.log" "$logs/$name.previous.log"
  spawn "$name" "${command[@]}"

  local address
  case "$name" in
    redis)
      address="$(env_value FIELDWORK_REDIS_ADDRESS)"
      wait_until redis 60 redis_ready "${address##*:}"
      echo "redis running again on $address (data: $dir/redis)"
      return 0 ;;
    smtp-sink)
      # It prints its ports once both servers listen.
      wait_until smtp-sink 20 grep -q '^smtp sink on' "$logs/smtp-sink.log" ;;
    *)
      wait_until "$name" 60 grpc_healthy "127.0.0.1:$(cat "$pids/$name.grpc_port")" \
        "$(cat "$dir/secrets/admin.token")"
      wait_until "$name" 20 curl -sf -o /dev/null \
        "http://127.0.0.1:$(cat "$pids/$name.metrics_port")/metrics" ;;
  esac
  echo "$name running again (pid $(cat "$pids/$name.pid"))"
}

status() {
  local name pid all=0
  for name in redis smtp-sink $(started_services); do
    if pid="$(running_pid "$name")"; then
      echo "$name: running (pid $pid)"
    else
      echo "$name: stopped"
      all=1
    fi
  done
  if [[ -d "$dir/prometheus" ]]; then
    local url
    if url="$(FIELDWORK_PROMETHEUS_DIR="$dir/prometheus" "$repo/scripts/prometheus.sh" status 2>/dev/null)"; then
      echo "prometheus: running ($url)"
    else
      echo "prometheus: stopped"
    fi
  fi
  return "$all"
}

case "$command_name" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  start-redis) service_name=redis; start_service ;;
  start-service) start_service ;;
  *) usage ;;
esac
