"""Period closes: P2 bonuses when weeks end, P4 expiry of unspent yearly points when years end."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from linli_kit.domain import new_id
from linli_points.domain import rules
from linli_points.domain.ledger import (
    EARNING_KINDS,
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
RETURNS = frozenset({Kind.VOID, Kind.REFUND})  # give a hold's points back


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


@dataclass
class _YearShare:
    """One resident's points of a closing year still in their yearly account, and the rest."""

    year: int = 0  # the closing year's points
    newer: int = 0  # points earned since its end
    held: dict[str, int] = field(default_factory=dict)  # the year's points in each hold

    def draw(self, amount: int, newer_first: bool) -> int:
        """Take a debit, from the year's share first unless told; returns what the year gave."""
        spared = min(max(self.newer, 0), amount) if newer_first else 0
        taken = min(max(self.year, 0), amount - spared)
        self.year -= taken
        self.newer -= amount - taken
        return taken

    def give_back(self, source_id: str, amount: int) -> None:
        """A void or refund of a hold: its share of the year's points returns to the year."""
        returned = min(self.held.pop(source_id, 0), amount)
        self.year += returned
        self.newer += amount - returned


def year_end_expiries(
    *,
    community_id: str,
    year: int,
    yearly: Iterable[LedgerTransaction],
    at: datetime,
) -> list[LedgerTransaction]:
    """Transactions expiring each resident's unspent points of a year; lifetime is untouched.

    What expires is the year's share of each yearly account: the balance at the year's end, then
    every later movement in order (`yearly` oldest first). A debit since (a close that runs late)
    draws on the oldest points first, a reversal of a newer award on that award's points; a void
    or refund gives a hold's share of the year back to the year; every expiry since (this year's
    earlier closes, a later year's) takes the year's share first. So the close is safe to re-run
    and to run late, a re-run expires points given back after an earlier close, and no point of
    the year expires twice.
    """
    _, boundary = year_bounds(year)
    shares: dict[str, _YearShare] = defaultdict(_YearShare)
    closes: dict[str, int] = defaultdict(int)
    newer_awards: set[str] = set()
    later = []
    for t in yearly:
        if t.created_at < boundary:
            for p in _resident_yearly(t):
                shares[p.account.holder].year += p.amount
        else:
            later.append(t)
            if t.kind in EARNING_KINDS:
                newer_awards.add(t.id)
    for t in later:
        for p in _resident_yearly(t):
            share = shares[p.account.holder]
            if t.rule_id == EXPIRY_RULE and t.source_id.startswith(f"{year}:"):
                closes[p.account.holder] += 1
            if p.amount > 0 and t.kind in RETURNS:
                share.give_back(t.source_id, p.amount)
            elif p.amount > 0:
                share.newer += p.amount
            else:
                newer_first = t.kind is Kind.REVERSAL and t.reverses in newer_awards
                taken = share.draw(-p.amount, newer_first)
                if t.kind is Kind.RESERVE:
                    share.held[t.source_id] = share.held.get(t.source_id, 0) + taken
    due = []
    for holder, share in sorted(shares.items()):
        amount = min(share.year, share.year + share.newer)
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


def _resident_yearly(t: LedgerTransaction) -> list[Posting]:
    return [
        p for p in t.postings if not p.account.is_system and p.account.purpose is Purpose.YEARLY
    ]
