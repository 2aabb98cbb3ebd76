"""The shop-counter page in a real browser: a partner's cashier scans a resident's voucher with
the camera (Chromium's fake camera plays a .y4m of the voucher's QR code, decoded by jsQR in the
page), sees it is valid, consumes it, and a second consumption of it is refused on the page.

The gateway here is its own process (in front of the session's shared stack) with one
partner's counter credential: the partner's certificate and the SHA-256 of its counter key.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import segno
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.partners.v1 import partners_service_pb2 as ptn
from linli.partners.v1 import partners_service_pb2_grpc as ptn_grpc
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from linli_kit.processes import GatewayProcess, free_port
from linli_kit.testing import STACK_COMMUNITY, Credentials, Stack, eventually, load_beside

earning = load_beside(__file__, "earning.py", "linli_integration_earning")
C = STACK_COMMUNITY
PARENT = f"communities/{C}"
PARTNER = f"p-counter-{uuid.uuid4().hex[:6]}"
KEY = secrets.token_urlsafe(32)
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
W, H = 640, 480


@pytest.fixture(scope="module")
def counter_gateway(
    shared_stack: Stack, credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway holding PARTNER's counter credential."""
    folder = tmp_path_factory.mktemp("counter-gateway")
    credentials.ca.write(folder / "pki", f"spiffe://linli/{C}/gateway")
    partner = credentials.ca.write(
        folder / "counters" / PARTNER, f"spiffe://linli/{C}/partner/{PARTNER}"
    )
    (partner / "counter-key.sha256").write_text(hashlib.sha256(KEY.encode()).hexdigest())
    settings = {
        "community": C,
        "http_host": "127.0.0.1",
        "http_port": str(free_port()),
        "tls_dir": str(folder / "pki"),
        "counters_dir": str(folder / "counters"),
        "session_secret": base64.b64encode(os.urandom(32)).decode(),
        "cookie_secure": "false",
        "log_format": "console",
        **{f"{name}_address": p.address for name, p in shared_stack.processes.items()},
    }
    process = GatewayProcess("gateway", settings, folder / "gateway.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def voucher(shared_stack: Stack) -> str:
    """A resident's voucher for an item PARTNER fulfils (the partner may consume vouchers)."""
    staff = shared_stack.bootstrap_staff()
    token = shared_stack.credentials.token(C, staff.rpartition("/")[2], "social_worker")
    channels = {
        n: shared_stack.credentials.channel(shared_stack[n].address, C, token=token)
        for n in ("identity", "attendance", "points", "rewards", "partners")
    }
    try:
        ptn_grpc.PartnersServiceStub(channels["partners"]).CreatePartner(
            ptn.CreatePartnerRequest(
                parent=PARENT,
                partner_id=PARTNER,
                partner=ptn.Partner(
                    display_name="街角超市",
                    kind=ptn.PARTNER_KIND_SUPERMARKET,
                    access=ptn.PartnerAccess(consume_vouchers=True),
                ),
                request_id=str(uuid.uuid4()),
            )
        )
        rewards = rwd_grpc.RewardsServiceStub(channels["rewards"])
        item = rewards.CreateItem(
            rwd.CreateItemRequest(
                parent=PARENT,
                item_id=f"t-{uuid.uuid4().hex[:12]}",
                item=rwd.Item(
                    title="五元购物券",
                    kind=rwd.ITEM_KIND_VOUCHER,
                    price_centipoints=300,
                    value_fen=500,
                    stock=2,
                    partner=PARTNER,
                ),
                request_id=str(uuid.uuid4()),
            )
        ).item
        (resident,) = earning.residents_with_points(
            idn_grpc.IdentityServiceStub(channels["identity"]),
            att_grpc.AttendanceServiceStub(channels["attendance"]),
            pts_grpc.PointsServiceStub(channels["points"]),
            PARENT,
            1,
        )
        redemption = rewards.Redeem(
            rwd.RedeemRequest(parent=resident, item=item.name, request_id=str(uuid.uuid4()))
        ).redemption

        def issued() -> bool:
            found = rewards.GetRedemption(rwd.GetRedemptionRequest(name=redemption.name))
            return bool(found.redemption.voucher)

        assert eventually(issued, True, within=30.0)  # type: ignore[arg-type]
        found = rewards.GetRedemption(rwd.GetRedemptionRequest(name=redemption.name))
        assert found.redemption.voucher.startswith("v4.public.")
        return found.redemption.voucher
    finally:
        for channel in channels.values():
            channel.close()


@pytest.fixture(scope="module")
def qr_camera(voucher: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .y4m of the voucher's QR code held in front of the camera (white around it)."""
    buffer = io.BytesIO()
    segno.make(voucher, error="m").save(buffer, kind="png", scale=4, border=4)
    code = Image.open(buffer).convert("RGB")
    frame = Image.new("RGB", (W, H), (255, 255, 255))
    frame.paste(code, ((W - code.width) // 2, (H - code.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    path = tmp_path_factory.mktemp("qr-camera") / "voucher.y4m"
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            out.write(b"FRAME\n" + y.tobytes())
            out.write(cb.resize((W // 2, H // 2)).tobytes() + cr.resize((W // 2, H // 2)).tobytes())
    return path


@pytest.fixture
def counter_browser(launch_browser: Callable[..., Browser], qr_camera: Path) -> Iterator[Browser]:
    """A chromium whose camera shows the voucher's QR code."""
    browser = launch_browser(
        args=[
            "--no-sandbox",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={qr_camera}",
        ]
    )
    yield browser
    browser.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (WCAG 2 A and AA)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(found)


def sign_in_counter(page: Page, gateway: GatewayProcess, key: str = KEY) -> None:
    """The counter signs in with the partner id and its counter key (English pages)."""
    page.goto(f"{gateway.url}/counter/login?lang=en")
    page.get_by_label("Partner id").fill(PARTNER)
    page.get_by_label("Counter key").fill(key)
    page.get_by_role("button", name="Sign the counter in").click()


def test_a_cashier_consumes_a_scanned_voucher_once(
    counter_gateway: GatewayProcess, counter_browser: Browser, voucher: str
) -> None:
    context = counter_browser.new_context(permissions=["camera"])
    page = context.new_page()
    sign_in_counter(page, counter_gateway, key="not-the-key-" + "x" * 30)
    expect(page.get_by_role("alert")).to_have_text("The partner or the counter key is wrong.")
    assert serious_violations(page) == []
    sign_in_counter(page, counter_gateway)

    # The camera shows the QR code: jsQR reads it and the page checks it.
    page.wait_for_url(f"{counter_gateway.url}/counter/check", timeout=30_000)
    check = page.get_by_test_id("voucher-check")
    expect(check).to_contain_text("Valid")
    expect(check).to_contain_text("五元购物券")
    assert serious_violations(page) == []

    # A second cashier scans the same voucher before the first hands the item over.
    other = context.new_page()
    other.goto(f"{counter_gateway.url}/counter")
    other.wait_for_url(f"{counter_gateway.url}/counter/check", timeout=30_000)
    expect(other.get_by_test_id("voucher-check")).to_contain_text("Valid")

    page.get_by_role("button", name="Hand over and use the voucher").click()
    expect(page.get_by_test_id("voucher-used")).to_contain_text("Used")
    expect(page.get_by_test_id("voucher-used")).to_contain_text("五元购物券")
    assert serious_violations(page) == []

    other.get_by_role("button", name="Hand over and use the voucher").click()
    refused = other.get_by_test_id("voucher-used")
    expect(refused).to_contain_text("Refused")
    expect(refused).to_contain_text("do not hand anything over")

    # Scanned again, it is no longer valid.
    other.goto(f"{counter_gateway.url}/counter")
    other.wait_for_url(f"{counter_gateway.url}/counter/check", timeout=30_000)
    expect(other.get_by_test_id("voucher-check")).to_contain_text("This voucher has been used.")
    context.close()


def test_an_altered_voucher_is_not_valid(
    counter_gateway: GatewayProcess, browser: Browser, voucher: str
) -> None:
    page = browser.new_context().new_page()
    sign_in_counter(page, counter_gateway)
    page.wait_for_url(f"{counter_gateway.url}/counter")
    altered = voucher[:20] + ("A" if voucher[20] != "A" else "B") + voucher[21:]
    page.get_by_label("Voucher").fill(altered)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("voucher-check")).to_contain_text("not a voucher of this community")
    # Typed (or pasted) as it is, it reads: the partner's own item, shown with its title.
    page.goto(f"{counter_gateway.url}/counter")
    page.get_by_label("Voucher").fill(voucher)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("voucher-check")).to_contain_text("五元购物券")
    page.context.close()


def test_the_counter_pages_need_the_counter_signed_in(counter_gateway: GatewayProcess) -> None:
    with urllib.request.urlopen(f"{counter_gateway.url}/counter") as reply:
        assert reply.url.endswith("/counter/login")


def test_the_counter_api_checks_and_refuses_a_used_voucher(
    counter_gateway: GatewayProcess, voucher: str
) -> None:
    """The same over /api/v1/counter (after the browser test: the voucher is used)."""
    api = f"{counter_gateway.url}/api/v1"
    with requests.Session() as client:
        client.headers["X-CSRF-Token"] = client.get(f"{api}/session", timeout=10).json()[
            "csrf_token"
        ]
        unsigned = client.post(f"{api}/counter/check", json={"voucher": voucher}, timeout=10)
        assert unsigned.status_code == 401
        assert unsigned.headers["content-type"] == "application/problem+json"
        wrong = {"partner": PARTNER, "key": "x" * 40}
        assert client.post(f"{api}/counter/session", json=wrong, timeout=10).status_code == 401
        right = {"partner": PARTNER, "key": KEY}
        signed = client.post(f"{api}/counter/session", json=right, timeout=10)
        assert signed.json() == {"partner": PARTNER}
        # A new session: a new CSRF token.
        client.headers["X-CSRF-Token"] = client.get(f"{api}/session", timeout=10).json()[
            "csrf_token"
        ]

        found = client.post(f"{api}/counter/check", json={"voucher": voucher}, timeout=10)
        assert found.status_code == 200
        assert (found.json()["valid"], found.json()["reason"]) == (False, "consumed")
        again = client.post(
            f"{api}/counter/consume",
            json={"voucher": voucher, "request_id": str(uuid.uuid4())},
            timeout=10,
        )
        assert again.status_code == 409
        assert again.json()["code"] == "FAILED_PRECONDITION"
