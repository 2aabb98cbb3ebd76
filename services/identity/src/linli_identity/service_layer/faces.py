"""Face enrolment, verification (1:1) and identification (1:N) under consent (I2, A1)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from linli_identity.domain.access import (
    require_may_identify_face,
    require_may_verify_face,
    require_self_or_staff_over,
)
from linli_identity.domain.consent import FACE_SIGN_IN, FaceEnrolment, require_active
from linli_identity.domain.face import FaceMatch, FaceTemplate, TemplateMismatch
from linli_identity.domain.liveness import (
    Challenge,
    LivenessFrame,
    LivenessPolicy,
    LivenessResult,
    check_liveness,
)
from linli_identity.service_layer.access import in_actors_community, reach_of
from linli_identity.service_layer.commands import EnrolFace
from linli_identity.service_layer.face_port import FaceEngine, Galleries
from linli_identity.service_layer.lookups import existing_community, existing_resident
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent

# Seconds the caller still waits for an answer (0 or less: gone, stop working for them).
TimeLeft = Callable[[], float]


def no_deadline() -> float:
    """A caller without a deadline (the frame cap still bounds the work)."""
    return math.inf


class CallerGone(Unavailable):
    """The caller's deadline passed (or the call was cancelled) before the face work was done."""

    def __init__(self) -> None:
        super().__init__("the caller stopped waiting; the face work was abandoned")


def _still_wanted(time_left: TimeLeft) -> None:
    if time_left() <= 0:
        raise CallerGone()


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


def _enrolment(uow: IdentityUnitOfWork, cmd: EnrolFace, ref: str) -> FaceEnrolment:
    enrolment = uow.templates.get(cmd.community_id, ref)
    if enrolment is None:
        raise FailedPrecondition("the face enrolled by this request was deleted since")
    return enrolment


@in_actors_community
@idempotent(_enrolment)
def _store_enrolment(
    cmd: EnrolFace, uow: IdentityUnitOfWork, engine: FaceEngine, clock: Clock
) -> FaceEnrolment:
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    # The resident, or their staff; either way only under the resident's active consent.
    require_self_or_staff_over(cmd.actor, resident, reach_of(uow, cmd.actor, cmd.community_id))
    consent = uow.consents.current(cmd.community_id, cmd.resident_id, FACE_SIGN_IN)
    # Consent is checked before the image is even decoded.
    require_active(consent, clock())
    face = engine.analyse(cmd.image)
    enrolment = FaceEnrolment.enrol(consent, face.template, clock())
    uow.templates.put(enrolment)
    return enrolment


def enrol_face(
    cmd: EnrolFace,
    uow: IdentityUnitOfWork,
    engine: FaceEngine,
    galleries: Galleries,
    clock: Clock = utc_now,
    time_left: TimeLeft = no_deadline,
) -> FaceEnrolment:
    """Store an encrypted template of the one face in the photo; the photo is not kept."""
    _still_wanted(time_left)  # it may have waited its turn for the face workers
    enrolment = _store_enrolment(cmd, uow, engine, clock)
    # Only after the commit: a failed commit must leave no face in the gallery.
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
    time_left: TimeLeft = no_deadline,
    *,
    actor: Principal,
) -> FaceDecision:
    """Compare a live burst with the named resident's template (1:1): they or a kiosk."""
    require_may_verify_face(actor, community_id, resident_id)
    with uow:
        existing_resident(uow, community_id, resident_id)
        enrolment = uow.templates.get(community_id, resident_id)
        if enrolment is None:
            raise NotFound("the resident has no face enrolled")
        require_active(uow.consents.current(community_id, resident_id, FACE_SIGN_IN), clock())
    # The frames are analysed after the unit of work so no connection is held meanwhile.
    probe, liveness = live_probe(burst, engine, policy, time_left)
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
    time_left: TimeLeft = no_deadline,
    *,
    actor: Principal,
) -> FaceDecision:
    """Find who a live burst shows among the community's residents (1:N): its services only.

    A person must not turn a photo into a name.
    """
    require_may_identify_face(actor, community_id)
    with uow:
        existing_community(uow, community_id)
    probe, liveness = live_probe(burst, engine, policy, time_left)
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


def load_galleries(
    uow: IdentityUnitOfWork, galleries: Galleries, engine: str, model_version: str
) -> tuple[int, int]:
    """Fill the galleries with this model's templates; (loaded, others needing re-enrolment)."""
    loaded = 0
    with uow:
        for enrolment in uow.templates.for_model(engine, model_version):
            galleries.for_community(enrolment.community_id).put(
                enrolment.resident_id, enrolment.template
            )
            loaded += 1
        return loaded, uow.templates.count_other_models(engine, model_version)


def live_probe(
    burst: FaceBurst,
    engine: FaceEngine,
    policy: LivenessPolicy | None = None,
    time_left: TimeLeft = no_deadline,
) -> tuple[FaceTemplate, LivenessResult]:
    """Analyse every frame, check liveness, and average the frames into one probe template.

    Between frames it checks that the caller still waits: a burst whose caller is gone stops
    within one frame's analysis instead of holding a face worker to the end.
    """
    policy = policy or LivenessPolicy()
    if not policy.min_frames <= len(burst.frames) <= policy.max_frames:
        raise InvalidArgument(
            f"a burst has {policy.min_frames} to {policy.max_frames} frames, "
            f"not {len(burst.frames)}"
        )
    faces = []
    for frame in burst.frames:
        _still_wanted(time_left)
        faces.append(engine.analyse(frame))
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
