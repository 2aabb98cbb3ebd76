"""Consent to face sign-in (I2): grant, withdraw (deleting the templates), and lapse."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from linli_identity.domain.access import require_self_or_staff_over
from linli_identity.domain.consent import FACE_SIGN_IN, FaceConsent
from linli_identity.service_layer.access import in_actors_community, reach_of
from linli_identity.service_layer.commands import GrantFaceConsent, WithdrawFaceConsent
from linli_identity.service_layer.face_port import Galleries
from linli_identity.service_layer.lookups import existing_consent, existing_resident
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import FailedPrecondition
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent

EXPIRY_RECORDER = "system: retention period ended"
log = logging.getLogger(__name__)


def _consent(
    uow: IdentityUnitOfWork, cmd: GrantFaceConsent | WithdrawFaceConsent, ref: str
) -> FaceConsent:
    return existing_consent(uow, cmd.community_id, ref)


@in_actors_community
@idempotent(_consent)
def grant_face_consent(
    cmd: GrantFaceConsent, uow: IdentityUnitOfWork, galleries: Galleries, clock: Clock = utc_now
) -> FaceConsent:
    """Record a grant (by the resident, the guardian named, or their staff); one active each."""
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    reach = reach_of(uow, cmd.actor, cmd.community_id)
    require_self_or_staff_over(cmd.actor, resident, reach, cmd.guardian_id)
    guardian = (
        existing_resident(uow, cmd.community_id, cmd.guardian_id) if cmd.guardian_id else None
    )
    now = clock()
    current = uow.consents.current(cmd.community_id, cmd.resident_id, FACE_SIGN_IN)
    if current is not None:
        current.make_way(now)
        end_consent(uow, galleries, current, EXPIRY_RECORDER, now)
    consent = FaceConsent.grant(
        resident, cmd.policy_version, cmd.retention_days, cmd.recorded_by, now, guardian
    )
    uow.consents.add(consent)
    return consent


@in_actors_community
@idempotent(_consent)
def withdraw_face_consent(
    cmd: WithdrawFaceConsent, uow: IdentityUnitOfWork, galleries: Galleries, clock: Clock = utc_now
) -> FaceConsent:
    """Withdraw the consent and delete the templates in one commit; it records how many.

    The resident, the guardian who gave it, or their staff may withdraw it.
    """
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    consent = uow.consents.current(cmd.community_id, cmd.resident_id, FACE_SIGN_IN)
    guardian = (consent.guardian_id or "") if consent is not None else ""
    reach = reach_of(uow, cmd.actor, cmd.community_id)
    require_self_or_staff_over(cmd.actor, resident, reach, guardian)
    if consent is None:
        raise FailedPrecondition("the resident has no face consent to withdraw")
    end_consent(uow, galleries, consent, cmd.recorded_by, clock())
    return consent


def expire_face_consents(
    uow: IdentityUnitOfWork, galleries: Galleries, limit: int = 500, clock: Clock = utc_now
) -> int:
    """Close consents whose retention ended, deleting their templates; how many were closed."""
    with uow:
        now = clock()
        lapsed = uow.consents.lapsed(now, limit)
        for consent in lapsed:
            end_consent(uow, galleries, consent, EXPIRY_RECORDER, now)
        uow.commit()
        return len(lapsed)


def consent_sweep(
    uow_factory: Callable[[], IdentityUnitOfWork], galleries: Galleries
) -> Callable[[datetime], int]:
    """The retention sweep as a scheduled job: close what lapsed by the time it runs."""

    def sweep(now: datetime) -> int:
        closed = expire_face_consents(uow_factory(), galleries, clock=lambda: now)
        if closed:
            log.info("closed %d lapsed face consents and deleted their templates", closed)
        return closed

    return sweep


def list_face_consents(
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: IdentityUnitOfWork,
    *,
    actor: Principal,
) -> tuple[list[FaceConsent], bool]:
    """A page of a resident's consent history, newest first, and whether more follow (they or
    their staff)."""
    require_community(actor, community_id)
    with uow:
        resident = existing_resident(uow, community_id, resident_id)
        require_self_or_staff_over(actor, resident, reach_of(uow, actor, community_id))
        found = uow.consents.history(community_id, resident_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def end_consent(
    uow: IdentityUnitOfWork,
    galleries: Galleries,
    consent: FaceConsent,
    recorded_by: str,
    at: datetime,
) -> int:
    """Delete the resident's templates and record the withdrawal; how many were deleted."""
    deleted = uow.templates.delete(consent.community_id, consent.resident_id)
    consent.withdraw(recorded_by, at, deleted)
    uow.consents.save_withdrawal(consent)
    # Removed before the commit: if the commit fails, the person is not recognised until
    # the gallery is reloaded, which fails safe; the reverse order could match a withdrawn face.
    galleries.for_community(consent.community_id).remove(consent.resident_id)
    return deleted
