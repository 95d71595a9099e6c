#!/usr/bin/env bash
# The reminder guard sees a form answer at once (issue 16): on scripts/run.sh's stack with the
# simulated clock, the browser test's trial (tests/browser/fixtures: five participants, an
# invitation on Monday 4 March 2024 at 09:00 UTC and a reminder two days later). Every
# participant answers on the hosted form through the link in their invitation, with
# `fieldwork simulate responses --via_links` (over HTTP, some leaving after the first page and
# coming back), one second before the reminder is due; then the clock reaches the reminder's
# time. No reminder may reach the mail sink, and messaging must count all five as skipped by
# the guard.
#
# Environment (set by tests/e2e/survey_ingest/CMakeLists.txt): FIELDWORK_SOURCE_DIR,
# FIELDWORK_BIN_DIR.
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
fixtures=$src/tests/browser/fixtures
trial=formtest
campaign=form-invitation
work=$(mktemp -d /tmp/fieldwork-reminder-guard.XXXXXX)
stack=$work/stack
cleanup() {
  "$src/scripts/run.sh" stop --dir "$stack" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
die() {
  echo "FAIL: $*" >&2
  exit 1
}

"$src/scripts/run.sh" start --dir "$stack" --simulated-clock >"$work/start.log" 2>&1 ||
  { cat "$work/start.log" >&2; die "run.sh start"; }
set -a
# shellcheck disable=SC1091
source "$stack/env"
set +a
fieldwork() { "$FIELDWORK_BIN_DIR/fieldwork" "$@"; }
simclock() { "$FIELDWORK_BIN_DIR/fieldwork-simclock" --redis_url="$FIELDWORK_REDIS_URL" "$@"; }
clock_now() { simclock get; }
redis() { redis-cli -h 127.0.0.1 -p "${FIELDWORK_REDIS_ADDRESS##*:}" "$@"; }
# shellcheck source=scripts/lib/deliveries.sh
source "$src/scripts/lib/deliveries.sh"
# run LOG COMMAND...: its output goes to LOG, shown only when it fails.
run() {
  local log=$work/$1
  shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; die "$* failed"; }
}
delivered() { wait_for_deliveries "$trial" 60 || die "sends due by $(clock_now) still undelivered"; }
subjects() { grep -h '^Subject: ' "$FIELDWORK_MAIL_DIR"/*.eml 2>/dev/null | grep -c "$1" || true; }

run simclock.log simclock set 2024-03-04T08:00:00Z
run apply.log fieldwork apply "$fixtures/protocol.yaml"
run enrol.log fieldwork enrol "$trial" "$fixtures/roster.csv"
run contacts.log fieldwork contacts "$trial" "$fixtures/contacts.csv"
run randomise.log fieldwork randomise "$trial"
fieldwork export "$trial" >"$work/allocations.csv"
run campaign.log fieldwork campaign start "$trial" "$campaign"
run simclock.log simclock set 2024-03-04T10:00:00Z
delivered
(( $(subjects "Your survey") == 5 )) || die "$(subjects "Your survey") invitations at the sink, wanted 5"

# One second before the reminder is due, everyone answers on the form.
run simclock.log simclock set 2024-03-06T08:59:59Z
fieldwork simulate responses "$fixtures/protocol.yaml" "$work/allocations.csv" --wave=survey \
  --seed=3 --response_rate=1 --via_links="$FIELDWORK_MAIL_DIR" --contacts="$fixtures/contacts.csv" \
  >"$work/answered.out" 2>&1 || { cat "$work/answered.out" >&2; die "simulate responses --via_links"; }
grep -q "through the survey form: 5 completed" "$work/answered.out" ||
  die "not all five completed on the form: $(cat "$work/answered.out")"

# The reminder's time: the guard skips all five.
run simclock.log simclock set 2024-03-06T09:00:00Z
delivered
(( $(subjects "Reminder: your survey") == 0 )) ||
  die "$(subjects "Reminder: your survey") reminders reached the sink after everyone had answered"
fieldwork campaign status "$trial" "$campaign" >"$work/campaign.out" 2>&1 ||
  die "fieldwork campaign status: $(cat "$work/campaign.out")"
reminder_step=$(grep -E '^ +1 form-reminder ' "$work/campaign.out" | sed 's/.*(r) *//' | tr -s ' ')
[[ $reminder_step == "0 0 0 0 5 "* ]] ||
  die "campaign status, reminder step (scheduled sent failed dead skipped ...): '$reminder_step', wanted '0 0 0 0 5 ...'"
echo "answered a second before the reminder: $(cat "$work/answered.out"); reminders skipped: 5"
