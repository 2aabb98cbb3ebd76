"""Identity use cases against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli_identity.domain.residents import ResidentRegistered
from linli_identity.service_layer.commands import (
    CreateCommunity,
    RegisterResident,
)
from linli_identity.service_layer.residents import (
    create_community,
    get_community,
    get_resident,
    list_residents,
    register_resident,
)
from linli_kit.errors import AlreadyExists, IdempotencyConflict, InvalidArgument, NotFound
from linli_kit.principals import SYSTEM

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def east(uow, clock) -> None:
    """The c-east community exists, and nothing has been committed or published since."""
    create_community(CreateCommunity("c-east", "East Gate", actor=SYSTEM), uow, clock)
    uow.committed = False
    uow.published.clear()


def test_create_community_stores_it_and_a_retry_returns_it(uow, clock) -> None:
    cmd = CreateCommunity("c-east", "East Gate", request_id="q1", actor=SYSTEM)

    first = create_community(cmd, uow, clock)
    again = create_community(cmd, uow, clock)

    assert (again.id, again.display_name, again.created_at) == ("c-east", "East Gate", START)
    assert first.id == again.id
    assert get_community("c-east", uow, actor=SYSTEM).display_name == "East Gate"
    assert list(uow.communities.rows) == ["c-east"]


def test_a_community_id_is_taken_once(uow, clock) -> None:
    create_community(CreateCommunity("c-east", "East Gate", actor=SYSTEM), uow, clock)

    with pytest.raises(AlreadyExists, match="c-east"):
        create_community(CreateCommunity("c-east", "Other", actor=SYSTEM), uow, clock)


def test_get_community_of_an_unknown_id_is_not_found(uow) -> None:
    with pytest.raises(NotFound, match="c-nowhere"):
        get_community("c-nowhere", uow, actor=SYSTEM)


@pytest.mark.usefixtures("east")
def test_register_stores_the_resident_and_publishes_one_event_on_commit(uow, clock) -> None:
    cmd = RegisterResident(
        "c-east", "Wang Fang", "138-0013-8000", "grid-3", request_id="q1", actor=SYSTEM
    )

    resident = register_resident(cmd, uow, clock)

    assert uow.committed
    assert uow.published == [
        ResidentRegistered(
            community_id="c-east",
            occurred_at=START + timedelta(minutes=1),
            resident_id=resident.id,
            display_name="Wang Fang",
            org_unit="grid-3",
        )
    ]
    stored = get_resident("c-east", resident.id, uow, actor=SYSTEM)
    assert (stored.display_name, stored.phone, stored.org_unit) == (
        "Wang Fang",
        "13800138000",
        "grid-3",
    )


def test_register_in_an_unknown_community_is_not_found(uow, clock) -> None:
    with pytest.raises(NotFound, match="c-nowhere"):
        register_resident(
            RegisterResident("c-nowhere", "Wang Fang", "13800138000", actor=SYSTEM), uow, clock
        )

    assert not uow.committed
    assert uow.residents.rows == {}


@pytest.mark.usefixtures("east")
def test_bad_details_are_refused_before_anything_is_stored(uow, clock) -> None:
    with pytest.raises(InvalidArgument, match="11-digit"):
        register_resident(
            RegisterResident("c-east", "Wang Fang", "12345", actor=SYSTEM), uow, clock
        )

    assert not uow.committed
    assert uow.residents.rows == {}


@pytest.mark.usefixtures("east")
def test_a_phone_number_is_registered_once_per_community(uow, clock) -> None:
    register_resident(
        RegisterResident("c-east", "Wang Fang", "13800138000", actor=SYSTEM), uow, clock
    )
    uow.committed = False

    with pytest.raises(AlreadyExists, match="phone number"):
        register_resident(
            RegisterResident("c-east", "Li Lei", "138 0013 8000", actor=SYSTEM), uow, clock
        )

    assert not uow.committed
    assert len(uow.residents.rows) == 1
    assert len(uow.published) == 1


@pytest.mark.usefixtures("east")
def test_the_same_phone_number_may_live_in_another_community(uow, clock) -> None:
    create_community(CreateCommunity("c-west", "West Gate", actor=SYSTEM), uow, clock)
    register_resident(
        RegisterResident("c-east", "Wang Fang", "13800138000", actor=SYSTEM), uow, clock
    )

    other = register_resident(
        RegisterResident("c-west", "Wang Fang", "13800138000", actor=SYSTEM), uow, clock
    )

    assert other.community_id == "c-west"
    assert len(uow.residents.rows) == 2


@pytest.mark.usefixtures("east")
def test_a_retry_with_the_same_request_id_returns_the_same_resident(uow, clock) -> None:
    cmd = RegisterResident("c-east", "Wang Fang", "13800138000", request_id="q1", actor=SYSTEM)

    first = register_resident(cmd, uow, clock)
    again = register_resident(cmd, uow, clock)

    assert again.id == first.id
    assert len(uow.residents.rows) == 1
    assert [e.resident_id for e in uow.published] == [first.id]


@pytest.mark.usefixtures("east")
def test_the_same_request_id_with_other_arguments_is_a_conflict(uow, clock) -> None:
    register_resident(
        RegisterResident("c-east", "Wang Fang", "13800138000", request_id="q1", actor=SYSTEM),
        uow,
        clock,
    )

    with pytest.raises(IdempotencyConflict, match="q1"):
        register_resident(
            RegisterResident("c-east", "Li Lei", "13900139000", request_id="q1", actor=SYSTEM),
            uow,
            clock,
        )

    assert len(uow.residents.rows) == 1


@pytest.mark.usefixtures("east")
def test_without_a_request_id_a_second_attempt_is_a_duplicate(uow, clock) -> None:
    cmd = RegisterResident("c-east", "Wang Fang", "13800138000", actor=SYSTEM)
    register_resident(cmd, uow, clock)

    with pytest.raises(AlreadyExists):
        register_resident(cmd, uow, clock)


@pytest.mark.usefixtures("east")
def test_get_resident_of_an_unknown_id_is_not_found(uow) -> None:
    with pytest.raises(NotFound, match="communities/c-east/residents/r-nobody"):
        get_resident("c-east", "r-nobody", uow, actor=SYSTEM)


@pytest.mark.usefixtures("east")
def test_a_resident_is_not_found_through_another_community(uow, clock) -> None:
    create_community(CreateCommunity("c-west", "West Gate", actor=SYSTEM), uow, clock)
    resident = register_resident(
        RegisterResident("c-east", "Wang Fang", "13800138000", actor=SYSTEM), uow, clock
    )

    with pytest.raises(NotFound):
        get_resident("c-west", resident.id, uow, actor=SYSTEM)


@pytest.mark.usefixtures("east")
def test_list_residents_pages_oldest_first(uow, clock) -> None:
    ids = [
        register_resident(
            RegisterResident("c-east", f"Resident {i}", f"1380013800{i}", actor=SYSTEM), uow, clock
        ).id
        for i in range(5)
    ]

    first, more_after_first = list_residents("c-east", 0, 2, uow, actor=SYSTEM)
    last, more_after_last = list_residents("c-east", 4, 2, uow, actor=SYSTEM)

    assert ([r.id for r in first], more_after_first) == (ids[:2], True)
    assert ([r.id for r in last], more_after_last) == (ids[4:], False)


@pytest.mark.usefixtures("east")
def test_a_page_ending_at_the_last_resident_says_no_more(uow, clock) -> None:
    for i in range(2):
        register_resident(
            RegisterResident("c-east", f"Resident {i}", f"1380013800{i}", actor=SYSTEM), uow, clock
        )

    page, more = list_residents("c-east", 0, 2, uow, actor=SYSTEM)

    assert (len(page), more) == (2, False)


def test_list_residents_of_an_unknown_community_is_not_found(uow) -> None:
    with pytest.raises(NotFound, match="c-nowhere"):
        list_residents("c-nowhere", 0, 10, uow, actor=SYSTEM)
