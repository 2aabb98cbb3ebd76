"""The open-set rule on controlled score distributions: false identifications stay under target.

Impostor similarities are drawn from a known normal distribution (mean 0.80, sd 0.04, about
what dlib gives unrelated faces), so the per-pair FAR curve is known exactly at every point;
the rule only sees it at a few points, as `evaluate` would measure it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from linli_identity.domain.openset import (
    FarCurve,
    OpenSetBook,
    OpenSetRule,
    Outcome,
    allowed_far,
    checked_candidates,
    fpir,
)
from linli_kit.errors import InvalidArgument

MEAN, SD = 0.80, 0.04
TRIALS = 20_000


def exact_far(threshold: float) -> float:
    """P(impostor score >= threshold) for the normal impostor distribution."""
    return 0.5 * math.erfc((threshold - MEAN) / (SD * math.sqrt(2)))


# As `evaluate` would print it: the FAR at every 0.01 from 0.85 to 0.99.
CURVE = FarCurve(tuple((t, exact_far(t)) for t in np.round(np.arange(0.85, 1.0, 0.01), 2)))
RULE = OpenSetRule(0.85, CURVE, target_fpir=0.01, margin=0.02, agreement=0.8)


@pytest.mark.parametrize("size", [10, 50, 100, 300, 1000])
def test_strangers_are_named_at_most_at_the_target_rate_for_galleries_of_10_to_1000(
    size: int,
) -> None:
    rng = np.random.default_rng(size)
    threshold = RULE.threshold_for(size)

    best_impostor = rng.normal(MEAN, SD, (TRIALS, size)).max(axis=1)
    named = float(np.mean(best_impostor >= threshold))

    # Under the target (with three standard errors of sampling room), and not so far under
    # that the threshold is simply set out of reach.
    sampling = 3 * math.sqrt(RULE.target_fpir * (1 - RULE.target_fpir) / TRIALS)
    assert named <= RULE.target_fpir + sampling
    assert fpir(exact_far(threshold), size) >= RULE.target_fpir / 3
    assert named >= RULE.target_fpir / 4


def test_the_threshold_rises_with_the_gallery_and_follows_the_formula() -> None:
    thresholds = [RULE.threshold_for(n) for n in (1, 10, 100, 1000)]

    assert thresholds == sorted(thresholds) and thresholds[0] < thresholds[-1]
    # FAR(t) <= 1 - (1 - target)^(1/N), about target / N.
    assert allowed_far(0.01, 100) == pytest.approx(1 - 0.99 ** (1 / 100))
    assert allowed_far(0.01, 100) == pytest.approx(0.01 / 100, rel=0.01)
    assert CURVE.far_at(RULE.threshold_for(100)) <= allowed_far(0.01, 100) * 1.0001
    # Never below the 1:1 verification threshold, however small the gallery.
    loose = OpenSetRule(0.95, CURVE, target_fpir=0.5)
    assert loose.threshold_for(1) == 0.95


def test_past_the_last_measured_point_the_curve_is_extrapolated() -> None:
    short = FarCurve(((0.9, 1e-3), (0.95, 1e-4)))

    assert short.threshold_for(1e-5) == pytest.approx(1.0)
    assert short.threshold_for(10**-4.5) == pytest.approx(0.975)
    assert short.threshold_for(0.5) == 0.9


def _frames(scores: list[float], frames: int = 5) -> tuple[np.ndarray, np.ndarray]:
    mean = np.array(scores)
    return mean, np.tile(mean, (frames, 1))


def test_a_clear_best_is_identified() -> None:
    decision = RULE.decide(*_frames([0.99, 0.90, 0.80]))

    assert decision.outcome is Outcome.IDENTIFIED and decision.best == 0
    assert (decision.gallery_size, decision.second_similarity) == (3, 0.9)
    assert (decision.agreeing_frames, decision.frames) == (5, 5)


def test_a_close_best_and_second_pair_is_refused_for_staff_to_confirm() -> None:
    decision = RULE.decide(*_frames([0.80, 0.99, 0.985]))

    assert decision.outcome is Outcome.NEEDS_CONFIRMATION and decision.best == 1
    assert decision.similarity - decision.second_similarity < RULE.margin


def test_below_the_identification_threshold_is_a_close_call_below_verification_nobody() -> None:
    size = 1000
    between = (RULE.verification_threshold + RULE.threshold_for(size)) / 2
    scores = [between] + [0.5] * (size - 1)

    assert RULE.decide(*_frames(scores)).outcome is Outcome.NEEDS_CONFIRMATION
    assert RULE.decide(*_frames([0.84] + [0.5] * 9)).outcome is Outcome.NOBODY


def test_frames_that_disagree_are_a_close_call() -> None:
    mean = np.array([0.99, 0.90])
    frames = np.array([[0.99, 0.9], [0.99, 0.9], [0.9, 0.99], [0.9, 0.99], [0.99, 0.9]])

    decision = RULE.decide(mean, frames)

    assert decision.outcome is Outcome.NEEDS_CONFIRMATION and decision.agreeing_frames == 3


def test_bad_settings_and_candidates_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="never rise"):
        FarCurve(((0.9, 1e-4), (0.95, 1e-3)))
    with pytest.raises(InvalidArgument, match="rise"):
        FarCurve(((0.95, 1e-3), (0.9, 1e-4)))
    with pytest.raises(InvalidArgument, match="1 to 1000 candidates"):
        checked_candidates([])
    with pytest.raises(InvalidArgument, match="1 to 1000 candidates"):
        checked_candidates([f"r{n}" for n in range(1001)])
    assert checked_candidates(["r1", "r2", "r1"]) == ("r1", "r2")
    with pytest.raises(InvalidArgument, match="insightface"):
        OpenSetBook({}).rule("insightface", "c-east")
