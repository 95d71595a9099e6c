#!/usr/bin/env bash
# scripts/run.sh end to end: `start --simulated-clock --prometheus --partner-trial T` brings up
# redis-server (durable: AOF, appendfsync always), the four service binaries, the SMTP sink and
# Prometheus; every service answers the gRPC health check as SERVING and serves /metrics with
# fieldwork_redis_volatile 0; DIR/env has every agreed key; the admin
# token is accepted and an unknown one refused; the simulated clock moves with
# fieldwork-simclock; the sink writes a mail and a text to DIR/mail; Prometheus scrapes the four services;
# a second start is refused; `start-service` refuses a running process and an unknown name, and
# brings back a service killed with SIGKILL (analysis) on its old address; `stop` leaves none of the recorded processes alive and a second
# `stop` still exits 0.
#
# Environment (set by tests/e2e/cli/CMakeLists.txt): FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR.
# "A && B || fail" is meant: fail when either A or B does not hold.
# shellcheck disable=SC2015
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
run_sh=$src/scripts/run.sh
python=/usr/bin/python3
work=$(mktemp -d /tmp/fieldwork-run-sh-e2e.XXXXXX)
stack=$work/stack
cleanup() {
  "$run_sh" stop --dir "$stack" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$run_sh" start --dir "$stack" --simulated-clock --prometheus --partner-trial partner-demo \
  >"$work/start.log" 2>&1 || { cat "$work/start.log" >&2; echo "FAIL: run.sh start" >&2; exit 1; }
cat "$work/start.log"

# The env file: every agreed key, non-empty, addresses as host:port.
keys=(FIELDWORK_RANDOMISATION_ADDRESS FIELDWORK_SURVEY_INGEST_ADDRESS FIELDWORK_MESSAGING_ADDRESS
      FIELDWORK_ANALYSIS_ADDRESS FIELDWORK_TOKEN FIELDWORK_PARTNER_TOKEN FIELDWORK_REDIS_ADDRESS
      FIELDWORK_RANDOMISATION_METRICS_PORT FIELDWORK_MESSAGING_METRICS_PORT
      FIELDWORK_SURVEY_INGEST_METRICS_PORT FIELDWORK_ANALYSIS_METRICS_PORT FIELDWORK_TRACKING_URL
      FIELDWORK_MAIL_DIR FIELDWORK_PROMETHEUS_URL)
for key in "${keys[@]}"; do
  grep -qE "^$key=.+" "$stack/env" || fail "$stack/env has no $key"
done
set -a
# shellcheck disable=SC1091
source "$stack/env"
set +a
[[ $FIELDWORK_MAIL_DIR == "$stack/mail" ]] || fail "FIELDWORK_MAIL_DIR is $FIELDWORK_MAIL_DIR, not $stack/mail"

# health SERVICE ADDRESS TOKEN: prints the overall health status (raw grpc.health.v1 bytes).
health() {
  "$python" - "$1" "$2" <<'EOF'
import sys, grpc
reply = grpc.insecure_channel(sys.argv[1]).unary_unary("/grpc.health.v1.Health/Check")(
    b"", timeout=5, metadata=[("authorization", "Bearer " + sys.argv[2])])
print({b"\x08\x01": "SERVING", b"\x08\x02": "NOT_SERVING"}.get(reply, repr(reply)))
EOF
}
for service in RANDOMISATION SURVEY_INGEST MESSAGING ANALYSIS; do
  address_var=FIELDWORK_${service}_ADDRESS port_var=FIELDWORK_${service}_METRICS_PORT
  [[ ${!address_var} =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "$address_var=${!address_var} is not 127.0.0.1:PORT"
  status=$(health "${!address_var}" "$FIELDWORK_TOKEN" 2>&1) || true
  [[ $status == SERVING ]] || fail "$service health: $status"
  curl -sf "http://127.0.0.1:${!port_var}/metrics" >"$work/$service.metrics" || fail "$service /metrics did not answer"
  grep -q '^# TYPE ' "$work/$service.metrics" || fail "$service /metrics has no metric families"
  # It checked Redis's persistence at start-up and found it durable.
  grep -q '^fieldwork_redis_volatile{.*} 0$' "$work/$service.metrics" ||
    fail "$service /metrics lacks fieldwork_redis_volatile 0"
done

# Redis is durable (what the services require): the append-only file in DIR/redis, fsynced
# before every reply, no RDB snapshots.
redis_config() { redis-cli -h 127.0.0.1 -p "${FIELDWORK_REDIS_ADDRESS##*:}" config get "$1" | tail -n 1; }
[[ $(redis_config appendonly) == yes ]] || fail "Redis appendonly is $(redis_config appendonly)"
[[ $(redis_config appendfsync) == always ]] || fail "Redis appendfsync is $(redis_config appendfsync)"
[[ $(redis_config save) == "" ]] || fail "Redis saves RDB snapshots: save '$(redis_config save)'"
[[ $(redis_config dir) == "$stack/redis" ]] || fail "Redis data dir is $(redis_config dir)"

# The admin token is accepted (the service looks and finds no such trial); an unknown token is
# refused before that.
"$FIELDWORK_BIN_DIR/fieldwork" status no-such-trial >"$work/status.out" 2>&1 || true
grep -q 'no trial "no-such-trial"' "$work/status.out" ||
  { fail "fieldwork status with the admin token:"; cat "$work/status.out" >&2; }
code=0
FIELDWORK_TOKEN=fw_not_a_token "$FIELDWORK_BIN_DIR/fieldwork" status no-such-trial >"$work/bad.out" 2>&1 || code=$?
[[ $code == 4 ]] && ! grep -q 'no trial' "$work/bad.out" ||
  { fail "fieldwork status with an unknown token: exit $code, wanted 4 before any lookup:"; cat "$work/bad.out" >&2; }

# The simulated clock lives in this stack's Redis.
simclock="$FIELDWORK_BIN_DIR/fieldwork-simclock --redis_url=redis://$FIELDWORK_REDIS_ADDRESS"
$simclock set 2021-01-04T09:00:00Z >/dev/null || fail "fieldwork-simclock set"
now=$($simclock advance 168h) || fail "fieldwork-simclock advance"
[[ $now == 2021-01-11T09:00:00* ]] || fail "simulated clock after a week: $now"

# The SMTP sink (its port from the sink's log line) writes one file per message.
smtp_port=$(sed -n 's/^smtp sink on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$stack/logs/smtp-sink.log")
"$python" - "$smtp_port" <<'EOF' || fail "sending a mail to the sink"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as smtp:
    smtp.sendmail("a@example.org", ["b@example.org"],
                  "Subject: run.sh test\r\n\r\nhttp://127.0.0.1/t/abc\r\n")
EOF
mails=("$FIELDWORK_MAIL_DIR"/*.eml)
[[ ${#mails[@]} == 1 && -f ${mails[0]} ]] || fail "mail dir holds ${#mails[@]} .eml files, wanted 1"
grep -q 'Subject: run.sh test' "${mails[0]}" || fail "the mail file lacks its subject"
grep -q 'X-Sink-To: b@example.org' "${mails[0]}" || fail "the mail file lacks its recipient"
# The SMS gateway beside it takes messaging's form POST and writes one file per text.
sms_port=$(sed -n 's/.*sms gateway on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$stack/logs/smtp-sink.log")
curl -sf -o /dev/null --data-urlencode 'To=+447700900123' --data-urlencode 'Body=hello http://x/t/1' \
  "http://127.0.0.1:$sms_port/" || fail "posting a text to the SMS gateway"
texts=("$FIELDWORK_MAIL_DIR"/*.sms)
[[ ${#texts[@]} == 1 && -f ${texts[0]} ]] && grep -q '^To: +447700900123$' "${texts[0]}" ||
  fail "mail dir holds no .sms file for the text posted"

# Prometheus scrapes the four services (scrape interval 1 s in fast mode; waits for the first).
up=0
for _ in $(seq 1 100); do
  up=$(curl -sf "$FIELDWORK_PROMETHEUS_URL/api/v1/query?query=up" |
       "$python" -c 'import json,sys; print(sum(r["value"][1] == "1" for r in json.load(sys.stdin)["data"]["result"]))' || echo 0)
  [[ $up == 4 ]] && break
  sleep 0.2
done
[[ $up == 4 ]] || fail "Prometheus sees $up of 4 services up"

# A second start on the same directory is refused and changes nothing.
code=0
"$run_sh" start --dir "$stack" >"$work/again.log" 2>&1 || code=$?
[[ $code == 1 ]] && grep -q 'already running' "$work/again.log" || fail "second start: exit $code: $(cat "$work/again.log")"
"$run_sh" status --dir "$stack" >"$work/status.log" || fail "status after start: $(cat "$work/status.log")"
# start-redis only brings back a Redis that died.
code=0
"$run_sh" start-redis --dir "$stack" >"$work/start-redis.log" 2>&1 || code=$?
[[ $code == 1 ]] && grep -q 'Redis is running' "$work/start-redis.log" ||
  fail "start-redis while Redis runs: exit $code: $(cat "$work/start-redis.log")"
code=0
"$run_sh" start-service messaging --dir "$stack" >"$work/start-service.log" 2>&1 || code=$?
[[ $code == 1 ]] && grep -q 'messaging is running' "$work/start-service.log" ||
  fail "start-service messaging while it runs: exit $code: $(cat "$work/start-service.log")"
code=0
"$run_sh" start-service mailman --dir "$stack" >"$work/start-service.log" 2>&1 || code=$?
[[ $code == 1 ]] && grep -q "NAME 'mailman' is not one of" "$work/start-service.log" ||
  fail "start-service of an unknown name: exit $code: $(cat "$work/start-service.log")"
# A killed service comes back with the same command line, on the address in DIR/env.
old_pid=$(cat "$stack/pids/analysis.pid")
old_command=$(tr '\0' ' ' <"/proc/$old_pid/cmdline")
kill -KILL "$old_pid"
while grep -q '^State:[[:space:]]*[^Z]' "/proc/$old_pid/status" 2>/dev/null; do sleep 0.1; done
code=0
"$run_sh" status --dir "$stack" >"$work/status.log" || code=$?
[[ $code == 1 ]] && grep -q '^analysis: stopped' "$work/status.log" ||
  fail "status with analysis killed: exit $code: $(cat "$work/status.log")"
"$run_sh" start-service analysis --dir "$stack" >"$work/start-service.log" 2>&1 ||
  fail "start-service analysis: $(cat "$work/start-service.log")"
new_pid=$(cat "$stack/pids/analysis.pid")
[[ $new_pid != "$old_pid" && $(tr '\0' ' ' <"/proc/$new_pid/cmdline" 2>/dev/null) == "$old_command" ]] ||
  fail "analysis restarted as pid $new_pid with another command line than pid $old_pid's"
grep -q 'analysis running again' "$work/start-service.log" ||
  fail "start-service analysis: $(cat "$work/start-service.log")"
status=$(health "$FIELDWORK_ANALYSIS_ADDRESS" "$FIELDWORK_TOKEN" 2>&1) || true
[[ $status == SERVING ]] || fail "analysis health after start-service: $status"

# Stop: every recorded process gone (zombies awaiting their reaper count as gone).
recorded=$(cat "$stack"/pids/*.pid "$stack/prometheus/prometheus.pid")
"$run_sh" stop --dir "$stack" >"$work/stop.log" 2>&1 || fail "stop: $(cat "$work/stop.log")"
for pid in $recorded; do
  if grep -q '^State:[[:space:]]*[^Z]' "/proc/$pid/status" 2>/dev/null; then
    fail "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80)) still running after stop"
  fi
done
[[ ! -e $stack/env ]] || fail "$stack/env still there after stop"
code=0
"$run_sh" status --dir "$stack" >"$work/status.log" || code=$?
[[ $code == 1 ]] || fail "status after stop: exit $code"
"$run_sh" stop --dir "$stack" >/dev/null 2>&1 || fail "a second stop did not exit 0"

if (( failures > 0 )); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "run.sh: start, health, metrics, env, tokens, clock, mail sink, Prometheus, status and stop all checked"
