"""Council use cases (P8, P9): seats, meetings, votes, decisions, audits and the public record.

An appeal the council decides goes through `appeals.apply_decision`, the one way an appeal's
outcome (its compensating posting) is applied. Households come from identity (`Households`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent
from linli_points.domain import access
from linli_points.domain.appeals import Appeal, AppealStatus, compensation_ceiling
from linli_points.domain.council import (
    AppealDecision,
    AuditAdoption,
    CouncilRule,
    Meeting,
    Member,
    QuarterRecord,
    Seat,
    Vote,
    VoteChoice,
    check_quarter,
    conflict,
    ended_quarters,
    public_record,
    schedule_meeting,
    seat_member,
)
from linli_points.domain.periods import year_bounds
from linli_points.domain.rules import RuleCatalog
from linli_points.service_layer import queries
from linli_points.service_layer.appeals import apply_decision
from linli_points.service_layer.ports import Households, PointsUnitOfWork

Rules = Callable[[str], CouncilRule]


@dataclass(frozen=True)
class SeatMember:
    """A social worker seats a resident on the council for a term."""

    actor: Principal
    request_id: str
    community_id: str
    resident_id: str
    seat: Seat
    organisation: str
    term_start: date
    term_end: date


@dataclass(frozen=True)
class EndMembership:
    """A social worker ends a member's term early."""

    actor: Principal
    request_id: str
    community_id: str
    member_id: str
    reason: str


@dataclass(frozen=True)
class ScheduleMeeting:
    """A social worker schedules a meeting with its agenda."""

    actor: Principal
    request_id: str
    community_id: str
    title: str
    scheduled_for: datetime
    appeal_ids: tuple[str, ...]
    audits: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class RecordAttendance:
    """A social worker records who attended; the meeting is held."""

    actor: Principal
    request_id: str
    community_id: str
    meeting_id: str
    attendees: tuple[str, ...]


@dataclass(frozen=True)
class CastVote:
    """A member present votes on an appeal on the agenda (the voter is the actor)."""

    actor: Principal
    request_id: str
    community_id: str
    meeting_id: str
    appeal_id: str
    choice: VoteChoice
    compensation: int


@dataclass(frozen=True)
class DecideAtMeeting:
    """A member present records the council's decision on an appeal from the votes."""

    actor: Principal
    request_id: str
    community_id: str
    meeting_id: str
    appeal_id: str
    reason: str


@dataclass(frozen=True)
class AdoptAudit:
    """A member present adopts a quarter's audit report at a meeting."""

    actor: Principal
    request_id: str
    community_id: str
    meeting_id: str
    year: int
    quarter: int


@dataclass(frozen=True)
class CloseMeeting:
    """A social worker records the minutes and closes a meeting."""

    actor: Principal
    request_id: str
    community_id: str
    meeting_id: str
    minutes: str


def _member(uow: PointsUnitOfWork, community_id: str, member_id: str) -> Member:
    found = uow.council.get_member(community_id, member_id)
    if found is None:
        raise NotFound(f"no council member {member_id} in {community_id}")
    return found


def _meeting(uow: PointsUnitOfWork, community_id: str, meeting_id: str) -> Meeting:
    found = uow.council.get_meeting(community_id, meeting_id)
    if found is None:
        raise NotFound(f"no council meeting {meeting_id} in {community_id}")
    return found


def _appeal(uow: PointsUnitOfWork, community_id: str, appeal_id: str) -> Appeal:
    found = uow.appeals.get(community_id, appeal_id)
    if found is None:
        raise NotFound(f"no appeal {appeal_id} in {community_id}")
    return found


def _conflict(
    uow: PointsUnitOfWork, households: Households, community_id: str, member: str, appeal: Appeal
) -> str:
    """Why the member may not vote on or record the appeal ('' when they may)."""
    disputed = uow.ledger.get(community_id, appeal.transaction_id)
    actor = disputed.actor if disputed is not None else ""
    if member == appeal.resident_id:
        return conflict(member, appeal.resident_id, actor, same_household=False)
    same = households.same_household(community_id, member, appeal.resident_id)
    return conflict(member, appeal.resident_id, actor, same)


def _reload_member(uow: PointsUnitOfWork, cmd: SeatMember | EndMembership, ref: str) -> Member:
    return _member(uow, cmd.community_id, ref)


def _reload_meeting(
    uow: PointsUnitOfWork, cmd: ScheduleMeeting | RecordAttendance, ref: str
) -> Meeting:
    return _meeting(uow, cmd.community_id, ref)


@idempotent(_reload_member)
def seat(cmd: SeatMember, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Member:
    """Seat a resident identity registered (never a caller's say-so); social workers."""
    access.require_council_staff(cmd.actor, cmd.community_id)
    if not uow.council.known_resident(cmd.community_id, cmd.resident_id):
        raise FailedPrecondition(
            f"{cmd.resident_id} is not a resident identity has registered in {cmd.community_id}"
        )
    member = seat_member(
        community_id=cmd.community_id,
        resident_id=cmd.resident_id,
        seat=cmd.seat,
        organisation=cmd.organisation,
        term_start=cmd.term_start,
        term_end=cmd.term_end,
        seated_by=cmd.actor.resident_id or cmd.actor.subject,
        at=clock(),
        seats_held=[
            m for m in uow.council.members(cmd.community_id) if m.resident_id == cmd.resident_id
        ],
    )
    uow.council.add_member(member)
    return member


@idempotent(_reload_member)
def end_membership(cmd: EndMembership, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Member:
    """End a member's term early; social workers."""
    access.require_council_staff(cmd.actor, cmd.community_id)
    member = _member(uow, cmd.community_id, cmd.member_id)
    member.end(clock(), cmd.reason)
    uow.council.save_member(member)
    return member


def seats(actor: Principal, community_id: str, uow: PointsUnitOfWork) -> list[Member]:
    """Every seat, current and past, that a meeting's message counts; any person of the
    community."""
    access.require_community_person(actor, community_id)
    with uow:
        return uow.council.members(community_id)


def list_members(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PointsUnitOfWork
) -> tuple[list[Member], bool]:
    """A page of the council's seats, current and past, and whether more follow; any person
    of the community."""
    access.require_community_person(actor, community_id)
    with uow:
        page = uow.council.members(community_id, offset, limit + 1)
    return page[:limit], len(page) > limit


@idempotent(_reload_meeting)
def schedule(cmd: ScheduleMeeting, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Meeting:
    """Schedule a meeting whose agenda holds filed appeals and ended quarters; social workers."""
    access.require_council_staff(cmd.actor, cmd.community_id)
    for appeal_id in cmd.appeal_ids:
        appeal = _appeal(uow, cmd.community_id, appeal_id)
        if appeal.status is not AppealStatus.FILED:
            raise InvalidArgument(f"appeal {appeal_id} was {appeal.status} already")
    meeting = schedule_meeting(
        community_id=cmd.community_id,
        title=cmd.title,
        scheduled_for=cmd.scheduled_for,
        scheduled_by=cmd.actor.resident_id or cmd.actor.subject,
        appeal_ids=cmd.appeal_ids,
        audits=cmd.audits,
        now=clock(),
    )
    uow.council.add_meeting(meeting)
    return meeting


def _seated(uow: PointsUnitOfWork, community_id: str) -> set[str]:
    return {m.resident_id for m in uow.council.members(community_id)}


def get_meeting(
    actor: Principal, community_id: str, meeting_id: str, uow: PointsUnitOfWork
) -> tuple[Meeting, list[Member]]:
    """A meeting and the council's seats (for its quorum); staff and the council's members."""
    with uow:
        members = uow.council.members(community_id)
        access.require_meeting_reader(actor, community_id, {m.resident_id for m in members})
        return _meeting(uow, community_id, meeting_id), members


def list_meetings(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PointsUnitOfWork
) -> tuple[list[Meeting], list[Member], bool]:
    """A page of meetings, newest first, the seats, and whether more follow."""
    with uow:
        members = uow.council.members(community_id)
        access.require_meeting_reader(actor, community_id, {m.resident_id for m in members})
        page = uow.council.meetings(community_id, offset, limit + 1)
        return page[:limit], members, len(page) > limit


@idempotent(_reload_meeting)
def record_attendance(
    cmd: RecordAttendance, uow: PointsUnitOfWork, clock: Clock = utc_now
) -> Meeting:
    """Record who attended (members serving that day) and hold the meeting; social workers."""
    access.require_council_staff(cmd.actor, cmd.community_id)
    meeting = _meeting(uow, cmd.community_id, cmd.meeting_id)
    meeting.record_attendance(cmd.attendees, uow.council.members(cmd.community_id), clock())
    uow.council.save_meeting(meeting)
    return meeting


def _reload_vote(uow: PointsUnitOfWork, cmd: CastVote, ref: str) -> Vote:
    return _meeting(uow, cmd.community_id, cmd.meeting_id).votes[cmd.appeal_id][ref]


@idempotent(_reload_vote, reference=lambda vote: vote.member)
def cast_vote(
    cmd: CastVote,
    uow: PointsUnitOfWork,
    households: Households,
    catalog: RuleCatalog,
    clock: Clock = utc_now,
) -> Vote:
    """The caller's vote on an appeal on the agenda, unless it is theirs or their household's."""
    voter = access.council_voter(cmd.actor, cmd.community_id)
    meeting = _meeting(uow, cmd.community_id, cmd.meeting_id)
    appeal = _appeal(uow, cmd.community_id, cmd.appeal_id)
    disputed = uow.ledger.get(cmd.community_id, appeal.transaction_id)
    book = catalog.for_community(cmd.community_id)
    vote = meeting.cast_vote(
        voter=voter,
        appeal_id=appeal.id,
        choice=cmd.choice,
        compensation=cmd.compensation,
        ceiling=compensation_ceiling(disputed, book) if disputed is not None else 0,
        conflicted=_conflict(uow, households, cmd.community_id, voter, appeal),
        at=clock(),
    )
    uow.council.add_vote(meeting, appeal.id, vote)
    return vote


def _reload_decision(uow: PointsUnitOfWork, cmd: DecideAtMeeting, ref: str) -> AppealDecision:
    return _meeting(uow, cmd.community_id, cmd.meeting_id).decisions[ref]


@idempotent(_reload_decision, reference=lambda decision: decision.appeal_id)
def decide(
    cmd: DecideAtMeeting,
    uow: PointsUnitOfWork,
    households: Households,
    catalog: RuleCatalog,
    rules: Rules,
    clock: Clock = utc_now,
) -> AppealDecision:
    """Record the council's decision from the votes and apply it as every appeal's is."""
    recorder = access.council_voter(cmd.actor, cmd.community_id)
    meeting = _meeting(uow, cmd.community_id, cmd.meeting_id)
    appeal = _appeal(uow, cmd.community_id, cmd.appeal_id)
    now = clock()
    decision = meeting.decide(
        recorder=recorder,
        appeal_id=appeal.id,
        reason=cmd.reason,
        conflicted=_conflict(uow, households, cmd.community_id, recorder, appeal),
        rule=rules(cmd.community_id),
        members=uow.council.members(cmd.community_id),
        at=now,
    )
    apply_decision(
        uow,
        appeal,
        reviewer=recorder,
        accept=decision.upheld,
        amount=decision.compensation,
        reason=f"decided at council meeting {meeting.id}: {cmd.reason}",
        committee=set(meeting.attendees),
        book=catalog.for_community(cmd.community_id),
        at=now,
    )
    uow.council.add_decision(meeting, decision)
    return decision


def report_digest(report: dict[str, object]) -> str:
    """SHA-256 (hex) of a report's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(report, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _reload_adoption(uow: PointsUnitOfWork, cmd: AdoptAudit, ref: str) -> AuditAdoption:
    adopted = {f"{a.year}Q{a.quarter}": a for a in uow.council.adoptions(cmd.community_id)}
    return adopted[ref]


@idempotent(_reload_adoption, reference=lambda a: f"{a.year}Q{a.quarter}")
def adopt_audit(
    cmd: AdoptAudit, uow: PointsUnitOfWork, rules: Rules, clock: Clock = utc_now
) -> AuditAdoption:
    """Adopt a quarter's audit report (P9) with its integrity result; publishes AuditAdopted.

    The chain is fenced while it is verified, so writers wait and chain and balances agree.
    """
    adopter = access.council_voter(cmd.actor, cmd.community_id)
    meeting = _meeting(uow, cmd.community_id, cmd.meeting_id)
    now = clock()
    check_quarter(cmd.year, cmd.quarter, now)
    if any(
        (a.year, a.quarter) == (cmd.year, cmd.quarter)
        for a in uow.council.adoptions(cmd.community_id)
    ):
        raise AlreadyExists(f"{cmd.year} Q{cmd.quarter}'s audit was adopted already")
    uow.ledger.fence(cmd.community_id)
    verification, report = queries.verified_report(uow, cmd.community_id, cmd.year, cmd.quarter)
    adoption = meeting.adopt_audit(
        adopter=adopter,
        year=cmd.year,
        quarter=cmd.quarter,
        integrity_ok=verification.ok,
        transactions_checked=verification.transactions,
        accounts_checked=verification.accounts,
        breaks=len(verification.breaks),
        report_sha256=report_digest(report),
        rule=rules(cmd.community_id),
        members=uow.council.members(cmd.community_id),
        at=now,
    )
    uow.council.add_adoption(cmd.community_id, adoption)
    return adoption


@idempotent(_reload_meeting)
def close_meeting(cmd: CloseMeeting, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Meeting:
    """Record the minutes and close the meeting; social workers."""
    access.require_council_staff(cmd.actor, cmd.community_id)
    meeting = _meeting(uow, cmd.community_id, cmd.meeting_id)
    meeting.close(cmd.minutes, clock())
    uow.council.save_meeting(meeting)
    return meeting


def get_public_record(
    actor: Principal,
    community_id: str,
    year: int,
    uow: PointsUnitOfWork,
    rules: Rules,
    clock: Clock = utc_now,
) -> list[QuarterRecord]:
    """A year's public record by quarter: appeal counts and days, adopted audits; no names."""
    access.require_community_person(actor, community_id)
    start, end = year_bounds(year)
    with uow:
        filed = uow.appeals.list(community_id, since=start, until=end)
        by_council = uow.council.decisions(community_id, [a.id for a in filed])
        adoptions = [a for a in uow.council.adoptions(community_id) if a.year == year]
    return public_record(year, filed, set(by_council), adoptions, rules(community_id), clock())


def overdue_audits(uow: PointsUnitOfWork, rules: Rules, now: datetime) -> dict[str, int]:
    """Per community with a ledger: ended quarters (past the grace) without an adopted audit."""
    with uow:
        overdue = {}
        for community_id in uow.ledger.communities():
            start = uow.council.ledger_start(community_id)
            if start is None:
                continue
            adopted = {(a.year, a.quarter) for a in uow.council.adoptions(community_id)}
            due = ended_quarters(start, rules(community_id), now)
            overdue[community_id] = sum(1 for q in due if q not in adopted)
        return overdue
