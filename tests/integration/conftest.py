"""The services as separate OS processes on mutual TLS, for the cross-service flows.

`stack` is fresh for each test (for tests that kill processes or count every row);
`shared_stack` is started once for the flows that register residents of their own;
`gateway` is the gateway in front of the shared stack, for the browser tests (Playwright's
`page` drives Debian's chromium), and `gateway_people` makes residents and signs them in.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
import redis
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc
from playwright.sync_api import Browser, BrowserContext, Page

from linli_kit.processes import GatewayProcess, free_port, start_all, stop_all
from linli_kit.scratch import create_database, drop_database
from linli_kit.testing import (
    STACK_COMMUNITY,
    Credentials,
    Servers,
    Stack,
    eventually,
    load_beside,
    secure_processes,
)


@pytest.fixture
def stack(
    servers: Servers,
    make_database: Callable[[str], str],
    stream_prefix: str,
    credentials: Credentials,
    tmp_path: Path,
) -> Iterator[Stack]:
    """The services as separate OS processes on their own databases."""

    def settings_for(name: str) -> dict[str, str]:
        settings = {
            "database_url": make_database(name),
            "redis_url": servers.redis,
            "stream_prefix": stream_prefix,
        }
        if name == "points":
            # Entries left by a killed points are reclaimed quickly in the crash tests.
            settings["claim_idle_ms"] = "500"
        return settings

    processes = secure_processes(settings_for, credentials, tmp_path)
    start_all(list(processes.values()))
    running = Stack(processes, credentials)
    yield running
    running.close()
    stop_all(list(processes.values()))


@pytest.fixture(scope="session")
def shared_stack(
    servers: Servers, credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The services once for the session, with face templates and quick sweepers."""
    prefix, created = f"test-{uuid.uuid4().hex[:10]}:", []
    folder = tmp_path_factory.mktemp("shared-stack")

    def settings_for(name: str) -> dict[str, str]:
        settings = {
            "database_url": create_database(servers.postgres, f"test_{name}"),
            "redis_url": servers.redis,
            "stream_prefix": prefix,
        }
        if name == "identity":
            key = base64.b64encode(os.urandom(32)).decode()
            keyring = {STACK_COMMUNITY: {"current": "k1", "keys": {"k1": key}}}
            settings["template_keys"] = json.dumps(keyring)
        if name == "attendance":
            settings["forgotten_sweep_seconds"] = "0.2"
        if name == "rewards":
            # The recovery job takes over a saga left half-way after 5 s (a live one can take 2 s
            # on a busy machine).
            settings.update(recovery_sweep_seconds="0.5", stall_seconds="5")
        created.append(settings["database_url"])
        return settings

    processes = secure_processes(settings_for, credentials, folder)
    start_all(list(processes.values()))
    running = Stack(processes, credentials)
    yield running
    running.close()
    stop_all(list(processes.values()))
    client = redis.Redis.from_url(servers.redis)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    for url in created:
        drop_database(servers.postgres, url)


earning = load_beside(__file__, "earning.py", "linli_integration_earning")
CHROMIUM = Path(os.environ.get("LINLI_TEST_CHROMIUM", "/usr/bin/chromium"))


def start_gateway(
    stack: Stack, credentials: Credentials, folder: Path, **settings: str
) -> GatewayProcess:
    """A gateway in front of the stack, on mutual TLS as spiffe://linli/<c>/gateway, serving."""
    credentials.ca.write(folder / "pki", f"spiffe://linli/{stack.community}/gateway")
    given = {
        "community": stack.community,
        "http_host": "127.0.0.1",
        "http_port": str(free_port()),
        "tls_dir": str(folder / "pki"),
        "session_secret": base64.b64encode(os.urandom(32)).decode(),
        "cookie_secure": "false",
        "log_format": "console",
        **{f"{name}_address": process.address for name, process in stack.processes.items()},
        **settings,
    }
    process = GatewayProcess("gateway", given, folder / "gateway.log")
    process.start()
    return process


@pytest.fixture(scope="session")
def gateway(
    shared_stack: Stack, credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """The gateway in front of the shared stack."""
    process = start_gateway(shared_stack, credentials, tmp_path_factory.mktemp("gateway"))
    yield process
    process.stop()


@pytest.fixture
def another_gateway(
    shared_stack: Stack, credentials: Credentials, tmp_path: Path
) -> Iterator[Callable[..., GatewayProcess]]:
    """Start a gateway of the test's own with other settings (stopped after the test)."""
    started: list[GatewayProcess] = []

    def start(**settings: str) -> GatewayProcess:
        folder = tmp_path / f"gateway-{len(started)}"
        started.append(start_gateway(shared_stack, credentials, folder, **settings))
        return started[-1]

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """Playwright drives Debian's chromium (its own browser download is impossible here)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": ["--no-sandbox"]}


@dataclass
class GatewayPeople:
    """Residents of the shared stack who earned points, signed in to the gateway in a browser.

    The stubs act as the community's first social worker; a resident logs in as a person
    would: phone number, then the code identity's development sender writes to its log.
    """

    gateway: GatewayProcess
    browser: Browser
    stack: Stack
    identity: idn_grpc.IdentityServiceStub
    attendance: att_grpc.AttendanceServiceStub
    points: pts_grpc.PointsServiceStub
    rewards: rwd_grpc.RewardsServiceStub
    contexts: list[BrowserContext] = field(default_factory=list)

    @property
    def parent(self) -> str:
        """The shared stack's community."""
        return f"communities/{self.stack.community}"

    def resident(self, name: str = "居民", org_unit: str = "", hours: int = 8) -> idn.Resident:
        """A new resident who served `hours` of regular service (1 point an hour, P1)."""
        resident = self.identity.RegisterResident(
            idn.RegisterResidentRequest(
                parent=self.parent,
                display_name=name,
                phone=f"139{uuid.uuid4().int % 10**8:08d}",
                org_unit=org_unit,
                request_id=str(uuid.uuid4()),
            )
        ).resident
        if hours:
            self.earn(resident.name, hours)
        return resident

    def earn(self, resident: str, hours: int) -> None:
        """`hours` of regular service on a paper sheet, once points has paid them."""
        before = earning.balance(self.points, resident).yearly_centipoints
        self.serve(resident, hours)
        expected = before + hours * 100
        earned = eventually(
            lambda: earning.balance(self.points, resident).yearly_centipoints, expected
        )
        assert earned == expected, f"{resident} has {earned}"

    def serve(self, resident: str, hours: int) -> None:
        """A paper sign-in sheet of `hours` of regular service, entered by staff."""
        planned = att.Activity(
            title="楼道清扫",
            kind=att.ACTIVITY_KIND_ROUTINE,
            service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        )
        start = earning.SERVED_ON
        planned.start_time.FromDatetime(start)
        planned.end_time.FromDatetime(start + timedelta(hours=hours))
        activity = self.attendance.CreateActivity(
            att.CreateActivityRequest(
                parent=self.parent, activity=planned, request_id=str(uuid.uuid4())
            )
        ).activity
        sheet = att.EnterPaperSessionRequest(
            activity=activity.name,
            resident=resident,
            reason="signed on paper",
            request_id=str(uuid.uuid4()),
        )
        sheet.sign_in_time.FromDatetime(start)
        sheet.sign_out_time.FromDatetime(start + timedelta(hours=hours))
        self.attendance.EnterPaperSession(sheet)

    def login_code(self, phone: str, within: float = 15.0) -> str:
        """The newest code identity's development sender logged for the phone."""
        pattern = re.compile(rf"SMS to {phone} .*login code is (\d{{6}})")
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            log = self.stack["identity"].log_path.read_text(errors="replace")
            found = pattern.findall(log)
            if found:
                return str(found[-1])
            time.sleep(0.1)
        raise AssertionError(f"no login code for {phone} in identity's log")

    def sign_in(self, page: Page, phone: str, next_path: str = "/me") -> None:
        """Sign in on the gateway's login page (in Chinese, its default)."""
        page.goto(f"{self.gateway.url}/login?next={next_path}")
        page.get_by_label("手机号码").fill(phone)
        page.get_by_role("button", name="发送验证码").click()
        page.get_by_label("验证码").fill(self.login_code(phone))
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{self.gateway.url}{next_path}")

    def page_of(self, resident: idn.Resident) -> Page:
        """A browser of the resident's own (a context of its own), signed in."""
        context = self.browser.new_context()
        self.contexts.append(context)
        page = context.new_page()
        self.sign_in(page, resident.phone)
        return page


@pytest.fixture(scope="session")
def gateway_people(
    gateway: GatewayProcess, browser: Browser, shared_stack: Stack
) -> Iterator[GatewayPeople]:
    """Residents and staff stubs on the shared stack, for the gateway's browser tests."""
    staff = shared_stack.bootstrap_staff()
    token = shared_stack.credentials.token(
        shared_stack.community, staff.rpartition("/")[2], "social_worker"
    )
    channels: dict[str, grpc.Channel] = {
        name: shared_stack.credentials.channel(
            shared_stack[name].address, shared_stack.community, token=token
        )
        for name in ("identity", "attendance", "points", "rewards")
    }
    people = GatewayPeople(
        gateway,
        browser,
        shared_stack,
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        pts_grpc.PointsServiceStub(channels["points"]),
        rwd_grpc.RewardsServiceStub(channels["rewards"]),
    )
    yield people
    for context in people.contexts:
        context.close()
    for channel in channels.values():
        channel.close()
