"""Database plumbing: engines, the runtime tables every service has, the SQL unit of work."""

from __future__ import annotations

import abc
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from google.protobuf.message import Message
from linli.events.v1 import envelope_pb2
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from linli_kit.bulk import BulkWrite
from linli_kit.domain import (
    AbstractUnitOfWork,
    DomainEvent,
    Inbox,
    RequestLog,
    new_uuid,
    utc_now,
)
from linli_kit.telemetry import current_traceparent, instrument_engine

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored and returned as timezone-aware UTC on PostgreSQL and SQLite alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: attach a timezone")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, ping_after_idle: float = 1.0, **kwargs: Any) -> sa.Engine:
    """An engine for PostgreSQL (psycopg 3) or SQLite (WAL, foreign keys, busy timeout).

    A PostgreSQL connection idle in the pool for `ping_after_idle` seconds is pinged before
    it is handed out (a dead one is replaced); one in steady use is not, which saved a round
    trip per unit of work.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

        @sa_event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    if "poolclass" not in kwargs:
        # As many kept as a served app's worker threads (an overflow connection is opened and
        # closed again for each use: a new server process each time); at most 20, as before.
        kwargs.setdefault("pool_size", 16)
        kwargs.setdefault("max_overflow", 4)
    engine = sa.create_engine(url, **kwargs)

    @sa_event.listens_for(engine, "checkin")
    def _idle_from(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa_event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < ping_after_idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError() from exc  # the pool connects afresh

    return engine


@dataclass(frozen=True)
class RuntimeTables:
    """The outbox, inbox and request log that live beside each service's own tables."""

    outbox: sa.Table
    processed_events: sa.Table
    requests: sa.Table


def runtime_tables(metadata: sa.MetaData) -> RuntimeTables:
    """Declare the runtime tables on a service's metadata."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime()),
    )
    sa.Index(
        "ix_outbox_unpublished",
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
        sqlite_where=outbox.c.published_at.is_(None),
    )
    processed = sa.Table(
        "processed_events",
        metadata,
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
    )
    requests = sa.Table(
        "idempotent_requests",
        metadata,
        sa.Column("operation", sa.String(100), primary_key=True),
        sa.Column("request_id", sa.String(200), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("result_ref", sa.String(300), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    return RuntimeTables(outbox, processed, requests)


class SqlRequestLog(RequestLog):
    """Request log in the service's own database, in the same transaction as the effect.

    A claim inserts the row; PostgreSQL makes a concurrent insert of the same key wait until
    the first transaction ends, so duplicates never run the work twice. Results are kept until
    the unit of work commits, then written with its one statement (`flush`).
    """

    def __init__(self, session: Session, table: sa.Table) -> None:
        self.session, self.table = session, table
        self._claimed: dict[tuple[str, str], str] = {}
        self._results: dict[tuple[str, str], str] = {}

    def _get(self, operation: str, request_id: str) -> tuple[str, str] | None:
        key = (operation, request_id)
        if key in self._results:
            return self._claimed[key], self._results[key]
        row = self.session.execute(
            _request_get(self.table), {"in_operation": operation, "in_request": request_id}
        ).first()
        return None if row is None else (row.digest, row.result_ref)

    def _claim(self, operation: str, request_id: str, digest: str) -> bool:
        claim = {"operation": operation, "request_id": request_id, "digest": digest}
        inserted = self.session.execute(
            _insert_unless_there(self.table, "request_id"),
            {**claim, "result_ref": "", "created_at": utc_now()},
        ).first()
        if inserted is not None:
            self._claimed[(operation, request_id)] = digest
        return inserted is not None

    def _complete(self, operation: str, request_id: str, result_ref: str) -> None:
        self._results[(operation, request_id)] = result_ref

    def flush(self, bulk: BulkWrite) -> None:
        """Add the kept results to a bulk write."""
        bulk.update_from(
            self.table,
            "operation, request_id",
            [
                {"operation": operation, "request_id": request_id, "result_ref": ref}
                for (operation, request_id), ref in sorted(self._results.items())
            ],
            "result_ref = change.result_ref",
        )
        self._results = {}


# The statements of the request log, the inbox and the outbox run in every mutation and
# every event applied: built once per table (and dialect), their values bound when run.
@functools.cache
def _request_get(table: sa.Table) -> sa.Select[Any]:
    return sa.select(table.c.digest, table.c.result_ref).where(*_request_key(table))


def _request_key(table: sa.Table) -> tuple[Any, ...]:
    return (
        table.c.operation == sa.bindparam("in_operation"),
        table.c.request_id == sa.bindparam("in_request"),
    )


@functools.cache
def _insert_unless_there(table: sa.Table, returned: str) -> sa.TextualSelect:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the column: no row back when it was there.

    As text (PostgreSQL and SQLite say it alike): SQLAlchemy 2.0 compiles its PostgreSQL and
    SQLite INSERTs with ON CONFLICT anew at every execution, as uncacheable.
    """
    names = [column.name for column in table.columns]
    return (
        sa.text(
            f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join(f':{name}' for name in names)}) "
            f"ON CONFLICT DO NOTHING RETURNING {returned}"
        )
        .bindparams(*(sa.bindparam(column.name, type_=column.type) for column in table.columns))
        .columns(table.c[returned])
    )


def dialect_insert(session: Session, table: sa.Table) -> Any:
    """An INSERT of the session's dialect, so ON CONFLICT clauses work on PostgreSQL and SQLite."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def locked(query: sa.Select[Any], session: Session) -> sa.Select[Any]:
    """The query locking its rows for update (PostgreSQL; SQLite serialises writers anyway)."""
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def insert_once(session: Session, statement: Any, refusal: Exception) -> None:
    """Run an insert; a key already taken raises `refusal` and leaves the transaction usable."""
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError:
        raise refusal from None


class SqlInbox(Inbox):
    """Applied events; a concurrent second delivery waits for the first's row, then skips."""

    def __init__(self, session: Session, table: sa.Table) -> None:
        self.session, self.table = session, table

    def first_delivery(self, consumer: str, event_id: str) -> bool:
        """Mark the event as applied by this consumer; False if it was applied before."""
        inserted = self.session.execute(
            _insert_unless_there(self.table, "event_id"),
            {"consumer": consumer, "event_id": event_id, "processed_at": utc_now()},
        ).first()
        return inserted is not None


EventEncoder = Callable[[DomainEvent], Message]


def envelope_for(event: DomainEvent, message: Message) -> envelope_pb2.EventEnvelope:
    """Wrap an event's protobuf payload in the envelope, with the active trace context."""
    envelope = envelope_pb2.EventEnvelope(
        event_id=new_uuid(),
        type=message.DESCRIPTOR.full_name,
        community_id=event.community_id,
        trace_parent=current_traceparent(),
    )
    envelope.occurred_at.FromDatetime(event.occurred_at)
    envelope.payload.Pack(message)
    return envelope


@dataclass(frozen=True)
class Outbox:
    """Writes events into the outbox table, to be relayed to one stream.

    `committed` is set once a unit of work has committed events here: the relay's `wake`.
    """

    table: sa.Table
    stream: str
    encode: EventEncoder
    committed: threading.Event = field(default_factory=threading.Event, compare=False)

    def stage(self, bulk: BulkWrite, events: list[DomainEvent]) -> bool:
        """Add the events to a bulk write of the current transaction; whether there were any."""
        now, rows = utc_now(), []
        for event in events:
            envelope = envelope_for(event, self.encode(event))
            rows.append(
                {
                    "event_id": envelope.event_id,
                    "stream": self.stream,
                    "envelope": envelope.SerializeToString(),
                    "created_at": now,
                }
            )
        bulk.insert(self.table, rows)
        return bool(rows)


class SqlUnitOfWork(AbstractUnitOfWork):
    """A SQLAlchemy session per unit of work; events go to the outbox in the same commit."""

    requests: SqlRequestLog

    def __init__(
        self, session_factory: sessionmaker[Session], tables: RuntimeTables, outbox: Outbox
    ) -> None:
        self.session_factory, self.tables, self.outbox = session_factory, tables, outbox

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.requests = SqlRequestLog(self.session, self.tables.requests)
        self.inbox = SqlInbox(self.session, self.tables.processed_events)
        self.open_repositories(self.session)
        return super().__enter__()

    def __exit__(self, *args: object) -> None:
        super().__exit__(*args)
        self.session.close()

    @abc.abstractmethod
    def open_repositories(self, session: Session) -> None:
        """Create this service's repositories on the session."""

    def stage(self, bulk: BulkWrite) -> bool:
        """Add the request results and the raised events to a bulk write; whether there were
        events (a service adds what it keeps for the commit first)."""
        self.requests.flush(bulk)
        return self.outbox.stage(bulk, list(self.collect_new_events()))

    def commit(self) -> None:
        """Write the request results and the events in one statement, then commit."""
        bulk = BulkWrite(self.session)
        staged = self.stage(bulk)
        bulk.run()
        self.session.commit()
        self.wake_relay(staged)

    def wake_relay(self, staged: bool) -> None:
        """Wake the relay after a commit, if it staged events."""
        if staged:
            self.outbox.committed.set()

    def rollback(self) -> None:
        """Discard whatever was not committed."""
        self.session.rollback()


def migrate(url: str, script_location: Path) -> None:
    """Bring a service's database to the newest Alembic revision."""
    # Imported here: a served process never migrates, and alembic costs it ~0.4 s to import.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def run_alembic_env(metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    from alembic import context

    engine = make_engine(
        context.config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


@dataclass
class SqlPlumbing:
    """A service's engine, sessions, outbox and relay, built the same way everywhere."""

    engine: sa.Engine
    session_factory: sessionmaker[Session]
    tables: RuntimeTables
    outbox: Outbox


def sql_plumbing(
    database_url: str, tables: RuntimeTables, stream: str, encode: EventEncoder
) -> SqlPlumbing:
    """Wire an engine (traced), a session factory and the outbox for one service."""
    engine = make_engine(database_url)
    instrument_engine(engine)
    return SqlPlumbing(
        engine,
        sessionmaker(engine, expire_on_commit=False),
        tables,
        Outbox(tables.outbox, stream, encode),
    )
