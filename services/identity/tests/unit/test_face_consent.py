"""Consent rules (I2) and the face use cases, against in-memory fakes and a fake engine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from linli_identity.adapters.gallery import Galleries
from linli_identity.domain.consent import FaceConsentWithdrawn, FaceEnrolled
from linli_identity.domain.face import LivenessFailed
from linli_identity.domain.key_rotation import KeyRotation
from linli_identity.domain.liveness import Challenge
from linli_identity.service_layer.commands import (
    CreateCommunity,
    EnrolFace,
    GrantFaceConsent,
    RegisterResident,
    RotateTemplateKeys,
    WithdrawFaceConsent,
)
from linli_identity.service_layer.consents import (
    expire_face_consents,
    grant_face_consent,
    list_face_consents,
    withdraw_face_consent,
)
from linli_identity.service_layer.faces import (
    FaceBurst,
    enrol_face,
    identify_face,
    refresh_gallery_entry,
    verify_face,
)
from linli_identity.service_layer.key_rotation import (
    rotate_template_keys,
)
from linli_identity.service_layer.residents import (
    create_community,
    register_resident,
)
from linli_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    IdempotencyConflict,
    InvalidArgument,
    NotFound,
)
from linli_kit.principals import SYSTEM

from .conftest import fakes

C = "c-east"
TURN = (b"face:ann:left", b"face:ann:front", b"face:ann:right")


@pytest.fixture
def engine() -> fakes.FakeFaceEngine:
    return fakes.FakeFaceEngine()


@pytest.fixture
def galleries(engine) -> Galleries:
    return Galleries(engine.name, engine.model_version, engine.dimension)


@pytest.fixture
def people(uow, clock) -> dict[str, str]:
    """Ann (adult), Kid (born 2015, so 9 in 2025) and Teen (born 2010) in c-east."""
    create_community(CreateCommunity(C, "East Gate", actor=SYSTEM), uow, clock)
    ids = {}
    for name, phone, born in (
        ("ann", "13800000001", date(1980, 5, 1)),
        ("kid", "13800000002", date(2015, 6, 1)),
        ("teen", "13800000003", date(2010, 1, 1)),
        ("nobirth", "13800000004", None),
    ):
        cmd = RegisterResident(C, name, phone, birth_date=born, actor=SYSTEM)
        ids[name] = register_resident(cmd, uow, clock).id
    uow.published.clear()
    return ids


def grant(uow, galleries, clock, resident, guardian="", request_id="", days=365):
    cmd = GrantFaceConsent(
        C, resident, "2025-01", days, "staff:li", guardian, request_id, actor=SYSTEM
    )
    return grant_face_consent(cmd, uow, galleries, clock)


def enrol(uow, engine, galleries, clock, resident, image=b"face:ann:front", request_id=""):
    return enrol_face(
        EnrolFace(C, resident, (image,), request_id, actor=SYSTEM),
        uow,
        engine,
        galleries,
        fakes.BOOK,
        clock,
    )


def test_enrolment_needs_consent_and_nothing_is_stored_or_analysed_without(
    uow, engine, galleries, clock, people
) -> None:
    with pytest.raises(FailedPrecondition, match="consent"):
        enrol(uow, engine, galleries, clock, people["ann"])
    assert uow.templates.rows == {} and len(galleries.for_community(C)) == 0
    assert engine.analysed == 0


def test_consent_is_recorded_with_version_retention_and_recorder(
    uow, galleries, clock, people
) -> None:
    consent = grant(uow, galleries, clock, people["ann"], days=30)
    assert (consent.purpose, consent.policy_version, consent.granted_by) == (
        "face_sign_in",
        "2025-01",
        "staff:li",
    )
    assert consent.expires_at == consent.granted_at + timedelta(days=30)
    assert (
        uow.committed
        and list_face_consents(C, people["ann"], 0, 50, uow, actor=SYSTEM)[0][0].id == consent.id
    )


@pytest.mark.parametrize(
    ("version", "days", "recorder", "error"),
    [
        ("", 30, "staff", "policy_version"),
        ("v1", 0, "staff", "retention_days"),
        ("v1", 3651, "staff", "retention_days"),
        ("v1", 30, " ", "recorded_by"),
    ],
)
def test_bad_grants_are_refused(
    uow, galleries, clock, people, version, days, recorder, error
) -> None:
    cmd = GrantFaceConsent(C, people["ann"], version, days, recorder, actor=SYSTEM)
    with pytest.raises(InvalidArgument, match=error):
        grant_face_consent(cmd, uow, galleries, clock)
    assert uow.consents.rows == {}


def test_a_second_active_consent_is_refused(uow, galleries, clock, people) -> None:
    grant(uow, galleries, clock, people["ann"])
    with pytest.raises(AlreadyExists):
        grant(uow, galleries, clock, people["ann"])


def test_a_child_under_14_needs_an_adult_guardian_of_the_same_community(
    uow, galleries, clock, people
) -> None:
    with pytest.raises(FailedPrecondition, match="guardian must give consent"):
        grant(uow, galleries, clock, people["kid"])
    with pytest.raises(FailedPrecondition, match="at least 18"):
        grant(uow, galleries, clock, people["kid"], guardian=people["teen"])
    with pytest.raises(InvalidArgument, match="another resident"):
        grant(uow, galleries, clock, people["kid"], guardian=people["kid"])
    with pytest.raises(NotFound):
        grant(uow, galleries, clock, people["kid"], guardian="runknown")
    consent = grant(uow, galleries, clock, people["kid"], guardian=people["ann"])
    assert consent.guardian_id == people["ann"]


def test_residents_of_14_or_more_or_without_birth_date_consent_themselves(
    uow, galleries, clock, people
) -> None:
    with pytest.raises(FailedPrecondition, match="only a resident under 14"):
        grant(uow, galleries, clock, people["teen"], guardian=people["ann"])
    assert grant(uow, galleries, clock, people["teen"]).guardian_id is None
    assert grant(uow, galleries, clock, people["nobirth"]).guardian_id is None


def test_enrol_then_identify_and_verify(uow, engine, galleries, clock, people) -> None:
    grant(uow, galleries, clock, people["ann"])
    enrolment = enrol(uow, engine, galleries, clock, people["ann"])
    assert isinstance(uow.published[-1], FaceEnrolled)
    assert uow.templates.exists(C, people["ann"]) and people["ann"] in galleries.for_community(C)

    found = identify_face(
        C,
        tuple(people.values()),
        FaceBurst(TURN, Challenge.HEAD_TURN),
        uow,
        engine,
        galleries,
        fakes.BOOK,
        clock=clock,
        actor=SYSTEM,
    )
    assert found.match.resident_id == people["ann"] and found.match.matched
    assert (found.match.engine, found.match.threshold, found.match.gallery_size) == (
        "fake",
        0.9,
        1,
    )
    assert found.liveness.frames == 3 and enrolment.template.engine == "fake"

    other = (b"face:bob:left", b"face:bob:front", b"face:bob:right")
    with pytest.raises(NotFound, match=r"verification threshold 0\.900"):
        identify_face(
            C,
            tuple(people.values()),
            FaceBurst(other, Challenge.HEAD_TURN),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock=clock,
            actor=SYSTEM,
        )
    decision = verify_face(
        C,
        people["ann"],
        FaceBurst(other, Challenge.HEAD_TURN),
        uow,
        engine,
        fakes.BOOK,
        clock=clock,
        actor=SYSTEM,
    )
    assert not decision.match.matched and decision.match.similarity < 0.9


def test_a_still_burst_fails_liveness(uow, engine, galleries, clock, people) -> None:
    grant(uow, galleries, clock, people["ann"])
    enrol(uow, engine, galleries, clock, people["ann"])
    still = FaceBurst((b"face:ann:front",) * 5, Challenge.HEAD_TURN)
    with pytest.raises(LivenessFailed, match="head turn"):
        identify_face(
            C,
            tuple(people.values()),
            still,
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock=clock,
            actor=SYSTEM,
        )
    with pytest.raises(InvalidArgument, match="3 to 30 frames"):
        identify_face(
            C,
            tuple(people.values()),
            FaceBurst(TURN[:2], Challenge.HEAD_TURN),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock=clock,
            actor=SYSTEM,
        )


def test_withdrawal_deletes_templates_at_once_and_keeps_the_history(
    uow, engine, galleries, clock, people
) -> None:
    grant(uow, galleries, clock, people["ann"])
    enrol(uow, engine, galleries, clock, people["ann"])

    consent = withdraw_face_consent(
        WithdrawFaceConsent(C, people["ann"], "resident:ann", actor=SYSTEM), uow, galleries, clock
    )

    assert consent.deleted_templates == 1 and consent.withdrawn_by == "resident:ann"
    assert not uow.templates.exists(C, people["ann"])
    assert people["ann"] not in galleries.for_community(C)
    event = uow.published[-1]
    assert isinstance(event, FaceConsentWithdrawn) and event.deleted_templates == 1
    with pytest.raises(NotFound, match="no enrolled resident"):
        identify_face(
            C,
            tuple(people.values()),
            FaceBurst(TURN, Challenge.HEAD_TURN),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock=clock,
            actor=SYSTEM,
        )
    with pytest.raises(FailedPrecondition, match="consent"):
        enrol(uow, engine, galleries, clock, people["ann"])
    # A new grant starts a new record; the withdrawn one stays in the history.
    grant(uow, galleries, clock, people["ann"])
    history = list_face_consents(C, people["ann"], 0, 50, uow, actor=SYSTEM)[0]
    assert [c.withdrawn_at is None for c in history] == [True, False]


def test_withdrawing_without_consent_is_refused(uow, galleries, clock, people) -> None:
    with pytest.raises(FailedPrecondition, match="no face consent"):
        withdraw_face_consent(
            WithdrawFaceConsent(C, people["ann"], "staff", actor=SYSTEM), uow, galleries, clock
        )


def test_retries_replay_and_a_reused_request_id_conflicts(
    uow, engine, galleries, clock, people
) -> None:
    first = grant(uow, galleries, clock, people["ann"], request_id="g1")
    assert grant(uow, galleries, clock, people["ann"], request_id="g1").id == first.id
    with pytest.raises(IdempotencyConflict):
        grant(uow, galleries, clock, people["teen"], request_id="g1")
    enrol(uow, engine, galleries, clock, people["ann"], request_id="e1")
    enrol(uow, engine, galleries, clock, people["ann"], request_id="e1")
    assert engine.analysed == 1
    cmd = WithdrawFaceConsent(C, people["ann"], "staff", "w1", actor=SYSTEM)
    assert withdraw_face_consent(cmd, uow, galleries, clock).deleted_templates == 1
    assert withdraw_face_consent(cmd, uow, galleries, clock).deleted_templates == 1


def test_lapsed_consent_blocks_enrolment_and_the_sweep_deletes_templates(
    uow, engine, galleries, clock, people
) -> None:
    grant(uow, galleries, clock, people["ann"], days=1)
    enrol(uow, engine, galleries, clock, people["ann"])
    later = clock() + timedelta(days=2)

    with pytest.raises(FailedPrecondition, match="consent"):
        enrol(uow, engine, galleries, lambda: later, people["ann"])
    assert expire_face_consents(uow, galleries, clock=lambda: later) == 1
    assert not uow.templates.exists(C, people["ann"])
    assert people["ann"] not in galleries.for_community(C)
    assert list_face_consents(C, people["ann"], 0, 50, uow, actor=SYSTEM)[0][
        0
    ].withdrawn_by.startswith("system")


def test_a_stale_gallery_entry_is_not_matched(uow, engine, galleries, clock, people) -> None:
    """A replica whose gallery missed a withdrawal still refuses: the database decides."""
    grant(uow, galleries, clock, people["ann"])
    enrol(uow, engine, galleries, clock, people["ann"])
    uow.templates.delete(C, people["ann"])  # as if withdrawn through another replica

    with pytest.raises(NotFound):
        identify_face(
            C,
            tuple(people.values()),
            FaceBurst(TURN, Challenge.HEAD_TURN),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock=clock,
            actor=SYSTEM,
        )
    assert people["ann"] not in galleries.for_community(C)


def test_wrong_community_and_unknown_resident(uow, engine, galleries, clock, people) -> None:
    with pytest.raises(NotFound):
        identify_face(
            "c-west",
            tuple(people.values()),
            FaceBurst(TURN, Challenge.HEAD_TURN),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock=clock,
            actor=SYSTEM,
        )
    with pytest.raises(NotFound):
        enrol_face(
            EnrolFace("c-west", people["ann"], (b"face:ann:front",), actor=SYSTEM),
            uow,
            engine,
            galleries,
            clock,
        )
    assert engine.analysed == 0


def test_another_replica_follows_enrolment_and_withdrawal(
    uow, engine, galleries, clock, people
) -> None:
    """The gallery sync handler makes a second gallery agree with the stored templates."""
    replica = Galleries(engine.name, engine.model_version, engine.dimension)
    grant(uow, galleries, clock, people["ann"])
    enrol(uow, engine, galleries, clock, people["ann"])

    assert refresh_gallery_entry(C, people["ann"], uow, replica, clock)
    assert people["ann"] in replica.for_community(C)
    withdraw_face_consent(
        WithdrawFaceConsent(C, people["ann"], "staff", actor=SYSTEM), uow, galleries, clock
    )
    assert not refresh_gallery_entry(C, people["ann"], uow, replica, clock)
    assert people["ann"] not in replica.for_community(C)


def test_key_rotation_moves_stale_templates_in_batches_once(
    uow, engine, galleries, clock, people
) -> None:
    for name in ("ann", "teen", "nobirth"):
        grant(uow, galleries, clock, people[name])
        enrol(uow, engine, galleries, clock, people[name])
    uow.templates.current_key = "k2"
    # Ann re-enrols under the new key before the rotation runs: nothing to do for her.
    enrol(uow, engine, galleries, clock, people["ann"], image=b"face:ann:left")
    commits = uow.commits

    rotated = outcome(
        rotate_template_keys(RotateTemplateKeys(C, "rot-1", actor=SYSTEM), uow, batch=1)
    )

    assert rotated == (2, "k2")
    assert set(uow.templates.key_ids.values()) == {"k2"}
    # The run's start, three one-row batches and the empty one after them.
    assert uow.commits - commits == 5
    assert outcome(rotate_template_keys(RotateTemplateKeys(C, actor=SYSTEM), uow, batch=1)) == (
        0,
        "k2",
    )
    # A replay answers with the first run.
    assert outcome(rotate_template_keys(RotateTemplateKeys(C, "rot-1", actor=SYSTEM), uow)) == (
        2,
        "k2",
    )
    with pytest.raises(NotFound):
        rotate_template_keys(RotateTemplateKeys("c-west", actor=SYSTEM), uow)


def test_a_rotation_cut_short_resumes_when_the_request_is_retried(
    uow, engine, galleries, clock, people, monkeypatch
) -> None:
    for name in ("ann", "teen", "nobirth"):
        grant(uow, galleries, clock, people[name])
        enrol(uow, engine, galleries, clock, people[name])
    uow.templates.current_key = "k2"
    rotate_keys = uow.templates.rotate_keys
    batches: list[int] = []

    def crash_on_the_second_batch(community_id: str, after: str, limit: int):
        batches.append(limit)
        if len(batches) == 2:
            raise RuntimeError("the process died")
        return rotate_keys(community_id, after, limit)

    monkeypatch.setattr(uow.templates, "rotate_keys", crash_on_the_second_batch)
    with pytest.raises(RuntimeError):
        rotate_template_keys(RotateTemplateKeys(C, "rot-1", actor=SYSTEM), uow, batch=1)
    assert sorted(uow.templates.key_ids.values()) == ["k1", "k1", "k2"]

    resumed = rotate_template_keys(RotateTemplateKeys(C, "rot-1", actor=SYSTEM), uow, batch=1)

    assert outcome(resumed) == (3, "k2") and resumed.finished
    assert set(uow.templates.key_ids.values()) == {"k2"}
    assert len(uow.key_rotations.rows) == 1


def outcome(rotation: KeyRotation) -> tuple[int, str]:
    """What a rotation run reports: how many templates it re-encrypted, under which key."""
    return rotation.re_encrypted, rotation.key_id


def test_several_photos_make_one_template_and_a_refusal_names_the_photo(
    uow, engine, galleries, clock, people
) -> None:
    grant(uow, galleries, clock, people["ann"])
    photos = (b"face:ann:left", b"face:ann:front", b"face:ann:right")

    enrolment = enrol_face(
        EnrolFace(C, people["ann"], photos, actor=SYSTEM), uow, engine, galleries, fakes.BOOK, clock
    )

    assert enrolment.photos == 3 and uow.templates.get(C, people["ann"]).photos == 3
    with pytest.raises(InvalidArgument, match=r"photo 2 of 3: No face was found"):
        enrol_face(
            EnrolFace(C, people["ann"], (photos[0], b"not a face", photos[2]), actor=SYSTEM),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock,
        )
    with pytest.raises(InvalidArgument, match="photo 3 of 3 does not look like the same person"):
        enrol_face(
            EnrolFace(C, people["ann"], (*photos[:2], b"face:bob:front"), actor=SYSTEM),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock,
        )
    with pytest.raises(InvalidArgument, match="1 to 5 photos"):
        enrol_face(
            EnrolFace(C, people["ann"], photos * 2, actor=SYSTEM),
            uow,
            engine,
            galleries,
            fakes.BOOK,
            clock,
        )
