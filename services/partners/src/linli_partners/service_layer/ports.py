"""What the partners use cases need from the outside world."""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Protocol

from linli_kit.domain import AbstractUnitOfWork, Repository
from linli_partners.domain.eligibility import (
    EligibilityCheck,
    EligibilityCode,
    PartnerBenefit,
    Standing,
)
from linli_partners.domain.partners import Agreement, Contribution, Partner, PartnerTitle
from linli_partners.service_layer.support_ports import (
    Agencies,
    FundCalls,
    LegalAid,
    Proposals,
    ResearchGrants,
)


class Points(Protocol):
    """The points service, asked about a resident (blocking; used from worker threads)."""

    def standing(self, community_id: str, resident_id: str, top_n: int) -> Standing:
        """The resident's yearly and lifetime points, tier, and place among the year's top
        `top_n` (0: not asked, or not among them); Unavailable if points cannot say."""
        ...


class CodeMaker(Protocol):
    """Makes residents' codes: the same request id gives the same code, so a retry shows it."""

    def code(self, community_id: str, resident_id: str, request_id: str) -> str:
        """The code of a request (a fresh random one without a request id)."""
        ...


class ProofSigner(Protocol):
    """Signs eligibility answers so that a partner can keep proof."""

    def sign(self, check: EligibilityCheck) -> str:
        """The signed answer."""
        ...

    def public_keys(self) -> list[tuple[str, str]]:
        """(key id, PASERK) of every key an answer may be signed with, current first."""
        ...


class Quota(Protocol):
    """Each partner's own rate of eligibility checks (its row's checks a minute)."""

    def charge(self, partner_id: str, per_minute: int) -> None:
        """Count one check, or ResourceExhausted past the partner's rate."""
        ...


class Partners(Repository, abc.ABC):
    """Stored partners."""

    @abc.abstractmethod
    def add(self, partner: Partner) -> None:
        """Store a new partner; AlreadyExists if its id is taken."""

    @abc.abstractmethod
    def get(self, community_id: str, partner_id: str, lock: bool = False) -> Partner | None:
        """A partner by id (locked for update if asked), or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[Partner]:
        """A community's partners by id."""

    @abc.abstractmethod
    def save(self, partner: Partner) -> None:
        """Store a partner's access and revocation."""


class Agreements(abc.ABC):
    """Stored agreements."""

    @abc.abstractmethod
    def add(self, agreement: Agreement) -> None:
        """Store a new agreement."""

    @abc.abstractmethod
    def get(self, community_id: str, partner_id: str, agreement_id: str) -> Agreement | None:
        """An agreement by id, or None."""

    @abc.abstractmethod
    def of_partner(
        self, community_id: str, partner_id: str, offset: int, limit: int
    ) -> list[Agreement]:
        """A partner's agreements, newest signed first."""

    @abc.abstractmethod
    def save(self, agreement: Agreement) -> None:
        """Store an agreement's termination."""


class Contributions(Repository, abc.ABC):
    """Stored contributions and the CSR board they make."""

    @abc.abstractmethod
    def add(self, contribution: Contribution) -> None:
        """Store a new contribution."""

    @abc.abstractmethod
    def get(self, community_id: str, partner_id: str, contribution_id: str) -> Contribution | None:
        """A contribution by id, or None."""

    @abc.abstractmethod
    def of_partner(
        self, community_id: str, partner_id: str, offset: int, limit: int
    ) -> list[Contribution]:
        """A partner's contributions, newest first."""

    @abc.abstractmethod
    def year_total(self, community_id: str, partner_id: str, year: int) -> int:
        """What a partner gave in a year, in fen."""

    @abc.abstractmethod
    def board(self, community_id: str, year: int, limit: int) -> list[tuple[str, str, int]]:
        """(partner id, display name, fen) of a year, most given first, then by id."""

    @abc.abstractmethod
    def version(self, community_id: str, year: int) -> tuple[int, int]:
        """How many contributions a year holds and their sum: changes with the board."""


class Titles(Repository, abc.ABC):
    """Stored 社区公益伙伴 titles, one per partner and year."""

    @abc.abstractmethod
    def add(self, title: PartnerTitle) -> None:
        """Store a new title."""

    @abc.abstractmethod
    def get(self, community_id: str, partner_id: str, year: int) -> PartnerTitle | None:
        """The title of a partner and year, or None."""

    @abc.abstractmethod
    def next_serial(self, community_id: str, year: int) -> int:
        """The next certificate number of the community's year (1, 2, …), taken atomically."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[PartnerTitle]:
        """A community's titles, newest first."""

    @abc.abstractmethod
    def titled(self, community_id: str, year: int) -> set[str]:
        """The partners titled in a year."""


class Benefits(abc.ABC):
    """Stored partner benefits."""

    @abc.abstractmethod
    def add(self, benefit: PartnerBenefit) -> None:
        """Store a new benefit; AlreadyExists if its id is taken in the community."""

    @abc.abstractmethod
    def get(self, community_id: str, partner_id: str, benefit_id: str) -> PartnerBenefit | None:
        """A partner's benefit by id, or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[PartnerBenefit]:
        """A community's partner benefits by id."""


class Eligibility(abc.ABC):
    """Stored codes (by digest) and the checks made of them."""

    @abc.abstractmethod
    def add_code(self, code: EligibilityCode) -> None:
        """Store a new code."""

    @abc.abstractmethod
    def code(self, community_id: str, digest: str) -> EligibilityCode | None:
        """A code by its digest, or None."""

    @abc.abstractmethod
    def use_code(self, community_id: str, digest: str, at: datetime) -> EligibilityCode | None:
        """Mark an unused, unexpired code used and return it, in one conditional update."""

    @abc.abstractmethod
    def add_check(self, check: EligibilityCheck) -> None:
        """Store a check."""

    @abc.abstractmethod
    def check(self, community_id: str, check_id: str) -> EligibilityCheck | None:
        """A check by id, or None."""

    @abc.abstractmethod
    def checks_of(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[EligibilityCheck]:
        """The checks made of a resident's codes, newest first."""


class PartnersUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over partners and everything they sign, give, offer and check; and the
    funds and grants (O5, E5) in the same database."""

    partners: Partners
    agreements: Agreements
    contributions: Contributions
    titles: Titles
    benefits: Benefits
    eligibility: Eligibility
    fund_calls: FundCalls
    proposals: Proposals
    agencies: Agencies
    research_grants: ResearchGrants
    legal_aid: LegalAid
