"""Fixtures for the attendance unit tests, built on this folder's fakes.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli_kit.testing import load_beside

fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")


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
