"""Fixtures for the points unit tests, built on this folder's fakes.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _load_fakes() -> ModuleType:
    """Load fakes.py by path: fakes modules of other services share its basename."""
    spec = importlib.util.spec_from_file_location(
        "linli_points_unit_fakes", Path(__file__).with_name("fakes.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fakes = _load_fakes()


@pytest.fixture
def uow() -> fakes.FakePointsUnitOfWork:
    """A fresh in-memory points unit of work."""
    return fakes.FakePointsUnitOfWork()
