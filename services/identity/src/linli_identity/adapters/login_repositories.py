"""Repositories of login codes, refresh tokens, staff passwords and the login audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linli_identity.adapters.orm import auth_events, login_codes, refresh_tokens, staff_passwords
from linli_identity.domain.login import AuthEvent, AuthEventKind, LoginCode
from linli_identity.domain.tokens import RefreshToken
from linli_identity.service_layer.ports import AuthEvents, LoginCodes, RefreshTokens, StaffPasswords


class SqlLoginCodes(LoginCodes):
    """The login_codes table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, code: LoginCode) -> None:
        """Store a code just sent."""
        self.session.execute(
            sa.insert(login_codes).values(
                community_id=code.community_id,
                id=code.id,
                phone=code.phone,
                resident_id=code.resident_id,
                code_hash=code.code_hash,
                created_at=code.created_at,
                expires_at=code.expires_at,
                used_at=code.used_at,
            )
        )

    def _one(self, *where: Any) -> LoginCode | None:
        query = sa.select(login_codes).where(*where)
        row = self.session.execute(query.order_by(login_codes.c.created_at.desc())).first()
        return None if row is None else LoginCode(**row._asdict())

    def get(self, community_id: str, code_id: str) -> LoginCode | None:
        """A code by id, or None."""
        return self._one(login_codes.c.community_id == community_id, login_codes.c.id == code_id)

    def latest(self, community_id: str, phone: str) -> LoginCode | None:
        """The code sent to the phone most recently, or None (locked: one login uses it)."""
        query = (
            sa.select(login_codes)
            .where(login_codes.c.community_id == community_id, login_codes.c.phone == phone)
            .order_by(login_codes.c.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        row = self.session.execute(query).first()
        return None if row is None else LoginCode(**row._asdict())

    def sent_since(self, community_id: str, phone: str, since: datetime) -> list[datetime]:
        """When codes were sent to the phone after a time."""
        query = sa.select(login_codes.c.created_at).where(
            login_codes.c.community_id == community_id,
            login_codes.c.phone == phone,
            login_codes.c.created_at > since,
        )
        return list(self.session.execute(query).scalars())

    def save_use(self, code: LoginCode) -> None:
        """Store that a code was used; a concurrent use of the same code finds it used."""
        self.session.execute(
            sa.update(login_codes)
            .where(login_codes.c.community_id == code.community_id, login_codes.c.id == code.id)
            .values(used_at=code.used_at)
        )


def _token(row: sa.Row[Any]) -> RefreshToken:
    values = row._asdict()
    values["roles"] = tuple(filter(None, values["roles"].split(",")))
    return RefreshToken(**values)


class SqlRefreshTokens(RefreshTokens):
    """The refresh_tokens table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, token: RefreshToken) -> None:
        """Store a token just issued."""
        self.session.execute(
            sa.insert(refresh_tokens).values(
                community_id=token.community_id,
                id=token.id,
                family_id=token.family_id,
                resident_id=token.resident_id,
                roles=",".join(token.roles),
                by_password=token.by_password,
                key_id=token.key_id,
                access_jti=token.access_jti,
                issued_at=token.issued_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
                revoked_at=token.revoked_at,
            )
        )

    def get(self, community_id: str, token_id: str) -> RefreshToken | None:
        """A token by id, or None (locked: two refreshes of one token run one after the other)."""
        query = (
            sa.select(refresh_tokens)
            .where(refresh_tokens.c.community_id == community_id, refresh_tokens.c.id == token_id)
            .with_for_update()
        )
        row = self.session.execute(query).first()
        return None if row is None else _token(row)

    def save_use(self, token: RefreshToken) -> None:
        """Store that a token was used up."""
        self.session.execute(
            sa.update(refresh_tokens)
            .where(
                refresh_tokens.c.community_id == token.community_id,
                refresh_tokens.c.id == token.id,
            )
            .values(used_at=token.used_at)
        )

    def _revoke(self, at: datetime, *where: Any) -> int:
        result = self.session.execute(
            sa.update(refresh_tokens)
            .where(*where, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def revoke_family(self, community_id: str, family_id: str, at: datetime) -> int:
        """Revoke every live token of a family; how many there were."""
        return self._revoke(
            at,
            refresh_tokens.c.community_id == community_id,
            refresh_tokens.c.family_id == family_id,
        )

    def revoke_resident(self, community_id: str, resident_id: str, at: datetime) -> int:
        """Revoke every live token of a person; how many there were."""
        return self._revoke(
            at,
            refresh_tokens.c.community_id == community_id,
            refresh_tokens.c.resident_id == resident_id,
        )


class SqlStaffPasswords(StaffPasswords):
    """The staff_passwords table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def put(self, community_id: str, resident_id: str, password_hash: str, at: datetime) -> None:
        """Store a person's password hash, replacing any earlier one."""
        where = (
            staff_passwords.c.community_id == community_id,
            staff_passwords.c.resident_id == resident_id,
        )
        self.session.execute(sa.delete(staff_passwords).where(*where))
        self.session.execute(
            sa.insert(staff_passwords).values(
                community_id=community_id,
                resident_id=resident_id,
                password_hash=password_hash,
                set_at=at,
            )
        )

    def get(self, community_id: str, resident_id: str) -> str | None:
        """A person's password hash, or None."""
        query = sa.select(staff_passwords.c.password_hash).where(
            staff_passwords.c.community_id == community_id,
            staff_passwords.c.resident_id == resident_id,
        )
        return self.session.execute(query).scalar()


class SqlAuthEvents(AuthEvents):
    """The auth_events table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, event: AuthEvent) -> None:
        """Store an audit record."""
        self.session.execute(
            sa.insert(auth_events).values(
                community_id=event.community_id,
                id=event.id,
                kind=event.kind.value,
                at=event.at,
                resident_id=event.resident_id,
                phone=event.phone,
                client=event.client,
                detail=event.detail,
            )
        )

    def failures_since(
        self, community_id: str, since: datetime, *, phone: str = "", client: str = ""
    ) -> list[datetime]:
        """When logins failed after a time, for a phone or for a client address."""
        if not phone and not client:
            return []
        by = auth_events.c.phone == phone if phone else auth_events.c.client == client
        query = sa.select(auth_events.c.at).where(
            auth_events.c.community_id == community_id,
            auth_events.c.kind == AuthEventKind.LOGIN_FAILED.value,
            auth_events.c.at > since,
            by,
        )
        return list(self.session.execute(query).scalars())

    def list(self, community_id: str, offset: int, limit: int) -> list[AuthEvent]:
        """A community's audit records, newest first."""
        query = (
            sa.select(auth_events)
            .where(auth_events.c.community_id == community_id)
            .order_by(auth_events.c.at.desc(), auth_events.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [
            AuthEvent(**{**row._asdict(), "kind": AuthEventKind(row.kind)})
            for row in self.session.execute(query)
        ]
