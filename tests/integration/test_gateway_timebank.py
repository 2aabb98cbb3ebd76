"""The time bank's pages in a real browser (Playwright on Debian's chromium): a resident of the
shared stack's community sends points to a resident of a peer community and sees the transfer
committed and their balance lowered; a transfer past the peer's credit limit is refused with its
reason; another resident never sees it; staff see the settlement; a resident declares a relative
in another community and staff confirm it; forms need the CSRF token; without peers the pages
say the time bank is not set up. Every page passes axe-core.

The peer is one extra points process and its identity (community `tb-peer`, its own CA and
databases), where the recipient has every sender as a confirmed relative (the recipient rule);
the
community's side is a points process of its own with that peer in LINLI_POINTS_TIMEBANK, on its
own database and streams, verifying the shared stack's identity tokens, behind a gateway of its
own (the shared `gateway` keeps a points without a time bank, so no other test waits for this).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
import redis
from linli.identity.v1 import identity_service_pb2 as idn
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.points.v1 import timebank_service_pb2 as tb
from linli.points.v1 import timebank_service_pb2_grpc as tb_grpc
from playwright.sync_api import Page, expect

from linli_kit import auth
from linli_kit.pki import DevelopmentCA
from linli_kit.processes import GatewayProcess, ServiceProcess, free_port, stop_all
from linli_kit.scratch import create_database, drop_database
from linli_kit.testing import STACK_COMMUNITY, Credentials, Servers, Stack, eventually, load_beside

helpers = load_beside(__file__, "federation.py", "linli_integration_federation")
pages = load_beside(__file__, "test_gateway_pages.py", "linli_gateway_pages_test")
staff_tests = load_beside(__file__, "test_gateway_staff.py", "linli_gateway_staff_test")
earning = load_beside(__file__, "earning.py", "linli_integration_earning")
assert_accessible = pages.assert_accessible

C, PEER = STACK_COMMUNITY, "tb-peer"
PEER_CREDIT = 500  # the peer lets this community owe it 5 points
RECIPIENT_PHONE = "13700000001"  # the recipient's number in the peer community
STARTUP_SECONDS = 400.0  # four more processes beside the shared stack, on a busy machine


@dataclass
class Bank:
    """The community with a time bank: its points, a gateway in front, the peer's recipient."""

    people: object  # conftest's GatewayPeople, signing in at this gateway
    gateway: GatewayProcess
    points: pts_grpc.PointsServiceStub  # this community's points, as its social worker
    client: redis.Redis
    prefix: str
    peer: ServiceProcess  # the peer community's points
    registry: object  # federation.Registry of the peer community's identity
    recipient: str  # the recipient's resident id in the peer community

    def resident(self, name: str, hours: int) -> idn.Resident:
        """A resident registered by identity, known to this points with `hours` of service, and
        a confirmed relative of the recipient in the peer community."""
        registered: idn.Resident = self.people.resident(name, hours=0)  # type: ignore[attr-defined]
        self.registry.declare(self.recipient, registered.phone, confirmed=True)  # type: ignore[attr-defined]
        helpers.seed_resident(self.client, self.prefix, registered.name, name, hours)
        earned = eventually(
            lambda: earning.balance(self.points, registered.name).yearly_centipoints,
            hours * 100,
        )
        assert earned == hours * 100, f"{registered.name} has {earned}"
        return registered


@pytest.fixture(scope="module")
def bank(
    gateway_people,  # type: ignore[no-untyped-def]
    shared_stack: Stack,
    credentials: Credentials,
    servers: Servers,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Bank]:
    """This community's points with PEER as a peer, PEER's points, and a gateway before them."""
    folder = tmp_path_factory.mktemp("gateway-timebank")
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    ours, peer_ca = credentials.ca, DevelopmentCA.create(f"{PEER} CA")
    here, there = helpers.member(C, ours, folder), helpers.member(PEER, peer_ca, folder)
    peer_key = auth.SigningKey.generate("peer-key")
    urls = [create_database(servers.postgres, "test_points") for _ in range(2)]
    urls.append(create_database(servers.postgres, "test_identity"))
    peer_identity = helpers.identity_process(
        PEER,
        peer_ca,
        peer_key,
        folder,
        {"database_url": urls[2], "redis_url": servers.redis, "stream_prefix": f"{prefix}{PEER}:"},
    )
    mine = {
        "database_url": urls[0],
        "redis_url": servers.redis,
        "stream_prefix": f"{prefix}{C}:",
        "identity_address": shared_stack["identity"].address,
    }
    credentials.secure(mine, C, "points", folder / "pki" / "points")
    points = helpers.points_with_peers(here, [there.as_peer(100_000)], mine, folder / "points.log")
    peer_tls = peer_ca.write(folder / "peer" / "pki", f"spiffe://linli/{PEER}/points")
    theirs = {
        "database_url": urls[1],
        "redis_url": servers.redis,
        "stream_prefix": f"{prefix}{PEER}:",
        "identity_address": peer_identity.address,
        "tls_dir": str(peer_tls),
    }
    peer_points = helpers.points_with_peers(
        there, [here.as_peer(PEER_CREDIT)], theirs, folder / "peer.log"
    )
    credentials.ca.write(folder / "gateway-pki", f"spiffe://linli/{C}/gateway")
    addresses = {f"{n}_address": p.address for n, p in shared_stack.processes.items()}
    gateway = GatewayProcess(
        "gateway",
        {
            "community": C,
            "http_host": "127.0.0.1",
            "http_port": str(free_port()),
            "tls_dir": str(folder / "gateway-pki"),
            "session_secret": base64.b64encode(os.urandom(32)).decode(),
            "cookie_secure": "false",
            "log_format": "console",
            **addresses,
            "points_address": points.address,
            "timebank_peers": PEER,
        },
        folder / "gateway.log",
    )
    client = redis.Redis.from_url(servers.redis)
    processes = (peer_identity, points, peer_points, gateway)
    token = credentials.token(C, "tb-staff", "social_worker")
    channel = credentials.channel(points.address, C, token=token)
    try:
        for process in (peer_identity, points, peer_points):
            process.migrate()
        for process in processes:
            process.launch()
        for process in processes:
            process.wait_ready(timeout=STARTUP_SECONDS)
        registry = helpers.Registry(PEER, peer_ca, peer_key, peer_identity.address)
        registry.create_community()
        recipient = registry.register("对方居民", RECIPIENT_PHONE)
        people = dataclasses.replace(gateway_people, gateway=gateway, contexts=[])
        stub = pts_grpc.PointsServiceStub(channel)
        yield Bank(people, gateway, stub, client, f"{prefix}{C}:", peer_points, registry, recipient)
        for context in people.contexts:
            context.close()
    finally:
        channel.close()
        stop_all(list(processes))
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        for url in urls:
            drop_database(servers.postgres, url)


def _send(page: Page, bank: Bank, points: str, memo: str = "") -> None:
    page.get_by_label("社区", exact=True).select_option(PEER)
    page.get_by_label("收款人在该社区的居民编号").fill(bank.recipient)
    page.get_by_label("积分", exact=True).fill(points)
    page.get_by_label("附言（选填）").fill(memo)
    page.get_by_role("button", name="转出积分").click()


def _spendable(page: Page, bank: Bank) -> str:
    page.goto(f"{bank.gateway.url}/me/timebank")
    return page.get_by_test_id("spendable").inner_text().strip()


def test_a_resident_sends_points_to_a_peer_communitys_resident(bank: Bank) -> None:
    sender = bank.resident("李桂兰", hours=8)
    page = bank.people.page_of(sender)  # type: ignore[attr-defined]
    page.get_by_role("link", name="时间银行").first.click()
    expect(page.get_by_text("您可转出 8 积分。")).to_be_visible()
    assert_accessible(page)

    _send(page, bank, "2", "谢谢帮我照看老人")
    state = page.get_by_test_id("transfer-state")
    expect(state).to_have_attribute("data-state", "committed")
    expect(state).to_have_text("已转出：积分已到账")
    assert_accessible(page)
    first = page.url.rpartition("/")[2]
    assert _spendable(page, bank) == "600"
    expect(page.get_by_test_id("transfer")).to_have_count(1)
    page.goto(f"{bank.gateway.url}/me")
    expect(page.get_by_test_id("yearly")).to_have_text("6")

    # The same form submitted twice (one request id) sends once.
    page.goto(f"{bank.gateway.url}/me/timebank")
    form = {
        name: page.locator(f"form[action='/me/timebank'] input[name={name}]").input_value()
        for name in ("csrf_token", "request_id")
    }
    fields = {**form, "peer": PEER, "recipient": bank.recipient, "amount": "1", "memo": ""}
    answers = [page.request.post(f"{bank.gateway.url}/me/timebank", form=fields) for _ in "ab"]
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].url == answers[1].url != f"{bank.gateway.url}/me/timebank/{first}"
    assert _spendable(page, bank) == "500"
    expect(page.get_by_test_id("transfer")).to_have_count(2)

    # The peer owes no more than 5 points of credit: 3 more would pass it (3 + 3 > 5).
    _send(page, bank, "3")
    expect(page.get_by_test_id("transfer-state")).to_have_attribute("data-state", "voided")
    expect(page.get_by_test_id("transfer-state")).to_have_text("被拒绝：积分已退回给您")
    expect(page.get_by_test_id("transfer-reason")).to_contain_text("credit limit")
    assert_accessible(page)
    refused = page.url.rpartition("/")[2]
    assert _spendable(page, bank) == "500"
    listed = page.request.get(f"{bank.gateway.url}/api/v1/me/transfers").json()
    states = {t["transfer_id"]: t["state"] for t in listed["transfers"]}
    assert listed["served"] and states[first] == "committed" and states[refused] == "voided"
    assert len(states) == 3

    # A balance too low is refused beside the form, nothing sent.
    _send(page, bank, "50")
    expect(page.locator("#send-error")).to_be_visible()
    expect(page.get_by_test_id("transfer")).to_have_count(3)

    # Another resident sees none of it, not even by its address.
    other = bank.people.page_of(bank.resident("张建国", hours=1))  # type: ignore[attr-defined]
    other.goto(f"{bank.gateway.url}/me/timebank")
    expect(other.get_by_text("您还没有通过时间银行转出或转入积分。")).to_be_visible()
    assert other.goto(f"{bank.gateway.url}/me/timebank/{first}").status in (403, 404)  # type: ignore[union-attr]
    assert bank.recipient not in other.content()
    answer = other.request.get(f"{bank.gateway.url}/api/v1/me/transfers/{first}")
    assert answer.status in (403, 404)

    # Staff: the month's settlement, and the clearing balance against the peer's limit here.
    staff = staff_tests.signed_in_staff(
        bank.people, staff_tests.staff_member(bank.people).phone, "/staff/timebank"
    )
    row = staff.get_by_test_id(f"peer-{PEER}")
    expect(row.get_by_test_id("clearing")).to_have_text("3")
    expect(staff.get_by_test_id("settlement-summary")).to_have_text(
        re.compile(f"We owe {PEER} 3 points")
    )
    assert_accessible(staff)


def test_a_transfer_the_peer_does_not_answer_stays_pending_then_is_voided_live(
    bank: Bank,
) -> None:
    page = bank.people.page_of(bank.resident("赵淑珍", hours=1))  # type: ignore[attr-defined]
    page.goto(f"{bank.gateway.url}/me/timebank")
    peer = bank.peer.process
    assert peer is not None
    peer.send_signal(signal.SIGSTOP)  # the peer stops answering, past the transfer's deadline
    try:
        _send(page, bank, "1")
        state = page.get_by_test_id("transfer-state")
        expect(state).to_have_attribute("data-state", "pending")
        assert_accessible(page)
        page.evaluate("window.notReloaded = true")
        transfer = page.url.rpartition("/")[2]
        api = f"{bank.gateway.url}/api/v1/me/transfers/{transfer}"
        deadline = datetime.fromisoformat(page.request.get(api).json()["deadline_time"])
        while datetime.now(UTC) <= deadline:  # past it, the peer may no longer accept
            time.sleep(0.2)
    finally:
        peer.send_signal(signal.SIGCONT)
    # The sender asks the peer to abort first (or the peer refuses the late offer), then voids:
    # the page follows without a reload.
    expect(state).to_have_attribute("data-state", "voided", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
    assert _spendable(page, bank) == "100"


def test_a_resident_declares_a_relative_elsewhere_and_staff_confirm_it(bank: Bank) -> None:
    page = bank.people.page_of(bank.resident("陈秀英", hours=0))  # type: ignore[attr-defined]
    page.goto(f"{bank.gateway.url}/me/timebank")
    expect(page.get_by_text("您还没有登记其他社区的亲属。")).to_be_visible()
    page.get_by_label("对方的手机号（在其社区登录用的号码）").fill("136 0000 4321")
    page.get_by_label("亲属关系").select_option("child")
    page.get_by_label("称呼（选填）").fill("儿子")
    page.get_by_role("button", name="登记亲属").click()
    row = page.get_by_test_id("relative")
    expect(row).to_have_attribute("data-state", "declared")
    expect(row).to_contain_text("子女 · 儿子")
    expect(row).to_contain_text("4321")
    assert "13600004321" not in page.content()  # only the last four digits come back
    assert_accessible(page)
    # A number that is no mobile number is refused beside the form.
    page.get_by_label("对方的手机号（在其社区登录用的号码）").fill("12345")
    page.get_by_role("button", name="登记亲属").click()
    expect(page.locator("#relative-error")).to_contain_text("11-digit")

    staff = staff_tests.signed_in_staff(
        bank.people, staff_tests.staff_member(bank.people).phone, "/staff/timebank"
    )
    waiting = staff.get_by_test_id("relative-to-confirm").filter(has_text="4321")
    expect(waiting).to_have_count(1)
    assert_accessible(staff)
    waiting.get_by_role("button", name="Confirm").click()
    expect(staff.get_by_test_id("relative-to-confirm").filter(has_text="4321")).to_have_count(0)

    page.goto(f"{bank.gateway.url}/me/timebank")
    expect(row).to_have_attribute("data-state", "confirmed")
    expect(row).to_contain_text("社工已确认")
    row.get_by_role("button").click()
    expect(page.get_by_text("您还没有登记其他社区的亲属。")).to_be_visible()


def test_the_time_bank_forms_need_the_csrf_token(bank: Bank) -> None:
    page = bank.people.page_of(bank.resident("刘芳", hours=2))  # type: ignore[attr-defined]
    page.goto(f"{bank.gateway.url}/me/timebank")
    request_id = page.locator("form[action='/me/timebank'] input[name=request_id]").input_value()
    fields = {"peer": PEER, "recipient": bank.recipient, "amount": "1", "request_id": request_id}
    refused = page.request.post(f"{bank.gateway.url}/me/timebank", form=fields)
    assert refused.status == 403
    body = {
        "peer": PEER,
        "recipient": bank.recipient,
        "amount_centipoints": 100,
        "request_id": "x1",
    }
    assert page.request.post(f"{bank.gateway.url}/api/v1/me/transfers", data=body).status == 403
    assert _spendable(page, bank) == "200"
    expect(page.get_by_test_id("transfer")).to_have_count(0)


def test_without_peers_the_time_bank_pages_say_it_is_not_set_up(gateway_people) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    page = people.page_of(people.resident("周丽", hours=0))
    answer = page.goto(f"{people.gateway.url}/me/timebank")
    assert answer is not None and answer.status == 200
    expect(page.get_by_test_id("timebank-off")).to_have_text(
        "本社区尚未开通时间银行：还没有可以互通积分的社区。"
    )
    assert_accessible(page)
    assert page.request.get(f"{people.gateway.url}/api/v1/me/transfers").json() == {
        "served": False,
        "transfers": [],
    }
    staff = staff_tests.signed_in_staff(
        people, staff_tests.staff_member(people).phone, "/staff/timebank"
    )
    expect(staff.get_by_test_id("timebank-off")).to_be_visible()
    assert_accessible(staff)


def test_a_points_without_peers_answers_the_time_bank_unimplemented(gateway_people) -> None:  # type: ignore[no-untyped-def]
    """What the gateway sees of a community without peers (its pages take it as not set up)."""
    stack = gateway_people.stack
    resident = gateway_people.resident("吴敏", hours=0)
    token = stack.credentials.token(C, resident.name.rpartition("/")[2])
    with stack.credentials.channel(stack["points"].address, C, token=token) as channel:
        request = tb.ListTransfersRequest(parent=resident.name)
        with pytest.raises(grpc.RpcError) as refused:
            tb_grpc.TimeBankServiceStub(channel).ListTransfers(request)
    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED
