"""Fixtures for the identity unit tests, built on this folder's fakes.py."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest


def _load_fakes() -> ModuleType:
    """Load fakes.py by path: fakes modules of other services share its basename."""
    spec = importlib.util.spec_from_file_location(
        "linli_identity_unit_fakes", Path(__file__).with_name("fakes.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fakes = _load_fakes()


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
