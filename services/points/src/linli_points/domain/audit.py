"""Tamper evidence and the quarterly audit (P9): a hash chain per community, recomputed balances."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from linli_points.domain.appeals import Appeal
from linli_points.domain.ledger import EARNING_KINDS, Account, LedgerTransaction
from linli_points.domain.periods import month_key

GENESIS = "0" * 64
# Version 1 entries (chained before transactions stored their rule kind) hash without it;
# every entry posted since hashes it too. A version changed in place no longer matches its hash.
LEGACY_CHAIN_VERSION = 1
CHAIN_VERSION = 2


def entry_hash(previous: str, seq: int, t: LedgerTransaction, version: int = CHAIN_VERSION) -> str:
    """The chain hash of a transaction: its content, its position and the hash before it."""
    legs = sorted([f"{p.account.key}={p.amount}" for p in t.postings])
    fields = [
        previous,
        str(seq),
        t.id,
        t.community_id,
        t.kind.value,
        t.rule_id,
        t.source_id,
        t.resident_id,
        t.session,
        t.reverses,
        str(t.coefficient_percent),
        t.actor,
        t.reason,
        t.created_at.astimezone(UTC).isoformat(),
        ";".join(legs),
    ]
    if version != LEGACY_CHAIN_VERSION:
        fields += [f"v{version}", t.rule_kind or ""]
    return hashlib.sha256("|".join(fields).encode()).hexdigest()


@dataclass(frozen=True)
class ChainEntry:
    """A transaction at its position in its community's chain, with the hash stored for it."""

    seq: int
    hash: str
    transaction: LedgerTransaction
    version: int = CHAIN_VERSION
    # Postings whose stored copy of the transaction's time (what a history is ordered by) differs.
    misdated: int = 0


@dataclass
class Verification:
    """The outcome of recomputing a community's chain and balances."""

    community_id: str
    transactions: int = 0
    accounts: int = 0
    breaks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was altered, removed or unbalanced."""
        return not self.breaks


def verify(
    community_id: str, entries: Iterable[ChainEntry], stored_balances: dict[Account, int]
) -> Verification:
    """Recompute every hash in order, every transaction's sum and every balance from postings."""
    result = Verification(community_id)
    previous, expected_seq = GENESIS, 1
    derived: dict[Account, int] = defaultdict(int)
    for entry in entries:
        t = entry.transaction
        result.transactions += 1
        if entry.seq != expected_seq:
            result.breaks.append(f"entry {expected_seq} is missing (found {entry.seq} after it)")
        if entry_hash(previous, entry.seq, t, entry.version) != entry.hash:
            result.breaks.append(f"entry {entry.seq} (transaction {t.id}) was altered")
        if entry.misdated:
            result.breaks.append(
                f"entry {entry.seq} (transaction {t.id}) has {entry.misdated} postings dated "
                "otherwise than the transaction"
            )
        total = sum(p.amount for p in t.postings)
        if total:
            result.breaks.append(f"transaction {t.id} postings sum to {total}, not 0")
        for p in t.postings:
            derived[p.account] += p.amount
        previous, expected_seq = entry.hash, entry.seq + 1
    for account in sorted(set(derived) | set(stored_balances)):
        result.accounts += 1
        if derived.get(account, 0) != stored_balances.get(account, 0):
            result.breaks.append(
                f"account {account.key} holds {stored_balances.get(account, 0)} "
                f"but its postings sum to {derived.get(account, 0)}"
            )
    return result


@dataclass
class Totals:
    """A period's transactions and earnings by rule, month and resident, counted one by one."""

    since: datetime
    until: datetime
    transactions: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_month: Counter[str] = field(default_factory=Counter)
    earners: Counter[str] = field(default_factory=Counter)

    def add(self, t: LedgerTransaction) -> None:
        """Count a transaction created in the period; only earnings add to the totals."""
        if not self.since <= t.created_at < self.until:
            return
        self.transactions += 1
        if t.kind not in EARNING_KINDS:
            return
        earned = t.earned
        self.by_rule[t.rule_id] += earned
        self.by_month[month_key(t.created_at)] += earned
        self.earners[t.resident_id] += earned

    def counting(self, entries: Iterable[ChainEntry]) -> Iterator[ChainEntry]:
        """Pass a chain on while counting its transactions: one read verifies and totals."""
        for entry in entries:
            self.add(entry.transaction)
            yield entry


def quarterly_report(
    *,
    community_id: str,
    year: int,
    quarter: int,
    totals: Totals,
    appeals: Iterable[Appeal],
    verification: Verification,
    top: int = 10,
) -> dict[str, Any]:
    """Totals by rule and month, top earners, appeal outcomes and the integrity result."""
    outcomes = Counter(a.status.value for a in appeals)
    earners = sorted(totals.earners.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {
        "community_id": community_id,
        "year": year,
        "quarter": quarter,
        "transactions": totals.transactions,
        "totals_by_rule": dict(sorted(totals.by_rule.items())),
        "totals_by_month": dict(sorted(totals.by_month.items())),
        "top_earners": [{"resident": r, "earned_centipoints": v} for r, v in earners],
        "appeals": {s: outcomes.get(s, 0) for s in ("filed", "accepted", "rejected")},
        "integrity": {
            "ok": verification.ok,
            "transactions_checked": verification.transactions,
            "accounts_checked": verification.accounts,
            "breaks": list(verification.breaks),
        },
    }


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV rows of (section, key, value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    for key in ("community_id", "year", "quarter", "transactions"):
        writer.writerow(["summary", key, report[key]])
    for section in ("totals_by_rule", "totals_by_month", "appeals"):
        for key, value in report[section].items():
            writer.writerow([section, key, value])
    for row in report["top_earners"]:
        writer.writerow(["top_earners", row["resident"], row["earned_centipoints"]])
    integrity = report["integrity"]
    writer.writerow(["integrity", "ok", integrity["ok"]])
    writer.writerow(["integrity", "transactions_checked", integrity["transactions_checked"]])
    writer.writerow(["integrity", "accounts_checked", integrity["accounts_checked"]])
    for item in integrity["breaks"]:
        writer.writerow(["integrity", "break", item])
    return out.getvalue()
