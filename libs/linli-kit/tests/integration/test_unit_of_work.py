"""A unit of work writes a request's result and its events with one statement (PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from linli.events.v1 import identity_events_pb2
from sqlalchemy.orm import Session, sessionmaker

from linli_kit.db import Outbox, SqlUnitOfWork, make_engine, runtime_tables
from linli_kit.domain import DomainEvent
from linli_kit.testing import statement_kinds
from linli_kit.usecases import idempotent

metadata = sa.MetaData()
tables = runtime_tables(metadata)
AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Welcome:
    """A mutating command of a community."""

    community_id: str
    request_id: str


class WelcomeUnitOfWork(SqlUnitOfWork):
    """Only the runtime tables; the use case raises its events here."""

    def open_repositories(self, session: Session) -> None:
        """No repositories."""
        self.raised: list[DomainEvent] = []

    def collect_new_events(self) -> Iterator[DomainEvent]:
        """The events the use case raised."""
        while self.raised:
            yield self.raised.pop(0)


@idempotent(lambda uow, cmd, ref: ref, reference=str)
def welcome(cmd: Welcome, uow: WelcomeUnitOfWork) -> str:
    """Raise two events; the result is a new id."""
    event = DomainEvent(community_id=cmd.community_id, occurred_at=AT)
    uow.raised += [event, event]
    return uuid.uuid4().hex


def test_the_result_and_the_events_go_in_one_statement_after_the_claim(
    make_database: Callable[[str], str],
) -> None:
    engine = make_engine(make_database("kit"))
    metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    outbox = Outbox(tables.outbox, "s", lambda e: identity_events_pb2.ResidentRegistered())
    with statement_kinds(engine) as statements:
        first = welcome(Welcome("east", "q1"), WelcomeUnitOfWork(factory, tables, outbox))

    assert statements == ["INSERT", "WITH"], "the claim, then the result and both events"
    assert welcome(Welcome("east", "q1"), WelcomeUnitOfWork(factory, tables, outbox)) == first
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(tables.outbox)) == 2
    assert outbox.committed.is_set()
    engine.dispose()
