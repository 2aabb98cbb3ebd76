"""The gateway's pages in a real browser (Playwright driving Debian's chromium) against the
gateway and the services as OS processes on mutual TLS (the session's `shared_stack`).

Residents earn their points the real way (a paper sign-in sheet → attendance → points) and log
in as a person would: phone number, then the one-time code identity's development sender writes
to its log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from playwright.sync_api import Page, expect

from linli_kit.processes import GatewayProcess
from linli_kit.testing import Stack, load_beside

C = "xinhua"
PARENT = f"communities/{C}"
earning = load_beside(__file__, "earning.py", "linli_integration_earning")


@dataclass
class Community:
    """Staff stubs on the shared stack, and where identity logs its login codes."""

    identity: idn_grpc.IdentityServiceStub
    attendance: att_grpc.AttendanceServiceStub
    points: pts_grpc.PointsServiceStub
    stack: Stack

    def residents(self, count: int) -> list[idn.Resident]:
        """Residents who each earned earning.EARNED points (with their phone numbers)."""
        names = earning.residents_with_points(
            self.identity, self.attendance, self.points, PARENT, count
        )
        return [self.identity.GetResident(idn.GetResidentRequest(name=n)).resident for n in names]

    def login_code(self, phone: str, within: float = 15.0) -> str:
        """The newest code identity's development sender logged for the phone."""
        deadline = time.monotonic() + within
        pattern = re.compile(rf"SMS to {phone} .*login code is (\d{{6}})")
        while time.monotonic() < deadline:
            found = pattern.findall(self.stack["identity"].log_path.read_text(errors="replace"))
            if found:
                return str(found[-1])
            time.sleep(0.1)
        raise AssertionError(f"no login code for {phone} in identity's log")


@pytest.fixture(scope="module")
def community(shared_stack: Stack) -> Iterator[Community]:
    """Stubs acting as the community's first social worker."""
    staff = shared_stack.bootstrap_staff()
    token = shared_stack.credentials.token(C, staff.rpartition("/")[2], "social_worker")
    channels: dict[str, grpc.Channel] = {
        name: shared_stack.credentials.channel(shared_stack[name].address, C, token=token)
        for name in ("identity", "attendance", "points")
    }
    yield Community(
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        pts_grpc.PointsServiceStub(channels["points"]),
        shared_stack,
    )
    for channel in channels.values():
        channel.close()


def log_in(page: Page, gateway: GatewayProcess, community: Community, phone: str) -> None:
    """Sign in on the login page with the phone number and the code from identity's log."""
    page.goto(f"{gateway.url}/login?next=/")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="发送验证码").click()
    page.get_by_label("验证码").fill(community.login_code(phone))
    page.get_by_role("button", name="登录").click()


def test_a_resident_signs_in_with_a_code_and_out_again(
    page: Page, gateway: GatewayProcess, community: Community
) -> None:
    (resident,) = community.residents(1)
    log_in(page, gateway, community, resident.phone)
    expect(page).to_have_url(f"{gateway.url}/")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("link", name="登录")).to_be_visible()


def test_a_wrong_code_is_refused_on_the_page(
    page: Page, gateway: GatewayProcess, community: Community
) -> None:
    (resident,) = community.residents(1)
    page.goto(f"{gateway.url}/login?lang=en")
    page.get_by_label("Mobile phone number").fill(resident.phone)
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("One-time code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The code is wrong or has expired.")
