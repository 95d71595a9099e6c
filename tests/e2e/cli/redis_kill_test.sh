#!/usr/bin/env bash
# Redis killed with SIGKILL in the middle of the work, on scripts/run.sh's stack (the real
# binaries, Redis with appendonly yes and appendfsync always), and brought back on the same port
# and data directory with `scripts/run.sh start-service redis` while the services keep running:
#  (b) an enrolment: the dictation pilot's simulated roster enrolled in chunks (`fieldwork
#      enrol`, one call per chunk, each acknowledged chunk logged) while Redis is killed;
#  (a) a messaging campaign: the pre-survey invitation to everyone, killed once part of the
#      mail has reached the SMTP sink (DIR/mail, one file per message);
#  (c) a CSV import: the simulated pre-wave responses imported in chunks (`fieldwork responses
#      import`) while Redis is killed.
# A call that fails while Redis is down is retried as a client would (every call is
# idempotent). Then, through the APIs and at the sink: every participant and response
# acknowledged before a kill is there, every participant is enrolled and allocated once with the
# allocation unchanged by the later kills, every participant got the invitation exactly once
# (no Message-ID twice), and each kill really fell in the middle of its piece of work.
# Prints the counts (sent, unique Message-IDs, acknowledged before the kill, present).
#
# Environment (set by tests/e2e/cli/CMakeLists.txt): FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR,
# FIELDWORK_PYTHON (a python3 with grpcio), FIELDWORK_PYTHON_STUBS_DIR. FIELDWORK_KILL_TEST_N
# sets the number of participants (default 2000).
set -euo pipefail

python=${FIELDWORK_PYTHON:?}
export PYTHONPATH=${FIELDWORK_PYTHON_STUBS_DIR:?}
n=${FIELDWORK_KILL_TEST_N:-2000}
protocol=${FIELDWORK_SOURCE_DIR:?}/examples/dictation.yaml
# shellcheck source-path=SCRIPTDIR source=kill_test_lib.sh
source "$(dirname "$0")/kill_test_lib.sh"

# Messaging reclaims stream entries a worker read but could not finish (Redis died under it)
# once they have been idle this long; the default, 5 minutes, is for production.
export FIELDWORK_RECLAIM_IDLE=10s
kill_test_start redis-kill

# The services checked run.sh's Redis at start-up and found it durable.
for service in RANDOMISATION SURVEY_INGEST MESSAGING ANALYSIS; do
  port_var=FIELDWORK_${service}_METRICS_PORT
  curl -sf -o "$work/$service.metrics" "http://127.0.0.1:${!port_var}/metrics" || true
  grep -q '^fieldwork_redis_volatile{.*} 0$' "$work/$service.metrics" ||
    fail "$service does not export fieldwork_redis_volatile 0"
done

# retry NAME COMMAND...: runs COMMAND until it exits 0 (at most 240 tries, 0.25 s apart),
# keeping its last output in $work/NAME.out and the failed tries' exit codes in NAME.codes.
retry() {
  local name=$1 code
  shift
  for _ in $(seq 1 240); do
    code=0
    "$@" >"$work/$name.out" 2>&1 || code=$?
    ((code == 0)) && return 0
    echo "$code" >>"$work/$name.codes"
    sleep 0.25
  done
  fail "$name: still failing after 240 tries: $(cat "$work/$name.out")"
  return 1
}
acked_lines() { wc -l <"$1" 2>/dev/null || echo 0; }

# --- (b) enrolment ---------------------------------------------------------------------------
"$fieldwork" apply "$protocol" >"$work/apply.log"
"$fieldwork" simulate roster "$protocol" --n="$n" --seed=14 --out=sim >/dev/null
# chunk_files CSV HEADER_ROWS ROWS PREFIX: CSV split into files of ROWS records, each with the
# HEADER_ROWS header records (a Qualtrics export has three); prints the files' names.
chunk_files() {
  "$python" - "$@" <<'PY'
import csv, sys
path, header_rows, rows, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
records = list(csv.reader(open(path, newline="")))
header, data = records[:header_rows], records[header_rows:]
for i in range(0, len(data), rows):
    name = "%s-%04d.csv" % (prefix, i // rows)
    with open(name, "w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(header + data[i:i + rows])
    print(name)
PY
}
# ids_in HEADER_ROWS COLUMN FILE...: the values of COLUMN (named in the first header record) in
# the FILEs' data records, one a line, sorted.
ids_in() {
  "$python" - "$@" <<'PY' | sort
import csv, sys
header_rows, column = int(sys.argv[1]), sys.argv[2]
for path in sys.argv[3:]:
    records = list(csv.reader(open(path, newline="")))
    index = records[0].index(column)
    for record in records[header_rows:]:
        print(record[index])
PY
}
mapfile -t roster_chunks < <(chunk_files sim/roster.csv 1 25 roster)
: >enrol.acked
start_killer redis enrol $((${#roster_chunks[@]} * 3 / 8)) acked_lines enrol.acked
enrol_stored=0
for chunk in "${roster_chunks[@]}"; do
  retry enrol "$fieldwork" enrol dictation "$chunk" || break
  out=$(cat "$work/enrol.out")
  enrol_stored=$((enrol_stored + $(number_after enrolled "$out") + $(number_after unchanged "$out")))
  echo "$chunk" >>enrol.acked
done
wait_killer enrol
enrol_killed_at=$killed_at
# Participants acknowledged before the kill: those of the chunks acknowledged by then.
mapfile -t before < <(head -n "$enrol_killed_at" enrol.acked)
ids_in 1 participant_id "${before[@]}" >enrol.before
[[ $enrol_stored == "$n" ]] || fail "enrol: the chunks' replies count $enrol_stored stored, wanted $n"
(( enrol_killed_at > 0 && enrol_killed_at < ${#roster_chunks[@]} )) ||
  fail "enrol: the kill came after $enrol_killed_at of ${#roster_chunks[@]} chunks, not in the middle"

# list_ids participants|responses: the participant ids the services hold (one a line, sorted).
list_ids() {
  "$python" - "$1" <<'PY' | sort
import os, sys, grpc
from fieldwork.v1 import randomisation_pb2, randomisation_pb2_grpc
from fieldwork.v1 import survey_ingest_pb2, survey_ingest_pb2_grpc
metadata = [("authorization", "Bearer " + os.environ["FIELDWORK_TOKEN"])]
if sys.argv[1] == "participants":
    stub = randomisation_pb2_grpc.RandomisationServiceStub(
        grpc.insecure_channel(os.environ["FIELDWORK_RANDOMISATION_ADDRESS"]))
    for reply in stub.ListParticipants(randomisation_pb2.ListParticipantsRequest(trial_id="dictation"),
                                       metadata=metadata, timeout=60):
        print(reply.status.participant.participant_id)
else:
    stub = survey_ingest_pb2_grpc.SurveyIngestServiceStub(
        grpc.insecure_channel(os.environ["FIELDWORK_SURVEY_INGEST_ADDRESS"]))
    for reply in stub.ListResponses(survey_ingest_pb2.ListResponsesRequest(
            trial_id="dictation", wave_id="pre", include_not_counted=True), metadata=metadata, timeout=60):
        print(reply.response.participant_id)
PY
}
list_ids participants >participants.present || fail "ListParticipants failed"
ids_in 1 participant_id sim/roster.csv >participants.all
enrol_lost=$(comm -23 enrol.before participants.present | wc -l)
[[ $enrol_lost == 0 ]] || fail "enrol: $enrol_lost participants acknowledged before the kill are missing"
[[ $(uniq -d participants.present | wc -l) == 0 ]] || fail "enrol: a participant is listed twice"
cmp -s participants.all participants.present ||
  fail "enrol: $(wc -l <participants.present) participants present, wanted the roster's $n"

# Contacts only for enrolled participants (messaging asks randomisation).
"$fieldwork" contacts dictation sim/contacts.csv >/dev/null
"$fieldwork" randomise dictation >/dev/null
"$fieldwork" export dictation >allocations.csv
[[ $(($(wc -l <allocations.csv) - 1)) == "$n" ]] || fail "randomise: $(($(wc -l <allocations.csv) - 1)) allocations, wanted $n"

# --- (a) a messaging campaign ----------------------------------------------------------------
"$simclock" set 2021-05-09T07:00:00Z
"$fieldwork" campaign start dictation dictation-pre-invitation >/dev/null
start_killer redis campaign $((n / 5)) mail_count
"$simclock" advance 48h >/dev/null
# Until every participant has mail, or nothing new arrived for 60 s. Sends whose attempt failed
# while Redis was down are retried after a backoff on the simulated clock, so once Redis is back
# and the mail stops, the clock moves on an hour (as time would pass).
last=-1 still=0
while ((still < 240)); do
  now=$(mail_count)
  ((now >= n)) && [[ -f $work/campaign.killed ]] && break
  if ((now == last)); then still=$((still + 1)); else still=0 last=$now; fi
  if ((still > 0 && still % 8 == 0)) && grep -q 'running again' "$work/campaign.restart.log" 2>/dev/null; then
    "$simclock" advance 1h >/dev/null
    clock_moves=$((${clock_moves:-0} + 1))
  fi
  sleep 0.25
done
wait_killer campaign
campaign_killed_at=$killed_at
sleep 2  # anything sent twice would arrive now
(( campaign_killed_at > 0 && campaign_killed_at < n )) ||
  fail "campaign: the kill came with $campaign_killed_at of $n mails sent, not in the middle"
"$python" - "$FIELDWORK_MAIL_DIR" sim/contacts.csv >campaign.counts <<'PY'
import collections, csv, email, os, sys
mail_dir, contacts = sys.argv[1], sys.argv[2]
participant_of = {r["email"].lower(): r["participant_id"] for r in csv.DictReader(open(contacts))}
ids, recipients = collections.Counter(), collections.Counter()
files = sorted(f for f in os.listdir(mail_dir) if f.endswith(".eml"))
for name in files:
    message = email.message_from_binary_file(open(os.path.join(mail_dir, name), "rb"))
    ids[message["Message-ID"]] += 1
    for to in message.get_all("X-Sink-To", []):
        recipients[participant_of.get(to.lower(), "unknown:" + to)] += 1
print("sent", len(files))
print("unique_message_ids", len(ids))
print("duplicate_message_ids", sum(1 for c in ids.values() if c > 1))
print("participants_reached", sum(1 for p in recipients if not p.startswith("unknown:")))
print("participants_twice", sum(1 for c in recipients.values() if c > 1))
print("unknown_recipients", sum(1 for p in recipients if p.startswith("unknown:")))
PY
count_of() { awk -v k="$1" '$1 == k {print $2}' campaign.counts; }
[[ $(count_of sent) == "$n" ]] || fail "campaign: $(count_of sent) mails at the sink, wanted $n"
[[ $(count_of unique_message_ids) == "$n" ]] || fail "campaign: $(count_of unique_message_ids) unique Message-IDs, wanted $n"
[[ $(count_of duplicate_message_ids) == 0 ]] || fail "campaign: $(count_of duplicate_message_ids) Message-IDs sent twice"
[[ $(count_of participants_reached) == "$n" ]] || fail "campaign: $(count_of participants_reached) participants reached, wanted $n"
[[ $(count_of participants_twice) == 0 ]] || fail "campaign: $(count_of participants_twice) participants got the invitation twice"
[[ $(count_of unknown_recipients) == 0 ]] || fail "campaign: mail to $(count_of unknown_recipients) addresses of no participant"
"$fieldwork" campaign status dictation dictation-pre-invitation >campaign.status 2>&1 || true

# --- (c) a CSV import ------------------------------------------------------------------------
"$fieldwork" simulate responses "$protocol" allocations.csv --wave=pre --seed=14 --response_rate=1 \
  --out=pre.csv >/dev/null
ids_in 3 ExternalReference pre.csv >responses.all
responses_total=$(wc -l <responses.all)
mapfile -t response_chunks < <(chunk_files pre.csv 3 50 responses)
: >import.acked
start_killer redis import $((${#response_chunks[@]} * 3 / 8)) acked_lines import.acked
already_imported=0
for chunk in "${response_chunks[@]}"; do
  retry import "$fieldwork" responses import dictation pre "$chunk" || break
  grep -q 'already imported' "$work/import.out" && already_imported=$((already_imported + 1))
  echo "$chunk" >>import.acked
done
wait_killer import
import_killed_at=$killed_at
(( import_killed_at > 0 && import_killed_at < ${#response_chunks[@]} )) ||
  fail "import: the kill came after $import_killed_at of ${#response_chunks[@]} files, not in the middle"
mapfile -t before < <(head -n "$import_killed_at" import.acked)
ids_in 3 ExternalReference "${before[@]}" >import.before
list_ids responses >responses.present || fail "ListResponses failed"
import_lost=$(comm -23 import.before responses.present | wc -l)
[[ $import_lost == 0 ]] || fail "import: $import_lost responses acknowledged before the kill are missing"
[[ $(uniq -d responses.present | wc -l) == 0 ]] || fail "import: a participant has two responses to the wave"
cmp -s responses.all responses.present ||
  fail "import: $(wc -l <responses.present) responses present, wanted the file's $responses_total"

# The allocations acknowledged before the campaign's and the import's kills are unchanged.
"$fieldwork" export dictation >allocations.after.csv
cmp -s <(sort allocations.csv) <(sort allocations.after.csv) || fail "the allocations changed across the kills"

echo "enrolment: $n participants in ${#roster_chunks[@]} calls; Redis killed after $enrol_killed_at" \
  "acknowledged calls ($(wc -l <enrol.before) participants acknowledged before the kill);" \
  "present $(wc -l <participants.present), lost $enrol_lost; failed tries $(wc -l <"$work/enrol.codes" 2>/dev/null || echo 0)"
echo "allocations: $(($(wc -l <allocations.csv) - 1)) acknowledged, unchanged after the later kills:" \
  "$(cmp -s <(sort allocations.csv) <(sort allocations.after.csv) && echo yes || echo no)"
echo "campaign: Redis killed with $campaign_killed_at of $n mails at the sink; simulated clock moved" \
  "${clock_moves:-0} h for the retries; $(tr '\n' ' ' <campaign.counts)"
echo "import: $responses_total responses in ${#response_chunks[@]} files; Redis killed after" \
  "$import_killed_at acknowledged files ($(wc -l <import.before) responses acknowledged before the kill);" \
  "present $(wc -l <responses.present), lost $import_lost; 'already imported' on retry: $already_imported;" \
  "failed tries $(wc -l <"$work/import.codes" 2>/dev/null || echo 0)"
if ((failures > 0)); then
  echo "--- campaign status"; cat campaign.status
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "Redis killed mid-enrolment, mid-campaign and mid-import: nothing acknowledged lost, nothing sent twice"
