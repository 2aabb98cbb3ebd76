"""Points use cases: plain functions taking a command and a unit of work."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, InvalidArgument, NotFound
from linli_kit.names import encode_page_token
from linli_points.domain import audit, closing, rules, standings
from linli_points.domain.appeals import Appeal, AppealStatus, file_appeal
from linli_points.domain.ledger import Account, LedgerTransaction, Purpose, reversal_of
from linli_points.domain.periods import day_bounds, policy_year, quarter_bounds, year_bounds
from linli_points.domain.reservations import (
    Reservation,
    ReservationState,
    Sink,
    open_reservation,
)
from linli_points.domain.rules import DEFAULT_CATALOG, ActivityKind, RuleCatalog, format_points
from linli_points.service_layer.ports import LeaderboardStore, PointsUnitOfWork

SESSION_CONSUMER = "points.session-completed"
CORRECTION_CONSUMER = "points.session-corrected"
RATING_CONSUMER = "points.session-rated"
ACTIVITY_CONSUMER = "points.activity-award"


@dataclass(frozen=True)
class AwardForSession:
    """Award the hourly points for a completed session (from a SessionCompleted event)."""

    event_id: str
    community_id: str
    resident_id: str
    session: str
    service_type: rules.ServiceType
    duration_seconds: int
    occurred_at: datetime
    activity: str = ""


@dataclass(frozen=True)
class CorrectSession:
    """Reverse a session's awards and award its corrected duration (from SessionCorrected)."""

    event_id: str
    community_id: str
    resident_id: str
    session: str
    activity: str
    service_type: rules.ServiceType
    duration_seconds: int
    corrected_by: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class RateSession:
    """Apply the P3 coefficient of a rating to the session's award (from SessionRated)."""

    event_id: str
    community_id: str
    resident_id: str
    session: str
    stars: int
    occurred_at: datetime


@dataclass(frozen=True)
class AwardForActivity:
    """A fixed or hourly P5 award: mentoring, project leadership, training, emergency."""

    event_id: str
    community_id: str
    resident_id: str
    kind: ActivityKind
    subject: str
    occurred_at: datetime
    duration_seconds: int = 0


@dataclass(frozen=True)
class Balance:
    """A resident's balances in hundredths of a point, and their honour tier."""

    yearly: int
    lifetime: int
    reserved: int = 0
    tier: str = ""


@dataclass(frozen=True)
class TransactionList:
    """A page of a resident's transactions and the token for the next one."""

    transactions: list[LedgerTransaction]
    next_page_token: str


@dataclass(frozen=True)
class Reserve:
    """Hold points of a resident for a redemption or a time-bank transfer."""

    request_id: str
    community_id: str
    resident_id: str
    amount: int
    sink: Sink
    memo: str
    ttl_seconds: int


@dataclass(frozen=True)
class SettleReservation:
    """Commit or void a pending reservation."""

    request_id: str
    community_id: str
    reservation_id: str
    commit: bool
    reason: str = ""


@dataclass(frozen=True)
class CloseYear:
    """Expire the unspent yearly points of a policy year (P4)."""

    community_id: str
    year: int


@dataclass(frozen=True)
class FileAppeal:
    """A resident disputes a transaction (P8)."""

    request_id: str
    community_id: str
    resident_id: str
    transaction_id: str
    reason: str


@dataclass(frozen=True)
class DecideAppeal:
    """A committee member accepts (with a compensation) or rejects an appeal (P8)."""

    request_id: str
    community_id: str
    appeal_id: str
    reviewer: str
    accept: bool
    reason: str
    amount: int = 0


@dataclass(frozen=True)
class SetCommitteeMember:
    """Add a resident to the supervision committee, or remove them."""

    request_id: str
    community_id: str
    resident_id: str
    member: bool


def _award_hours(
    uow: PointsUnitOfWork,
    book: rules.RuleBook,
    cmd: AwardForSession | CorrectSession,
    why: str,
) -> LedgerTransaction | None:
    rule = book.hourly(cmd.service_type)
    if rule is None:
        return None
    amount = rule.hourly_amount(cmd.duration_seconds)
    if rule.daily_cap:
        start, end = day_bounds(cmd.occurred_at)
        today = sum(
            t.earned
            for t in closing.live_awards(
                uow.ledger.find(
                    cmd.community_id, resident_id=cmd.resident_id, since=start, until=end
                )
            )
            if t.rule_id == rule.id
        )
        amount = rule.capped(amount, today)
    if amount <= 0:
        return None
    minutes = cmd.duration_seconds // 60
    transaction = rules.award(
        community_id=cmd.community_id,
        resident_id=cmd.resident_id,
        amount=amount,
        rule_id=rule.id,
        source_id=cmd.event_id,
        reason=(
            f"{why}{minutes // 60}h{minutes % 60:02d}m of {cmd.service_type} service in "
            f"{cmd.session} at {format_points(rule.points_per_hour)}/h"
            + (
                f" × {rules.format_percent(rule.coefficient_percent)}"
                if rule.coefficient_percent != 100
                else ""
            )
        ),
        at=cmd.occurred_at,
        session=cmd.session,
        coefficient_percent=rule.coefficient_percent,
    )
    uow.ledger.post(transaction)
    return transaction


def award_for_session(
    cmd: AwardForSession, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> LedgerTransaction | None:
    """Credit hours × rate once per event; a redelivered event changes nothing."""
    book = catalog.for_community(cmd.community_id)
    with uow:
        if not uow.inbox.first_delivery(SESSION_CONSUMER, cmd.event_id):
            return None
        transaction = _award_hours(uow, book, cmd, "")
        emergency = book.one(ActivityKind.EMERGENCY)
        if (
            transaction is not None
            and emergency is not None
            and emergency.amount
            and cmd.activity
            and uow.directory.is_emergency(cmd.community_id, cmd.activity)
        ):
            uow.ledger.post(
                rules.award(
                    community_id=cmd.community_id,
                    resident_id=cmd.resident_id,
                    amount=emergency.amount,
                    rule_id=emergency.id,
                    source_id=cmd.event_id,
                    reason=f"responded to emergency {cmd.activity} ({cmd.session})",
                    at=cmd.occurred_at,
                    session=cmd.session,
                )
            )
        uow.commit()
        return transaction


def _live_session_awards(
    uow: PointsUnitOfWork, community_id: str, session: str
) -> list[LedgerTransaction]:
    return closing.live_awards(uow.ledger.find(community_id, session=session))


def correct_session(
    cmd: CorrectSession,
    uow: PointsUnitOfWork,
    catalog: RuleCatalog = DEFAULT_CATALOG,
) -> list[LedgerTransaction]:
    """Reverse the session's hourly and rating awards, then award the corrected duration."""
    book = catalog.for_community(cmd.community_id)
    with uow:
        if not uow.inbox.first_delivery(CORRECTION_CONSUMER, cmd.event_id):
            return []
        live = _live_session_awards(uow, cmd.community_id, cmd.session)
        hourly = [t for t in live if rules.is_hourly(t.rule_id)]
        rated = [t for t in live if rules.is_rating(t.rule_id)]
        posted: list[LedgerTransaction] = []
        # The new award goes first so that a correction never dips the balance below zero.
        new = _award_hours(uow, book, cmd, f"corrected by {cmd.corrected_by} ({cmd.reason}): ")
        if new is not None:
            posted.append(new)
        for old in [*hourly, *rated]:
            reversal = reversal_of(
                old,
                reason=f"session {cmd.session} corrected by {cmd.corrected_by}: {cmd.reason}",
                at=cmd.occurred_at,
                actor=cmd.corrected_by,
            )
            uow.ledger.post(reversal)
            posted.append(reversal)
        for old in rated:
            rule = book.by_id.get(old.rule_id.partition("+")[2])
            if rule is None or new is None:
                continue
            if (extra := rules.rated_extra(new.earned, rule)) > 0:
                posted.append(_post_rating(uow, rule, new, extra, cmd.event_id, cmd.occurred_at))
        uow.commit()
        return posted


def _post_rating(
    uow: PointsUnitOfWork,
    rule: rules.EarningRule,
    base: LedgerTransaction,
    extra: int,
    source_id: str,
    at: datetime,
) -> LedgerTransaction:
    transaction = rules.award(
        community_id=base.community_id,
        resident_id=base.resident_id,
        amount=extra,
        rule_id=rules.rated_rule_id(base.rule_id, rule.id),
        source_id=source_id,
        reason=(
            f"{rule.stars}-star rating of {base.session}: coefficient "
            f"{rules.format_percent(rule.coefficient_percent)} on award {base.id} "
            f"({format_points(base.earned)})"
        ),
        at=at,
        session=base.session,
        coefficient_percent=rule.coefficient_percent,
    )
    uow.ledger.post(transaction)
    return transaction


def rate_session(
    cmd: RateSession, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> LedgerTransaction | None:
    """Scale a session's award by its rating, once per session, as a separate transaction."""
    book = catalog.for_community(cmd.community_id)
    with uow:
        if not uow.inbox.first_delivery(RATING_CONSUMER, cmd.event_id):
            return None
        rule = book.rating(cmd.stars)
        live = _live_session_awards(uow, cmd.community_id, cmd.session)
        base = next((t for t in live if rules.is_hourly(t.rule_id)), None)
        already = any(rules.is_rating(t.rule_id) for t in live)
        transaction = None
        if (
            rule is not None
            and base is not None
            and base.resident_id == cmd.resident_id
            and not already
        ):
            extra = rules.rated_extra(base.earned, rule)
            if extra > 0:
                transaction = _post_rating(uow, rule, base, extra, cmd.event_id, cmd.occurred_at)
        uow.commit()
        return transaction


def award_for_activity(
    cmd: AwardForActivity, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> LedgerTransaction | None:
    """Credit a P5 rule (fixed amount, or per hour for training) once per event."""
    rule = catalog.for_community(cmd.community_id).one(cmd.kind)
    with uow:
        if not uow.inbox.first_delivery(ACTIVITY_CONSUMER, cmd.event_id):
            return None
        amount = 0
        if rule is not None:
            amount = rule.amount or rule.hourly_amount(cmd.duration_seconds)
        transaction = None
        if rule is not None and amount > 0:
            transaction = rules.award(
                community_id=cmd.community_id,
                resident_id=cmd.resident_id,
                amount=amount,
                rule_id=rule.id,
                source_id=cmd.event_id,
                reason=f"{cmd.kind.replace('_', ' ')}: {cmd.subject}",
                at=cmd.occurred_at,
            )
            uow.ledger.post(transaction)
        uow.commit()
        return transaction


def record_org_unit(
    community_id: str, resident_id: str, org_unit: str, uow: PointsUnitOfWork
) -> None:
    """Remember a resident's grid and building for the leaderboards (an idempotent upsert)."""
    with uow:
        uow.directory.set_org_unit(community_id, resident_id, org_unit)
        uow.commit()


def org_unit_of(community_id: str, resident_id: str, uow: PointsUnitOfWork) -> str:
    """A resident's org unit ('' if identity never told us)."""
    with uow:
        return uow.directory.org_unit(community_id, resident_id)


def record_emergency(community_id: str, activity: str, at: datetime, uow: PointsUnitOfWork) -> None:
    """Remember that an activity answers an emergency, so its sessions earn the P5 bonus."""
    with uow:
        uow.directory.mark_emergency(community_id, activity, at)
        uow.commit()


def get_balance(community_id: str, resident_id: str, uow: PointsUnitOfWork) -> Balance:
    """A resident's yearly, lifetime and reserved balances and honour tier."""
    with uow:
        lifetime = uow.ledger.balance(Account(community_id, resident_id, Purpose.LIFETIME))
        return Balance(
            yearly=uow.ledger.balance(Account(community_id, resident_id, Purpose.YEARLY)),
            lifetime=lifetime,
            reserved=uow.ledger.balance(Account(community_id, resident_id, Purpose.RESERVED)),
            tier=standings.tier_for(lifetime),
        )


def list_transactions(
    community_id: str, resident_id: str, offset: int, limit: int, uow: PointsUnitOfWork
) -> TransactionList:
    """A page of the transactions behind a resident's balances, newest first."""
    with uow:
        page = uow.ledger.transactions_of(community_id, resident_id, offset, limit)
        token = encode_page_token(offset + limit) if page.has_more else ""
        return TransactionList(page.transactions, token)


def _reservation(uow: PointsUnitOfWork, community_id: str, reservation_id: str) -> Reservation:
    found = uow.reservations.get(community_id, reservation_id)
    if found is None:
        raise NotFound(f"no reservation {reservation_id} in {community_id}")
    return found


def get_reservation(community_id: str, reservation_id: str, uow: PointsUnitOfWork) -> Reservation:
    """One reservation and its state."""
    with uow:
        return _reservation(uow, community_id, reservation_id)


def reserve(cmd: Reserve, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Reservation:
    """Hold points; refused (InsufficientPoints) when the spendable balance is short."""
    if not 1 <= cmd.ttl_seconds <= 30 * 86400:
        raise InvalidArgument("ttl_seconds must be between 1 second and 30 days")
    with uow:
        earlier = uow.requests.replay(cmd)
        if earlier is not None:
            return _reservation(uow, cmd.community_id, earlier)
        now = clock()
        reservation = open_reservation(
            community_id=cmd.community_id,
            resident_id=cmd.resident_id,
            amount=cmd.amount,
            sink=cmd.sink,
            memo=cmd.memo,
            at=now,
            expires_at=now + timedelta(seconds=cmd.ttl_seconds),
        )
        uow.ledger.post(reservation.hold())
        uow.reservations.add(reservation)
        uow.requests.remember(cmd, reservation.id)
        uow.commit()
        return reservation


def settle_reservation(
    cmd: SettleReservation, uow: PointsUnitOfWork, clock: Clock = utc_now
) -> Reservation:
    """Commit (spend) or void (release) a pending reservation, exactly once."""
    with uow:
        if uow.requests.replay(cmd) is not None:
            return _reservation(uow, cmd.community_id, cmd.reservation_id)
        reservation = _reservation(uow, cmd.community_id, cmd.reservation_id)
        now = clock()
        transaction = (
            reservation.commit(now) if cmd.commit else reservation.void(now, cmd.reason or "voided")
        )
        uow.ledger.post(transaction)
        uow.reservations.save(reservation)
        uow.requests.remember(cmd, reservation.id)
        uow.commit()
        return reservation


def void_expired(
    uow_factory: Callable[[], PointsUnitOfWork], clock: Clock = utc_now, limit: int = 100
) -> int:
    """Void the pending reservations whose time ran out; returns how many were voided."""
    now = clock()
    with uow_factory() as uow:
        due = uow.reservations.expired(now, limit)
    voided = 0
    for community_id, reservation_id in due:
        with uow_factory() as uow:
            reservation = _reservation(uow, community_id, reservation_id)
            if reservation.state is not ReservationState.PENDING:
                continue
            uow.ledger.post(reservation.void(now, "timed out"))
            uow.reservations.save(reservation)
            uow.commit()
            voided += 1
    return voided


def close_periods(
    community_id: str,
    uow: PointsUnitOfWork,
    catalog: RuleCatalog = DEFAULT_CATALOG,
    clock: Clock = utc_now,
) -> list[LedgerTransaction]:
    """Post the P2 bonuses of every week that has ended; re-running posts nothing new."""
    book = catalog.for_community(community_id)
    bonus_ids = [
        r.id
        for r in (
            *book.of_kind(ActivityKind.FIRST_PARTICIPATION),
            *book.of_kind(ActivityKind.STREAK),
        )
    ]
    with uow:
        due = closing.period_bonuses(
            community_id=community_id,
            book=book,
            transactions=uow.ledger.find(community_id),
            closed_before=clock(),
            already=uow.ledger.sources(community_id, bonus_ids),
        )
        for transaction in due:
            uow.ledger.post(transaction)
        uow.commit()
        return due


def close_year(
    cmd: CloseYear, uow: PointsUnitOfWork, clock: Clock = utc_now
) -> list[LedgerTransaction]:
    """Expire unspent yearly points of an ended year by posting; safe to re-run and to run late."""
    now = clock()
    if now < year_bounds(cmd.year)[1]:
        raise InvalidArgument(f"{cmd.year} has not ended yet in Asia/Shanghai")
    with uow:
        due = closing.year_end_expiries(
            community_id=cmd.community_id,
            year=cmd.year,
            yearly=uow.ledger.find(cmd.community_id),
            at=now,
        )
        for transaction in due:
            uow.ledger.post(transaction)
        uow.commit()
        return due


def file_an_appeal(cmd: FileAppeal, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Appeal:
    """File a resident's appeal against one of their transactions."""
    with uow:
        earlier = uow.requests.replay(cmd)
        if earlier is not None:
            return _appeal(uow, cmd.community_id, earlier)
        disputed = uow.ledger.get(cmd.community_id, cmd.transaction_id)
        if disputed is None:
            raise NotFound(f"no transaction {cmd.transaction_id} in {cmd.community_id}")
        open_ones = [
            a
            for a in uow.appeals.list(cmd.community_id, transaction_id=cmd.transaction_id)
            if a.status is AppealStatus.FILED and a.resident_id == cmd.resident_id
        ]
        if open_ones:
            raise AlreadyExists(f"appeal {open_ones[0].id} against this transaction is open")
        appeal = file_appeal(
            resident_id=cmd.resident_id, disputed=disputed, reason=cmd.reason, at=clock()
        )
        uow.appeals.add(appeal)
        uow.requests.remember(cmd, appeal.id)
        uow.commit()
        return appeal


def _appeal(uow: PointsUnitOfWork, community_id: str, appeal_id: str) -> Appeal:
    found = uow.appeals.get(community_id, appeal_id)
    if found is None:
        raise NotFound(f"no appeal {appeal_id} in {community_id}")
    return found


def decide_appeal(
    cmd: DecideAppeal,
    uow: PointsUnitOfWork,
    catalog: RuleCatalog = DEFAULT_CATALOG,
    clock: Clock = utc_now,
) -> Appeal:
    """Accept (compensating transaction) or reject (reason kept) an appeal; committee only."""
    with uow:
        if uow.requests.replay(cmd) is not None:
            return _appeal(uow, cmd.community_id, cmd.appeal_id)
        appeal = _appeal(uow, cmd.community_id, cmd.appeal_id)
        disputed = uow.ledger.get(cmd.community_id, appeal.transaction_id)
        assert disputed is not None  # appeals only reference posted transactions
        committee = uow.directory.committee(cmd.community_id)
        if cmd.accept:
            rule = catalog.for_community(cmd.community_id).one(ActivityKind.APPEAL)
            if rule is None:
                raise InvalidArgument("this community has no appeal compensation rule")
            uow.ledger.post(
                appeal.accept(
                    reviewer=cmd.reviewer,
                    reason=cmd.reason,
                    amount=cmd.amount,
                    at=clock(),
                    committee=committee,
                    disputed=disputed,
                    rule=rule,
                )
            )
        else:
            appeal.reject(
                reviewer=cmd.reviewer,
                reason=cmd.reason,
                at=clock(),
                committee=committee,
                disputed=disputed,
            )
        uow.appeals.save(appeal)
        uow.requests.remember(cmd, appeal.id)
        uow.commit()
        return appeal


def get_appeal(community_id: str, appeal_id: str, uow: PointsUnitOfWork) -> Appeal:
    """One appeal and its status."""
    with uow:
        return _appeal(uow, community_id, appeal_id)


def list_appeals(community_id: str, resident_id: str | None, uow: PointsUnitOfWork) -> list[Appeal]:
    """A community's appeals, or one resident's."""
    with uow:
        return uow.appeals.list(community_id, resident_id=resident_id)


def set_committee_member(
    cmd: SetCommitteeMember, uow: PointsUnitOfWork, clock: Clock = utc_now
) -> set[str]:
    """Add or remove a supervision committee member; returns the committee."""
    with uow:
        uow.directory.set_committee_member(cmd.community_id, cmd.resident_id, cmd.member, clock())
        uow.commit()
        return uow.directory.committee(cmd.community_id)


def verify_ledger(community_id: str, uow: PointsUnitOfWork) -> audit.Verification:
    """Recompute the community's hash chain and balances from postings."""
    with uow:
        return audit.verify(
            community_id, uow.ledger.chain(community_id), uow.ledger.stored_balances(community_id)
        )


def audit_report(
    community_id: str, year: int, quarter: int, uow: PointsUnitOfWork
) -> dict[str, Any]:
    """The quarterly audit report (P9) as a JSON-ready dict."""
    if not 1 <= quarter <= 4:
        raise InvalidArgument("quarter must be 1 to 4")
    start, end = quarter_bounds(year, quarter)
    verification = verify_ledger(community_id, uow)
    with uow:
        return audit.quarterly_report(
            community_id=community_id,
            year=year,
            quarter=quarter,
            transactions=uow.ledger.find(community_id, since=start, until=end),
            appeals=uow.appeals.list(community_id, since=start, until=end),
            verification=verification,
        )


def leaderboards(community_id: str, year: int, uow: PointsUnitOfWork) -> dict[str, dict[str, int]]:
    """A community's boards for a year from the ledger (scope → resident → score)."""
    start, end = year_bounds(year)
    with uow:
        earned = standings.yearly_earnings(
            uow.ledger.find(community_id, since=start, until=end), year
        )
        units = uow.directory.org_units(community_id)
    boards: dict[str, dict[str, int]] = defaultdict(dict)
    boards[standings.COMMUNITY_SCOPE] = {}
    for resident, score in earned.items():
        for scope in standings.scopes_for(units.get(resident, "")):
            boards[scope][resident] = score
    return dict(boards)


def rebuild_leaderboards(
    community_id: str, year: int, uow: PointsUnitOfWork, store: LeaderboardStore
) -> int:
    """Recompute a year's boards from the ledger and swap them in; returns residents ranked."""
    boards = leaderboards(community_id, year, uow)
    store.replace(community_id, year, boards)
    return len(boards[standings.COMMUNITY_SCOPE])


def current_year(clock: Clock = utc_now) -> int:
    """The policy year now."""
    return policy_year(clock())
