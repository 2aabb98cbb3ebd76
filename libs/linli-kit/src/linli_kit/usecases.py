"""The two shapes every use case takes: an idempotent mutation and a once-per-event reaction.

A handler decorated here does only its work: load, one domain call, save. The decorator owns
the unit of work (open, commit, roll back on error) and the bookkeeping around it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from linli_kit.domain import AbstractUnitOfWork

P = ParamSpec("P")
C = TypeVar("C")
R = TypeVar("R")
U = TypeVar("U", bound=AbstractUnitOfWork)


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


def by_id(result: Any) -> str:
    """The reference of a result that is an entity: its id."""
    return str(result.id)


def idempotent(
    reload: Callable[[U, C, str], R], reference: Callable[[R], str] = by_id
) -> Callable[[Callable[Concatenate[C, U, P], R]], Callable[Concatenate[C, U, P], R]]:
    """A mutation keyed by its command's request id: a retry returns the first result.

    The work runs inside the unit of work and must not commit; its result is remembered as
    `reference(result)` in the same commit, and a retry rebuilds it with
    `reload(uow, command, reference)` without doing the work again — also a retry running at
    the same time, which waits for the first. The same request id with other arguments raises
    IdempotencyConflict. A command without a request id is not deduped.
    """

    def decorate(work: Callable[Concatenate[C, U, P], R]) -> Callable[Concatenate[C, U, P], R]:
        @functools.wraps(work)
        def use_case(cmd: C, uow: U, /, *args: P.args, **kwargs: P.kwargs) -> R:
            with uow:
                if (earlier := uow.requests.claim(cmd)) is not None:
                    return reload(uow, cmd, earlier)
                result = work(cmd, uow, *args, **kwargs)
                uow.requests.complete(cmd, reference(result))
                uow.commit()
                return result

        return use_case

    return decorate


def once_per_event(
    consumer: str,
) -> Callable[[Callable[Concatenate[C, U, P], R]], Callable[Concatenate[C, U, P], R | None]]:
    """A reaction to an event, applied once per (consumer, event id); a redelivery returns None.

    The command must carry `event_id`. The inbox row and the effect commit together, so a
    crash between them repeats both and a second delivery changes nothing.
    """

    def decorate(
        work: Callable[Concatenate[C, U, P], R],
    ) -> Callable[Concatenate[C, U, P], R | None]:
        @functools.wraps(work)
        def use_case(cmd: C, uow: U, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
            with uow:
                if not uow.inbox.first_delivery(consumer, getattr(cmd, "event_id")):  # noqa: B009
                    return None
                result = work(cmd, uow, *args, **kwargs)
                uow.commit()
                return result

        return use_case

    return decorate
