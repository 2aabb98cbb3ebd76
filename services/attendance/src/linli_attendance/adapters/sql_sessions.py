"""The sessions repository on SQLAlchemy Core, with the append-only corrections table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_attendance.adapters.orm import session_corrections, sessions
from linli_attendance.domain.activities import (
    Correction,
    FaceMatch,
    Proof,
    Session,
    SessionStatus,
    SignInMethod,
    Window,
)
from linli_attendance.service_layer.ports import Sessions

# The open-set evidence kept in the face_record JSON column beside the first four fields.
RECORD_FIELDS = (
    "gallery_size",
    "second_similarity",
    "required_margin",
    "verification_threshold",
    "agreeing_frames",
    "frames",
    "needs_confirmation",
)


def _face(values: dict[str, Any], prefix: str) -> FaceMatch | None:
    if values[f"{prefix}face_engine"] is None:
        return None
    record = values[f"{prefix}face_record"] or {}
    return FaceMatch(
        values[f"{prefix}face_engine"],
        values[f"{prefix}face_model_version"],
        values[f"{prefix}face_similarity"],
        values[f"{prefix}face_threshold"],
        **{name: record[name] for name in RECORD_FIELDS if name in record},
    )


def _face_columns(face: FaceMatch | None, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}face_engine": face and face.engine,
        f"{prefix}face_model_version": face and face.model_version,
        f"{prefix}face_similarity": face and face.similarity,
        f"{prefix}face_threshold": face and face.threshold,
        f"{prefix}face_record": face and {name: getattr(face, name) for name in RECORD_FIELDS},
    }


def _session(row: Any, corrections: list[Correction]) -> Session:
    v = row._asdict()
    sign_out_proof = None
    if v["out_method"] is not None:
        sign_out_proof = Proof(
            SignInMethod(v["out_method"]),
            v["out_confirmed_by"],
            v["out_kiosk_id"],
            _face(v, "out_"),
        )
    return Session(
        community_id=v["community_id"],
        activity_id=v["activity_id"],
        id=v["id"],
        resident_id=v["resident_id"],
        sign_in_proof=Proof(
            SignInMethod(v["method"]), v["confirmed_by"], v["kiosk_id"], _face(v, "")
        ),
        signed_in_at=v["signed_in_at"],
        window=Window(v["window_starts_at"], v["window_ends_at"]),
        status=SessionStatus(v["status"]),
        signed_out_at=v["signed_out_at"],
        sign_out_proof=sign_out_proof,
        duration_seconds=v["duration_seconds"],
        completed_at=v["completed_at"],
        reviewed_by=v["reviewed_by"],
        checklist_done=tuple(v["checklist_done"]),
        corrections=corrections,
        served=tuple(v["served"]),
        paper_sheet_reason=v["paper_sheet_reason"],
    )


def _session_changes(session: Session) -> dict[str, Any]:
    out = session.sign_out_proof
    return {
        "signed_out_at": session.signed_out_at,
        "duration_seconds": session.duration_seconds,
        "status": session.status.value,
        "completed_at": session.completed_at,
        "reviewed_by": session.reviewed_by,
        "checklist_done": list(session.checklist_done),
        "served": list(session.served),
        "out_method": out and out.method.value,
        "out_confirmed_by": out and out.confirmed_by,
        "out_kiosk_id": out and out.kiosk_id,
        **_face_columns(out.face if out else None, "out_"),
    }


# The statements of a sign-in and a sign-out, built once (building one costs more CPU than
# running it); their values are bound at each execution.
_GET = sa.select(sessions).where(
    sessions.c.community_id == sa.bindparam("community_id"),
    sessions.c.id == sa.bindparam("session_id"),
)
# Its SET clause comes from the values given (column names); the keys are named apart.
_UPDATE = sa.update(sessions).where(
    sessions.c.community_id == sa.bindparam("in_community"),
    sessions.c.id == sa.bindparam("in_session"),
)
_OPEN_FOR = sa.select(sessions).where(
    sessions.c.community_id == sa.bindparam("community_id"),
    sessions.c.activity_id == sa.bindparam("activity_id"),
    sessions.c.resident_id == sa.bindparam("resident_id"),
    sessions.c.signed_out_at.is_(None),
)
_OF_RESIDENT = (
    sa.select(sessions)
    .where(
        sessions.c.community_id == sa.bindparam("community_id"),
        sessions.c.resident_id == sa.bindparam("resident_id"),
        sessions.c.signed_in_at < sa.bindparam("until"),
        sa.or_(
            sessions.c.signed_out_at.is_(None), sessions.c.signed_out_at > sa.bindparam("since")
        ),
    )
    .order_by(sessions.c.signed_in_at)
)
_OF_RESIDENT_LOCKED = _OF_RESIDENT.with_for_update()
_CORRECTIONS_OF = (
    sa.select(session_corrections)
    .where(
        sa.tuple_(session_corrections.c.community_id, session_corrections.c.session_id).in_(
            sa.bindparam("keys", expanding=True)
        )
    )
    .order_by(session_corrections.c.seq)
)
_COUNT_CORRECTIONS = sa.select(sa.func.count()).where(
    session_corrections.c.community_id == sa.bindparam("community_id"),
    session_corrections.c.session_id == sa.bindparam("session_id"),
)


class SqlSessions(Sessions):
    """Sessions table with the append-only corrections table."""

    def __init__(self, session: DbSession) -> None:
        super().__init__()
        self.db = session
        # How many corrections of each session loaded are stored, so save() need not count.
        self._stored: dict[tuple[str, str], int] = {}

    def add(self, session: Session) -> None:
        """Store a new (open) session."""
        proof = session.sign_in_proof
        self.db.execute(
            sa.insert(sessions).values(
                community_id=session.community_id,
                id=session.id,
                activity_id=session.activity_id,
                resident_id=session.resident_id,
                method=proof.method.value,
                confirmed_by=proof.confirmed_by,
                kiosk_id=proof.kiosk_id,
                **_face_columns(proof.face, ""),
                signed_in_at=session.signed_in_at,
                window_starts_at=session.window.starts_at,
                window_ends_at=session.window.ends_at,
                paper_sheet_reason=session.paper_sheet_reason,
                **_session_changes(session),
            )
        )

    def _load(self, query: sa.Select[Any], values: dict[str, Any] | None = None) -> list[Session]:
        rows = self.db.execute(query, values).all()
        history: dict[tuple[str, str], list[Correction]] = {}
        # An open session has no corrections (Session.correct refuses one): a sign-out's
        # reads, of open sessions mostly, ask for none.
        closed = [(r.community_id, r.id) for r in rows if r.status != SessionStatus.OPEN]
        if closed:
            for c in self.db.execute(_CORRECTIONS_OF, {"keys": closed}).all():
                history.setdefault((c.community_id, c.session_id), []).append(
                    Correction(
                        c.previous_duration_seconds,
                        c.duration_seconds,
                        c.corrected_by,
                        c.reason,
                        c.corrected_at,
                    )
                )
        for row in rows:
            key = (row.community_id, row.id)
            self._stored[key] = len(history.get(key, ()))
        return [_session(row, history.get((row.community_id, row.id), [])) for row in rows]

    def get(self, community_id: str, session_id: str) -> Session | None:
        """A session by id, or None."""
        found = self._load(_GET, {"community_id": community_id, "session_id": session_id})
        return found[0] if found else None

    def open_for(
        self, community_id: str, activity_id: str, resident_id: str, lock: bool = False
    ) -> Session | None:
        """The resident's open session at the activity, locked for update if asked."""
        values = {"community_id": community_id, "activity_id": activity_id}
        query = _OPEN_FOR.with_for_update() if lock else _OPEN_FOR
        found = self._load(query, {**values, "resident_id": resident_id})
        return found[0] if found else None

    def of_resident(
        self,
        community_id: str,
        resident_id: str,
        since: datetime,
        until: datetime,
        lock: bool = False,
    ) -> list[Session]:
        """The resident's sessions whose time (open ones: from sign-in on) meets [since, until),
        locked for update if asked."""
        return self._load(
            _OF_RESIDENT_LOCKED if lock else _OF_RESIDENT,
            {
                "community_id": community_id,
                "resident_id": resident_id,
                "since": since,
                "until": until,
            },
        )

    def at_occurrence(
        self, community_id: str, activity_id: str, window_start: datetime
    ) -> list[Session]:
        """Every session signed in to one occurrence of an activity."""
        return self._load(
            sa.select(sessions).where(
                sessions.c.community_id == community_id,
                sessions.c.activity_id == activity_id,
                sessions.c.window_starts_at == window_start,
            )
        )

    def forgotten(self, window_ended_before: datetime, limit: int) -> list[Session]:
        """Open sessions whose occurrence ended before the time, locked for update."""
        return self._load(
            sa.select(sessions)
            .where(
                sessions.c.signed_out_at.is_(None),
                sessions.c.window_ends_at < window_ended_before,
            )
            .order_by(sessions.c.window_ends_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    def save(self, session: Session) -> None:
        """Store a session's changes and any new corrections."""
        key = {"in_community": session.community_id, "in_session": session.id}
        self.db.execute(_UPDATE, {**key, **_session_changes(session)})
        loaded = (session.community_id, session.id)
        stored = self._stored.get(loaded)
        if stored is None:
            one = {"community_id": session.community_id, "session_id": session.id}
            stored = self.db.execute(_COUNT_CORRECTIONS, one).scalar_one()
        self._stored[loaded] = len(session.corrections)
        for seq, correction in enumerate(session.corrections[stored:], start=stored + 1):
            self.db.execute(
                sa.insert(session_corrections).values(
                    community_id=session.community_id,
                    session_id=session.id,
                    seq=seq,
                    previous_duration_seconds=correction.previous_duration_seconds,
                    duration_seconds=correction.duration_seconds,
                    corrected_by=correction.corrected_by,
                    reason=correction.reason,
                    corrected_at=correction.corrected_at,
                )
            )
