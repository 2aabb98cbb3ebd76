"""The yearly growth assessment (T4): one result per resident, instrument and local year.

A result is personal data. It is read by the resident and by the social workers of their
community only (`domain.access`), never published on a stream. A resident may decline a
year's assessment: the decline deletes that year's results and blocks new ones that year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from linli_kit.domain import new_id
from linli_kit.errors import FailedPrecondition
from linli_training.domain.instruments import Instrument
from linli_training.domain.sessions import local_year


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """A scored, banded and advised result, or a declined year (no instrument, no answers)."""

    community_id: str
    id: str
    resident_id: str
    year: int
    created_at: datetime
    recorded_by: str
    instrument_id: str = ""
    declined: bool = False
    answers: tuple[int, ...] = ()
    score: int = 0
    band: str = ""
    advice_zh: str = ""
    advice_en: str = ""


def _require_open(earlier: Sequence[Assessment], instrument_id: str) -> None:
    if any(a.declined for a in earlier):
        raise FailedPrecondition("the resident declined this year's assessment")
    if any(a.instrument_id == instrument_id for a in earlier):
        raise FailedPrecondition("the resident was already assessed with it this year")


def assess(
    community_id: str,
    resident_id: str,
    tool: Instrument,
    answers: Sequence[int],
    recorded_by: str,
    this_year: Sequence[Assessment],
    at: datetime,
) -> Assessment:
    """Score a year's answers; refused if declined or already assessed with the instrument."""
    _require_open(this_year, tool.id)
    score = tool.score(answers)
    band = tool.band(score)
    return Assessment(
        community_id=community_id,
        id=new_id("g"),
        resident_id=resident_id,
        year=local_year(at),
        created_at=at,
        recorded_by=recorded_by,
        instrument_id=tool.id,
        answers=tuple(answers),
        score=score,
        band=band.name,
        advice_zh=band.advice_zh,
        advice_en=band.advice_en,
    )


def decline(
    community_id: str, resident_id: str, this_year: Sequence[Assessment], at: datetime
) -> Assessment:
    """The resident's decline of the year's assessment; refused if already declined."""
    if any(a.declined for a in this_year):
        raise FailedPrecondition("the resident already declined this year's assessment")
    return Assessment(
        community_id=community_id,
        id=new_id("g"),
        resident_id=resident_id,
        year=local_year(at),
        created_at=at,
        recorded_by=resident_id,
        declined=True,
    )
