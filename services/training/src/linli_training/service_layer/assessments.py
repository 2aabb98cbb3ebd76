"""Use cases of the yearly growth assessment (T4): answer, decline, read — personal data."""

from __future__ import annotations

from collections.abc import Mapping

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent
from linli_training.domain import access, assessments
from linli_training.domain.assessments import Assessment
from linli_training.domain.instruments import INSTRUMENTS, Instrument, instrument
from linli_training.domain.sessions import local_year
from linli_training.service_layer.commands import DeclineAssessment, SubmitAssessment
from linli_training.service_layer.ports import TrainingUnitOfWork


def _reload(
    uow: TrainingUnitOfWork, cmd: SubmitAssessment | DeclineAssessment, ref: str
) -> Assessment:
    year, _, assessment_id = ref.partition(":")
    found = [
        a
        for a in uow.assessments.of_year(cmd.community_id, cmd.resident_id, int(year))
        if a.id == assessment_id
    ]
    if not found:
        raise NotFound("the assessment was declined and deleted since")
    return found[0]


def _reference(assessment: Assessment) -> str:
    return f"{assessment.year}:{assessment.id}"


@idempotent(_reload, reference=_reference)
def submit_assessment(
    cmd: SubmitAssessment,
    uow: TrainingUnitOfWork,
    clock: Clock = utc_now,
    tools: Mapping[str, Instrument] = INSTRUMENTS,
) -> Assessment:
    """The resident (or a social worker entering their paper form) answers an instrument.

    `tools` are the instruments as the resident's community bands them.
    """
    access.require_assessment_reader(cmd.actor, cmd.community_id, cmd.resident_id)
    tool = instrument(cmd.instrument_id, tools)
    now = clock()
    result = assessments.assess(
        cmd.community_id,
        cmd.resident_id,
        tool,
        cmd.answers,
        cmd.actor.resident_id,
        uow.assessments.of_year(cmd.community_id, cmd.resident_id, local_year(now)),
        now,
    )
    uow.assessments.add(result)
    return result


@idempotent(_reload, reference=_reference)
def decline_assessment(
    cmd: DeclineAssessment, uow: TrainingUnitOfWork, clock: Clock = utc_now
) -> Assessment:
    """The resident declines this year's assessment; the year's results are deleted."""
    access.require_resident_themself(cmd.actor, cmd.community_id, cmd.resident_id)
    now = clock()
    year = local_year(now)
    declined = assessments.decline(
        cmd.community_id,
        cmd.resident_id,
        uow.assessments.of_year(cmd.community_id, cmd.resident_id, year),
        now,
    )
    uow.assessments.delete_year(cmd.community_id, cmd.resident_id, year)
    uow.assessments.add(declined)
    return declined


def list_assessments(
    actor: Principal,
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: TrainingUnitOfWork,
) -> tuple[list[Assessment], bool]:
    """A page of a resident's results, newest first, for them and their social workers."""
    access.require_assessment_reader(actor, community_id, resident_id)
    with uow:
        found = uow.assessments.page(community_id, resident_id, offset, limit + 1)
    return found[:limit], len(found) > limit
