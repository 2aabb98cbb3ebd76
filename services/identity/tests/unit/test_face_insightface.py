"""The insightface adapter against small generated SCRFD- and ArcFace-shaped ONNX models.

No licensed model pack is available here, so the test writes three tiny ONNX graphs with the
real models' input and output signatures:
- a "detector" (1x3x640x640 in; 9 outputs: scores, box distances and 5 keypoints at strides
  8/16/32, two anchors a cell) whose stride-8 score fires where an 8x8 cell of the
  normalised red channel is bright, and whose boxes and keypoints are fixed offsets;
- a "recogniser" (1x3x112x112 in, 1x512 out): an 8x8 average pool and a fixed random
  projection, so the embedding depends on the aligned crop's content;
- a "68-point landmark model" (1x3x192x192 in, 1x3309 out, as 1k3d68.onnx) that always
  answers insightface's mean face shape.
insightface's model_zoo recognises each graph by these shapes, as it does the real files.

What this proves: the adapter loads models from a directory through insightface's model_zoo
(also from a pack laid out as buffalo_l is mounted) and checks what they are; insightface's
code gets correctly ordered, letterboxed input and its boxes, keypoints and 68 landmarks come
back in image coordinates (also when the image is rescaled); faces are counted, the quality
rules applied, the embedding normalised, the model named by its content hash, and a burst
with landmarks reaches the liveness rule. What it does not prove: anything about
detection or recognition accuracy of real SCRFD/ArcFace weights, which must be measured with
the operator's licensed pack.
"""

import io
from pathlib import Path

import numpy as np
import onnx
import pytest
from insightface.data import get_object
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from linli_identity.adapters.face_insightface import InsightFaceEngine, ModelPackError
from linli_identity.bootstrap import build_face_engine
from linli_identity.config import IdentitySettings
from linli_identity.domain.face import FaceTooSmall, LivenessFailed, NoFaceFound, SeveralFaces
from linli_identity.domain.liveness import Challenge
from linli_identity.service_layer.faces import FaceBurst, live_probe

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


def write_landmarks(path: Path) -> None:
    """1k3d68-shaped graph (1x3x192x192 in, 1x3309 out): insightface's mean 68-point face.

    The last 68 x 3 values are the landmarks in crop coordinates ([-1, 1]); the output is the
    same for any input, so the points follow the detected face box and never move.
    """
    values = np.zeros((1, 3309), dtype=np.float32)
    values[0, -68 * 3 :] = get_object("meanshape_68.pkl").astype(np.float32).reshape(-1)
    nodes = [
        helper.make_node("ReduceMean", ["data"], ["level"], keepdims=0),
        constant("shape", values),
        constant("zero", np.array(0.0, dtype=np.float32)),
        helper.make_node("Mul", ["level", "zero"], ["nothing"]),
        helper.make_node("Add", ["shape", "nothing"], ["fc1"]),
    ]
    graph = helper.make_graph(
        nodes,
        "landmark_shaped",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 192, 192])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 3309])],
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


@pytest.fixture(scope="module")
def buffalo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pack laid out as an operator mounts insightface's buffalo_l: one directory of files."""
    directory = tmp_path_factory.mktemp("models") / "buffalo_l"
    directory.mkdir()
    write_detector(directory / "det_10g.onnx", box_half_in_strides=6)
    write_recogniser(directory / "w600k_r50.onnx")
    write_landmarks(directory / "1k3d68.onnx")
    return directory


def photo_with_face_marker() -> bytes:
    """insightface's sample group photo, darkened, with one bright marker taken for a face."""
    folder = Path(get_object.__code__.co_filename).parent / "images"
    photo = Image.open(folder / "t1.jpg").convert("RGB").resize((640, 640))
    pixels = (np.asarray(photo, dtype=np.float32) * 0.45).astype(np.uint8)
    pixels[240:248, 320:328] = 255
    return encode(pixels)


def test_the_engine_runs_on_a_mounted_pack_with_landmarks(buffalo: Path) -> None:
    settings = IdentitySettings(
        database_url="sqlite://",
        redis_url="redis://127.0.0.1:1/0",
        face_engine="insightface",
        face_model_dir=buffalo,
        face_thresholds={
            "insightface": {"verification_threshold": 0.4, "far_curve": [[0.3, 1e-3], [0.4, 1e-5]]}
        },
    )
    engine = build_face_engine(settings)
    assert isinstance(engine, InsightFaceEngine)

    face = engine.analyse(photo_with_face_marker())

    assert (face.box.left, face.box.top, face.box.right, face.box.bottom) == (272, 192, 368, 288)
    assert engine.model_version.startswith("buffalo_l/w600k_r50@")
    assert face.landmarks is not None and face.landmarks.shape == (68, 2)
    # The 68 points fall inside the detected box, the nose tip (point 30) near its centre.
    assert (face.landmarks >= (272, 192)).all() and (face.landmarks <= (368, 288)).all()
    assert np.abs(face.landmarks[30] - (320, 240)).max() < 12
    # With landmarks, a burst reaches the liveness rule: a still face does not turn its head.
    with pytest.raises(LivenessFailed):
        live_probe(FaceBurst((photo_with_face_marker(),) * 3, Challenge.HEAD_TURN), engine)


def test_a_landmark_file_that_is_no_landmark_model_is_refused(pack: Path) -> None:
    with pytest.raises(ModelPackError, match="68-point"):
        InsightFaceEngine(pack, landmark_file="w600k_r50.onnx")
