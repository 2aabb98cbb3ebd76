"""Who may call what (issue #10): every attack found on points is refused, through the whole app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from linli.events.v1 import identity_events_pb2
from linli.points.v1 import points_service_pb2 as pb

from linli_kit.auth import SigningKey, bearer, issue_access_token, missing_entries
from linli_kit.errors import InvalidArgument
from linli_kit.principals import Role
from linli_kit.testing import load_beside
from linli_points.domain.rules import ServiceType
from linli_points.entrypoints.grpc_api import POLICY
from linli_points.service_layer import appeals, commands, earning

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")
C, WEST = "c-east", "c-west"
COMMUNITY = f"communities/{C}"
ALICE = f"{COMMUNITY}/residents/r-alice"
AT = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
SERVICE = pb.DESCRIPTOR.services_by_name["PointsService"]


def earn(app, resident: str = "r-alice", hours: int = 3) -> str:
    """Give a resident regular hours (straight through the fake unit of work); the award's name."""
    award = earning.award_for_session(
        commands.AwardForSession(
            event_id=f"e-{resident}-{hours}",
            community_id=C,
            resident_id=resident,
            session=f"{COMMUNITY}/activities/a1/sessions/s-{resident}-{hours}",
            service_type=ServiceType.REGULAR,
            duration_seconds=hours * 3600,
            signed_in_at=app.now - timedelta(days=9),
        ),
        app.uow,
    )
    assert award is not None
    return f"{COMMUNITY}/transactions/{award.id}"


async def refused(call, request, code: grpc.StatusCode) -> None:
    """The call fails with the status code."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(request)
    assert error.value.code() == code, error.value.details()


def alice(app):
    return app.person(C, "r-alice", Role.RESIDENT)


def bob(app):
    return app.person(C, "r-bob", Role.RESIDENT)


def judge(app):
    return app.person(C, "r-judge", Role.RESIDENT, Role.COMMITTEE_MEMBER)


async def filed_appeal(app) -> str:
    """Alice's appeal against her 3-hour award (300), with the judge seated; its name."""
    await fakes.seat_on_committee(app, C, "r-judge", app.now)
    filed = await alice(app).CreateAppeal(
        pb.CreateAppealRequest(parent=ALICE, transaction=earn(app), reason="I stayed 4 hours")
    )
    return filed.appeal.name


def test_every_rpc_has_a_policy_entry_and_the_committee_rpcs_are_gone() -> None:
    methods = [m.name for m in SERVICE.methods]

    assert missing_entries(POLICY, methods) == []
    assert sorted(POLICY) == sorted(methods)
    assert "AddCommitteeMember" not in methods and "RemoveCommitteeMember" not in methods


async def test_calls_without_credentials_are_refused_but_the_board_is_public(
    plaintext_points_app,
) -> None:
    stub = plaintext_points_app.stub
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED

    await refused(stub.GetBalance, pb.GetBalanceRequest(name=f"{ALICE}/balance"), unauthenticated)
    await refused(stub.CloseYear, pb.CloseYearRequest(parent=COMMUNITY, year=2025), unauthenticated)
    await refused(stub.VerifyLedger, pb.VerifyLedgerRequest(parent=COMMUNITY), unauthenticated)
    await refused(
        stub.DecideAppeal, pb.DecideAppealRequest(name=f"{COMMUNITY}/appeals/a1"), unauthenticated
    )
    board = await stub.GetLeaderboard(pb.GetLeaderboardRequest(parent=COMMUNITY))
    assert list(board.entries) == []


async def test_a_token_signed_by_another_key_is_unauthenticated(plaintext_points_app) -> None:
    forged = issue_access_token(
        SigningKey.generate("forger"),
        subject=ALICE,
        community=C,
        roles=[Role.SOCIAL_WORKER],
    )

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await plaintext_points_app.stub.GetBalance(
            pb.GetBalanceRequest(name=f"{ALICE}/balance"), metadata=bearer(forged)
        )
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_another_communitys_balances_transactions_and_audit_report_are_not_found(
    points_app,
) -> None:
    earn(points_app)
    staff = points_app.person(WEST, "r-sw", Role.SOCIAL_WORKER, Role.COMMITTEE_MEMBER)
    not_found = grpc.StatusCode.NOT_FOUND

    await refused(staff.GetBalance, pb.GetBalanceRequest(name=f"{ALICE}/balance"), not_found)
    await refused(staff.ListTransactions, pb.ListTransactionsRequest(parent=ALICE), not_found)
    await refused(
        staff.GetAuditReport,
        pb.GetAuditReportRequest(parent=COMMUNITY, year=2026, quarter=1),
        not_found,
    )
    await refused(staff.VerifyLedger, pb.VerifyLedgerRequest(parent=COMMUNITY), not_found)
    partners = points_app.service(WEST, "partners")
    await refused(partners.GetBalance, pb.GetBalanceRequest(name=f"{ALICE}/balance"), not_found)


async def test_a_resident_cannot_read_another_residents_balance_or_history(points_app) -> None:
    earn(points_app)
    denied = grpc.StatusCode.PERMISSION_DENIED

    await refused(bob(points_app).GetBalance, pb.GetBalanceRequest(name=f"{ALICE}/balance"), denied)
    await refused(
        bob(points_app).ListTransactions, pb.ListTransactionsRequest(parent=ALICE), denied
    )
    mine = await alice(points_app).GetBalance(pb.GetBalanceRequest(name=f"{ALICE}/balance"))
    staff = points_app.person(C, "r-sw", Role.SOCIAL_WORKER)
    theirs = await staff.GetBalance(pb.GetBalanceRequest(name=f"{ALICE}/balance"))
    partner = await points_app.service(C, "partners").GetBalance(
        pb.GetBalanceRequest(name=f"{ALICE}/balance")
    )
    assert mine.balance.yearly_centipoints == theirs.balance.yearly_centipoints == 300
    assert partner.balance.yearly_centipoints == 300


async def test_a_person_cannot_reserve_or_commit_another_residents_points(points_app) -> None:
    earn(points_app)
    denied = grpc.StatusCode.PERMISSION_DENIED
    reserve = pb.CreateReservationRequest(
        parent=ALICE, amount_centipoints=100, sink=pb.SINK_REWARDS, request_id="r1"
    )

    await refused(bob(points_app).CreateReservation, reserve, denied)
    await refused(alice(points_app).CreateReservation, reserve, denied)  # only through rewards
    made = await points_app.service(C, "rewards").CreateReservation(reserve)
    name = made.reservation.name
    await refused(bob(points_app).CommitReservation, pb.CommitReservationRequest(name=name), denied)
    await refused(bob(points_app).VoidReservation, pb.VoidReservationRequest(name=name), denied)
    refund = pb.RefundReservationRequest(name=name, reason="mine")
    await refused(bob(points_app).RefundReservation, refund, denied)
    await refused(alice(points_app).RefundReservation, refund, denied)  # only through rewards
    await refused(bob(points_app).GetReservation, pb.GetReservationRequest(name=name), denied)
    seen = await alice(points_app).GetReservation(pb.GetReservationRequest(name=name))
    assert seen.reservation.state == pb.RESERVATION_STATE_PENDING


async def test_another_communitys_rewards_service_cannot_reserve_or_refund_here(points_app) -> None:
    earn(points_app)
    reserve = pb.CreateReservationRequest(
        parent=ALICE, amount_centipoints=100, sink=pb.SINK_REWARDS, request_id="r1"
    )

    await refused(
        points_app.service(WEST, "rewards").CreateReservation, reserve, grpc.StatusCode.NOT_FOUND
    )
    await refused(
        points_app.service(C, "attendance").CreateReservation,
        reserve,
        grpc.StatusCode.PERMISSION_DENIED,
    )
    rewards = points_app.service(C, "rewards")
    name = (await rewards.CreateReservation(reserve)).reservation.name
    await rewards.CommitReservation(pb.CommitReservationRequest(name=name, request_id="c1"))
    refund = pb.RefundReservationRequest(name=name, request_id="f1")
    await refused(
        points_app.service(WEST, "rewards").RefundReservation, refund, grpc.StatusCode.NOT_FOUND
    )
    await refused(
        points_app.service(C, "attendance").RefundReservation,
        refund,
        grpc.StatusCode.PERMISSION_DENIED,
    )
    refunded = await rewards.RefundReservation(refund)
    assert refunded.reservation.state == pb.RESERVATION_STATE_REFUNDED


async def test_close_year_for_another_community_is_not_found(points_app) -> None:
    request = pb.CloseYearRequest(parent=COMMUNITY, year=2025, request_id="y")
    outsider = points_app.person(WEST, "r-sw", Role.SOCIAL_WORKER, Role.SRE)

    await refused(outsider.CloseYear, request, grpc.StatusCode.NOT_FOUND)
    await refused(
        outsider.ClosePeriods, pb.ClosePeriodsRequest(parent=COMMUNITY), grpc.StatusCode.NOT_FOUND
    )
    await refused(alice(points_app).CloseYear, request, grpc.StatusCode.PERMISSION_DENIED)
    await points_app.person(C, "r-sre", Role.SRE).CloseYear(request)


async def test_nobody_accepts_their_own_appeal(points_app) -> None:
    await fakes.seat_on_committee(points_app, C, "r-alice", points_app.now)
    member = points_app.person(C, "r-alice", Role.RESIDENT, Role.COMMITTEE_MEMBER)
    filed = await member.CreateAppeal(
        pb.CreateAppealRequest(parent=ALICE, transaction=earn(points_app), reason="more")
    )

    await refused(
        member.DecideAppeal,
        pb.DecideAppealRequest(name=filed.appeal.name, accept=True, compensation_centipoints=100),
        grpc.StatusCode.PERMISSION_DENIED,
    )


async def test_a_committee_role_without_identitys_seat_cannot_decide(points_app) -> None:
    name = await filed_appeal(points_app)
    unseated = points_app.person(C, "r-carol", Role.RESIDENT, Role.COMMITTEE_MEMBER)

    await refused(
        unseated.DecideAppeal,
        pb.DecideAppealRequest(name=name, accept=False, reason="no"),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    await refused(
        bob(points_app).DecideAppeal,
        pb.DecideAppealRequest(name=name, accept=False, reason="no"),
        grpc.StatusCode.PERMISSION_DENIED,
    )


async def test_an_appeal_cannot_compensate_more_than_the_decision_could_have_been(
    points_app,
) -> None:
    name = await filed_appeal(points_app)
    invalid = grpc.StatusCode.INVALID_ARGUMENT

    for amount in (10**11, 10**6, 2101):  # a regular day pays at most 2400; 300 were paid
        await refused(
            judge(points_app).DecideAppeal,
            pb.DecideAppealRequest(name=name, accept=True, compensation_centipoints=amount),
            invalid,
        )
    upheld = await judge(points_app).DecideAppeal(
        pb.DecideAppealRequest(name=name, accept=True, compensation_centipoints=100)
    )
    assert upheld.appeal.state == pb.APPEAL_STATE_ACCEPTED
    assert upheld.appeal.reviewer == f"{COMMUNITY}/residents/r-judge"


def test_ten_to_the_eleven_centipoints_are_refused_by_the_use_case_too(uow) -> None:
    appeals.change_committee(commands.ChangeCommittee("g1", C, "r-judge", True, AT), uow)
    award = earning.award_for_session(
        commands.AwardForSession(
            "e1",
            C,
            "r-alice",
            f"{COMMUNITY}/activities/a/sessions/s",
            ServiceType.REGULAR,
            3600,
            AT,
        ),
        uow,
    )
    assert award is not None
    filed = appeals.file_an_appeal(
        commands.FileAppeal(fakes.person(C, "r-alice"), "a1", C, "r-alice", award.id, "more"), uow
    )
    decide = commands.DecideAppeal(
        fakes.person(C, "r-judge", Role.COMMITTEE_MEMBER), "d1", C, filed.id, True, "ok", 10**11
    )

    with pytest.raises(InvalidArgument, match="exceeds what the appealed decision could have been"):
        appeals.decide_appeal(decide, uow)


async def test_appeals_are_seen_only_by_their_appellant_the_committee_and_staff(points_app) -> None:
    name = await filed_appeal(points_app)
    denied = grpc.StatusCode.PERMISSION_DENIED

    await refused(bob(points_app).GetAppeal, pb.GetAppealRequest(name=name), denied)
    await refused(bob(points_app).ListAppeals, pb.ListAppealsRequest(parent=COMMUNITY), denied)
    await refused(bob(points_app).ListAppeals, pb.ListAppealsRequest(parent=ALICE), denied)
    await refused(
        bob(points_app).CreateAppeal,
        pb.CreateAppealRequest(parent=ALICE, transaction=earn(points_app, hours=2), reason="x"),
        denied,
    )
    assert (await alice(points_app).GetAppeal(pb.GetAppealRequest(name=name))).appeal.name == name
    own = await alice(points_app).ListAppeals(pb.ListAppealsRequest(parent=ALICE))
    everyone = await judge(points_app).ListAppeals(pb.ListAppealsRequest(parent=COMMUNITY))
    assert [a.name for a in own.appeals] == [a.name for a in everyone.appeals] == [name]


async def test_pages_of_appeals_cover_them_once_in_order(points_app) -> None:
    await fakes.seat_on_committee(points_app, C, "r-judge", points_app.now)
    for hours in (2, 3, 4):
        await alice(points_app).CreateAppeal(
            pb.CreateAppealRequest(
                parent=ALICE, transaction=earn(points_app, hours=hours), reason="more"
            )
        )
    whole = await judge(points_app).ListAppeals(pb.ListAppealsRequest(parent=COMMUNITY))

    paged, token = [], ""
    for _ in range(3):
        page = await judge(points_app).ListAppeals(
            pb.ListAppealsRequest(parent=COMMUNITY, page_size=2, page_token=token)
        )
        paged.append([a.name for a in page.appeals])
        token = page.next_page_token
        if not token:
            break

    names = [a.name for a in whole.appeals]
    assert len(set(names)) == 3 and not whole.next_page_token
    assert paged == [names[:2], names[2:]]
    filed = pb.ListAppealsRequest(parent=ALICE, states=[pb.APPEAL_STATE_FILED])
    assert [a.name for a in (await alice(points_app).ListAppeals(filed)).appeals] == names
    accepted = pb.ListAppealsRequest(parent=ALICE, states=[pb.APPEAL_STATE_ACCEPTED])
    assert not (await alice(points_app).ListAppeals(accepted)).appeals
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    bad_token = pb.ListAppealsRequest(parent=COMMUNITY, page_token="not-a-token")
    await refused(judge(points_app).ListAppeals, bad_token, invalid)
    unknown = pb.ListAppealsRequest(parent=COMMUNITY, states=[pb.APPEAL_STATE_UNSPECIFIED])
    await refused(judge(points_app).ListAppeals, unknown, invalid)


async def test_the_committee_follows_identitys_committee_member_grants_only(points_app) -> None:
    handlers = points_app.consumers.by_stream["identity.events"].handlers
    bob_name = f"{COMMUNITY}/residents/r-bob"

    def event(message):
        return fakes.envelope(C, message, points_app.now)

    sre = event(identity_events_pb2.RoleGranted(resident=bob_name, role="sre"))
    granted = event(identity_events_pb2.RoleGranted(resident=bob_name, role="committee_member"))
    revoked = event(identity_events_pb2.RoleRevoked(resident=bob_name, role="committee_member"))
    await handlers["linli.events.v1.RoleGranted"](sre)
    assert points_app.uow.directory.committee(C) == set()
    await handlers["linli.events.v1.RoleGranted"](granted)
    await handlers["linli.events.v1.RoleGranted"](granted)  # redelivered: applied once
    assert points_app.uow.directory.committee(C) == {"r-bob"}
    await handlers["linli.events.v1.RoleRevoked"](revoked)

    assert points_app.uow.directory.committee(C) == set()
    changes = [r for r in points_app.uow.runs.rows.values() if r.kind == "committee_change"]
    assert sorted(r.members for r in changes) == [(), ("r-bob",)]


async def test_the_board_masks_display_names_unless_the_community_shows_them(
    plaintext_points_app,
) -> None:
    app = plaintext_points_app
    handlers = app.consumers.by_stream["identity.events"].handlers
    for community in (C, "c-open"):
        for resident, name in (("r-li", "李四"), ("r-wang", "王小明")):
            registered = identity_events_pb2.ResidentRegistered(
                resident=f"communities/{community}/residents/{resident}", display_name=name
            )
            await handlers["linli.events.v1.ResidentRegistered"](
                fakes.envelope(community, registered, app.now)
            )
        app.boards.boards[(community, 2026, "community")] = {"r-li": 500, "r-wang": 300}

    masked = await app.stub.GetLeaderboard(pb.GetLeaderboardRequest(parent=COMMUNITY))
    full = await app.stub.GetLeaderboard(pb.GetLeaderboardRequest(parent="communities/c-open"))

    assert [e.display_name for e in masked.entries] == ["李*", "王*明"]
    assert [e.display_name for e in full.entries] == ["李四", "王小明"]
