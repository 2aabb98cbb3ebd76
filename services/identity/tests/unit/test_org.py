"""The three-level network, roles and the soft-limit size report (I1), with fakes."""

from __future__ import annotations

import pytest

from linli_identity.domain.org import OrgLevel, Role
from linli_identity.service_layer.commands import (
    ChangeRole,
    CreateCommunity,
    CreateOrgUnit,
    RegisterResident,
)
from linli_identity.service_layer.org import (
    change_role,
    create_org_unit,
    list_org_units,
    org_size_report,
)
from linli_identity.service_layer.residents import (
    create_community,
    get_resident,
    register_resident,
)
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from linli_kit.principals import SYSTEM

C = "c-east"


@pytest.fixture
def tree(uow, clock) -> dict[str, str]:
    """HQ → grid "g1" → buildings "b1" and "b2"."""
    create_community(CreateCommunity(C, "East Gate", actor=SYSTEM), uow, clock)
    hq = create_org_unit(CreateOrgUnit(C, OrgLevel.COMMUNITY_HQ, "HQ", actor=SYSTEM), uow, clock)
    grid = create_org_unit(
        CreateOrgUnit(C, OrgLevel.GRID_STATION, "Grid 1", hq.id, actor=SYSTEM), uow, clock
    )
    ids = {"hq": hq.id, "g1": grid.id}
    for name in ("b1", "b2"):
        cmd = CreateOrgUnit(C, OrgLevel.BUILDING_GROUP, name, grid.id, actor=SYSTEM)
        ids[name] = create_org_unit(cmd, uow, clock).id
    return ids


def resident(uow, clock, n: int, home: str, household: str) -> str:
    cmd = RegisterResident(
        C, f"r{n}", f"138{n:08d}", household=household, home_unit_id=home, actor=SYSTEM
    )
    return register_resident(cmd, uow, clock).id


def test_units_nest_by_level(uow, clock, tree) -> None:
    assert [u.level for u in list_org_units(C, 0, 50, uow, actor=SYSTEM)[0]] == [
        OrgLevel.COMMUNITY_HQ,
        OrgLevel.GRID_STATION,
        OrgLevel.BUILDING_GROUP,
        OrgLevel.BUILDING_GROUP,
    ]
    with pytest.raises(InvalidArgument, match="building_group belongs under a grid_station"):
        create_org_unit(
            CreateOrgUnit(C, OrgLevel.BUILDING_GROUP, "x", tree["hq"], actor=SYSTEM), uow, clock
        )
    with pytest.raises(InvalidArgument, match="grid_station belongs under"):
        create_org_unit(CreateOrgUnit(C, OrgLevel.GRID_STATION, "x", actor=SYSTEM), uow, clock)
    with pytest.raises(AlreadyExists, match="HQ"):
        create_org_unit(CreateOrgUnit(C, OrgLevel.COMMUNITY_HQ, "HQ 2", actor=SYSTEM), uow, clock)
    with pytest.raises(NotFound):
        create_org_unit(
            CreateOrgUnit(C, OrgLevel.GRID_STATION, "x", "unope", actor=SYSTEM), uow, clock
        )


def test_residents_start_as_residents_and_take_roles_that_fit_their_home(uow, clock, tree) -> None:
    ann = resident(uow, clock, 1, tree["b1"], "1-101")
    bob = resident(uow, clock, 2, tree["hq"], "")
    assert get_resident(C, ann, uow, actor=SYSTEM).roles == {Role.RESIDENT}

    change_role(ChangeRole(C, ann, Role.BUILDING_LIAISON, grant=True, actor=SYSTEM), uow)
    change_role(ChangeRole(C, ann, Role.CORE_VOLUNTEER, grant=True, actor=SYSTEM), uow)
    assert get_resident(C, ann, uow, actor=SYSTEM).roles == {
        Role.RESIDENT,
        Role.BUILDING_LIAISON,
        Role.CORE_VOLUNTEER,
    }
    with pytest.raises(FailedPrecondition, match="grid_head needs a home unit"):
        change_role(ChangeRole(C, bob, Role.GRID_HEAD, grant=True, actor=SYSTEM), uow)
    change_role(ChangeRole(C, ann, Role.CORE_VOLUNTEER, grant=False, actor=SYSTEM), uow)
    assert Role.CORE_VOLUNTEER not in get_resident(C, ann, uow, actor=SYSTEM).roles


def test_size_report_counts_subtrees_and_warns_outside_the_policy(uow, clock, tree) -> None:
    for n in range(25):  # 25 households in b1, two people in the first one
        resident(uow, clock, n, tree["b1"], f"1-{n:03d}")
    resident(uow, clock, 99, tree["b1"], "1-000")
    liaison = resident(uow, clock, 100, tree["b2"], "2-001")
    change_role(ChangeRole(C, liaison, Role.BUILDING_LIAISON, grant=True, actor=SYSTEM), uow)
    head = resident(uow, clock, 101, tree["g1"], "")
    change_role(ChangeRole(C, head, Role.GRID_HEAD, grant=True, actor=SYSTEM), uow)

    report = {
        size.unit.display_name: size for size in org_size_report(C, 0, 50, uow, actor=SYSTEM)[0]
    }

    assert report["b1"].households == 25
    assert report["b1"].warnings == ("0 building_liaison (policy: 1)",)
    assert report["b2"].warnings == ("1 households (policy: 20-30)",)
    grid = report["Grid 1"]
    assert grid.households == 26 and grid.roles[Role.GRID_HEAD] == 1
    assert grid.warnings == (
        "26 households (policy: 300-500)",
        "0 core_volunteer (policy: 5-8)",
    )
    assert report["HQ"].households == 26 and report["HQ"].warnings == ()


def test_a_home_unit_must_exist_in_the_community(uow, clock, tree) -> None:
    with pytest.raises(NotFound, match="org unit"):
        resident(uow, clock, 1, "unope", "1-101")
