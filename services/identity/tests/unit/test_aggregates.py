"""An event recorded on any identity aggregate handed out by a repository is published."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

import linli_identity.domain
from linli_identity.domain.consent import FaceConsent, FaceEnrolment
from linli_identity.domain.face import FaceTemplate
from linli_identity.domain.login import LoginCode
from linli_identity.domain.mentoring import MentoringPair
from linli_identity.domain.org import OrgLevel, OrgUnit
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import ServedGroup, SpecialTeam, TeamService
from linli_identity.domain.tokens import RefreshToken
from linli_kit.domain import Aggregate, DomainEvent

C = "c-east"
T = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Noted(DomainEvent):
    """Something recorded on an aggregate by the test."""

    kind: str


def domain_aggregates() -> set[type[Aggregate]]:
    """Every Aggregate subclass defined in linli_identity.domain."""
    for module in pkgutil.iter_modules(linli_identity.domain.__path__):
        importlib.import_module(f"linli_identity.domain.{module.name}")
    found: set[type[Aggregate]] = set()
    todo = list(Aggregate.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("linli_identity.domain."):
            found.add(cls)
    return found


def template() -> FaceTemplate:
    return FaceTemplate(vector=np.ones(128), engine="fake", model_version="fake-1")


# For each aggregate: a stored example, and how a unit of work hands it out again.
HANDED_OUT: dict[type[Aggregate], tuple[Callable[[], Aggregate], Callable]] = {
    Community: (
        lambda: Community.create(C, "East Gate", T),
        lambda uow, a: (uow.communities.add(a), uow.communities.get(a.id))[1],
    ),
    Resident: (
        lambda: Resident.register(C, "Ann", "13800000001", "", T),
        lambda uow, a: (uow.residents.add(a), uow.residents.get(C, a.id))[1],
    ),
    OrgUnit: (
        lambda: OrgUnit.create(C, OrgLevel.COMMUNITY_HQ, "HQ", None, T),
        lambda uow, a: (uow.org_units.add(a), uow.org_units.get(C, a.id))[1],
    ),
    MentoringPair: (
        lambda: MentoringPair(
            community_id=C, id="m1", mentor_id="r1", newcomer_id="r2", started_at=T
        ),
        lambda uow, a: (uow.mentoring.add(a), uow.mentoring.of_resident(C, "r1")[0])[1],
    ),
    SpecialTeam: (
        lambda: SpecialTeam(
            community_id=C,
            id="t1",
            display_name="Visitors",
            served_group=ServedGroup.ELDERLY,
            services=(TeamService.HOME_VISIT,),
            lead_id="r1",
            org_unit_id=None,
            created_at=T,
        ),
        lambda uow, a: (uow.teams.add(a), uow.teams.get(C, a.id))[1],
    ),
    FaceConsent: (
        lambda: FaceConsent(
            community_id=C,
            id="c1",
            resident_id="r1",
            purpose="face_sign_in",
            policy_version="2026-01",
            retention_days=365,
            guardian_id=None,
            granted_at=T,
            granted_by="staff",
        ),
        lambda uow, a: (uow.consents.add(a), uow.consents.get(C, a.id))[1],
    ),
    FaceEnrolment: (
        lambda: FaceEnrolment(
            community_id=C, resident_id="r1", consent_id="c1", template=template(), enrolled_at=T
        ),
        lambda uow, a: (uow.templates.put(a), uow.templates.get(C, a.resident_id))[1],
    ),
    LoginCode: (
        lambda: LoginCode.issue(C, "13800000001", "r1", "123456", T),
        lambda uow, a: (uow.login_codes.add(a), uow.login_codes.get(C, a.id))[1],
    ),
    RefreshToken: (
        lambda: RefreshToken.start_family(C, "r1", set(), False, "k1", T),
        lambda uow, a: (uow.refresh_tokens.add(a), uow.refresh_tokens.get(C, a.id))[1],
    ),
}


def test_every_aggregate_type_is_covered() -> None:
    assert domain_aggregates() == set(HANDED_OUT)


@pytest.mark.parametrize(
    "kind", sorted(HANDED_OUT, key=lambda cls: cls.__name__), ids=lambda cls: cls.__name__
)
def test_an_event_on_a_handed_out_aggregate_is_published(uow, kind: type[Aggregate]) -> None:
    make, hand_out = HANDED_OUT[kind]
    with uow:
        stored = make()
        stored.events.clear()
        aggregate = hand_out(uow, stored)
        assert aggregate is not stored  # a copy, as from a database
        aggregate.events.append(Noted(community_id=C, occurred_at=T, kind=kind.__name__))
        uow.commit()

    assert uow.published == [Noted(community_id=C, occurred_at=T, kind=kind.__name__)]
