"""In-memory 1:N gallery: consistency under enrol/replace/remove, and search correctness."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli_identity.adapters.gallery import Galleries, Gallery
from linli_identity.domain.face import FaceTemplate, TemplateMismatch
from linli_kit.errors import AlreadyExists, NotFound


def tpl(seed: int, dim: int = 128, engine: str = "test") -> FaceTemplate:
    return FaceTemplate(np.random.default_rng(seed).normal(size=dim), engine, "v1")


EVERYONE = [f"r{i}" for i in range(3000)]


def best(gallery: Gallery, probe: FaceTemplate, threshold: float) -> tuple[str | None, float]:
    """The enrolled resident most like the probe, if at or above the threshold, and the score."""
    enrolled, scores = gallery.compare([probe], EVERYONE)
    if not enrolled:
        return None, -1.0
    top = int(np.argmax(scores[0]))
    score = float(scores[0][top])
    return (enrolled[top] if score >= threshold else None), score


def near(base: FaceTemplate, seed: int, noise: float = 0.1) -> FaceTemplate:
    jitter = np.random.default_rng(seed).normal(size=base.dimension) * noise / 10
    return FaceTemplate(base.vector + jitter, base.engine, base.model_version)


def test_compare_finds_the_enrolled_person_and_names_nobody_below_threshold() -> None:
    gallery = Gallery("test", "v1", 128)
    people = {f"r{i}": tpl(i) for i in range(50)}
    for rid, t in people.items():
        gallery.add(rid, t)
    found, score = best(gallery, near(people["r17"], 1), threshold=0.9)
    assert found == "r17" and score > 0.9
    stranger, score = best(gallery, tpl(999), threshold=0.9)
    assert stranger is None and score < 0.9


def test_compare_scores_only_the_enrolled_candidates_in_their_order() -> None:
    gallery = Gallery("test", "v1", 128)
    for i in range(5):
        gallery.add(f"r{i}", tpl(i))

    enrolled, scores = gallery.compare([tpl(3), tpl(1)], ["r3", "r-nobody", "r1"])

    assert enrolled == ["r3", "r1"] and scores.shape == (2, 2)
    assert scores[0][0] == pytest.approx(1.0, abs=1e-5)
    assert scores[1][1] == pytest.approx(1.0, abs=1e-5)


def test_removed_resident_is_no_longer_found() -> None:
    gallery = Gallery("test", "v1", 128)
    for i in range(5):
        gallery.add(f"r{i}", tpl(i))
    assert gallery.remove("r1") is True
    assert gallery.remove("r1") is False
    assert "r1" not in gallery and len(gallery) == 4
    assert best(gallery, tpl(1), 0.9)[0] is None
    # The row moved into the hole is still found under its own id.
    assert best(gallery, tpl(4), 0.9)[0] == "r4"


def test_add_replace_errors_and_replace_takes_effect() -> None:
    gallery = Gallery("test", "v1", 128)
    gallery.add("r1", tpl(1))
    with pytest.raises(AlreadyExists):
        gallery.add("r1", tpl(2))
    with pytest.raises(NotFound):
        gallery.replace("r2", tpl(2))
    gallery.replace("r1", tpl(3))
    assert best(gallery, tpl(1), 0.9)[0] is None
    assert best(gallery, tpl(3), 0.9)[0] == "r1"


def test_templates_of_another_engine_are_refused() -> None:
    gallery = Gallery("test", "v1", 128)
    with pytest.raises(TemplateMismatch):
        gallery.add("r1", tpl(1, engine="other"))
    with pytest.raises(TemplateMismatch):
        gallery.compare([tpl(1, dim=512)], ["r1"])


def test_empty_gallery_matches_nobody() -> None:
    enrolled, scores = Gallery("test", "v1", 128).compare([tpl(1)], ["r1"])
    assert enrolled == [] and scores.shape == (1, 0)


def test_communities_are_separate() -> None:
    galleries = Galleries("test", "v1", 128)
    galleries.for_community("c1").add("r1", tpl(1))
    assert galleries.for_community("c1") is galleries.for_community("c1")
    assert best(galleries.for_community("c2"), tpl(1), 0.9)[0] is None


ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "replace"]), st.integers(0, 40), st.integers()),
    max_size=300,
)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_gallery_matches_a_brute_force_model(operations: list[tuple[str, int, int]]) -> None:
    """After any sequence of enrol/replace/withdraw, compare agrees with a plain dict search."""
    gallery = Gallery("test", "v1", 128)
    model: dict[str, FaceTemplate] = {}
    for op, person, seed in operations:
        rid, t = f"r{person}", tpl(seed % 10_000)
        if op == "add" and rid not in model:
            gallery.add(rid, t)
            model[rid] = t
        elif op == "replace" and rid in model:
            gallery.replace(rid, t)
            model[rid] = t
        elif op == "remove":
            assert gallery.remove(rid) is (model.pop(rid, None) is not None)
    assert len(gallery) == len(model)
    for t in model.values():
        found, score = best(gallery, t, threshold=0.99)
        assert found is not None
        assert score == pytest.approx(1.0, abs=1e-5)
        # Two residents may hold the same template; either is then a right answer.
        assert np.array_equal(model[found].vector, t.vector)


def test_growth_beyond_initial_capacity() -> None:
    gallery = Gallery("test", "v1", 128)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 128))
    for i, v in enumerate(vectors):
        gallery.add(f"r{i}", FaceTemplate(v, "test", "v1"))
    assert best(gallery, FaceTemplate(vectors[2999], "test", "v1"), 0.99)[0] == "r2999"
    assert best(gallery, FaceTemplate(vectors[5], "test", "v1"), 0.99)[0] == "r5"
