"""Every mutating RPC, retried with its request id through the whole app, replays its answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from linli.attendance.v1 import attendance_service_pb2 as pb

from linli_attendance.domain.activities import (
    Activity,
    ScheduleKind,
    ServiceType,
    Session,
    SignInMethod,
)
from linli_attendance.domain.names import ACTIVITY, RESIDENT, SESSION
from linli_attendance.domain.roster import RosterRole
from linli_attendance.service_layer import activities, commands, leads, roster, sessions, sweeps
from linli_kit.principals import Role
from linli_kit.testing import assert_retry_replays, load_beside, mutating_methods

C = "c-east"
HOUR = timedelta(hours=1)
SERVICE = pb.DESCRIPTOR.services_by_name["AttendanceService"]
STAFF = pb.SIGN_IN_METHOD_STAFF_CONFIRMED
fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")


def _stamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _who(resident: str) -> str:
    return RESIDENT.format(community=C, resident=resident)


class World:
    """The fake unit of work, directory and clock the app runs on, and ways to fill them."""

    def __init__(self, uow, directory, clock) -> None:
        self.uow, self.directory, self.clock = uow, directory, clock

    def activity(self, starts: timedelta = -HOUR, ends: timedelta = HOUR, **extra) -> Activity:
        """An activity relative to now, bound to kiosk k-gate."""
        now = self.clock.now
        command = commands.CreateActivity(
            C,
            "Clean-up",
            ServiceType.REGULAR,
            ScheduleKind.ROUTINE,
            now + starts,
            now + ends,
            kiosk_ids=("k-gate",),
            **extra,
            actor=fakes.STAFF,
        )
        return activities.create_activity(command, self.uow, self.clock)

    def on_roster(self, activity: Activity, *residents: str) -> None:
        """Staff put the residents on the roster of the activity's first occurrence."""
        for resident in residents:
            command = commands.AddRosterEntry(
                C, activity.id, None, resident, RosterRole.VOLUNTEER, actor=fakes.STAFF
            )
            roster.add_roster_entry(command, self.uow, self.directory, self.clock)

    def signed_in(self, activity: Activity, resident: str, at: datetime | None = None) -> Session:
        """A staff-confirmed sign-in."""
        command = commands.SignIn(
            C, activity.id, resident, SignInMethod.STAFF_CONFIRMED, at, actor=fakes.STAFF
        )
        return sessions.sign_in(command, self.uow, self.directory, self.clock)

    def completed(self, activity: Activity, resident: str = "r-alice") -> Session:
        """A session signed in now and out ten minutes later; the clock stays at the sign-out."""
        self.signed_in(activity, resident)
        self.clock.now += timedelta(minutes=10)
        command = commands.SignOut(
            C, activity.id, resident, SignInMethod.STAFF_CONFIRMED, actor=fakes.STAFF
        )
        return sessions.sign_out(command, self.uow, self.directory, self.clock)

    def held(self, resident: str = "r-alice") -> Session:
        """A session closed by the forgotten sign-out sweep, held for review (and flagged)."""
        activity = self.activity(starts=-6 * HOUR, ends=-4 * HOUR)
        opened = self.signed_in(activity, resident, at=self.clock.now - 5 * HOUR)
        sweeps.close_forgotten_sessions(self.uow, self.clock())
        return sessions.get_session(fakes.STAFF, C, opened.id, self.uow)


def _session_name(session: Session) -> str:
    return SESSION.format(community=C, activity=session.activity_id, session=session.id)


def _activity_name(activity: Activity) -> str:
    return ACTIVITY.format(community=C, activity=activity.id)


Sample = Callable[[World], tuple[Message, Message]]


def create_activity(world: World) -> tuple[Message, Message]:
    """A new activity; another title under the same id."""
    now = world.clock.now
    request = pb.CreateActivityRequest(
        parent=f"communities/{C}",
        activity=pb.Activity(
            title="Clean-up",
            kind=pb.ACTIVITY_KIND_ROUTINE,
            service_type=1,
            start_time=_stamp(now),
            end_time=_stamp(now + HOUR),
        ),
        request_id="q",
    )
    changed = pb.CreateActivityRequest()
    changed.CopyFrom(request)
    changed.activity.title = "Another"
    return request, changed


def close_activity(world: World) -> tuple[Message, Message]:
    """Closing one activity; another under the same id."""
    one, other = world.activity(), world.activity()
    return (
        pb.CloseActivityRequest(name=_activity_name(one), request_id="q"),
        pb.CloseActivityRequest(name=_activity_name(other), request_id="q"),
    )


def _presence(kind: type[Message], activity: Activity, resident: str) -> Message:
    return kind(
        activity=_activity_name(activity),
        resident=_who(resident),
        method=STAFF,
        request_id="q",
    )


def sign_in(world: World) -> tuple[Message, Message]:
    """Alice signs in; Bob under the same id."""
    activity = world.activity()
    return (
        _presence(pb.SignInRequest, activity, "r-alice"),
        _presence(pb.SignInRequest, activity, "r-bob"),
    )


def sign_out(world: World) -> tuple[Message, Message]:
    """Alice signs out; Bob under the same id."""
    activity = world.activity()
    world.signed_in(activity, "r-alice")
    world.signed_in(activity, "r-bob")
    return (
        _presence(pb.SignOutRequest, activity, "r-alice"),
        _presence(pb.SignOutRequest, activity, "r-bob"),
    )


def _burst(kind: type[Message], activity: Activity, resident: str) -> Message:
    return kind(
        activity=_activity_name(activity),
        kiosk=f"communities/{C}/kiosks/k-gate",
        frames=[resident.encode()],
        challenge=pb.LIVENESS_CHALLENGE_BLINK,
        request_id="q",
    )


def face_sign_in(world: World) -> tuple[Message, Message]:
    """The kiosk sees Alice; Bob under the same id."""
    activity = world.activity()
    world.on_roster(activity, "r-alice", "r-bob")
    return (
        _burst(pb.FaceSignInRequest, activity, "r-alice"),
        _burst(pb.FaceSignInRequest, activity, "r-bob"),
    )


def face_sign_out(world: World) -> tuple[Message, Message]:
    """The kiosk sees Alice leave; Bob under the same id."""
    activity = world.activity()
    world.signed_in(activity, "r-alice")
    world.signed_in(activity, "r-bob")
    return (
        _burst(pb.FaceSignOutRequest, activity, "r-alice"),
        _burst(pb.FaceSignOutRequest, activity, "r-bob"),
    )


def enter_paper_session(world: World) -> tuple[Message, Message]:
    """A sheet's session; another reason under the same id."""
    activity = world.activity(starts=-3 * HOUR, ends=-HOUR)
    now = world.clock.now

    def sheet(reason: str) -> Message:
        return pb.EnterPaperSessionRequest(
            activity=_activity_name(activity),
            resident=_who("r-alice"),
            sign_in_time=_stamp(now - 3 * HOUR),
            sign_out_time=_stamp(now - 2 * HOUR),
            reason=reason,
            request_id="q",
        )

    return sheet("the kiosk was down"), sheet("another reason")


def record_served(world: World) -> tuple[Message, Message]:
    """Bob was served; the staff member under the same id."""
    session = _session_name(world.completed(world.activity()))

    def served(resident: str) -> Message:
        return pb.RecordServedRequest(session=session, residents=[_who(resident)], request_id="q")

    return served("r-bob"), served("r-staff")


def confirm_session(world: World) -> tuple[Message, Message]:
    """Staff confirm Alice's held session; Bob's under the same id."""
    alice, bob = _session_name(world.held("r-alice")), _session_name(world.held("r-bob"))
    return (
        pb.ConfirmSessionRequest(name=alice, request_id="q"),
        pb.ConfirmSessionRequest(name=bob, request_id="q"),
    )


def correct_session(world: World) -> tuple[Message, Message]:
    """Staff set 60 s; 120 s under the same id."""
    name = _session_name(world.completed(world.activity()))

    def correction(seconds: int) -> Message:
        return pb.CorrectSessionRequest(
            name=name,
            duration_seconds=seconds,
            reason="the sheet says so",
            request_id="q",
        )

    return correction(60), correction(120)


def record_checklist(world: World) -> tuple[Message, Message]:
    """One step done; another under the same id."""
    activity = world.activity(checklist=("sweep", "mop"))
    name = _session_name(world.signed_in(activity, "r-alice"))
    return (
        pb.RecordChecklistRequest(name=name, completed_steps=["sweep"], request_id="q"),
        pb.RecordChecklistRequest(name=name, completed_steps=["mop"], request_id="q"),
    )


def resolve_flag(world: World) -> tuple[Message, Message]:
    """Staff resolve Alice's forgotten sign-out flag; Bob's under the same id."""
    world.held("r-alice")
    world.held("r-bob")
    alice, bob = (
        f"communities/{C}/flags/{flag.id}"
        for flag in sorted(world.uow.flags.rows.values(), key=lambda f: f.resident_id)
    )
    return (
        pb.ResolveFlagRequest(name=alice, request_id="q"),
        pb.ResolveFlagRequest(name=bob, request_id="q"),
    )


def rate_session(world: World) -> tuple[Message, Message]:
    """Bob, who was served, gives 5 stars; 4 under the same id."""
    session = world.completed(world.activity())
    command = commands.RecordServed(C, session.id, ("r-bob",), actor=fakes.STAFF)
    sessions.record_served(command, world.uow, world.directory, world.clock)

    def rating(stars: int) -> Message:
        return pb.RateSessionRequest(session=_session_name(session), stars=stars, request_id="q")

    return rating(5), rating(4)


def apply_project_lead(world: World) -> tuple[Message, Message]:
    """Alice applies (the caller); another motivation under the same id."""
    activity = _activity_name(world.activity())

    def application(motivation: str) -> Message:
        return pb.ApplyProjectLeadRequest(activity=activity, motivation=motivation, request_id="q")

    return application("I know the block"), application("I have time")


def approve_project_lead(world: World) -> tuple[Message, Message]:
    """Staff approve Alice's application; Bob's under the same id."""
    activity = world.activity()
    alice, bob = (
        leads.apply_project_lead(
            commands.ApplyProjectLead(C, activity.id, actor=fakes.person(resident)),
            world.uow,
            world.clock,
        )
        for resident in ("r-alice", "r-bob")
    )
    return (
        pb.ApproveProjectLeadRequest(
            name=f"communities/{C}/projectLeads/{alice.id}", request_id="q"
        ),
        pb.ApproveProjectLeadRequest(name=f"communities/{C}/projectLeads/{bob.id}", request_id="q"),
    )


def add_roster_entry(world: World) -> tuple[Message, Message]:
    """Alice put on the roster; Bob under the same id."""
    activity = world.activity()
    return (
        pb.AddRosterEntryRequest(
            activity=_activity_name(activity),
            resident=_who("r-alice"),
            role=pb.ROSTER_ROLE_VOLUNTEER,
            request_id="q",
        ),
        pb.AddRosterEntryRequest(
            activity=_activity_name(activity),
            resident=_who("r-bob"),
            role=pb.ROSTER_ROLE_VOLUNTEER,
            request_id="q",
        ),
    )


def remove_roster_entry(world: World) -> tuple[Message, Message]:
    """Alice taken off the roster; Bob under the same id."""
    activity = world.activity()
    world.on_roster(activity, "r-alice", "r-bob")
    return (
        pb.RemoveRosterEntryRequest(
            activity=_activity_name(activity), resident=_who("r-alice"), request_id="q"
        ),
        pb.RemoveRosterEntryRequest(
            activity=_activity_name(activity), resident=_who("r-bob"), request_id="q"
        ),
    )


SAMPLES: dict[str, Sample] = {
    "CreateActivity": create_activity,
    "CloseActivity": close_activity,
    "SignIn": sign_in,
    "SignOut": sign_out,
    "FaceSignIn": face_sign_in,
    "FaceSignOut": face_sign_out,
    "EnterPaperSession": enter_paper_session,
    "RecordServed": record_served,
    "ConfirmSession": confirm_session,
    "CorrectSession": correct_session,
    "RecordChecklist": record_checklist,
    "ResolveFlag": resolve_flag,
    "RateSession": rate_session,
    "ApplyProjectLead": apply_project_lead,
    "ApproveProjectLead": approve_project_lead,
    "AddRosterEntry": add_roster_entry,
    "RemoveRosterEntry": remove_roster_entry,
}


# Who calls each sample when not the staff member r-staff: the resident acting for themself.
CALLERS = {"RateSession": "r-bob", "ApplyProjectLead": "r-alice"}


@pytest.mark.parametrize("method", [m.name for m in mutating_methods(SERVICE)])
async def test_a_retry_replays_the_first_answer(
    method, stub, connect, credentials, uow, directory, clock
) -> None:
    assert method in SAMPLES, f"no sample request for {method}"
    request, changed = SAMPLES[method](World(uow, directory, clock))
    caller = stub
    if method in CALLERS:
        caller = connect(credentials.person(C, CALLERS[method], Role.RESIDENT))

    await assert_retry_replays(getattr(caller, method), request, changed)


async def test_another_caller_reusing_a_request_id_is_refused_not_answered(
    stub, connect, credentials, uow, directory, clock
) -> None:
    request, _ = correct_session(World(uow, directory, clock))
    await stub.CorrectSession(request)
    other = connect(credentials.person(C, "r-boss", Role.GRID_HEAD))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await other.CorrectSession(request)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "request_id" in (refused.value.details() or "")


def test_every_sample_is_a_mutating_rpc() -> None:
    assert set(SAMPLES) == {m.name for m in mutating_methods(SERVICE)}
