"""The ledger in SQL: a chained, append-only journal; balances under ordered row locks."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from linli_kit.bulk import BulkWrite
from linli_kit.db import (
    Outbox,
    RuntimeTables,
    SqlUnitOfWork,
    dialect_insert,
)
from linli_kit.domain import utc_now
from linli_points.adapters.council import SqlCouncil
from linli_points.adapters.orm import (
    accounts,
    appeals,
    chain_heads,
    committee_members,
    emergency_activities,
    postings,
    reservations,
    resident_units,
    runs,
    session_corrections,
    transactions,
)
from linli_points.domain.appeals import Appeal, AppealStatus
from linli_points.domain.audit import CHAIN_VERSION, GENESIS, ChainEntry, entry_hash
from linli_points.domain.ledger import (
    Account,
    Kind,
    LedgerTransaction,
    Posting,
    Purpose,
    RuleKind,
    check_spendable,
)
from linli_points.domain.reservations import Reservation, ReservationState, Sink
from linli_points.domain.runs import Run, RunKind
from linli_points.service_layer.ports import (
    Appeals,
    Directory,
    Ledger,
    PointsUnitOfWork,
    Reservations,
    Runs,
    TransactionPage,
)

CHUNK = 5_000  # rows of transactions read a query
# The fence: the community's chain head, locked until the unit of work ends.
_HEAD_LOCKED = (
    sa.select(chain_heads.c.seq, chain_heads.c.hash)
    .where(chain_heads.c.community_id == sa.bindparam("community_id"))
    .with_for_update()
)
SPARE_IDS = 512  # account ids taken from the sequence at once (PostgreSQL)


@dataclass
class LedgerMemory:
    """What the units of work of one process remember between them.

    Account ids never change once committed. Balances are remembered per community with the
    chain position they were read at: every balance change advances the chain under its fence,
    so a writer that finds the chain still there can trust them without reading them again.
    Accounts too are created only by posts, under the fence: `complete` names the chain position
    at which `accounts` held every account of a community, so that a writer finding the chain
    still there knows an account it does not hold is new, and creates it with the batch (an id
    from `spare_ids`, taken from the sequence in advance) instead of asking for it.
    """

    accounts: dict[Account, int] = field(default_factory=dict)
    balances: dict[str, tuple[int, dict[int, int]]] = field(default_factory=dict)
    complete: dict[str, int] = field(default_factory=dict)
    spare_ids: list[int] = field(default_factory=list)


class SqlLedger(Ledger):
    """Ledger repository on one SQLAlchemy session; postings are written at commit, in bulk.

    A post takes the community's chain head (FOR UPDATE: the fence, so a second writer waits),
    checks the postings against balances held in memory from then on, hashes in order and
    keeps the transaction; flush writes every kept transaction with one insert per table, one
    update of the netted balances and one of the chain head.
    """

    def __init__(self, session: Session, memory: LedgerMemory | None = None) -> None:
        super().__init__()
        self.session = session
        self.memory = LedgerMemory() if memory is None else memory
        self.known = self.memory.accounts
        self._ids: dict[Account, int] = {}
        self._heads: dict[str, tuple[int, str]] = {}
        self._balances: dict[str, dict[int, int]] = {}
        self._deltas: dict[int, int] = defaultdict(int)
        self._rows: list[dict[str, Any]] = []
        self._legs: list[dict[str, Any]] = []
        self._complete: set[str] = set()  # communities whose every account is known here
        self._new: dict[int, Account] = {}  # accounts created by this unit of work, not written
        self._created: dict[Account, int] = {}  # every account this unit of work created

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _spare_id(self) -> int:
        spare = self.memory.spare_ids
        while True:
            try:
                return spare.pop()
            except IndexError:
                rows = self.session.execute(
                    sa.text(
                        "SELECT nextval(pg_get_serial_sequence('accounts', 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"n": SPARE_IDS},
                ).scalars()
                spare.extend(reversed(list(rows)))

    def _know_every_account(self, community_id: str, seq: int) -> None:
        """Under the fence: read every account id of the community, complete at `seq`."""
        rows = self.session.execute(
            sa.select(accounts.c.id, accounts.c.holder, accounts.c.purpose).where(
                accounts.c.community_id == community_id
            )
        )
        for r in rows:
            self.known[Account(community_id, r.holder, Purpose(r.purpose))] = r.id
        self.memory.complete[community_id] = seq

    def _account_ids(self, wanted: set[Account]) -> dict[Account, int]:
        found = {}
        for account in wanted:
            known = self._ids.get(account) or self.known.get(account)
            if known is not None:
                found[account] = known
        missing = sorted(wanted - set(found))
        if not missing:
            return found
        community_id = missing[0].community_id
        if community_id in self._complete:
            # Every account of the community is known: these are new, written at flush.
            held = self._balances[community_id]
            for account in missing:
                new_id = self._spare_id()
                found[account] = self._ids[account] = self._created[account] = new_id
                self._new[new_id] = account
                held[new_id] = 0
            return found
        created = self.session.execute(
            dialect_insert(self.session, accounts)
            .on_conflict_do_nothing()
            .returning(accounts.c.id, accounts.c.holder, accounts.c.purpose),
            [
                {"community_id": a.community_id, "holder": a.holder, "purpose": a.purpose.value}
                for a in missing
            ],
        ).all()
        held = self._balances.get(community_id, {})
        for r in created:
            # Only accounts that existed before are shared: a new one could still roll back.
            account = Account(community_id, r.holder, Purpose(r.purpose))
            found[account] = self._ids[account] = r.id
            held[r.id] = 0
        existing = [a for a in missing if a not in found]
        if not existing:
            return found
        rows = self.session.execute(
            sa.select(accounts.c.id, accounts.c.holder, accounts.c.purpose).where(
                accounts.c.community_id == community_id,
                sa.tuple_(accounts.c.holder, accounts.c.purpose).in_(
                    [(a.holder, a.purpose.value) for a in existing]
                ),
            )
        ).all()
        for r in rows:
            account = Account(community_id, r.holder, Purpose(r.purpose))
            found[account] = self._ids[account] = self.known[account] = r.id
        return found

    def fence(self, community_id: str) -> None:
        """Hold the community's chain head until this unit of work ends; a second writer waits."""
        if community_id in self._heads:
            return
        head = {"community_id": community_id}
        row = self.session.execute(_HEAD_LOCKED, head).first()
        if row is None:
            self.session.execute(
                dialect_insert(self.session, chain_heads)
                .values(community_id=community_id, seq=0, hash=GENESIS)
                .on_conflict_do_nothing()
            )
            row = self.session.execute(_HEAD_LOCKED, head).one()
        self._heads[community_id] = (row.seq, row.hash)
        # Taken, not copied: under the fence no other unit of work of the process holds them,
        # and a unit of work that does not commit leaves them out, to be read again.
        seq, remembered = self.memory.balances.pop(community_id, (-1, {}))
        self._balances[community_id] = remembered if seq == row.seq else {}
        if self._postgres:
            if self.memory.complete.get(community_id) != row.seq:
                self._know_every_account(community_id, row.seq)
            self._complete.add(community_id)

    def remember(self) -> None:
        """After a commit: keep the balances held and the accounts created, at the chain
        position they belong to."""
        self.known.update(self._created)
        for community_id, held in self._balances.items():
            self.memory.balances[community_id] = (self._heads[community_id][0], held)
            if community_id in self._complete:
                self.memory.complete[community_id] = self._heads[community_id][0]

    def forget(self) -> None:
        """After a failed commit: trust nothing remembered of the communities written."""
        for community_id in self._heads:
            self.memory.complete.pop(community_id, None)
            self.memory.balances.pop(community_id, None)

    def snapshot(self) -> None:
        """On PostgreSQL, read the rest of this unit of work from one snapshot."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    def _held_balances(self, community_id: str, ids: Iterable[int]) -> dict[int, int]:
        held = self._balances[community_id]
        unread = sorted(i for i in set(ids) if i not in held)
        if unread:
            # Read under the fence: every change to these balances takes the same chain head.
            rows = self.session.execute(
                sa.select(accounts.c.id, accounts.c.balance).where(accounts.c.id.in_(unread))
            )
            held.update({r.id: r.balance for r in rows})
        return held

    def post(self, transaction: LedgerTransaction) -> None:
        """Check, chain and keep a transaction; it is written with the others at flush."""
        self.fence(transaction.community_id)
        ids = self._account_ids({p.account for p in transaction.postings})
        by_id = {i: a for a, i in ids.items()}
        deltas: dict[int, int] = defaultdict(int)
        for posting in transaction.postings:
            deltas[ids[posting.account]] += posting.amount
        held = self._held_balances(transaction.community_id, deltas)
        after = {i: held[i] + d for i, d in deltas.items()}
        check_spendable({by_id[i]: b for i, b in after.items()})
        held.update(after)
        for i, d in deltas.items():
            self._deltas[i] += d
        seq, previous = self._heads[transaction.community_id]
        seq += 1
        digest = entry_hash(previous, seq, transaction)
        self._heads[transaction.community_id] = (seq, digest)
        self._rows.append(_row(transaction, seq, digest))
        self._legs += [
            {
                "transaction_id": transaction.id,
                "account_id": ids[p.account],
                "amount": p.amount,
                "created_at": transaction.created_at,
            }
            for p in transaction.postings
        ]

    def flush(self, bulk: BulkWrite | None = None) -> None:
        """Write every kept transaction, the netted balances and the chain heads.

        Given a bulk write, the statements join it (the caller runs it); else they run now.
        """
        if not self._rows:
            return
        writing = bulk or BulkWrite(self.session)
        # New accounts are inserted with their balance; the others move by their netted delta.
        new = sorted(self._new.items())
        writing.insert(
            accounts,
            [
                {
                    "id": i,
                    "community_id": a.community_id,
                    "holder": a.holder,
                    "purpose": a.purpose.value,
                    "balance": self._deltas.get(i, 0),
                }
                for i, a in new
            ],
        )
        writing.insert(transactions, self._rows)
        writing.insert(postings, self._legs)
        # One statement for every account of the batch: a system account moves once.
        moved = [(i, d) for i, d in sorted(self._deltas.items()) if d and i not in self._new]
        writing.update_from(
            accounts,
            "id",
            [{"id": i, "delta": d} for i, d in moved],
            "balance = balance + change.delta",
        )
        heads = sorted({row["community_id"] for row in self._rows})
        writing.update_from(
            chain_heads,
            "community_id",
            [
                {"community_id": c, "seq": self._heads[c][0], "hash": self._heads[c][1]}
                for c in heads
            ],
            "seq = change.seq, hash = change.hash",
        )
        self._rows, self._legs, self._deltas, self._new = [], [], defaultdict(int), {}
        if bulk is None:
            writing.run()

    def balance(self, account: Account) -> int:
        """An account's balance (0 for an account that never moved)."""
        held = self._balances.get(account.community_id, {})
        known = self._ids.get(account) or self.known.get(account)
        if known is not None and known in held:
            return held[known]
        value = self.session.execute(
            sa.select(accounts.c.balance).where(
                accounts.c.community_id == account.community_id,
                accounts.c.holder == account.holder,
                accounts.c.purpose == account.purpose.value,
            )
        ).scalar_one_or_none()
        return value or 0

    def balances_of(self, community_id: str, holder: str) -> dict[Purpose, int]:
        """A holder's balance of every purpose, in one indexed read of their balance rows."""
        if community_id in self._balances:  # held under the fence, with this unit's posts
            return super().balances_of(community_id, holder)
        rows = self.session.execute(
            sa.select(accounts.c.purpose, accounts.c.balance).where(
                accounts.c.community_id == community_id, accounts.c.holder == holder
            )
        )
        stored = {Purpose(purpose): balance for purpose, balance in rows}
        return {p: stored.get(p, 0) for p in Purpose}

    def _load(self, rows: Sequence[Any]) -> list[LedgerTransaction]:
        legs: dict[str, list[Posting]] = defaultdict(list)
        ids = [r.id for r in rows]
        for start in range(0, len(ids), CHUNK):
            for leg in self.session.execute(
                sa.select(
                    postings.c.transaction_id,
                    postings.c.amount,
                    accounts.c.community_id,
                    accounts.c.holder,
                    accounts.c.purpose,
                )
                .join(accounts, accounts.c.id == postings.c.account_id)
                .where(postings.c.transaction_id.in_(ids[start : start + CHUNK]))
                .order_by(postings.c.id)
            ):
                account = Account(leg.community_id, leg.holder, Purpose(leg.purpose))
                legs[leg.transaction_id].append(Posting(account, leg.amount))
        return [_stored(r, tuple(legs[r.id])).transaction for r in rows]

    def transactions_of(
        self, community_id: str, holder: str, offset: int, limit: int
    ) -> TransactionPage:
        """Transactions touching a holder's accounts, newest first.

        Each of the holder's accounts gives its newest postings in order from the index
        (account_id, created_at, transaction_id), as many as the page could need; the page is
        the newest distinct transactions among them, read with their postings: one statement.
        """
        self.flush()
        rows = self.session.execute(
            HISTORY,
            {
                "community_id": community_id,
                "holder": holder,
                "depth": offset + limit + 1,
                "skip": offset,
                "size": limit + 1,
            },
        ).all()
        page = []
        for _, group in itertools.groupby(rows, itemgetter(0)):
            legs = list(group)
            posted = tuple(
                Posting(Account(account_community, account_holder, Purpose(purpose)), amount)
                for *_, amount, account_community, account_holder, purpose in legs
                if amount is not None
            )
            page.append(_stored(legs[0][: len(STORED)], posted).transaction)
        return TransactionPage(page[:limit], has_more=len(page) > limit)

    def get(self, community_id: str, transaction_id: str) -> LedgerTransaction | None:
        """One transaction, or None."""
        self.flush()
        rows = self.session.execute(
            sa.select(*STORED).where(
                transactions.c.community_id == community_id, transactions.c.id == transaction_id
            )
        ).all()
        found = self._load(rows)
        return found[0] if found else None

    def find(
        self,
        community_id: str,
        *,
        session: str | None = None,
        resident_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LedgerTransaction]:
        """Transactions matching every given filter (created_at in [since, until)), oldest first."""
        self.flush()
        query = sa.select(*STORED).where(transactions.c.community_id == community_id)
        if session is not None:
            query = query.where(transactions.c.session == session)
        if resident_id is not None:
            query = query.where(transactions.c.resident_id == resident_id)
        if since is not None:
            query = query.where(transactions.c.created_at >= since)
        if until is not None:
            query = query.where(transactions.c.created_at < until)
        rows = self.session.execute(
            query.order_by(transactions.c.created_at, transactions.c.seq)
        ).all()
        return self._load(rows)

    def sources(self, community_id: str, rule_ids: Iterable[str]) -> set[tuple[str, str]]:
        """The (rule id, source id) pairs already posted for some rules."""
        self.flush()
        rows = self.session.execute(
            sa.select(transactions.c.rule_id, transactions.c.source_id).where(
                transactions.c.community_id == community_id,
                transactions.c.rule_id.in_(list(rule_ids)),
            )
        )
        return {(r.rule_id, r.source_id) for r in rows}

    def chain(self, community_id: str) -> Iterator[ChainEntry]:
        """Every transaction of a community in chain order, with the hash stored for it.

        Two streams in chain order (server-side cursors on PostgreSQL), merged by position: the
        transactions, and their postings (account, amount and whether the posting's copy of the
        transaction's time differs), a few columns a row. Accounts come by id from the
        community's accounts read once; rows are read by position (an attribute costs more).
        """
        self.flush()
        known = {
            r.id: Account(community_id, r.holder, Purpose(r.purpose))
            for r in self.session.execute(
                sa.select(accounts.c.id, accounts.c.holder, accounts.c.purpose).where(
                    accounts.c.community_id == community_id
                )
            )
        }
        streaming = {"yield_per": CHUNK}
        rows = self.session.execute(
            sa.select(*STORED)
            .where(transactions.c.community_id == community_id)
            .order_by(transactions.c.seq),
            execution_options=streaming,
        )
        legs = self.session.execute(
            sa.select(
                transactions.c.seq,
                postings.c.account_id,
                postings.c.amount,
                postings.c.created_at.is_distinct_from(transactions.c.created_at),
            )
            .join(transactions, transactions.c.id == postings.c.transaction_id)
            .where(transactions.c.community_id == community_id)
            .order_by(transactions.c.seq, postings.c.id),
            execution_options=streaming,
        )
        by_seq = itertools.groupby(itertools.chain.from_iterable(legs.partitions()), itemgetter(0))
        leg_seq, group = next(by_seq, (None, ()))
        for row in itertools.chain.from_iterable(rows.partitions()):
            mine, misdated = [], 0
            if leg_seq == row[1]:  # the transaction's seq
                for _, account_id, amount, dated_otherwise in group:
                    account = known.get(account_id)
                    if account is None:  # another community's: verify reports it
                        account = known[account_id] = self._account_of(account_id)
                    mine.append(Posting(account, amount))
                    misdated += dated_otherwise
                leg_seq, group = next(by_seq, (None, ()))
            yield _stored(row, tuple(mine), misdated)

    def _account_of(self, account_id: int) -> Account:
        r = self.session.execute(
            sa.select(accounts.c.community_id, accounts.c.holder, accounts.c.purpose).where(
                accounts.c.id == account_id
            )
        ).one()
        return Account(r.community_id, r.holder, Purpose(r.purpose))

    def stored_balances(self, community_id: str) -> dict[Account, int]:
        """The balance kept for every account of a community."""
        self.flush()
        rows = self.session.execute(
            sa.select(accounts.c.holder, accounts.c.purpose, accounts.c.balance).where(
                accounts.c.community_id == community_id
            )
        )
        return {Account(community_id, r.holder, Purpose(r.purpose)): r.balance for r in rows}

    def communities(self) -> list[str]:
        """Every community with a transaction."""
        self.flush()
        return list(self.session.execute(sa.select(chain_heads.c.community_id)).scalars())


def _row(transaction: LedgerTransaction, seq: int, digest: str) -> dict[str, Any]:
    return {
        "id": transaction.id,
        "community_id": transaction.community_id,
        "source_id": transaction.source_id,
        "rule_id": transaction.rule_id,
        "reason": transaction.reason,
        "created_at": transaction.created_at,
        "kind": transaction.kind.value,
        "resident_id": transaction.resident_id,
        "session": transaction.session,
        "reverses": transaction.reverses,
        "coefficient_percent": transaction.coefficient_percent,
        "actor": transaction.actor,
        "rule_kind": transaction.rule_kind or "",
        "seq": seq,
        "hash": digest,
        "hash_version": CHAIN_VERSION,
    }


# A stored transaction's columns, in the order _stored reads them.
STORED = (
    transactions.c.id,
    transactions.c.seq,
    transactions.c.hash,
    transactions.c.hash_version,
    transactions.c.community_id,
    transactions.c.source_id,
    transactions.c.rule_id,
    transactions.c.reason,
    transactions.c.created_at,
    transactions.c.kind,
    transactions.c.resident_id,
    transactions.c.session,
    transactions.c.reverses,
    transactions.c.coefficient_percent,
    transactions.c.actor,
    transactions.c.rule_kind,
)


def _newest_postings(purpose: Purpose) -> sa.Subquery:
    """The newest distinct (time, transaction) of a holder's account of one purpose, in index
    order, as many as a page could need (`depth`)."""
    account_id = (
        sa.select(accounts.c.id)
        .where(
            accounts.c.community_id == sa.bindparam("community_id"),
            accounts.c.holder == sa.bindparam("holder"),
            accounts.c.purpose == purpose.value,
        )
        .scalar_subquery()
    )
    return (
        sa.select(postings.c.created_at, postings.c.transaction_id)
        .distinct()
        .where(postings.c.account_id == account_id)
        .order_by(postings.c.created_at.desc(), postings.c.transaction_id.desc())
        .limit(sa.bindparam("depth"))
        .subquery()
    )


# A page of a holder's history, built once: `size` transactions after `skip`, newest first, a
# row for each of their postings (amount and account) in the order they were posted.
_RECENT = sa.union(*(sa.select(_newest_postings(p)) for p in Purpose)).subquery()
HISTORY = (
    sa.select(
        *STORED, postings.c.amount, accounts.c.community_id, accounts.c.holder, accounts.c.purpose
    )
    .select_from(
        transactions.outerjoin(postings, postings.c.transaction_id == transactions.c.id).outerjoin(
            accounts, accounts.c.id == postings.c.account_id
        )
    )
    .where(
        transactions.c.id.in_(
            sa.select(_RECENT.c.transaction_id)
            .order_by(_RECENT.c.created_at.desc(), _RECENT.c.transaction_id.desc())
            .offset(sa.bindparam("skip"))
            .limit(sa.bindparam("size"))
        )
    )
    .order_by(transactions.c.created_at.desc(), transactions.c.id.desc(), postings.c.id)
)


def _stored(row: Sequence[Any], legs: tuple[Posting, ...], misdated: int = 0) -> ChainEntry:
    """A row of STORED as its chain entry, read by position (a million attributes are slow)."""
    (
        id_,
        seq,
        digest,
        version,
        community_id,
        source_id,
        rule_id,
        reason,
        created_at,
        kind,
        resident_id,
        session,
        reverses,
        coefficient_percent,
        actor,
        rule_kind,
    ) = row
    transaction = LedgerTransaction(
        id=id_,
        community_id=community_id,
        source_id=source_id,
        rule_id=rule_id,
        reason=reason,
        postings=legs,
        created_at=created_at,
        kind=Kind(kind),
        resident_id=resident_id,
        session=session,
        reverses=reverses,
        coefficient_percent=coefficient_percent,
        actor=actor,
        rule_kind=RuleKind(rule_kind) if rule_kind else None,
        validate=False,
    )
    return ChainEntry(seq, digest, transaction, version, misdated)


class SqlReservations(Reservations):
    """Reservations in SQL; reads lock the row so that one settlement wins.

    On PostgreSQL a new reservation and a new state are kept and written with the unit of
    work's one statement (`flush`); a reservation kept here is read from here.
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._kept: dict[str, Reservation] = {}
        self._new: set[str] = set()

    @property
    def _deferred(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    @staticmethod
    def _values(r: Reservation) -> dict[str, Any]:
        return {
            "id": r.id,
            "community_id": r.community_id,
            "resident_id": r.resident_id,
            "amount": r.amount,
            "sink": r.sink.value,
            "memo": r.memo,
            "state": r.state.value,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "settled_at": r.settled_at,
            "settle_reason": r.settle_reason,
            "refunded_at": r.refunded_at,
            "refund_reason": r.refund_reason,
        }

    def add(self, reservation: Reservation) -> None:
        """Store a new reservation."""
        if self._deferred:
            self._kept[reservation.id] = reservation
            self._new.add(reservation.id)
            return
        self.session.execute(sa.insert(reservations).values(**self._values(reservation)))

    def get(self, community_id: str, reservation_id: str) -> Reservation | None:
        """One reservation, locked for update, or None."""
        kept = self._kept.get(reservation_id)
        if kept is not None:
            return kept if kept.community_id == community_id else None
        row = self.session.execute(
            sa.select(reservations)
            .where(reservations.c.community_id == community_id, reservations.c.id == reservation_id)
            .with_for_update()
        ).first()
        if row is None:
            return None
        return Reservation(
            id=row.id,
            community_id=row.community_id,
            resident_id=row.resident_id,
            amount=row.amount,
            sink=Sink(row.sink),
            memo=row.memo,
            created_at=row.created_at,
            expires_at=row.expires_at,
            state=ReservationState(row.state),
            settled_at=row.settled_at,
            settle_reason=row.settle_reason,
            refunded_at=row.refunded_at,
            refund_reason=row.refund_reason,
        )

    def save(self, reservation: Reservation) -> None:
        """Store a reservation's new state."""
        if self._deferred:
            self._kept[reservation.id] = reservation
            return
        self.session.execute(
            sa.update(reservations)
            .where(reservations.c.id == reservation.id)
            .values(
                state=reservation.state.value,
                settled_at=reservation.settled_at,
                settle_reason=reservation.settle_reason,
                refunded_at=reservation.refunded_at,
                refund_reason=reservation.refund_reason,
            )
        )

    def flush(self, bulk: BulkWrite) -> None:
        """Add the kept reservations to a bulk write: the new ones inserted, the others updated."""
        kept = [self._kept[i] for i in sorted(self._kept)]
        bulk.insert(reservations, [self._values(r) for r in kept if r.id in self._new])
        changed = [r for r in kept if r.id not in self._new]
        bulk.update_from(
            reservations,
            "id",
            [
                {
                    "id": r.id,
                    "state": r.state.value,
                    "settled_at": r.settled_at,
                    "settle_reason": r.settle_reason,
                    "refunded_at": r.refunded_at,
                    "refund_reason": r.refund_reason,
                }
                for r in changed
            ],
            "state = change.state, settled_at = change.settled_at, "
            "settle_reason = change.settle_reason, refunded_at = change.refunded_at, "
            "refund_reason = change.refund_reason",
        )
        self._kept, self._new = {}, set()

    def expired(self, before: datetime, limit: int) -> list[tuple[str, str]]:
        """(community, id) of pending reservations that expired before an instant."""
        if self._kept:
            writing = BulkWrite(self.session)
            self.flush(writing)
            writing.run()
        rows = self.session.execute(
            sa.select(reservations.c.community_id, reservations.c.id)
            .where(
                reservations.c.state == ReservationState.PENDING.value,
                reservations.c.expires_at <= before,
            )
            .order_by(reservations.c.expires_at)
            .limit(limit)
        )
        return [(r.community_id, r.id) for r in rows]


class SqlAppeals(Appeals):
    """Appeals in SQL."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    @staticmethod
    def _values(a: Appeal) -> dict[str, Any]:
        return {
            "status": a.status.value,
            "reviewer": a.reviewer,
            "decision_reason": a.decision_reason,
            "decided_at": a.decided_at,
            "compensation_amount": a.compensation_amount,
            "compensation_transaction_id": a.compensation_transaction_id,
        }

    def add(self, appeal: Appeal) -> None:
        """Store a new appeal."""
        self.session.execute(
            sa.insert(appeals).values(
                id=appeal.id,
                community_id=appeal.community_id,
                resident_id=appeal.resident_id,
                transaction_id=appeal.transaction_id,
                reason=appeal.reason,
                filed_at=appeal.filed_at,
                **self._values(appeal),
            )
        )

    def get(self, community_id: str, appeal_id: str) -> Appeal | None:
        """One appeal, locked for update, or None."""
        row = self.session.execute(
            sa.select(appeals)
            .where(appeals.c.community_id == community_id, appeals.c.id == appeal_id)
            .with_for_update()
        ).first()
        return None if row is None else _appeal(row)

    def save(self, appeal: Appeal) -> None:
        """Store an appeal's decision."""
        self.session.execute(
            sa.update(appeals).where(appeals.c.id == appeal.id).values(**self._values(appeal))
        )

    def list(
        self,
        community_id: str,
        *,
        resident_id: str | None = None,
        transaction_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Collection[AppealStatus] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Appeal]:
        """Appeals matching every given filter (any status if none is named), oldest first;
        `limit` of them from `offset` if given."""
        query = sa.select(appeals).where(appeals.c.community_id == community_id)
        if resident_id is not None:
            query = query.where(appeals.c.resident_id == resident_id)
        if transaction_id is not None:
            query = query.where(appeals.c.transaction_id == transaction_id)
        if since is not None:
            query = query.where(appeals.c.filed_at >= since)
        if until is not None:
            query = query.where(appeals.c.filed_at < until)
        if statuses:
            query = query.where(appeals.c.status.in_([s.value for s in statuses]))
        query = query.order_by(appeals.c.filed_at, appeals.c.id).offset(offset).limit(limit)
        return [_appeal(r) for r in self.session.execute(query)]


def _appeal(row: Any) -> Appeal:
    return Appeal(
        id=row.id,
        community_id=row.community_id,
        resident_id=row.resident_id,
        transaction_id=row.transaction_id,
        reason=row.reason,
        filed_at=row.filed_at,
        status=AppealStatus(row.status),
        reviewer=row.reviewer,
        decision_reason=row.decision_reason,
        decided_at=row.decided_at,
        compensation_amount=row.compensation_amount,
        compensation_transaction_id=row.compensation_transaction_id,
    )


class SqlRuns(Runs):
    """Runs in SQL."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, run: Run) -> None:
        """Store a run."""
        self.session.execute(
            sa.insert(runs).values(
                id=run.id,
                community_id=run.community_id,
                kind=run.kind.value,
                at=run.at,
                year=run.year,
                transaction_ids=" ".join(run.transaction_ids),
                residents=run.residents,
                members=" ".join(run.members),
            )
        )

    def get(self, community_id: str, run_id: str) -> Run | None:
        """One run, or None."""
        row = self.session.execute(
            sa.select(runs).where(runs.c.community_id == community_id, runs.c.id == run_id)
        ).first()
        if row is None:
            return None
        return Run(
            id=row.id,
            community_id=row.community_id,
            kind=RunKind(row.kind),
            at=row.at,
            year=row.year,
            transaction_ids=tuple(row.transaction_ids.split()),
            residents=row.residents,
            members=tuple(row.members.split()),
        )


class SqlDirectory(Directory):
    """Org units, emergency activities, training corrections and committee members in SQL.

    A community's emergency activities (a handful) are read once a unit of work, so a batch of
    awards asks once whether their activities answer an emergency.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._emergencies: dict[str, set[str]] = {}

    def set_org_unit(
        self, community_id: str, resident_id: str, org_unit: str, at: datetime | None = None
    ) -> None:
        """Remember where a resident lives (from identity.events) and since when."""
        stmt = dialect_insert(self.session, resident_units).values(
            community_id=community_id, resident_id=resident_id, org_unit=org_unit, placed_at=at
        )
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["community_id", "resident_id"],
                set_={"org_unit": org_unit, "placed_at": at},
            )
        )

    def placed_at(self, community_id: str, resident_id: str) -> datetime | None:
        """When identity placed the resident where points has them (None: unknown or older)."""
        found: datetime | None = self.session.execute(
            sa.select(resident_units.c.placed_at).where(
                resident_units.c.community_id == community_id,
                resident_units.c.resident_id == resident_id,
            )
        ).scalar_one_or_none()
        return found

    def org_unit(self, community_id: str, resident_id: str) -> str:
        """A resident's org unit, '' if unknown."""
        found = self.session.execute(
            sa.select(resident_units.c.org_unit).where(
                resident_units.c.community_id == community_id,
                resident_units.c.resident_id == resident_id,
            )
        ).scalar_one_or_none()
        return found or ""

    def org_units(self, community_id: str) -> Mapping[str, str]:
        """Every known resident's org unit."""
        rows = self.session.execute(
            sa.select(resident_units.c.resident_id, resident_units.c.org_unit).where(
                resident_units.c.community_id == community_id
            )
        )
        return {r.resident_id: r.org_unit for r in rows}

    def mark_emergency(self, community_id: str, activity: str, at: datetime) -> None:
        """Remember that an activity answers an emergency (from attendance.events)."""
        self.session.execute(
            dialect_insert(self.session, emergency_activities)
            .values(community_id=community_id, activity=activity, called_at=at)
            .on_conflict_do_nothing()
        )
        if community_id in self._emergencies:
            self._emergencies[community_id].add(activity)

    def is_emergency(self, community_id: str, activity: str) -> bool:
        """Whether an activity answers an emergency."""
        if community_id not in self._emergencies:
            self._emergencies[community_id] = set(
                self.session.execute(
                    sa.select(emergency_activities.c.activity).where(
                        emergency_activities.c.community_id == community_id
                    )
                ).scalars()
            )
        return activity in self._emergencies[community_id]

    def corrected_at(self, community_id: str, kind: str, session: str) -> datetime | None:
        """When the latest correction of a kind applied to an attendance session was made."""
        found: datetime | None = self.session.execute(
            sa.select(session_corrections.c.corrected_at).where(
                session_corrections.c.community_id == community_id,
                session_corrections.c.kind == kind,
                session_corrections.c.session == session,
            )
        ).scalar_one_or_none()
        return found

    def set_corrected_at(self, community_id: str, kind: str, session: str, at: datetime) -> None:
        """Remember the latest correction of a kind applied to an attendance session."""
        stmt = dialect_insert(self.session, session_corrections).values(
            community_id=community_id, kind=kind, session=session, corrected_at=at
        )
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["community_id", "kind", "session"], set_={"corrected_at": at}
            )
        )

    def committee(self, community_id: str) -> set[str]:
        """The supervision committee's members."""
        return set(
            self.session.execute(
                sa.select(committee_members.c.resident_id).where(
                    committee_members.c.community_id == community_id
                )
            ).scalars()
        )

    def set_committee_member(
        self, community_id: str, resident_id: str, member: bool, at: datetime
    ) -> None:
        """Add a resident to the committee or remove them."""
        if member:
            self.session.execute(
                dialect_insert(self.session, committee_members)
                .values(community_id=community_id, resident_id=resident_id, added_at=at)
                .on_conflict_do_nothing()
            )
        else:
            self.session.execute(
                sa.delete(committee_members).where(
                    committee_members.c.community_id == community_id,
                    committee_members.c.resident_id == resident_id,
                )
            )


class SqlPointsUnitOfWork(SqlUnitOfWork, PointsUnitOfWork):
    """Points unit of work on SQLAlchemy."""

    ledger: SqlLedger
    reservations: SqlReservations

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        tables: RuntimeTables,
        outbox: Outbox,
        memory: LedgerMemory | None = None,
    ) -> None:
        super().__init__(session_factory, tables, outbox)
        self.memory = LedgerMemory() if memory is None else memory

    def stage(self, bulk: BulkWrite) -> bool:
        """Add the kept postings and reservations, then the request results and the raised
        events, to a bulk write; whether there were events."""
        self.ledger.flush(bulk)
        self.reservations.flush(bulk)
        return super().stage(bulk)

    def commit(self) -> None:
        """Write the kept postings and stage the events in one statement, then commit."""
        try:
            super().commit()
        except Exception:
            self.ledger.forget()
            raise
        self.ledger.remember()

    def commit_deliveries(self, deliveries: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record the deliveries, the postings and the events in one statement and commit,
        unless some were applied before: then nothing is written and those are returned."""
        bulk, now = BulkWrite(self.session), utc_now()
        bulk.guarded_insert(
            self.tables.processed_events,
            [{"consumer": c, "event_id": e, "processed_at": now} for c, e in deliveries],
            "consumer, event_id",
        )
        applied = set() if bulk.postgres else set(deliveries) - set(bulk.returned)
        if applied:
            return applied
        try:
            staged = self.stage(bulk)
            bulk.run()
            applied = set(deliveries) - set(bulk.returned)
            if not applied:
                self.session.commit()
        except Exception:
            self.ledger.forget()
            raise
        if not applied:
            self.ledger.remember()
            self.wake_relay(staged)
        return applied

    def open_repositories(self, session: Session) -> None:
        """Create the repositories on the session."""
        self.ledger = SqlLedger(session, self.memory)
        self.reservations = SqlReservations(session)
        self.appeals = SqlAppeals(session)
        self.runs = SqlRuns(session)
        self.directory = SqlDirectory(session)
        self.council = SqlCouncil(session)
