"""Real face images for the kiosk flows: the insightface wheel's samples, as bursts a kiosk sends.

`Tom_Hanks_54745.png` is one person; `t1.jpg` is a group photo of six other people, cut here
into one crop per face (found with dlib's detector, widened by half a face on every side).
Nothing is downloaded: insightface is a dev dependency and ships these files.
"""

from __future__ import annotations

import importlib.util
import io
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

# A kiosk frame of one face: the crops are resized to this side.
SIDE = 224


def sample(name: str) -> Image.Image:
    """One of the wheel's sample images, as RGB."""
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("insightface (dev dependency) is not installed: no sample face images")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    return Image.open(folder / name).convert("RGB")


def tom() -> Image.Image:
    """Tom Hanks, at kiosk size."""
    return sample("Tom_Hanks_54745.png").resize((SIDE, SIDE), Image.Resampling.BICUBIC)


@cache
def group_faces() -> tuple[Image.Image, ...]:
    """The six people of the group photo, left to right, each a crop at kiosk size."""
    import dlib

    group = sample("t1.jpg")
    rects = sorted(dlib.get_frontal_face_detector()(np.asarray(group), 0), key=lambda r: r.left())
    assert len(rects) == 6, "the group photo shows six faces"
    crops = []
    for r in rects:
        cx, cy, half = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2, r.width()
        box = (int(cx - half), int(cy - half), int(cx + half), int(cy + half))
        crops.append(group.crop(box).resize((SIDE, SIDE), Image.Resampling.BICUBIC))
    return tuple(crops)


def jpeg(image: Image.Image) -> bytes:
    """The image as a JPEG a camera would send."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def head_turn(image: Image.Image) -> list[bytes]:
    """A burst turning from one side to the other: the photo's face is turned, its mirror the
    other way (the same construction as identity's own face tests)."""
    mirrored = ImageOps.mirror(image)
    frames = [
        image,
        ImageEnhance.Brightness(image).enhance(1.05),
        mirrored,
        ImageEnhance.Brightness(mirrored).enhance(0.95),
        image,
    ]
    return [jpeg(frame) for frame in frames]
