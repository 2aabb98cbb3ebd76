"""What the points use cases need from the outside world."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from linli_kit.domain import AbstractUnitOfWork, Repository
from linli_points.domain.ledger import Account, LedgerTransaction


@dataclass(frozen=True)
class TransactionPage:
    """One page of transactions, newest first."""

    transactions: list[LedgerTransaction]
    has_more: bool


class Ledger(Repository, abc.ABC):
    """Append-only store of transactions and the balances derived from them."""

    @abc.abstractmethod
    def post(self, transaction: LedgerTransaction) -> None:
        """Append a transaction and apply it to the balances atomically."""

    @abc.abstractmethod
    def balance(self, account: Account) -> int:
        """An account's balance (0 for an account that never moved)."""

    @abc.abstractmethod
    def transactions_of(
        self, community_id: str, holder: str, offset: int, limit: int
    ) -> TransactionPage:
        """Transactions touching a holder's accounts, newest first."""


class PointsUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over the ledger."""

    ledger: Ledger

    def repositories(self) -> list[Repository]:
        """The repositories whose aggregates may raise events."""
        return [self.ledger]
