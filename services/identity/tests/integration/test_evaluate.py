"""`linli-identity evaluate` on a folder made here from the insightface wheel's sample faces.

Seven real people (the six faces of `t1.jpg` and `Tom_Hanks_54745.png`), three pictures each:
the photo, a brighter copy and its mirror image, named as LFW names files (`Name_NNNN.jpg`).
Genuine pairs are therefore copies of one photo (optimistic); the test checks that the report
is consistent with itself and with the pairs it was given, and that its settings load.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from linli_identity.bootstrap import engine_recipe
from linli_identity.config import OpenSetSetting
from linli_identity.entrypoints import evaluate

PEOPLE, PICTURES = 7, 3
ROW = re.compile(r"^\s+(\d\.\d\d)\s+([\d.]+)\s+([\d.]+)$")


def _images() -> Path:
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("insightface (a dev dependency) is not installed: no sample faces")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "images"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import dlib

    group = Image.open(_images() / "t1.jpg").convert("RGB")
    rects = sorted(dlib.get_frontal_face_detector()(np.asarray(group), 0), key=lambda r: r.left())
    photos = {}
    for n, r in enumerate(rects):
        cx, cy, half = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2, r.width()
        photos[f"Group_Person_{n}"] = group.crop(
            (int(cx - half), int(cy - half), int(cx + half), int(cy + half))
        )
    photos["Tom_Hanks"] = Image.open(_images() / "Tom_Hanks_54745.png").convert("RGB")
    made = tmp_path_factory.mktemp("labelled")
    for name, photo in photos.items():
        photo = photo.resize((224, 224), Image.Resampling.BICUBIC)
        views = (photo, ImageEnhance.Brightness(photo).enhance(1.2), ImageOps.mirror(photo))
        for number, view in enumerate(views, start=1):
            view.save(made / f"{name}_{number:04d}.jpg", quality=92)
    return made


def _run(argv: list[str]) -> list[str]:
    lines: list[str] = []
    evaluate.main(argv, engine_recipe, out=lines.append)
    return lines


@pytest.fixture(scope="module")
def report(folder: Path) -> list[str]:
    return _run([str(folder), "--gallery-sizes", "3,6,50", "--target-far", "0.01"])


def test_the_report_counts_every_pair_and_its_rates_agree(report: list[str]) -> None:
    text = "\n".join(report)
    genuine, impostor = PEOPLE * 3, PEOPLE * PICTURES * (PEOPLE * PICTURES - 1) // 2 - PEOPLE * 3

    assert report[0].startswith(f"{PEOPLE * PICTURES} images of {PEOPLE} people through dlib")
    assert f"genuine pairs: {genuine} " in text and f"impostor pairs: {impostor} " in text
    table = [tuple(map(float, m.groups())) for line in report if (m := ROW.match(line))]
    assert len(table) > 5
    thresholds, fars, frrs = zip(*table, strict=True)
    assert list(thresholds) == sorted(thresholds)
    assert list(fars) == sorted(fars, reverse=True) and list(frrs) == sorted(frrs)
    # Every FAR is a count of impostor pairs out of all of them.
    assert all(abs(far * impostor - round(far * impostor)) < 1e-3 for far in fars)


def test_the_settings_it_prints_load_and_keep_the_open_set_rates_under_target(
    report: list[str],
) -> None:
    line = next(line for line in report if line.startswith("LINLI_IDENTITY_FACE_THRESHOLDS="))
    settings = json.loads(line.split("=", 1)[1].strip("'"))
    rule = OpenSetSetting(**settings["dlib"]).rule()
    verification = next(line for line in report if line.startswith("verification threshold"))
    assert f": {rule.verification_threshold:.3f} " in verification

    rows = [line.split() for line in report if re.match(r"^\s+(3|6|50)\s", line)]
    assert [int(row[0]) for row in rows] == [3, 6, 50]
    # 189 impostor pairs cannot show the FAR a gallery of 50 needs: marked as extrapolated.
    assert rows[2][1].endswith("*") and any(line.startswith("* the FAR") for line in report)
    for row in rows:
        size, threshold = int(row[0]), float(row[1].rstrip("*"))
        predicted = float(row[2].rstrip("%")) / 100
        assert threshold == pytest.approx(rule.threshold_for(size), abs=5e-4)
        assert predicted <= rule.target_fpir * 1.001
    # Seven people: a gallery of 3 or 6 others can be sampled for strangers, one of 50 cannot.
    assert "n/a" not in " ".join(rows[0]) and rows[2][3] == "n/a"


def test_a_pairs_csv_scores_only_the_pairs_it_names(folder: Path, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "left,right,same\n"
        "Tom_Hanks_0001.jpg,Tom_Hanks_0002.jpg,1\n"
        "Group_Person_0_0001.jpg,Group_Person_0_0003.jpg,1\n"
        "Tom_Hanks_0001.jpg,Group_Person_2_0001.jpg,0\n"
        "Group_Person_1_0001.jpg,Group_Person_4_0002.jpg,0\n"
        "Group_Person_3_0001.jpg,Group_Person_5_0002.jpg,0\n"
    )

    lines: list[str] = []
    with pytest.raises(SystemExit) as too_few:
        evaluate.main([str(folder), "--pairs", str(pairs)], engine_recipe, out=lines.append)

    # The five pairs are scored and reported, but cannot make a FAR curve: a clear refusal.
    text = "\n".join(lines)
    assert "genuine pairs: 2 " in text and "impostor pairs: 3 " in text
    assert too_few.value.code == 2 and "more faces needed" in lines[-1]
