"""Reloading a recorded run: how a retried close, rebuild or committee change answers again."""

from __future__ import annotations

from typing import Protocol

from linli_kit.errors import NotFound
from linli_points.domain.runs import Run
from linli_points.service_layer.ports import PointsUnitOfWork


class InCommunity(Protocol):
    """A command about one community."""

    @property
    def community_id(self) -> str: ...


def reload_run(uow: PointsUnitOfWork, cmd: InCommunity, reference: str) -> Run:
    """The run a first request recorded (its id is the request's reference), or NotFound."""
    run = uow.runs.get(cmd.community_id, reference)
    if run is None:
        raise NotFound(f"no run {reference} in {cmd.community_id}")
    return run
