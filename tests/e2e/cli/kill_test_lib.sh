# shellcheck shell=bash disable=SC2034  # sets variables for the scripts that source it
# Sourced by the kill tests on scripts/run.sh's stack (redis_kill_test.sh,
# messaging_kill_test.sh): the stack in a temporary directory, stopped and removed on exit;
# failure counting; the mail at the sink; and a background killer that SIGKILLs one process of
# the stack in the middle of some work and brings it back with `run.sh start-service`.
#
# Needs FIELDWORK_SOURCE_DIR and FIELDWORK_BIN_DIR. Sets src, run_sh, fieldwork, simclock, work
# (the temporary directory, the current directory after kill_test_start) and stack (the stack's
# DIR), and exports the stack's DIR/env.

src=${FIELDWORK_SOURCE_DIR:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
run_sh=$src/scripts/run.sh
fieldwork=$FIELDWORK_BIN_DIR/fieldwork
simclock=$FIELDWORK_BIN_DIR/fieldwork-simclock

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
number_after() { sed -n "s/.*$1 \([0-9][0-9]*\).*/\1/p" <<<"$2" | head -n 1; }
mail_count() { find "$FIELDWORK_MAIL_DIR" -name '*.eml' | wc -l; }

killer=
kill_test_cleanup() {
  if [[ -n $killer ]]; then kill "$killer" 2>/dev/null || true; fi
  "$run_sh" stop --dir "$stack" >/dev/null 2>&1 || true
  rm -rf "$work"
}

# kill_test_start NAME: the stack (simulated clock) under a fresh /tmp/fieldwork-NAME-e2e.*,
# its env exported; exits the test if it does not start.
kill_test_start() {
  work=$(mktemp -d "/tmp/fieldwork-$1-e2e.XXXXXX")
  stack=$work/stack
  trap kill_test_cleanup EXIT
  "$run_sh" start --dir "$stack" --simulated-clock >"$work/start.log" 2>&1 ||
    { cat "$work/start.log" >&2; echo "FAIL: run.sh start" >&2; exit 1; }
  set -a
  # shellcheck disable=SC1091
  source "$stack/env"
  set +a
  cd "$work" || exit 1
}

# kill_when SERVICE NAME THRESHOLD COUNT_COMMAND...: once COUNT_COMMAND prints a number >=
# THRESHOLD, SIGKILLs SERVICE (its pid in DIR/pids), writes that number to NAME.killed, waits a
# second (calls to it fail meanwhile), writes COUNT_COMMAND's count then to NAME.before_restart
# and starts it again (run.sh start-service, output in NAME.restart.log).
kill_when() {
  local service=$1 name=$2 threshold=$3 count
  shift 3
  for _ in $(seq 1 1200); do
    count=$("$@" 2>/dev/null || echo 0)
    if ((count >= threshold)); then
      kill -KILL "$(cat "$stack/pids/$service.pid")"
      echo "$count" >"$work/$name.killed"
      sleep 1
      "$@" >"$work/$name.before_restart" 2>/dev/null || true
      "$run_sh" start-service "$service" --dir "$stack" >"$work/$name.restart.log" 2>&1 ||
        echo "start-service $service failed" >>"$work/$name.killed"
      return 0
    fi
    sleep 0.05
  done
  echo never >"$work/$name.killed"
}
# start_killer SERVICE NAME THRESHOLD COUNT_COMMAND...: kill_when in the background.
start_killer() {
  kill_when "$@" &
  killer=$!
}
# wait_killer NAME: waits for the killer; killed_at is the count at the kill (0: no kill).
wait_killer() {
  wait "$killer" || true
  killer=
  local killed
  killed=$(cat "$work/$1.killed" 2>/dev/null || echo never)
  killed_at=0
  if [[ $killed =~ ^[0-9]+$ ]]; then
    killed_at=$killed
  else
    fail "$1: not killed and restarted: $killed $(cat "$work/$1.restart.log" 2>/dev/null)"
  fi
}
