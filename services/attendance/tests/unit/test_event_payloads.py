"""Attendance events as the protobuf payloads points consumes (the fixed event contract)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2 as pb

from linli_attendance.adapters.events import encode
from linli_attendance.domain.activities import (
    EmergencyCalled,
    ServiceType,
    SessionCompleted,
    SessionCorrected,
)
from linli_attendance.domain.leads import ProjectLeadPromoted
from linli_attendance.domain.ratings import SessionRated

AT = datetime(2025, 3, 3, 4, 0, tzinfo=UTC)
SESSION = "communities/c-east/activities/a1/sessions/s1"


def test_session_completed() -> None:
    message = encode(
        SessionCompleted(
            community_id="c-east",
            occurred_at=AT,
            activity_id="a1",
            session_id="s1",
            resident_id="r-alice",
            service_type=ServiceType.HIGH_RISK,
            signed_in_at=AT - timedelta(hours=2),
            signed_out_at=AT,
            duration_seconds=7200,
        )
    )

    assert isinstance(message, pb.SessionCompleted)
    assert (message.session, message.resident, message.duration_seconds) == (
        SESSION,
        "communities/c-east/residents/r-alice",
        7200,
    )
    assert message.service_type == service_type_pb2.SERVICE_TYPE_HIGH_RISK
    assert message.signed_in_at.ToDatetime(tzinfo=UTC) == AT - timedelta(hours=2)


def test_session_corrected() -> None:
    message = encode(
        SessionCorrected(
            community_id="c-east",
            occurred_at=AT,
            activity_id="a1",
            session_id="s1",
            resident_id="r-alice",
            service_type=ServiceType.REGULAR,
            previous_duration_seconds=7200,
            duration_seconds=3600,
            corrected_by="r-staff",
            reason="left early",
        )
    )

    assert isinstance(message, pb.SessionCorrected)
    assert (
        message.session,
        message.activity,
        message.previous_duration_seconds,
        message.duration_seconds,
        message.corrected_by,
        message.reason,
    ) == (
        SESSION,
        "communities/c-east/activities/a1",
        7200,
        3600,
        "communities/c-east/residents/r-staff",
        "left early",
    )
    assert message.corrected_at.ToDatetime(tzinfo=UTC) == AT


def test_session_rated() -> None:
    message = encode(
        SessionRated(
            community_id="c-east",
            occurred_at=AT,
            activity_id="a1",
            session_id="s1",
            resident_id="r-alice",
            rated_by="r-grandma",
            stars=5,
        )
    )

    assert isinstance(message, pb.SessionRated)
    assert (message.session, message.resident, message.rated_by, message.stars) == (
        SESSION,
        "communities/c-east/residents/r-alice",
        "communities/c-east/residents/r-grandma",
        5,
    )
    assert message.rated_at.ToDatetime(tzinfo=UTC) == AT


def test_emergency_called_and_project_lead_promoted() -> None:
    called = encode(
        EmergencyCalled(
            community_id="c-east",
            occurred_at=AT,
            activity_id="a1",
            title="防汛",
            org_units=("grid-3", "grid-4"),
            starts_at=AT,
        )
    )
    promoted = encode(
        ProjectLeadPromoted(
            community_id="c-east",
            occurred_at=AT,
            resident_id="r-alice",
            activity_id="a1",
            successful_runs=3,
        )
    )

    assert isinstance(called, pb.EmergencyCalled)
    assert (called.activity, called.title, list(called.org_units)) == (
        "communities/c-east/activities/a1",
        "防汛",
        ["grid-3", "grid-4"],
    )
    assert isinstance(promoted, pb.ProjectLeadPromoted)
    assert (promoted.resident, promoted.activity, promoted.successful_runs) == (
        "communities/c-east/residents/r-alice",
        "communities/c-east/activities/a1",
        3,
    )
