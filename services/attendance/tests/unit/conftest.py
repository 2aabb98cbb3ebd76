"""Fixtures for the attendance unit tests, built on this folder's fakes.py."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest


def _load_fakes() -> ModuleType:
    """Load fakes.py by path: fakes modules of other services share its basename."""
    spec = importlib.util.spec_from_file_location(
        "linli_attendance_unit_fakes", Path(__file__).with_name("fakes.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fakes = _load_fakes()


@pytest.fixture
def uow() -> fakes.FakeAttendanceUnitOfWork:
    """A fresh in-memory attendance unit of work."""
    return fakes.FakeAttendanceUnitOfWork()


@pytest.fixture
def directory() -> fakes.FakeResidentDirectory:
    """Identity knows residents r-alice and r-bob and staff member r-staff in c-east."""
    return fakes.FakeResidentDirectory(
        ("c-east", "r-alice"), ("c-east", "r-bob"), ("c-east", "r-staff")
    )


@pytest.fixture
def clock() -> fakes.FixedClock:
    """A clock set to 2025-03-01 08:00 UTC."""
    return fakes.FixedClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def faces() -> fakes.FakeFaceIdentifier:
    """Identity's face search: the first frame of a burst names the resident it finds."""
    return fakes.FakeFaceIdentifier(fakes.FaceMatch("dlib", "resnet-v1", 0.91, 0.6))
