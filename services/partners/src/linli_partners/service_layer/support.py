"""Use cases of professional support (E5): the agency and its visits, research grants, legal aid."""

from __future__ import annotations

from linli_kit.domain import Clock, new_id, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_partners.domain import access
from linli_partners.domain.support import (
    Agency,
    LegalCase,
    ResearchGrant,
    RotaSlot,
    SupervisionVisit,
)
from linli_partners.service_layer.commands import (
    AssignLegalCase,
    CreateAgency,
    CreateResearchGrant,
    CreateRotaSlot,
    FinishLegalCase,
    OpenLegalCase,
    RecommendPublication,
    RecordGrantOutcome,
    RecordSupervisionVisit,
)
from linli_partners.service_layer.ports import PartnersUnitOfWork


def agency(uow: PartnersUnitOfWork, community_id: str, agency_id: str) -> Agency:
    """An agency of the community, or NotFound."""
    found = uow.agencies.get(community_id, agency_id)
    if found is None:
        raise NotFound(f"no agency {agency_id} in {community_id}")
    return found


def _reload_agency(uow: PartnersUnitOfWork, cmd: CreateAgency, ref: str) -> Agency:
    return agency(uow, cmd.community_id, ref)


@idempotent(_reload_agency)
def create_agency(cmd: CreateAgency, uow: PartnersUnitOfWork) -> Agency:
    """Staff record the resident social-work agency and its contract."""
    access.require_staff(cmd.actor, cmd.community_id)
    recorded = Agency(
        community_id=cmd.community_id,
        id=new_id("a"),
        display_name=cmd.display_name,
        grade=cmd.grade,
        contract_starts_on=cmd.contract_starts_on,
        contract_ends_on=cmd.contract_ends_on,
    )
    uow.agencies.add(recorded)
    return recorded


def list_agencies(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PartnersUnitOfWork
) -> tuple[list[Agency], bool]:
    """A page of the community's agencies, for any person of it."""
    require_community(actor, community_id)
    with uow:
        found = uow.agencies.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def _reload_visit(
    uow: PartnersUnitOfWork, cmd: RecordSupervisionVisit, ref: str
) -> SupervisionVisit:
    found = uow.agencies.visit(cmd.community_id, cmd.agency_id, ref)
    if found is None:
        raise NotFound(f"no visit {ref}")
    return found


@idempotent(_reload_visit)
def record_visit(cmd: RecordSupervisionVisit, uow: PartnersUnitOfWork) -> SupervisionVisit:
    """Staff record a supervision visit of the agency's."""
    access.require_staff(cmd.actor, cmd.community_id)
    agency(uow, cmd.community_id, cmd.agency_id)
    visit = SupervisionVisit(
        community_id=cmd.community_id,
        agency_id=cmd.agency_id,
        id=new_id("v"),
        on=cmd.on,
        supervisor=cmd.supervisor,
        topics=cmd.topics,
        notes=cmd.notes,
        recorded_by=cmd.actor.resident_id,
    )
    uow.agencies.add_visit(visit)
    return visit


def list_visits(
    actor: Principal,
    community_id: str,
    agency_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[SupervisionVisit], bool]:
    """A page of an agency's visits, newest first, for staff."""
    access.require_staff(actor, community_id)
    with uow:
        agency(uow, community_id, agency_id)
        found = uow.agencies.visits(community_id, agency_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def grant(
    uow: PartnersUnitOfWork, community_id: str, grant_id: str, lock: bool = False
) -> ResearchGrant:
    """A research grant of the community, or NotFound."""
    found = uow.research_grants.get(community_id, grant_id, lock)
    if found is None:
        raise NotFound(f"no research grant {grant_id} in {community_id}")
    return found


def _reload_grant(
    uow: PartnersUnitOfWork,
    cmd: CreateResearchGrant | RecordGrantOutcome | RecommendPublication,
    ref: str,
) -> ResearchGrant:
    return grant(uow, cmd.community_id, ref)


@idempotent(_reload_grant)
def create_grant(cmd: CreateResearchGrant, uow: PartnersUnitOfWork) -> ResearchGrant:
    """Staff record a research grant with a foundation."""
    access.require_staff(cmd.actor, cmd.community_id)
    made = ResearchGrant(
        community_id=cmd.community_id,
        id=new_id("r"),
        foundation=cmd.foundation,
        topic=cmd.topic,
        amount_fen=cmd.amount_fen,
        volunteer_ids=cmd.volunteer_ids,
        granted_on=cmd.granted_on,
    )
    uow.research_grants.add(made)
    return made


def list_grants(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PartnersUnitOfWork
) -> tuple[list[ResearchGrant], bool]:
    """A page of the community's grants, newest first, for staff or the committee."""
    access.require_panel(actor, community_id)
    with uow:
        found = uow.research_grants.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


@idempotent(_reload_grant)
def record_outcome(cmd: RecordGrantOutcome, uow: PartnersUnitOfWork) -> ResearchGrant:
    """Staff record what a grant's research found."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = grant(uow, cmd.community_id, cmd.grant_id, lock=True)
    found.record_outcomes(cmd.outcomes)
    uow.research_grants.save(found)
    return found


@idempotent(_reload_grant)
def recommend_publication(
    cmd: RecommendPublication, uow: PartnersUnitOfWork, clock: Clock = utc_now
) -> ResearchGrant:
    """Staff or the committee recommend a grant's outcomes for publication, or not, once."""
    access.require_panel(cmd.actor, cmd.community_id)
    found = grant(uow, cmd.community_id, cmd.grant_id, lock=True)
    found.decide_publication(cmd.recommend, cmd.actor.resident_id, clock())
    uow.research_grants.save(found)
    return found


def slot(uow: PartnersUnitOfWork, community_id: str, slot_id: str) -> RotaSlot:
    """A rota slot of the community, or NotFound."""
    found = uow.legal_aid.slot(community_id, slot_id)
    if found is None:
        raise NotFound(f"no rota slot {slot_id} in {community_id}")
    return found


def _reload_slot(uow: PartnersUnitOfWork, cmd: CreateRotaSlot, ref: str) -> RotaSlot:
    return slot(uow, cmd.community_id, ref)


@idempotent(_reload_slot)
def create_slot(cmd: CreateRotaSlot, uow: PartnersUnitOfWork) -> RotaSlot:
    """Staff put a law firm on the legal-aid rota."""
    access.require_staff(cmd.actor, cmd.community_id)
    made = RotaSlot(
        community_id=cmd.community_id,
        id=new_id("s"),
        firm=cmd.firm,
        weekday=cmd.weekday,
        start_hour=cmd.start_hour,
        end_hour=cmd.end_hour,
    )
    uow.legal_aid.add_slot(made)
    return made


def list_slots(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PartnersUnitOfWork
) -> tuple[list[RotaSlot], bool]:
    """A page of the rota by weekday and hour, for any person of the community."""
    require_community(actor, community_id)
    with uow:
        found = uow.legal_aid.slots(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def case(uow: PartnersUnitOfWork, community_id: str, case_id: str, lock: bool = False) -> LegalCase:
    """A case of the community, or NotFound."""
    found = uow.legal_aid.case(community_id, case_id, lock)
    if found is None:
        raise NotFound(f"no legal case {case_id} in {community_id}")
    return found


def _reload_case(
    uow: PartnersUnitOfWork, cmd: OpenLegalCase | AssignLegalCase | FinishLegalCase, ref: str
) -> LegalCase:
    return case(uow, cmd.community_id, ref)


@idempotent(_reload_case)
def open_case(cmd: OpenLegalCase, uow: PartnersUnitOfWork, clock: Clock = utc_now) -> LegalCase:
    """Staff open a service-dispute case for a resident."""
    access.require_staff(cmd.actor, cmd.community_id)
    opened = LegalCase.open(
        cmd.actor.resident_id,
        cmd.note,
        community_id=cmd.community_id,
        id=new_id("l"),
        resident_id=cmd.resident_id,
        summary=cmd.summary,
        opened_at=clock(),
    )
    uow.legal_aid.add_case(opened)
    return opened


@idempotent(_reload_case)
def assign_case(cmd: AssignLegalCase, uow: PartnersUnitOfWork, clock: Clock = utc_now) -> LegalCase:
    """Staff assign an opened case to a firm on the rota."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = case(uow, cmd.community_id, cmd.case_id, lock=True)
    step = found.assign(
        slot(uow, cmd.community_id, cmd.slot_id), cmd.actor.resident_id, clock(), cmd.note
    )
    uow.legal_aid.add_step(found, step)
    return found


@idempotent(_reload_case)
def finish_case(cmd: FinishLegalCase, uow: PartnersUnitOfWork, clock: Clock = utc_now) -> LegalCase:
    """Staff resolve (once assigned) or close a case."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = case(uow, cmd.community_id, cmd.case_id, lock=True)
    step = found.finish(cmd.state, cmd.actor.resident_id, clock(), cmd.note)
    uow.legal_aid.add_step(found, step)
    return found


def get_case(
    actor: Principal, community_id: str, case_id: str, uow: PartnersUnitOfWork
) -> LegalCase:
    """A case with its steps, for its resident or staff."""
    require_community(actor, community_id)
    with uow:
        found = case(uow, community_id, case_id)
    access.require_self_or_staff(actor, community_id, found.resident_id)
    return found


def list_cases(
    actor: Principal,
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[LegalCase], bool]:
    """A page of cases, newest first: a resident's own, or any (all for '') for staff."""
    if resident_id:
        access.require_self_or_staff(actor, community_id, resident_id)
    else:
        access.require_staff(actor, community_id)
    with uow:
        found = uow.legal_aid.cases(community_id, resident_id, offset, limit + 1)
    return found[:limit], len(found) > limit
