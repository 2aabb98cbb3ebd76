"""The gateway's pages in a real browser (Playwright driving Debian's chromium) against the
gateway and the services as OS processes on mutual TLS (the session's `shared_stack`).

Residents earn their points the real way (a paper sign-in sheet → attendance → points) and log
in as a person would (`gateway_people` in conftest.py). Every page is checked with axe-core.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import uuid
from pathlib import Path

from linli.identity.v1 import identity_service_pb2 as idn
from linli.points.v1 import points_service_pb2 as pts
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc
from playwright.sync_api import Page, expect

from linli_kit.testing import Stack

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now (WCAG 2.1 AA)."""
    assert AXE.exists(), "axe-core comes from npm: run npm ci (make test does)"
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (tags) => (await axe.run(document, {
            runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
        })).violations.map(v => ({
            id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')),
        }))""",
        ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    )
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


def _item(people, price: int = 100) -> rwd.Item:  # type: ignore[no-untyped-def]
    given = rwd.Item(
        title=f"超市购物券 {uuid.uuid4().hex[:4]}",
        kind=rwd.ITEM_KIND_VOUCHER,
        price_centipoints=price,
        value_fen=500,
        stock=5,
    )
    request = rwd.CreateItemRequest(
        parent=people.parent,
        item_id=f"gw-{uuid.uuid4().hex[:10]}",
        item=given,
        request_id=str(uuid.uuid4()),
    )
    return people.rewards.CreateItem(request).item


def test_a_resident_signs_in_sees_a_balance_redeems_and_sees_the_vouchers_qr(
    gateway_people, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    resident = people.resident("王秀英")
    item = _item(people)
    page = people.page_of(resident)
    expect(page.get_by_test_id("yearly")).to_have_text("8")
    expect(page.get_by_role("cell", name="8", exact=True).first).to_be_visible()
    expect(page.locator("td.why", has_text="常规服务（场次 ").first).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="兑换", exact=True).click()
    assert_accessible(page)
    page.get_by_role("button", name=f"兑换 {item.title}").click()
    qr = page.get_by_test_id("voucher-qr")
    expect(qr).to_be_visible()
    assert_accessible(page)
    picture = tmp_path / "voucher.png"
    qr.screenshot(path=str(picture))
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(picture)], capture_output=True, text=True, check=True
    ).stdout.strip()
    redemption = people.rewards.GetRedemption(
        rwd.GetRedemptionRequest(name=f"{people.parent}/redemptions/{page.url.rpartition('/')[2]}")
    ).redemption
    assert decoded == redemption.voucher and decoded.startswith("v4.public.")
    assert redemption.resident == resident.name and redemption.item == item.name
    page.goto(f"{people.gateway.url}/me")
    expect(page.get_by_test_id("yearly")).to_have_text("7")


def test_a_resident_appeals_a_posting_and_follows_it(gateway_people) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    page = people.page_of(people.resident("赵磊"))
    page.get_by_role("link", name="申诉", exact=True).last.click()
    assert_accessible(page)
    page.get_by_label("这笔积分哪里有误？").fill("签到时间少记了一小时")
    page.get_by_role("button", name="提交申诉").click()
    expect(page.get_by_test_id("appeal-state")).to_have_text("等待委员会审核")
    assert_accessible(page)
    page.goto(f"{people.gateway.url}/me")
    expect(page.get_by_role("link", name="申诉：等待委员会审核")).to_be_visible()


def test_the_other_resident_pages_pass_the_accessibility_check(gateway_people) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    page = people.page_of(people.resident("孙丽", hours=0))
    for path in ("/me", "/me/appeals", "/me/training", "/me/partners", "/me/face"):
        page.goto(f"{people.gateway.url}{path}")
        assert_accessible(page)
    page.get_by_role("button", name="我同意刷脸签到").click()
    expect(page.get_by_test_id("consent-state")).to_have_text("您已同意刷脸签到。")
    page.get_by_role("button", name="撤回同意并删除我的面部特征").click()
    expect(page.get_by_test_id("consent-state")).to_have_text("您尚未同意刷脸签到。")
    expect(page.get_by_role("cell", name="2026-01").first).to_be_visible()
    page.goto(f"{people.gateway.url}/me/partners")
    page.get_by_role("button", name="生成新验证码").click()
    expect(page.get_by_test_id("eligibility-code")).to_have_text(re.compile(r"^\S{12}$"))
    assert_accessible(page)
    for path in ("/", "/leaderboard", "/login", "/login/staff", "/no-such-page"):
        page.goto(f"{people.gateway.url}{path}?lang=en")
        assert_accessible(page)


def test_a_page_never_shows_another_residents_data(gateway_people) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    alice, bob = people.resident("钱多多"), people.resident("周小米")
    credentials, stack = people.stack.credentials, people.stack
    as_bob = credentials.token(stack.community, bob.name.rpartition("/")[2])
    bobs_rewards = rwd_grpc.RewardsServiceStub(
        credentials.channel(stack["rewards"].address, stack.community, token=as_bob)
    )
    item = _item(people)
    bobs = bobs_rewards.Redeem(
        rwd.RedeemRequest(parent=bob.name, item=item.name, request_id=str(uuid.uuid4()))
    ).redemption
    bobs_id = bobs.name.rpartition("/")[2]
    (bobs_posting,) = people.points.ListTransactions(
        pts.ListTransactionsRequest(parent=bob.name)
    ).transactions[-1:]

    page = people.page_of(alice)
    expect(page.get_by_role("heading", name="钱多多")).to_be_visible()
    assert "周小米" not in page.content()
    for path in (f"/me/vouchers/{bobs_id}", f"/me/appeals?transaction={bobs_posting.name}"):
        page.goto(f"{people.gateway.url}{path}")
        assert "周小米" not in page.content() and bobs.voucher not in page.content()
    refused = page.goto(f"{people.gateway.url}/me/vouchers/{bobs_id}")
    assert refused is not None and refused.status in (403, 404)
    api = page.request.get(f"{people.gateway.url}/api/v1/me/redemptions/{bobs_id}")
    assert api.status in (403, 404) and api.headers["content-type"] == "application/problem+json"
    mine = page.request.get(f"{people.gateway.url}/api/v1/me/redemptions").json()
    assert mine == []
    overview = page.request.get(f"{people.gateway.url}/api/v1/me").json()
    assert overview["profile"]["resident"] == alice.name
    assert all(bobs_posting.name != row["transaction"] for row in overview["history"])


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(gateway_people) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    resident = people.resident("吴敏")
    item = _item(people)
    page = people.page_of(resident)
    forged = page.request.post(
        f"{people.gateway.url}/me/rewards",
        form={"item": item.name, "request_id": str(uuid.uuid4())},
        max_redirects=0,
    )
    assert forged.status == 403 and "表单已过期" in forged.text()
    api = page.request.post(
        f"{people.gateway.url}/api/v1/me/redemptions",
        data={"item": item.name, "request_id": str(uuid.uuid4())},
        headers={"X-CSRF-Token": "not-the-sessions"},
    )
    assert api.status == 403 and api.json()["status"] == 403
    assert api.headers["content-type"] == "application/problem+json"
    listed = people.rewards.ListRedemptions(rwd.ListRedemptionsRequest(parent=resident.name))
    assert list(listed.redemptions) == []
    token = page.request.get(f"{people.gateway.url}/api/v1/session").json()["csrf_token"]
    done = page.request.post(
        f"{people.gateway.url}/api/v1/me/redemptions",
        data={"item": item.name, "request_id": str(uuid.uuid4())},
        headers={"X-CSRF-Token": token},
    )
    assert done.status == 201 and done.json()["state"] == "active"


def test_api_errors_are_problem_json(gateway_people, page: Page) -> None:  # type: ignore[no-untyped-def]
    url = gateway_people.gateway.url
    anonymous = page.request.get(f"{url}/api/v1/me")
    assert anonymous.status == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["title"] == "请登录"
    signed = gateway_people.page_of(gateway_people.resident("郑洁", hours=0))
    token = signed.request.get(f"{url}/api/v1/session").json()["csrf_token"]
    bad = signed.request.post(
        f"{url}/api/v1/me/appeals",
        data={"transaction": "not-a-transaction", "reason": "x", "request_id": "r1"},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status == 400 and bad.json()["code"] == "INVALID_ARGUMENT", bad.text()
    assert bad.headers["content-type"] == "application/problem+json"
    missing = signed.request.get(f"{url}/api/v1/me/appeals/no-such-appeal")
    assert missing.status == 404 and missing.json()["code"] == "NOT_FOUND"
    invalid = signed.request.get(f"{url}/api/v1/leaderboard?year=-1")
    assert invalid.status == 422 and invalid.json()["status"] == 422


def test_the_public_leaderboard_updates_without_a_reload(
    gateway_people, page: Page, shared_stack: Stack
) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    grid = f"g{uuid.uuid4().hex[:6]}"
    # Both are registered first: points learns where a resident lives from identity's events,
    # and puts an award on the grid's board only once it knows.
    first = people.resident("林志强", org_unit=f"{grid}/b1", hours=0)
    second = people.resident("陈静", org_unit=f"{grid}/b2", hours=0)
    people.earn(first.name, 8)
    page.goto(f"{people.gateway.url}/leaderboard?grid={grid}")
    board = page.locator("#board li")
    expect(board).to_have_count(1)
    assert_accessible(page)
    page.evaluate("window.notReloaded = true")
    people.earn(second.name, 6)
    expect(board).to_have_count(2, timeout=20_000)
    expect(board.last).to_contain_text("陈*")
    expect(board.last).to_contain_text("6")
    assert page.evaluate("window.notReloaded") is True


def _session_tokens(page: Page) -> tuple[str, str]:
    """The access and refresh tokens the session cookie holds (signed, not encrypted)."""
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "linli_session"]
    payload = cookie["value"].split(".")[0]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data["access"], data["refresh"]


def test_tokens_are_refreshed_through_identity_once_for_requests_arriving_together(
    gateway_people, another_gateway
) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    # identity's access tokens live 10 minutes: a 600 s margin asks for new ones every request.
    refreshing_gateway = another_gateway(refresh_margin_seconds="600")
    resident = people.resident("冯立", hours=0)
    context = people.browser.new_context()
    people.contexts.append(context)
    page = context.new_page()
    url = refreshing_gateway.url
    page.goto(f"{url}/login?next=/")
    page.get_by_label("手机号码").fill(resident.phone)
    page.get_by_role("button", name="发送验证码").click()
    page.get_by_label("验证码").fill(people.login_code(resident.phone))
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{url}/")
    first = _session_tokens(page)
    answers = page.evaluate(
        """async (url) => Promise.all([1, 2, 3, 4].map(() =>
            fetch(url + '/api/v1/me/face', {credentials: 'same-origin'}).then(r => r.status)))""",
        url,
    )
    assert answers == [200, 200, 200, 200]
    second = _session_tokens(page)
    assert second[0] != first[0] and second[1] != first[1]
    page.goto(f"{url}/me")
    expect(page.get_by_role("heading", name="冯立")).to_be_visible()
    assert _session_tokens(page)[1] not in (first[1], second[1])


def test_staff_sign_in_with_a_password(gateway_people, page: Page) -> None:  # type: ignore[no-untyped-def]
    people = gateway_people
    worker = people.resident("何社工", hours=0)
    people.identity.GrantRole(
        idn.GrantRoleRequest(
            resident=worker.name, role="social_worker", request_id=str(uuid.uuid4())
        )
    )
    password = f"pw-{uuid.uuid4().hex}"
    people.identity.SetPassword(
        idn.SetPasswordRequest(
            resident=worker.name, password=password, request_id=str(uuid.uuid4())
        )
    )
    page.goto(f"{people.gateway.url}/login/staff?lang=en")
    assert_accessible(page)
    page.get_by_label("Mobile phone number").fill(worker.phone)
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The phone number or password is wrong.")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{people.gateway.url}/me")
    expect(page.get_by_role("heading", name="何社工")).to_be_visible()
    session = page.request.get(f"{people.gateway.url}/api/v1/session").json()
    assert session["resident"] == worker.name and "social_worker" in session["roles"]
