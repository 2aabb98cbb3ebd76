"""Points domain objects as PointsService protobuf messages; the API's enums to the domain's."""

from __future__ import annotations

from collections.abc import Mapping

from linli.points.v1 import points_service_pb2 as pb

from linli_kit.errors import InvalidArgument
from linli_kit.wire import timestamp
from linli_points.domain import standings
from linli_points.domain.appeals import Appeal, AppealStatus
from linli_points.domain.ledger import LedgerTransaction
from linli_points.domain.reservations import Reservation, ReservationState, Sink
from linli_points.names import ACCOUNT, APPEAL, RESERVATION, RESIDENT, TRANSACTION

SINKS = {pb.SINK_REWARDS: Sink.REWARDS, pb.SINK_TIMEBANK: Sink.TIMEBANK}
RESERVATION_STATES = {
    ReservationState.PENDING: pb.RESERVATION_STATE_PENDING,
    ReservationState.COMMITTED: pb.RESERVATION_STATE_COMMITTED,
    ReservationState.VOIDED: pb.RESERVATION_STATE_VOIDED,
    ReservationState.REFUNDED: pb.RESERVATION_STATE_REFUNDED,
}
APPEAL_STATES = {
    AppealStatus.FILED: pb.APPEAL_STATE_FILED,
    AppealStatus.ACCEPTED: pb.APPEAL_STATE_ACCEPTED,
    AppealStatus.REJECTED: pb.APPEAL_STATE_REJECTED,
}
APPEAL_STATUSES = {state: status for status, state in APPEAL_STATES.items()}


def appeal_status(state: int) -> AppealStatus:
    """The domain status of an API appeal state, or InvalidArgument."""
    if state not in APPEAL_STATUSES:
        raise InvalidArgument(f"states: {state} is not an appeal state")
    return APPEAL_STATUSES[state]


def _transaction_name(community_id: str, transaction_id: str) -> str:
    return TRANSACTION.format(community=community_id, transaction=transaction_id)


def resident_name(community_id: str, resident_id: str) -> str:
    return RESIDENT.format(community=community_id, resident=resident_id)


def transaction_message(t: LedgerTransaction) -> pb.Transaction:
    """A ledger transaction as its protobuf message."""
    return pb.Transaction(
        name=_transaction_name(t.community_id, t.id),
        rule_id=t.rule_id,
        source_id=t.source_id,
        reason=t.reason,
        postings=[
            pb.Posting(
                account=ACCOUNT.format(community=t.community_id, account=p.account.key),
                amount_centipoints=p.amount,
            )
            for p in t.postings
        ],
        create_time=timestamp(t.created_at),
        kind=t.kind.value,
        coefficient_percent=t.coefficient_percent,
        actor=t.actor,
        session=t.session,
        reverses=_transaction_name(t.community_id, t.reverses) if t.reverses else "",
        rule_kind=t.rule_kind or "",
    )


def reservation_message(r: Reservation) -> pb.Reservation:
    """A reservation as its protobuf message."""
    return pb.Reservation(
        name=RESERVATION.format(community=r.community_id, reservation=r.id),
        resident=resident_name(r.community_id, r.resident_id),
        amount_centipoints=r.amount,
        sink=next(k for k, v in SINKS.items() if v is r.sink),
        memo=r.memo,
        state=RESERVATION_STATES[r.state],
        create_time=timestamp(r.created_at),
        expire_time=timestamp(r.expires_at),
        settle_time=timestamp(r.settled_at),
        settle_reason=r.settle_reason,
        refund_time=timestamp(r.refunded_at),
        refund_reason=r.refund_reason,
    )


def appeal_message(a: Appeal) -> pb.Appeal:
    """An appeal as its protobuf message."""
    c = a.community_id
    return pb.Appeal(
        name=APPEAL.format(community=c, appeal=a.id),
        resident=resident_name(c, a.resident_id),
        transaction=_transaction_name(c, a.transaction_id),
        reason=a.reason,
        state=APPEAL_STATES[a.status],
        reviewer=resident_name(c, a.reviewer) if a.reviewer else "",
        decision_reason=a.decision_reason,
        compensation_centipoints=a.compensation_amount,
        compensation_transaction=(
            _transaction_name(c, a.compensation_transaction_id)
            if a.compensation_transaction_id
            else ""
        ),
        create_time=timestamp(a.filed_at),
        decide_time=timestamp(a.decided_at),
    )


def entries(
    community_id: str, places: list[standings.Place], names: Mapping[str, str]
) -> list[pb.LeaderboardEntry]:
    """Board places as entries, with the display names to show (resident id → name)."""
    return [
        pb.LeaderboardEntry(
            resident=resident_name(community_id, p.resident_id),
            rank=p.rank,
            score_centipoints=p.score,
            display_name=names.get(p.resident_id, ""),
        )
        for p in places
    ]
