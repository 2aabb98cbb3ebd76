"""In-memory fakes of the points ports: a ledger that keeps balances from its postings."""

from __future__ import annotations

from collections import defaultdict

from linli_kit.domain import DomainEvent
from linli_kit.fakes import InMemoryInbox, InMemoryRequestLog
from linli_points.domain.ledger import Account, LedgerTransaction
from linli_points.service_layer.ports import Ledger, PointsUnitOfWork, TransactionPage


class FakeLedger(Ledger):
    """Transactions in a list; balances updated from each posting, as the SQL ledger does."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions: list[LedgerTransaction] = []
        self.balances: dict[Account, int] = defaultdict(int)

    def post(self, transaction: LedgerTransaction) -> None:
        """Append a transaction and apply its postings to the balances."""
        self.transactions.append(transaction)
        for posting in transaction.postings:
            self.balances[posting.account] += posting.amount
        self._track(transaction)

    def balance(self, account: Account) -> int:
        """An account's balance (0 for an account that never moved)."""
        return self.balances.get(account, 0)

    def transactions_of(
        self, community_id: str, holder: str, offset: int, limit: int
    ) -> TransactionPage:
        """Transactions touching a holder's accounts, newest first."""
        touching = [
            t
            for t in self.transactions
            if any(
                p.account.community_id == community_id and p.account.holder == holder
                for p in t.postings
            )
        ]
        touching.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        rows = touching[offset : offset + limit + 1]
        return TransactionPage(rows[:limit], has_more=len(rows) > limit)


class FakePointsUnitOfWork(PointsUnitOfWork):
    """Unit of work whose commit publishes the collected events into a list."""

    def __init__(self) -> None:
        self.ledger = FakeLedger()
        self.requests = InMemoryRequestLog()
        self.inbox = InMemoryInbox()
        self.committed = False
        self.published: list[DomainEvent] = []

    def commit(self) -> None:
        """Mark the work committed and publish the events it raised."""
        self.committed = True
        self.published.extend(self.collect_new_events())

    def rollback(self) -> None:
        """Nothing to undo in memory; tests look at `committed` instead."""
