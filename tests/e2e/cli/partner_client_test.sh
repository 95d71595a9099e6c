#!/usr/bin/env bash
# End to end (issue 9): a partner organisation integrates without our CLI. The four services
# run as processes (scripts/run.sh start --partner-trial partner-demo); the admin creates the
# trial with `fieldwork apply`; the Python example client (examples/clients/python) enrols a
# roster and submits responses with the PARTNER token; the admin then checks through the CLI
# and the reflection client that exactly the good rows were stored. Also checked: bad rows are
# named by file line and field, a bad file sends nothing, a re-run is idempotent (unchanged /
# duplicate), the partner token is refused (PERMISSION_DENIED, exit 4) on another trial (its
# submissions there are rejected rows), an unknown token is UNAUTHENTICATED, a dead address
# gives up with UNAVAILABLE (exit 3) after its retries, reflection lists and calls the
# services (also as an auditor would: GetAuditHead agrees with AuditLog and anchors
# VerifyAuditLog), and the client verifies a TLS server with --ca_file.
#
# Environment (set by tests/e2e/cli/CMakeLists.txt): FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR,
# FIELDWORK_PYTHON (a python3 with grpcio), FIELDWORK_PYTHON_STUBS_DIR.
set -euo pipefail

src=${FIELDWORK_SOURCE_DIR:?}
python=${FIELDWORK_PYTHON:?}
export FIELDWORK_BIN_DIR=${FIELDWORK_BIN_DIR:?}
export PYTHONPATH=${FIELDWORK_PYTHON_STUBS_DIR:?}
fieldwork=$FIELDWORK_BIN_DIR/fieldwork
client=$src/examples/clients/python/enrol_and_submit.py
reflect=$src/examples/clients/python/reflect.py

work=$(mktemp -d /tmp/fieldwork-partner-e2e.XXXXXX)
stack=$work/stack
run_sh=$src/scripts/run.sh
tls_pid=
cleanup() {
  if [[ -n $tls_pid ]]; then
    kill "$tls_pid" 2>/dev/null || true
    wait "$tls_pid" 2>/dev/null || true
  fi
  "$run_sh" stop --dir "$stack" >"$work/stop.log" 2>&1 || cat "$work/stop.log" >&2
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect NAME WANTED_EXIT_CODE COMMAND...: runs COMMAND, keeps its output in $work/NAME.out.
expect() {
  local name=$1 wanted=$2 code=0
  shift 2
  "$@" >"$work/$name.out" 2>&1 || code=$?
  if [[ $code != "$wanted" ]]; then
    fail "$name: exit code $code, wanted $wanted; output:"
    sed 's/^/    /' "$work/$name.out" >&2
  fi
}
# reflect_call NAME WANTED TOKEN ADDRESS METHOD JSON: step NAME calls METHOD through reflection,
# as a client that knows only the protos would (grpcurl), with TOKEN; its exit code must be WANTED.
reflect_call() {
  local name=$1 wanted=$2 token=$3 address=$4 method=$5 json=$6
  expect "$name" "$wanted" "$python" "$reflect" --token "$token" "$address" call "$method" "$json"
}
# contains NAME TEXT: the output of step NAME has the line fragment TEXT.
contains() {
  grep -qF -- "$2" "$work/$1.out" || { fail "$1: no \"$2\" in its output:"; head -n 40 "$work/$1.out" | sed 's/^/    /' >&2; }
}

"$run_sh" start --dir "$stack" --partner-trial partner-demo >"$work/start.log" 2>&1 ||
  { cat "$work/start.log" >&2; echo "FAIL: scripts/run.sh start" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
source "$stack/env"
set +a
[[ -n ${FIELDWORK_PARTNER_TOKEN:-} ]] || { echo "FAIL: $stack/env has no FIELDWORK_PARTNER_TOKEN" >&2; exit 1; }
admin_token=$FIELDWORK_TOKEN
partner_token=$FIELDWORK_PARTNER_TOKEN

# The admin creates the partner's trial and another one the partner token does not cover (the
# same design under another id; instrument paths made absolute for the copy).
expect apply 0 "$fieldwork" apply "$src/examples/clients/partner-demo.yaml"
sed -e 's/^  id: partner-demo$/  id: partner-other/' \
    -e "s|\.\./instruments/|$src/examples/instruments/|" \
    "$src/examples/clients/partner-demo.yaml" >"$work/partner-other.yaml"
expect apply_other 0 "$fieldwork" apply "$work/partner-other.yaml"

# The example files plus one bad row each: an unknown site (roster line 10), a non-numeric
# covariate (line 11), an answer out of range (responses line 7), a participant never enrolled
# (line 8).
cp "$src/examples/clients/roster.csv" "$work/roster.csv"
printf 'la9-0001,la9,5\nla1-0005,la1,many\n' >>"$work/roster.csv"
cp "$src/examples/clients/responses.csv" "$work/responses.csv"
printf 'la1-0004,R_la1_0004,6,6,11,4\nzz-0001,R_zz_0001,5,5,5,5\n' >>"$work/responses.csv"

run_client() { "$python" "$client" --token "$partner_token" "$@"; }
# A responses file without its submission_id column: exit 2 and nothing sent, not even the
# good roster (the next step finds all 8 participants new).
printf 'participant_id,ons_happy\nla1-0001,5\n' >"$work/no-ids.csv"
expect bad_file 2 run_client partner-demo --roster "$work/roster.csv" \
  --responses "$work/no-ids.csv" --wave baseline
contains bad_file "no-ids.csv: missing column(s) submission_id"
expect first 1 run_client partner-demo --roster "$work/roster.csv" \
  --responses "$work/responses.csv" --wave baseline
contains first "enrolled 8, unchanged 0, rejected 2"
contains first "roster.csv line 10, field site:"
contains first "roster.csv line 11, field covariates.tenure_years:"
contains first "responses.csv: accepted 5, duplicate 0, rejected 2"
contains first "responses.csv line 7, field ons_happy:"
contains first "responses.csv line 8, field participant_id:"

# A retry of everything (as after a lost answer) changes nothing.
expect again 1 run_client partner-demo --roster "$work/roster.csv" \
  --responses "$work/responses.csv" --wave baseline
contains again "enrolled 0, unchanged 8, rejected 2"
contains again "responses.csv: accepted 0, duplicate 5, rejected 2"

# The partner token may not touch another trial.
expect refused 4 run_client partner-other --roster "$src/examples/clients/roster.csv"
contains refused "PERMISSION_DENIED"
# A stream of submissions is refused at its first row for a trial the token may not touch,
# before the rest is read.
expect refused_rows 4 run_client partner-other --responses "$src/examples/clients/responses.csv" \
  --wave baseline
contains refused_rows "PERMISSION_DENIED"
contains refused_rows "may not touch trial"
# An unknown token is refused before anything is read.
expect unknown_token 4 "$python" "$client" --token not-a-token partner-demo \
  --roster "$src/examples/clients/roster.csv"
contains unknown_token "error: UNAUTHENTICATED"
# A dead address: retried, then UNAVAILABLE (exit 3).
expect unavailable 3 run_client partner-demo --roster "$src/examples/clients/roster.csv" \
  --randomisation_address 127.0.0.1:1 --attempts 2
contains unavailable "attempt 1 of 2, retrying"
contains unavailable "error: UNAVAILABLE"

# The admin's view through the CLI: the eight good participants are enrolled (randomised and
# exported), and the stored responses are the five good ones.
expect randomise 0 "$fieldwork" randomise partner-demo
expect export 0 "$fieldwork" export partner-demo
for id in la1-0001 la1-0002 la1-0003 la1-0004 la2-0001 la2-0002 la2-0003 la2-0004; do
  contains export "$id,"
done
rows=$(grep -c -E '^(la1|la2)-000[0-9],' "$work/export.out" || true)
[[ $rows == 8 ]] || fail "export: $rows participant rows, wanted 8"
grep -q -E '^(la9|la1-0005)' "$work/export.out" && fail "export lists a rejected roster row"

# The same through reflection, as grpcurl would do it: services listed, responses counted.
expect list 0 "$python" "$reflect" "$FIELDWORK_SURVEY_INGEST_ADDRESS" list
contains list "fieldwork.v1.SurveyIngestService"
contains list "grpc.reflection.v1alpha.ServerReflection"
reflect_call responses 0 "$admin_token" "$FIELDWORK_SURVEY_INGEST_ADDRESS" \
  fieldwork.v1.SurveyIngestService/ListResponses '{"trial_id": "partner-demo"}'
stored=$(grep -c '"submission_id"' "$work/responses.out" || true)
[[ $stored == 5 ]] || fail "ListResponses: $stored responses stored, wanted 5"
for id in R_la1_0001 R_la1_0002 R_la2_0001 R_la2_0002 R_la2_0003; do
  contains responses "\"submission_id\": \"$id\""
done
# The partner reads its participant through reflection, and is refused on the other trial.
reflect_call participant 0 "$partner_token" "$FIELDWORK_RANDOMISATION_ADDRESS" \
  fieldwork.v1.RandomisationService/GetParticipant \
  '{"trial_id": "partner-demo", "participant_id": "la1-0002"}'
contains participant '"number": 7.5'
reflect_call participant_other 4 "$partner_token" "$FIELDWORK_RANDOMISATION_ADDRESS" \
  fieldwork.v1.RandomisationService/GetParticipant \
  '{"trial_id": "partner-other", "participant_id": "la1-0002"}'
contains participant_other "PERMISSION_DENIED"

# An auditor's client from the protos alone: the log's head (GetAuditHead) is the last entry's
# hash and the number of entries (AuditLog), and the log verifies with it as an anchor. A
# partner may not read the head (the whole trial's log is not for one site's partner).
reflect_call audit_head 0 "$admin_token" "$FIELDWORK_RANDOMISATION_ADDRESS" \
  fieldwork.v1.RandomisationService/GetAuditHead '{"trial_id": "partner-demo"}'
head_sha=$(grep -o '"sha256": "[0-9a-f]*"' "$work/audit_head.out" | cut -d'"' -f4)
head_length=$(grep -o '"length": "[0-9]*"' "$work/audit_head.out" | cut -d'"' -f4)
reflect_call audit_log 0 "$admin_token" "$FIELDWORK_RANDOMISATION_ADDRESS" \
  fieldwork.v1.RandomisationService/AuditLog '{"trial_id": "partner-demo"}'
last_hash=$(grep -o '"hash": "[0-9a-f]*"' "$work/audit_log.out" | tail -n 1 | cut -d'"' -f4)
entries=$(grep -c '"hash": ' "$work/audit_log.out" || true)
[[ ${#head_sha} == 64 && $head_sha == "$last_hash" && $head_length == "$entries" ]] ||
  fail "GetAuditHead: head ($head_length, $head_sha), log ($entries entries, last $last_hash)"
reflect_call audit_verify 0 "$admin_token" "$FIELDWORK_RANDOMISATION_ADDRESS" \
  fieldwork.v1.RandomisationService/VerifyAuditLog \
  "{\"trial_id\": \"partner-demo\", \"anchors\": [{\"length\": \"$head_length\", \"sha256\": \"$head_sha\"}]}"
contains audit_verify '"valid": true'
reflect_call audit_head_partner 4 "$partner_token" "$FIELDWORK_RANDOMISATION_ADDRESS" \
  fieldwork.v1.RandomisationService/GetAuditHead '{"trial_id": "partner-demo"}'
contains audit_head_partner "PERMISSION_DENIED"

# TLS: one more randomisation process on the stack's Redis serves TLS with a certificate from
# a throwaway CA; the client verifies it with --ca_file and finds the roster enrolled. The
# client's UNAVAILABLE retries cover the server's start-up.
tls=$work/tls
mkdir -p "$tls"
{
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=Fieldwork e2e CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" \
    -out "$tls/server.csr"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 1 -extfile "$tls/san.ext" -out "$tls/server.pem"
} >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; fail "openssl could not make the certificates"; }
printf 'tokens:\n  - name: e2e-partner\n    sha256: %s\n    roles: [partner]\n    trials: [partner-demo]\n' \
  "$(printf %s "$partner_token" | sha256sum | cut -d' ' -f1)" >"$tls/tokens.yaml"
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
tls_address=127.0.0.1:$(free_port)
"$FIELDWORK_BIN_DIR/fieldwork-randomisation" --listen_address="$tls_address" \
  --metrics_port="$(free_port)" --metrics_bind_address=127.0.0.1 \
  --redis_url="$FIELDWORK_REDIS_URL" --tokens_file="$tls/tokens.yaml" \
  --tls_cert_file="$tls/server.pem" --tls_key_file="$tls/server.key" \
  >"$work/tls-randomisation.log" 2>&1 &
tls_pid=$!
expect tls 0 run_client partner-demo --roster "$src/examples/clients/roster.csv" \
  --randomisation_address "$tls_address" --ca_file "$tls/ca.pem" --attempts 10
contains tls "enrolled 0, unchanged 8, rejected 0"
# Plaintext to the TLS port does not get through.
expect tls_plaintext 3 run_client partner-demo --roster "$src/examples/clients/roster.csv" \
  --randomisation_address "$tls_address" --attempts 1
contains tls_plaintext "error: UNAVAILABLE"

if ((failures > 0)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "partner client e2e: all checks passed"
