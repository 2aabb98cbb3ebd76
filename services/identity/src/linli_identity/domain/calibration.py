"""Calibrating an engine on labelled faces (issue #19): what `linli-identity evaluate` reports.

- **Pairs.** Every two templates of one person are a genuine pair, of two people an impostor
  pair (or the pairs a CSV names). Their cosine similarities are the two distributions.
- **FAR / FRR.** At a threshold t, FAR is the share of impostor pairs scoring at least t and
  FRR the share of genuine pairs scoring below it.
- **The verification threshold** for a target FAR is the smallest t whose measured FAR is at
  or under it. With M impostor pairs a FAR below 1/M cannot be seen: the report says so.
- **The FAR curve** is the measured tail of the impostor scores as (t, FAR) points, from 5 %
  down to 1/M, as the open-set rule reads them (`domain.openset`); past the last point the
  rule extrapolates.
- **Open-set rates** for a gallery of N: the threshold the rule sets for N, the FPIR the
  formula 1 − (1 − FAR(t))^N predicts there, and where the data have more than N people,
  the measured ones: a stranger (a person left out of the gallery) named as someone in a
  gallery of N others, and an enrolled person (one photo in the gallery, another as the
  probe) named as someone else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from linli_identity.domain.openset import FarCurve, OpenSetRule, fpir

# Impostor pairs beyond this are sampled (a 10,000-photo set has 50 million).
MAX_IMPOSTOR_PAIRS = 2_000_000
GRID_STEP = 0.01


@dataclass(frozen=True)
class PairScores:
    """Similarities of genuine and impostor pairs."""

    genuine: np.ndarray
    impostor: np.ndarray

    def far(self, threshold: float) -> float:
        """Share of impostor pairs at or above the threshold."""
        return float(np.mean(self.impostor >= threshold)) if self.impostor.size else 0.0

    def frr(self, threshold: float) -> float:
        """Share of genuine pairs below the threshold."""
        return float(np.mean(self.genuine < threshold)) if self.genuine.size else 0.0

    def grid(self) -> list[float]:
        """Thresholds every GRID_STEP over the range the scores cover."""
        both = np.concatenate([self.genuine, self.impostor])
        low = math.floor(float(both.min()) / GRID_STEP) * GRID_STEP
        steps = round((1.0 - low) / GRID_STEP)
        return [round(low + GRID_STEP * n, 2) for n in range(steps + 1)]

    def threshold_for_far(self, target: float) -> float:
        """The smallest threshold (to 0.001) whose measured FAR is at most the target."""
        ranked = np.sort(self.impostor)[::-1]
        allowed = int(target * ranked.size)  # impostor pairs that may score at or above it
        if allowed >= ranked.size:
            return round(float(ranked[-1]), 3)
        # Just above the first impostor score that must stay below the threshold.
        return math.floor(float(ranked[allowed]) * 1000 + 1) / 1000

    def far_curve(self) -> FarCurve | None:
        """The measured tail of the impostor scores as (t, FAR) points; None if too few.

        The k-th highest impostor score t_k has FAR(t_k) = k / M (M impostor pairs), read at
        k = 1, 2, 5, 10, 20, 50 … up to 5 % of M: down to the smallest FAR the data can show.
        """
        ranked = np.sort(self.impostor)[::-1]
        points: dict[float, float] = {}
        for k in _one_two_five(max(1, int(0.05 * ranked.size))):
            threshold = round(float(ranked[k - 1]), 4)
            points.setdefault(threshold, self.far(threshold))
        kept = sorted((t, far) for t, far in points.items() if far > 0)
        # Ties can make two thresholds share one rate: keep the curve strictly falling.
        falling = [p for n, p in enumerate(kept) if n == 0 or p[1] < kept[n - 1][1]]
        return FarCurve(tuple(falling)) if len(falling) >= 2 else None


def _one_two_five(limit: int) -> list[int]:
    """1, 2, 5, 10, 20, 50 … up to the limit."""
    found, decade = [], 1
    while decade <= limit:
        found += [step * decade for step in (1, 2, 5) if step * decade <= limit]
        decade *= 10
    return found


def pair_scores(
    templates: np.ndarray, labels: Sequence[str], rng: np.random.Generator
) -> PairScores:
    """Genuine and impostor similarities of every pair of unit templates (impostors sampled)."""
    labels_array = np.asarray(labels)
    scores = templates @ templates.T
    upper = np.triu_indices(len(labels), k=1)
    same = labels_array[upper[0]] == labels_array[upper[1]]
    values = scores[upper]
    impostor = values[~same]
    if impostor.size > MAX_IMPOSTOR_PAIRS:
        impostor = rng.choice(impostor, MAX_IMPOSTOR_PAIRS, replace=False)
    return PairScores(genuine=values[same], impostor=impostor)


@dataclass(frozen=True)
class OpenSetRates:
    """What a gallery of N people does at the rule's threshold for N."""

    gallery_size: int
    threshold: float
    predicted_fpir: float
    # Measured rates, None where the data have too few people for a gallery of N.
    stranger_named: float | None
    enrolled_misnamed: float | None
    trials: int


def open_set_rates(
    templates: np.ndarray,
    labels: Sequence[str],
    rule: OpenSetRule,
    sizes: Sequence[int],
    rng: np.random.Generator,
    trials: int = 500,
) -> list[OpenSetRates]:
    """The predicted and (where possible) measured open-set rates for each gallery size."""
    labels_array = np.asarray(labels)
    people = sorted(set(labels))
    rows = {person: np.flatnonzero(labels_array == person) for person in people}
    repeated = [p for p in people if len(rows[p]) >= 2]
    found = []
    for size in sizes:
        threshold = rule.threshold_for(size)
        predicted = fpir(rule.far_curve.far_at(threshold), size)
        stranger = misnamed = None
        if len(people) > size:
            stranger = _stranger_rate(templates, people, rows, size, threshold, trials, rng)
        if repeated and len(people) >= size:
            misnamed = _misnamed_rate(
                templates, people, rows, repeated, size, threshold, trials, rng
            )
        found.append(OpenSetRates(size, threshold, predicted, stranger, misnamed, trials))
    return found


def _stranger_rate(
    templates: np.ndarray,
    people: list[str],
    rows: dict[str, np.ndarray],
    size: int,
    threshold: float,
    trials: int,
    rng: np.random.Generator,
) -> float:
    named = 0
    for _ in range(trials):
        chosen = rng.choice(len(people), size + 1, replace=False)
        probe_person, gallery = people[chosen[0]], [people[i] for i in chosen[1:]]
        probe = templates[rng.choice(rows[probe_person])]
        enrolled = templates[[rng.choice(rows[p]) for p in gallery]]
        named += bool((enrolled @ probe).max() >= threshold)
    return named / trials


def _misnamed_rate(
    templates: np.ndarray,
    people: list[str],
    rows: dict[str, np.ndarray],
    repeated: list[str],
    size: int,
    threshold: float,
    trials: int,
    rng: np.random.Generator,
) -> float:
    wrong = 0
    for _ in range(trials):
        person = repeated[rng.integers(len(repeated))]
        probe_row, enrolled_row = rng.choice(rows[person], 2, replace=False)
        others = [p for p in people if p != person]
        gallery = [others[i] for i in rng.choice(len(others), size - 1, replace=False)]
        enrolled = templates[[enrolled_row, *(rng.choice(rows[p]) for p in gallery)]]
        scores = enrolled @ templates[probe_row]
        best = int(np.argmax(scores))
        wrong += bool(best != 0 and scores[best] >= threshold)
    return wrong / trials
