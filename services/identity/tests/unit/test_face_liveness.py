"""Liveness rules on synthetic 68-point landmark sets and templates."""

import numpy as np
import pytest

from linli_identity.domain.face import FaceTemplate, LivenessFailed
from linli_identity.domain.liveness import (
    Challenge,
    LivenessFrame,
    LivenessPolicy,
    blink_seen,
    check_liveness,
    eye_aspect_ratio,
    face_eye_aspect_ratio,
    yaw_ratio,
)

THRESHOLD = 0.9


def open_face() -> np.ndarray:
    """A frontal 68-point face: jaw 0-16 on x 0..160, nose tip at x 80, open eyes (EAR 0.3)."""
    points = np.zeros((68, 2))
    points[0:17, 0] = np.linspace(0, 160, 17)
    points[0:17, 1] = 100
    points[30] = (80, 90)
    for start, x0 in ((36, 40), (42, 100)):
        # corner, two upper-lid points, corner, two lower-lid points; width 20, height 6
        points[start : start + 6] = [
            (x0, 60),
            (x0 + 7, 57),
            (x0 + 13, 57),
            (x0 + 20, 60),
            (x0 + 13, 63),
            (x0 + 7, 63),
        ]
    return points


def with_eyes(points: np.ndarray, openness: float) -> np.ndarray:
    """Move the lid points toward the eye's mid-line: openness 1 is as drawn, 0 is shut."""
    moved = points.copy()
    for start in (36, 42):
        for upper, lower in ((start + 1, start + 5), (start + 2, start + 4)):
            mid = (points[upper, 1] + points[lower, 1]) / 2
            moved[upper, 1] = mid + (points[upper, 1] - mid) * openness
            moved[lower, 1] = mid + (points[lower, 1] - mid) * openness
    return moved


def turned(points: np.ndarray, nose_x: float) -> np.ndarray:
    moved = points.copy()
    moved[30, 0] = nose_x
    return moved


def template(seed: int, noise: float = 0.0, base_seed: int | None = None) -> FaceTemplate:
    base = np.random.default_rng(base_seed if base_seed is not None else seed).normal(size=128)
    jitter = np.random.default_rng(seed + 1000).normal(size=128) * noise
    return FaceTemplate(base + jitter, "test", "v1")


def burst(landmark_sets: list[np.ndarray], person: int = 1) -> list[LivenessFrame]:
    return [
        LivenessFrame(points, template(i, noise=0.05, base_seed=person))
        for i, points in enumerate(landmark_sets)
    ]


def test_eye_aspect_ratio_of_open_and_closed_eyes() -> None:
    face = open_face()
    assert eye_aspect_ratio(face[36:42]) == pytest.approx(0.3)
    assert face_eye_aspect_ratio(with_eyes(face, 0.0)) == pytest.approx(0.0)
    assert face_eye_aspect_ratio(with_eyes(face, 0.5)) == pytest.approx(0.15)


def test_blink_burst_passes() -> None:
    face = open_face()
    frames = burst([with_eyes(face, k) for k in (1.0, 1.0, 0.6, 0.2, 0.1, 0.5, 1.0)])
    result = check_liveness(frames, Challenge.BLINK, THRESHOLD)
    assert result.frames == 7
    assert THRESHOLD <= result.min_same_face_similarity < 1.0


def test_still_photo_replayed_as_burst_fails() -> None:
    still = LivenessFrame(open_face(), template(1))
    with pytest.raises(LivenessFailed, match="No blink"):
        check_liveness([still] * 8, Challenge.BLINK, THRESHOLD)


def test_eyes_closing_without_reopening_is_not_a_blink() -> None:
    face = open_face()
    frames = burst([with_eyes(face, k) for k in (1.0, 0.8, 0.3, 0.1, 0.1)])
    with pytest.raises(LivenessFailed, match="No blink"):
        check_liveness(frames, Challenge.BLINK, THRESHOLD)


def test_jitter_between_thresholds_is_not_a_blink() -> None:
    # EAR swings 0.3 -> 0.21 -> 0.3: under "open" but never under "closed".
    assert not blink_seen([0.3, 0.21, 0.3, 0.2, 0.3], LivenessPolicy())
    assert blink_seen([0.3, 0.21, 0.1, 0.3], LivenessPolicy())


def test_face_swapped_mid_burst_fails() -> None:
    face = open_face()
    frames = burst([with_eyes(face, k) for k in (1.0, 0.1, 1.0)])
    frames[2] = LivenessFrame(frames[2].landmarks, template(99))
    with pytest.raises(LivenessFailed, match="face changed"):
        check_liveness(frames, Challenge.BLINK, THRESHOLD)


@pytest.mark.parametrize("count", [1, 2, 31])
def test_burst_length_is_bounded(count: int) -> None:
    frames = [LivenessFrame(open_face(), template(1))] * count
    with pytest.raises(LivenessFailed, match="frames"):
        check_liveness(frames, Challenge.BLINK, THRESHOLD)


def test_head_turn() -> None:
    face = open_face()
    assert yaw_ratio(face) == pytest.approx(0.0)
    assert yaw_ratio(turned(face, 120)) == pytest.approx(0.5)
    turn = burst([turned(face, x) for x in (80, 95, 115, 120, 100, 80)])
    assert check_liveness(turn, Challenge.HEAD_TURN, THRESHOLD).challenge is Challenge.HEAD_TURN
    # A blink is not a turn, and a still is neither.
    blink = burst([with_eyes(face, k) for k in (1.0, 0.1, 1.0)])
    with pytest.raises(LivenessFailed, match="head turn"):
        check_liveness(blink, Challenge.HEAD_TURN, THRESHOLD)


def test_engine_without_68_landmarks_cannot_do_liveness() -> None:
    frames = [LivenessFrame(np.zeros((5, 2)), template(1))] * 3
    with pytest.raises(LivenessFailed, match="68-point"):
        check_liveness(frames, Challenge.BLINK, THRESHOLD)
