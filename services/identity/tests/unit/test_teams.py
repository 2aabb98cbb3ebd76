"""Special service teams (O1): who may lead and join, once at a time, and history kept."""

from __future__ import annotations

import pytest

from linli_identity.adapters import events
from linli_identity.domain.org import OrgLevel, Role
from linli_identity.domain.teams import (
    ServedGroup,
    SpecialTeamMemberJoined,
    SpecialTeamMemberLeft,
    TeamService,
)
from linli_identity.service_layer.commands import (
    ChangeRole,
    ChangeTeamMember,
    CreateCommunity,
    CreateOrgUnit,
    CreateSpecialTeam,
    RegisterResident,
)
from linli_identity.service_layer.org import (
    change_role,
    create_org_unit,
)
from linli_identity.service_layer.residents import (
    create_community,
    register_resident,
)
from linli_identity.service_layer.teams import (
    change_team_member,
    create_special_team,
    list_special_teams,
)
from linli_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    IdempotencyConflict,
    InvalidArgument,
    NotFound,
)
from linli_kit.principals import SYSTEM

C = "c-east"
VISITS = (TeamService.HOME_VISIT,)


@pytest.fixture
def people(uow, clock) -> list[str]:
    """Resident 0 is a core volunteer, 1 and 2 volunteers, 3 holds no volunteer role."""
    create_community(CreateCommunity(C, "East Gate", actor=SYSTEM), uow, clock)
    create_community(CreateCommunity("c-west", "West Gate", actor=SYSTEM), uow, clock)
    ids = [
        register_resident(
            RegisterResident(C, f"p{n}", f"1380000000{n}", actor=SYSTEM), uow, clock
        ).id
        for n in range(4)
    ]
    for resident, role in zip(
        ids[:3], (Role.CORE_VOLUNTEER, Role.VOLUNTEER, Role.VOLUNTEER), strict=True
    ):
        change_role(ChangeRole(C, resident, role, grant=True, actor=SYSTEM), uow, clock)
    uow.published.clear()
    return ids


def team(uow, clock, lead, group=ServedGroup.ELDERLY, services=VISITS, request_id="", unit=""):
    cmd = CreateSpecialTeam(
        C, "Silver Visitors", group, services, lead, unit, request_id, actor=SYSTEM
    )
    return create_special_team(cmd, uow, clock)


def join(uow, clock, team_id, resident, request_id=""):
    return change_team_member(
        ChangeTeamMember(C, team_id, resident, True, request_id, actor=SYSTEM), uow, clock
    )


def leave(uow, clock, team_id, resident, request_id=""):
    return change_team_member(
        ChangeTeamMember(C, team_id, resident, False, request_id, actor=SYSTEM), uow, clock
    )


def test_the_lead_is_the_first_member_and_services_are_kept_in_order(uow, clock, people) -> None:
    services = (TeamService.COUNSELLING, TeamService.HOME_VISIT, TeamService.COUNSELLING)

    created = team(uow, clock, people[0], ServedGroup.DISABLED, services)

    (stored,) = list_special_teams(C, 0, 50, uow, actor=SYSTEM)[0]
    assert stored.id == created.id and stored.lead_id == people[0]
    assert stored.services == (TeamService.HOME_VISIT, TeamService.COUNSELLING)
    assert [m.resident_id for m in stored.current_members()] == [people[0]]
    (event,) = uow.published
    assert isinstance(event, SpecialTeamMemberJoined)
    assert (event.resident_id, event.served_group) == (people[0], ServedGroup.DISABLED)


def test_lead_and_members_must_be_volunteers_of_the_community(uow, clock, people) -> None:
    with pytest.raises(FailedPrecondition, match="only volunteers"):
        team(uow, clock, people[3])
    created = team(uow, clock, people[0])
    with pytest.raises(FailedPrecondition, match="only volunteers"):
        join(uow, clock, created.id, people[3])
    outsider = register_resident(
        RegisterResident("c-west", "w", "13900000000", actor=SYSTEM), uow, clock
    ).id
    with pytest.raises(NotFound):
        join(uow, clock, created.id, outsider)
    with pytest.raises(InvalidArgument, match="at least one service"):
        team(uow, clock, people[0], services=())
    assert [
        m.resident_id for m in list_special_teams(C, 0, 50, uow, actor=SYSTEM)[0][0].memberships
    ] == [people[0]]


def test_a_resident_joins_several_teams_but_each_once(uow, clock, people) -> None:
    first = team(uow, clock, people[0])
    second = team(uow, clock, people[0], ServedGroup.DISABLED, (TeamService.COUNSELLING,))

    join(uow, clock, first.id, people[1])
    join(uow, clock, second.id, people[1])
    with pytest.raises(AlreadyExists, match="already a member"):
        join(uow, clock, first.id, people[1])

    assert [
        t.id for t in list_special_teams(C, 0, 50, uow, member_id=people[1], actor=SYSTEM)[0]
    ] == [
        first.id,
        second.id,
    ]
    assert [
        t.id for t in list_special_teams(C, 0, 50, uow, member_id=people[2], actor=SYSTEM)[0]
    ] == []


def test_leaving_keeps_the_history_and_one_may_join_again(uow, clock, people) -> None:
    created = team(uow, clock, people[0])
    join(uow, clock, created.id, people[1])
    uow.published.clear()

    after = leave(uow, clock, created.id, people[1])

    assert [m.resident_id for m in after.current_members()] == [people[0]]
    (left,) = [m for m in after.memberships if m.resident_id == people[1]]
    assert left.left_at is not None and left.left_at > left.joined_at
    assert [type(e) for e in uow.published] == [SpecialTeamMemberLeft]
    with pytest.raises(NotFound, match="not a current member"):
        leave(uow, clock, created.id, people[1])

    join(uow, clock, created.id, people[1])

    history = [
        m
        for m in list_special_teams(C, 0, 50, uow, actor=SYSTEM)[0][0].memberships
        if m.resident_id == people[1]
    ]
    assert [m.current for m in history] == [False, True]


def test_the_lead_cannot_leave(uow, clock, people) -> None:
    created = team(uow, clock, people[0])
    with pytest.raises(FailedPrecondition, match="lead"):
        leave(uow, clock, created.id, people[0])


def test_retries_replay_and_a_reused_request_id_conflicts(uow, clock, people) -> None:
    created = team(uow, clock, people[0], request_id="t-1")
    assert team(uow, clock, people[0], request_id="t-1").id == created.id
    join(uow, clock, created.id, people[1], request_id="j-1")

    again = join(uow, clock, created.id, people[1], request_id="j-1")

    assert (
        len(again.current_members()) == 2
        and len(list_special_teams(C, 0, 50, uow, actor=SYSTEM)[0]) == 1
    )
    with pytest.raises(IdempotencyConflict):
        join(uow, clock, created.id, people[2], request_id="j-1")


def test_a_team_may_be_anchored_at_an_org_unit_of_its_community(uow, clock, people) -> None:
    hq = create_org_unit(CreateOrgUnit(C, OrgLevel.COMMUNITY_HQ, "HQ", actor=SYSTEM), uow, clock)

    anchored = team(uow, clock, people[0], unit=hq.id)

    assert (
        list_special_teams(C, 0, 50, uow, actor=SYSTEM)[0][0].org_unit_id
        == anchored.org_unit_id
        == hq.id
    )
    with pytest.raises(NotFound):
        team(uow, clock, people[0], unit="u-nowhere")


def test_joining_is_published_with_the_group_and_services(uow, clock, people) -> None:
    created = team(uow, clock, people[0], services=(TeamService.COUNSELLING,))

    (payload,) = [events.encode(event) for event in uow.published]

    assert payload.team == f"communities/{C}/specialTeams/{created.id}"
    assert payload.resident == f"communities/{C}/residents/{people[0]}"
    assert (payload.served_group, list(payload.services)) == ("elderly", ["counselling"])
