"""The ledger in SQL: ordered row locks on balances, postings appended, nothing updated in place."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from linli_kit.db import SqlUnitOfWork
from linli_points.adapters.orm import accounts, postings, transactions
from linli_points.domain.ledger import Account, LedgerTransaction, Posting, Purpose
from linli_points.service_layer.ports import Ledger, PointsUnitOfWork, TransactionPage


class SqlLedger(Ledger):
    """Ledger repository on one SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def _insert_ignoring_duplicates(self) -> sa.Insert:
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        return dialect.insert(accounts).on_conflict_do_nothing()

    def _account_ids(self, wanted: set[Account]) -> dict[Account, int]:
        community_id = next(iter(wanted)).community_id
        self.session.execute(
            self._insert_ignoring_duplicates(),
            [
                {"community_id": a.community_id, "holder": a.holder, "purpose": a.purpose.value}
                for a in sorted(wanted)
            ],
        )
        rows = self.session.execute(
            sa.select(accounts.c.id, accounts.c.holder, accounts.c.purpose).where(
                accounts.c.community_id == community_id,
                sa.tuple_(accounts.c.holder, accounts.c.purpose).in_(
                    [(a.holder, a.purpose.value) for a in wanted]
                ),
            )
        ).all()
        return {Account(community_id, r.holder, Purpose(r.purpose)): r.id for r in rows}

    def post(self, transaction: LedgerTransaction) -> None:
        """Append a transaction and apply it to the balances atomically."""
        ids = self._account_ids({p.account for p in transaction.postings})
        deltas: dict[int, int] = defaultdict(int)
        for posting in transaction.postings:
            deltas[ids[posting.account]] += posting.amount
        # Lock in id order so concurrent transactions over the same accounts cannot deadlock.
        self.session.execute(
            sa.select(accounts.c.id)
            .where(accounts.c.id.in_(sorted(deltas)))
            .order_by(accounts.c.id)
            .with_for_update()
        ).all()
        self.session.execute(
            sa.update(accounts)
            .where(accounts.c.id == sa.bindparam("account_id"))
            .values(balance=accounts.c.balance + sa.bindparam("delta")),
            [{"account_id": i, "delta": d} for i, d in sorted(deltas.items()) if d],
        )
        self.session.execute(
            sa.insert(transactions).values(
                id=transaction.id,
                community_id=transaction.community_id,
                source_id=transaction.source_id,
                rule_id=transaction.rule_id,
                reason=transaction.reason,
                created_at=transaction.created_at,
            )
        )
        self.session.execute(
            sa.insert(postings),
            [
                {"transaction_id": transaction.id, "account_id": ids[p.account], "amount": p.amount}
                for p in transaction.postings
            ],
        )
        self._track(transaction)

    def balance(self, account: Account) -> int:
        """An account's balance (0 for an account that never moved)."""
        value = self.session.execute(
            sa.select(accounts.c.balance).where(
                accounts.c.community_id == account.community_id,
                accounts.c.holder == account.holder,
                accounts.c.purpose == account.purpose.value,
            )
        ).scalar_one_or_none()
        return value or 0

    def transactions_of(
        self, community_id: str, holder: str, offset: int, limit: int
    ) -> TransactionPage:
        """Transactions touching a holder's accounts, newest first."""
        touching = (
            sa.select(postings.c.transaction_id)
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(accounts.c.community_id == community_id, accounts.c.holder == holder)
        )
        rows = self.session.execute(
            sa.select(transactions)
            .where(transactions.c.id.in_(touching))
            .order_by(transactions.c.created_at.desc(), transactions.c.id.desc())
            .offset(offset)
            .limit(limit + 1)
        ).all()
        page = rows[:limit]
        legs: dict[str, list[Posting]] = defaultdict(list)
        for leg in self.session.execute(
            sa.select(
                postings.c.transaction_id, postings.c.amount, accounts.c.holder, accounts.c.purpose
            )
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(postings.c.transaction_id.in_([r.id for r in page]))
            .order_by(postings.c.id)
        ):
            account = Account(community_id, leg.holder, Purpose(leg.purpose))
            legs[leg.transaction_id].append(Posting(account, leg.amount))
        return TransactionPage(
            [
                LedgerTransaction(
                    id=r.id,
                    community_id=r.community_id,
                    source_id=r.source_id,
                    rule_id=r.rule_id,
                    reason=r.reason,
                    postings=tuple(legs[r.id]),
                    created_at=r.created_at,
                )
                for r in page
            ],
            has_more=len(rows) > limit,
        )


class SqlPointsUnitOfWork(SqlUnitOfWork, PointsUnitOfWork):
    """Points unit of work on SQLAlchemy."""

    def open_repositories(self, session: Session) -> None:
        """Create the ledger repository on the session."""
        self.ledger = SqlLedger(session)
