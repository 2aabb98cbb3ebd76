"""Face biometrics value objects, quality rules and errors; no I/O, no framework."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from linli_identity.domain.openset import OpenSetDecision, Outcome
from linli_kit.errors import FailedPrecondition, InvalidArgument

EMBEDDING_SIZES = (128, 512)
_TEMPLATE_MAGIC = b"LFT1"


class FaceError(InvalidArgument):
    """A face image cannot be used; the message tells the person what to do."""


class UnreadableImage(FaceError):
    """The bytes are not a picture we can read."""

    def __init__(self) -> None:
        super().__init__("The picture could not be read. Please send a JPEG or PNG photo.")


class ImageTooLarge(FaceError):
    """The picture is too big in bytes or in pixels."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"The picture is too large ({detail}). Please send a smaller photo.")


class NoFaceFound(FaceError):
    """No face was detected."""

    def __init__(self) -> None:
        super().__init__(
            "No face was found. Please face the camera in good light, with nothing covering "
            "your face."
        )


class SeveralFaces(FaceError):
    """More than one face was detected."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} faces were found. Please make sure only one person is in the picture."
        )


class FaceTooSmall(FaceError):
    """The face is too small to be measured reliably."""

    def __init__(self, side: int, minimum: int) -> None:
        super().__init__(
            f"The face is too small ({side} px, at least {minimum} px needed). "
            "Please come closer to the camera."
        )


class FaceBlurred(FaceError):
    """The face is out of focus or moving."""

    def __init__(self) -> None:
        super().__init__("The face is blurred. Please hold still and keep the camera steady.")


class LivenessFailed(FailedPrecondition):
    """The frame burst does not show a live person; the reason is safe to show."""


class TemplateMismatch(FailedPrecondition):
    """Two templates come from different engines or model versions and cannot be compared."""


@dataclass(frozen=True)
class FaceBox:
    """Axis-aligned face box in image pixels."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def min_side(self) -> int:
        """Shorter side of the box in pixels."""
        return min(self.right - self.left, self.bottom - self.top)


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """An L2-normalised float32 face embedding tagged with the engine and model that made it."""

    vector: np.ndarray
    engine: str
    model_version: str

    def __post_init__(self) -> None:
        raw = np.asarray(self.vector, dtype=np.float64).reshape(-1)
        if raw.size not in EMBEDDING_SIZES:
            raise InvalidArgument(f"a face template has {EMBEDDING_SIZES} values, not {raw.size}")
        norm = float(np.linalg.norm(raw))
        if not np.isfinite(norm) or norm == 0.0:
            raise InvalidArgument("a face template must be finite and non-zero")
        unit = (raw / norm).astype(np.float32)
        unit.flags.writeable = False
        # Frozen dataclass: normalise once here so every consumer can rely on unit length.
        object.__setattr__(self, "vector", unit)

    @property
    def dimension(self) -> int:
        """Number of values in the embedding."""
        return int(self.vector.size)

    def ensure_comparable(self, other: FaceTemplate) -> None:
        """Raise TemplateMismatch unless both templates come from the same engine and model."""
        if (self.engine, self.model_version, self.dimension) != (
            other.engine,
            other.model_version,
            other.dimension,
        ):
            raise TemplateMismatch(
                f"templates from {self.engine}/{self.model_version} and "
                f"{other.engine}/{other.model_version} cannot be compared; re-enrol the face"
            )

    def similarity(self, other: FaceTemplate) -> float:
        """Cosine similarity in [-1, 1] with a template of the same engine and model."""
        self.ensure_comparable(other)
        return float(np.dot(self.vector, other.vector))

    def to_bytes(self) -> bytes:
        """Serialise engine, model version and vector (little-endian float32)."""
        engine = self.engine.encode()
        version = self.model_version.encode()
        return b"".join(
            (
                _TEMPLATE_MAGIC,
                struct.pack("<H", len(engine)),
                engine,
                struct.pack("<H", len(version)),
                version,
                self.vector.astype("<f4").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceTemplate:
        """Inverse of to_bytes."""
        if not data.startswith(_TEMPLATE_MAGIC):
            raise InvalidArgument("not a serialised face template")
        pos = len(_TEMPLATE_MAGIC)
        texts = []
        for _ in range(2):
            (length,) = struct.unpack_from("<H", data, pos)
            pos += 2
            texts.append(data[pos : pos + length].decode())
            pos += length
        vector = np.frombuffer(data[pos:], dtype="<f4")
        return cls(vector=vector, engine=texts[0], model_version=texts[1])


@dataclass(frozen=True)
class FaceMatch:
    """The record of one biometric decision: what compared, how similar, against which bar.

    An identification (1:N) also records its open-set evidence: how many candidates were
    enrolled, the second-best score, the margin and verification bar, the frames that agreed
    and its outcome (`domain.openset`).
    """

    engine: str
    model_version: str
    similarity: float
    threshold: float
    matched: bool
    resident_id: str | None = None
    gallery_size: int = 0
    second_similarity: float = -1.0
    required_margin: float = 0.0
    verification_threshold: float = 0.0
    agreeing_frames: int = 0
    frames: int = 0
    outcome: Outcome | None = None

    @classmethod
    def identified(
        cls, probe: FaceTemplate, decision: OpenSetDecision, resident_id: str | None
    ) -> FaceMatch:
        """The record of an open-set identification naming `resident_id` (None: nobody)."""
        return cls(
            engine=probe.engine,
            model_version=probe.model_version,
            similarity=decision.similarity,
            threshold=decision.threshold,
            matched=decision.outcome is Outcome.IDENTIFIED,
            resident_id=resident_id,
            gallery_size=decision.gallery_size,
            second_similarity=decision.second_similarity,
            required_margin=decision.rule.margin,
            verification_threshold=decision.rule.verification_threshold,
            agreeing_frames=decision.agreeing_frames,
            frames=decision.frames,
            outcome=decision.outcome,
        )

    @classmethod
    def decide(
        cls,
        probe: FaceTemplate,
        reference: FaceTemplate,
        threshold: float,
        resident_id: str | None = None,
    ) -> FaceMatch:
        """Compare a probe with a reference template (1:1 verification)."""
        similarity = probe.similarity(reference)
        return cls.from_similarity(probe, similarity, threshold, resident_id)

    @classmethod
    def from_similarity(
        cls,
        probe: FaceTemplate,
        similarity: float,
        threshold: float,
        resident_id: str | None = None,
    ) -> FaceMatch:
        """Record a decision from an already computed similarity."""
        return cls(
            engine=probe.engine,
            model_version=probe.model_version,
            similarity=round(float(similarity), 6),
            threshold=threshold,
            matched=similarity >= threshold,
            resident_id=resident_id,
        )


# Faces are resized to this side before measuring sharpness, so the score ignores face size.
SHARPNESS_SIDE = 64


@dataclass(frozen=True)
class QualityRules:
    """Limits a face image must meet before a template is made from it."""

    max_image_bytes: int = 4 * 1024 * 1024
    # 40 Mpx covers any phone camera; a decompression bomb declares far more. A JPEG is
    # decoded scaled down (1/2 to 1/8) to about the engines' working size, so this is cheap.
    max_image_pixels: int = 40_000_000
    # PNG and WebP decode at full size (3 bytes a pixel): 12 Mpx is at most 36 MB a frame.
    max_unscaled_pixels: int = 12_000_000
    min_face_side: int = 60
    # sharpness() of the face resized to SHARPNESS_SIDE px. Calibrated on the integration
    # images: sharp faces score 117-211, a Gaussian blur of radius 1.5 px scores 15-60.
    min_sharpness: float = 50.0

    def check_face(self, box: FaceBox, sharpness_score: float) -> None:
        """Raise FaceTooSmall or FaceBlurred if the detected face is not good enough."""
        if box.min_side < self.min_face_side:
            raise FaceTooSmall(box.min_side, self.min_face_side)
        if sharpness_score < self.min_sharpness:
            raise FaceBlurred()


def sharpness(gray: np.ndarray) -> float:
    """Contrast-normalised variance of the Laplacian of a 2-D grey face crop: low means blurred."""
    img = np.asarray(gray, dtype=np.float32)
    if img.shape[0] < 3 or img.shape[1] < 3:
        return 0.0
    lap = img[:-2, 1:-1] + img[2:, 1:-1] + img[1:-1, :-2] + img[1:-1, 2:] - 4.0 * img[1:-1, 1:-1]
    # Dividing by the image variance makes the score independent of lighting and contrast;
    # the floor of 1 keeps a flat (featureless) crop at a score near zero rather than NaN.
    return float(lap.var() / max(float(img.var()), 1.0) * 1000.0)
