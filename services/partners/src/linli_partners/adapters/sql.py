"""Small SQL helpers the partners repositories share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession


def locked(query: sa.Select[Any], session: DbSession) -> sa.Select[Any]:
    """The query locking its rows for update (PostgreSQL; SQLite serialises writers anyway)."""
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def insert_once(session: DbSession, statement: Any, refusal: Exception) -> None:
    """Run an insert; a key already taken raises `refusal` and leaves the transaction usable."""
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError:
        raise refusal from None
