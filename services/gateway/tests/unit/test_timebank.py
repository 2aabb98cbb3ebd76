"""The time bank's pages: typed amounts, the peers setting, and the templates in both languages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from linli_gateway.config import GatewaySettings
from linli_gateway.entrypoints import i18n
from linli_gateway.entrypoints.pages.timebank import centipoints
from linli_gateway.entrypoints.rendering import environment
from linli_gateway.entrypoints.views import relatives, resident, timebank

NOW = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "hundredths"),
    [("2", 200), (" 2.5 ", 250), ("0.01", 1), ("1000000", 100_000_000)],
)
def test_an_amount_of_points_is_read_in_hundredths(typed: str, hundredths: int) -> None:
    assert centipoints(typed) == hundredths


@pytest.mark.parametrize("typed", ["0", "-1", "0.001", "1000000.01", "abc", "NaN", "inf", ""])
def test_an_amount_that_is_not_one_is_refused(typed: str) -> None:
    assert centipoints(typed) is None


def test_the_peers_setting_is_a_list_of_community_ids() -> None:
    base = {"community": "demo", "session_secret": "s" * 32}
    assert GatewaySettings(**base).peers() == ()
    assert GatewaySettings(**base, timebank_peers="donghu,nanshan").peers() == (
        "donghu",
        "nanshan",
    )
    with pytest.raises(ValidationError):
        GatewaySettings(**base, timebank_peers="donghu,,Bad Peer")


def _transfer(state: str, reason: str = "") -> timebank.Transfer:
    return timebank.Transfer(
        transfer="communities/demo/transfers/t1",
        transfer_id="t1",
        sender="communities/demo/residents/r1",
        recipient="communities/donghu/residents/r9",
        peer="donghu",
        amount_centipoints=250,
        state=state,
        direction="sent",
        reason=reason,
        memo="谢谢",
        create_time=NOW,
        deadline_time=NOW,
        settle_time=NOW if state != "pending" else None,
    )


def _base(**more: Any) -> dict[str, Any]:
    return {
        "csrf_token": "t",
        "csrf_field": "",
        "locale": i18n.current_locale(),
        "html_lang": "zh-CN",
        "signed_in": True,
        "roles": ["social_worker"],
        "error": "",
        "relative_error": "",
        "request_id": "rid",
        "section": "timebank",
        **more,
    }


BALANCES = resident.Balances(
    yearly_centipoints=800, lifetime_centipoints=800, reserved_centipoints=0, honour_tier=""
)
SENT = timebank.Transfers(served=True, transfers=[_transfer("voided", "refused by donghu")])
OFF = timebank.Transfers(served=False, transfers=[])
REPORT = timebank.Settlement(
    served=True,
    year=2026,
    month=3,
    peers=[
        timebank.PeerSettlement(
            peer="donghu",
            sent_centipoints=300,
            received_centipoints=0,
            net_centipoints=300,
            clearing_centipoints=300,
            credit_limit_centipoints=500,
            pending=0,
        )
    ],
    summary=["demo owes donghu 3"],
)


def _relative(state: str) -> relatives.Relative:
    return relatives.Relative(
        relative="communities/demo/residents/r1/relatives/k1",
        relative_id="k1",
        resident="communities/demo/residents/r1",
        relation="child",
        display_label="女儿",
        phone_hint="5678",
        state=state,
        create_time=NOW,
    )


MINE = {"relatives": [_relative("declared")], "relations": relatives.RELATIONS}


class Staff:
    """What the staff navigation asks of the person."""

    def has(self, *roles: str) -> bool:
        return "social_worker" in roles


PAGES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "timebank/resident.html",
        {"bank": SENT, "balances": BALANCES, "peers": ("donghu",), "pending": False, **MINE},
        "您可转出 8 积分。",
        "You can send 8 points.",
    ),
    (
        "timebank/resident.html",
        {"bank": SENT, "balances": BALANCES, "peers": ("donghu",), "pending": False, **MINE},
        "子女 · 女儿</td>\n      <td>5678</td>\n      <td>等待社工确认",
        "waiting for staff to confirm",
    ),
    (
        "timebank/resident.html",
        {
            "bank": SENT,
            "balances": BALANCES,
            "peers": ("donghu",),
            "pending": False,
            "relatives": [],
            "relations": relatives.RELATIONS,
        },
        "您还没有登记其他社区的亲属。",
        "Declare the relative",
    ),
    (
        "timebank/resident.html",
        {"bank": OFF, "balances": None, "peers": ("donghu",), "pending": False},
        "本社区尚未开通时间银行",
        "The time bank is not set up in this community",
    ),
    (
        "timebank/transfer.html",
        {"t": _transfer("pending")},
        'hx-trigger="every 2s"',
        "waiting for the peer community",
    ),
    (
        "timebank/transfer.html",
        {"t": _transfer("voided", "refused by donghu: the credit limit")},
        "被拒绝：积分已退回给您",
        "refused: the points came back to you",
    ),
    (
        "timebank/settlement.html",
        {"report": REPORT, "person": Staff(), "to_confirm": None},
        "我们欠 donghu 3 积分。",
        "We owe donghu 3 points.",
    ),
    (
        "timebank/settlement.html",
        {"report": REPORT, "person": Staff(), "to_confirm": [_relative("declared")]},
        'name="relative" value="communities/demo/residents/r1/relatives/k1"',
        "Relatives to confirm",
    ),
]


@pytest.mark.parametrize(("name", "context", "chinese", "english"), PAGES)
def test_a_time_bank_page_renders_in_both_languages(
    name: str, context: dict[str, Any], chinese: str, english: str
) -> None:
    assert chinese in environment.get_template(name).render(_base(**context))
    token = i18n._current.set("en")
    try:
        html = environment.get_template(name).render(_base(**context, locale="en"))
    finally:
        i18n._current.reset(token)
    assert english in html


def test_a_settled_transfer_is_not_polled() -> None:
    html = environment.get_template("timebank/transfer.html").render(
        _base(t=_transfer("committed"))
    )
    assert "hx-trigger" not in html
