"""What the funds and grants use cases (O5, E5) need from storage."""

from __future__ import annotations

import abc

from linli_partners.domain.fund import FundCall, Milestone, Proposal, Score
from linli_partners.domain.support import (
    Agency,
    CaseStep,
    LegalCase,
    ResearchGrant,
    RotaSlot,
    SupervisionVisit,
)


class FundCalls(abc.ABC):
    """Stored innovation-fund calls, one per community and year."""

    @abc.abstractmethod
    def add(self, call: FundCall) -> None:
        """Store a new call; AlreadyExists if the year has one."""

    @abc.abstractmethod
    def get(self, community_id: str, call_id: str, lock: bool = False) -> FundCall | None:
        """A call by id (locked for update if asked), or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[FundCall]:
        """A community's calls, newest year first."""

    @abc.abstractmethod
    def awarded(self, community_id: str, call_id: str) -> int:
        """What a call has awarded so far, in fen."""


class Proposals(abc.ABC):
    """Stored proposals, their scores and incubation milestones."""

    @abc.abstractmethod
    def add(self, proposal: Proposal) -> None:
        """Store a new proposal."""

    @abc.abstractmethod
    def get(self, community_id: str, call_id: str, proposal_id: str) -> Proposal | None:
        """A proposal by id with its panel's tally, or None."""

    @abc.abstractmethod
    def page(self, community_id: str, call_id: str, offset: int, limit: int) -> list[Proposal]:
        """A call's proposals, oldest first."""

    @abc.abstractmethod
    def save_award(self, proposal: Proposal) -> bool:
        """Store an award unless the proposal has one (then False): one conditional UPDATE."""

    @abc.abstractmethod
    def add_score(self, score: Score) -> None:
        """Store a score; AlreadyExists if the member scored the proposal already."""

    @abc.abstractmethod
    def score(
        self, community_id: str, call_id: str, proposal_id: str, member_id: str
    ) -> Score | None:
        """One member's score of a proposal, or None."""

    @abc.abstractmethod
    def scores(
        self, community_id: str, call_id: str, proposal_id: str, offset: int, limit: int
    ) -> list[Score]:
        """A proposal's scores, oldest first."""

    @abc.abstractmethod
    def add_milestone(self, milestone: Milestone) -> None:
        """Store a milestone."""

    @abc.abstractmethod
    def milestone(
        self, community_id: str, call_id: str, proposal_id: str, milestone_id: str
    ) -> Milestone | None:
        """A milestone by id, or None."""

    @abc.abstractmethod
    def milestones(
        self, community_id: str, call_id: str, proposal_id: str, offset: int, limit: int
    ) -> list[Milestone]:
        """A proposal's milestones by date."""


class Agencies(abc.ABC):
    """Stored social-work agencies and their supervision visits."""

    @abc.abstractmethod
    def add(self, agency: Agency) -> None:
        """Store a new agency."""

    @abc.abstractmethod
    def get(self, community_id: str, agency_id: str) -> Agency | None:
        """An agency by id, or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[Agency]:
        """A community's agencies by name."""

    @abc.abstractmethod
    def add_visit(self, visit: SupervisionVisit) -> None:
        """Store a visit."""

    @abc.abstractmethod
    def visit(self, community_id: str, agency_id: str, visit_id: str) -> SupervisionVisit | None:
        """A visit by id, or None."""

    @abc.abstractmethod
    def visits(
        self, community_id: str, agency_id: str, offset: int, limit: int
    ) -> list[SupervisionVisit]:
        """An agency's visits, newest first."""


class ResearchGrants(abc.ABC):
    """Stored research grants."""

    @abc.abstractmethod
    def add(self, grant: ResearchGrant) -> None:
        """Store a new grant."""

    @abc.abstractmethod
    def get(self, community_id: str, grant_id: str, lock: bool = False) -> ResearchGrant | None:
        """A grant by id (locked for update if asked), or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[ResearchGrant]:
        """A community's grants, newest first."""

    @abc.abstractmethod
    def save(self, grant: ResearchGrant) -> None:
        """Store a grant's outcomes and publication decision."""


class LegalAid(abc.ABC):
    """The legal-aid station's rota and its cases with their steps."""

    @abc.abstractmethod
    def add_slot(self, slot: RotaSlot) -> None:
        """Store a rota slot."""

    @abc.abstractmethod
    def slot(self, community_id: str, slot_id: str) -> RotaSlot | None:
        """A rota slot by id, or None."""

    @abc.abstractmethod
    def slots(self, community_id: str, offset: int, limit: int) -> list[RotaSlot]:
        """The rota by weekday and hour."""

    @abc.abstractmethod
    def add_case(self, case: LegalCase) -> None:
        """Store a new case with its first step."""

    @abc.abstractmethod
    def case(self, community_id: str, case_id: str, lock: bool = False) -> LegalCase | None:
        """A case with its steps (locked for update if asked), or None."""

    @abc.abstractmethod
    def cases(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[LegalCase]:
        """Cases newest first: one resident's, or all for ''."""

    @abc.abstractmethod
    def add_step(self, case: LegalCase, step: CaseStep) -> None:
        """Store a case's new step and where it stands."""
