"""Face benchmarks: dlib encode time per face, 1:N identify latency (python bench/bench_face.py).

Search uses synthetic random 128-d templates; a naive per-row Python loop over 10k rows,
measured in the same run, is the baseline for the matrix-vector search.
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

PROBES = 300
BASELINE_PROBES = 30


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


def probes_near(vectors: np.ndarray, count: int, rng: np.random.Generator) -> list[FaceTemplate]:
    """Noisy copies of enrolled vectors, as a second capture of an enrolled face would be."""
    picks = vectors[rng.integers(0, len(vectors), count)]
    noisy = picks + rng.normal(scale=0.2, size=picks.shape).astype(np.float32)
    return [FaceTemplate(v, "bench", "v1") for v in noisy]


def bench_identify(gallery: Gallery, probes: list[FaceTemplate]) -> list[float]:
    """Seconds per Gallery.identify call."""
    gallery.identify(probes[0], 0.9)  # warm-up: BLAS starts its threads on first use
    times = []
    for probe in probes:
        start = time.perf_counter()
        gallery.identify(probe, 0.9)
        times.append(time.perf_counter() - start)
    return times


def bench_naive(vectors: np.ndarray, probes: list[FaceTemplate]) -> tuple[list[float], list[str]]:
    """Seconds per search done the naive way (a Python loop row by row), and its answers."""
    rows = [v / np.linalg.norm(v) for v in vectors]
    times, answers = [], []
    for probe in probes:
        start = time.perf_counter()
        best, best_score = -1, -2.0
        for i, row in enumerate(rows):
            score = float(np.dot(row, probe.vector))
            if score > best_score:
                best, best_score = i, score
        times.append(time.perf_counter() - start)
        answers.append(f"r{best}")
    return times, answers


def main() -> None:
    """Run every benchmark and print one table."""
    rng = np.random.default_rng(0)
    rows = [("dlib analyse, 1 face, 224 px", bench_encode())]
    gallery_10k, vectors_10k = build_gallery(10_000, rng)
    probes = probes_near(vectors_10k, PROBES, rng)
    rows.append(("identify 10k (matrix)", bench_identify(gallery_10k, probes)))
    naive_times, naive_answers = bench_naive(vectors_10k, probes[:BASELINE_PROBES])
    # Same answers, or the comparison would not be fair.
    for probe, answer in zip(probes, naive_answers, strict=False):
        assert gallery_10k.identify(probe, -1.0).resident_id == answer
    rows.append(("identify 10k (naive loop)", naive_times))
    gallery_100k, vectors_100k = build_gallery(100_000, rng)
    rows.append(
        (
            "identify 100k (matrix)",
            bench_identify(gallery_100k, probes_near(vectors_100k, PROBES, rng)),
        )
    )
    print(f"{'benchmark':<32}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}")
    for name, times in rows:
        p50, p99 = percentile_ms(times, 50), percentile_ms(times, 99)
        print(f"{name:<32}{len(times):>6}{p50:>10.3f}{p99:>10.3f}")
    matrix, naive = statistics.median(rows[1][1]), statistics.median(rows[2][1])
    print(f"naive loop / matrix search at 10k rows (p50): {naive / matrix:.0f}x")


if __name__ == "__main__":
    main()
