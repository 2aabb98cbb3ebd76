"""Partners (E1-E3) on SQLite: scopes and revocation, codes and checks, the board and titles."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from linli_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from linli_kit.paseto import PasetoKeyring, dev_seeds
from linli_kit.principals import Kind, Principal
from linli_kit.testing import load_beside
from linli_partners.adapters.eligibility import HmacCodes, PasetoProofs
from linli_partners.domain.eligibility import EligibilityRule, code_digest
from linli_partners.domain.partners import AgreementState, PartnerKind
from linli_partners.service_layer import board, commands, eligibility, partners

fakes = load_beside(__file__, "fakes.py", "linli_partners_unit_fakes")
C = fakes.C
ATTENDANCE = Principal(Kind.SERVICE, "rewards", C)
CODES = HmacCodes(b"k" * 32)


def _partner(uow_factory, clock, partner_id: str = "bank-1", **access):
    command = commands.CreatePartner(
        community_id=C,
        partner_id=partner_id,
        display_name="社区银行",
        kind=PartnerKind.BANK,
        actor=fakes.STAFF,
        **access,
    )
    return partners.create_partner(command, uow_factory(), clock)


def _benefit(uow_factory, partner_id: str = "bank-1", **rule):
    command = commands.CreatePartnerBenefit(
        community_id=C,
        partner_id=partner_id,
        benefit_id=rule.pop("benefit_id", "credit-loan"),
        title="志愿者信用贷",
        rule=EligibilityRule(**rule),
        actor=fakes.STAFF,
    )
    return eligibility.create_benefit(command, uow_factory())


def _code(uow_factory, clock, resident: str = "r-alice", request_id: str = "c1") -> str:
    code = CODES.code(C, resident, request_id)
    command = commands.CreateEligibilityCode(
        community_id=C,
        resident_id=resident,
        code=code,
        request_id=request_id,
        actor=fakes.person(resident),
    )
    eligibility.create_code(command, uow_factory(), clock)
    return code


def _check(uow_factory, points, clock, code: str, checker=None, quota=None, benefit="credit-loan"):
    checker = checker or fakes.partner("bank-1", benefit)
    command = commands.CheckEligibility(
        community_id=C, code=code, partner_id="bank-1", benefit_id=benefit, actor=checker
    )
    return eligibility.check(command, uow_factory(), points, quota or fakes.CountingQuota(), clock)


def test_a_partner_checks_a_code_once_and_learns_only_the_answer(uow_factory, points, clock):
    _partner(uow_factory, clock, benefits=("credit-loan",))
    _benefit(uow_factory, min_lifetime=1000_00, tiers=("gold", "star"))
    code = _code(uow_factory, clock)

    answer = _check(uow_factory, points, clock, code)

    assert (answer.qualifies, answer.tier) == (True, "gold")
    assert answer.valid_until == clock.now + timedelta(hours=24)
    with pytest.raises(FailedPrecondition, match="unknown, already used or expired") as used:
        _check(uow_factory, points, clock, code)
    with pytest.raises(FailedPrecondition) as unknown:
        _check(uow_factory, points, clock, "WRONGCODE234")
    assert str(used.value) == str(unknown.value)  # a code's fate is not told
    seen, names, _ = eligibility.checks_of(
        fakes.person("r-alice"), C, "r-alice", 0, 10, uow_factory()
    )
    assert [(c.partner_id, c.benefit_id, c.qualifies) for c in seen] == [
        ("bank-1", "credit-loan", True)
    ]
    assert names == {"bank-1": "社区银行"}
    with pytest.raises(PermissionDenied):
        eligibility.checks_of(fakes.person("r-bob"), C, "r-alice", 0, 10, uow_factory())


def test_a_code_expires_and_is_stored_only_as_its_digest(uow_factory, points, clock):
    _partner(uow_factory, clock, benefits=("credit-loan",))
    _benefit(uow_factory)
    code = _code(uow_factory, clock)
    with uow_factory() as uow:
        stored = uow.eligibility.code(C, code_digest(code))
    assert stored is not None and code not in repr(stored)
    clock.now += timedelta(minutes=5)
    with pytest.raises(FailedPrecondition):
        _check(uow_factory, points, clock, code)


def test_a_retried_code_request_shows_the_same_code(uow_factory, clock):
    assert _code(uow_factory, clock, request_id="same") == _code(
        uow_factory, clock, request_id="same"
    )
    assert CODES.code(C, "r-alice", "") != CODES.code(C, "r-alice", "")
    with pytest.raises(PermissionDenied):
        eligibility.create_code(
            commands.CreateEligibilityCode(
                community_id=C, resident_id="r-alice", code="X" * 12, actor=fakes.person("r-bob")
            ),
            uow_factory(),
            clock,
        )


def test_a_rule_is_data_every_condition_holds(uow_factory, points, clock):
    _partner(uow_factory, clock, benefits=("green-channel", "discount-zone"))
    _benefit(uow_factory, benefit_id="green-channel", top_n=1)
    _benefit(uow_factory, benefit_id="discount-zone", min_yearly=300_00)
    checker = fakes.partner("bank-1", "green-channel", "discount-zone")
    top = _check(
        uow_factory,
        points,
        clock,
        _code(uow_factory, clock, request_id="a"),
        checker,
        benefit="green-channel",
    )
    zone = _check(
        uow_factory,
        points,
        clock,
        _code(uow_factory, clock, request_id="b"),
        checker,
        benefit="discount-zone",
    )
    bob = _check(
        uow_factory,
        points,
        clock,
        _code(uow_factory, clock, "r-bob", "c"),
        checker,
        benefit="discount-zone",
    )
    assert (top.qualifies, zone.qualifies, bob.qualifies) == (False, True, False)  # alice is 2nd
    assert ("r-alice", 1) in points.asked and ("r-alice", 0) in points.asked


def test_a_partner_checks_only_benefits_in_its_scopes_and_within_its_rate(
    uow_factory, points, clock
):
    _partner(uow_factory, clock, benefits=("credit-loan",), checks_per_minute=2)
    _benefit(uow_factory)
    with pytest.raises(PermissionDenied):
        _check(uow_factory, points, clock, _code(uow_factory, clock), fakes.partner("bank-1"))
    with pytest.raises(PermissionDenied):
        _check(uow_factory, points, clock, "X", fakes.STAFF)
    quota = fakes.CountingQuota()
    for n in range(2):
        _check(
            uow_factory, points, clock, _code(uow_factory, clock, request_id=f"r{n}"), quota=quota
        )
    with pytest.raises(ResourceExhausted):
        _check(uow_factory, points, clock, _code(uow_factory, clock, request_id="r3"), quota=quota)


def test_revoking_a_partner_takes_its_scopes_at_once(uow_factory, clock):
    _partner(uow_factory, clock, benefits=("credit-loan",), consume_vouchers=True)
    assert partners.scopes(ATTENDANCE, C, "bank-1", uow_factory()) == {
        "benefit:credit-loan",
        "vouchers",
    }
    revoke = commands.RevokePartner(
        community_id=C, partner_id="bank-1", reason="协议终止", actor=fakes.STAFF
    )
    partners.revoke_partner(revoke, uow_factory(), clock)
    with pytest.raises(NotFound):
        partners.scopes(ATTENDANCE, C, "bank-1", uow_factory())
    with pytest.raises(PermissionDenied):
        partners.scopes(fakes.person("r-alice"), C, "bank-1", uow_factory())
    with pytest.raises(AlreadyExists):
        _partner(uow_factory, clock)


def _contribute(uow_factory, clock, fen: int, partner_id: str = "bank-1", request_id: str = ""):
    command = commands.RecordContribution(
        community_id=C,
        partner_id=partner_id,
        description="助学金",
        value_fen=fen,
        request_id=request_id,
        actor=fakes.STAFF,
    )
    return partners.record_contribution(command, uow_factory(), clock=clock)


def test_the_title_is_granted_once_when_a_year_reaches_the_threshold(uow_factory, clock):
    _partner(uow_factory, clock)
    _partner(uow_factory, clock, "shop-1")
    assert _contribute(uow_factory, clock, 30_000_00)[1] is None
    contribution, title = _contribute(uow_factory, clock, 20_000_00, request_id="second")
    assert title is not None and title.certificate_number == f"CSR-{C}-2026-0001"
    assert title.value_fen == 50_000_00 and title.contribution_id == contribution.id
    assert _contribute(uow_factory, clock, 1_00)[1] is None  # once a year
    again = _contribute(uow_factory, clock, 20_000_00, request_id="second")[1]  # a retry
    assert again is not None and again.certificate_number == title.certificate_number
    clock.now += timedelta(hours=1)
    _contribute(uow_factory, clock, 60_000_00, "shop-1")
    entries = board.board(C, 2026, 10, uow_factory())
    assert [(e.partner_id, e.rank, e.value_fen, e.titled) for e in entries] == [
        ("shop-1", 1, 60_000_00, True),
        ("bank-1", 2, 50_001_00, True),
    ]
    found, _ = board.titles(C, 0, 10, uow_factory())
    assert [t.certificate_number for t in found] == [f"CSR-{C}-2026-0002", f"CSR-{C}-2026-0001"]


def test_an_agreement_runs_its_term_and_can_end_early(uow_factory, clock):
    _partner(uow_factory, clock)
    command = commands.CreateAgreement(
        community_id=C,
        partner_id="bank-1",
        title="志愿服务合作协议",
        terms="每年提供助学金与信用贷优惠",
        signed_on=date(2026, 5, 20),
        starts_on=date(2026, 6, 1),
        ends_on=date(2027, 5, 31),
        actor=fakes.STAFF,
    )
    signed = partners.create_agreement(command, uow_factory())
    assert signed.state(date(2026, 5, 31)) is AgreementState.SIGNED
    assert signed.state(date(2026, 6, 1)) is AgreementState.ACTIVE
    assert signed.state(date(2027, 6, 1)) is AgreementState.ENDED
    end = commands.TerminateAgreement(
        community_id=C, partner_id="bank-1", agreement_id=signed.id, actor=fakes.STAFF
    )
    ended = partners.terminate_agreement(end, uow_factory(), clock)
    assert ended.state(date(2026, 7, 1)) is AgreementState.TERMINATED
    listed, _ = partners.list_agreements(fakes.partner("bank-1"), C, "bank-1", 0, 10, uow_factory())
    assert [a.id for a in listed] == [signed.id]
    with pytest.raises(PermissionDenied):
        partners.list_agreements(fakes.partner("shop-1"), C, "bank-1", 0, 10, uow_factory())


def test_a_signed_answer_names_no_resident(uow_factory, points, clock):
    _partner(uow_factory, clock, benefits=("credit-loan",))
    _benefit(uow_factory)
    answer = _check(uow_factory, points, clock, _code(uow_factory, clock))
    ring = PasetoKeyring(dev_seeds("test"), "dev")
    payload = ring.read(PasetoProofs(ring).sign(answer))
    assert set(payload) == {"jti", "partner", "benefit", "qualifies", "tier", "iat", "exp"}
    assert "r-alice" not in repr(payload)


def test_a_partner_scoped_to_another_partners_benefit_gets_that_benefit_named(
    uow_factory, points, clock
):
    _partner(uow_factory, clock, benefits=("credit-loan",))
    _partner(uow_factory, clock, "shop-1", benefits=("credit-loan",))
    _benefit(uow_factory)  # bank-1's
    answer = _check(
        uow_factory,
        points,
        clock,
        _code(uow_factory, clock),
        fakes.partner("shop-1", "credit-loan"),
    )
    assert (answer.partner_id, answer.benefit_owner_id) == ("shop-1", "bank-1")
    ring = PasetoKeyring(dev_seeds("test"), "dev")
    payload = ring.read(PasetoProofs(ring).sign(answer))
    assert payload["partner"] == f"communities/{C}/partners/shop-1"
    assert payload["benefit"] == f"communities/{C}/partners/bank-1/benefits/credit-loan"
