"""What every gRPC servicer does with its use cases: run them off the event loop, each call with
a fresh unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from linli_kit.principals import current_principal


class UseCaseServicer:
    """Runs use cases and queries in a worker thread with a unit of work from `uow_factory`."""

    uow_factory: Callable[[], Any]

    async def _run(self, use_case: Callable[..., Any], cmd: Any, *deps: Any, **kw: Any) -> Any:
        """Run a use case in a worker thread with a fresh unit of work."""
        return await asyncio.to_thread(use_case, cmd, self.uow_factory(), *deps, **kw)

    async def _query(self, query: Callable[..., Any], *args: Any) -> Any:
        """Run a query in a worker thread as the caller, with a fresh unit of work."""
        return await asyncio.to_thread(query, current_principal(), *args, self.uow_factory())
