"""The identity unit of work on SQLAlchemy: one session, every repository, the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from linli_identity.adapters.face_repositories import (
    SqlFaceConsents,
    SqlFaceTemplates,
    SqlKeyRotations,
)
from linli_identity.adapters.login_repositories import (
    SqlAuthEvents,
    SqlLoginCodes,
    SqlRefreshTokens,
    SqlStaffPasswords,
)
from linli_identity.adapters.relatives import SqlRelatives
from linli_identity.adapters.repositories import (
    SqlCommunities,
    SqlMentoringPairs,
    SqlOrgUnits,
    SqlResidentImports,
    SqlResidents,
    SqlSpecialTeams,
)
from linli_identity.adapters.template_cipher import TemplateCipher
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.db import SqlUnitOfWork


class SqlIdentityUnitOfWork(SqlUnitOfWork, IdentityUnitOfWork):
    """Identity unit of work on SQLAlchemy."""

    def __init__(self, *args: Any, cipher: TemplateCipher, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cipher = cipher

    def open_repositories(self, session: Session) -> None:
        """Create the repositories on the session."""
        self.communities = SqlCommunities(session)
        self.residents = SqlResidents(session)
        self.org_units = SqlOrgUnits(session)
        self.mentoring = SqlMentoringPairs(session)
        self.teams = SqlSpecialTeams(session)
        self.consents = SqlFaceConsents(session)
        self.templates = SqlFaceTemplates(session, self.cipher)
        self.key_rotations = SqlKeyRotations(session)
        self.imports = SqlResidentImports(session)
        self.login_codes = SqlLoginCodes(session)
        self.refresh_tokens = SqlRefreshTokens(session)
        self.passwords = SqlStaffPasswords(session)
        self.auth_events = SqlAuthEvents(session)
        self.relatives = SqlRelatives(session)
