"""Statements gathered to run as one: on PostgreSQL a single WITH statement, one round trip."""

from __future__ import annotations

import functools
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

# Where the guard goes in a part: a WHERE of its own (inserts) or one more condition (updates).
WHERE, AND = "\x00where", "\x00and"


def _json_value(value: object) -> str:
    """Bytes, which JSON has no type for, as PostgreSQL's text input for bytea reads them."""
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    raise TypeError(f"{type(value).__name__} cannot be written in bulk")


@functools.lru_cache(maxsize=256)
def _record_columns(table: sa.Table, names: tuple[str, ...], dialect: sa.Dialect) -> str:
    """The names and types of a record's columns: a column of the table has its type; any other
    (a delta) is a BIGINT."""
    kinds = (table.c[n].type if n in table.c else sa.BigInteger() for n in names)
    return ", ".join(f"{n} {k.compile(dialect=dialect)}" for n, k in zip(names, kinds, strict=True))


@functools.lru_cache(maxsize=256)
def _statement(text: str) -> sa.TextClause:
    """The statement of a text, built once: building one parses the text for its parameters."""
    return sa.text(text)


class BulkWrite:
    """Inserts and updates of a batch, each from one JSON document of its rows (PostgreSQL
    `json_to_recordset`: one parameter, encoded by orjson, whatever the number of rows).

    On PostgreSQL every part becomes a data-modifying WITH query of one statement (each runs
    to completion; foreign keys are checked at its end). A guarded insert comes first: the other
    parts write only if it inserted every one of its rows. Elsewhere (SQLite) each part runs as
    its own statement, in order.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect
        self.parts: list[str] = []
        self.params: dict[str, Any] = {}
        self.guard: tuple[str, int] | None = None
        self.returned: list[tuple[Any, ...]] = []

    @property
    def postgres(self) -> bool:
        """Whether the parts are gathered into one statement."""
        return self.dialect.name == "postgresql"

    def _source(self, table: sa.Table, rows: list[dict[str, Any]], alias: str) -> str:
        key = f"p{len(self.params)}"
        # orjson writes datetimes as RFC 3339, which timestamptz reads.
        self.params[key] = orjson.dumps(rows, default=_json_value).decode()
        columns = _record_columns(table, tuple(rows[0]), self.dialect)
        return f"json_to_recordset(CAST(:{key} AS json)) AS {alias}({columns})"

    def insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows."""
        if not rows:
            return
        if not self.postgres:
            self.session.execute(sa.insert(table), rows)
            return
        source = self._source(table, rows, "u")
        self.parts.append(
            f"INSERT INTO {table.name} ({', '.join(rows[0])}) SELECT * FROM {source}{WHERE}"
        )

    def guarded_insert(self, table: sa.Table, rows: list[dict[str, Any]], key: str) -> None:
        """Insert rows that do not exist yet, first; `returned` holds the keys inserted. On
        PostgreSQL the other parts write nothing unless every row was inserted."""
        if not rows:
            return
        if self.parts or self.guard:
            raise RuntimeError("the guarded insert comes first, and once")
        if not self.postgres:
            inserted = self.session.execute(
                sqlite.insert(table)
                .on_conflict_do_nothing()
                .returning(*(table.c[k] for k in key.split(", "))),
                rows,
            ).all()
            self.returned = [tuple(r) for r in inserted]
            return
        source = self._source(table, rows, "u")
        self.parts.append(
            f"INSERT INTO {table.name} ({', '.join(rows[0])}) SELECT * FROM {source} "
            f"ON CONFLICT DO NOTHING RETURNING {key}"
        )
        self.guard = (key, len(rows))

    def update_from(
        self, table: sa.Table, key: str, rows: list[dict[str, Any]], assign: str
    ) -> None:
        """UPDATE table SET assign FROM the rows (named `change`), matched on key (one column or
        several, "a, b")."""
        if not rows:
            return
        keys = key.split(", ")
        if not self.postgres:
            match = " AND ".join(f"{k} = :{k}" for k in keys)
            self.session.execute(
                sa.text(f"UPDATE {table.name} SET {assign.replace('change.', ':')} WHERE {match}"),
                rows,
            )
            return
        source = self._source(table, rows, "change")
        match = " AND ".join(f"{table.name}.{k} = change.{k}" for k in keys)
        self.parts.append(f"UPDATE {table.name} SET {assign} FROM {source} WHERE {match}{AND}")

    def run(self) -> None:
        """Run what was gathered (on PostgreSQL: now, as one statement)."""
        if not self.parts:
            return
        condition = ""
        if self.guard is not None:
            # A parameter, not a literal: batches of any size share one text, which PostgreSQL
            # then plans once (psycopg prepares a statement it has seen a few times).
            condition = "(SELECT count(*) FROM w0) = :guarded_rows"
            self.params["guarded_rows"] = self.guard[1]
        queries = []
        for n, part in enumerate(self.parts):
            where = f" WHERE {condition}" if condition and n else ""
            also = f" AND {condition}" if condition and n else ""
            queries.append(f"w{n} AS ({part.replace(WHERE, where).replace(AND, also)})")
        final = f"SELECT {self.guard[0]} FROM w0" if self.guard else "SELECT 1"
        result = self.session.execute(_statement(f"WITH {', '.join(queries)} {final}"), self.params)
        if self.guard:
            self.returned = [tuple(r) for r in result]
        self.parts, self.params, self.guard = [], {}, None
