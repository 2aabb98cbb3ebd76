"""Fixtures for the training unit tests: the real SQL adapters on SQLite, attendance faked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linli_kit.db import migrate, sql_plumbing
from linli_kit.testing import load_beside
from linli_training.adapters import events, orm
from linli_training.bootstrap import sql_uow_factory
from linli_training.entrypoints.cli import MIGRATIONS
from linli_training.service_layer.ports import TrainingUnitOfWork

fakes = load_beside(__file__, "fakes.py", "linli_training_unit_fakes")


@pytest.fixture
def clock() -> fakes.FixedClock:
    """A clock set to 2026-06-01 08:00 UTC."""
    return fakes.FixedClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def uow_factory(tmp_path: Path) -> Iterator[Callable[[], TrainingUnitOfWork]]:
    """Units of work over a fresh, migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'training.db'}"
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "training.events", events.encode)
    yield sql_uow_factory(plumbing)
    plumbing.engine.dispose()


@pytest.fixture
def attendance() -> fakes.FakeAttendance:
    """Attendance that plans every activity it is asked for."""
    return fakes.FakeAttendance()
