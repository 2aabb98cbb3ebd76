"""Open-set identification on real faces: a kiosk roster of 50 names the right people.

What is real here, exactly: seven people — the six faces of insightface's sample `t1.jpg`
and `Tom_Hanks_54745.png` (the wheel ships them) — are enrolled from their photo through
identity's own dlib path and probed with head-turn bursts made from that same photo, so
their genuine scores are optimistic (the same photo, not another day). This machine has no
50 distinct people with usable photos, so the roster's other 43 are real faces of other
people too: the first 43 faces of scikit-image's `lfw_subset` (25×25 px crops from Labeled
Faces in the Wild) that dlib's detector finds once upscaled to 150 px, encoded with the
same dlib model (too small for the enrolment quality rules, so encoded directly). The
strangers are each of the seven, left off the roster, probed against the other 49.
Templates are computed once for the module (about 15 s of face work).
"""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from linli_identity.adapters.face_dlib import DlibFaceEngine
from linli_identity.adapters.gallery import Gallery
from linli_identity.domain.face import FaceTemplate
from linli_identity.domain.liveness import Challenge
from linli_identity.domain.openset import DEFAULT_RULES, Outcome
from linli_identity.service_layer.faces import FaceBurst, live_probe

RULE = DEFAULT_RULES["dlib"]
ROSTER = 50
SIDE = 224


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} (a dev dependency) is not installed: no sample faces")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _head_turn(image: Image.Image) -> tuple[bytes, ...]:
    mirrored = ImageOps.mirror(image)
    frames = (
        image,
        ImageEnhance.Brightness(image).enhance(1.05),
        mirrored,
        ImageEnhance.Brightness(mirrored).enhance(0.95),
        image,
    )
    return tuple(_jpeg(frame) for frame in frames)


def _people() -> list[Image.Image]:
    import dlib

    group = Image.open(_package_file("insightface", "data", "images", "t1.jpg")).convert("RGB")
    rects = sorted(dlib.get_frontal_face_detector()(np.asarray(group), 0), key=lambda r: r.left())
    crops = []
    for r in rects:
        cx, cy, half = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2, r.width()
        box = (int(cx - half), int(cy - half), int(cx + half), int(cy + half))
        crops.append(group.crop(box).resize((SIDE, SIDE), Image.Resampling.BICUBIC))
    tom = Image.open(_package_file("insightface", "data", "images", "Tom_Hanks_54745.png"))
    return [*crops, tom.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC)]


def _lfw_templates(count: int, model_version: str) -> list[FaceTemplate]:
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    encoder = dlib.face_recognition_model_v1(
        face_recognition_models.face_recognition_model_location()
    )
    crops = np.load(_package_file("skimage", "data", "lfw_subset.npy"))[:100]  # faces first
    found = []
    for crop in crops:
        pixels = np.asarray(
            Image.fromarray((crop * 255).astype(np.uint8))
            .convert("RGB")
            .resize((150, 150), Image.Resampling.BICUBIC)
        )
        rects = detector(pixels, 1)
        if len(rects) != 1:
            continue
        vector = np.asarray(encoder.compute_face_descriptor(pixels, predictor(pixels, rects[0])))
        found.append(FaceTemplate(vector=vector, engine="dlib", model_version=model_version))
        if len(found) == count:
            return found
    pytest.fail(f"only {len(found)} LFW subset faces detected, {count} needed")


@dataclass(frozen=True)
class Faces:
    """Enrolled templates by resident id, and each real person's live burst (probe, frames)."""

    enrolled: dict[str, FaceTemplate]
    bursts: dict[str, tuple[FaceTemplate, list[FaceTemplate]]]
    model_version: str


@pytest.fixture(scope="module")
def faces() -> Faces:
    engine = DlibFaceEngine()
    enrolled, bursts = {}, {}
    for n, photo in enumerate(_people()):
        resident = f"r-real-{n}"
        enrolled[resident] = engine.analyse(_jpeg(photo)).template
        probe, _, frames = live_probe(FaceBurst(_head_turn(photo), Challenge.HEAD_TURN), engine)
        bursts[resident] = (probe, frames)
    fillers = _lfw_templates(ROSTER - len(enrolled), engine.model_version)
    enrolled |= {f"r-lfw-{n}": template for n, template in enumerate(fillers)}
    return Faces(enrolled, bursts, engine.model_version)


def _decide(faces: Faces, roster: list[str], resident: str):
    gallery = Gallery("dlib", faces.model_version, 128)
    for member in roster:
        gallery.put(member, faces.enrolled[member])
    probe, frames = faces.bursts[resident]
    enrolled, scores = gallery.compare([probe, *frames], roster)
    decision = RULE.decide(scores[0], scores[1:])
    return enrolled[decision.best], decision


def test_a_roster_of_50_real_faces_names_each_person_who_comes(faces: Faces) -> None:
    roster = list(faces.enrolled)
    assert len(roster) == ROSTER and len(faces.bursts) == 7

    for resident in faces.bursts:
        named, decision = _decide(faces, roster, resident)

        assert (named, decision.outcome) == (resident, Outcome.IDENTIFIED)
        assert decision.gallery_size == ROSTER
        assert decision.threshold == RULE.threshold_for(ROSTER) > RULE.verification_threshold
        assert decision.similarity - decision.second_similarity >= RULE.margin
        assert decision.agreeing_frames == decision.frames == 5


def test_a_stranger_to_the_roster_is_not_identified(faces: Faces) -> None:
    for resident in faces.bursts:
        others = [member for member in faces.enrolled if member != resident]

        _, decision = _decide(faces, others, resident)

        assert decision.outcome is not Outcome.IDENTIFIED
        assert decision.similarity < decision.threshold
