#!/usr/bin/env bash
# The hosted survey form in a real browser (issue 16), on scripts/run.sh's whole stack with the
# simulated clock: the protocol of fixtures/ applied with the fieldwork CLI, five participants
# enrolled with contacts and randomised, the invitation campaign started and its invitations
# delivered to the mail sink. Three participants' personal links, taken from their invitations,
# are then answered in headless Chromium (survey_form.mjs: 375x667 with the mouse, 1280x800 with
# the mouse, 375x667 with the keyboard only; axe on every kind of page; no sideways scrolling at
# 320 px; screenshots). Afterwards `fieldwork status` counts exactly those three as responded,
# arm by arm, and once the clock passes the reminder's time the sink holds reminders for the
# two who did not answer and for nobody else. Then an online experiment on the same stack
# (fixtures/experiment_protocol.yaml, experiment_form.mjs): one participant of each condition
# answers their personal pages, which must follow their allocation, as must the decisions stored.
#
# Environment (set by tests/e2e/survey_ingest/CMakeLists.txt): FIELDWORK_SOURCE_DIR,
# FIELDWORK_BIN_DIR, FIELDWORK_ARTEFACTS_DIR (screenshots and axe's findings are kept there).
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
artefacts=${FIELDWORK_ARTEFACTS_DIR:?}
here=$src/tests/browser
fixtures=$here/fixtures
chromium=/usr/bin/chromium
trial=formtest
wave=survey
campaign=form-invitation
# p01-p03 answer in the browser; p04 and p05 never do, so only they get the reminder.
responders=(p01 p02 p03)
non_responders=(p04 p05)

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }

# What the browser needs, before starting anything: a missing piece is a failure, never a skip.
[[ -x $chromium ]] || die "$chromium is missing: run scripts/setup.sh"
command -v node >/dev/null || die "node is missing: run scripts/setup.sh"
[[ $here/node_modules/.package-lock.json -nt $here/package-lock.json ]] ||
  die "tests/browser/node_modules is missing or older than its package-lock.json: run scripts/setup.sh"

# This run's artefacts only: the previous run's screenshots, findings and logs go.
mkdir -p "$artefacts"
rm -rf "$artefacts"/*.png "$artefacts/axe-findings.json" "$artefacts/logs"
work=$(mktemp -d /tmp/fieldwork-survey-form-e2e.XXXXXX)
stack=$work/stack
# Stops the stack whatever happened; after a failure its logs are kept with the artefacts.
cleanup() {
  local code=$?
  ((code == 0)) || cp -r "$stack/logs" "$artefacts/logs" 2>/dev/null || true
  "$src/scripts/run.sh" stop --dir "$stack" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
"$src/scripts/run.sh" start --dir "$stack" --simulated-clock >"$work/start.log" 2>&1 ||
  { cat "$work/start.log" >&2; die "run.sh start"; }
set -a
# shellcheck disable=SC1091
source "$stack/env"
set +a
echo "stack up in $((SECONDS - started)) s"

fieldwork() { "$FIELDWORK_BIN_DIR/fieldwork" "$@"; }
simclock() { "$FIELDWORK_BIN_DIR/fieldwork-simclock" --redis_url="$FIELDWORK_REDIS_URL" "$@"; }
redis() { redis-cli -h 127.0.0.1 -p "${FIELDWORK_REDIS_ADDRESS##*:}" "$@"; }
# run LOG COMMAND...: runs a setup step; its output goes to LOG, shown only when it fails.
run() {
  local log=$work/$1
  shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; die "$* failed"; }
}

# shellcheck source=scripts/lib/deliveries.sh
source "$src/scripts/lib/deliveries.sh"
clock_now() { simclock get; }
# Every send of the trial due by the simulated clock's time delivered, or the test fails.
wait_for_trial_deliveries() {
  wait_for_deliveries "$trial" 60 ||
    die "messages due by $(simclock get) still undelivered after 60 s (see $stack/logs/messaging.log)"
}
# wait_for_deliveries finds nothing to wait for in keys that do not exist: make sure they do.
check_delivery_keys() {
  [[ $(redis exists "fw:{$trial}:msg:stream" "fw:{$trial}:msg:due") == 2 ]] ||
    die "messaging's keys fw:{$trial}:msg:stream and :due are not where wait_for_deliveries looks"
}

# mails SUBJECT_PREFIX: "recipient link" for each mail at the sink whose subject starts so. The
# sink writes each message as received (8bit text, X-Sink-To naming the envelope recipient).
mails() {
  local file
  for file in "$FIELDWORK_MAIL_DIR"/*.eml; do
    [[ -e $file ]] || continue
    grep -q "^Subject: $1" "$file" || continue
    printf '%s %s\n' "$(sed -n 's/^X-Sink-To: //p' "$file" | tr -d '\r' | head -n 1)" \
      "$(grep -o "$FIELDWORK_SURVEY_FORM_URL/s/[A-Za-z0-9_-]*" "$file" | head -n 1)"
  done | sort
}

# The trial, on Monday 4 March 2024 before the invitation's 09:00.
run simclock.log simclock set 2024-03-04T08:00:00Z
run apply.log fieldwork apply "$fixtures/protocol.yaml"
run enrol.log fieldwork enrol "$trial" "$fixtures/roster.csv"
run contacts.log fieldwork contacts "$trial" "$fixtures/contacts.csv"
run randomise.log fieldwork randomise "$trial"
fieldwork export "$trial" >"$work/allocations.csv" 2>"$work/export.log" ||
  { cat "$work/export.log" >&2; die "fieldwork export failed"; }
run campaign.log fieldwork campaign start "$trial" "$campaign"
run simclock.log simclock set 2024-03-04T10:00:00Z
check_delivery_keys
wait_for_trial_deliveries

# One invitation per participant, each with its own personal link.
mails "Your survey" >"$work/invitations"
[[ $(wc -l <"$work/invitations") == 5 ]] || die "$(wc -l <"$work/invitations") invitations at the sink, wanted 5: $(cat "$work/invitations")"
link_of() { awk -v to="$1@example.org" '$1 == to {print $2}' "$work/invitations"; }
for p in "${responders[@]}" "${non_responders[@]}"; do
  [[ -n $(link_of "$p") ]] || die "no survey link in $p's invitation"
done
[[ $(awk '{print $2}' "$work/invitations" | sort -u | wc -l) == 5 ]] ||
  fail "the five invitations do not carry five different links"

# The browser part. Its own failures are listed by it; the test goes on to the checks below.
browser_started=$SECONDS
CHROMIUM=$chromium ARTEFACTS_DIR=$artefacts \
  MOUSE_375_LINK=$(link_of p01) MOUSE_1280_LINK=$(link_of p02) KEYBOARD_375_LINK=$(link_of p03) \
  node "$here/survey_form.mjs" ||
  fail "the browser run (survey_form.mjs) failed"
echo "browser runs took $((SECONDS - browser_started)) s"

# `fieldwork status`: the wave's line under "response rate by arm and wave" ("survey  ARM n/N
# (x%) ...; overall x%") counts p01-p03, each in their own arm.
fieldwork status "$trial" >"$work/status.out" 2>&1 || fail "fieldwork status: $(cat "$work/status.out")"
status_line=$(grep -E "^ +$wave +.*; overall " "$work/status.out" || true)
echo "fieldwork status: $status_line"
# arm_of P: P's arm of the factor `arm`, from the export's column of that name.
arm_of() {
  awk -F, -v p="$1" 'NR == 1 {for (i = 1; i <= NF; ++i) if ($i == "arm") c = i}
                     NR > 1 && $1 == p && c {print $c}' "$work/allocations.csv"
}
for arm in treatment control; do
  want_responded=0 want_randomised=0
  for p in "${responders[@]}" "${non_responders[@]}"; do
    [[ -n $(arm_of "$p") ]] || die "no arm for $p in fieldwork export: $(cat "$work/allocations.csv")"
    [[ $(arm_of "$p") == "$arm" ]] || continue
    want_randomised=$((want_randomised + 1))
    [[ " ${responders[*]} " == *" $p "* ]] && want_responded=$((want_responded + 1))
  done
  [[ $status_line == *" $arm $want_responded/$want_randomised "* ]] ||
    fail "status shows no '$arm $want_responded/$want_randomised' on the $wave line: '$status_line' ($(cat "$work/status.out"))"
done
[[ $status_line == *"; overall 60.0%" ]] || fail "status's $wave line is not 3 of 5 overall: '$status_line'"

# The reminder step (Wednesday 09:00): only the two who did not answer get it.
run simclock.log simclock set 2024-03-06T10:00:00Z
wait_for_trial_deliveries
mails "Reminder: your survey" >"$work/reminders"
expected=$(for p in "${non_responders[@]}"; do echo "$p@example.org $(link_of "$p")"; done | sort)
[[ $(cat "$work/reminders") == "$expected" ]] ||
  fail "reminders at the sink (recipient link): '$(cat "$work/reminders")', wanted only: '$expected'"
[[ $(mails "Your survey" | wc -l) == 5 ]] || fail "invitations were sent again with the reminders"
# Messaging's own account of the reminder step agrees: nothing left scheduled, 2 sent, and the
# 3 who answered skipped at send time by the reminder guard.
fieldwork campaign status "$trial" "$campaign" >"$work/campaign.out" 2>&1 ||
  fail "fieldwork campaign status: $(cat "$work/campaign.out")"
reminder_step=$(grep -E '^ +1 form-reminder ' "$work/campaign.out" | sed 's/.*(r) *//' | tr -s ' ')
[[ $reminder_step == "0 2 0 0 3 "* ]] ||
  fail "campaign status, reminder step (scheduled sent failed dead skipped ...): '$reminder_step', wanted '0 2 0 0 3 ...'"
echo "reminders to: $(awk '{print $1}' "$work/reminders" | tr '\n' ' ')"

# Second part: an online experiment (fixtures/experiment_protocol.yaml) on the same stack and
# roster. One participant of each condition answers in the browser (experiment_form.mjs); each
# application must carry the name the participant's latin-square row gives it, on the page and
# in the decisions `fieldwork responses decisions` exports.
experiment=exptest
run apply-experiment.log fieldwork apply "$fixtures/experiment_protocol.yaml"
run enrol-experiment.log fieldwork enrol "$experiment" "$fixtures/roster.csv"
run contacts-experiment.log fieldwork contacts "$experiment" "$fixtures/contacts.csv"
run randomise-experiment.log fieldwork randomise "$experiment"
fieldwork export "$experiment" >"$work/experiment-allocations.csv" 2>"$work/export.log" ||
  { cat "$work/export.log" >&2; die "fieldwork export $experiment failed"; }
run campaign-experiment.log fieldwork campaign start "$experiment" study-invitation
run simclock.log simclock set 2024-03-06T12:00:00Z
wait_for_deliveries "$experiment" 60 || die "the experiment's invitations still undelivered after 60 s"
mails "Your study" >"$work/experiment-invitations"
# column COLUMN P: P's value of the export's column COLUMN.
column() {
  awk -F, -v p="$2" -v name="$1" 'NR == 1 {for (i = 1; i <= NF; ++i) if ($i == name) c = i}
                                  NR > 1 && $1 == p && c {print $c}' "$work/experiment-allocations.csv"
}
# The candidate texts of P's row, in order, "|"-separated, from the instrument's stimuli.
names_of() {
  python3 -c 'import sys, yaml
stimuli = {s["id"]: s["text"] for s in yaml.safe_load(open(sys.argv[1]))["decisions"][0]["stimuli"]}
print("|".join(stimuli[n] for n in sys.argv[2].split(">")))' "$fixtures/experiment_instrument.yaml" "$(column names "$1")"
}
joint="" separate=""
for p in "${responders[@]}" "${non_responders[@]}"; do
  case $(column evaluation "$p") in
    joint) [[ -n $joint ]] || joint=$p ;;
    separate) [[ -n $separate ]] || separate=$p ;;
  esac
done
[[ -n $joint && -n $separate ]] || die "no participant of each condition: $(cat "$work/experiment-allocations.csv")"
experiment_link() { awk -v to="$1@example.org" '$1 == to {print $2}' "$work/experiment-invitations"; }
CHROMIUM=$chromium ARTEFACTS_DIR=$artefacts \
  JOINT_LINK=$(experiment_link "$joint") JOINT_NAMES=$(names_of "$joint") \
  SEPARATE_LINK=$(experiment_link "$separate") SEPARATE_NAMES=$(names_of "$separate") \
  node "$here/experiment_form.mjs" || fail "the experiment's browser run (experiment_form.mjs) failed"
fieldwork responses decisions "$experiment" --wave=study >"$work/decisions.csv" 2>&1 ||
  fail "fieldwork responses decisions: $(cat "$work/decisions.csv")"
for p in "$joint" "$separate"; do
  stored=$(awk -F, -v p="$p" '$1 == p {printf "%s%s", sep, $7; sep = ">"}' "$work/decisions.csv")
  [[ $stored == "$(column names "$p")" ]] ||
    fail "$p's stored decisions show '$stored', the allocation's row is '$(column names "$p")'"
done
echo "online experiment: $joint (joint) and $separate (separate) answered; decisions stored as shown"

echo "wall time $((SECONDS - started)) s"
if ((failures > 0)); then
  cat "$work/campaign.out" >&2 2>/dev/null || true
  echo "$failures check(s) failed; the services' logs are kept in $artefacts/logs" >&2
  exit 1
fi
echo "survey form in Chromium: 3 participants answered (mouse 375 and 1280 px, keyboard only)," \
  "axe clean of serious and critical, no sideways scroll at 320 px; status and reminders agree;" \
  "the online experiment's pages as each participant's allocation says"
