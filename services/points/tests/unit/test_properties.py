"""Property tests of the ledger on the in-memory unit of work (P4, P6, P8, R4)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from hypothesis import HealthCheck, settings


def _load(path: Path, name: str) -> ModuleType:
    """Load a test helper by path: helpers of other services share basenames."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


here = Path(__file__).resolve()
fakes = _load(here.with_name("fakes.py"), "linli_points_unit_fakes_for_properties")
machine = _load(here.parents[1] / "ledger_machine.py", "linli_points_ledger_machine")


class FakeLedgerMachine(machine.LedgerMachine):
    """The machine on one in-memory unit of work."""

    def __init__(self) -> None:
        self.make_uow = fakes.FakePointsUnitOfWork()
        super().__init__()


TestLedgerProperties = FakeLedgerMachine.TestCase
TestLedgerProperties.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
