"""High-score benefits (R3): unlocked above a lifetime threshold or honour tier, granted by staff.

The threshold is the benefit's, so each community sets its own. Eligibility is checked against
the resident's standing in points when they apply, and recorded with the application.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_rewards.domain.catalogue import ITEM_ID

TIER = re.compile(r"[a-z][a-z0-9_-]{0,39}")
MAX_THRESHOLD = 100_000_000_000
# From 1,000 lifetime points (the gold honour tier in points' defaults).
DEFAULT_THRESHOLD = 1000_00


@dataclass(frozen=True, kw_only=True)
class Standing:
    """A resident's points as points reports them."""

    yearly: int
    lifetime: int
    tier: str


@dataclass(kw_only=True)
class Benefit:
    """A benefit, and the lifetime points and honour tiers that unlock it."""

    community_id: str
    id: str
    title: str
    description: str = ""
    min_lifetime: int = 0
    tiers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not ITEM_ID.fullmatch(self.id):
            raise InvalidArgument("benefit_id must be 2-40 lower-case letters, digits or hyphens")
        if not self.title.strip() or len(self.title) > 100:
            raise InvalidArgument("a benefit needs a title of 1 to 100 characters")
        if not 0 <= self.min_lifetime <= MAX_THRESHOLD:
            raise InvalidArgument("min_lifetime_centipoints is out of range")
        if not all(TIER.fullmatch(tier) for tier in self.tiers):
            raise InvalidArgument("tiers must be honour tier names such as 'gold'")

    def require_eligible(self, standing: Standing) -> None:
        """FailedPrecondition, saying what is missing, unless the standing unlocks the benefit."""
        if standing.lifetime < self.min_lifetime:
            raise FailedPrecondition(
                f"{self.title} needs {self.min_lifetime / 100:g} lifetime points "
                f"(the resident has {standing.lifetime / 100:g})"
            )
        if self.tiers and standing.tier not in self.tiers:
            raise FailedPrecondition(
                f"{self.title} needs the honour tier {' or '.join(self.tiers)}"
            )


def default_benefits(community_id: str) -> list[Benefit]:
    """The policy's examples of custom benefits for high scorers (R3)."""
    return [
        Benefit(
            community_id=community_id,
            id="family-health-check",
            title="家庭健康体检套餐",
            min_lifetime=DEFAULT_THRESHOLD,
        ),
        Benefit(
            community_id=community_id,
            id="summer-childcare-priority",
            title="子女暑期托管优先权",
            min_lifetime=DEFAULT_THRESHOLD,
        ),
    ]


class ApplicationState(StrEnum):
    """An application is pending until staff grant or refuse it."""

    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(kw_only=True)
class BenefitApplication:
    """A resident's application for a benefit and the standing it was checked against."""

    community_id: str
    id: str
    benefit_id: str
    resident_id: str
    lifetime: int
    tier: str
    applied_at: datetime
    state: ApplicationState = ApplicationState.PENDING
    decided_by: str = ""
    decided_at: datetime | None = None
    note: str = ""

    @classmethod
    def apply(
        cls, benefit: Benefit, resident_id: str, standing: Standing, at: datetime
    ) -> BenefitApplication:
        """An application by an eligible resident."""
        benefit.require_eligible(standing)
        return cls(
            community_id=benefit.community_id,
            id=new_id("a"),
            benefit_id=benefit.id,
            resident_id=resident_id,
            lifetime=standing.lifetime,
            tier=standing.tier,
            applied_at=at,
        )

    def decide(self, grant: bool, by: str, at: datetime, note: str) -> None:
        """Staff grant or refuse a pending application."""
        if self.state is not ApplicationState.PENDING:
            raise FailedPrecondition(f"the application is already {self.state}")
        self.state = ApplicationState.GRANTED if grant else ApplicationState.REFUSED
        self.decided_by, self.decided_at, self.note = by, at, note
