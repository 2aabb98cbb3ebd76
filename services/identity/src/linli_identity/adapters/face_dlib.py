"""Default FaceEngine: dlib HOG detector, 68-point landmarks and the ResNet 128-d encoder.

The models come from the `face-recognition-models` package (public domain, installed
offline); the `face_recognition` package itself is not used because it needs a source build.
"""

from __future__ import annotations

import io
import threading
import warnings
from importlib.metadata import version

import dlib
import face_recognition_models
import numpy as np
from PIL import Image, ImageOps

from linli_identity.domain.face import (
    SHARPNESS_SIDE,
    FaceBox,
    FaceTemplate,
    ImageTooLarge,
    NoFaceFound,
    QualityRules,
    SeveralFaces,
    UnreadableImage,
    sharpness,
)
from linli_identity.service_layer.face_port import DetectedFace

# Formats a camera or phone sends; refusing the rest keeps exotic decoders off the attack surface.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Detection runs on images no longer than this; larger photos are shrunk first (HOG cost grows
# with the pixel count and a face that fills a 1280 px frame is still far above the minimum).
WORK_SIDE = 1280


def draft_scale(width: int, height: int, side: int) -> int:
    """The largest JPEG decoding scale (8, 4, 2 or 1) that keeps the longest side >= `side`."""
    return next(
        scale for scale in (8, 4, 2, 1) if max(width, height) // scale >= side or scale == 1
    )


def decode_image(data: bytes, rules: QualityRules, side: int = WORK_SIDE) -> Image.Image:
    """Decode bytes into an upright RGB image, refusing corrupt, oversized or bomb images.

    A JPEG is decoded straight at 1/2, 1/4 or 1/8 scale when its longest side stays at least
    `side`: a 12 Mpx photo then costs a quarter of the time and memory of a full decode.
    """
    if len(data) > rules.max_image_bytes:
        raise ImageTooLarge(f"{len(data) // 1024} KiB, at most {rules.max_image_bytes // 1024}")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its own bomb limit; make that an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            # The header gives the size before any pixel is decoded: check it first.
            width, height = image.size
            if width * height > rules.max_image_pixels:
                raise ImageTooLarge(f"{width}x{height} pixels")
            if image.format == "JPEG":
                scale = draft_scale(width, height, side)
                image.draft("RGB", (max(1, width // scale), max(1, height // scale)))
            elif width * height > rules.max_unscaled_pixels:
                raise ImageTooLarge(f"{width}x{height} pixels; a JPEG may have more")
            image.load()
            image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("too many pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableImage() from exc
    return image.convert("RGB")


def fit_to_work_size(image: Image.Image, side: int = WORK_SIDE) -> Image.Image:
    """Shrink an image so its longest side is at most `side`, keeping the aspect ratio."""
    if max(image.size) <= side:
        return image
    shrunk = image.copy()
    shrunk.thumbnail((side, side), Image.Resampling.BILINEAR)
    return shrunk


def crop_sharpness(image: Image.Image, box: FaceBox) -> float:
    """Sharpness score of the face crop, resized to a fixed side so face size does not matter."""
    crop = image.crop(
        (
            max(box.left, 0),
            max(box.top, 0),
            min(box.right, image.width),
            min(box.bottom, image.height),
        )
    )
    gray = crop.convert("L").resize((SHARPNESS_SIDE, SHARPNESS_SIDE), Image.Resampling.BILINEAR)
    return sharpness(np.asarray(gray))


class DlibFaceEngine:
    """FaceEngine adapter over dlib; one instance is safe to share between threads."""

    name = "dlib"
    # Cosine similarity of L2-normalised dlib embeddings. dlib's documented rule is a Euclidean
    # distance below 0.6 on raw vectors (norm ~1.5), i.e. cosine ~0.92; the integration test
    # measures FAR/FRR at this value on the insightface sample images.
    default_threshold = 0.93
    dimension = 128

    def __init__(self, rules: QualityRules | None = None) -> None:
        self._rules = rules or QualityRules()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(
            face_recognition_models.pose_predictor_model_location()
        )
        self._encoder = dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        )
        self.model_version = (
            f"resnet_model_v1+hog+sp68/face_recognition_models-{version('face_recognition_models')}"
        )
        # dlib's detector and predictor keep scratch state; calls are serialised per engine.
        self._lock = threading.Lock()

    def analyse(self, image_bytes: bytes) -> DetectedFace:
        """Decode, detect exactly one face, check its quality and encode it."""
        image = fit_to_work_size(decode_image(image_bytes, self._rules))
        pixels = np.ascontiguousarray(np.asarray(image))
        with self._lock:
            rects = self._detector(pixels, 0)
            if len(rects) == 0:
                # One upsampling finds faces down to ~40 px so a small face gets the clearer
                # "too small" answer; it costs 4x, so only when the fast pass found nothing.
                rects = self._detector(pixels, 1)
            if len(rects) == 0:
                raise NoFaceFound()
            if len(rects) > 1:
                raise SeveralFaces(len(rects))
            rect = rects[0]
            box = FaceBox(rect.left(), rect.top(), rect.right(), rect.bottom())
            score = crop_sharpness(image, box)
            self._rules.check_face(box, score)
            shape = self._predictor(pixels, rect)
            descriptor = self._encoder.compute_face_descriptor(pixels, shape)
        landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        template = FaceTemplate(
            vector=np.asarray(descriptor), engine=self.name, model_version=self.model_version
        )
        return DetectedFace(template=template, box=box, landmarks=landmarks, sharpness=score)
