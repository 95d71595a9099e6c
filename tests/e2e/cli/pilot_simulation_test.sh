#!/usr/bin/env bash
# The dictation pilot (examples/dictation.yaml) run end to end without real people: the four
# services, the SMTP sink and the simulated clock from scripts/run.sh; `fieldwork simulate`
# makes the roster and contacts; the assigned (non-random) method gives every participant the
# roster's arm; the weekly tips campaign delivers mails to the sink when the clock moves; and
# `fieldwork simulate clicks` follows a share of their tracked links on the real messaging
# tracking server, which counts exactly those clicks. Then simulated post-wave responses and
# usage outcomes import with every row accepted, and simulated leavers are recorded.
#
# Environment (set by tests/e2e/cli/CMakeLists.txt): FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR.
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
run_sh=$src/scripts/run.sh
fieldwork=$FIELDWORK_BIN_DIR/fieldwork
simclock=$FIELDWORK_BIN_DIR/fieldwork-simclock
protocol=$src/examples/dictation.yaml
work=$(mktemp -d /tmp/fieldwork-pilot-e2e.XXXXXX)
stack=$work/stack
cleanup() {
  "$run_sh" stop --dir "$stack" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# number_after WORD TEXT: the whole number after "WORD " in TEXT.
number_after() { sed -n "s/.*$1 \([0-9][0-9]*\).*/\1/p" <<<"$2" | head -n 1; }

"$run_sh" start --dir "$stack" --simulated-clock >"$work/start.log" 2>&1 ||
  { cat "$work/start.log" >&2; echo "FAIL: run.sh start" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
source "$stack/env"
set +a
cd "$work"

"$fieldwork" apply "$protocol"
out=$("$fieldwork" simulate roster "$protocol" --n=52 --seed=21 --out=sim)
echo "$out"
[[ $(number_after simulated "$out") == 52 ]] || fail "simulate roster: $out"
out=$("$fieldwork" enrol dictation sim/roster.csv)
[[ $(number_after enrolled "$out") == 52 ]] || fail "enrol: $out"
"$fieldwork" contacts dictation sim/contacts.csv
"$fieldwork" randomise dictation
"$fieldwork" export dictation >allocations.csv

# Every participant has the arm its roster row gave it (assigned, not random).
mismatches=$(python3 - <<'PY'
import csv
roster = {r["participant_id"]: r["app"] for r in csv.DictReader(open("sim/roster.csv"))}
allocated = {r["participant_id"]: r["app"] for r in csv.DictReader(open("allocations.csv"))}
print(sum(1 for p, arm in roster.items() if allocated.get(p) != arm) + abs(len(roster) - len(allocated)))
PY
)
[[ $mismatches == 0 ]] || fail "$mismatches participants do not have their roster's arm"
users=$(grep -c ',dictation,' allocations.csv || true)
[[ $users -gt 0 ]] || fail "no participant in the dictation arm"

# The first weekly tip goes to every app user once the clock reaches the campaign's start
# (the clock is put before the start first, or every week would be due at once).
"$simclock" set 2021-05-23T07:00:00Z
"$fieldwork" campaign start dictation dictation-tips
"$simclock" advance 72h
for _ in $(seq 1 120); do
  [[ $(find "$FIELDWORK_MAIL_DIR" -type f | wc -l) -ge $users ]] && break
  sleep 0.5
done
mails=$(find "$FIELDWORK_MAIL_DIR" -type f | wc -l)
[[ $mails == "$users" ]] || fail "$mails mails delivered, expected one to each of $users app users"

out=$("$fieldwork" simulate clicks "$FIELDWORK_MAIL_DIR" --rate=0.4 --seed=5)
echo "$out"
followed=$(number_after followed "$out")
[[ -n $followed && $followed -gt 0 ]] || fail "simulate clicks followed nothing: $out"
again=$("$fieldwork" simulate clicks "$FIELDWORK_MAIL_DIR" --rate=0.4 --seed=5)
[[ $(number_after followed "$again") == "$followed" ]] || fail "the same seed followed a different number: $again"
status=$("$fieldwork" campaign status dictation dictation-tips)
echo "$status"
# Step 0's arm row: ... sent failed dead skipped opened clicked. Messaging counts the messages
# clicked, so following the same links again adds none.
clicked=$(awk '$1 == "dictation" && NF >= 7 {print $NF; exit}' <<<"$status")
[[ $clicked == "$followed" ]] || fail "messaging counted $clicked messages clicked, the simulator followed $followed links"

# The post wave and usage data: every simulated row is accepted.
out=$("$fieldwork" simulate responses "$protocol" allocations.csv --wave=post --seed=21 --effect=-0.4 \
  --response_rate=0.8 --differential_attrition=10 --out=post.csv)
echo "$out"
written=$(number_after simulated "$out")
imported=$("$fieldwork" responses import dictation post post.csv)
echo "$imported"
[[ $(number_after accepted "$imported") == "$written" ]] || fail "responses: wrote $written, $imported"
out=$("$fieldwork" simulate outcomes "$protocol" allocations.csv --seed=21 --leaver_rate=0.1 --out=admin)
echo "$out"
rows=$(number_after simulated "$out")
[[ $rows == 104 ]] || fail "expected 52 × 2 usage rows (app_minutes, app_sessions): $out"
recorded=$("$fieldwork" outcomes import dictation admin/outcomes.csv)
[[ $(number_after recorded "$recorded") == "$rows" ]] || fail "outcomes: $recorded"
leavers=$(($(wc -l <admin/leavers.csv) - 1))
left=$("$fieldwork" leavers import dictation admin/leavers.csv)
[[ $(number_after recorded "$left") == "$leavers" ]] || fail "leavers: $left"

if ((failures > 0)); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "pilot simulation end to end: OK"
