"""Professional support (E5): the social-work agency, research grants, legal aid. Records only.

- The resident social-work agency (a graded organisation, 5A at best) is under contract for a
  term; its supervisors' visits are recorded with their date, topics and notes.
- A research grant with a foundation names its topic, amount and the volunteers it funds; its
  outcomes are recorded, and once they are, staff or the committee recommend them for
  publication or not — once, with who decided and when.
- The legal-aid station keeps a rota of law firms (a weekday and hours each). Staff open a
  service-dispute case for a resident, assign it to a firm on the rota, and resolve it (once
  assigned) or close it (from either state). Every step keeps who took it, when and why; a
  finished case takes no more steps. The resident reads their own cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from linli_kit.errors import FailedPrecondition, InvalidArgument

MAX_FEN = 100_000_000_000
MAX_TOPICS = 20
MAX_FUNDED = 50


def _text(value: str, field_name: str, longest: int, required: bool = True) -> None:
    if (required and not value.strip()) or len(value) > longest:
        least = 1 if required else 0
        raise InvalidArgument(f"{field_name} must be {least} to {longest} characters")


@dataclass(frozen=True, kw_only=True)
class Agency:
    """The resident social-work agency and its contract."""

    community_id: str
    id: str
    display_name: str
    grade: str
    contract_starts_on: date
    contract_ends_on: date

    def __post_init__(self) -> None:
        _text(self.display_name, "agency.display_name", 100)
        _text(self.grade, "agency.grade", 10)
        if self.contract_starts_on > self.contract_ends_on:
            raise InvalidArgument("an agency's contract starts by its end")


@dataclass(frozen=True, kw_only=True)
class SupervisionVisit:
    """A supervisor's visit to the agency."""

    community_id: str
    agency_id: str
    id: str
    on: date
    supervisor: str
    topics: tuple[str, ...]
    notes: str
    recorded_by: str

    def __post_init__(self) -> None:
        _text(self.supervisor, "visit.supervisor", 100)
        if len(self.topics) > MAX_TOPICS:
            raise InvalidArgument(f"visit.topics must be at most {MAX_TOPICS}")
        for topic in self.topics:
            _text(topic, "visit.topics", 100)
        _text(self.notes, "visit.notes", 4000, required=False)


@dataclass(kw_only=True)
class ResearchGrant:
    """A research grant with a foundation, the volunteers it funds, its outcomes."""

    community_id: str
    id: str
    foundation: str
    topic: str
    amount_fen: int
    volunteer_ids: tuple[str, ...]
    granted_on: date
    outcomes: str = ""
    recommend_publication: bool | None = None
    decided_by: str = ""
    decided_at: datetime | None = None

    def __post_init__(self) -> None:
        _text(self.foundation, "grant.foundation", 100)
        _text(self.topic, "grant.topic", 200)
        if not 1 <= self.amount_fen <= MAX_FEN:
            raise InvalidArgument(f"grant.amount_fen must be 1 to {MAX_FEN}")
        if len(self.volunteer_ids) > MAX_FUNDED or len(set(self.volunteer_ids)) != len(
            self.volunteer_ids
        ):
            raise InvalidArgument(f"grant.volunteers must be at most {MAX_FUNDED}, each once")

    def record_outcomes(self, outcomes: str) -> None:
        """Record (or restate) what the research found, until publication is decided."""
        _text(outcomes, "outcomes", 4000)
        if self.recommend_publication is not None:
            raise FailedPrecondition("publication is decided: the outcomes stand")
        self.outcomes = outcomes

    def decide_publication(self, recommend: bool, by: str, at: datetime) -> None:
        """Recommend the outcomes for publication or not, once."""
        if not self.outcomes:
            raise FailedPrecondition("record the grant's outcomes first")
        if self.recommend_publication is not None:
            raise FailedPrecondition("publication is decided already")
        self.recommend_publication, self.decided_by, self.decided_at = recommend, by, at


@dataclass(frozen=True, kw_only=True)
class RotaSlot:
    """A law firm's hours at the legal-aid station: a weekday (1 Monday … 7 Sunday)."""

    community_id: str
    id: str
    firm: str
    weekday: int
    start_hour: int
    end_hour: int

    def __post_init__(self) -> None:
        _text(self.firm, "slot.firm", 100)
        if not 1 <= self.weekday <= 7:
            raise InvalidArgument("slot.weekday must be Monday to Sunday")
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise InvalidArgument("slot hours must run forward within 0-24")


class CaseState(StrEnum):
    """Where a service-dispute case stands."""

    OPENED = "opened"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CLOSED = "closed"


# The steps a case may take from each state.
NEXT_STATES = {
    CaseState.OPENED: {CaseState.ASSIGNED, CaseState.CLOSED},
    CaseState.ASSIGNED: {CaseState.RESOLVED, CaseState.CLOSED},
    CaseState.RESOLVED: set(),
    CaseState.CLOSED: set(),
}


@dataclass(frozen=True, kw_only=True)
class CaseStep:
    """One step of a case."""

    state: CaseState
    actor: str
    at: datetime
    note: str


@dataclass(kw_only=True)
class LegalCase:
    """A resident's service-dispute case and its steps, oldest first."""

    community_id: str
    id: str
    resident_id: str
    summary: str
    opened_at: datetime
    slot_id: str = ""
    firm: str = ""
    steps: list[CaseStep] = field(default_factory=list)

    def __post_init__(self) -> None:
        _text(self.summary, "case.summary", 4000)

    @classmethod
    def open(cls, by: str, note: str, **fields: object) -> LegalCase:
        """A case opened by a staff member."""
        case = cls(**fields)  # type: ignore[arg-type]
        case.steps.append(CaseStep(state=CaseState.OPENED, actor=by, at=case.opened_at, note=note))
        return case

    @property
    def state(self) -> CaseState:
        """The state of its latest step."""
        return self.steps[-1].state

    def _step(self, to: CaseState, by: str, at: datetime, note: str) -> CaseStep:
        if to not in NEXT_STATES[self.state]:
            raise FailedPrecondition(f"a case {self.state} cannot be {to}")
        step = CaseStep(state=to, actor=by, at=at, note=note)
        self.steps.append(step)
        return step

    def assign(self, slot: RotaSlot, by: str, at: datetime, note: str) -> CaseStep:
        """Hand the case to a firm on the rota."""
        step = self._step(CaseState.ASSIGNED, by, at, note)
        self.slot_id, self.firm = slot.id, slot.firm
        return step

    def finish(self, to: CaseState, by: str, at: datetime, note: str) -> CaseStep:
        """Resolve (once assigned) or close the case."""
        if to not in (CaseState.RESOLVED, CaseState.CLOSED):
            raise InvalidArgument("state must be LEGAL_CASE_STATE_RESOLVED or _CLOSED")
        return self._step(to, by, at, note)
