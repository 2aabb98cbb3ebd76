"""Protobuf messages of the partners API from domain objects."""

from __future__ import annotations

from datetime import date

from linli.partners.v1 import partners_service_pb2 as pb

from linli_kit.errors import InvalidArgument
from linli_kit.wire import timestamp
from linli_partners.domain.board import CsrEntry
from linli_partners.domain.eligibility import EligibilityCheck, EligibilityRule, PartnerBenefit
from linli_partners.domain.names import AGREEMENT, BENEFIT, CONTRIBUTION, PARTNER
from linli_partners.domain.partners import (
    DEFAULT_CHECKS_PER_MINUTE,
    Agreement,
    AgreementState,
    Contribution,
    Partner,
    PartnerKind,
    PartnerTitle,
    parse_date,
)

KINDS = {pb.PartnerKind.Value(f"PARTNER_KIND_{kind.name}"): kind for kind in PartnerKind}
KIND_CODES = {kind: code for code, kind in KINDS.items()}
AGREEMENT_STATES = {
    state: pb.AgreementState.Value(f"AGREEMENT_STATE_{state.name}") for state in AgreementState
}


def kind(code: int) -> PartnerKind:
    """The partner kind of an API code, or InvalidArgument."""
    if code not in KINDS:
        raise InvalidArgument("partner.kind must be one of PARTNER_KIND_SUPERMARKET … _OTHER")
    return KINDS[code]


def checks_per_minute(access: pb.PartnerAccess) -> int:
    """The partner's rate of checks (0 in the API means the default)."""
    return access.checks_per_minute or DEFAULT_CHECKS_PER_MINUTE


def date_of(text: str, field: str) -> date:
    """A YYYY-MM-DD date of a request field, or InvalidArgument naming it."""
    return parse_date(text, field)


def partner_message(partner: Partner) -> pb.Partner:
    """The API's view of a partner."""
    return pb.Partner(
        name=PARTNER.format(community=partner.community_id, partner=partner.id),
        display_name=partner.display_name,
        kind=KIND_CODES[partner.kind],
        access=pb.PartnerAccess(
            benefits=list(partner.benefits),
            consume_vouchers=partner.consume_vouchers,
            checks_per_minute=partner.checks_per_minute,
        ),
        revoked=partner.revoked_at is not None,
        revoke_time=timestamp(partner.revoked_at),
        create_time=timestamp(partner.created_at),
    )


def agreement_message(agreement: Agreement, today: date) -> pb.Agreement:
    """The API's view of an agreement, its state as of today."""
    return pb.Agreement(
        name=AGREEMENT.format(
            community=agreement.community_id,
            partner=agreement.partner_id,
            agreement=agreement.id,
        ),
        title=agreement.title,
        terms=agreement.terms,
        sign_date=agreement.signed_on.isoformat(),
        start_date=agreement.starts_on.isoformat(),
        end_date=agreement.ends_on.isoformat(),
        state=AGREEMENT_STATES[agreement.state(today)],
        terminate_reason=agreement.terminate_reason,
    )


def contribution_message(contribution: Contribution) -> pb.Contribution:
    """The API's view of a contribution."""
    return pb.Contribution(
        name=CONTRIBUTION.format(
            community=contribution.community_id,
            partner=contribution.partner_id,
            contribution=contribution.id,
        ),
        description=contribution.description,
        value_fen=contribution.value_fen,
        contribute_time=timestamp(contribution.given_at),
    )


def title_message(title: PartnerTitle) -> pb.PartnerTitle:
    """The API's view of a title and its certificate record."""
    return pb.PartnerTitle(
        partner=PARTNER.format(community=title.community_id, partner=title.partner_id),
        year=title.year,
        certificate_number=title.certificate_number,
        value_fen=title.value_fen,
        grant_time=timestamp(title.granted_at),
    )


def rule_of(message: pb.EligibilityRule) -> EligibilityRule:
    """The domain's rule of an API rule."""
    return EligibilityRule(
        min_yearly=message.min_yearly_centipoints,
        min_lifetime=message.min_lifetime_centipoints,
        tiers=tuple(message.tiers),
        top_n=message.top_n,
    )


def benefit_message(benefit: PartnerBenefit) -> pb.PartnerBenefit:
    """The API's view of a partner's benefit."""
    rule = benefit.rule
    return pb.PartnerBenefit(
        name=BENEFIT.format(
            community=benefit.community_id, partner=benefit.partner_id, benefit=benefit.id
        ),
        title=benefit.title,
        description=benefit.description,
        rule=pb.EligibilityRule(
            min_yearly_centipoints=rule.min_yearly,
            min_lifetime_centipoints=rule.min_lifetime,
            tiers=list(rule.tiers),
            top_n=rule.top_n,
        ),
    )


def check_message(check: EligibilityCheck, partner_name: str) -> pb.EligibilityCheck:
    """A check as the resident sees it."""
    community = check.community_id
    return pb.EligibilityCheck(
        partner=PARTNER.format(community=community, partner=check.partner_id),
        partner_display_name=partner_name,
        benefit=BENEFIT.format(
            community=community, partner=check.benefit_owner_id, benefit=check.benefit_id
        ),
        qualifies=check.qualifies,
        check_time=timestamp(check.checked_at),
    )


def board_message(entries: list[CsrEntry], community_id: str) -> list[pb.CsrEntry]:
    """The API's view of a board."""
    return [
        pb.CsrEntry(
            partner=PARTNER.format(community=community_id, partner=entry.partner_id),
            display_name=entry.display_name,
            rank=entry.rank,
            value_fen=entry.value_fen,
            titled=entry.titled,
        )
        for entry in entries
    ]
