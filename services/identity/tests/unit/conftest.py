"""Fixtures for the identity unit tests, built on this folder's fakes.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from linli_kit.testing import load_beside

fakes = load_beside(__file__, "fakes.py", "linli_identity_unit_fakes")


@pytest.fixture
def uow() -> fakes.FakeIdentityUnitOfWork:
    """A fresh in-memory identity unit of work."""
    return fakes.FakeIdentityUnitOfWork()


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """A clock that starts at 2025-03-01 09:00 UTC and moves one minute per reading."""
    readings = iter(
        datetime(2025, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=i) for i in range(10_000)
    )
    return lambda: next(readings)
