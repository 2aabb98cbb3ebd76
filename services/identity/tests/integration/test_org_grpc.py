"""The network, roles and size report over gRPC against real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters.face_dlib import DlibFaceEngine
from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.cli import MIGRATIONS
from linli_kit.auth import with_metadata
from linli_kit.db import migrate
from linli_kit.grpc_server import start

C = "communities/c-east"


@pytest.fixture
async def stub(
    make_database, servers, stream_prefix, credentials
) -> AsyncIterator[pb_grpc.IdentityServiceStub]:
    """The service on real PostgreSQL, called as c-east's operator (an sre and social worker)."""
    url = make_database("identity")
    migrate(url, MIGRATIONS)
    settings = IdentitySettings(
        database_url=url, redis_url=servers.redis, stream_prefix=stream_prefix, replica_id="org"
    )
    app = build_app(settings, engine=DlibFaceEngine(), verifier=credentials.verifier())
    running = await start(app, "127.0.0.1", 0)
    operator = with_metadata(credentials.person("c-east", "operator", "sre", "social_worker"))
    address = f"127.0.0.1:{running.port}"
    async with grpc.aio.insecure_channel(address, interceptors=[operator]) as channel:
        client = pb_grpc.IdentityServiceStub(channel)
        await client.CreateCommunity(
            pb.CreateCommunityRequest(community_id="c-east", display_name="East")
        )
        yield client
    await running.stop(grace=0)


async def unit(stub, level: int, name: str, above: str = "") -> str:
    reply = await stub.CreateOrgUnit(
        pb.CreateOrgUnitRequest(parent=C, level=level, display_name=name, parent_unit=above)
    )
    return reply.org_unit.name


async def test_network_roles_and_size_report(stub) -> None:
    hq = await unit(stub, pb.ORG_LEVEL_COMMUNITY_HQ, "HQ")
    grid = await unit(stub, pb.ORG_LEVEL_GRID_STATION, "Grid 1", hq)
    building = await unit(stub, pb.ORG_LEVEL_BUILDING_GROUP, "Building 3", grid)
    registered = await stub.RegisterResident(
        pb.RegisterResidentRequest(
            parent=C, display_name="Li", phone="13800000001", household="3-201", home_unit=building
        )
    )
    name = registered.resident.name

    granted = await stub.GrantRole(pb.GrantRoleRequest(resident=name, role="building_liaison"))

    assert list(granted.resident.roles) == ["building_liaison", "resident"]
    fetched = (await stub.GetResident(pb.GetResidentRequest(name=name))).resident
    assert (fetched.home_unit, fetched.household) == (building, "3-201")
    listed = await stub.ListOrgUnits(pb.ListOrgUnitsRequest(parent=C))
    assert [u.name for u in listed.org_units] == [hq, grid, building]
    sizes = {
        s.org_unit: s
        for s in (await stub.ReportOrgUnitSizes(pb.ReportOrgUnitSizesRequest(parent=C))).sizes
    }
    assert list(sizes[building].warnings) == ["1 households (policy: 20-30)"]
    assert sizes[grid].role_counts["building_liaison"] == 1
    assert "0 grid_head (policy: 1)" in sizes[grid].warnings

    with pytest.raises(grpc.aio.AioRpcError) as bad_role:
        await stub.GrantRole(pb.GrantRoleRequest(resident=name, role="mayor"))
    assert bad_role.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as wrong_level:
        await unit(stub, pb.ORG_LEVEL_BUILDING_GROUP, "Stray", hq)
    assert wrong_level.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    staff = await stub.RegisterResident(
        pb.RegisterResidentRequest(parent=C, display_name="Wang", phone="13800000002", home_unit=hq)
    )
    with pytest.raises(grpc.aio.AioRpcError) as not_in_a_grid:
        await stub.GrantRole(pb.GrantRoleRequest(resident=staff.resident.name, role="grid_head"))
    assert not_in_a_grid.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_mentoring_pair_succeeds_when_the_newcomer_is_promoted(stub) -> None:
    names = []
    for n in range(2):
        reply = await stub.RegisterResident(
            pb.RegisterResidentRequest(parent=C, display_name=f"p{n}", phone=f"1390000000{n}")
        )
        names.append(reply.resident.name)
    mentor, newcomer = names
    await stub.GrantRole(pb.GrantRoleRequest(resident=mentor, role="core_volunteer"))

    started = await stub.StartMentoring(pb.StartMentoringRequest(mentor=mentor, newcomer=newcomer))
    assert not started.pair.HasField("success_time")
    await stub.GrantRole(pb.GrantRoleRequest(resident=newcomer, role="volunteer"))

    (pair,) = (await stub.ListMentoringPairs(pb.ListMentoringPairsRequest(resident=mentor))).pairs
    assert (pair.name, pair.newcomer) == (started.pair.name, newcomer)
    assert pair.HasField("success_time")
    with pytest.raises(grpc.aio.AioRpcError) as not_a_mentor:
        await stub.StartMentoring(pb.StartMentoringRequest(mentor=newcomer, newcomer=mentor))
    assert not_a_mentor.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_csv_import_is_all_or_nothing_and_export_reads_back(stub) -> None:
    bad = b"phone,display_name\n13800000001,Ann\n123,Bad\n"
    report = await stub.ImportResidents(pb.ImportResidentsRequest(parent=C, csv=bad))
    assert report.imported == 0
    assert [(e.line, e.message) for e in report.errors] == [
        (3, "phone must be an 11-digit mobile number starting with 1")
    ]
    assert (await stub.ListResidents(pb.ListResidentsRequest(parent=C))).residents == []

    good = b"phone,display_name,household\n13800000001,Ann,1-101\n13800000002,Bo,1-102\n"
    request = pb.ImportResidentsRequest(parent=C, csv=good, request_id="imp-1")
    report = await stub.ImportResidents(request)

    assert (report.imported, list(report.errors)) == (2, [])
    # A retry answers from the recorded import and registers no one twice.
    assert await stub.ImportResidents(request) == report
    exported = (await stub.ExportResidents(pb.ExportResidentsRequest(parent=C))).csv.decode()
    assert sorted(line.split(",")[3] for line in exported.splitlines()[1:]) == ["1-101", "1-102"]


async def test_special_team_membership_with_history(stub) -> None:
    hq = await unit(stub, pb.ORG_LEVEL_COMMUNITY_HQ, "HQ")
    names = []
    for n, role in enumerate(("core_volunteer", "volunteer", "")):
        reply = await stub.RegisterResident(
            pb.RegisterResidentRequest(parent=C, display_name=f"p{n}", phone=f"1370000000{n}")
        )
        names.append(reply.resident.name)
        if role:
            await stub.GrantRole(pb.GrantRoleRequest(resident=reply.resident.name, role=role))
    lead, member, bystander = names
    create = pb.CreateSpecialTeamRequest(
        parent=C,
        display_name="Silver Visitors",
        served_group=pb.SERVED_GROUP_ELDERLY,
        services=[pb.TEAM_SERVICE_COUNSELLING, pb.TEAM_SERVICE_HOME_VISIT],
        lead=lead,
        org_unit=hq,
        request_id="team-1",
    )

    team = (await stub.CreateSpecialTeam(create)).team

    assert (await stub.CreateSpecialTeam(create)).team.name == team.name  # a retry
    assert list(team.services) == [pb.TEAM_SERVICE_HOME_VISIT, pb.TEAM_SERVICE_COUNSELLING]
    assert (team.lead, team.org_unit, [m.resident for m in team.members]) == (lead, hq, [lead])
    # Two racing joins of one resident: the partial unique index lets only one through.
    outcomes = await asyncio.gather(
        stub.AddTeamMember(pb.AddTeamMemberRequest(team=team.name, resident=member)),
        stub.AddTeamMember(pb.AddTeamMemberRequest(team=team.name, resident=member)),
        return_exceptions=True,
    )
    failures = [o.code() for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(failures) == 1
    assert failures[0] in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.ABORTED)
    with pytest.raises(grpc.aio.AioRpcError) as not_a_volunteer:
        await stub.AddTeamMember(pb.AddTeamMemberRequest(team=team.name, resident=bystander))
    assert not_a_volunteer.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    mine = await stub.ListSpecialTeams(pb.ListSpecialTeamsRequest(parent=C, member=member))
    assert [t.name for t in mine.teams] == [team.name]

    left = await stub.RemoveTeamMember(pb.RemoveTeamMemberRequest(team=team.name, resident=member))

    assert [m.resident for m in left.team.members] == [lead]
    listed = await stub.ListSpecialTeams(pb.ListSpecialTeamsRequest(parent=C))
    assert [m.resident for m in listed.teams[0].members] == [lead]
    history = await stub.ListSpecialTeams(
        pb.ListSpecialTeamsRequest(parent=C, show_former_members=True)
    )
    former = {m.resident: m.HasField("leave_time") for m in history.teams[0].members}
    assert former == {lead: False, member: True}
    assert (
        await stub.ListSpecialTeams(pb.ListSpecialTeamsRequest(parent=C, member=member))
    ).teams == []
    with pytest.raises(grpc.aio.AioRpcError) as lead_leaves:
        await stub.RemoveTeamMember(pb.RemoveTeamMemberRequest(team=team.name, resident=lead))
    assert lead_leaves.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def pages(call, request, field: str, size: int = 2) -> list[list]:
    """Every page of a list of `size` items, walked by next_page_token."""
    found, request.page_size = [], size
    while True:
        page = await call(request)
        found.append(list(getattr(page, field)))
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token


async def test_pages_of_every_list_cover_it_once_in_order(stub) -> None:
    hq = await unit(stub, pb.ORG_LEVEL_COMMUNITY_HQ, "HQ")
    grids = [await unit(stub, pb.ORG_LEVEL_GRID_STATION, f"Grid {n}", hq) for n in range(2)]
    buildings = [await unit(stub, pb.ORG_LEVEL_BUILDING_GROUP, f"B{n}", grids[0]) for n in range(2)]
    people = []
    for n, (home, household) in enumerate(
        [(buildings[0], "1-101"), (buildings[0], "1-101"), (buildings[1], "2-201"), (hq, "")]
    ):
        reply = await stub.RegisterResident(
            pb.RegisterResidentRequest(
                parent=C,
                display_name=f"p{n}",
                phone=f"1360000000{n}",
                household=household,
                home_unit=home,
            )
        )
        people.append(reply.resident.name)
    await stub.GrantRole(pb.GrantRoleRequest(resident=people[0], role="building_liaison"))
    mentor = people[3]
    await stub.GrantRole(pb.GrantRoleRequest(resident=mentor, role="core_volunteer"))
    for newcomer in people[:3]:
        await stub.StartMentoring(pb.StartMentoringRequest(mentor=mentor, newcomer=newcomer))
        await stub.GrantRole(pb.GrantRoleRequest(resident=newcomer, role="volunteer"))
    for n in range(3):
        await stub.CreateSpecialTeam(
            pb.CreateSpecialTeamRequest(
                parent=C,
                display_name=f"Team {n}",
                served_group=pb.SERVED_GROUP_ELDERLY,
                services=[pb.TEAM_SERVICE_HOME_VISIT],
                lead=mentor if n != 1 else people[0],
            )
        )
    for n in range(3):
        await stub.GrantFaceConsent(
            pb.GrantFaceConsentRequest(parent=mentor, policy_version="2026-01", retention_days=30)
        )
        if n < 2:
            await stub.WithdrawFaceConsent(pb.WithdrawFaceConsentRequest(parent=mentor))

    units = await pages(stub.ListOrgUnits, pb.ListOrgUnitsRequest(parent=C), "org_units")
    assert [[u.name for u in p] for p in units] == [
        [hq, grids[0]],
        [grids[1], buildings[0]],
        [buildings[1]],
    ]
    sizes = await pages(
        stub.ReportOrgUnitSizes, pb.ReportOrgUnitSizesRequest(parent=C), "sizes", size=4
    )
    by_unit = {s.org_unit: s for page in sizes for s in page}
    assert [len(p) for p in sizes] == [4, 1] and list(by_unit) == [hq, *grids, *buildings]
    assert [by_unit[u].households for u in (hq, *grids, *buildings)] == [2, 2, 0, 1, 1]
    assert by_unit[hq].role_counts["resident"] == 4
    assert by_unit[grids[0]].role_counts["volunteer"] == 3
    assert dict(by_unit[buildings[0]].role_counts)["building_liaison"] == 1
    assert "building_liaison" not in by_unit[grids[1]].role_counts
    pairs = await pages(
        stub.ListMentoringPairs, pb.ListMentoringPairsRequest(resident=mentor), "pairs"
    )
    assert [[p.newcomer for p in page] for page in pairs] == [people[:2], people[2:3]]
    teams = await pages(stub.ListSpecialTeams, pb.ListSpecialTeamsRequest(parent=C), "teams")
    assert [[t.display_name for t in p] for p in teams] == [["Team 0", "Team 1"], ["Team 2"]]
    led = await pages(
        stub.ListSpecialTeams, pb.ListSpecialTeamsRequest(parent=C, member=mentor), "teams", 1
    )
    assert [[t.display_name for t in p] for p in led] == [["Team 0"], ["Team 2"]]
    consents = await pages(
        stub.ListFaceConsents, pb.ListFaceConsentsRequest(parent=mentor), "consents"
    )
    whole = (await stub.ListFaceConsents(pb.ListFaceConsentsRequest(parent=mentor))).consents
    assert [c.name for p in consents for c in p] == [c.name for c in whole]
    assert [len(p) for p in consents] == [2, 1] and len({c.name for c in whole}) == 3
    exported = []
    request = pb.ExportResidentsRequest(parent=C, page_size=3)
    while True:
        page = await stub.ExportResidents(request)
        exported.append(page.csv.decode().splitlines())
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    header = exported[0][0]
    assert [p[0] for p in exported] == [header, header] and [len(p) for p in exported] == [4, 2]
    assert [row.split(",")[2] for p in exported for row in p[1:]] == ["p0", "p1", "p2", "p3"]

    for call, bad in [
        (stub.ListOrgUnits, pb.ListOrgUnitsRequest(parent=C, page_token="nope")),
        (stub.ReportOrgUnitSizes, pb.ReportOrgUnitSizesRequest(parent=C, page_token="nope")),
        (stub.ListMentoringPairs, pb.ListMentoringPairsRequest(resident=mentor, page_token="no")),
        (stub.ListSpecialTeams, pb.ListSpecialTeamsRequest(parent=C, page_token="nope")),
        (stub.ListFaceConsents, pb.ListFaceConsentsRequest(parent=mentor, page_token="nope")),
        (stub.ExportResidents, pb.ExportResidentsRequest(parent=C, page_token="nope")),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(bad)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
