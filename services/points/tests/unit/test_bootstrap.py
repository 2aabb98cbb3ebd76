"""The whole points service built in one call with fakes, served in process, called over gRPC."""

from __future__ import annotations

import uuid
from datetime import timedelta

from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2, envelope_pb2
from linli.points.v1 import points_service_pb2 as pb

from linli_kit import auth
from linli_kit.principals import Role
from linli_kit.schedules import Schedule
from linli_points.bootstrap import build_app
from linli_points.config import PointsSettings

C = "c-east"


def session_completed(resident: str, hours: int, signed_in) -> envelope_pb2.EventEnvelope:
    """A SessionCompleted envelope as attendance publishes it."""
    event = attendance_events_pb2.SessionCompleted(
        session=f"communities/{C}/activities/a1/sessions/s-{uuid.uuid4().hex[:8]}",
        resident=f"communities/{C}/residents/{resident}",
        activity=f"communities/{C}/activities/a1",
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        duration_seconds=hours * 3600,
    )
    event.signed_in_at.FromDatetime(signed_in)
    event.signed_out_at.FromDatetime(signed_in + timedelta(hours=hours))
    envelope = envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()), type=event.DESCRIPTOR.full_name, community_id=C
    )
    envelope.occurred_at.FromDatetime(signed_in + timedelta(hours=hours))
    envelope.payload.Pack(event)
    return envelope


def test_building_the_production_app_connects_to_nothing() -> None:
    settings = PointsSettings(
        database_url="postgresql+psycopg://nowhere.invalid/points",
        redis_url="redis://nowhere.invalid:6379/0",
    )

    app = build_app(settings)

    assert app.name == "points" and app.service_names == [
        "linli.points.v1.PointsService",
        "linli.points.v1.CouncilService",
    ]
    assert isinstance(app.verifier, auth.PublishedKeys)  # identity's keys, fetched on first use
    # relay (polling, woken by the writer's commits), hub, 4 consumers, sweep, audits, closes
    assert len(app.background) == 9
    schedules = {
        w.__self__.name: w.__self__
        for w in app.background
        if isinstance(getattr(w, "__self__", None), Schedule)
    }
    assert schedules["points.close-ended-periods"].fence is not None  # one replica a turn
    assert schedules["points.void-expired-reservations"].fence is None  # harmless twice
    assert schedules["points.council-overdue-audits"].fence is None  # a read, on every replica


async def test_the_app_on_fakes_answers_over_grpc(points_app) -> None:
    handlers = points_app.consumers.by_stream["attendance.events"].handlers
    envelope = session_completed("r-alice", 2, points_app.now - timedelta(hours=3))
    await handlers["linli.events.v1.SessionCompleted"](envelope)

    alice = points_app.person(C, "r-alice", Role.RESIDENT)
    answer = await alice.GetBalance(
        pb.GetBalanceRequest(name=f"communities/{C}/residents/r-alice/balance")
    )

    assert answer.balance.yearly_centipoints == 200
    assert answer.balance.lifetime_centipoints == 200
    assert [e.amount for e in points_app.uow.published] == [200]
    history = await alice.ListTransactions(
        pb.ListTransactionsRequest(parent=f"communities/{C}/residents/r-alice")
    )
    assert [(t.rule_id, t.rule_kind) for t in history.transactions] == [
        ("p1.hourly.regular", "service")
    ]
