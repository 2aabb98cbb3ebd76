"""Residents and communities: validation and the event a registration raises (I1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli_identity.domain.residents import Community, Resident, ResidentRegistered
from linli_kit.errors import InvalidArgument

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def register(
    phone: str = "13800138000", display_name: str = "Wang Fang", org_unit: str = "grid-3/building-7"
) -> Resident:
    """A resident of c-east registered at AT."""
    return Resident.register("c-east", display_name, phone, org_unit, AT)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        (" 199-9999 9999\t", "19999999999"),
    ],
)
def test_phone_numbers_lose_spaces_and_hyphens(given: str, stored: str) -> None:
    assert register(phone=given).phone == stored


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "12800138000",
        "10800138000",
        "23800138000",
        "1380013800",
        "138001380001",
        "+8613800138000",
        "1380013800a",
        "138.0013.8000",
    ],
)
def test_other_phone_numbers_are_refused(phone: str) -> None:
    with pytest.raises(InvalidArgument, match="11-digit mobile number"):
        register(phone=phone)


@pytest.mark.parametrize("name", ["", "   "])
def test_a_display_name_is_required(name: str) -> None:
    with pytest.raises(InvalidArgument, match="display_name is required"):
        register(display_name=name)


def test_a_display_name_has_at_most_50_characters() -> None:
    assert register(display_name="王" * 50).display_name == "王" * 50
    with pytest.raises(InvalidArgument, match="display_name is longer than 50"):
        register(display_name="王" * 51)


def test_names_and_org_units_are_trimmed() -> None:
    resident = register(display_name="  Wang Fang ", org_unit=" grid-3 ")

    assert (resident.display_name, resident.org_unit) == ("Wang Fang", "grid-3")


def test_an_org_unit_has_at_most_100_characters() -> None:
    assert register(org_unit="g" * 100).org_unit == "g" * 100
    with pytest.raises(InvalidArgument, match="org_unit is longer than 100"):
        register(org_unit="g" * 101)


def test_the_org_unit_limit_applies_after_trimming() -> None:
    assert register(org_unit=" " + "g" * 100 + " ").org_unit == "g" * 100


def test_registration_raises_one_resident_registered_event() -> None:
    resident = register()

    assert resident.events == [
        ResidentRegistered(
            community_id="c-east",
            occurred_at=AT,
            resident_id=resident.id,
            display_name="Wang Fang",
            org_unit="grid-3/building-7",
        )
    ]


def test_each_resident_gets_a_new_id() -> None:
    first, second = register(), register()

    assert first.id != second.id
    assert first.id.startswith("r")
    assert len(first.id) == 33


def test_a_community_validates_its_id_and_name() -> None:
    community = Community.create("c-east", " East Gate ", AT)

    assert (community.id, community.display_name, community.created_at) == (
        "c-east",
        "East Gate",
        AT,
    )
    with pytest.raises(InvalidArgument, match="community_id"):
        Community.create("East_Gate", "East Gate", AT)
    with pytest.raises(InvalidArgument, match="display_name is required"):
        Community.create("c-east", "", AT)
