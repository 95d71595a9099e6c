#!/usr/bin/env python3
"""Enrols a roster and submits survey responses to Fieldwork with a partner token.

An example for a partner organisation's developer: the gRPC calls the `fieldwork` CLI makes,
made from Python with Debian's python3-grpcio and stubs generated from Fieldwork's protos/
(see examples/clients/README.md for how to generate them and what each call does).

  enrol_and_submit.py TRIAL [--roster ROSTER.csv] [--responses RESPONSES.csv --wave WAVE]

ROSTER.csv: participant_id, site, optional cohort and cluster, one column per covariate.
RESPONSES.csv: participant_id, submission_id, then one column per item id of the wave's
instrument (a blank cell is an unanswered item).

Exit codes (as the CLI's): 0 done, 1 rows rejected, 2 bad usage or file, 3 a service stayed
unavailable, 4 refused (bad token, or the token may not touch this trial or site).
"""
import argparse
import csv
import os
import sys
import time

import grpc

from fieldwork.v1 import common_pb2
from fieldwork.v1 import randomisation_pb2
from fieldwork.v1 import randomisation_pb2_grpc
from fieldwork.v1 import survey_ingest_pb2
from fieldwork.v1 import survey_ingest_pb2_grpc

REFUSED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


def open_channel(address, ca_file):
    """TLS when the services present a certificate signed by `ca_file`; plaintext otherwise
    (only ever on loopback, e.g. a local test stack)."""
    if ca_file:
        with open(ca_file, "rb") as f:
            return grpc.secure_channel(address, grpc.ssl_channel_credentials(f.read()))
    return grpc.insecure_channel(address)


def with_retry(call, what, attempts):
    """Runs call(), again after a growing pause while the service answers UNAVAILABLE (it is
    restarting, or the network dropped). Repeating is safe because both calls are idempotent:
    an enrolled participant with the same data counts as `unchanged`, and a response whose
    submission id was already accepted counts as `duplicate`; nothing is stored twice."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == attempts:
                raise
            print(f"{what}: UNAVAILABLE ({error.details()}); attempt {attempt} of {attempts}, "
                  f"retrying in {delay:g}s", file=sys.stderr)
            time.sleep(delay)
            delay *= 2


def print_row_errors(path, errors, first_data_line):
    """RowError.row is the 1-based position in the request; the file line is shifted by the
    header."""
    for e in errors:
        value = f" (value {e.value!r})" if e.value else ""
        field = f", field {e.field}" if e.field else ""
        print(f"{path} line {e.row + first_data_line - 1}{field}: {e.reason}{value}",
              file=sys.stderr)


def read_csv(path, required_columns):
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required_columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return list(reader)


def enrol(channel, metadata, trial_id, path, rows, attempts):
    stub = randomisation_pb2_grpc.RandomisationServiceStub(channel)
    # The design says which covariates are numbers; a partner token may read it.
    trial = with_retry(lambda: stub.GetTrial(
        randomisation_pb2.GetTrialRequest(trial_id=trial_id), metadata=metadata),
        "GetTrial", attempts).trial
    numeric = {c.name for c in trial.design.covariates
               if c.kind == randomisation_pb2.Covariate.KIND_NUMERIC}
    request = randomisation_pb2.EnrolRequest(trial_id=trial_id)
    for row in rows:
        p = request.participants.add(participant_id=row.pop("participant_id"),
                                     site=row.pop("site", ""), cohort=row.pop("cohort", ""),
                                     cluster=row.pop("cluster", ""))
        for name, text in row.items():
            if text == "":
                continue  # a missing value
            try:
                value = common_pb2.Value(number=float(text)) if name in numeric else None
            except ValueError:
                value = None  # sent as text: the service names the row, field and reason
            p.covariates[name].CopyFrom(value or common_pb2.Value(category=text))
    # One request holds up to 100,000 participants; EnrolStream takes larger rosters.
    response = with_retry(lambda: stub.Enrol(request, metadata=metadata), "Enrol", attempts)
    print(f"enrol {path}: enrolled {response.enrolled}, unchanged {response.unchanged}, "
          f"rejected {response.rejected}")
    print_row_errors(path, response.errors, first_data_line=2)
    return response.rejected == 0


def submit(channel, metadata, trial_id, wave_id, path, rows, attempts):
    stub = survey_ingest_pb2_grpc.SurveyIngestServiceStub(channel)
    submissions = [survey_ingest_pb2.Submission(
        trial_id=trial_id, wave_id=wave_id, participant_id=row.pop("participant_id"),
        # Your system's own id for the response: re-sending it changes nothing.
        submission_id=row.pop("submission_id"), answers=row, finished=True)
        for row in rows]
    # A client stream of pages of rows (gRPC's cost is per message), then one summary; rows
    # are numbered across pages. A retry sends the whole stream again; the submission ids make
    # the ones already stored count as duplicates.
    requests = [survey_ingest_pb2.SubmitResponsesRequest(submissions=submissions[i:i + 250])
                for i in range(0, len(submissions), 250)]
    response = with_retry(lambda: stub.SubmitResponses(iter(requests), metadata=metadata),
                          "SubmitResponses", attempts)
    print(f"responses {path}: accepted {response.accepted}, duplicate {response.duplicate}, "
          f"rejected {response.rejected}")
    print_row_errors(path, response.errors, first_data_line=2)
    return response.rejected == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ.get
    parser.add_argument("trial")
    parser.add_argument("--roster", help="roster CSV to enrol")
    parser.add_argument("--responses", help="responses CSV to submit (needs --wave)")
    parser.add_argument("--wave", help="the wave the responses answer, e.g. baseline")
    parser.add_argument("--randomisation_address",
                        default=env("FIELDWORK_RANDOMISATION_ADDRESS", "127.0.0.1:50051"))
    parser.add_argument("--survey_ingest_address",
                        default=env("FIELDWORK_SURVEY_INGEST_ADDRESS", "127.0.0.1:50053"))
    parser.add_argument("--token", default=env("FIELDWORK_PARTNER_TOKEN", ""),
                        help="partner bearer token (default $FIELDWORK_PARTNER_TOKEN)")
    parser.add_argument("--ca_file", default=env("FIELDWORK_TLS_CA_FILE", ""),
                        help="CA certificate of the services' TLS (plaintext when empty)")
    parser.add_argument("--attempts", type=int, default=5, help="tries while UNAVAILABLE")
    args = parser.parse_args()
    if not args.token or (args.responses and not args.wave) or not (args.roster or args.responses):
        parser.error("needs --token, and --roster and/or --responses with --wave")

    # Every call carries the token as "authorization: Bearer <token>" metadata.
    metadata = (("authorization", f"Bearer {args.token}"),)
    ok = True
    try:
        # Both files are read before anything is sent: a bad file changes nothing.
        roster = read_csv(args.roster, ["participant_id"]) if args.roster else None
        responses = (read_csv(args.responses, ["participant_id", "submission_id"])
                     if args.responses else None)
    except (OSError, ValueError, csv.Error) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if roster is not None:
            with open_channel(args.randomisation_address, args.ca_file) as channel:
                ok = enrol(channel, metadata, args.trial, args.roster, roster, args.attempts)
        if responses is not None:
            with open_channel(args.survey_ingest_address, args.ca_file) as channel:
                ok = submit(channel, metadata, args.trial, args.wave, args.responses, responses,
                            args.attempts) and ok
    except OSError as error:  # e.g. an unreadable CA file
        print(f"error: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        # The status code says what kind of failure it is; the details say which field or rule.
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            return 3
        return 4 if error.code() in REFUSED else 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
