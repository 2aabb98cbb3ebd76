"""Liveness challenge over a short burst of frames: same face throughout, and a blink or turn.

Landmarks are the 68 points of the iBUG 300-W scheme (dlib's shape predictor): the jaw is
0-16, the nose tip 30, one eye 36-41 and the other 42-47, each eye listed corner, two upper-lid
points, corner, two lower-lid points.

What this proves and what it does not: it refuses a still photo (or the same frame repeated)
and a burst that switches person mid-way, because a still cannot blink or turn. It is a
challenge-response check, not presentation-attack detection: a video of the resident
blinking, or a good mask, would pass. Sign-in is therefore always staff-supervised and has
a non-biometric alternative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from linli_identity.domain.face import FaceTemplate, LivenessFailed

LANDMARK_COUNT = 68
EYES = (slice(36, 42), slice(42, 48))
JAW_LEFT, JAW_RIGHT, NOSE_TIP = 0, 16, 30


class Challenge(StrEnum):
    """What the person is asked to do during the burst."""

    BLINK = "blink"
    HEAD_TURN = "head_turn"


@dataclass(frozen=True, eq=False)
class LivenessFrame:
    """One frame of a burst: its 68 landmarks and the face template encoded from it."""

    landmarks: np.ndarray
    template: FaceTemplate


@dataclass(frozen=True)
class LivenessPolicy:
    """Thresholds of the liveness check."""

    min_frames: int = 3
    max_frames: int = 30
    # Eye aspect ratio (Soukupová & Čech 2016): open eyes measure ~0.25-0.35 with dlib's
    # predictor and closed ones < 0.15. Two thresholds (hysteresis) keep landmark jitter around
    # a single value from counting as a blink.
    open_ear: float = 0.24
    closed_ear: float = 0.18
    # Head turn: yaw_ratio() (0 frontal, ±1 full profile) must sweep this far within the burst.
    min_yaw_sweep: float = 0.35


@dataclass(frozen=True)
class LivenessResult:
    """Evidence recorded when a burst passes."""

    challenge: Challenge
    frames: int
    min_same_face_similarity: float


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """Eye aspect ratio of six eye points: lid-to-lid height over corner-to-corner width."""
    p = np.asarray(eye, dtype=np.float64)
    vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    horizontal = np.linalg.norm(p[0] - p[3])
    return float(vertical / (2.0 * horizontal)) if horizontal > 0 else 0.0


def face_eye_aspect_ratio(landmarks: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes of a 68-point landmark set."""
    points = _checked(landmarks)
    return (eye_aspect_ratio(points[EYES[0]]) + eye_aspect_ratio(points[EYES[1]])) / 2.0


def yaw_ratio(landmarks: np.ndarray) -> float:
    """Where the nose tip sits between the jaw edges: 0 facing the camera, towards ±1 turned."""
    points = _checked(landmarks)
    left, right = points[JAW_LEFT, 0], points[JAW_RIGHT, 0]
    width = right - left
    if width <= 0:
        return 0.0
    return float(2.0 * (points[NOSE_TIP, 0] - left) / width - 1.0)


def blink_seen(ears: Sequence[float], policy: LivenessPolicy) -> bool:
    """True if the series goes open, then closed, then open again."""
    stage = 0  # 0: waiting for open eyes, 1: open seen, 2: closed seen
    for ear in ears:
        if stage == 0 and ear >= policy.open_ear:
            stage = 1
        elif stage == 1 and ear <= policy.closed_ear:
            stage = 2
        elif stage == 2 and ear >= policy.open_ear:
            return True
    return False


def check_liveness(
    frames: Sequence[LivenessFrame],
    challenge: Challenge,
    same_face_threshold: float,
    policy: LivenessPolicy | None = None,
) -> LivenessResult:
    """Accept the burst or raise LivenessFailed with a reason the person can act on."""
    policy = policy or LivenessPolicy()
    if not policy.min_frames <= len(frames) <= policy.max_frames:
        raise LivenessFailed(
            f"The check needs {policy.min_frames} to {policy.max_frames} frames, "
            f"got {len(frames)}. Please try again."
        )
    first = frames[0].template
    similarities = [first.similarity(frame.template) for frame in frames[1:]]
    lowest = min(similarities, default=1.0)
    if lowest < same_face_threshold:
        raise LivenessFailed(
            "The face changed during the check. Only one person may be in front of the camera."
        )
    if challenge is Challenge.BLINK:
        ears = [face_eye_aspect_ratio(frame.landmarks) for frame in frames]
        if not blink_seen(ears, policy):
            raise LivenessFailed("No blink was seen. Please look at the camera and blink once.")
    else:
        yaws = [yaw_ratio(frame.landmarks) for frame in frames]
        if max(yaws) - min(yaws) < policy.min_yaw_sweep:
            raise LivenessFailed(
                "No head turn was seen. Please turn your head slowly to one side and back."
            )
    return LivenessResult(
        challenge=challenge, frames=len(frames), min_same_face_similarity=round(lowest, 6)
    )


def _checked(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (LANDMARK_COUNT, 2):
        raise LivenessFailed(
            "This face engine gives no 68-point landmarks, so liveness cannot be checked."
        )
    return points
