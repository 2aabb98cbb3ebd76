"""`linli-identity evaluate DIR`: an engine's score distributions on labelled faces, and the
thresholds to configure (issue #19; the rules are in `domain.calibration`)."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linli_identity.domain.calibration import PairScores, open_set_rates, pair_scores
from linli_identity.domain.face import FaceError
from linli_identity.domain.openset import OpenSetRule, allowed_far
from linli_identity.service_layer.face_port import FaceEngine

# LFW's convention: Firstname_Lastname_0001.jpg, the person's name before the last "_NNNN".
LABELLED = re.compile(r"^(?P<person>.+)_(?P<number>\d+)$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MAX_IMAGES = 20_000


@dataclass(frozen=True)
class Faces:
    """The templates the engine made from the folder's images, with each one's person."""

    paths: list[Path]
    labels: list[str]
    templates: np.ndarray
    refused: list[tuple[Path, str]]


def labelled_images(folder: Path) -> list[tuple[Path, str]]:
    """Every `Name_NNNN.<image>` under the folder (sub-folders too) with its person's name."""
    found = []
    for path in sorted(folder.rglob("*")):
        match = LABELLED.match(path.stem)
        if path.suffix.lower() in IMAGE_SUFFIXES and match:
            found.append((path, match["person"]))
    return found


def encode(images: Sequence[tuple[Path, str]], engine: FaceEngine) -> Faces:
    """Templates of the images the engine accepts; the others with the engine's reason."""
    kept, labels, vectors, refused = [], [], [], []
    for path, person in images:
        try:
            face = engine.analyse(path.read_bytes())
        except FaceError as exc:
            refused.append((path, str(exc)))
            continue
        kept.append(path)
        labels.append(person)
        vectors.append(face.template.vector)
    templates = np.stack(vectors) if vectors else np.zeros((0, engine.dimension), np.float32)
    return Faces(kept, labels, templates, refused)


def csv_pair_scores(pairs_file: Path, folder: Path, faces: Faces) -> PairScores:
    """Scores of the pairs a CSV names: columns left, right (paths under DIR) and same (1/0)."""
    row_of = {path.resolve(): n for n, path in enumerate(faces.paths)}
    genuine: list[float] = []
    impostor: list[float] = []
    with pairs_file.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                left, right = (row_of.get((folder / row[k]).resolve()) for k in ("left", "right"))
                same = row["same"].strip() in ("1", "true", "yes")
            except (KeyError, AttributeError):
                raise SystemExit(f"{pairs_file}:{line}: needs columns left, right, same") from None
            if left is None or right is None:
                continue  # an image the engine refused (listed above) or not in the folder
            score = float(faces.templates[left] @ faces.templates[right])
            (genuine if same else impostor).append(score)
    return PairScores(np.array(genuine), np.array(impostor))


def report(
    faces: Faces,
    scores: PairScores,
    engine: FaceEngine,
    args: argparse.Namespace,
    out: Callable[[str], None],
) -> int:
    """Print the distributions, the FAR/FRR table, open-set rates and the settings; exit code."""
    people = len(set(faces.labels))
    out(
        f"{len(faces.paths)} images of {people} people through {engine.name} "
        f"({engine.model_version}); {len(faces.refused)} refused"
    )
    for path, why in faces.refused:
        out(f"  refused {path.name}: {why}")
    for name, values in (("genuine", scores.genuine), ("impostor", scores.impostor)):
        out(f"{name} pairs: {_summary(values)}")
    if not scores.genuine.size or not scores.impostor.size:
        out("error: need genuine and impostor pairs (two or more people, some with two photos)")
        return 2
    out("threshold  FAR         FRR")
    for t in scores.grid():
        far, frr = scores.far(t), scores.frr(t)
        if far < 1 and frr < 1:
            out(f"{t:9.2f}  {far:.6f}    {frr:.4f}")
    curve = scores.far_curve()
    if curve is None:
        out("error: fewer than two thresholds with a measurable FAR under 5 %: more faces needed")
        return 2
    measured = scores.threshold_for_far(args.target_far)
    smallest = 1 / scores.impostor.size
    verification = measured
    note = f"measured on {scores.impostor.size} impostor pairs"
    if args.target_far < smallest:
        verification = round(curve.threshold_for(args.target_far), 3)
        note = (
            f"extrapolated from the FAR curve: {scores.impostor.size} impostor pairs cannot "
            f"show a FAR under {smallest:.2g}"
        )
    out(
        f"verification threshold for FAR <= {args.target_far:g}: {verification:.3f} "
        f"(FRR {scores.frr(verification):.2%}; {note})"
    )
    rule = OpenSetRule(verification, curve, args.target_fpir, args.margin, args.agreement)
    out(
        f"open-set identification, target FPIR {args.target_fpir:g}, margin {args.margin:g}: "
        "threshold = the smallest t with FAR(t) <= 1 - (1 - target)^(1/N)"
    )
    out("gallery  threshold  predicted FPIR  stranger named  enrolled misnamed  genuine refused")
    rng = np.random.default_rng(args.seed)
    extrapolated = False
    for rates in open_set_rates(faces.templates, faces.labels, rule, args.gallery_sizes, rng):
        beyond = allowed_far(args.target_fpir, rates.gallery_size) < smallest
        extrapolated |= beyond
        out(
            f"{rates.gallery_size:7d}  {rates.threshold:9.3f}{'*' if beyond else ' '} "
            f"{rates.predicted_fpir:14.4%}  {_rate(rates.stranger_named):>14}  "
            f"{_rate(rates.enrolled_misnamed):>17}  {scores.frr(rates.threshold):15.2%}"
        )
    if extrapolated:
        out(
            f"* the FAR this gallery needs is under {smallest:.2g}, the least "
            f"{scores.impostor.size} impostor pairs can show: its threshold is extrapolated "
            "from the curve's tail (more people make it measured)"
        )
    key = f"{engine.name}/{args.community}" if args.community else engine.name
    setting = {
        "verification_threshold": verification,
        "far_curve": [[t, float(f"{far:.3g}")] for t, far in curve.points],
        "target_fpir": args.target_fpir,
        "margin": args.margin,
        "agreement": args.agreement,
    }
    out("settings to use (merge with other engines' or communities' entries):")
    out(f"LINLI_IDENTITY_FACE_THRESHOLDS='{json.dumps({key: setting})}'")
    return 0


def _summary(values: np.ndarray) -> str:
    if not values.size:
        return "0"
    p = np.percentile(values, [1, 5, 50, 95, 99])
    return (
        f"{values.size}  mean {values.mean():.3f}  sd {values.std():.3f}  min {values.min():.3f}  "
        f"p1 {p[0]:.3f}  p5 {p[1]:.3f}  p50 {p[2]:.3f}  p95 {p[3]:.3f}  p99 {p[4]:.3f}  "
        f"max {values.max():.3f}"
    )


def _rate(value: float | None) -> str:
    return "n/a (too few)" if value is None else f"{value:.2%}"


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "gallery sizes are whole numbers, e.g. 10,100,1000"
        ) from None
    if any(not 1 <= size <= 100_000 for size in sizes):
        raise argparse.ArgumentTypeError("gallery sizes are 1 to 100,000")
    return sizes


EngineRecipe = Callable[[str, Path | None], Callable[[], FaceEngine]]


def main(argv: list[str], engine_recipe: EngineRecipe, out: Callable[[str], None] = print) -> None:
    """Run `evaluate` with the command's arguments on an engine built by `engine_recipe`."""
    parser = argparse.ArgumentParser(
        prog="linli-identity evaluate",
        description="Score every pair of a folder of labelled faces (Name_NNNN.jpg, as LFW "
        "names them, or the pairs of --pairs) through an engine; print the genuine and "
        "impostor distributions, FAR/FRR by threshold, the threshold for a target FAR, "
        "open-set false-identification rates per gallery size, and the settings to use.",
    )
    parser.add_argument("folder", type=Path, help="a folder of Name_NNNN.jpg images")
    parser.add_argument("--pairs", type=Path, help="a CSV of left,right,same rows")
    parser.add_argument("--engine", choices=("dlib", "insightface"), default="dlib")
    parser.add_argument("--model-dir", type=Path, help="the insightface model pack")
    parser.add_argument("--target-far", type=float, default=0.001, help="per pair (1:1)")
    parser.add_argument("--target-fpir", type=float, default=0.01, help="strangers named (1:N)")
    parser.add_argument("--margin", type=float, default=0.02, help="best over second-best")
    parser.add_argument("--agreement", type=float, default=0.8, help="share of burst frames")
    parser.add_argument("--gallery-sizes", type=_sizes, default=[10, 50, 100, 300, 1000])
    parser.add_argument("--community", default="", help="name the settings for one community")
    parser.add_argument("--seed", type=int, default=19, help="for the sampled galleries")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    images = labelled_images(args.folder)
    if not images:
        parser.error(f"no Name_NNNN.jpg images in {args.folder}")
    if len(images) > MAX_IMAGES:
        parser.error(f"{len(images)} images: at most {MAX_IMAGES} in one run")
    try:
        engine = engine_recipe(args.engine, args.model_dir)()
    except (ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    faces = encode(images, engine)
    rng = np.random.default_rng(args.seed)
    if args.pairs:
        scores = csv_pair_scores(args.pairs, args.folder, faces)
    else:
        scores = pair_scores(faces.templates, faces.labels, rng)
    code = report(faces, scores, engine, args, out)
    if code:
        sys.exit(code)
