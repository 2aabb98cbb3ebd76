"""Every rule id points posts has a Chinese name; an unknown one shows points' text."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

import pytest
from linli.points.v1 import points_service_pb2 as pts

from linli_gateway.entrypoints import i18n
from linli_gateway.entrypoints.views import postings
from linli_points.domain import closing, earning, ledger, reservations, rules, timebank

# A rule id as points' domain spells one literally ("r4.refund", "p4.year_end").
RULE_ID = re.compile(r"\"([a-z]\d\.[a-z0-9_.]*[a-z0-9])\"")


def posted_rule_ids() -> set[str]:
    """The default earning rules' ids and every rule id literal in points' domain modules."""
    found = {r.id for r in rules.DEFAULT_RULES}
    for module in (closing, earning, ledger, reservations, rules, timebank):
        found |= set(RULE_ID.findall(inspect.getsource(module)))
    return found


@pytest.fixture
def chinese() -> Iterator[None]:
    """Serve as if the request asked for zh-CN."""
    token = i18n._current.set("zh_CN")
    yield
    i18n._current.reset(token)


def test_the_scan_finds_the_rules_outside_the_default_book() -> None:
    assert {"p4.year_end", "r4.refund", "e4.accept", "p1.hourly.high_risk"} <= posted_rule_ids()


def test_every_rule_id_and_rule_kind_points_posts_has_a_chinese_name() -> None:
    zh = i18n.translations("zh_CN")
    missing = posted_rule_ids() - postings.RULES.keys()
    assert not missing, f"no name in postings.RULES for {sorted(missing)}"
    assert set(ledger.RuleKind) <= postings.RULE_KINDS.keys()
    names = [r.name for r in postings.RULES.values()] + list(postings.RULE_KINDS.values())
    untranslated = [n for n in names if zh.gettext(n) == n]
    assert not untranslated, f"no zh_CN translation of {untranslated}"


def test_an_hourly_award_is_named_in_chinese_with_points_text_beneath(chinese: None) -> None:
    t = pts.Transaction(
        rule_id="p1.hourly.regular",
        rule_kind="service",
        kind="award",
        reason="2h00m of regular service in sessions s963f0e0a at 1.00/h",
        session="communities/demo/sessions/s963f0e0a",
        postings=[
            pts.Posting(
                account=f"communities/demo/accounts/{holder}:{purpose}", amount_centipoints=a
            )
            for purpose in ("yearly", "lifetime")
            for holder, a in (("system-issuance", -200), ("r1", 200))
        ],
    )
    shown = postings.reason(t, 200)
    assert shown.title == "常规服务（场次 s963f0e0a）"
    assert shown.detail == t.reason


def test_a_rating_a_reversal_and_a_commit_carry_their_figures(chinese: None) -> None:
    rated = pts.Transaction(
        rule_id="p1.hourly.professional+p3.rating.5",
        rule_kind="rating",
        kind="award",
        coefficient_percent=110,
    )
    assert postings.reason(rated, 20).title == "专业服务的五星评价（系数 ×1.1）"
    reversal = pts.Transaction(rule_id="p2.first_participation", kind="reversal", reason="x")
    assert postings.reason(reversal, -500) == postings.Reason("已冲销：首次参与奖励", "")
    commit = pts.Transaction(
        rule_id="r4.commit",
        kind="commit",
        postings=[
            pts.Posting(
                account="communities/demo/accounts/system-redemption", amount_centipoints=250
            )
        ],
    )
    assert postings.reason(commit, 0).title == "兑换消费积分（变动 2.5 分）"


def test_an_unknown_rule_falls_back_to_its_kind_then_to_points_text(chinese: None) -> None:
    own = pts.Transaction(rule_id="x9.garden", rule_kind="mentoring", kind="award", reason="dug")
    assert postings.reason(own, 100) == postings.Reason("传帮带", "dug")
    unknown = pts.Transaction(
        rule_id="x9.garden", rule_kind="gardening", kind="award", reason="dug"
    )
    assert postings.reason(unknown, 100) == postings.Reason("dug", "")
    bare = pts.Transaction(rule_id="x9.garden", kind="award")
    assert postings.reason(bare, 100).title == "award"
