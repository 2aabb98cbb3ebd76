"""Open-set identification (A1, issue #19): name a face among N candidates, or nobody.

1:1 verification asks "is this resident X?"; a kiosk asks "which of these N people is it, if
any?", and every extra candidate is one more chance to name the wrong one. The rule:

- **Only the people expected.** The face is compared with the enrolled candidates the caller
  names (the kiosk's occurrence roster), never the whole community; N is how many of them are
  enrolled.
- **A threshold from N.** FAR(t) is the per-pair false-accept rate: the share of impostor
  pairs scoring at least t, measured on labelled faces by `linli-identity evaluate` (the
  `far_curve` setting). A stranger facing N enrolled impostors is named if any of them
  scores at least t; with independent scores that happens with probability
  FPIR(N, t) = 1 − (1 − FAR(t))^N. To keep FPIR at or under `target_fpir`, t is the smallest
  threshold with FAR(t) ≤ 1 − (1 − target_fpir)^(1/N) (about target_fpir / N), read off the
  curve (log-linear between its points, and beyond its last one), never below the 1:1
  verification threshold.
- **A margin.** The best candidate must beat the second-best by `margin`: two residents who
  look alike to the model are a close call, not a finding.
- **Agreement across the burst.** At least `agreement` of the burst's frames must have the
  same best candidate as the burst's mean.
- **Outcomes.** Below the verification threshold the face is nobody's (a stranger, refused).
  At or above the identification threshold, with the margin and the agreement: identified.
  Anything between is a close call: the best candidate is named as needing staff
  confirmation, never as identified.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from linli_kit.errors import InvalidArgument

MAX_CANDIDATES = 1000


class Outcome(StrEnum):
    """What an identification decided about the best candidate."""

    IDENTIFIED = "identified"
    NEEDS_CONFIRMATION = "needs_confirmation"
    NOBODY = "nobody"


def allowed_far(target_fpir: float, gallery_size: int) -> float:
    """The per-pair FAR that keeps the false-identification rate at `target_fpir` over N."""
    if gallery_size < 1:
        raise InvalidArgument("a gallery has at least one candidate")
    # 1 − (1 − target)^(1/N), computed without cancellation for small targets.
    return -math.expm1(math.log1p(-target_fpir) / gallery_size)


def fpir(far: float, gallery_size: int) -> float:
    """The false-identification rate over N impostors of per-pair FAR `far`."""
    return -math.expm1(gallery_size * math.log1p(-far)) if far < 1 else 1.0


@dataclass(frozen=True)
class FarCurve:
    """Per-pair false-accept rates measured at rising thresholds: (threshold, FAR) points."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise InvalidArgument("a FAR curve needs at least two (threshold, FAR) points")
        thresholds = [t for t, _ in self.points]
        rates = [far for _, far in self.points]
        if thresholds != sorted(set(thresholds)):
            raise InvalidArgument("a FAR curve's thresholds must rise")
        if any(not 0 < far <= 1 for far in rates) or rates != sorted(rates, reverse=True):
            raise InvalidArgument("a FAR curve's rates must be in (0, 1] and never rise")

    def threshold_for(self, far: float) -> float:
        """The smallest threshold whose FAR is at most `far` (log-linear; extrapolated)."""
        points = self.points
        if far >= points[0][1]:
            return points[0][0]
        log_far = math.log(far)
        for (t0, f0), (t1, f1) in itertools.pairwise(points):
            if f1 <= far:
                return _along(t0, math.log(f0), t1, math.log(f1), log_far)
        (t0, f0), (t1, f1) = points[-2], points[-1]
        if f0 == f1:
            return 1.0
        # Past the last measured point, the curve's last slope goes on (capped at 1).
        return min(1.0, _along(t0, math.log(f0), t1, math.log(f1), log_far))

    def far_at(self, threshold: float) -> float:
        """The per-pair FAR at a threshold: log-linear between points and past the last one
        (as threshold_for reads the curve), the first point's rate below it."""
        points = self.points
        if threshold <= points[0][0]:
            return points[0][1]
        segment = next(
            (pair for pair in itertools.pairwise(points) if threshold <= pair[1][0]),
            (points[-2], points[-1]),
        )
        (t0, f0), (t1, f1) = segment
        share = (threshold - t0) / (t1 - t0)
        return math.exp(math.log(f0) + share * (math.log(f1) - math.log(f0)))


def _along(t0: float, y0: float, t1: float, y1: float, y: float) -> float:
    return t0 + (y - y0) * (t1 - t0) / (y1 - y0)


@dataclass(frozen=True)
class OpenSetRule:
    """The open-set decision's settings for one engine (and optionally one community)."""

    verification_threshold: float
    far_curve: FarCurve
    target_fpir: float = 0.001
    margin: float = 0.02
    agreement: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.target_fpir < 1:
            raise InvalidArgument("target_fpir must be between 0 and 1")
        if not 0 <= self.margin < 1 or not 0 < self.agreement <= 1:
            raise InvalidArgument("margin must be in [0, 1) and agreement in (0, 1]")

    def threshold_for(self, gallery_size: int) -> float:
        """The identification threshold for N enrolled candidates (module rules)."""
        bar = self.far_curve.threshold_for(allowed_far(self.target_fpir, gallery_size))
        # Rounded up, so the rounding never lets the rate over its target.
        return math.ceil(round(max(self.verification_threshold, bar) * 1e6, 3)) / 1e6

    def decide(self, mean_scores: np.ndarray, frame_scores: np.ndarray) -> OpenSetDecision:
        """Decide on one burst: its mean's scores (N,) and each frame's scores (frames, N)."""
        scores = np.asarray(mean_scores, dtype=np.float64).reshape(-1)
        size = int(scores.size)
        threshold = self.threshold_for(size)
        order = np.argsort(-scores, kind="stable")
        best = int(order[0])
        second = float(scores[order[1]]) if size > 1 else -1.0
        per_frame = np.argmax(np.atleast_2d(frame_scores), axis=1)
        agreeing = int(np.count_nonzero(per_frame == best))
        similarity = float(scores[best])
        if similarity < self.verification_threshold:
            outcome = Outcome.NOBODY
        elif (
            similarity >= threshold
            and similarity - second >= self.margin
            and agreeing >= math.ceil(self.agreement * len(per_frame))
        ):
            outcome = Outcome.IDENTIFIED
        else:
            outcome = Outcome.NEEDS_CONFIRMATION
        return OpenSetDecision(
            best=best,
            outcome=outcome,
            similarity=round(similarity, 6),
            second_similarity=round(second, 6),
            threshold=threshold,
            rule=self,
            gallery_size=size,
            agreeing_frames=agreeing,
            frames=len(per_frame),
        )


@dataclass(frozen=True)
class OpenSetDecision:
    """One identification's outcome and the evidence: scores, bars, margin, frames."""

    best: int
    outcome: Outcome
    similarity: float
    second_similarity: float
    threshold: float
    rule: OpenSetRule
    gallery_size: int
    agreeing_frames: int
    frames: int


def checked_candidates(candidates: Sequence[str]) -> tuple[str, ...]:
    """The distinct candidates in order, 1 to MAX_CANDIDATES of them, or refused."""
    distinct = tuple(dict.fromkeys(candidates))
    if not 1 <= len(distinct) <= MAX_CANDIDATES:
        raise InvalidArgument(
            f"identification needs 1 to {MAX_CANDIDATES} candidates (the people expected), "
            f"not {len(distinct)}"
        )
    return distinct


# The dlib engine's per-pair FAR curve until the operator measures their own with `evaluate`:
# anchored at the rate measured on ~12,800 real photos of 5,616 people through this engine
# (0.075 % of impostor pairs at 0.93, issue #19), with the tail's slope measured here on the
# 90 detectable faces of scikit-image's LFW subset (about 0.45 decades per 0.01 of similarity
# between 0.92 and 0.96). It is a shipped default, not a calibration of anyone's cameras.
DLIB_FAR_CURVE = FarCurve(
    (
        (0.90, 1.7e-2),
        (0.92, 2.1e-3),
        (0.93, 7.5e-4),
        (0.94, 2.7e-4),
        (0.95, 9.5e-5),
        (0.96, 3.4e-5),
        (0.97, 1.2e-5),
        (0.98, 4.2e-6),
    )
)
DEFAULT_RULES = {"dlib": OpenSetRule(0.93, DLIB_FAR_CURVE, target_fpir=0.01, margin=0.02)}


@dataclass(frozen=True)
class OpenSetBook:
    """The open-set rule of each engine, and of an engine in one community where set."""

    rules: Mapping[str, OpenSetRule]

    def rule(self, engine: str, community_id: str) -> OpenSetRule:
        """The rule for `engine/community`, else for the engine, else the shipped default."""
        for key in (f"{engine}/{community_id}", engine):
            if key in self.rules:
                return self.rules[key]
        if engine in DEFAULT_RULES:
            return DEFAULT_RULES[engine]
        raise InvalidArgument(
            f"no identification thresholds for the {engine} engine: run `linli-identity "
            "evaluate` on labelled faces and set LINLI_IDENTITY_FACE_THRESHOLDS"
        )
