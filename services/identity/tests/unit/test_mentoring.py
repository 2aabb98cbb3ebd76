"""Mentoring pairs (O2): capacity, who may mentor, and the documented success rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli_identity.domain.mentoring import MentoringPairSucceeded, PairStatus
from linli_identity.domain.org import Role
from linli_identity.service_layer.commands import (
    ChangeRole,
    CreateCommunity,
    RegisterResident,
    StartMentoring,
)
from linli_identity.service_layer.mentoring import (
    list_mentoring_pairs,
    start_mentoring,
)
from linli_identity.service_layer.org import (
    change_role,
)
from linli_identity.service_layer.residents import (
    create_community,
    register_resident,
)
from linli_kit.errors import AlreadyExists, FailedPrecondition
from linli_kit.principals import SYSTEM

C = "c-east"


@pytest.fixture
def people(uow, clock) -> list[str]:
    """Resident 0 is a core volunteer; residents 1-5 are newcomers."""
    create_community(CreateCommunity(C, "East Gate", actor=SYSTEM), uow, clock)
    ids = [
        register_resident(
            RegisterResident(C, f"p{n}", f"1380000000{n}", actor=SYSTEM), uow, clock
        ).id
        for n in range(6)
    ]
    change_role(ChangeRole(C, ids[0], Role.CORE_VOLUNTEER, grant=True, actor=SYSTEM), uow, clock)
    uow.published.clear()
    return ids


def test_a_core_volunteer_mentors_at_most_three_newcomers(uow, clock, people) -> None:
    for newcomer in people[1:4]:
        start_mentoring(StartMentoring(C, people[0], newcomer, actor=SYSTEM), uow, clock)
    with pytest.raises(FailedPrecondition, match="at most 3"):
        start_mentoring(StartMentoring(C, people[0], people[4], actor=SYSTEM), uow, clock)
    assert len(list_mentoring_pairs(C, people[0], 0, 50, uow, actor=SYSTEM)[0]) == 3


def test_only_core_volunteers_mentor_and_a_newcomer_has_one_mentor(uow, clock, people) -> None:
    with pytest.raises(FailedPrecondition, match="only a core volunteer"):
        start_mentoring(StartMentoring(C, people[1], people[2], actor=SYSTEM), uow, clock)
    start_mentoring(StartMentoring(C, people[0], people[1], actor=SYSTEM), uow, clock)
    with pytest.raises(AlreadyExists, match="already has a mentor"):
        start_mentoring(StartMentoring(C, people[0], people[1], actor=SYSTEM), uow, clock)


def successes(uow) -> list[MentoringPairSucceeded]:
    """The pair successes published so far (role grants publish their own events)."""
    return [e for e in uow.published if isinstance(e, MentoringPairSucceeded)]


def test_promotion_within_the_window_succeeds_once_and_frees_the_slot(uow, clock, people) -> None:
    for newcomer in people[1:4]:
        start_mentoring(StartMentoring(C, people[0], newcomer, actor=SYSTEM), uow, clock)

    change_role(ChangeRole(C, people[1], Role.VOLUNTEER, grant=True, actor=SYSTEM), uow, clock)

    (event,) = successes(uow)
    assert isinstance(event, MentoringPairSucceeded)
    assert (event.mentor_id, event.newcomer_id) == (people[0], people[1])
    assert (
        list_mentoring_pairs(C, people[1], 0, 50, uow, actor=SYSTEM)[0][0].status
        is PairStatus.SUCCEEDED
    )
    change_role(ChangeRole(C, people[1], Role.CORE_VOLUNTEER, grant=True, actor=SYSTEM), uow, clock)
    assert len(successes(uow)) == 1  # success is recorded once
    start_mentoring(
        StartMentoring(C, people[0], people[4], actor=SYSTEM), uow, clock
    )  # the slot is free


def test_promotion_after_the_window_does_not_count(uow, clock, people) -> None:
    start_mentoring(StartMentoring(C, people[0], people[1], actor=SYSTEM), uow, clock)
    late = clock() + timedelta(days=181)

    change_role(
        ChangeRole(C, people[1], Role.VOLUNTEER, grant=True, actor=SYSTEM), uow, lambda: late
    )

    assert successes(uow) == []
    assert (
        list_mentoring_pairs(C, people[1], 0, 50, uow, actor=SYSTEM)[0][0].status
        is PairStatus.ACTIVE
    )
