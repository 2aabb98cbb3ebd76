"""What a community's rule book awards for a session, a correction, a rating or a P5 event.

- **A session belongs to its sign-in** (P2, points caps): its awards are dated at the sign-in,
  so a session that starts on Sunday 23:30 and ends on Monday 00:30 (Asia/Shanghai) counts for
  Sunday and for the week that Sunday ends.
- **Part hours** count pro rata, rounded down to a hundredth (`EarningRule.hourly_amount`).
- **A rule's points cap per day** limits what that rule pays a resident for the sessions signed
  in on one local day; the awards a correction replaces do not count against it.
- **Emergencies** (P5): a session of an activity that answers an emergency earns the emergency
  rule's amount on top of a P1 award that is not nothing.
- **Corrections** post the corrected award first (so a correction never dips the balance below
  zero), then reverse every live award of the session, then re-apply its rating to the new
  amount.
- **Training hours** (T3, P5): a session of a training activity (service type TRAINING) earns
  no P1 award, so no emergency bonus and no rating either. The training service credits the
  hour to the course and publishes it; points pays it once, with the P5 training rule.
- **Training corrections** (T3, P5): training's TrainingAttendanceCorrected of a course
  session pays the corrected duration with the P5 training rule (dated as the session's first
  training award, like a P1 correction's at the sign-in), then reverses the session's live
  training awards; one older than the latest applied changes nothing (`service_layer`).
- **Ratings** (P3) scale the session's P1 award once, for the resident who served it, as a
  separate transaction named `<p1 rule>+<p3 rule>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from linli_points.domain.closing import live_awards
from linli_points.domain.ledger import Kind, LedgerTransaction, RuleKind, reversal_of
from linli_points.domain.periods import day_bounds
from linli_points.domain.rules import (
    EarningRule,
    RuleBook,
    ServiceType,
    award,
    format_percent,
    format_points,
    rated_extra,
    rated_rule_id,
)


@dataclass(frozen=True)
class ServedSession:
    """A completed session of service as points sees it; `source_id` is the event's id."""

    community_id: str
    resident_id: str
    session: str
    service_type: ServiceType
    duration_seconds: int
    signed_in_at: datetime
    source_id: str
    activity: str = ""

    @property
    def day(self) -> tuple[datetime, datetime]:
        """The local day the session counts for (its sign-in's), as [start, end) instants."""
        return day_bounds(self.signed_in_at)


# The resident's transactions of the session's day, read only when a points cap needs them.
SameDay = Callable[[], Iterable[LedgerTransaction]]


def _paid_that_day(rule: EarningRule, served: ServedSession, same_day: SameDay) -> int:
    start, end = served.day
    return sum(
        t.earned
        for t in live_awards(same_day())
        if t.rule_id == rule.id and t.session != served.session and start <= t.created_at < end
    )


def _hourly(
    book: RuleBook, served: ServedSession, same_day: SameDay, why: str
) -> LedgerTransaction | None:
    rule = book.hourly(served.service_type)
    if rule is None:
        return None
    amount = rule.hourly_amount(served.duration_seconds)
    if rule.points_cap_per_day:
        amount = rule.capped(amount, _paid_that_day(rule, served, same_day))
    if amount <= 0:
        return None
    minutes = served.duration_seconds // 60
    coefficient = (
        f" × {format_percent(rule.coefficient_percent)}" if rule.coefficient_percent != 100 else ""
    )
    return award(
        community_id=served.community_id,
        resident_id=served.resident_id,
        amount=amount,
        rule_id=rule.id,
        source_id=served.source_id,
        reason=(
            f"{why}{minutes // 60}h{minutes % 60:02d}m of {served.service_type} service in "
            f"{served.session} at {format_points(rule.points_per_hour)}/h{coefficient}"
        ),
        at=served.signed_in_at,
        rule_kind=rule.kind,
        session=served.session,
        coefficient_percent=rule.coefficient_percent,
    )


def session_awards(
    book: RuleBook,
    served: ServedSession,
    *,
    same_day: SameDay,
    emergency: bool,
) -> list[LedgerTransaction]:
    """The P1 award of a completed session, and the P5 emergency bonus if it answered one."""
    if served.service_type is ServiceType.TRAINING:
        return []
    hourly = _hourly(book, served, same_day, "")
    if hourly is None:
        return []
    bonus = book.one(RuleKind.EMERGENCY)
    if not (emergency and served.activity and bonus is not None and bonus.amount):
        return [hourly]
    return [
        hourly,
        award(
            community_id=served.community_id,
            resident_id=served.resident_id,
            amount=bonus.amount,
            rule_id=bonus.id,
            source_id=served.source_id,
            reason=f"responded to emergency {served.activity} ({served.session})",
            at=served.signed_in_at,
            rule_kind=bonus.kind,
            session=served.session,
        ),
    ]


def sign_in_of(session_live: Iterable[LedgerTransaction], otherwise: datetime) -> datetime:
    """When a session signed in, as dated on its P1 award (`otherwise` if it has none)."""
    return next((t.created_at for t in session_live if t.rule_kind is RuleKind.SERVICE), otherwise)


def _rating(
    rule: EarningRule, base: LedgerTransaction, extra: int, source_id: str, at: datetime
) -> LedgerTransaction:
    return award(
        community_id=base.community_id,
        resident_id=base.resident_id,
        amount=extra,
        rule_id=rated_rule_id(base.rule_id, rule.id),
        source_id=source_id,
        reason=(
            f"{rule.stars}-star rating of {base.session}: coefficient "
            f"{format_percent(rule.coefficient_percent)} on award {base.id} "
            f"({format_points(base.earned)})"
        ),
        at=at,
        rule_kind=rule.kind,
        session=base.session,
        coefficient_percent=rule.coefficient_percent,
    )


def correction(
    book: RuleBook,
    served: ServedSession,
    *,
    session_live: list[LedgerTransaction],
    same_day: SameDay,
    corrected_by: str,
    reason: str,
    at: datetime,
) -> list[LedgerTransaction]:
    """The corrected award, the reversals of the session's live awards, the re-applied rating."""
    hourly = [t for t in session_live if t.rule_kind is RuleKind.SERVICE]
    rated = [t for t in session_live if t.rule_kind is RuleKind.RATING]
    new = _hourly(book, served, same_day, f"corrected by {corrected_by} ({reason}): ")
    posted = [] if new is None else [new]
    posted += [
        reversal_of(
            old,
            reason=f"session {served.session} corrected by {corrected_by}: {reason}",
            at=at,
            actor=corrected_by,
        )
        for old in [*hourly, *rated]
    ]
    for old in rated:
        # A rating's rule id names the award it scales and then its own rule: "<p1>+<p3>".
        rule = book.by_id.get(old.rule_id.partition("+")[2])
        if rule is None or new is None:
            continue
        if (extra := rated_extra(new.earned, rule)) > 0:
            posted.append(_rating(rule, new, extra, served.source_id, at))
    return posted


def rating_award(
    book: RuleBook,
    *,
    stars: int,
    resident_id: str,
    session_live: list[LedgerTransaction],
    source_id: str,
    at: datetime,
) -> LedgerTransaction | None:
    """The P3 award for a rating of a session, if its stars scale points and none did yet."""
    rule = book.rating(stars)
    base = next((t for t in session_live if t.rule_kind is RuleKind.SERVICE), None)
    if rule is None or base is None or base.resident_id != resident_id:
        return None
    if any(t.rule_kind is RuleKind.RATING for t in session_live):
        return None
    extra = rated_extra(base.earned, rule)
    return _rating(rule, base, extra, source_id, at) if extra > 0 else None


def activity_award(
    book: RuleBook,
    kind: RuleKind,
    *,
    community_id: str,
    resident_id: str,
    subject: str,
    source_id: str,
    at: datetime,
    duration_seconds: int = 0,
    session: str = "",
) -> LedgerTransaction | None:
    """A P5 award: the rule's fixed amount, or per hour (training); None if it pays nothing."""
    rule = book.one(kind)
    if rule is None:
        return None
    amount = rule.amount or rule.hourly_amount(duration_seconds)
    if amount <= 0:
        return None
    return award(
        community_id=community_id,
        resident_id=resident_id,
        amount=amount,
        rule_id=rule.id,
        source_id=source_id,
        reason=f"{kind.replace('_', ' ')}: {subject}",
        at=at,
        rule_kind=rule.kind,
        session=session,
    )


def _duration(seconds: int) -> str:
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def training_correction(
    book: RuleBook,
    *,
    session_transactions: list[LedgerTransaction],
    community_id: str,
    resident_id: str,
    course: str,
    session: str,
    previous_seconds: int,
    seconds: int,
    source_id: str,
    at: datetime,
) -> list[LedgerTransaction]:
    """The corrected P5 training award of a course session, then the reversals of its live ones."""
    training = [
        t
        for t in session_transactions
        if t.rule_kind is RuleKind.TRAINING and t.resident_id == resident_id
    ]
    first = min((t.created_at for t in training if t.kind is Kind.AWARD), default=at)
    why = f"attendance corrected from {_duration(previous_seconds)} to {_duration(seconds)}"
    new = activity_award(
        book,
        RuleKind.TRAINING,
        community_id=community_id,
        resident_id=resident_id,
        subject=f"attended {course} in {session} ({why})",
        source_id=source_id,
        at=first,
        duration_seconds=seconds,
        session=session,
    )
    posted = [] if new is None else [new]
    reason = f"training: {session} {why}"
    posted += [reversal_of(old, reason=reason, at=at) for old in live_awards(training)]
    return posted
