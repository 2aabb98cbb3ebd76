"""Mentoring pairs (O2): a core volunteer takes newcomers on until they volunteer themselves."""

from __future__ import annotations

from datetime import datetime

from linli_identity.domain.access import require_self_or_staff_over, require_staff_over
from linli_identity.domain.mentoring import MentoringPair
from linli_identity.domain.residents import Resident
from linli_identity.service_layer.access import in_actors_community, reach_of
from linli_identity.service_layer.commands import StartMentoring
from linli_identity.service_layer.lookups import existing_resident, found
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent


def _started_pair(uow: IdentityUnitOfWork, cmd: StartMentoring, ref: str) -> MentoringPair:
    pairs = uow.mentoring.of_resident(cmd.community_id, cmd.mentor_id)
    return found(next((pair for pair in pairs if pair.id == ref), None), f"mentoring pair {ref}")


@in_actors_community
@idempotent(_started_pair)
def start_mentoring(
    cmd: StartMentoring, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> MentoringPair:
    """Start a pair (the newcomer's staff; at most 3 open per mentor, one per newcomer)."""
    mentor = existing_resident(uow, cmd.community_id, cmd.mentor_id)
    newcomer = existing_resident(uow, cmd.community_id, cmd.newcomer_id)
    require_staff_over(cmd.actor, newcomer, reach_of(uow, cmd.actor, cmd.community_id))
    mentor_pairs = uow.mentoring.of_resident(cmd.community_id, mentor.id)
    newcomer_pairs = uow.mentoring.of_resident(cmd.community_id, newcomer.id)
    pair = MentoringPair.start(
        mentor,
        newcomer,
        [p for p in mentor_pairs if p.mentor_id == mentor.id],
        [p for p in newcomer_pairs if p.newcomer_id == newcomer.id],
        clock(),
    )
    uow.mentoring.add(pair)
    return pair


def list_mentoring_pairs(
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: IdentityUnitOfWork,
    *,
    actor: Principal,
) -> tuple[list[MentoringPair], bool]:
    """A page of the pairs a resident mentors or is mentored in, oldest first, and whether
    more follow (they or their staff)."""
    require_community(actor, community_id)
    with uow:
        resident = existing_resident(uow, community_id, resident_id)
        require_self_or_staff_over(actor, resident, reach_of(uow, actor, community_id))
        found = uow.mentoring.of_resident(community_id, resident_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def newcomer_promoted(uow: IdentityUnitOfWork, newcomer: Resident, at: datetime) -> None:
    """Apply the success rule to the pairs of a newcomer who just became a volunteer."""
    for pair in uow.mentoring.of_resident(newcomer.community_id, newcomer.id):
        if pair.newcomer_id == newcomer.id and pair.newcomer_promoted(at):
            uow.mentoring.save(pair)
