"""Partner enterprises (E1, E3): who they are, what they may do, what they signed and gave.

A partner is known by the id its certificate names (spiffe://linli/<c>/partner/<id>). What it
may do are its scopes, kept here and revocable at once: "benefit:<id>" for each benefit it
may check, "vouchers" if it verifies and consumes vouchers for its items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import FailedPrecondition, InvalidArgument

PARTNER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
BENEFIT_ID = re.compile(r"[a-z][a-z0-9-]{1,39}")
VOUCHERS = "vouchers"
MAX_SCOPED_BENEFITS = 50
DEFAULT_CHECKS_PER_MINUTE = 60
# The policy's threshold for the 社区公益伙伴 title: 50,000 yuan given in a year, in fen.
DEFAULT_TITLE_THRESHOLD_FEN = 50_000_00


def benefit_scope(benefit_id: str) -> str:
    """The scope that lets a partner check one benefit."""
    return f"benefit:{benefit_id}"


class PartnerKind(StrEnum):
    """What kind of enterprise a partner is."""

    SUPERMARKET = "supermarket"
    BANK = "bank"
    CLINIC = "clinic"
    OTHER = "other"


@dataclass(frozen=True, kw_only=True)
class PartnerRevoked(DomainEvent):
    """A partner's certificate is refused from now on."""

    partner_id: str
    reason: str


@dataclass(kw_only=True, eq=False)
class Partner(Aggregate):
    """A partner enterprise and what it may do."""

    community_id: str
    id: str
    display_name: str
    kind: PartnerKind
    created_at: datetime
    benefits: tuple[str, ...] = ()
    consume_vouchers: bool = False
    checks_per_minute: int = DEFAULT_CHECKS_PER_MINUTE
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if not PARTNER_ID.fullmatch(self.id):
            raise InvalidArgument("partner_id must be 1-40 lower-case letters, digits or hyphens")
        if not self.display_name.strip() or len(self.display_name) > 100:
            raise InvalidArgument("a partner needs a display name of 1 to 100 characters")
        self._check_access(self.benefits, self.checks_per_minute)

    @staticmethod
    def _check_access(benefits: tuple[str, ...], checks_per_minute: int) -> None:
        if len(benefits) > MAX_SCOPED_BENEFITS or not all(map(BENEFIT_ID.fullmatch, benefits)):
            raise InvalidArgument(f"access.benefits must be at most {MAX_SCOPED_BENEFITS} ids")
        if not 1 <= checks_per_minute <= 6000:
            raise InvalidArgument("access.checks_per_minute must be 1 to 6000")

    @property
    def scopes(self) -> frozenset[str]:
        """What the partner may do; nothing once revoked."""
        if self.revoked_at is not None:
            return frozenset()
        granted = {benefit_scope(b) for b in self.benefits}
        return frozenset(granted | ({VOUCHERS} if self.consume_vouchers else set()))

    def update_access(
        self, benefits: tuple[str, ...], consume_vouchers: bool, checks_per_minute: int
    ) -> None:
        """Replace what the partner may do."""
        if self.revoked_at is not None:
            raise FailedPrecondition(f"partner {self.id} is revoked")
        self._check_access(benefits, checks_per_minute)
        self.benefits, self.consume_vouchers = benefits, consume_vouchers
        self.checks_per_minute = checks_per_minute

    def revoke(self, reason: str, at: datetime) -> None:
        """Refuse the partner's certificate from now on."""
        if self.revoked_at is not None:
            raise FailedPrecondition(f"partner {self.id} is already revoked")
        self.revoked_at = at
        self.events.append(
            PartnerRevoked(
                community_id=self.community_id, occurred_at=at, partner_id=self.id, reason=reason
            )
        )


class AgreementState(StrEnum):
    """An agreement as of a day."""

    SIGNED = "signed"
    ACTIVE = "active"
    ENDED = "ended"
    TERMINATED = "terminated"


def parse_date(text: str, field_name: str) -> date:
    """A YYYY-MM-DD date, or InvalidArgument naming the field."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"{field_name} must be a date as YYYY-MM-DD") from None


@dataclass(kw_only=True)
class Agreement:
    """A signed 《志愿服务合作协议》 and its term."""

    community_id: str
    partner_id: str
    id: str
    title: str
    terms: str
    signed_on: date
    starts_on: date
    ends_on: date
    terminated_on: date | None = None
    terminate_reason: str = ""

    def __post_init__(self) -> None:
        if not self.title.strip() or len(self.title) > 100:
            raise InvalidArgument("an agreement needs a title of 1 to 100 characters")
        if not self.signed_on <= self.starts_on <= self.ends_on:
            raise InvalidArgument("an agreement is signed by its start, and starts by its end")

    def state(self, today: date) -> AgreementState:
        """Where the agreement stands on a day."""
        if self.terminated_on is not None:
            return AgreementState.TERMINATED
        if today < self.starts_on:
            return AgreementState.SIGNED
        return AgreementState.ACTIVE if today <= self.ends_on else AgreementState.ENDED

    def terminate(self, today: date, reason: str) -> None:
        """End an agreement that has not ended yet."""
        if self.state(today) in (AgreementState.ENDED, AgreementState.TERMINATED):
            raise FailedPrecondition(f"the agreement is already {self.state(today)}")
        self.terminated_on, self.terminate_reason = today, reason


@dataclass(frozen=True, kw_only=True)
class ContributionRecorded(DomainEvent):
    """A partner gave resources."""

    partner_id: str
    contribution_id: str
    value_fen: int
    year: int


@dataclass(frozen=True, kw_only=True)
class PartnerTitleGranted(DomainEvent):
    """A partner's year crossed the threshold: the 社区公益伙伴 title."""

    partner_id: str
    year: int
    certificate_number: str
    value_fen: int


@dataclass(kw_only=True, eq=False)
class Contribution(Aggregate):
    """Resources a partner gave, valued in fen, counted in the year they were given."""

    community_id: str
    partner_id: str
    id: str
    description: str
    value_fen: int
    given_at: datetime
    year: int

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise InvalidArgument("a contribution needs a description")
        if not 1 <= self.value_fen <= 100_000_000_000:
            raise InvalidArgument("value_fen must be 1 to 100,000,000,000")

    def recorded(self) -> None:
        """Raise the event of a newly recorded contribution."""
        self.events.append(
            ContributionRecorded(
                community_id=self.community_id,
                occurred_at=self.given_at,
                partner_id=self.partner_id,
                contribution_id=self.id,
                value_fen=self.value_fen,
                year=self.year,
            )
        )


@dataclass(kw_only=True, eq=False)
class PartnerTitle(Aggregate):
    """The 社区公益伙伴 title of one partner and year, and its certificate record."""

    community_id: str
    partner_id: str
    year: int
    certificate_number: str
    value_fen: int
    granted_at: datetime
    # The contribution that took the year over the threshold.
    contribution_id: str

    @classmethod
    def grant(cls, contribution: Contribution, serial: int, year_total: int) -> PartnerTitle:
        """The title a contribution earned, numbered in its community's year."""
        community, year = contribution.community_id, contribution.year
        title = cls(
            community_id=community,
            partner_id=contribution.partner_id,
            year=year,
            certificate_number=f"CSR-{community}-{year}-{serial:04d}",
            value_fen=year_total,
            granted_at=contribution.given_at,
            contribution_id=contribution.id,
        )
        title.events.append(
            PartnerTitleGranted(
                community_id=community,
                occurred_at=contribution.given_at,
                partner_id=contribution.partner_id,
                year=year,
                certificate_number=title.certificate_number,
                value_fen=year_total,
            )
        )
        return title
