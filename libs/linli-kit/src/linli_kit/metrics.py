"""Every Prometheus metric Linli exports, declared in one place; dashboards query these names."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_DURATION = Histogram(
    "linli_rpc_duration_seconds",
    "Server-side gRPC latency by method and status code.",
    ["service", "method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RPC_REQUESTS = Counter(
    "linli_rpc_requests",
    "gRPC requests served by method and status code.",
    ["service", "method", "code"],
)
RPC_IN_FLIGHT = Gauge(
    "linli_rpc_in_flight",
    "Calls being served now, by kind: call (unary) or stream (open server streams).",
    ["service", "kind"],
)
RPC_SHED = Counter(
    "linli_rpc_shed",
    "Calls refused at once (RESOURCE_EXHAUSTED) because the server held its most in flight.",
    ["service", "kind"],
)
POINTS_AWARDS = Counter(
    "linli_points_awards", "Award transactions posted to the ledger.", ["community_id", "rule_id"]
)
ATTENDANCE_SIGN_INS = Counter(
    "linli_attendance_sign_ins", "Sign-ins accepted by method.", ["community_id", "method"]
)
FACE_IDENTIFICATIONS = Counter(
    "linli_identity_face_identifications",
    "Kiosk identifications (1:N among the expected) by engine and outcome: identified, "
    "needs_confirmation (a close call held for staff) or the refusal (NotFound: nobody matched, "
    "LivenessFailed, ...).",
    ["community_id", "engine", "outcome"],
)
REWARDS_REDEMPTIONS = Counter(
    "linli_rewards_redemptions",
    "Redemptions that reached an end, by their state (active, failed, voided).",
    ["community_id", "outcome"],
)
REWARDS_STOCK_OUTS = Counter(
    "linli_rewards_stock_outs",
    "Redemptions refused because the item was sold out.",
    ["community_id", "item_id"],
)
REWARDS_VOUCHERS_CONSUMED = Counter(
    "linli_rewards_vouchers_consumed", "Vouchers consumed.", ["community_id"]
)
REWARDS_SAGAS_STALLED = Gauge(
    "linli_rewards_sagas_stalled",
    "Redemption sagas the last recovery sweep found untouched past the stall time.",
)
REWARDS_SAGAS_UNSETTLED = Gauge(
    "linli_rewards_sagas_unsettled",
    "Sagas the last recovery sweep could not finish or undo (points did not answer).",
)
PARTNER_CHECKS = Counter(
    "linli_partners_eligibility_checks",
    "Eligibility checks by partner and answer (qualifies, does_not_qualify) or refusal.",
    ["community_id", "partner_id", "outcome"],
)
TRAINING_ATTENDANCE_CREDITED = Counter(
    "linli_training_attendance",
    "Completed sessions of course activities, by what training did (credited, not_enrolled, "
    "already_credited).",
    ["community_id", "outcome"],
)
TRAINING_COURSES_COMPLETED = Counter(
    "linli_training_courses_completed",
    "Courses completed by residents.",
    ["community_id", "course_id"],
)
TRAINING_PROMOTIONS = Counter(
    "linli_training_promotions", "Promotions to a volunteer level.", ["community_id", "level_id"]
)
TRAINING_TEACHING_SHORTFALL = Gauge(
    "linli_training_teaching_shortfall_minutes",
    "Face-to-face teaching minutes still missing this year to reach the target (T2).",
    ["community_id"],
)
TRAINING_TEACHING_TARGET = Gauge(
    "linli_training_teaching_target_minutes",
    "The yearly face-to-face teaching target in minutes (T2).",
    ["community_id"],
)
TRAINING_ALLOWANCES_UNPAID = Gauge(
    "linli_training_allowances_unpaid",
    "Allowance entitlements older than 30 days not yet recorded paid.",
    ["community_id"],
)
STREAM_LAG = Gauge(
    "linli_stream_lag_entries",
    "Stream entries not yet delivered to the group.",
    ["stream", "group"],
)
STREAM_PENDING = Gauge(
    "linli_stream_pending_entries",
    "Entries delivered to the group and not yet acknowledged.",
    ["stream", "group"],
)
STREAM_DEAD_LETTERS = Counter(
    "linli_stream_dead_letters", "Entries moved to the dead-letter stream.", ["stream", "group"]
)
STREAM_DEAD_LETTERS_WAITING = Gauge(
    "linli_stream_dead_letters_waiting",
    "Letters in a stream's dead-letter stream, not yet replayed or discarded.",
    ["stream"],
)
LEDGER_VERIFICATION_FAILURES = Counter(
    "linli_ledger_verification_failures",
    "Ledger verifications that found a break.",
    ["community_id"],
)
COUNCIL_AUDITS_OVERDUE = Gauge(
    "linli_council_audits_overdue",
    "Ended quarters past their grace without an audit the supervision council adopted (P9).",
    ["community_id"],
)

TIMEBANK_TRANSFERS = Counter(
    "linli_timebank_transfers",
    "Time-bank transfers as answered: sent (committed, voided, pending) or received (accepted,"
    " refused, aborted).",
    ["community_id", "peer", "outcome"],
)
TIMEBANK_PENDING = Gauge(
    "linli_timebank_pending_transfers",
    "Transfers sent to a peer and still pending, at the last recovery sweep.",
    ["community_id", "peer"],
)
TIMEBANK_OLDEST_PENDING = Gauge(
    "linli_timebank_oldest_pending_seconds",
    "Age of the oldest transfer still pending to a peer (0 when none), at the last sweep.",
    ["community_id", "peer"],
)
TIMEBANK_CLEARING = Gauge(
    "linli_timebank_clearing_centipoints",
    "The clearing account for a peer (positive: owed to the peer), at the last sweep.",
    ["community_id", "peer"],
)
TIMEBANK_CREDIT_LIMIT = Gauge(
    "linli_timebank_credit_limit_centipoints",
    "The credit limit agreed with a peer: its clearing account may go down to minus this.",
    ["community_id", "peer"],
)
TIMEBANK_MISMATCHES = Gauge(
    "linli_timebank_reconciliation_mismatches",
    "Disagreements the last statement exchange with a peer found (0: reconciled).",
    ["community_id", "peer"],
)


# The gateway: HTTP requests by route template (never the raw path), its live boards.
GATEWAY_HTTP_REQUESTS = Counter(
    "linli_gateway_http_requests",
    "HTTP requests the gateway answered, by route template ('none': no route), method, status.",
    ["route", "method", "status"],
)
GATEWAY_HTTP_DURATION = Histogram(
    "linli_gateway_http_request_duration_seconds",
    "Time until the response began (an SSE stream's life is not counted), by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
GATEWAY_SSE_VIEWERS = Gauge(
    "linli_gateway_sse_viewers", "Server-sent event streams (live leaderboards) open to browsers."
)
GATEWAY_BOARD_WATCHES = Gauge(
    "linli_gateway_board_watches",
    "WatchLeaderboard streams the gateway holds open to points (one per board viewed).",
)


def serve_metrics(port: int) -> None:
    """Expose /metrics over HTTP on the port (0 leaves it off)."""
    if port:
        start_http_server(port)
