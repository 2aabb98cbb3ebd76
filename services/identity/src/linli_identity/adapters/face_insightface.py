"""Production FaceEngine option: SCRFD detection and ArcFace encoding with onnxruntime.

The ONNX files come from a model pack directory the operator provides (the public packs are
licensed for non-commercial research only); nothing is ever downloaded. Pre- and
post-processing follow insightface's reference code: SCRFD with 9 outputs (scores, box
distances and 5 keypoints at strides 8/16/32, two anchors a cell), alignment of the 5
keypoints to ArcFace's 112x112 template, and a 512-d embedding.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from linli_identity.adapters.face_dlib import crop_sharpness, decode_image, fit_to_work_size
from linli_identity.domain.face import (
    FaceBox,
    FaceTemplate,
    NoFaceFound,
    QualityRules,
    SeveralFaces,
)
from linli_identity.service_layer.face_port import DetectedFace

STRIDES = (8, 16, 32)
ANCHORS_PER_CELL = 2
# ArcFace's canonical positions of eyes, nose tip and mouth corners in a 112x112 crop.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
ARCFACE_SIDE = 112


class ModelPackError(RuntimeError):
    """The configured model directory does not hold usable SCRFD and ArcFace models."""


class InsightFaceEngine:
    """FaceEngine adapter over SCRFD + ArcFace ONNX models from a local model pack."""

    name = "insightface"

    def __init__(
        self,
        model_dir: Path,
        *,
        detector_file: str = "det_10g.onnx",
        recogniser_file: str = "w600k_r50.onnx",
        rules: QualityRules | None = None,
        detection_score: float = 0.5,
        nms_iou: float = 0.4,
        # ArcFace cosine similarity; insightface's usual verification cut-off. Not measured
        # here (no licensed pack is available): calibrate on the operator's own data.
        default_threshold: float = 0.40,
    ) -> None:
        self._rules = rules or QualityRules()
        self._detection_score = detection_score
        self._nms_iou = nms_iou
        self.default_threshold = default_threshold
        detector_path, recogniser_path = model_dir / detector_file, model_dir / recogniser_file
        for path in (detector_path, recogniser_path):
            if not path.is_file():
                raise ModelPackError(f"model file {path} is missing; models are never downloaded")
        options = ort.SessionOptions()
        # The service runs several workers per node; one intra-op thread each avoids
        # oversubscribing the cores.
        options.intra_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self._detector = ort.InferenceSession(str(detector_path), options, providers=providers)
        self._recogniser = ort.InferenceSession(str(recogniser_path), options, providers=providers)
        self._check_shapes()
        digest = hashlib.sha256(recogniser_path.read_bytes()).hexdigest()[:12]
        # The recogniser's content hash: templates from different weights never compare.
        self.model_version = f"{model_dir.name}/{recogniser_path.stem}@{digest}"
        self._lock = threading.Lock()

    def _check_shapes(self) -> None:
        det_inputs, det_outputs = self._detector.get_inputs(), self._detector.get_outputs()
        if len(det_inputs) != 1 or len(det_outputs) != 3 * len(STRIDES):
            raise ModelPackError("detector is not an SCRFD model with keypoints (9 outputs)")
        shape = det_inputs[0].shape
        fixed = [d if isinstance(d, int) else None for d in shape[2:]]
        # Dynamic-size exports get insightface's default 640x640 input.
        self._det_size = (fixed[1] or 640, fixed[0] or 640)
        rec_in = self._recogniser.get_inputs()
        rec_out = self._recogniser.get_outputs()
        if len(rec_in) != 1 or list(rec_in[0].shape[1:]) != [3, ARCFACE_SIDE, ARCFACE_SIDE]:
            raise ModelPackError("recogniser must take a 1x3x112x112 face crop")
        if rec_out[0].shape[-1] not in (128, 512):
            raise ModelPackError("recogniser must output a 128-d or 512-d embedding")
        self.dimension = int(rec_out[0].shape[-1])

    def analyse(self, image_bytes: bytes) -> DetectedFace:
        """Decode, detect exactly one face, check its quality and encode it."""
        image = fit_to_work_size(decode_image(image_bytes, self._rules))
        with self._lock:
            boxes, keypoints = self._detect(image)
            if len(boxes) == 0:
                raise NoFaceFound()
            if len(boxes) > 1:
                raise SeveralFaces(len(boxes))
            left, top, right, bottom = (round(float(v)) for v in boxes[0][:4])
            box = FaceBox(left, top, right, bottom)
            score = crop_sharpness(image, box)
            self._rules.check_face(box, score)
            embedding = self._encode(image, keypoints[0])
        template = FaceTemplate(embedding, engine=self.name, model_version=self.model_version)
        # SCRFD gives 5 keypoints, not 68 landmarks: blink liveness needs the dlib engine
        # or a 68-point model added to this adapter.
        return DetectedFace(template=template, box=box, landmarks=None, sharpness=score)

    def _detect(self, image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        width, height = self._det_size
        scale = min(width / image.width, height / image.height)
        resized = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.BILINEAR,
        )
        # Letterbox at the top-left corner, as insightface does, so coordinates only scale.
        canvas = np.zeros((height, width, 3), dtype=np.float32)
        canvas[: resized.height, : resized.width] = np.asarray(resized, dtype=np.float32)
        blob = ((canvas - 127.5) / 128.0).transpose(2, 0, 1)[np.newaxis]
        outputs = self._detector.run(None, {self._detector.get_inputs()[0].name: blob})
        count = len(STRIDES)
        all_boxes, all_points = [], []
        for level, stride in enumerate(STRIDES):
            scores = outputs[level].reshape(-1)
            distances = outputs[level + count].reshape(-1, 4) * stride
            offsets = outputs[level + 2 * count].reshape(-1, 10) * stride
            rows, cols = height // stride, width // stride
            grid = np.stack(list(np.mgrid[:rows, :cols][::-1]), axis=-1).reshape(-1, 2) * stride
            centres = np.repeat(grid, ANCHORS_PER_CELL, axis=0).astype(np.float32)
            keep = scores >= self._detection_score
            c, d = centres[keep], distances[keep]
            boxes = np.concatenate([c - d[:, :2], c + d[:, 2:]], axis=1)
            points = c[:, np.newaxis, :] + offsets[keep].reshape(-1, 5, 2)
            all_boxes.append(np.concatenate([boxes, scores[keep, np.newaxis]], axis=1))
            all_points.append(points)
        boxes = np.concatenate(all_boxes) / np.array([scale] * 4 + [1.0])
        points = np.concatenate(all_points) / scale
        keep = _nms(boxes, self._nms_iou)
        return boxes[keep], points[keep]

    def _encode(self, image: Image.Image, keypoints: np.ndarray) -> np.ndarray:
        matrix = _similarity_transform(keypoints, ARCFACE_TEMPLATE)
        # Pillow's affine transform maps output pixels back to input pixels: invert.
        inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
        aligned = image.transform(
            (ARCFACE_SIDE, ARCFACE_SIDE),
            Image.Transform.AFFINE,
            tuple(inverse.reshape(-1)),
            resample=Image.Resampling.BILINEAR,
        )
        pixels = np.asarray(aligned, dtype=np.float32)
        blob = ((pixels - 127.5) / 127.5).transpose(2, 0, 1)[np.newaxis]
        outputs = self._recogniser.run(None, {self._recogniser.get_inputs()[0].name: blob})
        return outputs[0].reshape(-1)


def _nms(dets: np.ndarray, iou_limit: float) -> list[int]:
    """Greedy non-maximum suppression over rows of (x1, y1, x2, y2, score)."""
    order = np.argsort(-dets[:, 4])
    areas = (dets[:, 2] - dets[:, 0] + 1) * (dets[:, 3] - dets[:, 1] + 1)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        x1 = np.maximum(dets[best, 0], dets[rest, 0])
        y1 = np.maximum(dets[best, 1], dets[rest, 1])
        x2 = np.minimum(dets[best, 2], dets[rest, 2])
        y2 = np.minimum(dets[best, 3], dets[rest, 3])
        inter = np.maximum(0.0, x2 - x1 + 1) * np.maximum(0.0, y2 - y1 + 1)
        iou = inter / (areas[best] + areas[rest] - inter)
        order = rest[iou <= iou_limit]
    return keep


def _similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2x3 rotation+scale+translation taking source points onto target (Umeyama, 1991)."""
    src, dst = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, s, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    reflection = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ reflection @ vt
    scale = float(np.trace(np.diag(s) @ reflection)) / float(src_c.var(axis=0).sum())
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, np.newaxis]])
