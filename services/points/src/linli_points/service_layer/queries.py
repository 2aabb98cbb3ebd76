"""Ledger reads: balances, history, the integrity check and the quarterly audit (P6, P9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument
from linli_kit.names import next_page_token
from linli_kit.principals import Principal
from linli_points.domain import access, audit, standings
from linli_points.domain.ledger import LedgerTransaction, Purpose
from linli_points.domain.periods import policy_year, quarter_bounds
from linli_points.service_layer.ports import PointsUnitOfWork


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


def get_balance(
    actor: Principal, community_id: str, resident_id: str, uow: PointsUnitOfWork
) -> Balance:
    """A resident's yearly, lifetime and reserved balances and honour tier."""
    access.require_account_reader(actor, community_id, resident_id)
    with uow:
        balances = uow.ledger.balances_of(community_id, resident_id)
        return Balance(
            yearly=balances[Purpose.YEARLY],
            lifetime=balances[Purpose.LIFETIME],
            reserved=balances[Purpose.RESERVED],
            tier=standings.tier_for(balances[Purpose.LIFETIME]),
        )


def list_transactions(
    actor: Principal,
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: PointsUnitOfWork,
) -> TransactionList:
    """A page of the transactions behind a resident's balances, newest first."""
    access.require_account_reader(actor, community_id, resident_id)
    with uow:
        page = uow.ledger.transactions_of(community_id, resident_id, offset, limit)
        return TransactionList(page.transactions, next_page_token(offset, limit, page.has_more))


def verify_ledger(actor: Principal, community_id: str, uow: PointsUnitOfWork) -> audit.Verification:
    """Recompute the community's hash chain and balances from postings."""
    access.require_auditor(actor, community_id)
    with uow:
        uow.ledger.snapshot()
        return verified(uow, community_id)


def verified(
    uow: PointsUnitOfWork, community_id: str, totals: audit.Totals | None = None
) -> audit.Verification:
    """Verify a community's chain and balances from an open unit of work, in one read of the
    chain that also counts a period's transactions into `totals` when given."""
    entries = uow.ledger.chain(community_id)
    return audit.verify(
        community_id,
        entries if totals is None else totals.counting(entries),
        uow.ledger.stored_balances(community_id),
    )


def audit_report(
    actor: Principal, community_id: str, year: int, quarter: int, uow: PointsUnitOfWork
) -> dict[str, Any]:
    """The quarterly audit report (P9) as a JSON-ready dict, verified from one snapshot."""
    access.require_auditor(actor, community_id)
    if not 1 <= quarter <= 4:
        raise InvalidArgument("quarter must be 1 to 4")
    with uow:
        uow.ledger.snapshot()
        return verified_report(uow, community_id, year, quarter)[1]


def verified_report(
    uow: PointsUnitOfWork, community_id: str, year: int, quarter: int
) -> tuple[audit.Verification, dict[str, Any]]:
    """A quarter's report and the ledger's verification from an open unit of work: the chain
    is read once, verified and totalled on the way."""
    start, end = quarter_bounds(year, quarter)
    totals = audit.Totals(start, end)
    verification = verified(uow, community_id, totals)
    return verification, audit.quarterly_report(
        community_id=community_id,
        year=year,
        quarter=quarter,
        totals=totals,
        appeals=uow.appeals.list(community_id, since=start, until=end),
        verification=verification,
    )


def current_year(clock: Clock = utc_now) -> int:
    """The policy year now."""
    return policy_year(clock())
