"""The FaceEngine port: what the use cases need from a face detector and encoder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from linli_identity.domain.face import FaceBox, FaceTemplate


@dataclass(frozen=True, eq=False)
class DetectedFace:
    """The single face found in an image, already checked against the quality rules."""

    template: FaceTemplate
    box: FaceBox
    # (68, 2) float32 image coordinates in the iBUG 300-W order, or None if the engine has none.
    landmarks: np.ndarray | None
    sharpness: float


class FaceEngine(Protocol):
    """Detects exactly one face in an image and encodes it as a template."""

    @property
    def name(self) -> str:
        """Engine name recorded with every decision, e.g. "dlib"."""
        ...

    @property
    def model_version(self) -> str:
        """Model identity recorded with every decision; templates only compare within one."""
        ...

    @property
    def dimension(self) -> int:
        """Number of values in the templates this engine makes."""
        ...

    @property
    def default_threshold(self) -> float:
        """Cosine similarity at or above which two templates are taken as the same person."""
        ...

    def analyse(self, image_bytes: bytes) -> DetectedFace:
        """Decode, detect exactly one face, check its quality and encode it."""
        ...


class Gallery(Protocol):
    """The enrolled templates of one community, searchable 1:N in memory."""

    def __contains__(self, resident_id: object) -> bool: ...

    def put(self, resident_id: str, template: FaceTemplate) -> None:
        """Enrol a resident or swap their template."""
        ...

    def remove(self, resident_id: str) -> bool:
        """Forget a resident's template; True if there was one."""
        ...

    def compare(
        self, probes: Sequence[FaceTemplate], candidates: Sequence[str]
    ) -> tuple[list[str], np.ndarray]:
        """The enrolled ones among the candidates (in order), and a (probes, enrolled) matrix of
        cosine similarities."""
        ...


class Galleries(Protocol):
    """The galleries of every community this process serves."""

    def for_community(self, community_id: str) -> Gallery:
        """The gallery of one community; an unknown community starts empty."""
        ...
