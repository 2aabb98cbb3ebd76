"""The PartnersService servicer: map the request, call the use case, map the result.

POLICY admits callers per RPC (deny by default); the use cases apply `domain.access` to the
caller passed as the command's actor. A partner's scopes come from this service's own table
on every call (the kit's auth interceptor asks `LocalPartners`), so a revocation holds at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any, TypeAlias

import grpc
from linli.partners.v1 import partners_service_pb2 as pb
from linli.partners.v1 import partners_service_pb2_grpc as pb_grpc

from linli_kit import auth, metrics
from linli_kit.calendar import local_date
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import DomainError, InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import STAFF_ROLES, current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_kit.servicers import UseCaseServicer
from linli_kit.wire import optional_time, timestamp
from linli_partners.domain.names import AGREEMENT, BENEFIT, COMMUNITY, PARTNER, RESIDENT
from linli_partners.entrypoints import messages
from linli_partners.entrypoints.board_watch import BoardWatch
from linli_partners.entrypoints.messages import (
    agreement_message,
    benefit_message,
    board_message,
    check_message,
    contribution_message,
    partner_message,
    title_message,
)
from linli_partners.service_layer import board, commands, eligibility, partners
from linli_partners.service_layer.partners import Thresholds
from linli_partners.service_layer.ports import (
    CodeMaker,
    PartnersUnitOfWork,
    Points,
    ProofSigner,
    Quota,
)

Context: TypeAlias = grpc.aio.ServicerContext

STAFF = auth.persons(*STAFF_ROLES)
PARTNER_OR_STAFF = auth.partners() + STAFF
POLICY: auth.Policy = {
    "CreatePartner": STAFF,
    "GetPartner": PARTNER_OR_STAFF,
    "ListPartners": STAFF,
    "UpdatePartnerAccess": STAFF,
    "RevokePartner": STAFF,
    # The community's services, to authorise a partner's call to them (rewards' vouchers).
    "GetPartnerScopes": auth.services("rewards"),
    "CreateAgreement": STAFF,
    "TerminateAgreement": STAFF,
    "ListAgreements": PARTNER_OR_STAFF,
    "RecordContribution": STAFF,
    "ListContributions": PARTNER_OR_STAFF,
    "CreatePartnerBenefit": STAFF,
    "ListPartnerBenefits": auth.persons() + auth.partners(),
    # The resident for themself only.
    "CreateEligibilityCode": auth.persons(),
    # A partner, for a benefit in its scopes.
    "CheckEligibility": auth.partners(),
    "ListEligibilityChecks": auth.persons(),
    "GetProofKeys": auth.public(),
    "GetCsrBoard": auth.public(),
    "WatchCsrBoard": auth.public(),
    "ListPartnerTitles": auth.public(),
}
# Per caller. Beyond these, each partner's own rate of checks (its row) holds. A resident
# makes a code at a counter now and then; the public board is bounded per address.
LIMITS: Limits = {
    "CreateEligibilityCode": per_minute(20, burst=5),
    "CheckEligibility": per_minute(600, burst=60),
    "GetProofKeys": per_minute(60, burst=10),
    "GetCsrBoard": per_minute(600, burst=60),
    "WatchCsrBoard": per_minute(30, burst=10),
    "ListPartnerTitles": per_minute(600, burst=60),
}
DEFAULT_WATCHED = 10


def _partner_ids(name: str, field: str = "name") -> tuple[str, str]:
    ids = PARTNER.parse(name, field)
    return ids["community"], ids["partner"]


def _page(request: Any) -> tuple[int, int]:
    return decode_page_token(request.page_token), page_size(request.page_size)


class PartnersServicer(UseCaseServicer, pb_grpc.PartnersServiceServicer):
    """Partners, agreements, contributions, eligibility checks and the CSR board over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], PartnersUnitOfWork],
        points: Points,
        codes: CodeMaker,
        proofs: ProofSigner,
        quota: Quota,
        watch: BoardWatch,
        thresholds: Thresholds,
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.points, self.codes, self.proofs = uow_factory, points, codes, proofs
        self.quota, self.watch, self.thresholds, self.clock = quota, watch, thresholds, clock

    async def CreatePartner(
        self, request: pb.CreatePartnerRequest, context: Context
    ) -> pb.CreatePartnerResponse:
        """Register a partner enterprise."""
        command = commands.CreatePartner(
            community_id=COMMUNITY.parse(request.parent, "parent")["community"],
            partner_id=request.partner_id,
            display_name=request.partner.display_name,
            kind=messages.kind(request.partner.kind),
            benefits=tuple(request.partner.access.benefits),
            consume_vouchers=request.partner.access.consume_vouchers,
            checks_per_minute=messages.checks_per_minute(request.partner.access),
            request_id=request.request_id,
            actor=current_principal(),
        )
        registered = await self._run(partners.create_partner, command, clock=self.clock)
        return pb.CreatePartnerResponse(partner=partner_message(registered))

    async def GetPartner(
        self, request: pb.GetPartnerRequest, context: Context
    ) -> pb.GetPartnerResponse:
        """A partner by name."""
        found = await self._query(partners.get_partner, *_partner_ids(request.name))
        return pb.GetPartnerResponse(partner=partner_message(found))

    async def ListPartners(
        self, request: pb.ListPartnersRequest, context: Context
    ) -> pb.ListPartnersResponse:
        """A page of a community's partners."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        offset, limit = _page(request)
        found, more = await self._query(partners.list_partners, community, offset, limit)
        return pb.ListPartnersResponse(
            partners=[partner_message(p) for p in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def UpdatePartnerAccess(
        self, request: pb.UpdatePartnerAccessRequest, context: Context
    ) -> pb.UpdatePartnerAccessResponse:
        """Replace what a partner may do."""
        community, partner_id = _partner_ids(request.name)
        command = commands.UpdatePartnerAccess(
            community_id=community,
            partner_id=partner_id,
            benefits=tuple(request.access.benefits),
            consume_vouchers=request.access.consume_vouchers,
            checks_per_minute=messages.checks_per_minute(request.access),
            request_id=request.request_id,
            actor=current_principal(),
        )
        updated = await self._run(partners.update_partner_access, command)
        return pb.UpdatePartnerAccessResponse(partner=partner_message(updated))

    async def RevokePartner(
        self, request: pb.RevokePartnerRequest, context: Context
    ) -> pb.RevokePartnerResponse:
        """Revoke a partner at once."""
        community, partner_id = _partner_ids(request.name)
        command = commands.RevokePartner(
            community_id=community,
            partner_id=partner_id,
            reason=request.reason,
            request_id=request.request_id,
            actor=current_principal(),
        )
        revoked = await self._run(partners.revoke_partner, command, clock=self.clock)
        return pb.RevokePartnerResponse(partner=partner_message(revoked))

    async def GetPartnerScopes(
        self, request: pb.GetPartnerScopesRequest, context: Context
    ) -> pb.GetPartnerScopesResponse:
        """A registered, unrevoked partner's scopes."""
        scopes = await self._query(partners.scopes, *_partner_ids(request.name))
        return pb.GetPartnerScopesResponse(scopes=sorted(scopes))

    async def CreateAgreement(
        self, request: pb.CreateAgreementRequest, context: Context
    ) -> pb.CreateAgreementResponse:
        """Record a signed agreement."""
        community, partner_id = _partner_ids(request.parent, "parent")
        given = request.agreement
        command = commands.CreateAgreement(
            community_id=community,
            partner_id=partner_id,
            title=given.title,
            terms=given.terms,
            signed_on=messages.date_of(given.sign_date, "agreement.sign_date"),
            starts_on=messages.date_of(given.start_date, "agreement.start_date"),
            ends_on=messages.date_of(given.end_date, "agreement.end_date"),
            request_id=request.request_id,
            actor=current_principal(),
        )
        signed = await self._run(partners.create_agreement, command)
        return pb.CreateAgreementResponse(agreement=agreement_message(signed, self._today()))

    def _today(self) -> date:
        return local_date(self.clock())

    async def TerminateAgreement(
        self, request: pb.TerminateAgreementRequest, context: Context
    ) -> pb.TerminateAgreementResponse:
        """End an agreement early."""
        ids = AGREEMENT.parse(request.name)
        command = commands.TerminateAgreement(
            community_id=ids["community"],
            partner_id=ids["partner"],
            agreement_id=ids["agreement"],
            reason=request.reason,
            request_id=request.request_id,
            actor=current_principal(),
        )
        ended = await self._run(partners.terminate_agreement, command, clock=self.clock)
        return pb.TerminateAgreementResponse(agreement=agreement_message(ended, self._today()))

    async def ListAgreements(
        self, request: pb.ListAgreementsRequest, context: Context
    ) -> pb.ListAgreementsResponse:
        """A page of a partner's agreements."""
        community, partner_id = _partner_ids(request.parent, "parent")
        offset, limit = _page(request)
        found, more = await self._query(
            partners.list_agreements, community, partner_id, offset, limit
        )
        today = self._today()
        return pb.ListAgreementsResponse(
            agreements=[agreement_message(a, today) for a in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def RecordContribution(
        self, request: pb.RecordContributionRequest, context: Context
    ) -> pb.RecordContributionResponse:
        """Record what a partner gave; the board moves and a title may be granted."""
        community, partner_id = _partner_ids(request.parent, "parent")
        given = request.contribution
        command = commands.RecordContribution(
            community_id=community,
            partner_id=partner_id,
            description=given.description,
            value_fen=given.value_fen,
            given_at=optional_time(given, "contribute_time"),
            request_id=request.request_id,
            actor=current_principal(),
        )
        contribution, title = await self._run(
            partners.record_contribution, command, self.thresholds, clock=self.clock
        )
        self.watch.changed(community)
        return pb.RecordContributionResponse(
            contribution=contribution_message(contribution),
            title=title_message(title) if title is not None else None,
        )

    async def ListContributions(
        self, request: pb.ListContributionsRequest, context: Context
    ) -> pb.ListContributionsResponse:
        """A page of a partner's contributions, newest first."""
        community, partner_id = _partner_ids(request.parent, "parent")
        offset, limit = _page(request)
        found, more = await self._query(
            partners.list_contributions, community, partner_id, offset, limit
        )
        return pb.ListContributionsResponse(
            contributions=[contribution_message(c) for c in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CreatePartnerBenefit(
        self, request: pb.CreatePartnerBenefitRequest, context: Context
    ) -> pb.CreatePartnerBenefitResponse:
        """Add a benefit a partner offers."""
        community, partner_id = _partner_ids(request.parent, "parent")
        given = request.benefit
        command = commands.CreatePartnerBenefit(
            community_id=community,
            partner_id=partner_id,
            benefit_id=request.benefit_id,
            title=given.title,
            rule=messages.rule_of(given.rule),
            description=given.description,
            request_id=request.request_id,
            actor=current_principal(),
        )
        offered = await self._run(eligibility.create_benefit, command)
        return pb.CreatePartnerBenefitResponse(benefit=benefit_message(offered))

    async def ListPartnerBenefits(
        self, request: pb.ListPartnerBenefitsRequest, context: Context
    ) -> pb.ListPartnerBenefitsResponse:
        """A page of the benefits partners offer."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        offset, limit = _page(request)
        found, more = await self._query(eligibility.list_benefits, community, offset, limit)
        return pb.ListPartnerBenefitsResponse(
            benefits=[benefit_message(b) for b in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CreateEligibilityCode(
        self, request: pb.CreateEligibilityCodeRequest, context: Context
    ) -> pb.CreateEligibilityCodeResponse:
        """A code for the resident to show a partner."""
        ids = RESIDENT.parse(request.parent, "parent")
        code = self.codes.code(ids["community"], ids["resident"], request.request_id)
        command = commands.CreateEligibilityCode(
            community_id=ids["community"],
            resident_id=ids["resident"],
            code=code,
            request_id=request.request_id,
            actor=current_principal(),
        )
        stored = await self._run(eligibility.create_code, command, clock=self.clock)
        return pb.CreateEligibilityCodeResponse(code=code, expire_time=timestamp(stored.expires_at))

    async def CheckEligibility(
        self, request: pb.CheckEligibilityRequest, context: Context
    ) -> pb.CheckEligibilityResponse:
        """Whether a code's resident qualifies for a benefit, signed; nothing else."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        ids = BENEFIT.parse(request.benefit, "benefit")
        if ids["community"] != community:
            raise InvalidArgument("the benefit must be in the partner's community")
        actor = current_principal()
        command = commands.CheckEligibility(
            community_id=community,
            code=request.code,
            partner_id=ids["partner"],
            benefit_id=ids["benefit"],
            request_id=request.request_id,
            actor=actor,
        )
        try:
            answer = await self._run(
                eligibility.check, command, self.points, self.quota, clock=self.clock
            )
        except DomainError as refusal:
            metrics.PARTNER_CHECKS.labels(community, actor.subject, type(refusal).__name__).inc()
            raise
        outcome = "qualifies" if answer.qualifies else "does_not_qualify"
        metrics.PARTNER_CHECKS.labels(community, actor.subject, outcome).inc()
        return pb.CheckEligibilityResponse(
            qualifies=answer.qualifies,
            honour_tier=answer.tier,
            valid_until=timestamp(answer.valid_until),
            proof=self.proofs.sign(answer),
        )

    async def ListEligibilityChecks(
        self, request: pb.ListEligibilityChecksRequest, context: Context
    ) -> pb.ListEligibilityChecksResponse:
        """A page of the checks made of a resident's codes, newest first."""
        ids = RESIDENT.parse(request.parent, "parent")
        offset, limit = _page(request)
        found, names, more = await self._query(
            eligibility.checks_of, ids["community"], ids["resident"], offset, limit
        )
        return pb.ListEligibilityChecksResponse(
            checks=[check_message(c, names[c.partner_id]) for c in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def GetProofKeys(
        self, request: pb.GetProofKeysRequest, context: Context
    ) -> pb.GetProofKeysResponse:
        """The public keys answers are signed with."""
        COMMUNITY.parse(request.parent, "parent")
        return pb.GetProofKeysResponse(
            keys=[
                pb.ProofKey(key_id=key_id, paserk=paserk)
                for key_id, paserk in self.proofs.public_keys()
            ]
        )

    async def GetCsrBoard(
        self, request: pb.GetCsrBoardRequest, context: Context
    ) -> pb.GetCsrBoardResponse:
        """A year's CSR board."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        year = board.year_of(request.year, self.clock)
        entries = await asyncio.to_thread(
            board.board, community, year, page_size(request.page_size), self.uow_factory()
        )
        return pb.GetCsrBoardResponse(
            entries=board_message(entries, community),
            title_threshold_fen=self.thresholds(community),
        )

    async def WatchCsrBoard(
        self, request: pb.WatchCsrBoardRequest, context: Context
    ) -> AsyncIterator[pb.WatchCsrBoardResponse]:
        """The board now and after every change, until the caller hangs up."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        year = board.year_of(request.year, self.clock)
        if request.top < 0:
            raise InvalidArgument("top must not be negative")
        top = min(request.top or DEFAULT_WATCHED, 500)
        async for entries in self.watch.follow(community, year, top):
            yield pb.WatchCsrBoardResponse(entries=board_message(entries, community))

    async def ListPartnerTitles(
        self, request: pb.ListPartnerTitlesRequest, context: Context
    ) -> pb.ListPartnerTitlesResponse:
        """A page of the community's titles, newest first."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        offset, limit = _page(request)
        found, more = await asyncio.to_thread(
            board.titles, community, offset, limit, self.uow_factory()
        )
        return pb.ListPartnerTitlesResponse(
            titles=[title_message(t) for t in found],
            next_page_token=next_page_token(offset, limit, more),
        )
