"""Earning rules as data, with the policy's figures as defaults; amounts in hundredths (P1-P5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from linli_kit.domain import new_id
from linli_kit.errors import InvalidArgument
from linli_points.domain.ledger import (
    ISSUANCE,
    Account,
    Kind,
    LedgerTransaction,
    PointsAwarded,
    Posting,
    Purpose,
    RuleKind,
)

SECONDS_PER_HOUR = 3600


class ServiceType(StrEnum):
    """The kind of service rendered, which sets the hourly rate; TRAINING has none (P5 pays it)."""

    REGULAR = "regular"
    PROFESSIONAL = "professional"
    HIGH_RISK = "high_risk"
    TRAINING = "training"


@dataclass(frozen=True)
class EarningRule:
    """One earning rule of a community; every figure is an integer in hundredths of a point."""

    id: str
    kind: RuleKind
    service_type: str = ""
    points_per_hour: int = 0
    # Percent applied to the computed amount (100 = as is); for RATING, the scaled percentage.
    coefficient_percent: int = 100
    # Most a resident earns from this rule in one local day, in hundredths; 0 means no cap.
    # (Not attendance's time cap, which limits the hours counted a day.)
    points_cap_per_day: int = 0
    # Fixed amount of one-off and event rules.
    amount: int = 0
    stars: int = 0
    streak_periods: int = 0

    def __post_init__(self) -> None:
        for name in (
            "points_per_hour",
            "coefficient_percent",
            "points_cap_per_day",
            "amount",
            "stars",
            "streak_periods",
        ):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise InvalidArgument(f"rule {self.id}: {name} must be a whole number >= 0")
        if not self.id:
            raise InvalidArgument("every rule needs an id")

    def hourly_amount(self, duration_seconds: int) -> int:
        """Part hours count pro rata, rounded down to a whole hundredth of a point."""
        return (
            duration_seconds
            * self.points_per_hour
            * self.coefficient_percent
            // (SECONDS_PER_HOUR * 100)
        )

    def capped(self, amount: int, earned_today: int) -> int:
        """The amount allowed under the points cap per day, given what the rule paid that day."""
        if not self.points_cap_per_day:
            return amount
        return max(0, min(amount, self.points_cap_per_day - earned_today))


def hourly_rule_id(service_type: ServiceType) -> str:
    """The id of the P1 rule for a service type."""
    return f"p1.hourly.{service_type}"


def rated_rule_id(base_rule_id: str, rating_rule_id: str) -> str:
    """A rating scales the service's award, so its transaction names both rules."""
    return f"{base_rule_id}+{rating_rule_id}"


# The policy's figures (P1-P3); P5 amounts are not in the policy text and are placeholders.
DEFAULT_RULES: tuple[EarningRule, ...] = (
    EarningRule(
        hourly_rule_id(ServiceType.REGULAR), RuleKind.SERVICE, "regular", points_per_hour=100
    ),
    EarningRule(
        hourly_rule_id(ServiceType.PROFESSIONAL),
        RuleKind.SERVICE,
        "professional",
        points_per_hour=200,
    ),
    EarningRule(
        hourly_rule_id(ServiceType.HIGH_RISK),
        RuleKind.SERVICE,
        "high_risk",
        points_per_hour=300,
    ),
    EarningRule("p2.first_participation", RuleKind.FIRST_PARTICIPATION, amount=500),
    EarningRule("p2.streak.10w", RuleKind.STREAK, amount=1000, streak_periods=10),
    EarningRule("p3.rating.5", RuleKind.RATING, stars=5, coefficient_percent=110),
    EarningRule("p5.mentoring", RuleKind.MENTORING, amount=500),
    EarningRule("p5.project_lead", RuleKind.PROJECT_LEAD, amount=1000),
    EarningRule("p5.training", RuleKind.TRAINING, points_per_hour=100),
    EarningRule("p5.training_level", RuleKind.TRAINING_LEVEL, amount=500),
    # P1's high-risk rate already pays emergency hours; a community may add a per-response bonus.
    EarningRule("p5.emergency", RuleKind.EMERGENCY, amount=0),
    EarningRule("p8.appeal", RuleKind.APPEAL),
)

# The configuration's (the Helm chart's) key for a field the domain names more precisely.
CONFIG_KEYS = {"activity_kind": "kind", "daily_cap": "points_cap_per_day"}


def rule_from_dict(data: Mapping[str, Any]) -> EarningRule:
    """A rule from its configuration shape; unknown keys and kinds are refused."""
    known = {f.name for f in fields(EarningRule)} - set(CONFIG_KEYS.values()) | set(CONFIG_KEYS)
    unknown = set(data) - known
    if unknown:
        raise InvalidArgument(f"unknown rule keys: {', '.join(sorted(unknown))}")
    try:
        kind = RuleKind(data.get("activity_kind", ""))
    except ValueError:
        raise InvalidArgument(
            f"rule {data.get('id')}: activity_kind must be one of {', '.join(RuleKind)}"
        ) from None
    renamed = {CONFIG_KEYS.get(key, key): value for key, value in data.items()}
    return EarningRule(**{**renamed, "kind": kind})


class RuleBook:
    """The earning rules of one community, looked up by what they pay for."""

    def __init__(self, rules: Iterable[EarningRule]) -> None:
        self.rules = tuple(rules)
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise InvalidArgument("rule ids must be unique")
        for rule in self.rules:
            if "+" in rule.id:
                raise InvalidArgument(f"rule {rule.id}: '+' joins rule ids and is not allowed")
            if rule.kind is RuleKind.SERVICE:
                # Entries chained before transactions stored their kind were classified by it.
                if not rule.id.startswith("p1."):
                    raise InvalidArgument(f"rule {rule.id}: P1 service rule ids start with 'p1.'")
                paid = [t for t in ServiceType if t is not ServiceType.TRAINING]
                if rule.service_type not in paid:  # a typo must not silently pay nothing
                    raise InvalidArgument(
                        f"rule {rule.id}: service_type must be one of {', '.join(paid)} "
                        "(training hours are paid by the P5 training rule)"
                    )
        self.by_id = {r.id: r for r in self.rules}

    def hourly(self, service_type: ServiceType) -> EarningRule | None:
        """The P1 rule for a service type, if the community pays for it."""
        return next(
            (
                r
                for r in self.rules
                if r.kind is RuleKind.SERVICE and r.service_type == service_type
            ),
            None,
        )

    def of_kind(self, kind: RuleKind) -> list[EarningRule]:
        """Every rule of one kind."""
        return [r for r in self.rules if r.kind is kind]

    def one(self, kind: RuleKind) -> EarningRule | None:
        """The rule of a kind that has at most one."""
        found = self.of_kind(kind)
        return found[0] if found else None

    def rating(self, stars: int) -> EarningRule | None:
        """The P3 rule for a number of stars, if that rating scales points."""
        return next((r for r in self.of_kind(RuleKind.RATING) if r.stars == stars), None)


@dataclass(frozen=True)
class RuleCatalog:
    """Rule books per community, with a default for communities without their own."""

    default: RuleBook
    by_community: Mapping[str, RuleBook]

    def for_community(self, community_id: str) -> RuleBook:
        """The rules a community earns by."""
        return self.by_community.get(community_id, self.default)


DEFAULT_CATALOG = RuleCatalog(RuleBook(DEFAULT_RULES), {})


def catalog_from_config(
    config: list[dict[str, Any]] | dict[str, list[dict[str, Any]]],
) -> RuleCatalog:
    """Rules from configuration: a list for every community, or {community_id: list}.

    A community's list replaces the defaults whole; an empty list (the Helm chart's default)
    or mapping means the policy defaults.
    """
    if not config:
        return DEFAULT_CATALOG
    if isinstance(config, list):
        return RuleCatalog(RuleBook(rule_from_dict(d) for d in config), {})
    books = {c: RuleBook(rule_from_dict(d) for d in rules) for c, rules in config.items()}
    return RuleCatalog(books.pop("*", DEFAULT_CATALOG.default), books)


def rated_extra(base_amount: int, rule: EarningRule) -> int:
    """What a rating adds to an award: base × (coefficient − 100 %), rounded down."""
    return base_amount * (rule.coefficient_percent - 100) // 100


def award(
    *,
    community_id: str,
    resident_id: str,
    amount: int,
    rule_id: str,
    source_id: str,
    reason: str,
    at: datetime,
    rule_kind: RuleKind,
    kind: Kind = Kind.AWARD,
    session: str = "",
    coefficient_percent: int = 100,
    actor: str = "",
) -> LedgerTransaction:
    """Credit a resident's yearly and lifetime accounts from the issuance accounts."""
    postings = tuple(
        Posting(Account(community_id, holder, purpose), sign * amount)
        for purpose in (Purpose.YEARLY, Purpose.LIFETIME)
        for holder, sign in ((ISSUANCE, -1), (resident_id, 1))
    )
    transaction = LedgerTransaction(
        id=new_id("t"),
        community_id=community_id,
        source_id=source_id,
        rule_id=rule_id,
        reason=reason,
        postings=postings,
        created_at=at,
        kind=kind,
        resident_id=resident_id,
        session=session,
        coefficient_percent=coefficient_percent,
        actor=actor,
        rule_kind=rule_kind,
    )
    transaction.events.append(
        PointsAwarded(
            community_id=community_id,
            occurred_at=at,
            transaction_id=transaction.id,
            resident_id=resident_id,
            amount=amount,
            rule_id=rule_id,
            source_id=source_id,
        )
    )
    return transaction


def format_points(centipoints: int) -> str:
    """Hundredths of a point as text, e.g. 1234 -> '12.34'."""
    sign = "-" if centipoints < 0 else ""
    whole, cents = divmod(abs(centipoints), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_percent(percent: int) -> str:
    """A coefficient in percent as a factor, e.g. 110 -> '1.10'."""
    return format_points(percent)
