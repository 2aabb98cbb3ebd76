"""Fixtures for the rewards unit tests: the real SQL adapters on SQLite, points faked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from linli_kit.db import migrate, sql_plumbing
from linli_kit.paseto import dev_seeds
from linli_kit.testing import load_beside
from linli_rewards.adapters import events, orm
from linli_rewards.adapters.vouchers import PasetoVouchers
from linli_rewards.bootstrap import sql_uow_factory
from linli_rewards.entrypoints.cli import MIGRATIONS
from linli_rewards.service_layer.ports import RewardsUnitOfWork
from linli_rewards.service_layer.redemptions import Saga

fakes = load_beside(__file__, "fakes.py", "linli_rewards_unit_fakes")


@pytest.fixture
def clock() -> fakes.FixedClock:
    """A clock set to 2026-06-01 08:00 UTC."""
    return fakes.FixedClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def uow_factory(tmp_path: Path) -> Callable[[], RewardsUnitOfWork]:
    """Units of work over a fresh, migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'rewards.db'}"
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "rewards.events", events.encode)
    yield sql_uow_factory(plumbing)
    plumbing.engine.dispose()


@pytest.fixture
def points() -> fakes.FakePoints:
    """Points with residents r-alice and r-bob holding 10 points each."""
    return fakes.FakePoints({"r-alice": 1000, "r-bob": 1000})


@pytest.fixture
def signer() -> PasetoVouchers:
    """The development voucher key."""
    return PasetoVouchers(dev_seeds("voucher"), "dev")


@pytest.fixture
def saga(uow_factory, points, signer, clock) -> Saga:
    """The saga over the SQLite database and the fake points."""
    return Saga(uow_factory, points, signer, clock)


@pytest.fixture
def later(clock) -> Callable[[float], None]:
    """Move the clock on by some seconds."""

    def move(seconds: float) -> None:
        clock.now += timedelta(seconds=seconds)

    return move
