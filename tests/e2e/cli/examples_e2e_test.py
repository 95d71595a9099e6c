#!/usr/bin/python3
"""Every example protocol (examples/*.yaml) end to end, as the demo runs SWING, with a small N.

For each example a stack from scripts/run.sh (redis-server, the four service binaries as
processes, the mail sink) on the simulated clock, and with the fieldwork CLI: apply, simulate roster,
enrol, contacts, randomise (cohort by cohort when the trial has cohorts), export, campaign start,
then the clock moved week by week through the trial, messaging's deliveries awaited each week,
responses simulated and imported a few days after each wave opens (so reminders go to the
others), simulated outcomes and leavers imported, and finally analyse. Checked against what the simulator put in:
  allocations  every enrolled participant allocated exactly once, to a declared arm; arms in the
               design's ratio within the method's tolerance (complete: one per stratum; cluster:
               the largest cluster per stratum; assigned: the roster's own arm);
  sends        every intervention message in the mail sink went to a participant of the
               campaign's audience (no one else, in particular no control), and each audience
               member got every one of the campaign's messages;
  invitations  every participant invited, each reminder sent to exactly the non-responders;
  responses    accepted counts equal the rows the simulator wrote (survey responses, and the
               administrative outcomes and leavers of `simulate outcomes`);
  analysis     the primary outcome's respondents per arm in `fieldwork analyse` (its estimate
               and attrition tables) equal those the simulator made respond; for the standardised
               well-being composite, the primary estimate lies within 3.9 SE of the simulated effect.
With FIELDWORK_E2E_REPLICAS=N the stack runs N replicas of every service (run.sh --replicas),
each caller spreading its calls over them, and every replica must have served calls of its
service's API by the end: the same checks then hold through several processes sharing one Redis.
Usage: examples_e2e_test.py [EXAMPLE.yaml...]  (default: every examples/*.yaml)
Environment: FIELDWORK_SOURCE_DIR, FIELDWORK_BIN_DIR (set by tests/e2e/cli/CMakeLists.txt),
FIELDWORK_E2E_REPLICAS (default 1).
"""
import collections
import csv
import datetime
import email
import email.policy
import glob
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

SOURCE = os.environ["FIELDWORK_SOURCE_DIR"]
BIN = os.environ["FIELDWORK_BIN_DIR"]
REPLICAS = int(os.environ.get("FIELDWORK_E2E_REPLICAS", "1"))
N = 80  # participants per example (in all, split over cohorts by the simulator)
# Examples whose hosted surveys are answered on survey-ingest's form through the links in the
# delivered invitations (`simulate responses --via_links`), as a participant would; the others
# import the simulator's CSV, as from a Qualtrics export. SWING answers through links in the demo
# test; the diversity study's online experiment (personal pages, decisions in long format) here.
VIA_LINKS = {"diversity-online.yaml"}
WEEK = datetime.timedelta(days=7)
EFFECT = 0.5  # the standardised effect simulated on every wave's outcome

failures = []


def fail(example, message):
    failures.append("%s: %s" % (example, message))
    print("FAIL: %s: %s" % (example, message), flush=True)


def check(example, condition, message):
    if not condition:
        fail(example, message)
    return condition


class Stack:
    def __init__(self, directory):
        self.directory = directory
        run = subprocess.run([SOURCE + "/scripts/run.sh", "start", "--dir", directory,
                              "--simulated-clock", "--replicas", str(REPLICAS)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit("run.sh start failed:\n" + run.stdout + run.stderr)
        self.env = dict(os.environ)
        with open(directory + "/env") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                self.env[key] = value
        self.mail_dir = self.env["FIELDWORK_MAIL_DIR"]
        self.redis_port = self.env["FIELDWORK_REDIS_ADDRESS"].rsplit(":", 1)[1]

    def api_calls_by_replica(self):
        """Each service process -> the calls of its Fieldwork API it has answered (health checks
        and reflection left out), from its own /metrics."""
        calls = {}
        for port_file in glob.glob(self.directory + "/pids/*.metrics_port"):
            name = os.path.basename(port_file)[:-len(".metrics_port")]
            port = open(port_file).read().strip()
            text = subprocess.run(["curl", "-sf", "http://127.0.0.1:%s/metrics" % port],
                                  capture_output=True, text=True).stdout
            calls[name] = sum(
                float(m.group(1)) for m in re.finditer(
                    r'^grpc_server_handled_total\{[^}]*grpc_service="fieldwork\.v1\.[^"]*"[^}]*\} (\S+)$',
                    text, re.M))
        return calls

    def stop(self):
        subprocess.run([SOURCE + "/scripts/run.sh", "stop", "--dir", self.directory],
                       capture_output=True)

    def fieldwork(self, *args, expect=0):
        run = subprocess.run([BIN + "/fieldwork", *args], env=self.env, capture_output=True,
                             text=True)
        print("$ fieldwork %s  -> %d" % (" ".join(args), run.returncode), flush=True)
        if run.returncode != expect:
            raise RuntimeError("fieldwork %s: exit %d, wanted %d:\n%s%s" % (
                " ".join(args), run.returncode, expect, run.stdout, run.stderr))
        return run.stdout

    def clock(self, *args):
        run = subprocess.run([BIN + "/fieldwork-simclock",
                              "--redis_url=" + self.env["FIELDWORK_REDIS_URL"], *args],
                             capture_output=True, text=True, check=True)
        return datetime.datetime.fromisoformat(run.stdout.strip())

    def redis(self, *args):
        return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", self.redis_port, *args],
                              capture_output=True, text=True, check=True).stdout.split("\n")

    def wait_for_deliveries(self, trial):
        """Until nothing due by the simulated time waits in messaging's schedule and its stream
        has no unacknowledged entry and none after the group's last-delivered id (the keys of
        services/messaging/keys.h). Not XINFO's "lag", which Redis 7.0 can report stale."""
        now_ms = int(self.clock("get").timestamp() * 1000)
        stream = "fw:{%s}:msg:stream" % trial
        for _ in range(1200):
            due = int(self.redis("zcount", "fw:{%s}:msg:due" % trial, "-inf", str(now_ms))[0])
            groups = self.redis("xinfo", "groups", stream)
            fields = dict(zip(groups[0::2], groups[1::2]))
            last = fields.get("last-delivered-id") or "0-0"
            unread = [line for line in self.redis("xrange", stream, "(" + last, "+", "count", "1")
                      if line]
            if due == 0 and fields.get("pending", "0") in ("0", "") and not unread:
                return
            time.sleep(0.1)
        raise RuntimeError("%s: sends due were still undelivered after 2 minutes" % trial)

    def advance_to(self, trial, when):
        while True:
            now = self.clock("get")
            if now >= when:
                return
            if when - now > WEEK:
                self.clock("advance", "168h")
            else:
                self.clock("set", when.strftime("%Y-%m-%dT%H:%M:%SZ"))
            self.wait_for_deliveries(trial)


def utc(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(
        datetime.timezone.utc)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def arms_and_weights(factor):
    arms = {}
    for arm in factor.get("arms", []):
        if isinstance(arm, dict):
            arms[arm["name"]] = float(arm.get("weight", 1))
        else:
            arms[arm] = 1.0
    return arms


def check_allocations(example, protocol, roster, allocations):
    ids = [row["participant_id"] for row in allocations]
    check(example, sorted(ids) == sorted(r["participant_id"] for r in roster),
          "allocations: %d rows for %d enrolled, or not the same participants" % (len(ids), len(roster)))
    check(example, len(set(ids)) == len(ids), "allocations: a participant allocated twice")
    by_id = {r["participant_id"]: r for r in roster}
    for factor in protocol["trial"]["factors"]:
        arms = arms_and_weights(factor)
        if not arms:
            continue  # order factors (random_order, latin_square) have no arms
        name, method = factor["name"], factor.get("method", "")
        if not check(example, all(row.get(name) in arms for row in allocations),
                     "factor %s: an allocation outside the arms %s" % (name, sorted(arms))):
            continue
        if method == "assigned":
            continue  # the roster's own arms (checked by the integration tests of assigned)
        strata = collections.defaultdict(list)
        for row in allocations:
            key = tuple(by_id[row["participant_id"]].get(s, "") for s in factor.get("strata", []))
            strata[key].append(row)
        total = sum(arms.values())
        for key, rows in strata.items():
            if method.startswith("cluster"):
                sizes = collections.Counter(by_id[r["participant_id"]]["cluster"] for r in rows)
                tolerance = max(sizes.values()) + 1
            else:
                tolerance = 1
            counts = collections.Counter(r[name] for r in rows)
            for arm, weight in arms.items():
                expected = len(rows) * weight / total
                check(example, abs(counts[arm] - expected) <= tolerance,
                      "factor %s stratum %s: %d in %s, expected %.1f +- %d" % (
                          name, key, counts[arm], arm, expected, tolerance))


def recipients_of(path):
    """(recipient address or phone, subject or None for a text) of one sink file."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".sms"):
        to = re.search(rb"^To: (.*)$", data, re.M).group(1).decode()
        return [(to, None)]
    message = email.message_from_bytes(data, policy=email.policy.default)
    subject = str(message.get("Subject", ""))
    return [(to, subject) for to in message.get_all("X-Sink-To", [])]


def check_sends(example, protocol, stack, contacts, allocations, roster):
    by_contact = {}
    for row in contacts:
        for key in ("email", "phone"):
            if row.get(key):
                by_contact[row[key].lower()] = row["participant_id"]
    arm_of = {row["participant_id"]: row for row in allocations}
    cohort_of = {r["participant_id"]: r.get("cohort", "") for r in roster}
    templates = {t["id"]: t for t in protocol.get("templates", [])}
    for campaign in protocol.get("campaigns", []):
        if campaign["kind"] != "intervention":
            continue
        audience = campaign["audience"]
        members = {p for p, row in arm_of.items()
                   if row.get(audience["factor"]) in audience["arms"]
                   and (not audience.get("cohorts") or cohort_of[p] in audience["cohorts"])}
        if campaign.get("weekly"):
            template_ids, per_member = [campaign["weekly"]["template"]], campaign["weekly"]["count"]
        else:
            template_ids = [s["template"] for s in campaign.get("steps", [])]
            per_member = len(template_ids)
        subjects = {templates[t].get("subject") for t in template_ids}
        got = collections.Counter()
        for path in sorted(glob.glob(stack.mail_dir + "/*")):
            for to, subject in recipients_of(path):
                participant = by_contact.get(to.lower())
                if participant is None:
                    continue  # another example's participant
                if campaign["channel"] == "sms" and subject is None or subject in subjects:
                    got[participant] += 1
        outsiders = set(got) - members
        check(example, not outsiders, "campaign %s reached %d participants outside its audience, e.g. %s (%s)" % (
            campaign["id"], len(outsiders), min(outsiders, default=""),
            arm_of.get(min(outsiders, default=""), {}).get(audience["factor"])))
        short = {p: got[p] for p in members if got[p] != per_member}
        check(example, members and not short, "campaign %s: %d of %d audience members did not get exactly %d messages, e.g. %s" % (
            campaign["id"], len(short), len(members), per_member, sorted(short.items())[:3]))
        print("   %s: %d messages to %d audience members, none outside" % (
            campaign["id"], sum(got.values()), len(members)), flush=True)


def check_invitations(example, protocol, stack, enrolled, simulated):
    """Survey invitations to everyone: the invitation went to every participant, and each
    reminder to exactly those who had not answered (the responses were imported before it)."""
    for campaign in protocol.get("campaigns", []):
        if (campaign["kind"] != "survey_invitation" or campaign.get("audience") != "all_enrolled"
                or campaign.get("wave") not in simulated or not campaign.get("start")):
            continue
        responded = sum(simulated[campaign["wave"]].values())
        status = stack.fieldwork("campaign", "status", protocol["trial"]["id"], campaign["id"])
        steps = re.findall(r"^  (\d+) \S+ \+\S+( \(r\))?\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)",
                           status, re.M)
        reminders = (campaign.get("reminders") or {}).get("count", 0)
        if not check(example, len(steps) == len(campaign.get("steps", [])) + reminders,
                     "campaign status %s: %d steps in %s" % (campaign["id"], len(steps), status)):
            continue
        for number, reminder, scheduled, sent, failed, dead, skipped in steps:
            wanted = (enrolled - responded, responded) if reminder else (enrolled, 0)
            check(example, (int(sent), int(skipped)) == wanted and scheduled == failed == dead == "0",
                  "campaign %s step %s%s: sent %s, skipped %s (scheduled %s, failed %s, dead %s); "
                  "wanted sent %d, skipped %d (%d enrolled, %d answered)" % (
                      campaign["id"], number, reminder, sent, skipped, scheduled, failed, dead,
                      wanted[0], wanted[1], enrolled, responded))
        print("   %s: invitation to all %d, %d reminder(s) to the %d who had not answered" % (
            campaign["id"], enrolled, reminders, enrolled - responded), flush=True)


def check_decisions(example, stack, trial, wave, allocations, completed):
    """An online experiment's decisions in long format (`fieldwork responses decisions`): every
    participant who completed the form has one row per decision of each decision block, in
    order, and each shows the stimulus the participant's allocation put there (the stimuli
    factor's order), with the stimulus's attributes from the instrument."""
    instrument = yaml.safe_load(open(os.path.join(SOURCE, "examples", "instruments", wave["instrument"] + ".yaml")))
    rows = list(csv.DictReader(stack.fieldwork("responses", "decisions", trial, "--wave=" + wave["id"]).splitlines()))
    by_participant = collections.defaultdict(list)
    for row in rows:
        by_participant[row["participant_id"]].append(row)
    order_of = {a["participant_id"]: a for a in allocations}
    for block in instrument.get("decisions", []):
        stimuli = {s["id"]: s for s in block["stimuli"]}
        check(example, len(by_participant) == completed,
              "decisions: %d participants have decisions, %d completed the form" % (len(by_participant), completed))
        for participant, decisions in by_participant.items():
            order = order_of[participant][block["stimuli_factor"]].split(">")
            attributes = lambda stimulus: stimuli[stimulus].get("attributes", {})
            shown = [(int(d["decision"]), d["item_id"], d["stimulus"],
                      {name: d.get(name) for name in attributes(d["stimulus"])})
                     for d in decisions if d["block"] == block["id"] and d["stimulus"] in stimuli]
            wanted = [(i + 1, item, order[i], attributes(order[i])) for i, item in enumerate(block["items"])]
            if not check(example, shown == wanted,
                         "decisions of %s: %s, the allocation says %s" % (participant, shown, wanted)):
                return
            values = {d["value"] for d in decisions}
            check(example, values <= {o["code"] for o in instrument["items"][-1]["options"]},
                  "decisions of %s: answers %s" % (participant, values))
        print("   %s: %d decisions of %d participants in long format, each with the stimulus its "
              "allocation showed" % (block["id"], len(rows), len(by_participant)), flush=True)


def analyses_of(protocol):
    """The protocol's pre-registered analyses: its `analysis:` section or its `analyses:` list."""
    return protocol.get("analyses") or ([protocol["analysis"]] if protocol.get("analysis") else [])


def check_long_analysis(example, analysis, table, simulated):
    """A long-format analysis in `fieldwork analyse`: one row per decision of everyone who completed
    the form (10 each), clustered by participant, and the contrasts the report prints."""
    outcome = analysis["outcomes"][0]
    completed = simulated.get(outcome["wave"], {}).get("form", 0)
    said = re.search(r"^  long-format interaction (\w+) x (\w+) \(reference (\w+)\): (\d+) decisions from (\d+) "
                     r"participants, SEs (\w+)", table, re.M)
    if not check(example, said, "analyse printed no long-format interaction for plan %s" % analysis["plan_id"]):
        return
    decisions, participants = int(said.group(4)), int(said.group(5))
    if check(example, (decisions, participants) == (10 * completed, completed) and said.group(6) == "CR2",
             "analyse %s: %d decisions from %d participants (SEs %s); %d completed the form, 10 decisions each" % (
                 analysis["plan_id"], decisions, participants, said.group(6), completed)):
        print("   analyse %s: %d decisions from %d participants, clustered by participant (CR2)"
              % (analysis["plan_id"], decisions, participants))
    for heading in ("effect of %s by %s" % (analysis["factor"], analysis["interaction"]["attribute"]),
                    "%s gap by %s" % (analysis["interaction"]["attribute"], analysis["factor"]),
                    "interaction (every ", "model means by cell"):
        check(example, heading in table, "analyse %s printed no '%s'" % (analysis["plan_id"], heading))


def run_example(stack, path, work):
    protocol = yaml.safe_load(open(path))
    trial = protocol["trial"]["id"]
    example = os.path.basename(path)
    out = os.path.join(work, trial)
    os.makedirs(out)
    waves = protocol.get("waves", [])
    campaigns = protocol.get("campaigns", [])
    starts = [utc(w["opens"]) for w in waves] + [utc(c["start"]) for c in campaigns if c.get("start")]
    stack.clock("set", (min(starts) - datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))

    stack.fieldwork("apply", path)
    stack.fieldwork("simulate", "roster", path, "--n=%d" % N, "--seed=7", "--out=" + out)
    roster = read_csv(out + "/roster.csv")
    enrolled = stack.fieldwork("enrol", trial, out + "/roster.csv")
    check(example, "enrolled %d," % len(roster) in enrolled, "enrol: %s" % enrolled.strip())
    contacts = []
    if os.path.exists(out + "/contacts.csv"):
        stack.fieldwork("contacts", trial, out + "/contacts.csv")
        contacts = read_csv(out + "/contacts.csv")
    cohorts = protocol["trial"].get("cohorts") or []
    for cohort in cohorts:
        stack.fieldwork("randomise", trial, "--cohort=" + str(cohort))
    if not cohorts:
        stack.fieldwork("randomise", trial)
    allocations_csv = out + "/allocations.csv"
    with open(allocations_csv, "w") as f:
        f.write(stack.fieldwork("export", trial))
    allocations = read_csv(allocations_csv)
    check_allocations(example, protocol, roster, allocations)
    for campaign in campaigns:
        if campaign.get("start"):
            stack.fieldwork("campaign", "start", trial, campaign["id"])

    # The waves by opening time; responses a few days after each opening.
    factor = protocol["trial"]["factors"][0]["name"]
    # No effect before the intervention: waves that are an outcome's baseline get effect 0.
    baselines = {o["baseline"]["wave"] for a in analyses_of(protocol) for o in a.get("outcomes", [])
                 if isinstance(o.get("baseline"), dict) and "wave" in o["baseline"]}
    simulated = {}
    for opens in sorted({utc(w["opens"]) for w in waves}):
        stack.advance_to(trial, opens + datetime.timedelta(days=3))
        for wave in [w for w in waves if utc(w["opens"]) == opens]:
            if example in VIA_LINKS:
                said = stack.fieldwork("simulate", "responses", path, allocations_csv, "--wave=" + wave["id"],
                                       "--seed=11", "--response_rate=0.6", "--via_links=" + stack.mail_dir,
                                       "--contacts=" + out + "/contacts.csv")
                completed = re.search(r"through the survey form: (\d+) completed", said)
                if check(example, completed and int(completed.group(1)) > 0,
                         "simulate responses --via_links said %s" % said.strip()):
                    simulated[wave["id"]] = {"form": int(completed.group(1))}
                    print("   %s: %s" % (wave["id"], said.strip().splitlines()[0]), flush=True)
                    check_decisions(example, stack, trial, wave, allocations, int(completed.group(1)))
                continue
            file = "%s/%s.csv" % (out, wave["id"])
            said = stack.fieldwork("simulate", "responses", path, allocations_csv, "--wave=" + wave["id"],
                                   "--seed=11", "--effect=%g" % (0 if wave["id"] in baselines else EFFECT), "--response_rate=0.6", "--out=" + file)
            rows = int(re.search(r"simulated (\d+) responses", said).group(1))
            simulated[wave["id"]] = {m.group(1): int(m.group(2))
                                     for m in re.finditer(r"([\w-]+) (\d+)/\d+", said.split("(", 1)[1])}
            imported = stack.fieldwork("responses", "import", trial, wave["id"], file)
            check(example, ("accepted %d, duplicate 0, rejected 0" % rows) in imported,
                  "responses %s: simulated %d, import said %s" % (wave["id"], rows, imported.strip()))
    ends = [utc(w["closes"]) for w in waves]
    for campaign in campaigns:
        if campaign.get("start"):
            weeks = campaign.get("weekly", {}).get("count", 0) + 3
            ends.append(utc(campaign["start"]) + weeks * WEEK)
    stack.advance_to(trial, max(ends) + datetime.timedelta(days=1))
    if contacts:
        check_sends(example, protocol, stack, contacts, allocations, roster)

    check_invitations(example, protocol, stack, len(roster), simulated)

    # Administrative outcomes and leavers: every row the simulator wrote is recorded.
    said = stack.fieldwork("simulate", "outcomes", path, allocations_csv, "--seed=12",
                           "--leaver_rate=0.05", "--out=" + out)
    outcome_rows = len(read_csv(out + "/outcomes.csv"))
    leavers = len(read_csv(out + "/leavers.csv"))
    if outcome_rows:
        recorded = stack.fieldwork("outcomes", "import", trial, out + "/outcomes.csv")
        check(example, recorded.startswith("recorded %d, unchanged 0, rejected 0" % outcome_rows),
              "outcomes import of %d rows said %s" % (outcome_rows, recorded.strip()))
    if leavers:
        recorded = stack.fieldwork("leavers", "import", trial, out + "/leavers.csv")
        check(example, recorded.startswith("recorded %d leavers" % leavers) and "rejected 0" in recorded,
              "leavers import of %d rows said %s" % (leavers, recorded.strip()))

    if not analyses_of(protocol):
        return
    table = stack.fieldwork("analyse", trial)
    for analysis in analyses_of(protocol):
        if analysis.get("plan_id") and not check(example, "under plan %s " % analysis["plan_id"] in table,
                                                 "analyse printed no analysis under plan %s" % analysis["plan_id"]):
            return
        if analysis.get("estimator") == "long_interaction":
            check_long_analysis(example, analysis, table, simulated)
    analysis = analyses_of(protocol)[0]
    primary = next(o for o in analysis["outcomes"] if o.get("primary"))
    if analysis["factor"] != factor or "wave" not in primary:
        return  # the simulator's counts are by the first factor; survey outcomes only
    # The primary estimate's table: n per arm = the respondents the simulator made; for the
    # standardised well-being composite, the 95% CI covers the simulated standardised effect.
    estimates = re.search(r"^%s \(primary\): n = \d+.*?\n(.*?)(?:\n\n|\Z)" % re.escape(primary["name"]),
                          table, re.M | re.S)
    if check(example, estimates, "analyse printed no estimate table for %s" % primary["name"]):
        n_by_arm = {m.group(1): int(m.group(2)) for m in
                    re.finditer(r"^\s+([\w-]+)\s+(\d+)\s+-?[\d.]+\s+[\d.]+\s", estimates.group(1), re.M)}
        check(example, n_by_arm == simulated[primary["wave"]],
              "analyse: n per arm %s in the estimate table, the simulator made %s respond" % (
                  n_by_arm, simulated[primary["wave"]]))
        ci = re.search(r"\[(-?[\d.]+), (-?[\d.]+)\]", estimates.group(1))
        if primary.get("composite") == "subjective_wellbeing" and check(example, ci, "no 95% CI"):
            # Allocations differ run to run (a fresh trial secret), so a 95% CI would miss the
            # true effect in 1 run of 20: the check uses the 99.99% interval (estimate +- 3.9 SE,
            # SE = the 95% CI's half-width / 1.96), which misses it in 1 run of 10,000.
            low, high = float(ci.group(1)), float(ci.group(2))
            centre, half = (low + high) / 2, (high - low) / 2 * 3.9 / 1.96
            if check(example, centre - half <= EFFECT <= centre + half,
                     "analyse: the primary estimate %g (95%% CI [%g, %g]) is more than 3.9 SE from the "
                     "simulated effect %g" % (centre, low, high, EFFECT)):
                print("   analyse %s: estimate %g (95%% CI [%g, %g]) within 3.9 SE of the simulated effect %g"
                      % (primary["name"], centre, low, high, EFFECT))
    block = re.search(r"^attrition, %s\n(.*?)(?:\n\n|\Z)" % re.escape(primary["name"]), table,
                      re.M | re.S)
    if not check(example, block, "analyse printed no attrition table for %s" % primary["name"]):
        return
    responded = {m.group(1): int(m.group(2)) for m in
                 re.finditer(r"^\s+([\w-]+)\s+\d+\s+(\d+)\s+[\d.]+%$", block.group(1), re.M)}
    if check(example, responded == simulated[primary["wave"]],
             "analyse: respondents per arm %s, the simulator made %s respond" % (
                 responded, simulated[primary["wave"]])):
        print("   analyse %s: respondents per arm %s, as simulated" % (primary["name"], responded))


def main():
    examples = sys.argv[1:] or sorted(glob.glob(SOURCE + "/examples/*.yaml"))
    work = tempfile.mkdtemp(prefix="fieldwork-examples-e2e.")
    try:
        for path in examples:
            example = os.path.basename(path)
            print("== %s" % example, flush=True)
            # A stack of its own per example: each trial's clock starts before its own dates.
            stack = Stack("%s/stack-%s" % (work, example))
            try:
                run_example(stack, os.path.abspath(path), work)
                if REPLICAS > 1:
                    calls = stack.api_calls_by_replica()
                    print("   API calls answered per process: %s" % dict(sorted(calls.items())))
                    check(example, len(calls) == 4 * REPLICAS,
                          "%d service processes, wanted %d" % (len(calls), 4 * REPLICAS))
                    idle = sorted(name for name, n in calls.items() if n == 0)
                    check(example, not idle, "replicas that answered no call: %s" % idle)
            except Exception as error:  # one example's failure must not hide the others'
                fail(example, str(error))
                status = subprocess.run([SOURCE + "/scripts/run.sh", "status", "--dir", stack.directory],
                                        capture_output=True, text=True).stdout
                print(status)
                for log in glob.glob(stack.directory + "/logs/*.log"):
                    if "%s: running" % os.path.basename(log)[:-4] in status:
                        continue  # only the logs of what died
                    print("-- last lines of %s" % log)
                    print("".join(open(log, errors="replace").readlines()[-5:]))
            finally:
                stack.stop()
    finally:
        if failures and os.environ.get("FIELDWORK_E2E_KEEP"):
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d check(s) failed:\n  %s" % (len(failures), "\n  ".join(failures)))
        sys.exit(1)
    print("all %d example protocols: allocations, sends, responses and analysis as simulated" % len(examples))


if __name__ == "__main__":
    main()
