"""Face enrolment, verification (1:1) and identification (1:N) under consent (I2, A1)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from linli_identity.domain.access import (
    require_may_identify_face,
    require_may_verify_face,
    require_self_or_staff_over,
)
from linli_identity.domain.consent import FACE_SIGN_IN, FaceEnrolment, require_active
from linli_identity.domain.face import FaceError, FaceMatch, FaceTemplate, TemplateMismatch
from linli_identity.domain.liveness import (
    Challenge,
    LivenessFrame,
    LivenessPolicy,
    LivenessResult,
    check_liveness,
)
from linli_identity.domain.openset import (
    OpenSetBook,
    OpenSetRule,
    Outcome,
    checked_candidates,
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

MAX_ENROLMENT_PHOTOS = 5
# The shipped thresholds (domain.openset.DEFAULT_RULES), for callers that configure none.
DEFAULT_BOOK = OpenSetBook({})
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
    cmd: EnrolFace, uow: IdentityUnitOfWork, engine: FaceEngine, book: OpenSetBook, clock: Clock
) -> FaceEnrolment:
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    # The resident, or their staff; either way only under the resident's active consent.
    require_self_or_staff_over(cmd.actor, resident, reach_of(uow, cmd.actor, cmd.community_id))
    consent = uow.consents.current(cmd.community_id, cmd.resident_id, FACE_SIGN_IN)
    # Consent is checked before the images are even decoded.
    require_active(consent, clock())
    template = enrolment_template(cmd.images, engine, book.rule(engine.name, cmd.community_id))
    enrolment = FaceEnrolment.enrol(consent, template, clock(), photos=len(cmd.images))
    uow.templates.put(enrolment)
    return enrolment


def enrolment_template(
    images: Sequence[bytes], engine: FaceEngine, rule: OpenSetRule
) -> FaceTemplate:
    """The mean template of 1 to MAX_ENROLMENT_PHOTOS photos of one person, each checked.

    A refusal names the photo and why (no face, several, too small, blurred…); a photo that
    does not match the others at the verification threshold is refused as another person.
    """
    if not 1 <= len(images) <= MAX_ENROLMENT_PHOTOS:
        raise InvalidArgument(
            f"enrolment takes 1 to {MAX_ENROLMENT_PHOTOS} photos, not {len(images)}"
        )
    templates = []
    for number, image in enumerate(images, start=1):
        try:
            templates.append(engine.analyse(image).template)
        except FaceError as exc:
            raise _of_photo(exc, number, len(images)) from None
    if len(templates) > 1:
        # Each photo against the mean of the others; the least alike is the one to blame.
        alike = [
            t.similarity(mean_template(templates[:n] + templates[n + 1 :]))
            for n, t in enumerate(templates)
        ]
        worst = max(range(len(alike)), key=lambda n: (-alike[n], n))
        if alike[worst] < rule.verification_threshold:
            raise InvalidArgument(
                f"photo {worst + 1} of {len(images)} does not look like the same person as the "
                "others: please send photos of the resident only"
            )
    return mean_template(templates)


def _of_photo(error: FaceError, number: int, count: int) -> FaceError:
    """The same refusal, naming the photo when there are several."""
    if count == 1:
        return error
    return FaceError(f"photo {number} of {count}: {error}")


def enrol_face(
    cmd: EnrolFace,
    uow: IdentityUnitOfWork,
    engine: FaceEngine,
    galleries: Galleries,
    book: OpenSetBook = DEFAULT_BOOK,
    clock: Clock = utc_now,
    time_left: TimeLeft = no_deadline,
) -> FaceEnrolment:
    """Store an encrypted template of the face in the photos; the photos are not kept."""
    _still_wanted(time_left)  # it may have waited its turn for the face workers
    enrolment = _store_enrolment(cmd, uow, engine, book, clock)
    # Only after the commit: a failed commit must leave no face in the gallery.
    galleries.for_community(cmd.community_id).put(cmd.resident_id, enrolment.template)
    return enrolment


def verify_face(
    community_id: str,
    resident_id: str,
    burst: FaceBurst,
    uow: IdentityUnitOfWork,
    engine: FaceEngine,
    book: OpenSetBook,
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
    probe, liveness, _ = live_probe(burst, engine, policy, time_left)
    threshold = book.rule(engine.name, community_id).verification_threshold
    match = FaceMatch.decide(probe, enrolment.template, threshold, resident_id)
    return FaceDecision(match, liveness)


def identify_face(
    community_id: str,
    candidates: Sequence[str],
    burst: FaceBurst,
    uow: IdentityUnitOfWork,
    engine: FaceEngine,
    galleries: Galleries,
    book: OpenSetBook,
    policy: LivenessPolicy | None = None,
    clock: Clock = utc_now,
    time_left: TimeLeft = no_deadline,
    *,
    actor: Principal,
) -> FaceDecision:
    """Find which of the candidates a live burst shows (open-set 1:N): its services only.

    A person must not turn a photo into a name. A close call names the likeliest candidate
    with the outcome NEEDS_CONFIRMATION; a face below the verification bar is NotFound.
    """
    require_may_identify_face(actor, community_id)
    expected = checked_candidates(candidates)
    rule = book.rule(engine.name, community_id)
    with uow:
        existing_community(uow, community_id)
    probe, liveness, frames = live_probe(burst, engine, policy, time_left)
    gallery = galleries.for_community(community_id)
    while True:
        enrolled, scores = gallery.compare([probe, *frames], expected)
        if not enrolled:
            raise NotFound(
                f"no enrolled resident among the {len(expected)} expected: none has a face "
                "enrolled (sign in with the QR code or PIN, or ask staff)"
            )
        decision = rule.decide(scores[0], scores[1:])
        named = enrolled[decision.best]
        if decision.outcome is Outcome.NOBODY or _still_enrolled(uow, community_id, named, clock):
            break
        # The database is the truth: a gallery entry without a stored template under an
        # active consent (e.g. withdrawn through another replica) is dropped, not matched.
        gallery.remove(named)
    match = FaceMatch.identified(
        probe, decision, None if decision.outcome is Outcome.NOBODY else named
    )
    if match.resident_id is None:
        raise NotFound(
            f"no enrolled resident among the {decision.gallery_size} expected matches this "
            f"face ({match.engine}/{match.model_version}: similarity {match.similarity:.3f} < "
            f"verification threshold {match.verification_threshold:.3f})"
        )
    return FaceDecision(match, liveness)


def _still_enrolled(
    uow: IdentityUnitOfWork, community_id: str, resident_id: str, clock: Clock
) -> bool:
    with uow:
        consent = uow.consents.current(community_id, resident_id, FACE_SIGN_IN)
        stored = uow.templates.exists(community_id, resident_id)
    return stored and consent is not None and consent.active_at(clock())


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
) -> tuple[FaceTemplate, LivenessResult, list[FaceTemplate]]:
    """Analyse every frame, check liveness, and average the frames into one probe template.

    Returns the probe, the liveness result and each frame's own template. Between frames it
    checks that the caller still waits: a burst whose caller is gone stops within one
    frame's analysis instead of holding a face worker to the end.
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
    templates = [face.template for face in faces]
    return mean_template(templates), liveness, templates


def mean_template(templates: Sequence[FaceTemplate]) -> FaceTemplate:
    """The normalised mean of templates of one engine and model: less noisy than any one."""
    first = templates[0]
    for other in templates[1:]:
        first.ensure_comparable(other)
    mean = np.mean([t.vector for t in templates], axis=0)
    return FaceTemplate(vector=mean, engine=first.engine, model_version=first.model_version)
