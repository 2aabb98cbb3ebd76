"""The use-case helpers: idempotent mutations and once-per-event reactions, on an in-memory UoW."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from linli_kit.domain import (
    AbstractUnitOfWork,
    Aggregate,
    DomainEvent,
    Repository,
    fingerprint,
    utc_now,
)
from linli_kit.errors import IdempotencyConflict, NotFound
from linli_kit.fakes import InMemoryInbox, InMemoryRequestLog
from linli_kit.principals import Kind, Principal
from linli_kit.usecases import idempotent, once_per_event


@dataclass(frozen=True, kw_only=True)
class Named(DomainEvent):
    """A test event."""

    name: str


@dataclass(kw_only=True, eq=False)
class Badge(Aggregate):
    """A test aggregate that records an event when issued."""

    id: str
    holder: str


@dataclass
class Badges(Repository):
    """A dict of badges."""

    rows: dict[str, Badge] = field(default_factory=dict)

    def add(self, badge: Badge) -> None:
        """Store a badge."""
        self.rows[badge.id] = badge

    def get(self, badge_id: str) -> Badge | None:
        """One badge, or None."""
        return self.rows.get(badge_id)

    def all(self) -> list[Badge]:
        """Every badge."""
        return list(self.rows.values())


class FakeUnitOfWork(AbstractUnitOfWork):
    """Commits by keeping the badges and the events; rolls back by forgetting the new ones."""

    def __init__(self) -> None:
        self.requests = InMemoryRequestLog()
        self.inbox = InMemoryInbox()
        self.badges = Badges()
        self.published: list[DomainEvent] = []
        self.commits = 0
        self._committed: dict[str, Badge] = {}

    def commit(self) -> None:
        self.published.extend(self.collect_new_events())
        self._committed = dict(self.badges.rows)
        self.commits += 1

    def rollback(self) -> None:
        self.badges.rows = dict(self._committed)


@dataclass(frozen=True)
class IssueBadge:
    """A mutating command."""

    holder: str
    request_id: str = ""


@dataclass(frozen=True)
class BadgeEarned:
    """An event-driven command."""

    event_id: str
    holder: str


def _reload(uow: FakeUnitOfWork, cmd: IssueBadge, badge_id: str) -> Badge:
    found = uow.badges.get(badge_id)
    if found is None:
        raise NotFound(badge_id)
    return found


@idempotent(_reload)
def issue_badge(cmd: IssueBadge, uow: FakeUnitOfWork, prefix: str = "b") -> Badge:
    """Issue a badge; refuses a holder named 'nobody' after writing, to test the rollback."""
    badge = Badge(id=f"{prefix}{len(uow.badges.rows) + 1}", holder=cmd.holder)
    badge.events.append(Named(community_id="c", occurred_at=utc_now(), name=cmd.holder))
    uow.badges.add(badge)
    if cmd.holder == "nobody":
        raise ValueError("no such holder")
    return badge


@once_per_event("test.badges")
def on_badge_earned(cmd: BadgeEarned, uow: FakeUnitOfWork) -> Badge:
    """Issue a badge for an event."""
    badge = Badge(id=cmd.event_id, holder=cmd.holder)
    uow.badges.add(badge)
    return badge


def test_a_retry_returns_the_first_result_without_doing_the_work_again() -> None:
    uow = FakeUnitOfWork()
    first = issue_badge(IssueBadge("wang", request_id="r1"), uow)
    again = issue_badge(IssueBadge("wang", request_id="r1"), uow)
    assert again is first
    assert len(uow.badges.rows) == 1
    assert uow.commits == 1
    assert [e.name for e in uow.published] == ["wang"]  # type: ignore[attr-defined]


def test_the_same_request_id_with_other_arguments_is_refused() -> None:
    uow = FakeUnitOfWork()
    issue_badge(IssueBadge("wang", request_id="r1"), uow)
    with pytest.raises(IdempotencyConflict):
        issue_badge(IssueBadge("li", request_id="r1"), uow)
    assert len(uow.badges.rows) == 1


def test_dependencies_pass_through_to_the_work() -> None:
    uow = FakeUnitOfWork()
    assert issue_badge(IssueBadge("wang"), uow, prefix="x").id == "x1"


def test_without_a_request_id_each_call_is_new() -> None:
    uow = FakeUnitOfWork()
    issue_badge(IssueBadge("wang"), uow)
    issue_badge(IssueBadge("wang"), uow)
    assert len(uow.badges.rows) == 2


def test_a_failed_mutation_commits_nothing_and_is_not_remembered() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(ValueError):
        issue_badge(IssueBadge("nobody", request_id="r1"), uow)
    assert uow.badges.rows == {}
    assert uow.commits == 0
    assert uow.requests.entries == {}


def test_an_event_is_applied_once_per_consumer() -> None:
    uow = FakeUnitOfWork()
    assert on_badge_earned(BadgeEarned("e1", "wang"), uow) is not None
    assert on_badge_earned(BadgeEarned("e1", "wang"), uow) is None
    assert list(uow.badges.rows) == ["e1"]
    assert uow.commits == 1


def test_repositories_see_what_they_are_given_and_hand_out() -> None:
    uow = FakeUnitOfWork()
    given = Badge(id="b1", holder="wang")
    uow.badges.add(given)
    stored = Badge(id="b2", holder="li")
    uow.badges.rows["b2"] = stored
    assert uow.badges.seen == [given]
    uow.badges.all()
    assert uow.badges.seen == [given, stored]
    assert uow.repositories() == [uow.badges]


def test_events_on_aggregates_handed_out_are_published() -> None:
    uow = FakeUnitOfWork()
    uow.badges.rows["b1"] = Badge(id="b1", holder="wang")
    with uow:
        badge = uow.badges.get("b1")
        assert badge is not None
        badge.events.append(Named(community_id="c", occurred_at=utc_now(), name="later"))
        uow.commit()
    assert [e.name for e in uow.published] == ["later"]  # type: ignore[attr-defined]


def test_a_command_counts_its_actor_by_who_they_are_not_by_their_roles() -> None:
    @dataclasses.dataclass(frozen=True)
    class Act:
        request_id: str
        actor: Principal

    alice = Principal(Kind.PERSON, "communities/c/residents/a", "c", frozenset({"volunteer"}))
    promoted = dataclasses.replace(alice, roles=frozenset({"volunteer", "core_volunteer"}))
    bob = dataclasses.replace(alice, subject="communities/c/residents/b")
    assert fingerprint(Act("r1", alice)) == fingerprint(Act("r2", promoted))
    assert fingerprint(Act("r1", alice)) != fingerprint(Act("r1", bob))


def test_an_actor_of_another_community_is_not_told_a_request_id_was_used() -> None:
    @dataclass(frozen=True)
    class Act:
        request_id: str
        community_id: str
        actor: Principal

    uow = FakeUnitOfWork()
    act = idempotent(lambda uow, cmd, ref: ref, reference=str)(lambda cmd, uow: "done")
    local = Principal(Kind.PERSON, "communities/c1/residents/a", "c1")
    assert act(Act("r1", "c1", local), uow) == "done"
    stranger = Principal(Kind.PERSON, "communities/c2/residents/b", "c2")
    with pytest.raises(NotFound):
        act(Act("r1", "c1", stranger), uow)
