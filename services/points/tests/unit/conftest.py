"""Fixtures for the points unit tests, built on this folder's fakes.py."""

from __future__ import annotations

import pytest

from linli_kit.testing import load_beside

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")


@pytest.fixture
def uow() -> fakes.FakePointsUnitOfWork:
    """A fresh in-memory points unit of work."""
    return fakes.FakePointsUnitOfWork()
