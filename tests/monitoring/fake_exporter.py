"""A /metrics page with a series for every metric in known_metrics.txt, for the smoke test: a real
Prometheus scrapes it, evaluates the rules on it and answers every dashboard query from it.

The values describe a trial in trouble, so that every alert but FieldworkServiceMissing fires:
the treatment arm responds far below plan after 20 days, the arms differ by 30 points (p=0.001),
achieved MDES is 1.5 x planned, allocation p=0.0001, the oldest due send is 1000+ s old and
ageing, dead letters and monitor errors keep rising, 10% of RPCs end INTERNAL, monitor passes take
45 s, the tracked-link listener refuses 100 connections a second, and every service runs
on a volatile Redis. Counters grow with the time since the page started.
"""

import http.server
import itertools
import threading
import time

# Label values used for every metric that has the label.
_VALUES = {
    "trial": ["smoke-trial"], "wave": ["baseline", "endline"], "arm": ["control", "treatment"],
    "site": ["north", "south"], "factor": ["arm"], "campaign": ["weekly-texts"],
    "channel": ["email"], "status": ["sent", "failed"], "queue": ["scheduled", "due", "dead_letter"],
    "command": ["EVALSHA"], "grpc_type": ["unary"], "grpc_service": ["fieldwork.v1.AnalysisService"],
    "grpc_method": ["Analyse"], "grpc_code": ["OK", "INTERNAL"], "version": ["0.0.0"],
    "git_sha": ["smoke"], "service": ["analysis"], "code": ["OK"],
    "stage": ["opened", "started", "completed"],
}
_KINDS = {"fieldwork_trial_mdes": ["planned", "achieved"],
          "fieldwork_messaging_engagement_total": ["opened", "clicked"]}


def _value(name, labels, elapsed):
    """The sample value of one series; counters grow with `elapsed` seconds."""
    arm, kind, code = labels.get("arm"), labels.get("kind"), labels.get("grpc_code")
    fixed = {
        "fieldwork_trial_participants": 100,
        "fieldwork_trial_responses": 12 if arm == "treatment" else 55,
        "fieldwork_trial_response_rate": 0.24 if arm == "treatment" else 0.55,
        "fieldwork_trial_expected_response_rate": 0.6,
        "fieldwork_trial_wave_open_seconds": 20 * 86400 + elapsed,
        "fieldwork_trial_leavers": 3,
        "fieldwork_trial_withdrawn": 2,
        "fieldwork_trial_differential_attrition": -31,
        "fieldwork_trial_differential_attrition_pvalue": 0.001,
        "fieldwork_trial_mdes": 0.3 if kind == "achieved" else 0.2,
        "fieldwork_trial_srm_pvalue": 0.0001,
        "fieldwork_trial_takeup_rate": 0.4,
        "fieldwork_messaging_queue_depth": 10,
        "fieldwork_messaging_oldest_due_age_seconds": 1000 + 10 * elapsed,
        "fieldwork_randomisation_allocated_participants": 100,
        "fieldwork_analysis_monitor_trials": 1,
        "fieldwork_build_info": 1,
        "fieldwork_redis_volatile": 1,
    }
    if name in fixed:
        return fixed[name]
    if name == "grpc_server_handled_total":
        return (10 if code == "INTERNAL" else 90) * elapsed
    if name == "fieldwork_http_refused_total":
        # Steep enough that rate()[5m], extrapolated over the few seconds scraped so far, is
        # already above the 1/s threshold.
        return 100 * elapsed
    return 5 * elapsed  # every other counter


def _label_sets(labels):
    names = sorted(labels)
    for combo in itertools.product(*(_VALUES.get(n, ["x"]) for n in names)):
        yield dict(zip(names, combo))


def _format(name, labels, value):
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}} {value:g}" if body else f"{name} {value:g}"


def render(known, elapsed):
    """The exposition text for every non-Prometheus metric in `known`."""
    lines = []
    for name, metric in sorted(known.items()):
        if metric.exporter == "prometheus":
            continue
        lines.append(f"# TYPE {name} {metric.type}")
        label_names = set(metric.labels or ())
        kinds = _KINDS.get(name)
        label_names.discard("kind")
        for labels in _label_sets(label_names):
            for kind in kinds or [None]:
                series = dict(labels, **({"kind": kind} if kind else {}))
                if metric.type == "histogram":
                    # Observations of 45 s (the monitor) or 0.5 s (everything else).
                    slow = name == "fieldwork_analysis_monitor_run_seconds"
                    count = elapsed
                    for le, inside in (("1", not slow), ("30", not slow), ("60", True),
                                       ("+Inf", True)):
                        lines.append(_format(f"{name}_bucket", dict(series, le=le),
                                             count if inside else 0))
                    lines.append(_format(f"{name}_sum", series, count * (45 if slow else 0.5)))
                    lines.append(_format(f"{name}_count", series, count))
                elif metric.type == "summary":
                    lines.append(_format(name, dict(series, quantile="0.5"), 0.001))
                    lines.append(_format(f"{name}_sum", series, 0.001 * elapsed))
                    lines.append(_format(f"{name}_count", series, elapsed))
                else:
                    lines.append(_format(name, series, _value(name, series, elapsed)))
    return "\n".join(lines) + "\n"


class FakeExporter:
    """Serves render(known, seconds since start) at http://127.0.0.1:port/metrics."""

    def __init__(self, known):
        started = time.monotonic()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                body = render(known, time.monotonic() - started).encode()
                self.send_response(200 if self.path.startswith("/metrics") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()
