"""Consent to face biometrics (I2) and the face enrolments it allows.

A consent is separate (one purpose, its own record), versioned (the policy text agreed to)
and time-limited (retention). Withdrawal ends it and deletes the templates; the record of
the grant and of the withdrawal is kept for good.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli_identity.domain.face import FaceTemplate
from linli_identity.domain.residents import Resident, age_on
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument

FACE_SIGN_IN = "face_sign_in"
# Below this age a guardian consents instead of the child (PIPL art. 31).
GUARDIAN_NEEDED_UNDER = 14
GUARDIAN_MIN_AGE = 18
MAX_RETENTION_DAYS = 3650
MAX_POLICY_VERSION = 40
MAX_RECORDER = 200


@dataclass(frozen=True, kw_only=True)
class FaceConsentWithdrawn(DomainEvent):
    """A resident withdrew face consent; their templates were deleted in the same commit."""

    resident_id: str
    consent_id: str
    deleted_templates: int


@dataclass(frozen=True, kw_only=True)
class FaceEnrolled(DomainEvent):
    """A resident's face template was stored (first enrolment or a re-enrolment)."""

    resident_id: str
    engine: str
    model_version: str


@dataclass(kw_only=True, eq=False)
class FaceConsent(Aggregate):
    """One grant of consent to one purpose, and its withdrawal if any."""

    community_id: str
    id: str
    resident_id: str
    purpose: str
    policy_version: str
    retention_days: int
    guardian_id: str | None
    granted_at: datetime
    granted_by: str
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    # How many templates the withdrawal deleted; recorded so a retried request answers alike.
    deleted_templates: int = 0

    @classmethod
    def grant(
        cls,
        resident: Resident,
        policy_version: str,
        retention_days: int,
        recorded_by: str,
        at: datetime,
        guardian: Resident | None = None,
    ) -> FaceConsent:
        """Record a grant; a resident under 14 needs a guardian, an older one must not have one."""
        version = _text(policy_version, "policy_version", MAX_POLICY_VERSION)
        if not 1 <= retention_days <= MAX_RETENTION_DAYS:
            raise InvalidArgument(f"retention_days must be 1 to {MAX_RETENTION_DAYS}")
        recorder = _text(recorded_by, "recorded_by", MAX_RECORDER)
        _check_guardian(resident, guardian, at)
        return cls(
            community_id=resident.community_id,
            id=f"c{uuid.uuid4().hex}",
            resident_id=resident.id,
            purpose=FACE_SIGN_IN,
            policy_version=version,
            retention_days=retention_days,
            guardian_id=None if guardian is None else guardian.id,
            granted_at=at,
            granted_by=recorder,
        )

    @property
    def expires_at(self) -> datetime:
        """When the consent lapses unless renewed."""
        return self.granted_at + timedelta(days=self.retention_days)

    def make_way(self, at: datetime) -> None:
        """Refuse a new grant while this consent is active; a lapsed one may be replaced."""
        if self.active_at(at):
            raise AlreadyExists("the resident already has an active face consent")

    def active_at(self, at: datetime) -> bool:
        """True if the consent is neither withdrawn nor lapsed at this time."""
        return self.withdrawn_at is None and at < self.expires_at

    def withdraw(self, recorded_by: str, at: datetime, deleted_templates: int) -> None:
        """End the consent; the caller has deleted the templates in the same unit of work."""
        if self.withdrawn_at is not None:
            raise FailedPrecondition("this face consent was already withdrawn")
        self.withdrawn_by = _text(recorded_by, "recorded_by", MAX_RECORDER)
        self.withdrawn_at = at
        self.deleted_templates = deleted_templates
        self.events.append(
            FaceConsentWithdrawn(
                community_id=self.community_id,
                occurred_at=at,
                resident_id=self.resident_id,
                consent_id=self.id,
                deleted_templates=deleted_templates,
            )
        )


@dataclass(kw_only=True, eq=False)
class FaceEnrolment(Aggregate):
    """A resident's face template, held under an active consent."""

    community_id: str
    resident_id: str
    consent_id: str
    template: FaceTemplate
    enrolled_at: datetime
    # How many photos the template is the mean of.
    photos: int = 1

    @property
    def id(self) -> str:
        """An enrolment is known by its resident: each has at most one."""
        return self.resident_id

    @classmethod
    def enrol(
        cls, consent: FaceConsent | None, template: FaceTemplate, at: datetime, photos: int = 1
    ) -> FaceEnrolment:
        """An enrolment under the resident's consent; FailedPrecondition without an active one."""
        consent = require_active(consent, at)
        enrolment = cls(
            community_id=consent.community_id,
            resident_id=consent.resident_id,
            consent_id=consent.id,
            template=template,
            enrolled_at=at,
            photos=photos,
        )
        enrolment.events.append(
            FaceEnrolled(
                community_id=consent.community_id,
                occurred_at=at,
                resident_id=consent.resident_id,
                engine=template.engine,
                model_version=template.model_version,
            )
        )
        return enrolment


def require_active(consent: FaceConsent | None, at: datetime) -> FaceConsent:
    """The consent if it is active at this time, else FailedPrecondition."""
    if consent is None or not consent.active_at(at):
        raise FailedPrecondition(
            "face biometrics need the resident's active consent to face sign-in; "
            "record it first (GrantFaceConsent)"
        )
    return consent


def _check_guardian(resident: Resident, guardian: Resident | None, at: datetime) -> None:
    minor = (
        resident.birth_date is not None
        and age_on(resident.birth_date, at.date()) < GUARDIAN_NEEDED_UNDER
    )
    if guardian is None:
        if minor:
            raise FailedPrecondition(
                f"the resident is under {GUARDIAN_NEEDED_UNDER}: a guardian must give consent"
            )
        return
    if not minor:
        raise FailedPrecondition(
            f"only a resident under {GUARDIAN_NEEDED_UNDER} (by recorded birth date) has a "
            "guardian consent for them"
        )
    if guardian.community_id != resident.community_id or guardian.id == resident.id:
        raise InvalidArgument("the guardian must be another resident of the same community")
    if (
        guardian.birth_date is not None
        and age_on(guardian.birth_date, at.date()) < GUARDIAN_MIN_AGE
    ):
        raise FailedPrecondition(f"a guardian must be at least {GUARDIAN_MIN_AGE} years old")


def _text(value: str, field_name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidArgument(f"{field_name} is required")
    if len(text) > limit:
        raise InvalidArgument(f"{field_name} is longer than {limit} characters")
    return text
