"""Test doubles for the partners service: points' standings as a dict, a settable clock."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from linli_kit.errors import ResourceExhausted
from linli_kit.principals import Kind, Principal, Role
from linli_partners.domain.eligibility import Standing
from linli_partners.domain.partners import benefit_scope

C = "c-east"
STAFF = Principal(
    Kind.PERSON, f"communities/{C}/residents/r-staff", C, frozenset({Role.SOCIAL_WORKER})
)


def person(resident: str, community: str = C) -> Principal:
    """A signed-in resident."""
    return Principal(Kind.PERSON, f"communities/{community}/residents/{resident}", community)


def partner(partner_id: str, *benefits: str, community: str = C) -> Principal:
    """A partner's certificate, holding the scopes of the benefits named."""
    scopes = frozenset(benefit_scope(b) for b in benefits)
    return Principal(Kind.PARTNER, partner_id, community, scopes=scopes)


@dataclass
class FixedClock:
    """A clock that tells the time it is set to."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakePoints:
    """Standings by resident; unknown residents have nothing."""

    standings: dict[str, Standing] = field(
        default_factory=lambda: {
            "r-alice": Standing(yearly=300_00, lifetime=1200_00, tier="gold", rank=2)
        }
    )
    asked: list[tuple[str, int]] = field(default_factory=list)

    def standing(self, community_id: str, resident_id: str, top_n: int) -> Standing:
        """The resident's standing; their rank only when asked about a top board."""
        self.asked.append((resident_id, top_n))
        found = self.standings.get(resident_id, Standing(yearly=0, lifetime=0, tier=""))
        return found if top_n else dataclasses.replace(found, rank=0)


@dataclass
class CountingQuota:
    """Quota counting checks per partner, refusing past the rate given."""

    counts: dict[str, int] = field(default_factory=dict)

    def charge(self, partner_id: str, per_minute: int) -> None:
        self.counts[partner_id] = self.counts.get(partner_id, 0) + 1
        if self.counts[partner_id] > per_minute:
            raise ResourceExhausted("too many checks", 60)
