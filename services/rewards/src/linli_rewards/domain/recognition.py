"""Recognition that costs no money but needs a record (R2): priority seats and honours.

Priority seats at a community event go to the applicants with the most points of the year,
the earlier application first on a tie; the rest wait in that order and move up as seats are
given back. A nomination for a district honour (最美志愿者) goes nominated → endorsed by the
supervision committee → submitted → awarded or not, each step recorded with who and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate, new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied

MAX_APPLICANTS = 1000  # allocation asks points about each one: bounded work per call


def _title(text: str, what: str) -> str:
    if not text.strip() or len(text) > 100:
        raise InvalidArgument(f"{what} needs a title of 1 to 100 characters")
    return text


class SeatState(StrEnum):
    """Where an applicant stands."""

    APPLIED = "applied"
    SEATED = "seated"
    WAITING = "waiting"
    DECLINED = "declined"


@dataclass(kw_only=True)
class SeatApplicant:
    """One resident's application for a seat."""

    resident_id: str
    applied_at: datetime
    state: SeatState = SeatState.APPLIED
    rank: int = 0
    points: int = 0


@dataclass(kw_only=True, eq=False)
class SeatAllocation(Aggregate):
    """Priority seats at one event and who applied for them."""

    community_id: str
    id: str
    title: str
    event_at: datetime
    seats: int
    apply_until: datetime
    created_at: datetime
    allocated_at: datetime | None = None
    applicants: list[SeatApplicant] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        community_id: str,
        title: str,
        event_at: datetime,
        seats: int,
        apply_until: datetime,
        at: datetime,
    ) -> SeatAllocation:
        """Seats to apply for until `apply_until`, which is before the event."""
        if not 1 <= seats <= MAX_APPLICANTS:
            raise InvalidArgument(f"seats must be 1 to {MAX_APPLICANTS}")
        if not at < apply_until <= event_at:
            raise InvalidArgument("applications must close after now and by the event")
        return cls(
            community_id=community_id,
            id=new_id("s"),
            title=_title(title, "a seat allocation"),
            event_at=event_at,
            seats=seats,
            apply_until=apply_until,
            created_at=at,
        )

    def _applicant(self, resident_id: str) -> SeatApplicant | None:
        return next((a for a in self.applicants if a.resident_id == resident_id), None)

    def apply(self, resident_id: str, at: datetime) -> None:
        """Apply for a seat while applications are open."""
        if self.allocated_at is not None or at >= self.apply_until:
            raise FailedPrecondition("applications for these seats have closed")
        if self._applicant(resident_id) is not None:
            raise FailedPrecondition("already applied for these seats")
        if len(self.applicants) >= MAX_APPLICANTS:
            raise FailedPrecondition(f"the list is full ({MAX_APPLICANTS} applicants)")
        self.applicants.append(SeatApplicant(resident_id=resident_id, applied_at=at))

    def require_allocatable(self, at: datetime) -> None:
        """FailedPrecondition unless applications have closed and nothing is allocated yet."""
        if self.allocated_at is not None:
            raise FailedPrecondition("these seats are already allocated")
        if at < self.apply_until:
            raise FailedPrecondition("applications are still open")

    def allocate(self, points: Mapping[str, int], at: datetime) -> None:
        """Seat the applicants with the most points, the earlier first on a tie; the rest wait."""
        self.require_allocatable(at)
        order = sorted(self.applicants, key=lambda a: (-points.get(a.resident_id, 0), a.applied_at))
        for rank, applicant in enumerate(order, start=1):
            applicant.rank, applicant.points = rank, points.get(applicant.resident_id, 0)
            applicant.state = SeatState.SEATED if rank <= self.seats else SeatState.WAITING
        self.applicants = order
        self.allocated_at = at

    def decline(self, resident_id: str) -> None:
        """Give a seat or a place in line up; the first one waiting takes a freed seat."""
        applicant = self._applicant(resident_id)
        if applicant is None or applicant.state is SeatState.DECLINED:
            raise FailedPrecondition("no seat or application to give up")
        freed = applicant.state is SeatState.SEATED
        applicant.state = SeatState.DECLINED
        if freed:
            waiting = next((a for a in self.applicants if a.state is SeatState.WAITING), None)
            if waiting is not None:
                waiting.state = SeatState.SEATED

    def as_seen_by(self, resident_id: str | None) -> SeatAllocation:
        """The allocation for staff (None: everything) or a resident (their own place only)."""
        if resident_id is None:
            return self
        own = [
            SeatApplicant(
                resident_id=a.resident_id, applied_at=a.applied_at, state=a.state, rank=a.rank
            )
            for a in self.applicants
            if a.resident_id == resident_id
        ]
        return SeatAllocation(
            community_id=self.community_id,
            id=self.id,
            title=self.title,
            event_at=self.event_at,
            seats=self.seats,
            apply_until=self.apply_until,
            created_at=self.created_at,
            allocated_at=self.allocated_at,
            applicants=own,
        )


class NominationState(StrEnum):
    """Where a nomination is."""

    NOMINATED = "nominated"
    ENDORSED = "endorsed"
    SUBMITTED = "submitted"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"


@dataclass(frozen=True, kw_only=True)
class NominationStep:
    """One step of a nomination: to which state, by whom (a resident id), when, and why."""

    state: NominationState
    by: str
    at: datetime
    note: str = ""


NEXT = {
    NominationState.NOMINATED: (NominationState.ENDORSED,),
    NominationState.ENDORSED: (NominationState.SUBMITTED,),
    NominationState.SUBMITTED: (NominationState.AWARDED, NominationState.NOT_AWARDED),
}


@dataclass(kw_only=True, eq=False)
class Nomination(Aggregate):
    """A resident's nomination for a district honour, with every step taken."""

    community_id: str
    id: str
    resident_id: str
    honour: str
    reason: str
    steps: list[NominationStep] = field(default_factory=list)

    @classmethod
    def nominate(
        cls, community_id: str, resident_id: str, honour: str, reason: str, by: str, at: datetime
    ) -> Nomination:
        """A staff member nominates a resident."""
        if not reason.strip():
            raise InvalidArgument("a nomination needs its reason: the service the resident gave")
        step = NominationStep(state=NominationState.NOMINATED, by=by, at=at)
        return cls(
            community_id=community_id,
            id=new_id("n"),
            resident_id=resident_id,
            honour=_title(honour, "a nomination"),
            reason=reason,
            steps=[step],
        )

    @property
    def state(self) -> NominationState:
        """The state of the last step."""
        return self.steps[-1].state

    def advance(self, to: NominationState, by: str, at: datetime, note: str = "") -> None:
        """Take the next step; a nominee never endorses their own nomination."""
        if to not in NEXT.get(self.state, ()):
            raise FailedPrecondition(f"a nomination that is {self.state} cannot become {to}")
        if to is NominationState.ENDORSED and by == self.resident_id:
            raise PermissionDenied("no one endorses their own nomination")
        self.steps.append(NominationStep(state=to, by=by, at=at, note=note))
