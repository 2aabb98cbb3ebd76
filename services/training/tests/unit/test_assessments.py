"""The growth assessment (T4): the instruments' published scoring, and who may read a result."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from linli_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from linli_kit.principals import Kind, Principal, Role
from linli_kit.testing import load_beside
from linli_training.config import TrainingSettings
from linli_training.domain.instruments import BRS, INSTRUMENTS, TEQ, catalogue
from linli_training.service_layer import assessments, commands

fakes = load_beside(__file__, "fakes.py", "linli_training_unit_fakes")
C, ALICE, BOB, STAFF, GRID_HEAD = fakes.C, fakes.ALICE, fakes.BOB, fakes.STAFF, fakes.GRID_HEAD
TEQ_REVERSED = {2, 4, 7, 10, 11, 12, 14, 15}


@pytest.mark.parametrize(
    ("answers", "score", "band"),
    [
        # 4, 2→4, 3, 3→3, 4, 2→4: 22 / 6 = 3.67, normal resilience.
        ((4, 2, 3, 3, 4, 2), 367, "normal"),
        # 2, 4→2, 2, 4→2, 2, 4→2: 12 / 6 = 2.00, low.
        ((2, 4, 2, 4, 2, 4), 200, "low"),
        # Agreeing with everything is 18 / 6 = 3.00: the reversed items cancel out.
        ((5, 5, 5, 5, 5, 5), 300, "normal"),
        # 26 / 6 = 4.33, above 4.30: high.
        ((5, 2, 4, 2, 5, 2), 433, "high"),
        ((5, 1, 5, 1, 5, 1), 500, "high"),
    ],
)
def test_the_brief_resilience_scale_scores_as_published(answers, score, band) -> None:
    assert BRS.score(answers) == score
    assert BRS.band(score).name == band


def test_the_brs_reverses_items_2_4_6_and_the_teq_the_published_eight() -> None:
    assert [i.number for i in BRS.items if i.reverse_scored] == [2, 4, 6]
    assert {i.number for i in TEQ.items if i.reverse_scored} == TEQ_REVERSED
    assert (len(BRS.items), BRS.lowest, BRS.highest) == (6, 1, 5)
    assert (len(TEQ.items), TEQ.lowest, TEQ.highest) == (16, 0, 4)
    assert all(i.text_zh and i.text_en for i in (*BRS.items, *TEQ.items))
    assert "Smith" in BRS.source and "Spreng" in TEQ.source


@pytest.mark.parametrize(
    ("answer_of", "total", "band"),
    [
        # "Always" to everything: 8 × 4 + 8 × 0 = 32.
        (lambda n: 4, 32, "lower"),
        # The most empathic answers: 4 to the others, 0 to the reversed: 64.
        (lambda n: 0 if n in TEQ_REVERSED else 4, 64, "higher"),
        # Often (3) to the others, rarely (1) to the reversed: 8 × 3 + 8 × 3 = 48.
        (lambda n: 1 if n in TEQ_REVERSED else 3, 48, "typical"),
        # Never to everything: 8 × 0 + 8 × 4 = 32.
        (lambda n: 0, 32, "lower"),
    ],
)
def test_the_toronto_empathy_questionnaire_sums_as_published(answer_of, total, band) -> None:
    answers = [answer_of(n) for n in range(1, 17)]
    assert TEQ.score(answers) == total * 100
    assert TEQ.band(total * 100).name == band


def test_answers_off_the_scale_or_too_few_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="6 items"):
        BRS.score([3, 3, 3])
    with pytest.raises(InvalidArgument, match="1 to 5"):
        BRS.score([0, 3, 3, 3, 3, 3])
    with pytest.raises(InvalidArgument, match="0 to 4"):
        TEQ.score([5] * 16)


def _submit(uow_factory, clock, actor=ALICE, instrument="brs", answers=(4, 2, 3, 3, 4, 2), rid="a"):
    return assessments.submit_assessment(
        commands.SubmitAssessment(
            community_id=C,
            resident_id="r-alice",
            instrument_id=instrument,
            answers=tuple(answers),
            request_id=rid,
            actor=actor,
        ),
        uow_factory(),
        clock,
    )


def _read(uow_factory, actor):
    return assessments.list_assessments(actor, C, "r-alice", 0, 10, uow_factory())[0]


def test_a_result_is_advised_and_read_by_the_resident_and_social_workers_only(
    uow_factory, clock
) -> None:
    result = _submit(uow_factory, clock)
    assert (result.score, result.band, result.year) == (367, "normal", 2026)
    assert result.advice_zh and result.advice_en

    assert [a.id for a in _read(uow_factory, ALICE)] == [result.id]
    assert [a.id for a in _read(uow_factory, STAFF)] == [result.id]
    for stranger in (BOB, GRID_HEAD, Principal(Kind.SERVICE, "points", C)):
        with pytest.raises(PermissionDenied):
            _read(uow_factory, stranger)
    with pytest.raises(NotFound):
        _read(uow_factory, fakes.person("r-x", Role.SOCIAL_WORKER, community="c-west"))
    with pytest.raises(NotFound):
        _read(uow_factory, Principal(Kind.PARTNER, "bank", "c-west"))
    with pytest.raises(PermissionDenied):
        _submit(uow_factory, clock, actor=BOB, instrument="teq", answers=[2] * 16, rid="b")


def test_one_result_a_year_per_instrument_and_a_social_worker_may_enter_a_paper_form(
    uow_factory, clock
) -> None:
    _submit(uow_factory, clock)
    with pytest.raises(FailedPrecondition, match="already assessed"):
        _submit(uow_factory, clock, rid="again")
    paper = _submit(uow_factory, clock, actor=STAFF, instrument="teq", answers=[2] * 16, rid="p")
    assert (paper.score, paper.recorded_by) == (3200, "r-staff")


def test_declining_deletes_the_years_results_and_blocks_new_ones(uow_factory, clock) -> None:
    _submit(uow_factory, clock)
    with pytest.raises(PermissionDenied):
        assessments.decline_assessment(
            commands.DeclineAssessment(C, "r-alice", "d", actor=STAFF), uow_factory(), clock
        )
    declined = assessments.decline_assessment(
        commands.DeclineAssessment(C, "r-alice", "d", actor=ALICE), uow_factory(), clock
    )

    assert [(a.declined, a.answers, a.score) for a in _read(uow_factory, ALICE)] == [(True, (), 0)]
    assert declined.instrument_id == ""
    with pytest.raises(FailedPrecondition, match="declined"):
        _submit(uow_factory, clock, instrument="teq", answers=[2] * 16, rid="after")


def test_the_teq_bands_are_a_setting_of_each_community(uow_factory, clock) -> None:
    settings = TrainingSettings(
        database_url="sqlite://",
        redis_url="redis://nowhere.invalid:6379/0",
        teq_bands={C: (30, 50), "*": (42, 58)},
    )
    ours, elsewhere = catalogue(settings.bands_of(C)), catalogue(settings.bands_of("c-west"))
    answers = [2] * 16  # 8 × 2 + 8 × 2 = 32

    result = assessments.submit_assessment(
        commands.SubmitAssessment(
            community_id=C,
            resident_id="r-alice",
            instrument_id="teq",
            answers=tuple(answers),
            request_id="teq",
            actor=ALICE,
        ),
        uow_factory(),
        clock,
        ours,
    )

    assert (result.score, result.band) == (3200, "typical")  # lower below 40 by default
    assert [(b.lowest, b.highest) for b in ours["teq"].bands] == [
        (0, 2999),
        (3000, 4999),
        (5000, 6400),
    ]
    assert (
        "below 30 lower" in ours["teq"].scoring
        and "setting of the community" in ours["teq"].scoring
    )
    assert (
        elsewhere["teq"].band(4100).name == "lower"
        and INSTRUMENTS["teq"].band(4100).name == "typical"
    )
    assert ours["brs"] is BRS  # the BRS keeps its published bands
    with pytest.raises(ValidationError, match="teq_bands"):
        TrainingSettings(
            database_url="sqlite://", redis_url="redis://x:1/0", teq_bands={C: (50, 40)}
        )
