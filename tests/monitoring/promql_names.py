"""Finds the metric names and label matchers a PromQL expression uses, and checks them against
tests/monitoring/known_metrics.txt. Not a full PromQL parser: it knows enough of the grammar
(strings, matchers, ranges, grouping clauses, function calls, numbers and durations) to tell a
metric name from everything else; the smoke test has a real Prometheus parse every query too.
"""

import dataclasses
import re

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_MATCHER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*\"#(\d+)\"\s*$")
# Words followed by a parenthesised label list, not an expression.
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}
# Aggregations, which may be followed by `by (...)` or `without (...)` before their argument.
_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                 "count_values", "bottomk", "topk", "quantile"}
# Labels every scraped series has.
_SCRAPE_LABELS = {"job", "instance"}
_TYPES = {"counter", "gauge", "histogram", "summary"}
_EXPORTERS = {"randomisation", "messaging", "survey-ingest", "analysis", "every-service",
              "prometheus"}
# Grafana's built-in interval variables, and what the smoke test substitutes for them.
GRAFANA_INTERVALS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}


@dataclasses.dataclass
class Selector:
    """One vector selector: a metric name (None for `{...}` without one) and its matchers."""
    name: str | None
    matchers: list  # of (label, op, value)

    def labels(self):
        return [label for label, _, _ in self.matchers]


@dataclasses.dataclass
class Metric:
    name: str
    type: str
    exporter: str  # one exporter, or several joined by commas (messaging,survey-ingest)
    labels: set | None  # None: any label

    def exported_by(self, service):
        return self.exporter == "every-service" or service in self.exporter.split(",")


class PromQLError(ValueError):
    pass


def load_known_metrics(path):
    """Reads known_metrics.txt into {name: Metric}; raises ValueError naming the line."""
    metrics = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            where = f"{path}:{number}"
            if len(fields) != 4:
                raise ValueError(f"{where}: expected 4 columns (name type exporter labels), "
                                 f"got {len(fields)}")
            name, kind, exporter, labels = fields
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"{where}: '{name}' is not a valid metric name")
            if kind not in _TYPES:
                raise ValueError(f"{where}: type '{kind}' is not one of {sorted(_TYPES)}")
            parts = exporter.split(",")
            if any(p not in _EXPORTERS for p in parts) or (
                    len(parts) > 1 and {"every-service", "prometheus"} & set(parts)):
                raise ValueError(f"{where}: exporter '{exporter}' is not one of "
                                 f"{sorted(_EXPORTERS)} (or services joined by commas)")
            if name in metrics:
                raise ValueError(f"{where}: '{name}' is listed twice")
            if labels == "*":
                label_set = None
            elif labels == "-":
                label_set = set()
            else:
                label_set = set(labels.split(","))
                bad = [l for l in label_set if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", l)]
                if bad:
                    raise ValueError(f"{where}: invalid label name(s) {bad}")
            metrics[name] = Metric(name, kind, exporter, label_set)
    return metrics


def substitute_grafana(expr, variables=None):
    """Replaces Grafana variables: interval built-ins by durations, others by `variables` or x."""
    for name, value in GRAFANA_INTERVALS.items():
        expr = expr.replace(name, value)
    variables = variables or {}

    def replace(match):
        name = match.group(1) or match.group(2)
        return variables.get(name, "x")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)",
                  replace, expr)


def _blank_strings(expr):
    """Replaces each string literal by "#N"; returns the new text and the literals."""
    out, literals, i = [], [], 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            j, value = i + 1, []
            while j < len(expr) and expr[j] != c:
                if expr[j] == "\\" and c != "`" and j + 1 < len(expr):
                    value.append(expr[j:j + 2])
                    j += 2
                    continue
                value.append(expr[j])
                j += 1
            if j >= len(expr):
                raise PromQLError(f"unterminated string starting at offset {i}")
            out.append(f'"#{len(literals)}"')
            literals.append("".join(value))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), literals


def _closing(text, start, open_char, close_char):
    depth = 0
    for k in range(start, len(text)):
        if text[k] == open_char:
            depth += 1
        elif text[k] == close_char:
            depth -= 1
            if depth == 0:
                return k
    raise PromQLError(f"'{open_char}' at offset {start} is never closed")


def _matchers(body, literals):
    matchers = []
    for part in body.split(","):
        if not part.strip():
            continue
        m = _MATCHER.match(part)
        if not m:
            raise PromQLError(f"cannot read label matcher '{part.strip()}'")
        matchers.append((m.group(1), m.group(2), literals[int(m.group(3))]))
    return matchers


def selectors(expr):
    """Every vector selector in a PromQL expression (Grafana variables allowed), in order."""
    text, literals = _blank_strings(substitute_grafana(expr))
    for open_char, close_char in ("()", "[]", "{}"):
        if text.count(open_char) != text.count(close_char):
            raise PromQLError(f"unbalanced '{open_char}{close_char}'")
    found, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "[":  # range or subquery: durations only
            i = _closing(text, i, "[", "]") + 1
        elif c == "{":
            j = _closing(text, i, "{", "}")
            found.append(Selector(None, _matchers(text[i + 1:j], literals)))
            i = j + 1
        elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            while i < n and (text[i].isalnum() or text[i] in "._"):
                i += 1  # a number or a duration (1e-3 leaves "-3", read as a number next)
        elif _IDENT.match(text, i):
            word = _IDENT.match(text, i).group(0)
            i += len(word)
            k = i
            while k < n and text[k].isspace():
                k += 1
            lower = word.lower()
            if lower in _GROUPING:
                if k < n and text[k] == "(":
                    i = _closing(text, k, "(", ")") + 1
            elif lower in _KEYWORDS or lower in _AGGREGATIONS or (k < n and text[k] == "("):
                pass  # an operator keyword, or a function or aggregation call
            else:
                matchers = []
                if k < n and text[k] == "{":
                    j = _closing(text, k, "{", "}")
                    matchers = _matchers(text[k + 1:j], literals)
                    i = j + 1
                found.append(Selector(word, matchers))
        else:
            i += 1
    return found


def label_values_query(query):
    """Splits a Grafana `label_values(selector, label)` query; None for other queries."""
    m = re.fullmatch(r"\s*label_values\s*\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", query,
                     re.S)
    return (m.group(1), m.group(2)) if m else None


def check_selector(selector, known, recorded, require_trial_matcher=False):
    """Problems with one selector (empty when fine): unknown name or label, missing trial."""
    name = selector.name
    if name is None:
        return ["selector without a metric name; name the metric"]
    if ":" in name:
        if name not in recorded:
            return [f"'{name}' is not recorded by any rule in the rules file"]
        return []
    metric, label_extra = known.get(name), set()
    if metric is None:
        for suffix in ("_bucket", "_sum", "_count"):
            base = known.get(name[:-len(suffix)]) if name.endswith(suffix) else None
            if base is not None and (base.type == "histogram" or
                                     (base.type == "summary" and suffix != "_bucket")):
                metric = base
                label_extra = {"le"} if suffix == "_bucket" else set()
        if metric is None:
            return [f"unknown metric '{name}' (not in tests/monitoring/known_metrics.txt)"]
    elif metric.type == "histogram":
        return [f"'{name}' is a histogram: query {name}_bucket, _sum or _count"]
    elif metric.type == "summary":
        label_extra = {"quantile"}
    problems = []
    if metric.labels is not None:
        allowed = metric.labels | _SCRAPE_LABELS | label_extra
        for label in selector.labels():
            if label not in allowed:
                problems.append(f"'{name}' has no label '{label}' (it has "
                                f"{', '.join(sorted(metric.labels)) or 'none'})")
        if require_trial_matcher and "trial" in metric.labels and \
                "trial" not in selector.labels():
            problems.append(f"'{name}' is per trial but the query does not select "
                            "trial=\"$trial\"")
    return problems


_SAMPLE = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+\S+")
_LABEL_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """Families on a Prometheus text-format /metrics page: {name: (type, set of label names)}.
    Histogram and summary samples count towards their family; `le` and `quantile` are left out."""
    families, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind.strip()
            families.setdefault(name, (types[name], set()))
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"cannot read /metrics line: {line!r}")
        name = m.group(1)
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                family = base
        kind = types.get(family, "untyped")
        labels = {label for label, _ in _LABEL_PAIR.findall(m.group(2) or "")}
        families.setdefault(family, (kind, set()))[1].update(labels - {"le", "quantile"})
    return families


def compare_live(known, pages, require_all=False):
    """Problems between known_metrics.txt and live pages ({service: exposition text}): every
    exported family must be listed with its type and labels; with require_all, every listed
    metric of a service must be exported by it."""
    problems = []
    for service, text in sorted(pages.items()):
        families = parse_exposition(text)
        for name, (kind, labels) in sorted(families.items()):
            metric = known.get(name)
            if metric is None:
                problems.append(f"{service} exports '{name}', which known_metrics.txt does not list")
                continue
            if metric.type != kind:
                problems.append(f"{service}: '{name}' is a {kind}, known_metrics.txt says "
                                f"{metric.type}")
            if not metric.exported_by(service):
                problems.append(f"{service} exports '{name}', listed as exported by "
                                f"{metric.exporter}")
            if metric.labels is not None and labels != metric.labels:
                problems.append(f"{service}: '{name}' has labels {sorted(labels)}, "
                                f"known_metrics.txt says {sorted(metric.labels)}")
        if require_all:
            for name, metric in sorted(known.items()):
                if metric.exported_by(service) and name not in families:
                    problems.append(f"{service} does not export '{name}'")
    return problems
