#!/usr/bin/env bash
# The one-command demo: the SWING trial (examples/swing.yaml) end to end on this machine.
#
# Usage:
#   scripts/demo.sh         install what is missing, build (release), start everything under
#                           ./var and run SWING; the services stay up afterwards
#   scripts/demo.sh stop    stop everything the demo started
#
# What it does: scripts/setup.sh; scripts/build.sh release; scripts/run.sh start --dir ./var
# --simulated-clock --prometheus (redis-server, the four services, an SMTP sink and SMS gateway
# writing every message to var/mail, Prometheus); then with the fieldwork CLI: 1,148 simulated
# trainees in two cohorts (281 in 2020, 867 in 2021) enrolled with their contacts and
# randomised cohort by cohort; the four campaigns started (weekly texts to the 2020 treatment
# arm, weekly e-mails to the 2021 treatment arm, baseline and endline invitations with two
# reminders to non-responders); the simulated clock moved week by week from September 2020 to
# July 2021, each week's messages delivered before the next; about 23% of trainees answering
# each survey a few days after its invitation on survey-ingest's hosted form, through the
# personal link in their e-mail (`fieldwork simulate responses --via_links`: some leave
# part-way and come back, some open the link and abandon), so the reminders go only to the
# others; the endline's companion questionnaires (burnout, connection, sickness absence),
# which the invitation does not link, imported as the partner's CSV exports; a share of
# the tracked links followed; administrative outcomes and leavers imported; then the status
# summary, the analysis table and the HTML report (var/swing-report.html).
#
# Environment: FIELDWORK_BIN_DIR=DIR uses the binaries in DIR and skips setup and build (for a
# machine that has built already). FIELDWORK_DEMO_N="281,867" sets the cohort sizes and
# FIELDWORK_DEMO_DIR the state directory (default ./var; `stop` needs the same) — both for the
# demo's end-to-end test.
set -euo pipefail

cd "$(dirname "$0")/.."
repo="$PWD"
var="$(realpath -m "${FIELDWORK_DEMO_DIR:-$repo/var}")"
work="$var/swing"
protocol="$repo/examples/swing.yaml"

step() { printf '\n== %s\n' "$*"; }
die() { echo "demo.sh: $*" >&2; exit 1; }

if [[ "${1:-}" == stop ]]; then
  exec scripts/run.sh stop --dir "$var"
fi
[[ $# == 0 ]] || die "usage: scripts/demo.sh [stop]"
if scripts/run.sh status --dir "$var" >/dev/null 2>&1; then
  die "the demo is already running under $var; run 'scripts/demo.sh stop' first"
fi

if [[ -z "${FIELDWORK_BIN_DIR:-}" ]]; then
  step "Installing what is missing (scripts/setup.sh)"
  if [[ $EUID == 0 ]]; then scripts/setup.sh; else sudo scripts/setup.sh; fi
  step "Building (scripts/build.sh release, the binaries the demo runs)"
  # Only what run.sh and the demo start: the tests and benchmarks would double the build.
  scripts/build.sh release fieldwork fieldwork-randomisation fieldwork-survey-ingest \
    fieldwork-messaging fieldwork-analysis fieldwork-token fieldwork-simclock
  export FIELDWORK_BIN_DIR="$repo/build/release/bin"
fi
bin="$FIELDWORK_BIN_DIR"
fieldwork() { "$bin/fieldwork" "$@"; }

# A fresh trial every run: the previous demo's Redis data, mail and files go (they are only
# ever the demo's own; the tokens and keys under var/secrets are kept).
rm -rf "$var/redis" "$var/mail" "$var/prometheus" "$work" "$var/swing-report.html"
mkdir -p "$work"

step "Starting redis-server, the four services, the mail sink and Prometheus (scripts/run.sh)"
scripts/run.sh start --dir "$var" --simulated-clock --prometheus
set -a
# shellcheck disable=SC1091
source "$var/env"
set +a
simclock() { "$bin/fieldwork-simclock" --redis_url="$FIELDWORK_REDIS_URL" "$@" >/dev/null; }
clock_now() { "$bin/fieldwork-simclock" --redis_url="$FIELDWORK_REDIS_URL" get; }
redis() { redis-cli -h 127.0.0.1 -p "${FIELDWORK_REDIS_ADDRESS##*:}" "$@"; }

# shellcheck source=scripts/lib/deliveries.sh
source "$repo/scripts/lib/deliveries.sh"
# Every send of SWING due by the simulated clock's time delivered, or the demo stops.
wait_for_swing_deliveries() {
  wait_for_deliveries swing 120 ||
    die "messages due by $(clock_now) were still undelivered after 2 minutes (see $var/logs/messaging.log)"
}

# advance_to TIME: moves the simulated clock a week at a time up to TIME, letting messaging
# deliver each week's messages before the next week starts.
advance_to() {
  local target now
  target=$(date -d "$1" +%s)
  while :; do
    now=$(date -d "$(clock_now)" +%s)
    (( now < target )) || break
    if (( target - now > 7 * 86400 )); then simclock advance 168h; else simclock set "$1"; fi
    wait_for_swing_deliveries
  done
  printf '   %s: %s messages in %s\n' "$1" "$(find "$FIELDWORK_MAIL_DIR" -type f | wc -l)" "$FIELDWORK_MAIL_DIR"
}

step "The trial: protocol, roster, contacts, randomisation (simulated clock at 1 September 2020)"
simclock set 2020-09-01T08:00:00Z
fieldwork apply "$protocol"
fieldwork simulate roster "$protocol" --n="${FIELDWORK_DEMO_N:-281,867}" --seed=2020 --out="$work"
fieldwork enrol swing "$work/roster.csv"
fieldwork contacts swing "$work/contacts.csv"
fieldwork randomise swing --cohort=2020
fieldwork randomise swing --cohort=2021
fieldwork export swing >"$work/allocations.csv"
for campaign in swing-baseline-invitation swing-texts-2020 swing-emails-2021 swing-endline-invitation; do
  fieldwork campaign start swing "$campaign"
done

# answer_on_form WAVE SEED: the chosen trainees answer WAVE on the hosted form through the
# personal link in their newest invitation in the mail sink.
answer_on_form() {
  fieldwork simulate responses "$protocol" "$work/allocations.csv" --wave="$1" --seed="$2" \
    --effect=0 --response_rate=0.23 --via_links="$FIELDWORK_MAIL_DIR" --contacts="$work/contacts.csv"
}

step "Baseline survey: invitations on 7 September, answers on the form, reminders to the others"
advance_to 2020-09-10T12:00:00Z
answer_on_form baseline 11
advance_to 2020-09-28T12:00:00Z

step "The 2020 cohort's weekly texts (from 5 October) and the 2021 cohort's weekly e-mails (from 11 January)"
advance_to 2021-03-01T12:00:00Z
fieldwork simulate clicks "$FIELDWORK_MAIL_DIR" --rate=0.3 --seed=12

step "Endline survey: invitations on 7 June, answers on the form, reminders to the others"
advance_to 2021-06-10T12:00:00Z
fieldwork export swing >"$work/allocations.csv"
answer_on_form endline 13
# The companion questionnaires: the partner's exports.
for wave in endline_burnout endline_connection endline_absence; do
  fieldwork simulate responses "$protocol" "$work/allocations.csv" --wave="$wave" --seed=13 \
    --effect=0 --response_rate=0.23 --out="$work/$wave.csv"
  fieldwork responses import swing "$wave" "$work/$wave.csv"
done
advance_to 2021-07-05T12:00:00Z

step "Administrative outcomes and leavers"
fieldwork simulate outcomes "$protocol" "$work/allocations.csv" --seed=14 --leaver_rate=0.05 --out="$work"
fieldwork outcomes import swing "$work/outcomes.csv"
fieldwork leavers import swing "$work/leavers.csv"

step "fieldwork status swing"
fieldwork status swing
step "fieldwork analyse swing"
fieldwork analyse swing
step "fieldwork report swing --html $var/swing-report.html"
fieldwork report swing --html "$var/swing-report.html"

step "Where to look"
cat <<EOF
  The report:      $var/swing-report.html
  The mail sink:   $FIELDWORK_MAIL_DIR ($(find "$FIELDWORK_MAIL_DIR" -name '*.eml' | wc -l) e-mails, $(find "$FIELDWORK_MAIL_DIR" -name '*.sms' | wc -l) texts)
  Prometheus:      $FIELDWORK_PROMETHEUS_URL  (alerts: $FIELDWORK_PROMETHEUS_URL/alerts)
  The services:    source $var/env, then any fieldwork command, e.g. $bin/fieldwork status swing
  The clock:       $bin/fieldwork-simclock --redis_url=$FIELDWORK_REDIS_URL get
  Logs:            $var/logs
The services keep running; stop them with: scripts/demo.sh stop
EOF
