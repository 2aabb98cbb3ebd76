"""Retries running at the same time with one request id all get the first answer (PostgreSQL)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa
from linli.events.v1 import identity_events_pb2
from sqlalchemy.orm import Session, sessionmaker

from linli_kit.db import Outbox, SqlUnitOfWork, make_engine, runtime_tables
from linli_kit.usecases import idempotent

metadata = sa.MetaData()
tables = runtime_tables(metadata)
badges = sa.Table(
    "badges",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("holder", sa.String(50), nullable=False),
)


@dataclass(frozen=True)
class IssueBadge:
    """A mutating command of a community."""

    community_id: str
    holder: str
    request_id: str


class BadgeUnitOfWork(SqlUnitOfWork):
    """A unit of work with only the runtime tables and one table of badges."""

    def open_repositories(self, session: Session) -> None:
        """No repositories: the use case writes the table directly."""


def _reload(uow: BadgeUnitOfWork, cmd: IssueBadge, badge_id: str) -> str:
    return str(uow.session.scalar(sa.select(badges.c.id).where(badges.c.id == badge_id)))


@idempotent(_reload, reference=str)
def issue_badge(cmd: IssueBadge, uow: BadgeUnitOfWork) -> str:
    """Issue a badge slowly, so that concurrent retries overlap the first attempt."""
    badge_id = uuid.uuid4().hex
    uow.session.execute(
        sa.insert(badges).values(id=badge_id, community_id=cmd.community_id, holder=cmd.holder)
    )
    time.sleep(0.3)
    return badge_id


def test_eight_parallel_retries_get_eight_identical_answers_and_one_effect(
    make_database: Callable[[str], str],
) -> None:
    engine = make_engine(make_database("kit"))
    metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    outbox = Outbox(tables.outbox, "s", lambda e: identity_events_pb2.ResidentRegistered())

    def attempt(community: str) -> str:
        uow = BadgeUnitOfWork(factory, tables, outbox)
        return issue_badge(IssueBadge(community, "wang", request_id="same-id"), uow)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, ["east"] * 8))
        other_community = pool.submit(attempt, "west").result()
    assert len(set(answers)) == 1
    assert other_community != answers[0], "the same id in another community is its own request"
    with engine.connect() as connection:
        rows = connection.execute(sa.select(badges.c.community_id)).scalars().all()
    assert sorted(rows) == ["east", "west"]
    engine.dispose()
