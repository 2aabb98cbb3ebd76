"""The committee's pages in a real browser against the gateway and the services as OS processes:
the social worker schedules a council meeting and records who attended, the members vote, one
records the council's decision on an appeal and the resident sees it decided with the
compensation in their balance; the quarterly audit is run, downloaded and adopted; every page
passes axe-core.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import grpc
from linli.identity.v1 import identity_service_pb2 as idn
from linli.points.v1 import council_service_pb2 as cnl
from linli.points.v1 import council_service_pb2_grpc as cnl_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from playwright.sync_api import expect

from linli_kit.testing import eventually, load_beside

staff_tests = load_beside(__file__, "test_gateway_staff.py", "linli_gateway_staff_test")
earning = load_beside(__file__, "earning.py", "linli_integration_earning")
assert_accessible = staff_tests.assert_accessible


def _as(people, resident: str, stub, service: str = "points", *roles: str):  # type: ignore[no-untyped-def]
    stack = people.stack
    token = stack.credentials.token(stack.community, resident.rpartition("/")[2], *roles)
    return stub(stack.credentials.channel(stack[service].address, stack.community, token=token))


def _seat(council: cnl_grpc.CouncilServiceStub, member: cnl.CouncilMember, parent: str) -> None:
    """Seat a member once points has heard of them from identity (ResidentRegistered)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            council.SeatMember(
                cnl.SeatMemberRequest(parent=parent, member=member, request_id=str(uuid.uuid4()))
            )
            return
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _appeal(people, resident: idn.Resident, reason: str) -> pts.Appeal:  # type: ignore[no-untyped-def]
    """The resident's appeal against their P1 award."""
    points = _as(people, resident.name, pts_grpc.PointsServiceStub)
    listed = points.ListTransactions(pts.ListTransactionsRequest(parent=resident.name))
    (award,) = [t for t in listed.transactions if t.rule_id.startswith("p1.")]
    request = pts.CreateAppealRequest(
        parent=resident.name, transaction=award.name, reason=reason, request_id=str(uuid.uuid4())
    )
    return points.CreateAppeal(request).appeal


def _last_quarter(today: date) -> tuple[int, int]:
    quarter = (today.month - 1) // 3 + 1
    return (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)


def test_the_council_decides_an_appeal_and_the_resident_sees_it_decided(gateway_people) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    staff = staff_tests.staff_member(people)
    appellant = people.resident("郑红", hours=2)
    chair, rep, ngo = (people.resident(n, hours=0) for n in ("李主任", "何代表", "蒋社工"))
    people.identity.GrantRole(
        idn.GrantRoleRequest(
            resident=chair.name, role="committee_member", request_id=str(uuid.uuid4())
        )
    )
    people.identity.SetPassword(
        idn.SetPasswordRequest(
            resident=chair.name, password=staff_tests.PASSWORD, request_id=str(uuid.uuid4())
        )
    )
    secretariat = _as(people, staff.name, cnl_grpc.CouncilServiceStub, "points", "social_worker")
    today = datetime.now(UTC).date()
    term = (str(today - timedelta(days=1)), str(today + timedelta(days=365)))
    for who, seat, organisation in (
        (chair, cnl.SEAT_RESIDENTS_COMMITTEE, ""),
        (rep, cnl.SEAT_RESIDENT_REPRESENTATIVE, ""),
        (ngo, cnl.SEAT_THIRD_PARTY, "阳光社工事务所"),
    ):
        member = cnl.CouncilMember(
            resident=who.name,
            seat=seat,
            organisation=organisation,
            term_start_date=term[0],
            term_end_date=term[1],
        )
        _seat(secretariat, member, people.parent)
    appeal = _appeal(people, appellant, "纸质签到表少记了半小时")
    appeal_id = appeal.name.rpartition("/")[2]

    # The secretariat schedules the meeting and records who attended, on the pages.
    page = staff_tests.signed_in_staff(people, staff.phone, "/committee/council")
    assert_accessible(page)
    page.get_by_label("Title").fill("第四季度监督会")
    page.get_by_label("When (Beijing time)").fill(staff_tests.local(datetime.now(UTC)))
    page.get_by_label("纸质签到表少记了半小时").check()
    year, quarter = _last_quarter(today)
    page.get_by_label(f"Audit of {year} Q{quarter}").check()
    page.get_by_role("button", name="Schedule the meeting").click()
    expect(page.get_by_test_id("meeting-state")).to_have_text("scheduled")
    for who in (chair, rep, ngo):
        page.get_by_label(who.name.rpartition("/")[2], exact=False).check()
    page.get_by_role("button", name="Record attendance and hold the meeting").click()
    expect(page.get_by_test_id("meeting-state")).to_have_text("held")
    expect(page.get_by_test_id("quorum")).to_have_text("yes")
    assert_accessible(page)
    meeting = f"{people.parent}/councilMeetings/{page.url.rpartition('/')[2]}"

    # Two members vote over gRPC; the chair votes and records the decision on the page.
    for who, choice, amount in (
        (rep, cnl.VOTE_CHOICE_UPHOLD, 100),
        (ngo, cnl.VOTE_CHOICE_REJECT, 0),
    ):
        _as(people, who.name, cnl_grpc.CouncilServiceStub).CastVote(
            cnl.CastVoteRequest(
                meeting=meeting,
                appeal=appeal.name,
                choice=choice,
                compensation_centipoints=amount,
                request_id=str(uuid.uuid4()),
            )
        )
    chairs = staff_tests.signed_in_staff(people, chair.phone, "/committee")
    expect(
        chairs.get_by_test_id("waiting-appeal").filter(has_text="纸质签到表少记了半小时")
    ).to_be_visible()
    assert_accessible(chairs)
    chairs.goto(f"{people.gateway.url}/committee/appeals/{appeal_id}")
    assert_accessible(chairs)
    chairs.get_by_role("link", name="第四季度监督会").click()
    chairs.get_by_role("radio", name="Uphold").check()
    chairs.get_by_label("Compensation you support, in points (when upholding)").fill("1.5")
    chairs.get_by_role("button", name="Cast the vote").click()
    chairs.get_by_label("The council's reason, for the resident and the minutes").fill(
        "签到表复核属实，补记半小时"
    )
    chairs.get_by_role("button", name="Record the council's decision").click()
    decision = chairs.get_by_test_id("decision")
    expect(decision).to_contain_text("upheld (+1)")
    expect(decision).to_contain_text("reject")
    assert_accessible(chairs)

    # The resident sees it decided, and the compensation in their points (P8).
    residents = people.page_of(appellant)
    residents.goto(f"{people.gateway.url}/me/appeals/{appeal_id}")
    expect(residents.get_by_test_id("appeal-state")).to_have_text("已采纳")
    paid = lambda: earning.balance(people.points, appellant.name).yearly_centipoints  # noqa: E731
    assert eventually(paid, 300) == 300

    # Where the community's rule allows it, one committee member decides alone.
    other = _appeal(people, people.resident("钱进", hours=1), "活动时长记错了")
    chairs.goto(f"{people.gateway.url}/committee/appeals/{other.name.rpartition('/')[2]}")
    chairs.get_by_role("radio", name="Reject").check()
    chairs.get_by_label("Why").fill("签到记录与纸质签到表一致")
    chairs.get_by_role("button", name="Record the decision").click()
    expect(chairs.get_by_test_id("appeal-state")).to_have_text("rejected")

    # The quarterly audit: run, downloaded as JSON and CSV, adopted at the meeting (P9).
    chairs.goto(f"{people.gateway.url}/committee/audit?year={year}&quarter={quarter}&run=true")
    expect(chairs.get_by_test_id("integrity")).to_contain_text("Integrity verified")
    assert_accessible(chairs)
    with chairs.expect_download() as got:
        chairs.get_by_role("link", name="Download JSON").click()
    report = json.loads(got.value.path().read_text(encoding="utf-8"))
    assert (report["year"], report["quarter"], report["integrity"]["ok"]) == (year, quarter, True)
    with chairs.expect_download() as got:
        chairs.get_by_role("link", name="Download CSV").click()
    assert got.value.path().read_text(encoding="utf-8").startswith("section,key,value")
    chairs.goto(f"{people.gateway.url}/committee/meetings/{meeting.rpartition('/')[2]}")
    chairs.get_by_role("button", name="Adopt the audit").click()
    expect(chairs.get_by_test_id("adoption")).to_contain_text("integrity verified")
    chairs.goto(f"{people.gateway.url}/committee/record?year={year}")
    expect(chairs.get_by_role("row", name=f"Q{quarter}")).to_contain_text("adopted")
    assert_accessible(chairs)
