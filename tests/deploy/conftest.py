"""Fixtures for the chart checks: the example communities and their renders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# pytest runs with --import-mode=importlib, which puts no test directory on sys.path;
# this makes the helper modules beside this file (chartcheck, metric_refs) importable.
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import chartcheck  # noqa: E402


@pytest.fixture(scope="session")
def examples() -> dict[str, dict[str, Any]]:
    """Every example community's values, by file name."""
    assert len(chartcheck.EXAMPLES) >= 3, "deploy/helm/examples must hold three communities"
    return {p.name: chartcheck.load_values(p) for p in chartcheck.EXAMPLES}


@pytest.fixture(scope="session")
def rendered(examples: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each example community rendered once per session, by file name."""
    out = {}
    for file_name, values in examples.items():
        name, namespace = chartcheck.release_of(values)
        out[file_name] = chartcheck.render(values, name=name, namespace=namespace)
    return out
