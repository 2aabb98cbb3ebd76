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


def near(base: FaceTemplate, seed: int, noise: float = 0.1) -> FaceTemplate:
    jitter = np.random.default_rng(seed).normal(size=base.dimension) * noise / 10
    return FaceTemplate(base.vector + jitter, base.engine, base.model_version)


def test_identify_finds_the_enrolled_person_and_names_nobody_below_threshold() -> None:
    gallery = Gallery("test", "v1", 128)
    people = {f"r{i}": tpl(i) for i in range(50)}
    for rid, t in people.items():
        gallery.add(rid, t)
    match = gallery.identify(near(people["r17"], 1), threshold=0.9)
    assert (match.matched, match.resident_id) == (True, "r17")
    assert match.similarity > 0.9 and (match.engine, match.model_version) == ("test", "v1")
    stranger = gallery.identify(tpl(999), threshold=0.9)
    assert not stranger.matched and stranger.resident_id is None
    assert stranger.similarity < 0.9


def test_removed_resident_is_no_longer_found() -> None:
    gallery = Gallery("test", "v1", 128)
    for i in range(5):
        gallery.add(f"r{i}", tpl(i))
    assert gallery.remove("r1") is True
    assert gallery.remove("r1") is False
    assert "r1" not in gallery and len(gallery) == 4
    assert not gallery.identify(tpl(1), 0.9).matched
    # The row moved into the hole is still found under its own id.
    assert gallery.identify(tpl(4), 0.9).resident_id == "r4"


def test_add_replace_errors_and_replace_takes_effect() -> None:
    gallery = Gallery("test", "v1", 128)
    gallery.add("r1", tpl(1))
    with pytest.raises(AlreadyExists):
        gallery.add("r1", tpl(2))
    with pytest.raises(NotFound):
        gallery.replace("r2", tpl(2))
    gallery.replace("r1", tpl(3))
    assert not gallery.identify(tpl(1), 0.9).matched
    assert gallery.identify(tpl(3), 0.9).resident_id == "r1"


def test_templates_of_another_engine_are_refused() -> None:
    gallery = Gallery("test", "v1", 128)
    with pytest.raises(TemplateMismatch):
        gallery.add("r1", tpl(1, engine="other"))
    with pytest.raises(TemplateMismatch):
        gallery.identify(tpl(1, dim=512), 0.5)


def test_empty_gallery_matches_nobody() -> None:
    match = Gallery("test", "v1", 128).identify(tpl(1), 0.5)
    assert not match.matched and match.resident_id is None


def test_communities_are_separate() -> None:
    galleries = Galleries("test", "v1", 128)
    galleries.for_community("c1").add("r1", tpl(1))
    assert galleries.for_community("c1") is galleries.for_community("c1")
    assert not galleries.for_community("c2").identify(tpl(1), 0.9).matched


ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "replace"]), st.integers(0, 40), st.integers()),
    max_size=300,
)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_gallery_matches_a_brute_force_model(operations: list[tuple[str, int, int]]) -> None:
    """After any sequence of enrol/replace/withdraw, identify agrees with a plain dict search."""
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
        match = gallery.identify(t, threshold=0.99)
        assert match.matched
        assert match.similarity == pytest.approx(1.0, abs=1e-5)
        # Two residents may hold the same template; either is then a right answer.
        assert np.array_equal(model[match.resident_id].vector, t.vector)


def test_growth_beyond_initial_capacity() -> None:
    gallery = Gallery("test", "v1", 128)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 128))
    for i, v in enumerate(vectors):
        gallery.add(f"r{i}", FaceTemplate(v, "test", "v1"))
    assert gallery.identify(FaceTemplate(vectors[2999], "test", "v1"), 0.99).resident_id == "r2999"
    assert gallery.identify(FaceTemplate(vectors[5], "test", "v1"), 0.99).resident_id == "r5"
