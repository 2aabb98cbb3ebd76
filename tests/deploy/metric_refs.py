"""Which Prometheus metric families the chart's dashboards and alerts query.

Reads the sources the chart ships (dashboards/*.json and files/alerts.yaml) and pulls the
metric names out of every PromQL expression, so a test can check them against what the
services export. Standard library and PyYAML only: load it by path from any test, e.g.
``importlib.util.spec_from_file_location("metric_refs", "tests/deploy/metric_refs.py")``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "linli"

# Histogram and summary series carry these suffixes; the family is the name without them.
_SERIES_SUFFIXES = ("_bucket", "_sum", "_count")

# PromQL words that look like identifiers but are not metric names.
_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "offset", "bool", "inf", "nan", "atan2",
}  # fmt: skip

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
# Grafana variables ($namespace, ${datasource}, $__rate_interval) and the chart's
# ${PLACEHOLDER}s in files/alerts.yaml.
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_BRACES = re.compile(r"\{[^{}]*\}")  # label matchers, after strings are gone
_BRACKETS = re.compile(r"\[[^\[\]]*\]")  # range and subquery selectors
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
# Numbers and durations (0.95, 5m, 1e3, 0x1F): a token that starts with a digit.
_NUMBER = re.compile(r"(?<![A-Za-z0-9_:])[0-9][0-9A-Za-z_.]*")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names_in(expr: str) -> set[str]:
    """Metric families named in one PromQL expression."""
    text = _STRING.sub(" ", expr)
    text = _VARIABLE.sub(" ", text)
    text = _BRACES.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):
            continue  # a function or aggregation: rate(, sum(, histogram_quantile(
        if word.lower() in _KEYWORDS:
            continue
        names.add(family(word))
    return names


def family(name: str) -> str:
    """Strip a histogram/summary series suffix: x_bucket → x."""
    for suffix in _SERIES_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _walk_exprs(node: Any) -> Iterator[str]:
    """Every value under a key named `expr` (Grafana targets, Prometheus rules)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _walk_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_exprs(item)


def dashboard_exprs(chart_dir: Path = CHART_DIR) -> list[str]:
    """PromQL of every panel target and query variable in the chart's dashboards."""
    exprs = []
    for path in sorted((chart_dir / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        exprs.extend(_walk_exprs(dashboard.get("panels", [])))
        for var in dashboard.get("templating", {}).get("list", []):
            query = var.get("query")
            if var.get("type") == "query":
                text = query.get("query", "") if isinstance(query, dict) else str(query)
                # label_values(<selector>, label): the selector is the PromQL part.
                inner = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", text, re.S)
                exprs.append(inner.group(1) if inner else text)
    return exprs


def alert_exprs(chart_dir: Path = CHART_DIR) -> list[str]:
    """PromQL of every alerting and recording rule in files/alerts.yaml."""
    rules = yaml.safe_load((chart_dir / "files" / "alerts.yaml").read_text(encoding="utf-8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def referenced_metric_names(chart_dir: Path = CHART_DIR) -> set[str]:
    """Every metric family the chart's dashboards and alerts use."""
    names: set[str] = set()
    for expr in dashboard_exprs(chart_dir) + alert_exprs(chart_dir):
        names |= metric_names_in(expr)
    return names
