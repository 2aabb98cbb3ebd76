"""Production FaceEngine option: insightface's SCRFD detector, ArcFace encoder and landmarks.

The ONNX files come from a model pack directory the operator mounts (insightface's buffalo_l
layout: det_10g.onnx, w600k_r50.onnx and 1k3d68.onnx; the public packs are licensed for
non-commercial research only). insightface's `model_zoo` loads each file and recognises the
model from its graph; its own code detects, aligns and encodes. Nothing is ever downloaded.
With the 68-point landmark model in the pack, bursts carry landmarks for the liveness check.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from insightface.app.common import Face
from insightface.model_zoo import model_zoo

from linli_identity.adapters.face_dlib import crop_sharpness, decode_image, fit_to_work_size
from linli_identity.domain.face import (
    FaceBox,
    FaceTemplate,
    NoFaceFound,
    QualityRules,
    SeveralFaces,
)
from linli_identity.service_layer.face_port import DetectedFace

ARCFACE_SIDE = 112
DETECTION_SIDE = 640
LANDMARKS_68 = "landmark_3d_68"


class ModelPackError(RuntimeError):
    """The configured model directory does not hold usable SCRFD and ArcFace models."""


class InsightFaceEngine:
    """FaceEngine adapter over insightface's models from a local model pack."""

    name = "insightface"

    def __init__(
        self,
        model_dir: Path,
        *,
        detector_file: str = "det_10g.onnx",
        recogniser_file: str = "w600k_r50.onnx",
        landmark_file: str = "1k3d68.onnx",
        rules: QualityRules | None = None,
        detection_score: float = 0.5,
        nms_iou: float = 0.4,
        # ArcFace cosine similarity; insightface's usual verification cut-off. Not measured
        # here (no licensed pack is available): calibrate on the operator's own data.
        default_threshold: float = 0.40,
    ) -> None:
        self._rules = rules or QualityRules()
        self.default_threshold = default_threshold
        detector_path, recogniser_path = model_dir / detector_file, model_dir / recogniser_file
        for path in (detector_path, recogniser_path):
            if not path.is_file():
                raise ModelPackError(f"model file {path} is missing; models are never downloaded")
        self._detector = _load(detector_path)
        if self._detector.taskname != "detection" or not self._detector.use_kps:
            raise ModelPackError(f"{detector_path.name} is not an SCRFD model with keypoints")
        self._detector.prepare(
            -1,
            det_thresh=detection_score,
            nms_thresh=nms_iou,
            input_size=(DETECTION_SIDE, DETECTION_SIDE),
        )
        self._recogniser = _load(recogniser_path)
        if self._recogniser.taskname != "recognition" or tuple(self._recogniser.input_size) != (
            ARCFACE_SIDE,
            ARCFACE_SIDE,
        ):
            raise ModelPackError("recogniser must take a 1x3x112x112 face crop")
        self.dimension = int(self._recogniser.output_shape[-1])
        if self.dimension not in (128, 512):
            raise ModelPackError("recogniser must output a 128-d or 512-d embedding")
        landmark_path = model_dir / landmark_file
        self._landmarks = _load(landmark_path) if landmark_path.is_file() else None
        if self._landmarks is not None and self._landmarks.taskname != LANDMARKS_68:
            raise ModelPackError(f"{landmark_path.name} is not a 68-point landmark model")
        digest = hashlib.sha256(recogniser_path.read_bytes()).hexdigest()[:12]
        # The recogniser's content hash: templates from different weights never compare.
        self.model_version = f"{model_dir.name}/{recogniser_path.stem}@{digest}"
        self._lock = threading.Lock()

    def analyse(self, image_bytes: bytes) -> DetectedFace:
        """Decode, detect exactly one face, check its quality and encode it."""
        image = fit_to_work_size(decode_image(image_bytes, self._rules))
        # insightface works on OpenCV's BGR pixel order.
        pixels = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        with self._lock:
            boxes, keypoints = self._detector.detect(pixels)
            if len(boxes) == 0:
                raise NoFaceFound()
            if len(boxes) > 1:
                raise SeveralFaces(len(boxes))
            left, top, right, bottom = (round(float(v)) for v in boxes[0][:4])
            box = FaceBox(left, top, right, bottom)
            score = crop_sharpness(image, box)
            self._rules.check_face(box, score)
            face = Face(bbox=boxes[0][:4], kps=keypoints[0], det_score=float(boxes[0][4]))
            embedding = self._recogniser.get(pixels, face)
            landmarks = self._landmarks_of(pixels, face)
        template = FaceTemplate(embedding, engine=self.name, model_version=self.model_version)
        return DetectedFace(template=template, box=box, landmarks=landmarks, sharpness=score)

    def _landmarks_of(self, pixels: np.ndarray, face: Face) -> np.ndarray | None:
        # SCRFD's 5 keypoints are too few for a blink: without the 68-point model, None.
        if self._landmarks is None:
            return None
        points = self._landmarks.get(pixels, face)
        return np.asarray(points[:, :2], dtype=np.float32)


def _load(path: Path) -> Any:
    """One model of the pack, recognised by insightface's model_zoo from its graph."""
    options = ort.SessionOptions()
    # The service runs several workers per node; one intra-op thread each avoids
    # oversubscribing the cores.
    options.intra_op_num_threads = 1
    model = model_zoo.get_model(
        str(path), providers=["CPUExecutionProvider"], sess_options=options, download=False
    )
    if model is None:
        raise ModelPackError(f"{path.name} is not a model insightface recognises")
    return model
