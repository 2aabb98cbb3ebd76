"""The points gRPC service in process on PostgreSQL and Redis: live boards, errors, audit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from google.protobuf.message import Message
from linli.common.v1 import service_type_pb2
from linli.events.v1 import (
    attendance_events_pb2,
    envelope_pb2,
    identity_events_pb2,
    training_events_pb2,
)
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.db import migrate
from linli_kit.grpc_server import Transport, start
from linli_kit.principals import Role
from linli_kit.streams import ENVELOPE_FIELD
from linli_kit.testing import Credentials
from linli_points.bootstrap import build_app
from linli_points.config import PointsSettings
from linli_points.domain.periods import local_date, policy_year
from linli_points.entrypoints.cli import MIGRATIONS

C = "c-live"
NOW = datetime.now(UTC)
YEAR = policy_year(NOW)


@pytest.fixture
async def points_database(make_database: Callable[[str], str]) -> str:
    """A migrated points database."""
    url = make_database("points")
    await asyncio.to_thread(migrate, url, MIGRATIONS)
    return url


@dataclass
class LivePoints:
    """Stubs of the running service, each calling as someone (over mutual TLS)."""

    staff: pb_grpc.PointsServiceStub  # a social worker and SRE of the community
    rewards: pb_grpc.PointsServiceStub  # the community's rewards service
    alice: pb_grpc.PointsServiceStub
    judge: pb_grpc.PointsServiceStub  # holds committee_member; seated once identity says so


@pytest.fixture
async def points(
    servers, points_database: str, stream_prefix: str, credentials: Credentials
) -> AsyncIterator[LivePoints]:
    """The points service on a fresh database, its streams under a private prefix."""
    settings = PointsSettings(
        database_url=points_database,
        redis_url=servers.redis,
        stream_prefix=stream_prefix,
        metrics_port=0,
        scheduler_enabled=False,
    )
    app = build_app(settings, verifier=credentials.verifier())
    running = await start(app, "127.0.0.1", 0, Transport(tls=credentials.tls(C, "points")))
    address = f"127.0.0.1:{running.port}"

    def channel(tls: auth.TlsFiles, metadata: auth.Metadata = ()) -> grpc.aio.Channel:
        interceptors = [auth.with_metadata(metadata)] if metadata else None
        return grpc.aio.secure_channel(
            address, tls.channel_credentials(), interceptors=interceptors
        )

    gateway = credentials.tls(C, "gateway")
    channels = [
        channel(gateway, credentials.person(C, "r-sw", Role.SOCIAL_WORKER, Role.SRE)),
        channel(credentials.tls(C, "rewards")),
        channel(gateway, credentials.person(C, "r-alice", Role.RESIDENT)),
        channel(gateway, credentials.person(C, "r-judge", Role.COMMITTEE_MEMBER)),
    ]
    live = LivePoints(*(pb_grpc.PointsServiceStub(c) for c in channels))
    # One call first: calls racing the verifier's very first key fetch are refused (kit
    # PublishedKeys), and a test below sends several at once.
    await live.alice.GetBalance(
        pb.GetBalanceRequest(name=f"communities/{C}/residents/r-alice/balance")
    )
    yield live
    for open_channel in channels:
        await open_channel.close()
    await running.stop(grace=1)


def org_unit_known(url: str, resident: str, table: str = "resident_units") -> bool:
    """Whether points has recorded a resident's org unit (or committee seat) yet."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            query = sa.text(f"SELECT 1 FROM {table} WHERE resident_id = :r")
            return c.execute(query, {"r": resident}).first() is not None
    finally:
        engine.dispose()


async def publish(redis_url: str, stream: str, payload: Message) -> None:
    """Put an event on a stream as its publisher's relay would."""
    envelope = envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()), type=payload.DESCRIPTOR.full_name, community_id=C
    )
    envelope.occurred_at.FromDatetime(NOW)
    envelope.payload.Pack(payload)
    client = aioredis.Redis.from_url(redis_url)
    await client.xadd(stream, {ENVELOPE_FIELD: envelope.SerializeToString()})
    await client.aclose()


def completed(resident: str, hours: int, service_type=service_type_pb2.SERVICE_TYPE_REGULAR):
    """A SessionCompleted payload of a session signed in now (it counts for today)."""
    event = attendance_events_pb2.SessionCompleted(
        session=f"communities/{C}/activities/a/sessions/{uuid.uuid4().hex[:8]}",
        resident=f"communities/{C}/residents/{resident}",
        activity=f"communities/{C}/activities/a",
        service_type=service_type,
        duration_seconds=hours * 3600,
    )
    event.signed_in_at.FromDatetime(NOW)
    event.signed_out_at.FromDatetime(NOW)
    return event


async def next_message(call, timeout: float = 5.0):
    """The next message of a stream, or fail."""
    return await asyncio.wait_for(call.read(), timeout)


async def test_a_watcher_sees_an_award_within_a_second(
    points, points_database, servers, stream_prefix
) -> None:
    await publish(
        servers.redis,
        f"{stream_prefix}identity.events",
        identity_events_pb2.ResidentRegistered(
            resident=f"communities/{C}/residents/r-alice", org_unit="grid-1/building-3"
        ),
    )
    for _ in range(100):  # the org unit is known before the award (else: RebuildLeaderboard)
        if await asyncio.to_thread(org_unit_known, points_database, "r-alice"):
            break
        await asyncio.sleep(0.05)
    grid = points.staff.WatchLeaderboard(
        pb.WatchLeaderboardRequest(parent=f"communities/{C}", scope="grid:grid-1", year=YEAR)
    )
    snapshot = await next_message(grid)
    assert snapshot.snapshot and list(snapshot.entries) == []

    started = time.monotonic()
    await publish(servers.redis, f"{stream_prefix}attendance.events", completed("r-alice", 2))
    update = await next_message(grid)
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert not update.snapshot
    assert [(e.resident, e.rank, e.score_centipoints) for e in update.entries] == [
        (f"communities/{C}/residents/r-alice", 1, 200)
    ]
    grid.cancel()


async def test_changes_are_coalesced_and_a_rebuild_matches_the_ledger(
    points, servers, stream_prefix
) -> None:
    parent = f"communities/{C}"
    board = points.staff.WatchLeaderboard(pb.WatchLeaderboardRequest(parent=parent, year=YEAR))
    await next_message(board)
    for n in range(20):
        await publish(
            servers.redis, f"{stream_prefix}attendance.events", completed(f"r-{n:02d}", 1 + n % 3)
        )
    top = pb.GetLeaderboardRequest(parent=parent, year=YEAR, page_size=50)
    for _ in range(200):
        if len((await points.staff.GetLeaderboard(top)).entries) == 20:
            break
        await asyncio.sleep(0.05)
    shown: dict[str, int] = {}
    messages = 0
    with contextlib.suppress(TimeoutError):
        while True:
            update = await next_message(board, timeout=1.0)
            messages += 1
            shown.update({e.resident: e.score_centipoints for e in update.entries})
            for resident in update.removed:
                shown.pop(resident)
    board.cancel()

    live = (await points.staff.GetLeaderboard(top)).entries
    assert messages < 20  # twenty awards arrived as fewer, coalesced updates
    assert shown == {e.resident: e.score_centipoints for e in live[:10]}
    await points.staff.RebuildLeaderboard(pb.RebuildLeaderboardRequest(parent=parent, year=YEAR))
    rebuilt = (await points.staff.GetLeaderboard(top)).entries
    assert [(e.resident, e.score_centipoints) for e in rebuilt] == [
        (e.resident, e.score_centipoints) for e in live
    ]
    assert [e.score_centipoints for e in rebuilt].count(300) == 6


async def test_errors_map_to_status_codes(points, servers, stream_prefix) -> None:
    alice = f"communities/{C}/residents/r-alice"
    cases = [
        (
            points.staff.GetBalance(pb.GetBalanceRequest(name="nonsense")),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            points.rewards.CreateReservation(
                pb.CreateReservationRequest(
                    parent=alice, amount_centipoints=100, sink=pb.SINK_REWARDS, request_id="x"
                )
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        ),
        (
            points.rewards.CreateReservation(
                pb.CreateReservationRequest(parent=alice, amount_centipoints=100)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            points.staff.GetAppeal(pb.GetAppealRequest(name=f"communities/{C}/appeals/nope")),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            points.staff.CloseYear(pb.CloseYearRequest(parent=f"communities/{C}", year=YEAR + 1)),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            points.staff.GetLeaderboard(
                pb.GetLeaderboardRequest(parent=f"communities/{C}", scope="street:1")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]
    for call, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call
        assert failure.value.code() == code, failure.value.details()


async def test_reserve_commit_appeal_and_audit_over_grpc(
    points, points_database, servers, stream_prefix
) -> None:
    alice, judge = (f"communities/{C}/residents/{r}" for r in ("r-alice", "r-judge"))
    await publish(servers.redis, f"{stream_prefix}attendance.events", completed("r-alice", 3))
    balance = pb.GetBalanceRequest(name=f"{alice}/balance")
    for _ in range(100):
        if (await points.staff.GetBalance(balance)).balance.yearly_centipoints:
            break
        await asyncio.sleep(0.05)

    held = (
        await points.rewards.CreateReservation(
            pb.CreateReservationRequest(
                parent=alice,
                amount_centipoints=100,
                sink=pb.SINK_REWARDS,
                memo="voucher",
                request_id="o1",
            )
        )
    ).reservation
    assert held.state == pb.RESERVATION_STATE_PENDING
    committed = await points.rewards.CommitReservation(
        pb.CommitReservationRequest(name=held.name, request_id="c1")
    )
    assert committed.reservation.state == pb.RESERVATION_STATE_COMMITTED
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await points.rewards.VoidReservation(
            pb.VoidReservationRequest(name=held.name, request_id="v1")
        )
    assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    award = (
        await points.staff.ListTransactions(pb.ListTransactionsRequest(parent=alice))
    ).transactions[-1]
    filed = (
        await points.alice.CreateAppeal(
            pb.CreateAppealRequest(
                parent=alice, transaction=award.name, reason="more hours", request_id="a1"
            )
        )
    ).appeal
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await points.judge.DecideAppeal(
            pb.DecideAppealRequest(name=filed.name, accept=True, compensation_centipoints=50)
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED  # not seated by identity yet
    await publish(
        servers.redis,
        f"{stream_prefix}identity.events",
        identity_events_pb2.RoleGranted(resident=judge, role="committee_member"),
    )
    for _ in range(100):
        if await asyncio.to_thread(org_unit_known, points_database, "r-judge", "committee_members"):
            break
        await asyncio.sleep(0.05)
    decided = (
        await points.judge.DecideAppeal(
            pb.DecideAppealRequest(
                name=filed.name,
                accept=True,
                reason="ok",
                compensation_centipoints=50,
                request_id="d1",
            )
        )
    ).appeal
    assert decided.state == pb.APPEAL_STATE_ACCEPTED and decided.compensation_transaction
    assert (await points.staff.GetBalance(balance)).balance.yearly_centipoints == 300 - 100 + 50

    verified = await points.staff.VerifyLedger(pb.VerifyLedgerRequest(parent=f"communities/{C}"))
    assert verified.ok and verified.transactions_checked == 4
    quarter = (local_date(NOW).month - 1) // 3 + 1
    report = await points.staff.GetAuditReport(
        pb.GetAuditReportRequest(parent=f"communities/{C}", year=YEAR, quarter=quarter)
    )
    assert json.loads(report.json)["appeals"]["accepted"] == 1
    assert report.csv.startswith("section,key,value")


async def test_a_cancelled_voucher_refunds_its_points_once_over_grpc(
    points, servers, stream_prefix
) -> None:
    alice = f"communities/{C}/residents/r-alice"
    await publish(servers.redis, f"{stream_prefix}attendance.events", completed("r-alice", 3))
    balance = pb.GetBalanceRequest(name=f"{alice}/balance")
    for _ in range(100):
        if (await points.staff.GetBalance(balance)).balance.yearly_centipoints:
            break
        await asyncio.sleep(0.05)

    async def committed(sink: int, request_id: str) -> str:
        held = await points.rewards.CreateReservation(
            pb.CreateReservationRequest(
                parent=alice, amount_centipoints=100, sink=sink, request_id=request_id
            )
        )
        name = held.reservation.name
        await points.rewards.CommitReservation(
            pb.CommitReservationRequest(name=name, request_id=f"c-{request_id}")
        )
        return name

    voucher = await committed(pb.SINK_REWARDS, "o1")
    transfer = await committed(pb.SINK_TIMEBANK, "o2")
    assert (await points.staff.GetBalance(balance)).balance.yearly_centipoints == 100
    request = pb.RefundReservationRequest(name=voucher, reason="voucher cancelled", request_id="f1")

    refunded = (await points.rewards.RefundReservation(request)).reservation
    retried = (await points.rewards.RefundReservation(request)).reservation

    assert refunded.state == pb.RESERVATION_STATE_REFUNDED
    assert refunded.refund_reason == "voucher cancelled" and refunded.HasField("refund_time")
    assert refunded.settle_reason == "committed" and refunded.HasField("settle_time")
    assert retried == refunded
    seen = (await points.alice.GetReservation(pb.GetReservationRequest(name=voucher))).reservation
    assert seen == refunded
    for name, request_id, details in (
        (voucher, "f2", "already refunded"),
        (transfer, "f3", "only redemptions are refunded"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await points.rewards.RefundReservation(
                pb.RefundReservationRequest(name=name, request_id=request_id)
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert details in (refused.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await points.alice.RefundReservation(
            pb.RefundReservationRequest(name=voucher, request_id="f4")
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    after = (await points.staff.GetBalance(balance)).balance
    assert (after.yearly_centipoints, after.lifetime_centipoints) == (200, 300)
    listed = await points.staff.ListTransactions(pb.ListTransactionsRequest(parent=alice))
    kinds = [t.kind for t in listed.transactions]
    assert kinds.count("refund") == 1 and kinds.count("commit") == 2
    verified = await points.staff.VerifyLedger(pb.VerifyLedgerRequest(parent=f"communities/{C}"))
    assert verified.ok, verified.breaks


async def test_attendance_events_award_rate_correct_and_promote(points, servers, stream_prefix):
    stream = f"{stream_prefix}attendance.events"
    alice = f"communities/{C}/residents/r-alice"
    done = completed("r-alice", 2)
    await publish(servers.redis, stream, done)
    rated = attendance_events_pb2.SessionRated(session=done.session, resident=alice, stars=5)
    rated.rated_at.FromDatetime(NOW)
    await publish(servers.redis, stream, rated)
    fixed = attendance_events_pb2.SessionCorrected(
        session=done.session,
        resident=alice,
        activity=done.activity,
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        previous_duration_seconds=7200,
        duration_seconds=3 * 3600,
        corrected_by=f"communities/{C}/residents/r-staff",
        reason="signed out late",
    )
    fixed.corrected_at.FromDatetime(NOW)
    await publish(servers.redis, stream, fixed)
    await publish(
        servers.redis,
        stream,
        attendance_events_pb2.ProjectLeadPromoted(
            resident=alice, activity=f"communities/{C}/activities/a", successful_runs=3
        ),
    )
    await publish(servers.redis, stream, attendance_events_pb2.SessionRated(session="x", stars=9))

    balance = pb.GetBalanceRequest(name=f"{alice}/balance")
    expected = 300 + 30 + 1000  # 3 h regular, 5 stars on it, project leadership
    for _ in range(100):
        if (await points.staff.GetBalance(balance)).balance.yearly_centipoints == expected:
            break
        await asyncio.sleep(0.05)
    history = (
        await points.staff.ListTransactions(pb.ListTransactionsRequest(parent=alice))
    ).transactions
    assert (await points.staff.GetBalance(balance)).balance.lifetime_centipoints == expected
    assert sorted((t.kind, t.rule_id) for t in history) == [
        ("award", "p1.hourly.regular"),
        ("award", "p1.hourly.regular"),
        ("award", "p1.hourly.regular+p3.rating.5"),
        ("award", "p1.hourly.regular+p3.rating.5"),
        ("award", "p5.project_lead"),
        ("reversal", "p1.hourly.regular"),
        ("reversal", "p1.hourly.regular+p3.rating.5"),
    ]
    dead = aioredis.Redis.from_url(servers.redis)
    assert await dead.xlen(f"{stream}.dead") == 1  # the malformed rating
    await dead.aclose()


def training_entry(payload: Message, at: datetime) -> dict[str, bytes]:
    """A training.events entry made at an instant, as training's relay would put it."""
    envelope = envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()), type=payload.DESCRIPTOR.full_name, community_id=C
    )
    envelope.occurred_at.FromDatetime(at)
    envelope.payload.Pack(payload)
    return {ENVELOPE_FIELD: envelope.SerializeToString()}


async def test_training_corrections_reverse_and_repay_once_and_in_order(
    points, servers, stream_prefix
):
    stream = f"{stream_prefix}training.events"
    alice = f"communities/{C}/residents/r-alice"
    session = f"communities/{C}/activities/course-1/sessions/s1"
    course = f"communities/{C}/courses/first-aid"

    def corrected(previous: int, seconds: int) -> training_events_pb2.TrainingAttendanceCorrected:
        return training_events_pb2.TrainingAttendanceCorrected(
            resident=alice,
            course=course,
            course_session=f"communities/{C}/courseSessions/cs1",
            session=session,
            previous_duration_seconds=previous,
            duration_seconds=seconds,
        )

    minute = timedelta(minutes=1)
    attended = training_events_pb2.TrainingAttended(
        resident=alice, course=course, session=session, duration_seconds=3 * 3600
    )
    voided, fixed = corrected(3 * 3600, 0), corrected(0, 3600)
    older = corrected(3 * 3600, 2 * 3600)  # made before `fixed`, arriving after it
    entries = [
        training_entry(attended, NOW),
        training_entry(voided, NOW + minute),
        training_entry(fixed, NOW + 3 * minute),
        training_entry(older, NOW + 2 * minute),
        training_entry(corrected(0, -5), NOW + 4 * minute),  # malformed: dead-lettered
    ]
    entries.insert(3, entries[2])  # `fixed` delivered twice, the same event id
    level = training_events_pb2.LevelPromoted(resident=alice, level_title="一星", level="l1")
    entries.append(training_entry(level, NOW + 5 * minute))  # applied last: the others were
    client = aioredis.Redis.from_url(servers.redis)
    for fields in entries:
        await client.xadd(stream, fields)

    balance = pb.GetBalanceRequest(name=f"{alice}/balance")
    expected = 100 + 500  # the corrected hour, the promotion
    for _ in range(200):
        if (await points.staff.GetBalance(balance)).balance.lifetime_centipoints == expected:
            break
        await asyncio.sleep(0.05)
    got = (await points.staff.GetBalance(balance)).balance
    history = (
        await points.staff.ListTransactions(pb.ListTransactionsRequest(parent=alice))
    ).transactions
    dead = await client.xlen(f"{stream}.dead")
    await client.aclose()

    assert (got.yearly_centipoints, got.lifetime_centipoints) == (expected, expected)
    assert sorted((t.kind, t.rule_id) for t in history) == [
        ("award", "p5.training"),
        ("award", "p5.training"),
        ("award", "p5.training_level"),
        ("reversal", "p5.training"),
    ]
    reasons = [t.reason for t in history if t.rule_id == "p5.training"]
    assert sum("corrected from 3h00m00s to 0h00m00s" in r for r in reasons) == 1
    assert sum("corrected from 0h00m00s to 1h00m00s" in r for r in reasons) == 1
    assert dead == 1


async def test_a_placement_after_the_award_puts_the_score_on_the_grid_and_building_boards(
    points, servers, stream_prefix
):
    identity, parent = f"{stream_prefix}identity.events", f"communities/{C}"
    bob = f"communities/{C}/residents/r-bob"

    async def boards() -> dict[str, int]:
        found = {}
        for scope in ("community", "grid:g1", "building:g1/b3", "grid:g2", "building:g2/b1"):
            request = pb.GetLeaderboardRequest(parent=parent, scope=scope, year=YEAR)
            for entry in (await points.staff.GetLeaderboard(request)).entries:
                if entry.resident == bob:
                    found[scope] = entry.score_centipoints
        return found

    async def until(expected: dict[str, int]) -> dict[str, int]:
        for _ in range(200):
            if (got := await boards()) == expected:
                break
            await asyncio.sleep(0.05)
        return got

    await publish(servers.redis, f"{stream_prefix}attendance.events", completed("r-bob", 2))
    assert await until({"community": 200}) == {"community": 200}  # identity has not told yet

    def registered(org_unit: str, at: datetime) -> dict[str, bytes]:
        event = identity_events_pb2.ResidentRegistered(
            resident=bob, display_name="王小明", org_unit=org_unit
        )
        return training_entry(event, at)

    moved = registered("g2/b1", NOW + timedelta(minutes=2))
    client = aioredis.Redis.from_url(servers.redis)
    await client.xadd(identity, registered("g1/b3", NOW))
    placed = {"community": 200, "grid:g1": 200, "building:g1/b3": 200}
    assert await until(placed) == placed
    for fields in (moved, moved, registered("g1/b3", NOW + timedelta(minutes=1))):
        await client.xadd(identity, fields)  # a move, its redelivery, an older placement late
    await client.aclose()
    await publish(servers.redis, f"{stream_prefix}attendance.events", completed("r-bob", 1))

    now = {"community": 300, "grid:g2": 300, "building:g2/b1": 300}
    assert await until(now) == now
    await asyncio.sleep(0.3)  # the late placement and the redelivery had their turn
    assert await boards() == now


async def test_session_corrections_apply_in_the_order_attendance_made_them(
    points, servers, stream_prefix
):
    stream = f"{stream_prefix}attendance.events"
    carol = f"communities/{C}/residents/r-carol"
    done = completed("r-carol", 2)

    def corrected(hours: int, at: datetime) -> dict[str, bytes]:
        event = attendance_events_pb2.SessionCorrected(
            session=done.session,
            resident=carol,
            activity=done.activity,
            service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
            duration_seconds=hours * 3600,
            corrected_by=f"communities/{C}/residents/r-staff",
            reason=f"{hours} h",
        )
        event.corrected_at.FromDatetime(at)
        return training_entry(event, at)

    newer = corrected(3, NOW + timedelta(minutes=2))
    client = aioredis.Redis.from_url(servers.redis)
    for fields in (
        training_entry(done, NOW),
        newer,
        corrected(1, NOW + timedelta(minutes=1)),  # made before `newer`, arriving after it
        newer,  # a redelivery
    ):
        await client.xadd(stream, fields)
    await client.xadd(stream, training_entry(completed("r-carol", 1), NOW))  # applied last
    await client.aclose()

    balance = pb.GetBalanceRequest(name=f"{carol}/balance")
    expected = 300 + 100  # the newer correction's 3 h, the last session's hour
    for _ in range(200):
        if (await points.staff.GetBalance(balance)).balance.lifetime_centipoints == expected:
            break
        await asyncio.sleep(0.05)
    got = (await points.staff.GetBalance(balance)).balance
    history = (
        await points.staff.ListTransactions(pb.ListTransactionsRequest(parent=carol))
    ).transactions

    assert (got.yearly_centipoints, got.lifetime_centipoints) == (expected, expected)
    assert sorted(t.kind for t in history if t.session == done.session) == [
        "award",
        "award",
        "reversal",
    ]
    assert any("3 h" in t.reason for t in history)
    assert not any("1 h" in t.reason for t in history)
