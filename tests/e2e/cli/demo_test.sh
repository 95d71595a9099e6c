#!/usr/bin/env bash
# scripts/demo.sh (the README's first command) end to end with the built binaries and smaller
# cohorts (FIELDWORK_DEMO_N), its state in a temporary FIELDWORK_DEMO_DIR: it exits 0, prints the
# status summary, the analysis table and where to look, writes the HTML report, delivered the
# texts and e-mails into the mail sink, leaves the services running (status 0), and
# `scripts/demo.sh stop` stops every process it started. Setup and build are not run here
# (FIELDWORK_BIN_DIR is set): scripts/test.sh has built already.
#
# Environment (set by tests/e2e/cli/CMakeLists.txt): FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR.
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
work=$(mktemp -d /tmp/fieldwork-demo-e2e.XXXXXX)
export FIELDWORK_DEMO_DIR=$work/var FIELDWORK_DEMO_N=28,86
cleanup() {
  "$src/scripts/demo.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
contains() { grep -qF -- "$1" "$work/demo.out" || fail "the demo's output has no \"$1\""; }

code=0
"$src/scripts/demo.sh" >"$work/demo.out" 2>&1 || code=$?
if [[ $code != 0 ]]; then
  tail -n 40 "$work/demo.out" >&2
  echo "FAIL: scripts/demo.sh exited $code" >&2
  exit 1
fi
contains "enrolled 114, unchanged 0, rejected 0"
contains "newly allocated 28, already allocated 0"
contains "newly allocated 86, already allocated 0"
contains "trial swing ("
contains "wellbeing (primary): n = "
contains "attrition, wellbeing"
contains "== Where to look"
contains "scripts/demo.sh stop"
[[ -s $FIELDWORK_DEMO_DIR/swing-report.html ]] || fail "no report at $FIELDWORK_DEMO_DIR/swing-report.html"
grep -q '<html' "$FIELDWORK_DEMO_DIR/swing-report.html" || fail "the report is not HTML"
emails=$(find "$FIELDWORK_DEMO_DIR/mail" -name '*.eml' | wc -l)
texts=$(find "$FIELDWORK_DEMO_DIR/mail" -name '*.sms' | wc -l)
# Every trainee gets both invitations; the 2020 treatment arm (14 of 28) 8 texts each.
(( emails >= 2 * 114 )) || fail "only $emails e-mails in the sink"
(( texts == 8 * 14 )) || fail "$texts texts in the sink, wanted 8 x 14"
grep -q 'http' "$FIELDWORK_DEMO_DIR/env" || fail "no env file while the demo's services run"

# Both surveys were answered on the hosted form through the invitations' links, and nobody who
# completed one got a reminder for it: each survey's two reminders went to exactly the others
# (114 trainees, none withdrawn; answers arrive before the first reminder is due).
reminders=$(grep -l '^Subject: Reminder: the SWING well-being survey' "$FIELDWORK_DEMO_DIR"/mail/*.eml | wc -l)
completed_total=0
for wave in baseline endline; do
  line=$(grep -o "answered wave $wave through the survey form: [0-9]* completed" "$work/demo.out" || true)
  [[ -n $line ]] || { fail "no answers to $wave through the form"; continue; }
  completed=${line##*form: }; completed=${completed% completed}
  (( completed > 0 )) || fail "nobody completed $wave on the form"
  completed_total=$((completed_total + completed))
done
(( reminders == 2 * (2 * 114 - completed_total) )) ||
  fail "$reminders reminders sent, wanted 2 x (228 - $completed_total completed on the form)"
grep -q 'instead of the form' "$work/demo.out" && fail "a participant was shown a notice, not the form"
# fieldwork status shows the form's funnel, every trainee invited to both surveys.
contains "survey form by wave and arm (messages): invited, opened the link, started, completed"
invited=$(grep -oE '^ +(treatment|control) +invited +[0-9]+' "$work/demo.out" | awk '{s += $3} END {print s + 0}')
(( invited == 2 * 114 )) || fail "the status funnel counts $invited invited, wanted 2 x 114"
"$src/scripts/run.sh" status --dir "$FIELDWORK_DEMO_DIR" >"$work/status.out" ||
  fail "the services are not all running after the demo: $(cat "$work/status.out")"

recorded=$(cat "$FIELDWORK_DEMO_DIR"/pids/*.pid "$FIELDWORK_DEMO_DIR/prometheus/prometheus.pid")
"$src/scripts/demo.sh" stop >"$work/stop.out" 2>&1 || fail "demo.sh stop: $(cat "$work/stop.out")"
for pid in $recorded; do
  if grep -q '^State:[[:space:]]*[^Z]' "/proc/$pid/status" 2>/dev/null; then
    fail "pid $pid still running after demo.sh stop"
  fi
done

if (( failures > 0 )); then
  echo "$failures check(s) failed; the demo's output:" >&2
  sed 's/^/    /' "$work/demo.out" >&2
  exit 1
fi
echo "scripts/demo.sh: SWING end to end ($emails e-mails, $texts texts, report written), stopped cleanly"
