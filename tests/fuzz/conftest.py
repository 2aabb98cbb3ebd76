"""The fuzz suites' fixtures (one stack and its world for both, from world.py) and the tally.

The matrix runs after the fuzzing in the same world: what it checks (who gets past the door,
what another community is told) does not depend on the state the fuzzing left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from linli_kit.testing import Credentials, Servers, Stack, load_beside

world_module = load_beside(__file__, "world.py", "linli_fuzz_world")


@pytest.fixture(scope="session")
def stack(
    servers: Servers, credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """identity, attendance and points as OS processes on mutual TLS, once for both suites."""
    yield from world_module.running_stack(servers, credentials, tmp_path_factory)


@pytest.fixture(scope="session")
def world(stack: Stack) -> Any:
    """A community, residents, an activity, sessions, a reservation, an appeal… made for real."""
    return world_module.make_world(stack)


_TALLY = pytest.StashKey[dict[str, dict[str, int]]]()


@pytest.fixture
def fuzz_tally(request: pytest.FixtureRequest) -> dict[str, dict[str, int]]:
    """Where each fuzzed RPC records how often it answered with each status."""
    return request.config.stash.setdefault(_TALLY, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per RPC fuzzed, then the totals."""
    tally = terminalreporter.config.stash.get(_TALLY, {})
    if not tally:
        return
    totals: Counter[str] = Counter()
    terminalreporter.section("fuzz: answers per RPC")
    for rpc, seen in sorted(tally.items()):
        totals.update(seen)
        counts = ", ".join(f"{code} {n}" for code, n in Counter(seen).most_common())
        terminalreporter.write_line(f"{rpc}: {sum(seen.values())} calls ({counts})")
    counts = ", ".join(f"{code} {n}" for code, n in totals.most_common())
    terminalreporter.write_line(
        f"total: {sum(totals.values())} calls over {len(tally)} RPCs ({counts})"
    )
