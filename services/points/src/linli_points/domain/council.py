"""The supervision council (监督会, P8, P9): its seats, meetings, votes and acts.

- **Seats**: the residents' committee, resident representatives and a third-party
  organisation (named). A member is a resident points knows from identity's events (never a
  caller's say-so), seated by a social worker for a term of dates; a term may end early.
- **Quorum** (a rule per community): at least `each_seat` members of every seat present and,
  with `majority`, more than half of the members serving on the meeting's day.
- **Meetings** are scheduled with an agenda (filed appeals to decide, ended quarters to audit),
  held when their attendance is recorded and closed with their minutes. A meeting decides only
  while it is held and has quorum.
- **Votes**: each member present votes once on an appeal, for themself: uphold (naming the
  compensation they support), reject or abstain. Nobody votes on, or records, an appeal of
  their own, of a relative in their household, or against their own decision.
- **A decision** is recorded by an eligible member present once the votes cast are more than
  half of the members present: upheld when more votes uphold than reject, compensating the
  least an upholding vote named (so every upholder supports it), consensus when every vote is
  the same uphold or reject. It is applied through the appeal's one decision path.
- **An audit** of an ended quarter is adopted once, with the integrity result of the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from linli_kit.domain import Aggregate, DomainEvent, new_id
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, PermissionDenied
from linli_points.domain.appeals import Appeal, AppealStatus
from linli_points.domain.periods import local_date, quarter_bounds

MAX_TERM_DAYS = 5 * 366
MAX_AGENDA = 50
# Quarters looked back on for overdue audits (ten years).
MAX_QUARTERS = 40


class Seat(StrEnum):
    """The three parts of the council the policy names."""

    RESIDENTS_COMMITTEE = "residents_committee"
    RESIDENT_REPRESENTATIVE = "resident_representative"
    THIRD_PARTY = "third_party"


@dataclass(frozen=True)
class CouncilRule:
    """A community's council settings: its quorum, single-member appeals and audit grace."""

    each_seat: int = 1
    majority: bool = True
    # Whether one committee member may still decide an appeal alone (PointsService.DecideAppeal).
    single_member_appeals: bool = True
    # Days after a quarter ends before its audit is overdue.
    audit_grace_days: int = 30


DEFAULT_RULE = CouncilRule()


def require_single_member_decisions(rule: CouncilRule) -> None:
    """One committee member decides an appeal alone only where the community allows it."""
    if not rule.single_member_appeals:
        raise FailedPrecondition(
            "this community decides appeals at council meetings only (CouncilService)"
        )


@dataclass(kw_only=True, eq=False)
class Member(Aggregate):
    """A resident's seat on the council for a term."""

    id: str
    community_id: str
    resident_id: str
    seat: Seat
    organisation: str
    term_start: date
    term_end: date
    seated_by: str
    seated_at: datetime
    ended_at: datetime | None = None
    end_reason: str = ""

    def serves_on(self, day: date) -> bool:
        """Whether the member holds the seat on a day."""
        if self.ended_at is not None and local_date(self.ended_at) <= day:
            return False
        return self.term_start <= day <= self.term_end

    def end(self, at: datetime, reason: str) -> None:
        """End the term early, from the day it is ended."""
        if self.ended_at is not None:
            raise FailedPrecondition(f"member {self.id}'s term has ended already")
        self.ended_at, self.end_reason = at, reason


def seat_member(
    *,
    community_id: str,
    resident_id: str,
    seat: Seat,
    organisation: str,
    term_start: date,
    term_end: date,
    seated_by: str,
    at: datetime,
    seats_held: Iterable[Member],
) -> Member:
    """A new seat for a resident, refused for a term overlapping one they already hold."""
    organisation = organisation.strip()
    if seat is Seat.THIRD_PARTY and not organisation:
        raise InvalidArgument("a third-party seat names its organisation")
    if seat is not Seat.THIRD_PARTY and organisation:
        raise InvalidArgument("only a third-party seat names an organisation")
    if term_end < term_start:
        raise InvalidArgument("a term ends on or after its start")
    if (term_end - term_start).days > MAX_TERM_DAYS:
        raise InvalidArgument("a term lasts at most five years")
    for held in seats_held:
        ends = local_date(held.ended_at) if held.ended_at else held.term_end + timedelta(days=1)
        if held.term_start < term_end + timedelta(days=1) and term_start < ends:
            raise AlreadyExists(f"the resident holds seat {held.id} for an overlapping term")
    return Member(
        id=new_id("cm"),
        community_id=community_id,
        resident_id=resident_id,
        seat=seat,
        organisation=organisation,
        term_start=term_start,
        term_end=term_end,
        seated_by=seated_by,
        seated_at=at,
    )


@dataclass(frozen=True)
class Quorum:
    """Whether the members present make a quorum, and why not."""

    met: bool
    detail: str = ""


def quorum(rule: CouncilRule, serving: Iterable[Member], present: Iterable[str]) -> Quorum:
    """The quorum of the members present among those serving, under the community's rule."""
    serving = list(serving)
    here = set(present)
    missing = []
    for seat in Seat:
        count = sum(1 for m in serving if m.seat is seat and m.resident_id in here)
        if count < rule.each_seat:
            missing.append(f"{count} of {rule.each_seat} {seat.value.replace('_', ' ')} present")
    members = {m.resident_id for m in serving}
    attending = len(members & here)
    if rule.majority and attending * 2 <= len(members):
        missing.append(f"{attending} of {len(members)} members present is not a majority")
    return Quorum(not missing, "; ".join(missing))


def conflict(voter: str, appellant: str, disputed_actor: str, same_household: bool) -> str:
    """Why a member may not vote on or record an appeal ('' when they may)."""
    if voter == appellant:
        return "nobody votes on their own appeal"
    if same_household:
        return "nobody votes on an appeal of a relative in their household"
    if disputed_actor and voter == disputed_actor:
        return "nobody votes on an appeal against their own decision"
    return ""


class MeetingState(StrEnum):
    """Where a meeting stands."""

    SCHEDULED = "scheduled"
    HELD = "held"
    CLOSED = "closed"


class VoteChoice(StrEnum):
    """How a member voted on an appeal."""

    UPHOLD = "uphold"
    REJECT = "reject"
    ABSTAIN = "abstain"


@dataclass(frozen=True)
class Vote:
    """One member's vote on an appeal at a meeting."""

    member: str
    choice: VoteChoice
    compensation: int
    at: datetime


@dataclass(frozen=True)
class AppealDecision:
    """The council's decision on an appeal, with the votes it rests on."""

    appeal_id: str
    upheld: bool
    compensation: int
    reason: str
    consensus: bool
    votes: tuple[Vote, ...]
    recorded_by: str
    decided_at: datetime


@dataclass(frozen=True)
class AuditAdoption:
    """A quarter's audit report adopted at a meeting, with its integrity result."""

    year: int
    quarter: int
    integrity_ok: bool
    transactions_checked: int
    accounts_checked: int
    breaks: int
    report_sha256: str
    meeting_id: str
    adopted_by: str
    adopted_at: datetime


@dataclass(frozen=True, kw_only=True)
class AuditAdopted(DomainEvent):
    """The council adopted a quarter's audit (published on points.events)."""

    meeting_id: str
    year: int
    quarter: int
    integrity_ok: bool
    transactions_checked: int
    breaks: int
    report_sha256: str


def check_quarter(year: int, quarter: int, now: datetime) -> None:
    """A quarter that exists and has ended (an audit looks back on a whole quarter)."""
    if not 1 <= quarter <= 4:
        raise InvalidArgument("quarter must be 1 to 4")
    if quarter_bounds(year, quarter)[1] > now:
        raise InvalidArgument(f"{year} Q{quarter} has not ended: it cannot be audited yet")


@dataclass(kw_only=True, eq=False)
class Meeting(Aggregate):
    """A council meeting: its agenda, attendance, votes, decisions, audits and minutes."""

    id: str
    community_id: str
    title: str
    scheduled_for: datetime
    scheduled_by: str
    appeal_ids: tuple[str, ...]
    audits: tuple[tuple[int, int], ...]
    state: MeetingState = MeetingState.SCHEDULED
    attendees: frozenset[str] = frozenset()
    held_at: datetime | None = None
    minutes: str = ""
    closed_at: datetime | None = None
    votes: dict[str, dict[str, Vote]] = field(default_factory=dict)
    decisions: dict[str, AppealDecision] = field(default_factory=dict)
    adoptions: dict[tuple[int, int], AuditAdoption] = field(default_factory=dict)

    @property
    def day(self) -> date:
        """The meeting's day (Asia/Shanghai): when it was held, else when it is scheduled."""
        return local_date(self.held_at or self.scheduled_for)

    def serving(self, members: Iterable[Member]) -> list[Member]:
        """The members serving on the meeting's day."""
        return [m for m in members if m.serves_on(self.day)]

    def record_attendance(
        self, attendees: Iterable[str], members: Iterable[Member], at: datetime
    ) -> None:
        """Record who is present and hold the meeting; only before it decides anything."""
        if self.state is MeetingState.CLOSED:
            raise FailedPrecondition(f"meeting {self.id} is closed")
        if self.decisions or self.adoptions or any(self.votes.values()):
            raise FailedPrecondition("attendance is fixed once the meeting has voted or decided")
        self.held_at = self.held_at or at
        serving = {m.resident_id for m in self.serving(members)}
        present = frozenset(attendees)
        strangers = sorted(present - serving)
        if strangers:
            raise InvalidArgument(f"not serving on the council that day: {', '.join(strangers)}")
        self.attendees, self.state = present, MeetingState.HELD

    def quorum(self, rule: CouncilRule, members: Iterable[Member]) -> Quorum:
        """The quorum of the members present (none before the meeting is held)."""
        if self.state is MeetingState.SCHEDULED:
            return Quorum(False, "the meeting has not been held")
        return quorum(rule, self.serving(members), self.attendees)

    def _require_deciding(self, rule: CouncilRule, members: Iterable[Member]) -> None:
        if self.state is not MeetingState.HELD:
            raise FailedPrecondition(
                f"meeting {self.id} is {self.state}: it decides only while held"
            )
        found = self.quorum(rule, members)
        if not found.met:
            raise FailedPrecondition(f"meeting {self.id} has no quorum: {found.detail}")

    def _require_present(self, member: str) -> None:
        if member not in self.attendees:
            raise PermissionDenied("only members present at the meeting vote and decide")

    def _require_open_appeal(self, appeal_id: str) -> None:
        if appeal_id not in self.appeal_ids:
            raise FailedPrecondition(f"appeal {appeal_id} is not on meeting {self.id}'s agenda")
        if appeal_id in self.decisions:
            raise FailedPrecondition(f"appeal {appeal_id} was decided at this meeting")

    def cast_vote(
        self,
        *,
        voter: str,
        appeal_id: str,
        choice: VoteChoice,
        compensation: int,
        ceiling: int,
        conflicted: str,
        at: datetime,
    ) -> Vote:
        """A present member's one vote on an appeal on the agenda, unless conflicted; an
        upholding vote names a compensation within the appeal's ceiling (appeals.py)."""
        if self.state is not MeetingState.HELD:
            raise FailedPrecondition(
                f"meeting {self.id} is {self.state}: votes are cast while held"
            )
        self._require_present(voter)
        self._require_open_appeal(appeal_id)
        if conflicted:
            raise PermissionDenied(conflicted)
        if choice is VoteChoice.UPHOLD and compensation <= 0:
            raise InvalidArgument("an upholding vote names the compensation it supports, > 0")
        if choice is not VoteChoice.UPHOLD and compensation:
            raise InvalidArgument("only an upholding vote names a compensation")
        if compensation > ceiling:
            raise InvalidArgument(
                f"the compensation {compensation} exceeds what the appealed decision could have"
                f" been ({ceiling} hundredths)"
            )
        cast = self.votes.setdefault(appeal_id, {})
        if voter in cast:
            raise AlreadyExists(f"{voter} has voted on appeal {appeal_id} already")
        vote = Vote(voter, choice, compensation, at)
        cast[voter] = vote
        return vote

    def decide(
        self,
        *,
        recorder: str,
        appeal_id: str,
        reason: str,
        conflicted: str,
        rule: CouncilRule,
        members: Iterable[Member],
        at: datetime,
    ) -> AppealDecision:
        """The council's decision from the votes cast, recorded by an eligible member present."""
        self._require_deciding(rule, members)
        self._require_present(recorder)
        self._require_open_appeal(appeal_id)
        if conflicted:
            raise PermissionDenied(conflicted)
        if not reason.strip():
            raise InvalidArgument("a council decision gives its reason")
        votes = tuple(sorted(self.votes.get(appeal_id, {}).values(), key=lambda v: v.member))
        if len(votes) * 2 <= len(self.attendees):
            raise FailedPrecondition(
                f"{len(votes)} of {len(self.attendees)} members present have voted: more than"
                " half must vote before the council decides"
            )
        upholding = [v for v in votes if v.choice is VoteChoice.UPHOLD]
        rejecting = [v for v in votes if v.choice is VoteChoice.REJECT]
        upheld = len(upholding) > len(rejecting)
        choices = {v.choice for v in votes}
        decision = AppealDecision(
            appeal_id=appeal_id,
            upheld=upheld,
            compensation=min(v.compensation for v in upholding) if upheld else 0,
            reason=reason,
            consensus=len(choices) == 1 and VoteChoice.ABSTAIN not in choices,
            votes=votes,
            recorded_by=recorder,
            decided_at=at,
        )
        self.decisions[appeal_id] = decision
        return decision

    def adopt_audit(
        self,
        *,
        adopter: str,
        year: int,
        quarter: int,
        integrity_ok: bool,
        transactions_checked: int,
        accounts_checked: int,
        breaks: int,
        report_sha256: str,
        rule: CouncilRule,
        members: Iterable[Member],
        at: datetime,
    ) -> AuditAdoption:
        """Adopt a quarter's audit on the agenda, with the integrity result of its report."""
        self._require_deciding(rule, members)
        self._require_present(adopter)
        if (year, quarter) not in self.audits:
            raise FailedPrecondition(
                f"{year} Q{quarter}'s audit is not on meeting {self.id}'s agenda"
            )
        adoption = AuditAdoption(
            year=year,
            quarter=quarter,
            integrity_ok=integrity_ok,
            transactions_checked=transactions_checked,
            accounts_checked=accounts_checked,
            breaks=breaks,
            report_sha256=report_sha256,
            meeting_id=self.id,
            adopted_by=adopter,
            adopted_at=at,
        )
        self.adoptions[(year, quarter)] = adoption
        self.events.append(
            AuditAdopted(
                community_id=self.community_id,
                occurred_at=at,
                meeting_id=self.id,
                year=year,
                quarter=quarter,
                integrity_ok=integrity_ok,
                transactions_checked=transactions_checked,
                breaks=breaks,
                report_sha256=report_sha256,
            )
        )
        return adoption

    def close(self, minutes: str, at: datetime) -> None:
        """Record the minutes and close the meeting; nothing is decided after."""
        if self.state is not MeetingState.HELD:
            raise FailedPrecondition(f"meeting {self.id} is {self.state}: only a held one closes")
        if not minutes.strip():
            raise InvalidArgument("a meeting closes with its minutes")
        self.minutes, self.closed_at, self.state = minutes, at, MeetingState.CLOSED


def schedule_meeting(
    *,
    community_id: str,
    title: str,
    scheduled_for: datetime,
    scheduled_by: str,
    appeal_ids: Iterable[str],
    audits: Iterable[tuple[int, int]],
    now: datetime,
) -> Meeting:
    """A new meeting with its agenda (the appeals are checked to be filed by the caller)."""
    appeal_ids, audits = tuple(dict.fromkeys(appeal_ids)), tuple(dict.fromkeys(audits))
    if not title.strip():
        raise InvalidArgument("a meeting has a title")
    if not appeal_ids and not audits:
        raise InvalidArgument("a meeting has an agenda: appeals to decide or a quarter to audit")
    if len(appeal_ids) + len(audits) > MAX_AGENDA:
        raise InvalidArgument(f"an agenda holds at most {MAX_AGENDA} items")
    for year, quarter in audits:
        check_quarter(year, quarter, now)
    return Meeting(
        id=new_id("m"),
        community_id=community_id,
        title=title,
        scheduled_for=scheduled_for,
        scheduled_by=scheduled_by,
        appeal_ids=appeal_ids,
        audits=audits,
    )


@dataclass(frozen=True)
class QuarterRecord:
    """One quarter of the public record: counts only, no names."""

    year: int
    quarter: int
    filed: int = 0
    upheld: int = 0
    rejected: int = 0
    open: int = 0
    by_council: int = 0
    median_days: int = 0
    max_days: int = 0
    compensation: int = 0
    adoption: AuditAdoption | None = None
    overdue: bool = False


def days_to_decide(filed_at: datetime, decided_at: datetime) -> int:
    """Whole days from filing to decision, rounded up (a same-day decision takes 1)."""
    seconds = (decided_at - filed_at).total_seconds()
    return max(1, -int(-seconds // 86_400))


def audit_overdue(year: int, quarter: int, rule: CouncilRule, now: datetime) -> bool:
    """Whether a quarter ended longer than the grace period ago (its audit, if missing, is late)."""
    return quarter_bounds(year, quarter)[1] + timedelta(days=rule.audit_grace_days) <= now


def ended_quarters(since: datetime, rule: CouncilRule, now: datetime) -> list[tuple[int, int]]:
    """The quarters from the one holding `since` whose audits are due by now (oldest first)."""
    start = local_date(since)
    year, quarter = start.year, (start.month - 1) // 3 + 1
    if year < local_date(now).year - MAX_QUARTERS // 4:
        year, quarter = local_date(now).year - MAX_QUARTERS // 4, 1
    due: list[tuple[int, int]] = []
    while audit_overdue(year, quarter, rule, now) and len(due) < MAX_QUARTERS:
        due.append((year, quarter))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return due


def public_record(
    year: int,
    appeals: Iterable[Appeal],
    by_council: set[str],
    adoptions: Iterable[AuditAdoption],
    rule: CouncilRule,
    now: datetime,
) -> list[QuarterRecord]:
    """The four quarters of a year: appeals filed in each and how they stand, and its audit."""
    adopted = {(a.year, a.quarter): a for a in adoptions}
    filed: dict[int, list[Appeal]] = {q: [] for q in range(1, 5)}
    for appeal in appeals:
        filed[(local_date(appeal.filed_at).month - 1) // 3 + 1].append(appeal)
    records = []
    for quarter, group in filed.items():
        decided = [a for a in group if a.decided_at is not None]
        days = sorted(days_to_decide(a.filed_at, a.decided_at) for a in decided if a.decided_at)
        adoption = adopted.get((year, quarter))
        records.append(
            QuarterRecord(
                year=year,
                quarter=quarter,
                filed=len(group),
                upheld=sum(1 for a in group if a.status is AppealStatus.ACCEPTED),
                rejected=sum(1 for a in group if a.status is AppealStatus.REJECTED),
                open=sum(1 for a in group if a.status is AppealStatus.FILED),
                by_council=sum(1 for a in decided if a.id in by_council),
                median_days=days[(len(days) - 1) // 2] if days else 0,
                max_days=days[-1] if days else 0,
                compensation=sum(a.compensation_amount for a in group),
                adoption=adoption,
                overdue=adoption is None and audit_overdue(year, quarter, rule, now),
            )
        )
    return records
