"""Fixtures for the partners unit tests: the real SQL adapters on SQLite, points faked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linli_kit.db import migrate, sql_plumbing
from linli_kit.testing import load_beside
from linli_partners.adapters import events, orm
from linli_partners.bootstrap import sql_uow_factory
from linli_partners.entrypoints.cli import MIGRATIONS
from linli_partners.service_layer.ports import PartnersUnitOfWork

fakes = load_beside(__file__, "fakes.py", "linli_partners_unit_fakes")


@pytest.fixture
def clock() -> fakes.FixedClock:
    """A clock set to 2026-06-01 08:00 UTC."""
    return fakes.FixedClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def uow_factory(tmp_path: Path) -> Iterator[Callable[[], PartnersUnitOfWork]]:
    """Units of work over a fresh, migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'partners.db'}"
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "partners.events", events.encode)
    yield sql_uow_factory(plumbing)
    plumbing.engine.dispose()


@pytest.fixture
def points() -> fakes.FakePoints:
    """Points knows r-alice (gold, 1,200 lifetime, 300 this year, 2nd) and r-bob (nothing)."""
    return fakes.FakePoints()
