"""Repositories of face consents, encrypted templates and key rotation runs (I2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linli_identity.adapters.orm import face_consents, face_templates, key_rotations
from linli_identity.adapters.template_cipher import EncryptedTemplate, TemplateCipher
from linli_identity.domain.consent import FaceConsent, FaceEnrolment
from linli_identity.domain.key_rotation import KeyRotation
from linli_identity.service_layer.ports import FaceConsents, FaceTemplates, KeyRotations


class SqlFaceConsents(FaceConsents):
    """Consent records table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, consent: FaceConsent) -> None:
        """Store a new grant."""
        self.session.execute(
            sa.insert(face_consents).values(
                community_id=consent.community_id,
                id=consent.id,
                resident_id=consent.resident_id,
                purpose=consent.purpose,
                policy_version=consent.policy_version,
                retention_days=consent.retention_days,
                guardian_id=consent.guardian_id,
                granted_at=consent.granted_at,
                granted_by=consent.granted_by,
                expires_at=consent.expires_at,
            )
        )

    def save_withdrawal(self, consent: FaceConsent) -> None:
        """Store the withdrawal of a consent."""
        self.session.execute(
            sa.update(face_consents)
            .where(
                face_consents.c.community_id == consent.community_id,
                face_consents.c.id == consent.id,
            )
            .values(
                withdrawn_at=consent.withdrawn_at,
                withdrawn_by=consent.withdrawn_by,
                deleted_templates=consent.deleted_templates,
            )
        )

    def _many(
        self, *where: Any, order: Any = None, offset: int = 0, limit: int | None = None
    ) -> list[FaceConsent]:
        query = sa.select(face_consents).where(*where)
        if order is not None:
            query = query.order_by(*order)
        rows = self.session.execute(query.offset(offset).limit(limit)).all()
        return [_consent(row) for row in rows]

    def current(self, community_id: str, resident_id: str, purpose: str) -> FaceConsent | None:
        """The resident's not-withdrawn consent to a purpose (possibly lapsed), or None."""
        found = self._many(
            face_consents.c.community_id == community_id,
            face_consents.c.resident_id == resident_id,
            face_consents.c.purpose == purpose,
            face_consents.c.withdrawn_at.is_(None),
        )
        return found[0] if found else None

    def get(self, community_id: str, consent_id: str) -> FaceConsent | None:
        """A consent by id, or None."""
        found = self._many(
            face_consents.c.community_id == community_id, face_consents.c.id == consent_id
        )
        return found[0] if found else None

    def history(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[FaceConsent]:
        """A page of a resident's consents, newest first."""
        return self._many(
            face_consents.c.community_id == community_id,
            face_consents.c.resident_id == resident_id,
            order=(face_consents.c.granted_at.desc(), face_consents.c.id),
            offset=offset,
            limit=limit,
        )

    def lapsed(self, at: datetime, limit: int) -> list[FaceConsent]:
        """Consents not withdrawn whose retention ended by this time, oldest first."""
        return self._many(
            face_consents.c.withdrawn_at.is_(None),
            face_consents.c.expires_at <= at,
            order=(face_consents.c.expires_at,),
            limit=limit,
        )


def _consent(row: sa.Row[Any]) -> FaceConsent:
    fields = row._asdict()
    del fields["expires_at"]  # derived: the domain computes it from the grant
    return FaceConsent(**fields)


class SqlFaceTemplates(FaceTemplates):
    """Face templates table; templates are sealed with the community's key before storing."""

    def __init__(self, session: Session, cipher: TemplateCipher) -> None:
        super().__init__()
        self.session = session
        self.cipher = cipher

    def put(self, enrolment: FaceEnrolment) -> None:
        """Store a resident's template, replacing any earlier one."""
        sealed = self.cipher.encrypt(
            enrolment.community_id, enrolment.resident_id, enrolment.template
        ).to_bytes()
        self.delete(enrolment.community_id, enrolment.resident_id)
        self.session.execute(
            sa.insert(face_templates).values(
                community_id=enrolment.community_id,
                resident_id=enrolment.resident_id,
                consent_id=enrolment.consent_id,
                engine=enrolment.template.engine,
                model_version=enrolment.template.model_version,
                sealed=sealed,
                enrolled_at=enrolment.enrolled_at,
                photos=enrolment.photos,
            )
        )

    def get(self, community_id: str, resident_id: str) -> FaceEnrolment | None:
        """A resident's enrolment with its decrypted template, or None."""
        row = self.session.execute(
            sa.select(face_templates).where(
                face_templates.c.community_id == community_id,
                face_templates.c.resident_id == resident_id,
            )
        ).first()
        return None if row is None else _enrolment(row, self.cipher)

    def exists(self, community_id: str, resident_id: str) -> bool:
        """True if the resident has a template stored."""
        return (
            self.session.execute(
                sa.select(sa.literal(1)).where(
                    face_templates.c.community_id == community_id,
                    face_templates.c.resident_id == resident_id,
                )
            ).first()
            is not None
        )

    def delete(self, community_id: str, resident_id: str) -> int:
        """Delete a resident's templates; how many there were."""
        result = self.session.execute(
            sa.delete(face_templates).where(
                face_templates.c.community_id == community_id,
                face_templates.c.resident_id == resident_id,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def current_key_id(self, community_id: str) -> str:
        """The id of the key new templates of the community are encrypted with."""
        return self.cipher.current_key_id(community_id)

    def rotate_keys(self, community_id: str, after: str, limit: int) -> tuple[int, str | None]:
        """Re-encrypt under the current key the next `limit` templates after resident `after`."""
        rows = self.session.execute(
            sa.select(face_templates.c.resident_id, face_templates.c.sealed)
            .where(
                face_templates.c.community_id == community_id,
                face_templates.c.resident_id > after,
            )
            .order_by(face_templates.c.resident_id)
            .limit(limit)
        ).all()
        rotated = 0
        for row in rows:
            sealed = EncryptedTemplate.from_bytes(row.sealed)
            fresh = self.cipher.rotate(community_id, row.resident_id, sealed)
            if fresh is sealed:
                continue
            # Only if the row is unchanged: a template re-enrolled or deleted since it was read
            # (a concurrent enrolment or withdrawal) is never overwritten or brought back.
            result = self.session.execute(
                sa.update(face_templates)
                .where(
                    face_templates.c.community_id == community_id,
                    face_templates.c.resident_id == row.resident_id,
                    face_templates.c.sealed == row.sealed,
                )
                .values(sealed=fresh.to_bytes())
            )
            rotated += int(result.rowcount)  # type: ignore[attr-defined]
        return rotated, rows[-1].resident_id if len(rows) == limit else None

    def for_model(self, engine: str, model_version: str) -> Iterator[FaceEnrolment]:
        """Every stored enrolment made by this engine and model, decrypted, as it is read."""
        rows = self.session.execute(
            sa.select(face_templates)
            .where(
                face_templates.c.engine == engine, face_templates.c.model_version == model_version
            )
            .execution_options(yield_per=1000)
        )
        for row in rows:
            yield _enrolment(row, self.cipher)

    def count_other_models(self, engine: str, model_version: str) -> int:
        """How many stored templates another engine or model made (unusable until re-enrolled)."""
        return int(
            self.session.execute(
                sa.select(sa.func.count()).where(
                    sa.or_(
                        face_templates.c.engine != engine,
                        face_templates.c.model_version != model_version,
                    )
                )
            ).scalar_one()
        )


def _enrolment(row: sa.Row[Any], cipher: TemplateCipher) -> FaceEnrolment:
    template = cipher.decrypt(
        row.community_id, row.resident_id, EncryptedTemplate.from_bytes(row.sealed)
    )
    return FaceEnrolment(
        community_id=row.community_id,
        resident_id=row.resident_id,
        consent_id=row.consent_id,
        template=template,
        enrolled_at=row.enrolled_at,
        photos=row.photos,
    )


class SqlKeyRotations(KeyRotations):
    """Key rotation runs table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, rotation: KeyRotation) -> None:
        """Store a run that just started."""
        self.session.execute(sa.insert(key_rotations).values(**_rotation_row(rotation)))

    def get(self, community_id: str, rotation_id: str) -> KeyRotation | None:
        """A run by id, or None."""
        row = self.session.execute(
            sa.select(key_rotations).where(
                key_rotations.c.community_id == community_id, key_rotations.c.id == rotation_id
            )
        ).first()
        return None if row is None else KeyRotation(**row._asdict())

    def save(self, rotation: KeyRotation) -> None:
        """Store a run's progress."""
        self.session.execute(
            sa.update(key_rotations)
            .where(
                key_rotations.c.community_id == rotation.community_id,
                key_rotations.c.id == rotation.id,
            )
            .values(**_rotation_row(rotation))
        )


def _rotation_row(rotation: KeyRotation) -> dict[str, Any]:
    return {
        "community_id": rotation.community_id,
        "id": rotation.id,
        "key_id": rotation.key_id,
        "started_at": rotation.started_at,
        "re_encrypted": rotation.re_encrypted,
        "after": rotation.after,
        "finished_at": rotation.finished_at,
    }
