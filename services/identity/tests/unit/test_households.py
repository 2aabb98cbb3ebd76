"""CheckSameHousehold: yes or no for the points service's council, never the household."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli_identity.domain.residents import Resident
from linli_identity.entrypoints.grpc_residents import POLICY
from linli_identity.service_layer import residents
from linli_kit.auth import services
from linli_kit.errors import NotFound
from linli_kit.principals import Kind, Principal

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POINTS = Principal(Kind.SERVICE, "spiffe://linli/c-east/points", "c-east")


def add(uow, phone: str, household: str) -> Resident:
    """A resident of c-east with a household."""
    resident = Resident.register("c-east", "居民", phone, "", AT, household=household)
    with uow:
        uow.residents.add(resident)
        uow.commit()
    return resident


def test_only_residents_of_one_recorded_household_share_it(uow) -> None:
    wife, husband = add(uow, "13800000001", "h-12"), add(uow, "13800000002", "h-12")
    neighbour, unknown = add(uow, "13800000003", "h-13"), add(uow, "13800000004", "")
    lonely = add(uow, "13800000005", "")

    def same(a: Resident, b: Resident) -> bool:
        return residents.same_household("c-east", a.id, b.id, uow, actor=POINTS)

    assert same(wife, husband) and same(husband, wife)
    assert not same(wife, neighbour)
    assert not same(unknown, lonely)  # no household recorded: nobody's relative
    with pytest.raises(NotFound):
        residents.same_household("c-east", wife.id, "r-nobody", uow, actor=POINTS)
    with pytest.raises(NotFound):  # another community's service learns nothing
        residents.same_household(
            "c-east",
            wife.id,
            husband.id,
            uow,
            actor=Principal(Kind.SERVICE, "spiffe://linli/c-west/points", "c-west"),
        )


def test_only_the_points_service_may_ask() -> None:
    assert POLICY["CheckSameHousehold"] == services("points")
