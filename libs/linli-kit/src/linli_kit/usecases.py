"""The two shapes every use case takes: an idempotent mutation and a once-per-event reaction.

A handler decorated here does only its work: load, one domain call, save. The decorator owns
the unit of work (open, commit, roll back on error) and the bookkeeping around it. The handler
takes its command and its unit of work as its first two parameters; the rest pass through.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from linli_kit.domain import AbstractUnitOfWork
from linli_kit.principals import Principal, require_community

P = ParamSpec("P")
R = TypeVar("R")


def by_id(result: Any) -> str:
    """The reference of a result that is an entity: its id."""
    return str(result.id)


def _command_and_unit_of_work(
    work: Callable[..., Any],
) -> Callable[[tuple[Any, ...], dict[str, Any]], tuple[Any, AbstractUnitOfWork]]:
    """A reader of the first two arguments of a call to `work`, however they are passed."""
    signature = inspect.signature(work)

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, AbstractUnitOfWork]:
        if len(args) >= 2:  # the usual call: binding the signature would cost more than the work
            return args[0], args[1]
        cmd, uow = list(signature.bind_partial(*args, **kwargs).arguments.values())[:2]
        return cmd, uow

    return read


def idempotent(
    reload: Callable[[Any, Any, str], R], reference: Callable[[R], str] = by_id
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A mutation keyed by its command's request id: a retry returns the first result.

    The work runs inside the unit of work and must not commit; its result is remembered as
    `reference(result)` in the same commit, and a retry rebuilds it with
    `reload(uow, command, reference)` without doing the work again — also a retry running at
    the same time, which waits for the first. The same request id with other arguments raises
    IdempotencyConflict. A command without a request id is not deduped. A command carrying
    an `actor` and a `community_id` is refused NotFound for an actor of another community
    before its request id is looked at, so a stranger learns nothing from a reused id.
    """

    def decorate(work: Callable[P, R]) -> Callable[P, R]:
        arguments = _command_and_unit_of_work(work)

        @functools.wraps(work)
        def use_case(*args: P.args, **kwargs: P.kwargs) -> R:
            cmd, uow = arguments(args, kwargs)
            actor, community_id = getattr(cmd, "actor", None), getattr(cmd, "community_id", None)
            if isinstance(actor, Principal) and isinstance(community_id, str):
                require_community(actor, community_id)
            with uow:
                if (earlier := uow.requests.claim(cmd)) is not None:
                    return reload(uow, cmd, earlier)
                result = work(*args, **kwargs)
                uow.requests.complete(cmd, reference(result))
                uow.commit()
                return result

        return use_case

    return decorate


def once_per_event(consumer: str) -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """A reaction to an event, applied once per (consumer, event id); a redelivery returns None.

    The command must carry `event_id`. The inbox row and the effect commit together, so a
    crash between them repeats both and a second delivery changes nothing.
    """

    def decorate(work: Callable[P, R]) -> Callable[P, R | None]:
        arguments = _command_and_unit_of_work(work)

        @functools.wraps(work)
        def use_case(*args: P.args, **kwargs: P.kwargs) -> R | None:
            cmd, uow = arguments(args, kwargs)
            with uow:
                if not uow.inbox.first_delivery(consumer, cmd.event_id):
                    return None
                result = work(*args, **kwargs)
                uow.commit()
                return result

        return use_case

    return decorate
