"""Face benchmarks: dlib encode time per face, open-set search latency (python bench/bench_face.py).

A kiosk's burst (a probe and its frames) is scored against the people expected at the
occurrence (up to MAX_CANDIDATES) in a community's gallery of 10k or 100k synthetic random
128-d templates; a naive per-row Python loop over the same candidates, measured in the same
run, is the baseline for the matrix search.
"""

from __future__ import annotations

import importlib.util
import io
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from linli_identity.adapters.face_dlib import DlibFaceEngine
from linli_identity.adapters.gallery import Gallery
from linli_identity.domain.face import FaceTemplate
from linli_identity.domain.openset import MAX_CANDIDATES

PROBES = 300
BASELINE_PROBES = 30
FRAMES = 8  # a kiosk's burst: the probe and the frames it checks liveness with


def percentile_ms(samples: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(samples, q) * 1000.0)


def sample_face() -> bytes:
    """A one-face photo: insightface's Tom Hanks sample, or a skip if the dev wheel is absent."""
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("insightface (dev dependency) is needed for its sample face image")
    path = Path(next(iter(spec.submodule_search_locations))) / "data/images/Tom_Hanks_54745.png"
    image = Image.open(path).convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def bench_encode(rounds: int = 30) -> list[float]:
    """Seconds per analyse() (decode, detect, landmarks, encode) of one 224 px face photo."""
    engine = DlibFaceEngine()
    data = sample_face()
    engine.analyse(data)  # warm-up: first call pays lazy allocations
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        engine.analyse(data)
        times.append(time.perf_counter() - start)
    return times


def build_gallery(rows: int, rng: np.random.Generator) -> tuple[Gallery, np.ndarray]:
    """A gallery of `rows` random unit templates, and the raw vectors."""
    vectors = rng.normal(size=(rows, 128)).astype(np.float32)
    gallery = Gallery("bench", "v1", 128)
    for i, vector in enumerate(vectors):
        gallery.add(f"r{i}", FaceTemplate(vector, "bench", "v1"))
    return gallery, vectors


def bursts_near(
    vectors: np.ndarray, expected: list[int], count: int, rng: np.random.Generator
) -> list[list[FaceTemplate]]:
    """Bursts of noisy copies of an expected person's vector, as a kiosk's capture would be."""
    picks = vectors[rng.choice(expected, count)]
    bursts = []
    for pick in picks:
        noisy = pick + rng.normal(scale=0.2, size=(FRAMES, pick.size)).astype(np.float32)
        bursts.append([FaceTemplate(v, "bench", "v1") for v in noisy])
    return bursts


def bench_compare(
    gallery: Gallery, bursts: list[list[FaceTemplate]], candidates: list[str]
) -> tuple[list[float], list[str]]:
    """Seconds per Gallery.compare of a burst with the candidates, and each probe's best."""
    gallery.compare(bursts[0], candidates)  # warm-up: BLAS starts its threads on first use
    times, answers = [], []
    for burst in bursts:
        start = time.perf_counter()
        enrolled, scores = gallery.compare(burst, candidates)
        times.append(time.perf_counter() - start)
        answers.append(enrolled[int(np.argmax(scores[0]))])
    return times, answers


def bench_naive(
    vectors: np.ndarray, bursts: list[list[FaceTemplate]], expected: list[int]
) -> tuple[list[float], list[str]]:
    """Seconds per burst scored the naive way (a Python loop row by row), and each best."""
    rows = [vectors[i] / np.linalg.norm(vectors[i]) for i in expected]
    times, answers = [], []
    for burst in bursts:
        start = time.perf_counter()
        scores = [[float(np.dot(row, probe.vector)) for row in rows] for probe in burst]
        first = expected[int(np.argmax(scores[0]))]
        times.append(time.perf_counter() - start)
        answers.append(f"r{first}")
    return times, answers


def occurrence(
    rows: int, rng: np.random.Generator
) -> tuple[Gallery, np.ndarray, list[int], list[str], list[list[FaceTemplate]]]:
    """A gallery of `rows`, an occurrence's MAX_CANDIDATES expected people in it (row numbers
    and resident ids), and PROBES kiosk bursts of expected people."""
    gallery, vectors = build_gallery(rows, rng)
    expected = sorted(rng.choice(rows, MAX_CANDIDATES, replace=False).tolist())
    bursts = bursts_near(vectors, expected, PROBES, rng)
    return gallery, vectors, expected, [f"r{i}" for i in expected], bursts


def main() -> None:
    """Run every benchmark and print one table."""
    rng = np.random.default_rng(0)
    rows = [("dlib analyse, 1 face, 224 px", bench_encode())]
    label = f"compare {FRAMES} frames x {MAX_CANDIDATES} expected"
    gallery, vectors, expected, candidates, bursts = occurrence(10_000, rng)
    matrix_times, matrix_answers = bench_compare(gallery, bursts, candidates)
    rows.append((f"{label}, 10k (matrix)", matrix_times))
    naive_times, naive_answers = bench_naive(vectors, bursts[:BASELINE_PROBES], expected)
    # Same answers, or the comparison would not be fair.
    assert naive_answers == matrix_answers[:BASELINE_PROBES]
    rows.append((f"{label}, 10k (naive loop)", naive_times))
    gallery, _, _, candidates, bursts = occurrence(100_000, rng)
    rows.append((f"{label}, 100k (matrix)", bench_compare(gallery, bursts, candidates)[0]))
    print(f"{'benchmark':<52}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}")
    for name, times in rows:
        p50, p99 = percentile_ms(times, 50), percentile_ms(times, 99)
        print(f"{name:<52}{len(times):>6}{p50:>10.3f}{p99:>10.3f}")
    matrix, naive = statistics.median(rows[1][1]), statistics.median(rows[2][1])
    print(f"naive loop / matrix search at 10k rows (p50): {naive / matrix:.0f}x")


if __name__ == "__main__":
    main()
