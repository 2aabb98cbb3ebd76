"""The insightface adapter against small generated SCRFD- and ArcFace-shaped ONNX models.

No licensed model pack is available here, so the test writes two tiny ONNX graphs with the
real models' input and output signatures:
- a "detector" (1x3x640x640 in; 9 outputs: scores, box distances and 5 keypoints at strides
  8/16/32, two anchors a cell) whose stride-8 score fires where an 8x8 cell of the
  normalised red channel is bright, and whose boxes and keypoints are fixed offsets;
- a "recogniser" (1x3x112x112 in, 1x512 out): an 8x8 average pool and a fixed random
  projection, so the embedding depends on the aligned crop's content.

What this proves: the adapter loads models from a directory with onnxruntime and checks
their shapes, feeds correctly normalised and letterboxed input, decodes anchors, boxes and
keypoints back to image coordinates (also when the image is rescaled), applies NMS, counts
faces, applies the quality rules, aligns the crop by the keypoints and normalises the
embedding, and names the model by its content hash. What it does not prove: anything about
detection or recognition accuracy of real SCRFD/ArcFace weights, which must be measured with
the operator's licensed pack.
"""

import io
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from linli_identity.adapters.face_insightface import InsightFaceEngine, ModelPackError
from linli_identity.domain.face import FaceTooSmall, NoFaceFound, SeveralFaces

SIZE = 640
STRIDES = (8, 16, 32)
# Keypoints relative to the anchor, in stride units: eyes, nose tip, mouth corners.
KEYPOINTS = np.array([[-2, -1], [2, -1], [0, 0.5], [-1.5, 2], [1.5, 2]], dtype=np.float32)


def constant(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def write_detector(path: Path, box_half_in_strides: float) -> None:
    """SCRFD-shaped graph: stride-8 scores from brightness, fixed boxes and keypoints."""
    nodes = [
        helper.make_node(
            "AveragePool", ["input.1"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]
        ),
        constant("starts", np.array([0], dtype=np.int64)),
        constant("ends", np.array([1], dtype=np.int64)),
        constant("axes", np.array([1], dtype=np.int64)),
        helper.make_node("Slice", ["pooled", "starts", "ends", "axes"], ["red"]),
        constant("half", np.array(0.5, dtype=np.float32)),
        constant("gain", np.array(20.0, dtype=np.float32)),
        helper.make_node("Sub", ["red", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["prob"]),
        constant("cells", np.array([-1, 1], dtype=np.int64)),
        helper.make_node("Reshape", ["prob", "cells"], ["per_cell"]),
        helper.make_node("Concat", ["per_cell", "per_cell"], ["per_anchor"], axis=1),
        constant("anchors", np.array([-1, 1], dtype=np.int64)),
        helper.make_node("Reshape", ["per_anchor", "anchors"], ["score_8"]),
    ]
    outputs = [helper.make_tensor_value_info("score_8", TensorProto.FLOAT, [12800, 1])]
    for stride in STRIDES[1:]:
        n = (SIZE // stride) ** 2 * 2
        nodes.append(constant(f"score_{stride}", np.zeros((n, 1), np.float32)))
        outputs.append(helper.make_tensor_value_info(f"score_{stride}", TensorProto.FLOAT, [n, 1]))
    for kind, width, row in (
        ("bbox", 4, np.full(4, box_half_in_strides, np.float32)),
        ("kps", 10, KEYPOINTS.reshape(-1)),
    ):
        for stride in STRIDES:
            n = (SIZE // stride) ** 2 * 2
            nodes.append(constant(f"{kind}_{stride}", np.tile(row, (n, 1)).astype(np.float32)))
            outputs.append(
                helper.make_tensor_value_info(f"{kind}_{stride}", TensorProto.FLOAT, [n, width])
            )
    graph = helper.make_graph(
        nodes,
        "scrfd_shaped",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        outputs,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def write_recogniser(path: Path, side: int = 112) -> None:
    """ArcFace-shaped graph: pooled crop times a fixed random projection to 512 values."""
    cells = (side // 8) ** 2 * 3
    weights = np.random.default_rng(0).normal(size=(cells, 512)).astype(np.float32)
    nodes = [
        helper.make_node(
            "AveragePool", ["input.1"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]
        ),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        constant("w", weights),
        helper.make_node("MatMul", ["flat", "w"], ["683"]),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface_shaped",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [1, 512])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("buffalo_test")
    write_detector(directory / "det_10g.onnx", box_half_in_strides=6)  # 96 px faces
    write_detector(directory / "det_small.onnx", box_half_in_strides=3)  # 48 px faces
    write_recogniser(directory / "w600k_r50.onnx")
    write_recogniser(directory / "wrong_input.onnx", side=224)
    return directory


@pytest.fixture(scope="module")
def engine(pack: Path) -> InsightFaceEngine:
    return InsightFaceEngine(pack)


def scene(width: int, height: int, markers: list[tuple[int, int]], seed: int = 1, mark: int = 8):
    """Textured background (red kept dark) with bright square "faces" at the given corners."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 150, (height, width, 3), dtype=np.uint8)
    for x, y in markers:
        pixels[y : y + mark, x : x + mark] = 255
    return pixels


def encode(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def test_one_face_is_located_and_encoded(engine: InsightFaceEngine, pack: Path) -> None:
    face = engine.analyse(encode(scene(640, 640, [(320, 240)])))
    # The anchor of the bright cell is its top-left corner; the box reaches 6 strides around.
    assert (face.box.left, face.box.top, face.box.right, face.box.bottom) == (272, 192, 368, 288)
    assert face.template.dimension == 512 and face.template.engine == "insightface"
    assert np.linalg.norm(face.template.vector) == pytest.approx(1.0, abs=1e-5)
    assert face.landmarks is None
    assert face.template.model_version.startswith(f"{pack.name}/w600k_r50@")


def test_coordinates_survive_letterbox_scaling(engine: InsightFaceEngine) -> None:
    # 1280x960 is shrunk by half to fit 640x640: a 16 px marker becomes one bright cell.
    face = engine.analyse(encode(scene(1280, 960, [(640, 480)], mark=16)))
    assert (face.box.left, face.box.top, face.box.right, face.box.bottom) == (544, 384, 736, 576)


def test_alignment_follows_the_keypoints(engine: InsightFaceEngine) -> None:
    """The same face moved elsewhere in the frame gives the same embedding; another does not."""
    pixels = scene(640, 640, [(320, 240)])
    moved = np.roll(pixels, (48, -64), axis=(0, 1))
    same = engine.analyse(encode(pixels)).template.similarity(
        engine.analyse(encode(moved)).template
    )
    other = engine.analyse(encode(scene(640, 640, [(320, 240)], seed=2))).template
    different = engine.analyse(encode(pixels)).template.similarity(other)
    assert same > 0.999
    assert different < 0.99


def test_no_face_and_several_faces(engine: InsightFaceEngine) -> None:
    with pytest.raises(NoFaceFound):
        engine.analyse(encode(scene(640, 640, [])))
    with pytest.raises(SeveralFaces, match="2 faces"):
        engine.analyse(encode(scene(640, 640, [(120, 120), (480, 400)])))


def test_small_face_is_refused(pack: Path) -> None:
    small = InsightFaceEngine(pack, detector_file="det_small.onnx")
    with pytest.raises(FaceTooSmall, match="48 px"):
        small.analyse(encode(scene(640, 640, [(320, 240)])))


def test_bad_model_pack(pack: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelPackError, match="never downloaded"):
        InsightFaceEngine(tmp_path)
    with pytest.raises(ModelPackError, match="112x112"):
        InsightFaceEngine(pack, recogniser_file="wrong_input.onnx")
    with pytest.raises(ModelPackError, match="SCRFD"):
        InsightFaceEngine(pack, detector_file="w600k_r50.onnx")
