"""Eligibility without disclosure (E2): a resident's code, a partner's question, a signed answer.

A resident makes a short-lived, single-use code and shows it to the partner. The partner
asks about one benefit it may check; the answer is whether the resident qualifies, their
honour tier and until when — nothing else — and every check is recorded for the resident to
see. Codes are stored only as their SHA-256, so the database cannot be used to answer as a
resident.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli_kit.domain import new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_partners.domain.partners import BENEFIT_ID

# 12 characters of an alphabet without look-alikes (no 0/O, 1/I/L): about 59 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
CODE_LIFETIME = timedelta(minutes=5)
# How long a yes holds: long enough for the visit, short enough that a standing that changes
# (a year's points expire) is asked again.
ANSWER_LIFETIME = timedelta(hours=24)
TIER = re.compile(r"[a-z][a-z0-9_-]{0,39}")
# One answer for an unknown, used or expired code, so that a code's fate is not told.
CODE_REFUSED = "the code is not valid: unknown, already used or expired"


@dataclass(frozen=True, kw_only=True)
class Standing:
    """A resident's points as points reports them; rank 0 when not on the year's top board."""

    yearly: int
    lifetime: int
    tier: str
    rank: int = 0


@dataclass(frozen=True, kw_only=True)
class EligibilityRule:
    """Who qualifies: every condition set must hold (zero and empty set nothing)."""

    min_yearly: int = 0
    min_lifetime: int = 0
    tiers: tuple[str, ...] = ()
    top_n: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.min_yearly <= 10**11 and 0 <= self.min_lifetime <= 10**11):
            raise InvalidArgument("the rule's point thresholds are out of range")
        if not all(TIER.fullmatch(tier) for tier in self.tiers):
            raise InvalidArgument("rule.tiers must be honour tier names such as 'gold'")
        if not 0 <= self.top_n <= 500:
            raise InvalidArgument("rule.top_n must be 0 to 500")

    def qualifies(self, standing: Standing) -> bool:
        """Whether the standing meets every condition."""
        return (
            standing.yearly >= self.min_yearly
            and standing.lifetime >= self.min_lifetime
            and (not self.tiers or standing.tier in self.tiers)
            and (not self.top_n or 0 < standing.rank <= self.top_n)
        )


@dataclass(kw_only=True)
class PartnerBenefit:
    """A benefit a partner offers and its rule (e.g. the bank's 志愿者信用贷 rate discount)."""

    community_id: str
    partner_id: str
    id: str
    title: str
    rule: EligibilityRule
    description: str = ""

    def __post_init__(self) -> None:
        if not BENEFIT_ID.fullmatch(self.id):
            raise InvalidArgument("benefit_id must be 2-40 lower-case letters, digits or hyphens")
        if not self.title.strip() or len(self.title) > 100:
            raise InvalidArgument("a benefit needs a title of 1 to 100 characters")


def code_text(random_bytes: bytes) -> str:
    """A code of CODE_LENGTH characters of the alphabet from 32 random bytes (no bias worth
    the name: 2^256 against 31^12 values)."""
    if len(random_bytes) < 32:
        raise ValueError("a code is made from 32 random bytes")
    number, characters = int.from_bytes(random_bytes), []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(CODE_ALPHABET))
        characters.append(CODE_ALPHABET[digit])
    return "".join(characters)


def code_digest(code: str) -> str:
    """How a code is stored and looked up: its SHA-256, of the code as typed in capitals."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


@dataclass(kw_only=True)
class EligibilityCode:
    """A resident's single-use code, known here only by its digest."""

    community_id: str
    digest: str
    resident_id: str
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(cls, community_id: str, resident_id: str, code: str, at: datetime) -> EligibilityCode:
        """What is stored of a fresh code (the code itself is shown to the resident only)."""
        return cls(
            community_id=community_id,
            digest=code_digest(code),
            resident_id=resident_id,
            expires_at=at + CODE_LIFETIME,
        )


@dataclass(kw_only=True)
class EligibilityCheck:
    """One check a partner made: what it asked, when, and the answer (the resident sees it)."""

    community_id: str
    id: str
    resident_id: str
    # The partner that asked, and the partner whose benefit it asked about (its own, or one
    # its scopes name).
    partner_id: str
    benefit_owner_id: str
    benefit_id: str
    qualifies: bool
    tier: str
    checked_at: datetime
    valid_until: datetime

    @classmethod
    def answer(
        cls,
        benefit: PartnerBenefit,
        partner_id: str,
        resident_id: str,
        standing: Standing,
        at: datetime,
    ) -> EligibilityCheck:
        """The answer to a partner's question about a resident's standing."""
        return cls(
            community_id=benefit.community_id,
            id=new_id("k"),
            resident_id=resident_id,
            partner_id=partner_id,
            benefit_owner_id=benefit.partner_id,
            benefit_id=benefit.id,
            qualifies=benefit.rule.qualifies(standing),
            tier=standing.tier,
            checked_at=at,
            valid_until=at + ANSWER_LIFETIME,
        )


def require_code(used: EligibilityCode | None) -> EligibilityCode:
    """The code just used (unused and unexpired until now), or one refusal for every other case:
    unknown, used before or expired."""
    if used is None:
        raise FailedPrecondition(CODE_REFUSED)
    return used
