"""Statements gathered to run as one: on PostgreSQL a single WITH statement, one round trip."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linli_kit.db import dialect_insert

# Where the guard goes in a part: a WHERE of its own (inserts) or one more condition (updates).
WHERE, AND = "\x00where", "\x00and"


class BulkWrite:
    """Inserts and updates of a batch, each from one array per column (PostgreSQL `unnest`).

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

    def _arrays(self, table: sa.Table, columns: dict[str, list[Any]]) -> str:
        casts = []
        for name, values in columns.items():
            key = f"p{len(self.params)}"
            self.params[key] = values
            # A column of the table has its type; any other (a delta) is a BIGINT.
            kind = table.c[name].type if name in table.c else sa.BigInteger()
            casts.append(f"CAST(:{key} AS {kind.compile(dialect=self.dialect)}[])")
        return f"unnest({', '.join(casts)})"

    def insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows."""
        if not rows:
            return
        if not self.postgres:
            self.session.execute(sa.insert(table), rows)
            return
        names = list(rows[0])
        source = self._arrays(table, {n: [row[n] for row in rows] for n in names})
        self.parts.append(
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM {source} AS u{WHERE}"
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
                dialect_insert(self.session, table)
                .on_conflict_do_nothing()
                .returning(*(table.c[k] for k in key.split(", "))),
                rows,
            ).all()
            self.returned = [tuple(r) for r in inserted]
            return
        names = list(rows[0])
        source = self._arrays(table, {n: [row[n] for row in rows] for n in names})
        self.parts.append(
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM {source} "
            f"ON CONFLICT DO NOTHING RETURNING {key}"
        )
        self.guard = (key, len(rows))

    def update_from(
        self, table: sa.Table, key: str, columns: dict[str, list[Any]], assign: str
    ) -> None:
        """UPDATE table SET assign FROM the arrays (named `change`), matched on key (one column
        or several, "a, b")."""
        keys = key.split(", ")
        if not columns[keys[0]]:
            return
        if not self.postgres:
            names = list(columns)
            match = " AND ".join(f"{k} = :{k}" for k in keys)
            self.session.execute(
                sa.text(f"UPDATE {table.name} SET {assign.replace('change.', ':')} WHERE {match}"),
                [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)],
            )
            return
        source = self._arrays(table, columns)
        match = " AND ".join(f"{table.name}.{k} = change.{k}" for k in keys)
        self.parts.append(
            f"UPDATE {table.name} SET {assign} FROM {source} AS change({', '.join(columns)}) "
            f"WHERE {match}{AND}"
        )

    def run(self) -> None:
        """Run what was gathered (on PostgreSQL: now, as one statement)."""
        if not self.parts:
            return
        condition = "" if self.guard is None else f"(SELECT count(*) FROM w0) = {self.guard[1]}"
        queries = []
        for n, part in enumerate(self.parts):
            where = f" WHERE {condition}" if condition and n else ""
            also = f" AND {condition}" if condition and n else ""
            queries.append(f"w{n} AS ({part.replace(WHERE, where).replace(AND, also)})")
        final = f"SELECT {self.guard[0]} FROM w0" if self.guard else "SELECT 1"
        result = self.session.execute(sa.text(f"WITH {', '.join(queries)} {final}"), self.params)
        if self.guard:
            self.returned = [tuple(r) for r in result]
        self.parts, self.params, self.guard = [], {}, None
