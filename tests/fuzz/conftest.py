"""The fuzz run's tally: calls and answers per RPC, printed at the end of the session."""

from __future__ import annotations

from collections import Counter

import pytest

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
