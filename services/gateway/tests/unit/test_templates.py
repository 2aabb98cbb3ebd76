"""Every page template renders with the data its view gives it, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from linli_gateway.entrypoints import i18n
from linli_gateway.entrypoints.rendering import environment
from linli_gateway.entrypoints.views import resident as views
from linli_gateway.entrypoints.views.boards import Board, Place
from linli_gateway.service_layer.charts import bar_chart

NOW = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
ME = "communities/demo/residents/r1"


def _base(**more: Any) -> dict[str, Any]:
    return {
        "csrf_token": "t",
        "csrf_field": "",
        "locale": i18n.current_locale(),
        "html_lang": "zh-CN",
        "signed_in": True,
        "roles": [],
        "error": "",
        "request_id": "rid",
        "section": "me",
        **more,
    }


def _appeal(state: str = "filed") -> views.Appeal:
    return views.Appeal(
        appeal="communities/demo/appeals/a1",
        transaction="communities/demo/transactions/t1",
        reason="少记了一小时",
        state=state,
        decision_reason="核实无误" if state != "filed" else "",
        compensation_centipoints=100 if state == "accepted" else 0,
        create_time=NOW,
        decide_time=NOW if state != "filed" else None,
    )


def _overview() -> views.Overview:
    posting = views.Posting(
        transaction="communities/demo/transactions/t1",
        time=NOW,
        kind="award",
        rule_kind="service",
        reason="P1: 8 h regular service × 1",
        change_centipoints=800,
        appealable=True,
    )
    appealed = posting.model_copy(
        update={"appeal": "communities/demo/appeals/a1", "appeal_state": "filed"}
    )
    return views.Overview(
        profile=views.Profile(
            resident=ME, display_name="李娜", org_unit="grid-1/building-3", roles=[]
        ),
        balances=views.Balances(
            yearly_centipoints=800,
            lifetime_centipoints=1200,
            reserved_centipoints=100,
            honour_tier="",
        ),
        year=2026,
        monthly_centipoints=[0, 0, 800, *[0] * 9],
        history=[posting, appealed],
    )


def _redemption(state: str) -> views.Redemption:
    return views.Redemption(
        redemption="communities/demo/redemptions/x1",
        item="communities/demo/items/i1",
        item_title="超市购物券",
        price_centipoints=100,
        state=state,
        has_voucher=state == "active",
        create_time=NOW,
        voucher_expire_time=NOW,
        consume_time=None,
        end_reason="",
    )


PAGES: list[tuple[str, dict[str, Any], str]] = [
    ("public/home.html", {}, "欢迎来到邻里"),
    (
        "public/leaderboard.html",
        {
            "board": Board(
                scope="grid:grid-1",
                year=0,
                places=[Place(rank=1, display_name="李*", score_centipoints=800)],
            ),
            "grid": "grid-1",
            "building": "",
            "stream": "/leaderboard/stream?grid=grid-1",
        },
        "李*",
    ),
    ("login/phone.html", {"next": "/me", "phone": ""}, "发送验证码"),
    ("login/code.html", {"next": "/me", "phone": "13800000002"}, "13800000002"),
    ("login/staff.html", {"next": "/me", "phone": "", "error": "错"}, 'aria-invalid="true"'),
    ("errors/error.html", {"status": 404, "title": "未找到", "detail": ""}, "错误 404"),
    (
        "resident/overview.html",
        {"me": _overview(), "chart": bar_chart(_overview().monthly_centipoints)},
        "P1: 8 h",
    ),
    (
        "resident/appeals.html",
        {"appeals": [_appeal()], "transaction": "communities/demo/transactions/t1"},
        "提交申诉",
    ),
    ("resident/appeal.html", {"appeal": _appeal("accepted")}, "核实无误"),
    (
        "resident/rewards.html",
        {
            "items": [
                views.Item(
                    item="communities/demo/items/i1",
                    title="超市购物券",
                    description="",
                    kind="voucher",
                    price_centipoints=100,
                    stock=3,
                    partner="",
                )
            ],
            "redemptions": [_redemption("active")],
            "balances": _overview().balances,
        },
        "兑换 超市购物券",
    ),
    (
        "resident/voucher.html",
        {"redemption": _redemption("active"), "image": "data:image/svg+xml;base64,AA=="},
        "voucher-qr",
    ),
    (
        "resident/voucher.html",
        {"redemption": _redemption("consumed"), "image": ""},
        "此兑换券已使用",
    ),
    (
        "resident/training.html",
        {
            "training": views.Training(
                level="",
                level_title="一星志愿者",
                credits=3,
                core_volunteer=False,
                courses=[
                    views.CourseProgress(
                        course="c",
                        title="志愿服务理念",
                        tier="beginner",
                        hours=4,
                        attended_seconds=3600,
                        required_seconds=12960,
                        completed=False,
                    )
                ],
            )
        },
        "一星志愿者",
    ),
    (
        "resident/partners.html",
        {
            "checks": [
                views.EligibilityCheck(
                    partner="p",
                    partner_display_name="幸福银行",
                    benefit="b",
                    qualifies=True,
                    check_time=NOW,
                )
            ],
            "code": views.EligibilityCode(code="ABCDEFGHJKLM", expire_time=NOW),
            "qr": "data:image/svg+xml;base64,AA==",
        },
        "ABCDEFGHJKLM",
    ),
    (
        "resident/face.html",
        {
            "face": views.Face(
                consents=[
                    views.FaceConsent(
                        consent="c",
                        purpose="face_sign_in",
                        policy_version="2026-01",
                        retention_days=365,
                        grant_time=NOW,
                        granted_by=ME,
                        withdraw_time=None,
                        withdrawn_by="",
                        active=True,
                    )
                ],
                active=True,
            ),
            "policy_version": "2026-01",
            "retention_days": 365,
        },
        "撤回同意",
    ),
]


@pytest.mark.parametrize(
    ("name", "context", "expected"), PAGES, ids=[f"{p[0]}-{i}" for i, p in enumerate(PAGES)]
)
def test_a_template_renders_in_chinese(name: str, context: dict[str, Any], expected: str) -> None:
    html = environment.get_template(name).render(_base(**context))
    assert expected in html
    assert "Traceback" not in html


@pytest.mark.parametrize(("name", "context", "expected"), PAGES[:3])
def test_a_template_renders_in_english(name: str, context: dict[str, Any], expected: str) -> None:
    token = i18n._current.set("en")
    try:
        html = environment.get_template(name).render(_base(**context, html_lang="en", locale="en"))
    finally:
        i18n._current.reset(token)
    assert expected not in html or expected == "李*"
