"""Dashboards and alerts query only metrics the services export."""

from __future__ import annotations

import json
import re

import chartcheck
import metric_refs
import pytest
from chartcheck import of_kind

# The metric families linli_kit.metrics exports (libs/linli-kit/src/linli_kit/metrics.py).
EXPORTED = {
    "linli_rpc_duration_seconds",
    "linli_rpc_requests_total",
    "linli_rpc_in_flight",
    "linli_rpc_shed_total",
    "linli_points_awards_total",
    "linli_attendance_sign_ins_total",
    "linli_identity_face_identifications_total",
    "linli_rewards_redemptions_total",
    "linli_rewards_stock_outs_total",
    "linli_rewards_vouchers_consumed_total",
    "linli_rewards_sagas_stalled",
    "linli_rewards_sagas_unsettled",
    "linli_partners_eligibility_checks_total",
    "linli_training_attendance_total",
    "linli_training_courses_completed_total",
    "linli_training_promotions_total",
    "linli_training_teaching_shortfall_minutes",
    "linli_training_teaching_target_minutes",
    "linli_training_allowances_unpaid",
    "linli_stream_lag_entries",
    "linli_stream_pending_entries",
    "linli_stream_dead_letters_total",
    "linli_stream_dead_letters_waiting",
    "linli_ledger_verification_failures_total",
    "linli_council_audits_overdue",
    "linli_timebank_transfers_total",
    "linli_timebank_pending_transfers",
    "linli_timebank_oldest_pending_seconds",
    "linli_timebank_clearing_centipoints",
    "linli_timebank_credit_limit_centipoints",
    "linli_timebank_reconciliation_mismatches",
    "linli_gateway_http_requests_total",
    "linli_gateway_http_request_duration_seconds",
    "linli_gateway_sse_viewers",
    "linli_gateway_board_watches",
}
KIT_METRICS = chartcheck.REPO / "libs" / "linli-kit" / "src" / "linli_kit" / "metrics.py"


def test_dashboards_and_alerts_use_only_exported_metrics():
    referenced = metric_refs.referenced_metric_names()
    assert referenced, "no metric found: the extraction is broken"
    assert referenced <= EXPORTED, f"not exported: {sorted(referenced - EXPORTED)}"


def test_every_exported_metric_is_on_a_dashboard():
    on_dashboards = set()
    for expr in metric_refs.dashboard_exprs():
        on_dashboards |= metric_refs.metric_names_in(expr)
    assert on_dashboards == EXPORTED


def test_exported_list_matches_the_kit():
    if not KIT_METRICS.exists():
        pytest.skip(f"{KIT_METRICS.relative_to(chartcheck.REPO)} not written yet")
    declared = set(
        re.findall(
            r'^\s*(?:\w+\s*=\s*)?(Counter|Gauge|Histogram)\(\s*"(linli_\w+)"',
            KIT_METRICS.read_text(),
            re.M,
        )
    )
    # prometheus_client adds _total to a Counter's name if the code left it off.
    names = {
        n if kind != "Counter" or n.endswith("_total") else f"{n}_total" for kind, n in declared
    }
    assert names >= EXPORTED, f"the kit does not declare {sorted(EXPORTED - names)}"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (service) (rate(a_total{code=~"X|Y"}[5m])) / on(x) group_left(y) b',
            {"a_total", "b"},
        ),
        (
            "histogram_quantile(0.95, sum by (le) (rate(h_seconds_bucket[$__rate_interval])))",
            {"h_seconds"},
        ),
        ("x_count offset 5m > bool 1e3 and on() absent(y_sum)", {"x", "y"}),
        ('max(g{namespace="${NAMESPACE}", q="{not_a_metric}"}) > ${THRESHOLD}', {"g"}),
        ("rate(c:recorded_rate5m[1h])", {"c:recorded_rate5m"}),
    ],
)
def test_metric_names_in_promql(expr, names):
    assert metric_refs.metric_names_in(expr) == names


@pytest.mark.parametrize("community", [p.name for p in chartcheck.EXAMPLES])
def test_rendered_rules_and_dashboards_come_from_the_scanned_files(rendered, community):
    # metric_refs reads the chart's source files; what the chart deploys must be no more.
    referenced = metric_refs.referenced_metric_names()
    docs = rendered[community]
    (rule,) = of_kind(docs, "PrometheusRule")
    deployed = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert len(deployed) == len(metric_refs.alert_exprs())
    for expr in deployed:
        assert metric_refs.metric_names_in(expr) <= referenced
    for cm in of_kind(docs, "ConfigMap"):
        for text in cm.get("data", {}).values():
            if text.lstrip().startswith("{"):
                for expr in metric_refs._walk_exprs(json.loads(text)):
                    assert metric_refs.metric_names_in(expr) <= referenced
