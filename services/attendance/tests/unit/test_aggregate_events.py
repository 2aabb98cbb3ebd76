"""An event recorded on any aggregate a repository handed out is published by the unit of work."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta

import pytest

import linli_attendance.domain
from linli_attendance.domain.activities import (
    Activity,
    Proof,
    ScheduleKind,
    ServiceType,
    Session,
    SignInMethod,
    Window,
)
from linli_attendance.domain.leads import LeadStatus, ProjectLead
from linli_attendance.domain.ratings import Rating
from linli_kit.domain import Aggregate, DomainEvent

C = "c-east"
AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _aggregate_types() -> set[type[Aggregate]]:
    for module in pkgutil.iter_modules(linli_attendance.domain.__path__):
        importlib.import_module(f"linli_attendance.domain.{module.name}")
    found, todo = set(), list(Aggregate.__subclasses__())
    while todo:
        kind = todo.pop()
        todo.extend(kind.__subclasses__())
        if kind.__module__.startswith("linli_attendance.domain."):
            found.add(kind)
    return found


def _stored(uow, kind: type[Aggregate]) -> Aggregate:
    """One stored aggregate of the kind, handed out again by its repository."""
    if kind is Activity:
        activity = Activity.plan(
            C,
            "Clean-up",
            ServiceType.REGULAR,
            ScheduleKind.ROUTINE,
            AT,
            AT + timedelta(hours=1),
            AT,
        )
        uow.activities.add(activity)
        return uow.activities.get(C, activity.id)
    if kind is Session:
        window = Window(AT, AT + timedelta(hours=1))
        session = Session(
            community_id=C,
            activity_id="a1",
            id="s1",
            resident_id="r-alice",
            sign_in_proof=Proof(SignInMethod.STAFF_CONFIRMED, "r-staff"),
            signed_in_at=AT,
            window=window,
        )
        uow.sessions.add(session)
        return uow.sessions.get(C, "s1")
    if kind is Rating:
        uow.ratings.add(
            Rating(community_id=C, session_id="s1", rated_by="r-bob", stars=5, rated_at=AT)
        )
        return uow.ratings.get(C, "s1", "r-bob")
    if kind is ProjectLead:
        lead = ProjectLead(
            community_id=C,
            id="l1",
            activity_id="a1",
            resident_id="r-alice",
            motivation="",
            status=LeadStatus.APPLIED,
            applied_at=AT,
        )
        uow.leads.add(lead)
        return uow.leads.get(C, "l1")
    raise AssertionError(f"no repository hands out {kind.__name__}: add it here and to the uow")


def test_the_walk_finds_every_aggregate() -> None:
    assert _aggregate_types() == {Activity, Session, Rating, ProjectLead}


@pytest.mark.parametrize("kind", sorted(_aggregate_types(), key=lambda k: k.__name__))
def test_an_event_on_a_handed_out_aggregate_is_published(uow, kind) -> None:
    aggregate = _stored(uow, kind)
    uow.published.clear()
    event = DomainEvent(community_id=C, occurred_at=AT)

    aggregate.events.append(event)
    uow.commit()

    assert uow.published == [event]
