"""The staff console in a real browser (Playwright on Debian's chromium) against the gateway and
the services as OS processes on mutual TLS: a paper sheet and a correction move the volunteer's
points and the hours dashboard (the corrected hour is served), the ratings overview lists a
served resident's rating, a CSV import lists its bad rows and stores nothing, a flag is dealt
with, a resident is refused the console, forms need the session's CSRF token, and every page
passes axe-core.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.identity.v1 import identity_service_pb2 as idn
from playwright.sync_api import Page, expect

from linli_kit.testing import eventually, load_beside

pages = load_beside(__file__, "test_gateway_pages.py", "linli_gateway_pages_test")
earning = load_beside(__file__, "earning.py", "linli_integration_earning")
assert_accessible = pages.assert_accessible
BEIJING = ZoneInfo("Asia/Shanghai")
PASSWORD = "staff-password-for-tests"


def local(at: datetime) -> str:
    """A datetime-local input's value in Beijing time."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")


def staff_member(people, phone: str = "13800000001") -> idn.Resident:  # type: ignore[no-untyped-def]
    """The shared stack's first social worker, with a password to sign in with."""
    listed = people.identity.ListResidents(
        idn.ListResidentsRequest(parent=people.parent, page_size=500)
    ).residents
    (found,) = [r for r in listed if r.phone == phone]
    people.identity.SetPassword(
        idn.SetPasswordRequest(resident=found.name, password=PASSWORD, request_id=str(uuid.uuid4()))
    )
    return found


def signed_in_staff(people, phone: str, next_path: str = "/staff") -> Page:  # type: ignore[no-untyped-def]
    """A browser of a staff member's own, signed in with the password, in English."""
    context = people.browser.new_context()
    people.contexts.append(context)
    page = context.new_page()
    page.goto(f"{people.gateway.url}/login/staff?lang=en&next={next_path}")
    page.get_by_label("Mobile phone number").fill(phone)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{people.gateway.url}{next_path}")
    return page


def served_hours(people, page: Page, at: datetime) -> float:  # type: ignore[no-untyped-def]
    """The professional hours the dashboard shows served in the month of the instant."""
    local_at = at.astimezone(BEIJING)
    page.goto(f"{people.gateway.url}/staff/dashboard?year={local_at.year}")
    cell = page.get_by_test_id(f"served-professional-{local_at.month}")
    return float(cell.inner_text())


@pytest.fixture(scope="module")
def staff_page(gateway_people) -> Page:  # type: ignore[no-untyped-def]
    """The social worker's console."""
    return signed_in_staff(gateway_people, staff_member(gateway_people).phone)


def test_staff_enter_a_paper_sheet_and_the_volunteers_points_follow(
    gateway_people, staff_page: Page
) -> None:  # type: ignore[no-untyped-def]
    people, page = gateway_people, staff_page
    volunteer = people.resident("陈志强", hours=0)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=5)
    served_before = served_hours(people, page, start)
    page.goto(f"{people.gateway.url}/staff")
    assert_accessible(page)
    page.get_by_label("Title").fill("社区义诊")
    page.get_by_label("Service type").select_option("professional")
    page.get_by_label("Starts (Beijing time)").fill(local(start))
    page.get_by_label("Ends (Beijing time)").fill(local(start + timedelta(hours=3)))
    page.get_by_label("Operating checklist").select_option("elder_care")
    page.get_by_role("button", name="Create the activity").click()
    expect(page.get_by_role("heading", name="社区义诊")).to_be_visible()
    assert page.get_by_test_id("check-in-code").inner_text().strip()
    assert_accessible(page)
    activity = f"{people.parent}/activities/{page.url.rpartition('/')[2]}"

    page.get_by_role("link", name="Paper sheet").click()
    assert_accessible(page)
    page.get_by_label("Activity").select_option(activity)
    page.get_by_label("Resident", exact=True).select_option(volunteer.name)
    page.get_by_label("Signed in at (Beijing time)").fill(local(start))
    page.get_by_label("Signed out at (Beijing time)").fill(local(start + timedelta(hours=2)))
    page.get_by_label("Why on paper").fill("义诊现场没有网络，纸质签到")
    page.get_by_role("button", name="Enter the session").click()
    expect(page.get_by_test_id("session-status")).to_have_text("completed")
    expect(page.get_by_test_id("session-minutes")).to_have_text("120 minutes")
    assert_accessible(page)
    # Professional service pays 2 points an hour (P1).
    paid = lambda: earning.balance(people.points, volunteer.name).yearly_centipoints  # noqa: E731
    assert eventually(paid, 400) == 400
    session_url = page.url
    assert served_hours(people, page, start) == served_before + 2.0
    page.goto(session_url)

    served = people.resident("独居老人", hours=0)
    page.reload()
    page.get_by_label("Resident", exact=True).select_option(served.name)
    page.get_by_role("button", name="Record as served").click()
    expect(page.get_by_test_id("served")).to_have_text("独居老人")
    page.get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Record the steps").click()
    expect(page.get_by_role("checkbox").first).to_be_disabled()
    assert_accessible(page)

    page.get_by_label("Counted minutes").fill("60")
    page.get_by_label("Why").fill("签退时间写错了一小时")
    page.get_by_role("button", name="Correct", exact=True).click()
    expect(page.get_by_test_id("session-minutes")).to_have_text("60 minutes")
    assert eventually(paid, 200) == 200
    session_name = f"{activity}/sessions/{page.url.rpartition('/')[2]}"
    # The dashboard counts the corrected hour, not the two on the sheet.
    assert served_hours(people, page, start) == served_before + 1.0
    assert_accessible(page)
    page.goto(f"{people.gateway.url}/staff/activities/{activity.rpartition('/')[2]}")
    page.get_by_role("button", name="Close to new sign-ins").click()
    expect(page.get_by_test_id("activity-state")).to_contain_text("closed")

    # The resident served rates the session (A5); the ratings overview lists it.
    rated = att_grpc.AttendanceServiceStub(people.stack.channel("attendance")).RateSession(
        att.RateSessionRequest(session=session_name, stars=4, request_id=str(uuid.uuid4())),
        metadata=people.stack.person(served.name, "resident"),
    )
    assert rated.rating.stars == 4
    page.get_by_role("link", name="Ratings").click()
    row = page.get_by_test_id("rating").filter(has_text="社区义诊")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("陈志强")
    expect(row).to_contain_text("独居老人")
    expect(row.get_by_test_id("rating-stars")).to_contain_text("4 of 5 stars")
    assert_accessible(page)
    page.get_by_label("Activity").select_option(activity.rpartition("/")[2])
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("rating")).to_have_count(1)
    expect(page.get_by_test_id("mean-professional")).to_have_text("4.00")
    expect(page.get_by_test_id("mean-all")).to_have_text("4.00")


def test_a_csv_import_shows_every_bad_row_and_stores_nothing(
    gateway_people, staff_page: Page
) -> None:  # type: ignore[no-untyped-def]
    people, page = gateway_people, staff_page
    good = f"137{uuid.uuid4().int % 10**8:08d}"
    rows = f"phone,display_name\n{good},林小华\n12345,号码不对\n{good[:-1]}9,\n"
    page.goto(f"{people.gateway.url}/staff/residents")
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "residents.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Import").click()
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_be_visible()
    lines = [c.strip() for c in errors.locator("tbody td.num").all_inner_texts()]
    assert lines == ["3", "4"]
    expect(page.locator("progress#import-progress")).to_have_attribute("value", "100")
    assert_accessible(page)
    listed = people.identity.ListResidents(
        idn.ListResidentsRequest(parent=people.parent, page_size=500)
    ).residents
    assert good not in {r.phone for r in listed}

    # A file without a phone column is refused as a whole, said beside the form.
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "names.csv",
                "mimeType": "text/csv",
                "buffer": "display_name\n林小华\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-refused")).to_contain_text("phone")

    # The next file is a new import (a fresh request id came with each answer).
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "residents.csv",
                "mimeType": "text/csv",
                "buffer": f"phone,display_name\n{good},林小华\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-done")).to_have_text("1 residents were imported.")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download residents as CSV").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert good in exported and "林小华" in exported


def test_a_flag_is_dealt_with_and_the_other_pages_pass_the_accessibility_check(
    gateway_people, staff_page: Page
) -> None:  # type: ignore[no-untyped-def]
    people, page = gateway_people, staff_page
    staff = staff_member(people)
    # A staff member entering their own hours is refused and flagged (SELF_CONFIRMATION).
    start = datetime.now(UTC) - timedelta(hours=3)
    planned = att.Activity(title="自查", kind=att.ACTIVITY_KIND_ROUTINE, service_type=1)
    planned.start_time.FromDatetime(start)
    planned.end_time.FromDatetime(start + timedelta(hours=2))
    activity = people.attendance.CreateActivity(
        att.CreateActivityRequest(
            parent=people.parent, activity=planned, request_id=str(uuid.uuid4())
        )
    ).activity
    sheet = att.EnterPaperSessionRequest(
        activity=activity.name, resident=staff.name, reason="own", request_id=str(uuid.uuid4())
    )
    sheet.sign_in_time.FromDatetime(start)
    sheet.sign_out_time.FromDatetime(start + timedelta(hours=1))
    with pytest.raises(grpc.RpcError) as refused:
        people.attendance.EnterPaperSession(sheet)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    page.goto(f"{people.gateway.url}/staff/review")
    row = page.get_by_test_id("flag").filter(has_text="Staff confirming their own hours")
    expect(row.first).to_be_visible()
    assert_accessible(page)
    before = row.count()
    row.first.get_by_role("button", name="Mark as dealt with").click()
    expect(
        page.get_by_test_id("flag").filter(has_text="Staff confirming their own hours")
    ).to_have_count(before - 1)

    # A forgotten sign-out is held for review; staff confirm it and the points follow.
    forgetful = people.resident("马冬梅", hours=0)
    ended = att.Activity(title="垃圾分类督导", kind=att.ACTIVITY_KIND_ROUTINE, service_type=1)
    ended.start_time.FromDatetime(start - timedelta(hours=2))
    ended.end_time.FromDatetime(start - timedelta(minutes=30))
    held = people.attendance.CreateActivity(
        att.CreateActivityRequest(
            parent=people.parent, activity=ended, request_id=str(uuid.uuid4())
        )
    ).activity
    signed = att.SignInRequest(
        activity=held.name,
        resident=forgetful.name,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
        request_id=str(uuid.uuid4()),
    )
    signed.time.FromDatetime(start - timedelta(hours=2))
    people.attendance.SignIn(signed)
    review = f"{people.gateway.url}/staff/review"
    mine = (
        page.get_by_test_id("flag").filter(has_text="Forgotten sign-out").filter(has_text="马冬梅")
    )
    deadline = time.monotonic() + 20  # the sweeper closes it within a second or two
    page.goto(review)
    while not mine.count() and time.monotonic() < deadline:
        time.sleep(0.3)
        page.goto(review)
    mine.get_by_role("link", name="Open the session").click()
    expect(page.get_by_test_id("session-status")).to_have_text("pending_review")
    assert_accessible(page)
    page.get_by_role("button", name="Confirm the session").click()
    expect(page.get_by_test_id("session-status")).to_have_text("completed")
    paid = lambda: earning.balance(people.points, forgetful.name).yearly_centipoints  # noqa: E731
    assert eventually(paid, 150) == 150

    # The roster of a coming occurrence (whom its kiosk identifies among).
    coming = att.Activity(title="助老探访", kind=att.ACTIVITY_KIND_ROUTINE, service_type=1)
    coming.start_time.FromDatetime(start + timedelta(days=2))
    coming.end_time.FromDatetime(start + timedelta(days=2, hours=2))
    planned_visit = people.attendance.CreateActivity(
        att.CreateActivityRequest(
            parent=people.parent, activity=coming, request_id=str(uuid.uuid4())
        )
    ).activity
    page.goto(f"{people.gateway.url}/staff/activities/{planned_visit.name.rpartition('/')[2]}")
    page.get_by_label("Resident", exact=True).select_option(forgetful.name)
    page.get_by_role("button", name="Put on the roster").click()
    expect(page.get_by_role("cell", name="马冬梅")).to_be_visible()
    assert_accessible(page)

    for path in (
        f"/staff/activities/{activity.name.rpartition('/')[2]}",
        "/staff/catalogue",
        "/staff/training",
        "/staff/partners",
        "/staff/dashboard",
    ):
        page.goto(f"{people.gateway.url}{path}")
        assert_accessible(page)
    expect(page.locator("svg.chart rect.t-regular").first).to_be_attached()


def test_a_resident_is_refused_the_console_and_forms_need_the_csrf_token(
    gateway_people, staff_page: Page
) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    resident = people.resident("吴芳", hours=0)
    page = people.page_of(resident)
    for path in ("/staff", "/staff/review", "/staff/residents/export.csv", "/committee"):
        answer = page.goto(f"{people.gateway.url}{path}")
        assert answer is not None and answer.status == 403, path
        assert "13800000001" not in page.content() and "check-in" not in page.content()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)

    # The staff member's own session, without its CSRF token or with another: refused.
    form = {
        "activity": f"{people.parent}/activities/none",
        "resident": resident.name,
        "sign_in_time": "2026-01-01T08:00",
        "sign_out_time": "2026-01-01T09:00",
        "reason": "forged",
        "request_id": str(uuid.uuid4()),
    }
    url = f"{people.gateway.url}/staff/paper"
    assert staff_page.request.post(url, form=form).status == 403
    assert staff_page.request.post(url, form={**form, "csrf_token": "forged"}).status == 403

    # The JSON API: the staff member's, and refused to the resident as problem+json.
    api = f"{people.gateway.url}/api/v1/staff"
    listed = staff_page.request.get(f"{api}/activities")
    assert listed.status == 200 and any(a["title"] == "社区义诊" for a in listed.json())
    refused = page.request.get(f"{api}/flags")
    assert refused.status == 403
    assert refused.headers["content-type"] == "application/problem+json"


def test_staff_keep_the_catalogue_courses_teachers_partners_and_agreements(
    gateway_people, staff_page: Page
) -> None:  # type: ignore[no-untyped-def]
    people, page = gateway_people, staff_page
    tag = uuid.uuid4().hex[:6]
    page.goto(f"{people.gateway.url}/staff/catalogue")
    page.get_by_label("Id (lower-case letters, digits, hyphens)").fill(f"gym-{tag}")
    page.get_by_label("Title").fill(f"健身房一小时 {tag}")
    page.get_by_label("Kind").select_option("facility_time")
    page.get_by_label("Price in points").fill("50")
    page.get_by_role("button", name="Add the item").click()
    row = page.get_by_role("row").filter(has_text=f"健身房一小时 {tag}")
    expect(row.get_by_role("cell").nth(1)).to_have_text("50")
    row.get_by_label(f"Units to add to 健身房一小时 {tag}").fill("7")
    row.get_by_role("button", name="Add stock").click()
    expect(row.get_by_role("cell").nth(2)).to_have_text("7")

    page.goto(f"{people.gateway.url}/staff/training")
    page.get_by_label("Id (lower-case letters, digits, hyphens)").fill(f"first-aid-{tag}")
    page.get_by_label("Title").fill(f"急救 {tag}")
    page.get_by_label("Tier").select_option("intermediate")
    page.get_by_label("Hours").fill("8")
    page.get_by_role("button", name="Add the course").click()
    expect(page.get_by_role("cell", name=f"急救 {tag}")).to_be_visible()
    page.get_by_label("Name").fill(f"红十字会张老师 {tag}")
    page.get_by_label("From").select_option("red_cross_trainer")
    page.get_by_label(f"急救 {tag}").check()
    page.get_by_role("button", name="Add the teacher").click()
    expect(page.get_by_text(f"红十字会张老师 {tag}")).to_be_visible()

    page.goto(f"{people.gateway.url}/staff/partners")
    page.get_by_label("Id (as in its certificate)").fill(f"market-{tag}")
    page.get_by_label("Name").fill(f"华联超市 {tag}")
    page.get_by_role("button", name="Register the partner").click()
    partner = page.get_by_role("article").filter(has_text=f"华联超市 {tag}")
    partner.get_by_text(f"Record an agreement with 华联超市 {tag}").click()
    partner.get_by_label("Title").fill("志愿服务合作协议")
    partner.get_by_label("Terms").fill("积分兑换专区九五折")
    today = datetime.now(BEIJING).date()
    partner.get_by_label("Signed on").fill(str(today))
    partner.get_by_label("Starts on").fill(str(today))
    partner.get_by_label("Ends on").fill(str(today + timedelta(days=365)))
    partner.get_by_role("button", name="Record the agreement").click()
    expect(
        page.get_by_role("article").filter(has_text=f"华联超市 {tag}").get_by_role("listitem")
    ).to_contain_text("志愿服务合作协议")
