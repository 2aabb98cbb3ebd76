"""Face consent, enrolment, verification and identification use cases (I2, A1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from linli_identity.domain.consent import (
    FACE_SIGN_IN,
    FaceConsent,
    FaceEnrolment,
    require_active,
)
from linli_identity.domain.face import FaceMatch, FaceTemplate, TemplateMismatch
from linli_identity.domain.liveness import (
    Challenge,
    LivenessFrame,
    LivenessPolicy,
    LivenessResult,
    check_liveness,
)
from linli_identity.service_layer.face_port import FaceEngine, Galleries
from linli_identity.service_layer.handlers import existing_community, get_resident_in
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

EXPIRY_RECORDER = "system: retention period ended"
ROTATION_BATCH = 200


@dataclass(frozen=True)
class GrantFaceConsent:
    """Record a resident's (or their guardian's) consent to face sign-in."""

    community_id: str
    resident_id: str
    policy_version: str
    retention_days: int
    recorded_by: str
    guardian_id: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class WithdrawFaceConsent:
    """Withdraw a resident's face consent and delete their templates."""

    community_id: str
    resident_id: str
    recorded_by: str
    request_id: str = ""


@dataclass(frozen=True)
class EnrolFace:
    """Enrol a resident's face from one photo."""

    community_id: str
    resident_id: str
    image: bytes = field(repr=False)
    request_id: str = ""


@dataclass(frozen=True)
class RotateTemplateKeys:
    """Re-encrypt a community's face templates under its current key."""

    community_id: str
    request_id: str = ""


@dataclass(frozen=True)
class FaceBurst:
    """A short burst of frames captured while the person performs a challenge."""

    frames: tuple[bytes, ...] = field(repr=False)
    challenge: Challenge


@dataclass(frozen=True)
class FaceDecision:
    """What a verification or identification decided, with the evidence it rests on."""

    match: FaceMatch
    liveness: LivenessResult


def grant_face_consent(
    cmd: GrantFaceConsent, uow: IdentityUnitOfWork, galleries: Galleries, clock: Clock = utc_now
) -> FaceConsent:
    """Record a grant; one active consent per resident; retries replay the first result."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _consent(uow, cmd.community_id, done)
        resident = get_resident_in(uow, cmd.community_id, cmd.resident_id)
        guardian = (
            get_resident_in(uow, cmd.community_id, cmd.guardian_id) if cmd.guardian_id else None
        )
        now = clock()
        current = uow.consents.current(cmd.community_id, cmd.resident_id, FACE_SIGN_IN)
        if current is not None:
            if current.active_at(now):
                raise AlreadyExists("the resident already has an active face consent")
            # A lapsed consent is closed (and its templates deleted) before the new grant.
            _end_consent(uow, galleries, current, EXPIRY_RECORDER, now)
        consent = FaceConsent.grant(
            resident, cmd.policy_version, cmd.retention_days, cmd.recorded_by, now, guardian
        )
        uow.consents.add(consent)
        uow.requests.remember(cmd, consent.id)
        uow.commit()
        return consent


def withdraw_face_consent(
    cmd: WithdrawFaceConsent, uow: IdentityUnitOfWork, galleries: Galleries, clock: Clock = utc_now
) -> tuple[FaceConsent, int]:
    """Withdraw the consent and delete the templates in one commit; returns both."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            consent_id, _, count = done.partition(":")
            return _consent(uow, cmd.community_id, consent_id), int(count)
        get_resident_in(uow, cmd.community_id, cmd.resident_id)
        consent = uow.consents.current(cmd.community_id, cmd.resident_id, FACE_SIGN_IN)
        if consent is None:
            raise FailedPrecondition("the resident has no face consent to withdraw")
        deleted = _end_consent(uow, galleries, consent, cmd.recorded_by, clock())
        uow.requests.remember(cmd, f"{consent.id}:{deleted}")
        uow.commit()
        return consent, deleted


def expire_face_consents(
    uow: IdentityUnitOfWork, galleries: Galleries, limit: int = 500, clock: Clock = utc_now
) -> int:
    """Close consents whose retention ended, deleting their templates; how many were closed."""
    with uow:
        now = clock()
        lapsed = uow.consents.lapsed(now, limit)
        for consent in lapsed:
            _end_consent(uow, galleries, consent, EXPIRY_RECORDER, now)
        uow.commit()
        return len(lapsed)


def rotate_template_keys(
    cmd: RotateTemplateKeys, uow: IdentityUnitOfWork, batch: int = ROTATION_BATCH
) -> tuple[int, str]:
    """Re-encrypt every template not under the current key, a batch per commit.

    Returns how many were re-encrypted and the current key id. The templates' content does
    not change, so the galleries need no update. A failure leaves the batches before it done.
    """
    with uow:
        done = uow.requests.replay(cmd)
        existing_community(uow, cmd.community_id)
        key_id = uow.templates.current_key_id(cmd.community_id)
    if done is not None:
        return int(done), key_id
    total = 0
    after: str | None = ""
    while after is not None:
        with uow:
            count, after = uow.templates.rotate_keys(cmd.community_id, after, batch)
            total += count
            if after is None:
                uow.requests.remember(cmd, str(total))
            uow.commit()
    return total, key_id


def list_face_consents(
    community_id: str, resident_id: str, uow: IdentityUnitOfWork
) -> list[FaceConsent]:
    """A resident's consent history, newest first."""
    with uow:
        get_resident_in(uow, community_id, resident_id)
        return uow.consents.history(community_id, resident_id)


def enrol_face(
    cmd: EnrolFace,
    uow: IdentityUnitOfWork,
    engine: FaceEngine,
    galleries: Galleries,
    clock: Clock = utc_now,
) -> FaceEnrolment:
    """Store an encrypted template of the one face in the photo; the photo is not kept."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            enrolment = uow.templates.get(cmd.community_id, done)
            if enrolment is None:
                raise FailedPrecondition("the face enrolled by this request was deleted since")
            return enrolment
        get_resident_in(uow, cmd.community_id, cmd.resident_id)
        consent = uow.consents.current(cmd.community_id, cmd.resident_id, FACE_SIGN_IN)
        # Consent is checked before the image is even decoded.
        require_active(consent, clock())
        face = engine.analyse(cmd.image)
        enrolment = FaceEnrolment.enrol(consent, face.template, clock())
        uow.templates.put(enrolment)
        uow.requests.remember(cmd, cmd.resident_id)
        uow.commit()
    galleries.for_community(cmd.community_id).put(cmd.resident_id, enrolment.template)
    return enrolment


def verify_face(
    community_id: str,
    resident_id: str,
    burst: FaceBurst,
    uow: IdentityUnitOfWork,
    engine: FaceEngine,
    policy: LivenessPolicy | None = None,
    clock: Clock = utc_now,
) -> FaceDecision:
    """Compare a live burst with the named resident's template (1:1)."""
    with uow:
        get_resident_in(uow, community_id, resident_id)
        enrolment = uow.templates.get(community_id, resident_id)
        if enrolment is None:
            raise NotFound("the resident has no face enrolled")
        require_active(uow.consents.current(community_id, resident_id, FACE_SIGN_IN), clock())
    # The frames are analysed after the unit of work so no connection is held meanwhile.
    probe, liveness = live_probe(burst, engine, policy)
    match = FaceMatch.decide(probe, enrolment.template, engine.default_threshold, resident_id)
    return FaceDecision(match, liveness)


def identify_face(
    community_id: str,
    burst: FaceBurst,
    uow: IdentityUnitOfWork,
    engine: FaceEngine,
    galleries: Galleries,
    policy: LivenessPolicy | None = None,
    clock: Clock = utc_now,
) -> FaceDecision:
    """Find who a live burst shows among the community's enrolled residents (1:N)."""
    with uow:
        existing_community(uow, community_id)
    probe, liveness = live_probe(burst, engine, policy)
    gallery = galleries.for_community(community_id)
    match = gallery.identify(probe, engine.default_threshold)
    if match.resident_id is not None:
        with uow:
            consent = uow.consents.current(community_id, match.resident_id, FACE_SIGN_IN)
            stored = uow.templates.exists(community_id, match.resident_id)
        # The database is the truth: a gallery entry without a stored template under an
        # active consent (e.g. withdrawn through another replica) is dropped, not matched.
        if not stored or consent is None or not consent.active_at(clock()):
            gallery.remove(match.resident_id)
            match = FaceMatch.from_similarity(probe, -1.0, engine.default_threshold)
    if match.resident_id is None:
        raise NotFound(
            f"no enrolled resident matches this face ({match.engine}/{match.model_version}: "
            f"similarity {match.similarity:.3f} < threshold {match.threshold:.3f})"
        )
    return FaceDecision(match, liveness)


def refresh_gallery_entry(
    community_id: str,
    resident_id: str,
    uow: IdentityUnitOfWork,
    galleries: Galleries,
    clock: Clock = utc_now,
) -> bool:
    """Make this process's gallery agree with the database for one resident; True if enrolled.

    Run on FaceEnrolled and FaceConsentWithdrawn events, so every replica follows the one
    that handled the request; idempotent, so redelivery and out-of-order delivery are harmless.
    """
    with uow:
        enrolment = uow.templates.get(community_id, resident_id)
        consent = uow.consents.current(community_id, resident_id, FACE_SIGN_IN)
    gallery = galleries.for_community(community_id)
    if enrolment is None or consent is None or not consent.active_at(clock()):
        gallery.remove(resident_id)
        return False
    try:
        gallery.put(resident_id, enrolment.template)
    except TemplateMismatch:
        # Enrolled by a replica running another model (a rolling upgrade): unusable here.
        gallery.remove(resident_id)
        return False
    return True


def live_probe(
    burst: FaceBurst, engine: FaceEngine, policy: LivenessPolicy | None = None
) -> tuple[FaceTemplate, LivenessResult]:
    """Analyse every frame, check liveness, and average the frames into one probe template."""
    policy = policy or LivenessPolicy()
    if not policy.min_frames <= len(burst.frames) <= policy.max_frames:
        raise InvalidArgument(
            f"a burst has {policy.min_frames} to {policy.max_frames} frames, "
            f"not {len(burst.frames)}"
        )
    faces = [engine.analyse(frame) for frame in burst.frames]
    frames = [
        LivenessFrame(face.landmarks, face.template) for face in faces if face.landmarks is not None
    ]
    if len(frames) < len(faces):
        raise FailedPrecondition(
            f"the {engine.name} engine gives no 68-point landmarks, so liveness cannot be checked"
        )
    liveness = check_liveness(frames, burst.challenge, engine.default_threshold, policy)
    # The mean of the burst's unit vectors is less noisy than any single frame.
    first = faces[0].template
    mean = np.mean([face.template.vector for face in faces], axis=0)
    probe = FaceTemplate(vector=mean, engine=first.engine, model_version=first.model_version)
    return probe, liveness


def _end_consent(
    uow: IdentityUnitOfWork,
    galleries: Galleries,
    consent: FaceConsent,
    recorded_by: str,
    at: datetime,
) -> int:
    deleted = uow.templates.delete(consent.community_id, consent.resident_id)
    consent.withdraw(recorded_by, at, deleted)
    uow.consents.save_withdrawal(consent)
    # Removed before the commit: if the commit fails, the person is not recognised until
    # the gallery is reloaded, which fails safe; the reverse order could match a withdrawn face.
    galleries.for_community(consent.community_id).remove(consent.resident_id)
    return deleted


def _consent(uow: IdentityUnitOfWork, community_id: str, consent_id: str) -> FaceConsent:
    consent = uow.consents.get(community_id, consent_id)
    if consent is None:
        raise NotFound(f"face consent {consent_id} does not exist")
    return consent
