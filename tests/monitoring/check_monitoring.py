#!/usr/bin/env python3
"""Checks the monitoring configuration: the Prometheus rules and their promtool tests, the Grafana
dashboard, the metric names both use, the threshold documentation, and a real Prometheus started
by scripts/prometheus.sh with the rules loaded. One subcommand per CTest test; exit 1 with the
reasons on any failure.

Usage: check_monitoring.py [--repo DIR] COMMAND
  check-rules   promtool check rules on the rules file, promtool check config on prometheus.yml
  test-rules    promtool test rules on deploy/prometheus/tests/*.yaml
  mutations     each threshold moved up and down makes promtool test rules fail
  dashboard     the dashboard JSON: structure, variables, datasource, and required panels
  metric-names  every metric and label in the rules and the dashboard is known or recorded
  self-test     the checks above reject broken input (unknown metrics, bad labels, bad JSON)
  smoke         a real Prometheus on a free loopback port (scripts/prometheus.sh --fast), its
                analysis target a fake exporter with every known metric (fake_exporter.py),
                the other three targets down: rule groups loaded, every alert but
                FieldworkServiceMissing firing, FieldworkServiceDown for exactly the three,
                every dashboard query valid and returning data; then stopped
  compare-live --page SERVICE=URL ... [--require-all]
                for the e2e test: the live /metrics pages against known_metrics.txt (every
                exported family listed with its type and labels; with --require-all, every
                listed metric of the service exported). SERVICE: randomisation, messaging,
                survey-ingest or analysis; URL: http://... or a file path.
"""

import argparse
import concurrent.futures
import copy
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_exporter  # noqa: E402
import promql_names  # noqa: E402

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check_monitoring.py needs PyYAML: apt-get install python3-yaml")

RULES = "deploy/prometheus/rules/fieldwork.rules.yaml"
RULE_TESTS = "deploy/prometheus/tests"
PROMETHEUS_YML = "deploy/prometheus/prometheus.yml"
DASHBOARD = "deploy/grafana/fieldwork-trial.json"
KNOWN = "tests/monitoring/known_metrics.txt"
RUN_SCRIPT = "scripts/prometheus.sh"
JOBS = ["fieldwork-randomisation", "fieldwork-messaging", "fieldwork-survey-ingest",
        "fieldwork-analysis"]
# What the dashboard must show (issue 7): each entry is satisfied by any one of its names.
REQUIRED_ON_DASHBOARD = {
    "response rate by arm and wave": ["fieldwork_trial_response_rate"],
    "participants": ["fieldwork_trial_participants", "fieldwork:trial_participants:sum_by_arm"],
    "leavers": ["fieldwork_trial_leavers"],
    "withdrawals": ["fieldwork_trial_withdrawn"],
    "differential attrition": ["fieldwork_trial_differential_attrition"],
    "MDES planned vs achieved": ["fieldwork_trial_mdes"],
    "sends": ["fieldwork_messaging_sends_total", "fieldwork:messaging_sends:rate5m"],
    "opens and clicks by arm": ["fieldwork_messaging_engagement_total"],
    "queue health": ["fieldwork_messaging_queue_depth"],
    "service health": ["up"],
    "the survey form's funnel": ["fieldwork_survey_ingest_form_funnel_total"],
}
# Panels in these rows are about the processes, not one trial: no trial filter required.
OPERATIONS_ROWS = {"Queue health", "Service health"}
PANEL_TYPES = {"timeseries", "stat", "table", "bargauge", "gauge", "text", "heatmap", "barchart",
               "piechart", "state-timeline", "logs"}


def tool(name):
    return os.environ.get(name.upper(), name)


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


def fail(problems):
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems else 0


def load_rules(repo):
    with open(os.path.join(repo, RULES), encoding="utf-8") as f:
        return yaml.safe_load(f)


def rule_exprs(rules):
    """(where, expr) for every rule."""
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            yield f"{RULES}: group {group['name']}, rule {name}", str(rule["expr"])


def recorded_names(rules):
    return {rule["record"] for group in rules["groups"] for rule in group["rules"]
            if "record" in rule}


def dashboard_panels(dashboard):
    """(row title, panel) for every panel, rows' nested panels included."""
    row = ""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            row = panel.get("title", "")
            for nested in panel.get("panels", []):
                yield row, nested
            continue
        yield row, panel


def dashboard_queries(dashboard):
    """(where, expr, row title) for every PromQL query: panel targets and annotations."""
    for row, panel in dashboard_panels(dashboard):
        for target in panel.get("targets", []):
            where = f"{DASHBOARD}: panel '{panel.get('title')}' target {target.get('refId')}"
            yield where, target.get("expr", ""), row
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            yield f"{DASHBOARD}: annotation '{annotation.get('name')}'", annotation["expr"], ""


def variable_queries(dashboard):
    """(where, selector expr, label) for every label_values(...) template variable."""
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else (query or "")
        where = f"{DASHBOARD}: variable '{variable.get('name')}'"
        split = promql_names.label_values_query(query)
        yield where, query, split


# ----------------------------------------------------------------------------------------------
def cmd_check_rules(repo):
    problems = []
    result = run([tool("promtool"), "check", "rules", os.path.join(repo, RULES)])
    if result.returncode != 0:
        problems.append(f"promtool check rules:\n{result.stdout}{result.stderr}")
    result = run([tool("promtool"), "check", "config", os.path.join(repo, PROMETHEUS_YML)])
    if result.returncode != 0:
        problems.append(f"promtool check config:\n{result.stdout}{result.stderr}")
    return fail(problems + check_alert_metadata(load_rules(repo)))


def check_alert_metadata(rules):
    """Every alert has severity warning|critical and summary, description and runbook texts."""
    problems = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            name = rule["alert"]
            if (rule.get("labels") or {}).get("severity") not in ("warning", "critical"):
                problems.append(f"alert {name}: label severity must be warning or critical")
            for key in ("summary", "description", "runbook"):
                if not str((rule.get("annotations") or {}).get(key, "")).strip():
                    problems.append(f"alert {name}: annotation '{key}' is missing")
    return problems


def test_files(repo):
    files = sorted(glob.glob(os.path.join(repo, RULE_TESTS, "*.yaml")))
    if not files:
        raise SystemExit(f"no promtool tests in {RULE_TESTS}")
    return files


def cmd_test_rules(repo):
    problems = []
    result = run([tool("promtool"), "test", "rules", *test_files(repo)])
    if result.returncode != 0:
        problems.append(f"promtool test rules:\n{result.stdout}{result.stderr}")
    # Every alert has a case where it fires and one where it stays quiet.
    fires, quiet = set(), set()
    for path in test_files(repo):
        with open(path, encoding="utf-8") as f:
            for test in yaml.safe_load(f).get("tests", []):
                for case in test.get("alert_rule_test", []):
                    (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
    for group in load_rules(repo)["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                if rule["alert"] not in fires:
                    problems.append(f"alert {rule['alert']} has no promtool case where it fires")
                if rule["alert"] not in quiet:
                    problems.append(f"alert {rule['alert']} has no promtool case where it "
                                    "stays quiet")
    return fail(problems)


# ----------------------------------------------------------------------------------------------
_THRESHOLD = re.compile(r"(- record: (fieldwork:alert_threshold:[a-z_]+)\n\s+expr: vector\()"
                        r"([0-9.eE+-]+)(\))")


def thresholds(text):
    return [(m.group(2), float(m.group(3))) for m in _THRESHOLD.finditer(text)]


def mutate(text, name, factor):
    def replace(match):
        if match.group(2) != name:
            return match.group(0)
        return f"{match.group(1)}{float(match.group(3)) * factor:g}{match.group(4)}"
    return _THRESHOLD.sub(replace, text)


def cmd_mutations(repo):
    """Moving any one threshold by a factor of 2 either way must break a promtool test: the tests
    pin every threshold from both sides, and each threshold is really used by its alert. Each
    mutant runs only the test cases of the alerts that use the mutated threshold."""
    with open(os.path.join(repo, RULES), encoding="utf-8") as f:
        text = f.read()
    rules = yaml.safe_load(text)
    found = thresholds(text)
    declared = {r for r in recorded_names(rules) if r.startswith("fieldwork:alert_threshold:")}
    problems = [f"threshold {name} is not a plain `vector(number)` rule"
                for name in sorted(declared - {name for name, _ in found})]
    cases = []  # every promtool test case, with the file settings it needs
    for path in test_files(repo):
        with open(path, encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        for test in spec.get("tests", []):
            cases.append((spec.get("evaluation_interval", "1m"), test))
    work = tempfile.mkdtemp(prefix="fieldwork-mutations-")

    def attempt(job):
        index, name, factor = job
        alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]
                  if "alert" in r and name in str(r["expr"])}
        rules_path = os.path.join(work, f"rules-{index}.yaml")
        with open(rules_path, "w", encoding="utf-8") as f:
            f.write(mutate(text, name, factor))
        files = []
        for interval in sorted({interval for interval, _ in cases}):
            tests = [t for i, t in cases if i == interval and
                     alerts & {c["alertname"] for c in t.get("alert_rule_test", [])}]
            if tests:
                files.append(os.path.join(work, f"tests-{index}-{len(files)}.yaml"))
                with open(files[-1], "w", encoding="utf-8") as f:
                    yaml.safe_dump({"rule_files": [rules_path], "evaluation_interval": interval,
                                    "tests": tests}, f)
        if not files:
            return name, factor, alerts, 0
        return name, factor, alerts, run([tool("promtool"), "test", "rules", *files]).returncode

    jobs = [(i, name, factor) for i, (name, factor) in
            enumerate((n, f) for n, _ in found for f in (2.0, 0.5))]
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for name, factor, alerts, code in pool.map(attempt, jobs):
                if not alerts:
                    problems.append(f"threshold {name} is used by no alert")
                    continue
                print(f"{name} x{factor:g} ({', '.join(sorted(alerts))}): "
                      f"{'caught' if code != 0 else 'NOT CAUGHT'}")
                if code == 0:
                    problems.append(f"promtool tests still pass with {name} multiplied by "
                                    f"{factor:g}: add a case near that threshold")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not found:
        problems.append("no fieldwork:alert_threshold:* rules found")
    return fail(problems)


# ----------------------------------------------------------------------------------------------
def check_dashboard(dashboard):
    """Structural problems with a dashboard model (empty when fine)."""
    problems = []
    for key, kind in (("title", str), ("uid", str), ("schemaVersion", int), ("panels", list)):
        if not isinstance(dashboard.get(key), kind):
            problems.append(f"{DASHBOARD}: top-level '{key}' missing or not a {kind.__name__}")
    if problems:
        return problems
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(f"{DASHBOARD}: needs a variable 'datasource' of type datasource, "
                        "query prometheus")
    trial = variables.get("trial")
    if not trial or trial.get("type") != "query":
        problems.append(f"{DASHBOARD}: needs a query variable 'trial'")
    for name, variable in variables.items():
        if variable.get("type") == "query" and \
                (variable.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"{DASHBOARD}: variable '{name}' must use datasource ${{datasource}}")
    ids = set()
    for row, panel in dashboard_panels(dashboard):
        title = panel.get("title") or ""
        where = f"{DASHBOARD}: panel '{title}'"
        if not title.strip():
            problems.append(f"{DASHBOARD}: panel id {panel.get('id')} has no title")
        if panel.get("type") not in PANEL_TYPES:
            problems.append(f"{where}: unknown panel type '{panel.get('type')}'")
        if not isinstance(panel.get("id"), int) or panel["id"] in ids:
            problems.append(f"{where}: id missing, not an integer or used twice")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in "hwxy") or \
                grid["x"] < 0 or grid["w"] < 1 or grid["x"] + grid["w"] > 24:
            problems.append(f"{where}: gridPos must have integers h, w, x, y within 24 columns")
        if (panel.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"{where}: datasource must be ${{datasource}}")
        targets = panel.get("targets") or []
        if not targets and panel.get("type") != "text":
            problems.append(f"{where}: has no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or not all(refs):
            problems.append(f"{where}: target refIds must be present and distinct")
        for target in targets:
            if not (target.get("expr") or "").strip():
                problems.append(f"{where} target {target.get('refId')}: empty expr")
            if (target.get("datasource") or {}).get("uid") != "${datasource}":
                problems.append(f"{where} target {target.get('refId')}: datasource must be "
                                "${datasource}")
    return problems


def check_dashboard_coverage(dashboard):
    used = set()
    for _, expr, _ in dashboard_queries(dashboard):
        try:
            used.update(s.name for s in promql_names.selectors(expr))
        except promql_names.PromQLError:
            pass  # reported by the metric-name check
    return [f"{DASHBOARD}: nothing shows {what} (expected one of {', '.join(names)})"
            for what, names in REQUIRED_ON_DASHBOARD.items() if not used & set(names)]


def cmd_dashboard(repo):
    path = os.path.join(repo, DASHBOARD)
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except json.JSONDecodeError as error:
        return fail([f"{DASHBOARD}: not valid JSON: {error}"])
    return fail(check_dashboard(dashboard) + check_dashboard_coverage(dashboard))


# ----------------------------------------------------------------------------------------------
def check_names(rules, dashboard, known):
    """Unknown metric names and labels in the rules' and the dashboard's queries."""
    problems, recorded = [], recorded_names(rules)
    # (where, expr, must filter by trial, must use a metric); a rule may be a constant.
    queries = [(where, expr, False, False) for where, expr in rule_exprs(rules)]
    queries += [(where, expr, row not in OPERATIONS_ROWS, True)
                for where, expr, row in dashboard_queries(dashboard)]
    for where, query, split in variable_queries(dashboard):
        if split is None:
            problems.append(f"{where}: only label_values(selector, label) queries are supported")
            continue
        selector_expr, label = split
        queries.append((where, selector_expr, False, True))
        for selector in promql_names.selectors(selector_expr):
            metric = known.get(selector.name or "")
            if metric and metric.labels is not None and label not in metric.labels:
                problems.append(f"{where}: '{selector.name}' has no label '{label}'")
    for where, expr, needs_trial, needs_metric in queries:
        try:
            found = promql_names.selectors(expr)
        except promql_names.PromQLError as error:
            problems.append(f"{where}: {error}")
            continue
        if not found and needs_metric:
            problems.append(f"{where}: uses no metric at all")
        for selector in found:
            problems += [f"{where}: {p}" for p in
                         promql_names.check_selector(selector, known, recorded, needs_trial)]
    return problems


def cmd_metric_names(repo):
    known = promql_names.load_known_metrics(os.path.join(repo, KNOWN))
    with open(os.path.join(repo, DASHBOARD), encoding="utf-8") as f:
        dashboard = json.load(f)
    return fail(check_names(load_rules(repo), dashboard, known))


# ----------------------------------------------------------------------------------------------
def cmd_self_test(repo):
    """The checks must reject what they are meant to reject."""
    problems = []

    def expect(label, got, want):
        if got != want:
            problems.append(f"{label}: got {got!r}, want {want!r}")

    def names(expr):
        return [(s.name, s.labels()) for s in promql_names.selectors(expr)]

    expect("aggregation, strings with commas, group_left",
           names('sum by (arm) (rate(a_total{trial="x,y}", arm=~"b|c"}[5m])) '
                 '/ on(trial) group_left(site) b'),
           [("a_total", ["trial", "arm"]), ("b", [])])
    expect("histogram_quantile, numbers, offset, keywords",
           names("histogram_quantile(0.95, sum by (le) (rate(h_bucket[1m]))) * 1e-3 "
                 "and c offset 15m unless ignoring(kind) d > bool 2"),
           [("h_bucket", []), ("c", []), ("d", [])])
    expect("recording rule names and Grafana variables",
           names('x:y:z{wave=~"$wave"} - on() group_left() rate(e[$__rate_interval])'),
           [("x:y:z", ["wave"]), ("e", [])])
    expect("absent and vector", names('absent(up{job="a"}) or vector(1)'), [("up", ["job"])])
    expect("selector without a name", names('{__name__="m"}'), [(None, ["__name__"])])
    for bad in ('rate(a[5m]', 'a{b="c"', 'a{"x"}', 'a{b="c}'):
        try:
            promql_names.selectors(bad)
            problems.append(f"malformed query {bad!r} was accepted")
        except promql_names.PromQLError:
            pass

    known = promql_names.load_known_metrics(os.path.join(repo, KNOWN))
    rules = {"groups": [{"name": "g", "rules": [
        {"record": "fieldwork:ok", "expr": "sum(up)"},
        {"alert": "A", "expr": 'fieldwork_trial_srm_pvalue{trial="t", arm="x"} < 0.001'},
        {"alert": "B", "expr": "fieldwork_trial_respons_rate < fieldwork:missing"},
        {"alert": "C", "expr": "grpc_server_handling_seconds > 1"},
        {"alert": "D", "expr": 'rate(grpc_server_handling_seconds_bucket{le="1"}[5m]) > 1'},
        {"alert": "E", "expr": 'rate(grpc_server_handling_seconds_count{le="1"}[5m]) > 1'}]}]}
    with open(os.path.join(repo, DASHBOARD), encoding="utf-8") as f:
        good_dashboard = json.load(f)
    empty = {"templating": {"list": []}, "panels": []}
    got = check_names(rules, empty, known)
    for needle in ("rule A: 'fieldwork_trial_srm_pvalue' has no label 'arm'",
                   "rule B: unknown metric 'fieldwork_trial_respons_rate'",
                   "rule B: 'fieldwork:missing' is not recorded",
                   "rule C: 'grpc_server_handling_seconds' is a histogram",
                   "rule E: 'grpc_server_handling_seconds_count' has no label 'le'"):
        if not any(needle in p for p in got):
            problems.append(f"metric-name check did not report {needle!r}; it said {got}")
    if any("rule D" in p for p in got):
        problems.append(f"metric-name check rejected a valid _bucket query: {got}")
    if any("fieldwork:ok" in p for p in got):
        problems.append(f"metric-name check rejected a valid rule: {got}")

    # A dashboard with each kind of mistake.
    broken = copy.deepcopy(good_dashboard)
    first = next(panel for _, panel in dashboard_panels(broken))
    first["targets"][0]["expr"] = "fieldwork_trial_response_rate"  # no trial filter
    first["targets"][0]["datasource"] = {"type": "prometheus", "uid": "abc"}
    first["gridPos"]["x"] = 20
    broken["templating"]["list"] = [v for v in broken["templating"]["list"]
                                    if v["name"] != "datasource"]
    structural = check_dashboard(broken)
    for needle in ("target A: datasource must be ${datasource}", "gridPos",
                   "needs a variable 'datasource'"):
        if not any(needle in p for p in structural):
            problems.append(f"dashboard check did not report {needle!r}; it said {structural}")
    got = check_names(load_rules(repo), broken, known)
    if not any("does not select trial=" in p for p in got):
        problems.append(f"metric-name check did not report a missing trial filter: {got}")
    bare = copy.deepcopy(good_dashboard)
    for _, panel in dashboard_panels(bare):
        panel["targets"] = [t for t in panel["targets"]
                            if "fieldwork_trial_mdes" not in t["expr"]] or \
            [{"refId": "A", "expr": "up", "datasource": {"uid": "${datasource}"}}]
    if not any("MDES" in p for p in check_dashboard_coverage(bare)):
        problems.append("coverage check did not notice the MDES panel missing")
    if check_dashboard(good_dashboard) or check_dashboard_coverage(good_dashboard):
        problems.append("the committed dashboard fails its own checks")

    # Alert metadata: severity and the three texts.
    got = check_alert_metadata({"groups": [{"name": "g", "rules": [
        {"alert": "NoRunbook", "expr": "up == 0", "labels": {"severity": "warning"},
         "annotations": {"summary": "s", "description": "d"}},
        {"alert": "BadSeverity", "expr": "up == 0", "labels": {"severity": "page"},
         "annotations": {"summary": "s", "description": "d", "runbook": "r"}}]}]})
    expect("alert metadata problems", got,
           ["alert NoRunbook: annotation 'runbook' is missing",
            "alert BadSeverity: label severity must be warning or critical"])
    expect("committed alerts' metadata", check_alert_metadata(load_rules(repo)), [])

    # The known-metrics reader names the line and the reason.
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("# comment\nok_metric gauge analysis trial\nbad_metric gauje analysis -\n")
    try:
        promql_names.load_known_metrics(f.name)
        problems.append("known-metrics reader accepted type 'gauje'")
    except ValueError as error:
        if f"{f.name}:3" not in str(error) or "gauje" not in str(error):
            problems.append(f"known-metrics error does not name line 3 and 'gauje': {error}")
    finally:
        os.unlink(f.name)

    # The live /metrics comparison: a page as prometheus-cpp writes it, with one family of each
    # kind of mistake.
    page = "\n".join([
        "# HELP fieldwork_trial_srm_pvalue p", "# TYPE fieldwork_trial_srm_pvalue gauge",
        'fieldwork_trial_srm_pvalue{factor="a,b",trial="t\\"1"} 0.5',
        "# TYPE fieldwork_analysis_monitor_run_seconds histogram",
        'fieldwork_analysis_monitor_run_seconds_bucket{le="+Inf"} 3',
        "fieldwork_analysis_monitor_run_seconds_sum 1.5",
        "fieldwork_analysis_monitor_run_seconds_count 3",
        "# TYPE fieldwork_trial_leavers counter", 'fieldwork_trial_leavers{trial="t"} 1',
        "# TYPE fieldwork_trial_withdrawn gauge", 'fieldwork_trial_withdrawn{trial="t",site="s"} 1',
        "# TYPE fieldwork_made_up gauge", "fieldwork_made_up 1",
        "# TYPE fieldwork_randomisation_enrolled_total counter",
        'fieldwork_randomisation_enrolled_total{trial="t"} 1', ""])
    got = promql_names.compare_live(known, {"analysis": page}, require_all=True)
    for needle in ("'fieldwork_trial_leavers' is a counter",
                   "'fieldwork_trial_withdrawn' has labels ['site', 'trial']",
                   "exports 'fieldwork_made_up', which known_metrics.txt does not list",
                   "'fieldwork_randomisation_enrolled_total', listed as exported by randomisation",
                   "analysis does not export 'fieldwork_trial_mdes'"):
        if not any(needle in p for p in got):
            problems.append(f"compare-live did not report {needle!r}; it said {got}")
    if any("srm_pvalue" in p or "monitor_run_seconds" in p for p in got):
        problems.append(f"compare-live rejected correct families: {got}")

    # The smoke test's fake exporter serves every known metric with its type and labels.
    served = promql_names.parse_exposition(fake_exporter.render(known, 10.0))
    for name, metric in known.items():
        if metric.exporter == "prometheus":
            continue
        if name not in served:
            problems.append(f"fake exporter does not serve '{name}'")
        elif served[name][0] != metric.type or \
                (metric.labels is not None and served[name][1] != metric.labels):
            problems.append(f"fake exporter serves '{name}' as {served[name]}, known as "
                            f"{metric.type} {sorted(metric.labels or [])}")

    # A threshold mutation changes exactly that threshold.
    with open(os.path.join(repo, RULES), encoding="utf-8") as f:
        text = f.read()
    before = dict(thresholds(text))
    after = dict(thresholds(mutate(text, "fieldwork:alert_threshold:mdes_ratio", 2.0)))
    expect("mutated mdes ratio", after.get("fieldwork:alert_threshold:mdes_ratio"),
           before.get("fieldwork:alert_threshold:mdes_ratio", 0) * 2)
    expect("other thresholds unchanged",
           {k: v for k, v in after.items() if not k.endswith("mdes_ratio")},
           {k: v for k, v in before.items() if not k.endswith("mdes_ratio")})
    return fail(problems)


# ----------------------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(url, path, **params):
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    with urllib.request.urlopen(f"{url}{path}{query}", timeout=5) as response:
        return json.load(response)


def api_error(url, path, **params):
    """The API's error for a query, or None on success."""
    try:
        body = api(url, path, **params)
    except urllib.error.HTTPError as error:
        body = json.load(error)
    return None if body.get("status") == "success" else body.get("error", str(body))


def wait_for(what, condition, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.25)


def cmd_smoke(repo):
    problems = []
    known = promql_names.load_known_metrics(os.path.join(repo, KNOWN))
    rules = load_rules(repo)
    all_alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    exporter = fake_exporter.FakeExporter(known)
    state = tempfile.mkdtemp(prefix="fieldwork-prometheus-")
    env = dict(os.environ, FIELDWORK_PROMETHEUS_DIR=state)
    # The analysis job scrapes the fake exporter; nothing listens on the other three ports.
    ports = {}
    for job, var in zip(JOBS, ("RANDOMISATION", "MESSAGING", "SURVEY_INGEST", "ANALYSIS")):
        ports[job] = exporter.port if job == "fieldwork-analysis" else free_port()
        env[f"FIELDWORK_{var}_METRICS_PORT"] = str(ports[job])
    down_jobs = sorted(job for job in JOBS if job != "fieldwork-analysis")
    script = os.path.join(repo, RUN_SCRIPT)
    started = run([script, "start", "--fast"], env=env, timeout=60)
    if started.returncode != 0:
        exporter.close()
        shutil.rmtree(state, ignore_errors=True)
        return fail([f"{RUN_SCRIPT} start failed:\n{started.stdout}{started.stderr}"])
    url = started.stdout.strip().splitlines()[-1]
    with open(os.path.join(state, "prometheus.pid"), encoding="utf-8") as f:
        pid = int(f.read())
    try:
        if not re.fullmatch(r"http://127\.0\.0\.1:\d+", url):
            problems.append(f"start printed {url!r}, expected http://127.0.0.1:PORT")
        again = run([script, "start", "--fast"], env=env, timeout=60)
        if again.returncode == 0 or "already running" not in again.stderr:
            problems.append(f"a second start did not refuse: {again.stdout}{again.stderr}")
        status = run([script, "status"], env=env, timeout=10)
        if status.returncode != 0 or status.stdout.strip() != url:
            problems.append(f"status said {status.stdout!r} (exit {status.returncode})")

        # The rule groups, with every rule of the file, evaluated without error.
        want = {g["name"]: sorted(r.get("alert") or r.get("record") for r in g["rules"])
                for g in rules["groups"]}

        def groups_evaluated():
            groups = api(url, "/api/v1/rules")["data"]["groups"]
            if any(r.get("health") != "ok" for g in groups for r in g["rules"]):
                return None
            return {g["name"]: sorted(r["name"] for r in g["rules"]) for g in groups}
        got = wait_for("every rule evaluated with health ok", groups_evaluated, 20)
        if got != want:
            problems.append(f"/api/v1/rules has groups {got}, want {want}")

        # The four jobs are scraped at the ports given to the run script.
        want_targets = {job: f"127.0.0.1:{port}" for job, port in ports.items()}

        def scraped_targets():
            targets = api(url, "/api/v1/targets")["data"]["activeTargets"]
            got = {t["labels"]["job"]: t["labels"]["instance"] for t in targets
                   if t.get("health") != "unknown"}
            return got if len(got) == len(JOBS) else None
        try:
            got_targets = wait_for("four scraped targets", scraped_targets, 20)
            if got_targets != want_targets:
                problems.append(f"targets {got_targets}, want {want_targets}")
        except TimeoutError as error:
            problems.append(str(error))

        # Every alert but FieldworkServiceMissing fires on the fake trial in trouble, and
        # FieldworkServiceDown for exactly the three jobs nothing listens for.
        want_firing = sorted(all_alerts - {"FieldworkServiceMissing"})

        def firing():
            alerts = [a for a in api(url, "/api/v1/alerts")["data"]["alerts"]
                      if a["state"] == "firing"]
            names = sorted({a["labels"]["alertname"] for a in alerts})
            down = sorted(a["labels"].get("job", "") for a in alerts
                          if a["labels"]["alertname"] == "FieldworkServiceDown")
            return (names, down) if (names, down) == (want_firing, down_jobs) else None
        try:
            wait_for(f"firing alerts {want_firing}, FieldworkServiceDown for {down_jobs}",
                     firing, 30)
        except TimeoutError as error:
            alerts = api(url, "/api/v1/alerts")["data"]["alerts"]
            problems.append(f"{error}; firing now: " + ", ".join(sorted(
                f"{a['labels']['alertname']}({a['labels'].get('job', '')})"
                for a in alerts if a["state"] == "firing")))

        # Every dashboard query is valid PromQL for this Prometheus and returns data. (A broken
        # query is rejected, so the check can fail.)
        if api_error(url, "/api/v1/query", query="sum(rate(up[5m])") is None:
            problems.append("Prometheus accepted a broken query: the query check checks nothing")
        with open(os.path.join(repo, DASHBOARD), encoding="utf-8") as f:
            dashboard = json.load(f)
        variables = {"trial": fake_exporter._VALUES["trial"][0], "wave": ".+",
                     "datasource": "x"}
        queries = [(w, e) for w, e, _ in dashboard_queries(dashboard)]
        queries += [(w, split[0]) for w, _, split in variable_queries(dashboard) if split]
        for where, expr in queries:
            query = promql_names.substitute_grafana(expr, variables)
            try:
                body = api(url, "/api/v1/query", query=query)
            except urllib.error.HTTPError as error:
                problems.append(f"{where}: Prometheus rejects {query!r}: "
                                f"{json.load(error).get('error')}")
                continue
            if not body["data"]["result"]:
                problems.append(f"{where}: no data for {query!r}")
        if not problems:
            print(f"{len(queries)} dashboard queries return data; firing: {want_firing}")
    except (OSError, TimeoutError, KeyError, ValueError) as error:
        problems.append(f"smoke test: {type(error).__name__}: {error}")
    finally:
        stopped = run([script, "stop"], env=env, timeout=60)
        if stopped.returncode != 0:
            problems.append(f"{RUN_SCRIPT} stop failed: {stopped.stdout}{stopped.stderr}")
        try:
            os.kill(pid, 0)
            problems.append(f"Prometheus (pid {pid}) still running after stop")
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        exporter.close()
        shutil.rmtree(state, ignore_errors=True)
    return fail(problems)


def cmd_compare_live(repo, pages, require_all):
    known = promql_names.load_known_metrics(os.path.join(repo, KNOWN))
    texts = {}
    for page in pages:
        service, _, url = page.partition("=")
        if not url:
            return fail([f"--page {page!r}: expected SERVICE=URL"])
        if url.startswith(("http://", "https://")):
            with urllib.request.urlopen(url, timeout=10) as response:
                texts[service] = response.read().decode("utf-8")
        else:
            with open(url, encoding="utf-8") as f:
                texts[service] = f.read()
    return fail(promql_names.compare_live(known, texts, require_all))


COMMANDS = {
    "check-rules": cmd_check_rules,
    "test-rules": cmd_test_rules,
    "mutations": cmd_mutations,
    "dashboard": cmd_dashboard,
    "metric-names": cmd_metric_names,
    "self-test": cmd_self_test,
    "smoke": cmd_smoke,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    parser.add_argument("command", choices=sorted(COMMANDS) + ["compare-live"])
    parser.add_argument("--page", action="append", default=[], help="compare-live: SERVICE=URL")
    parser.add_argument("--require-all", action="store_true")
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    if args.command == "compare-live":
        code = cmd_compare_live(repo, args.page, args.require_all)
    else:
        code = COMMANDS[args.command](repo)
    print("OK" if code == 0 else "FAILED")
    return code


if __name__ == "__main__":
    sys.exit(main())
