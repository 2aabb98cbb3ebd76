"""Period closes: P2 bonuses when weeks end, P4 expiry of unspent yearly points when years end."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from linli_kit.domain import new_id
from linli_points.domain import rules
from linli_points.domain.ledger import (
    EXPIRY,
    Account,
    Kind,
    LedgerTransaction,
    Posting,
    Purpose,
    RuleKind,
)
from linli_points.domain.periods import week_end, week_of, year_bounds

EXPIRY_RULE = "p4.year_end"


def live_awards(transactions: Iterable[LedgerTransaction]) -> list[LedgerTransaction]:
    """Earning transactions that no later transaction reversed."""
    listed = list(transactions)
    reversed_ids = {t.reverses for t in listed if t.reverses}
    return [t for t in listed if t.kind is Kind.AWARD and t.id not in reversed_ids]


def participation_weeks(transactions: Iterable[LedgerTransaction]) -> dict[str, set]:
    """Each resident's calendar weeks with a completed (and not reversed) P1 service award."""
    weeks: dict[str, set] = defaultdict(set)
    for t in live_awards(transactions):
        if t.rule_kind is RuleKind.SERVICE:
            weeks[t.resident_id].add(week_of(t.created_at))
    return weeks


def period_bonuses(
    *,
    community_id: str,
    book: rules.RuleBook,
    transactions: Iterable[LedgerTransaction],
    closed_before: datetime,
    already: set[tuple[str, str]],
) -> list[LedgerTransaction]:
    """P2 awards due for weeks ended before an instant and not yet posted ((rule, source) pairs)."""
    first = book.one(RuleKind.FIRST_PARTICIPATION)
    streaks = book.of_kind(RuleKind.STREAK)
    due: list[LedgerTransaction] = []

    def add(rule: rules.EarningRule, resident: str, source: str, at: datetime, why: str) -> None:
        if rule.amount and (rule.id, source) not in already:
            due.append(
                rules.award(
                    community_id=community_id,
                    resident_id=resident,
                    amount=rule.amount,
                    rule_id=rule.id,
                    source_id=source,
                    reason=why,
                    at=at,
                    rule_kind=rule.kind,
                )
            )

    for resident, weeks in sorted(participation_weeks(transactions).items()):
        ended = sorted(w for w in weeks if week_end(w) <= closed_before)
        if not ended:
            continue
        if first is not None:
            add(
                first,
                resident,
                resident,
                week_end(ended[0]),
                f"first participation, week of {ended[0]}",
            )
        run = 0
        for i, week in enumerate(ended):
            run = run + 1 if i and week - ended[i - 1] == timedelta(days=7) else 1
            for rule in streaks:
                if rule.streak_periods and run % rule.streak_periods == 0:
                    add(
                        rule,
                        resident,
                        f"{resident}:{week}",
                        week_end(week),
                        f"{run} consecutive weeks with service, ending the week of {week}",
                    )
    return due


def year_end_expiries(
    *,
    community_id: str,
    year: int,
    yearly: Iterable[LedgerTransaction],
    at: datetime,
) -> list[LedgerTransaction]:
    """Transactions expiring each resident's unspent points of a year; lifetime is untouched.

    Spending draws on the oldest points first, so what expires is the balance at the year's end
    less whatever was debited since; earlier closes of the same year are subtracted, which makes
    the close safe to re-run and to run late.
    """
    _, boundary = year_bounds(year)
    before: dict[str, int] = defaultdict(int)
    debited_after: dict[str, int] = defaultdict(int)
    expired: dict[str, int] = defaultdict(int)
    closes: dict[str, int] = defaultdict(int)
    for t in yearly:
        for p in t.postings:
            account = p.account
            if account.is_system or account.purpose is not Purpose.YEARLY:
                continue
            holder = account.holder
            if t.rule_id == EXPIRY_RULE and t.source_id.startswith(f"{year}:"):
                expired[holder] -= p.amount
                closes[holder] += 1
            elif t.created_at < boundary:
                before[holder] += p.amount
            elif p.amount < 0 and t.kind is not Kind.EXPIRY:
                debited_after[holder] -= p.amount
    due = []
    for holder in sorted(before):
        amount = before[holder] - debited_after[holder] - expired[holder]
        if amount <= 0:
            continue
        due.append(
            LedgerTransaction(
                id=new_id("t"),
                community_id=community_id,
                source_id=f"{year}:{holder}:{closes[holder]}",
                rule_id=EXPIRY_RULE,
                reason=f"unspent {year} points expire at the end of the year (Asia/Shanghai)",
                postings=(
                    Posting(Account(community_id, holder, Purpose.YEARLY), -amount),
                    Posting(Account(community_id, EXPIRY, Purpose.YEARLY), amount),
                ),
                created_at=at,
                kind=Kind.EXPIRY,
                resident_id=holder,
            )
        )
    return due
