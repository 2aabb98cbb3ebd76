"""A resident's placement (identity's ResidentRegistered) moves their year's score to the grid
and building boards, whenever it arrives, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from linli.events.v1 import envelope_pb2, identity_events_pb2, points_events_pb2

from linli_kit.testing import load_beside
from linli_points.domain.periods import policy_year
from linli_points.entrypoints.consumers import IdentityEvents, LeaderboardProjector

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")

C = "c-east"
NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
YEAR = policy_year(NOW)
ALICE = f"communities/{C}/residents/r-alice"


def envelope(
    payload: Message, at: datetime = NOW, event_id: str = ""
) -> envelope_pb2.EventEnvelope:
    """An event of the community made at an instant."""
    made = envelope_pb2.EventEnvelope(
        event_id=event_id or str(uuid.uuid4()), type=payload.DESCRIPTOR.full_name, community_id=C
    )
    made.occurred_at.FromDatetime(at)
    made.payload.Pack(payload)
    return made


def registered(org_unit: str, at: datetime, event_id: str = "") -> envelope_pb2.EventEnvelope:
    """Identity placing Alice in an org unit."""
    event = identity_events_pb2.ResidentRegistered(
        resident=ALICE, display_name="李四", org_unit=org_unit
    )
    return envelope(event, at, event_id)


def awarded(amount: int) -> envelope_pb2.EventEnvelope:
    """Points' own award to Alice."""
    return envelope(points_events_pb2.PointsAwarded(resident=ALICE, amount_centipoints=amount))


def boards(board: fakes.FakeLeaderboards) -> dict[str, int]:
    """Alice's score on each board of the year she is on."""
    return {
        scope: scores["r-alice"]
        for (_, year, scope), scores in board.boards.items()
        if year == YEAR and "r-alice" in scores
    }


async def test_an_award_before_the_placement_reaches_the_grid_and_building_boards() -> None:
    uow, board = fakes.FakePointsUnitOfWork(), fakes.FakeLeaderboards()
    identity = IdentityEvents(lambda: uow, board, clock=lambda: NOW)
    projector = LeaderboardProjector(lambda: uow, board)
    await projector.awarded(awarded(300))
    assert boards(board) == {"community": 300}

    first = registered("grid-1/building-3", NOW, "reg-1")
    await identity.resident_registered(first)
    await projector.awarded(awarded(200))

    placed = {"community": 500, "grid:grid-1": 500, "building:grid-1/building-3": 500}
    assert boards(board) == placed
    await identity.resident_registered(first)  # a redelivery
    assert boards(board) == placed


async def test_a_move_takes_the_score_along_and_an_older_placement_changes_nothing() -> None:
    uow, board = fakes.FakePointsUnitOfWork(), fakes.FakeLeaderboards()
    identity = IdentityEvents(lambda: uow, board, clock=lambda: NOW)
    projector = LeaderboardProjector(lambda: uow, board)
    await identity.resident_registered(registered("grid-1/building-3", NOW))
    await projector.awarded(awarded(300))

    await identity.resident_registered(registered("grid-2/building-1", NOW + timedelta(hours=1)))
    await identity.resident_registered(registered("grid-1/building-3", NOW + timedelta(minutes=1)))

    assert boards(board) == {
        "community": 300,
        "grid:grid-2": 300,
        "building:grid-2/building-1": 300,
    }
    assert uow.directory.org_unit(C, "r-alice") == "grid-2/building-1"


async def test_an_award_to_a_placed_resident_takes_the_boards_placement_not_the_directory() -> None:
    uow, board = fakes.FakePointsUnitOfWork(), fakes.FakeLeaderboards()
    await IdentityEvents(lambda: uow, board, clock=lambda: NOW).resident_registered(
        registered("grid-1/building-3", NOW)
    )

    def no_database() -> fakes.FakePointsUnitOfWork:
        raise AssertionError("the directory was asked about a placed resident")

    await LeaderboardProjector(no_database, board).awarded(awarded(300))

    assert boards(board) == {
        "community": 300,
        "grid:grid-1": 300,
        "building:grid-1/building-3": 300,
    }
