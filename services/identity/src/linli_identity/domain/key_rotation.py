"""Key rotation runs (I2): re-encrypting a community's face templates under its current key.

A run is recorded when it starts and advanced one batch per commit, so a run cut short by a
crash is resumed by a retry of the same request rather than started again, and a finished
run answers every retry with what it did.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from linli_kit.errors import FailedPrecondition


@dataclass(kw_only=True, eq=False)
class KeyRotation:
    """One run over a community's templates; `after` is the last resident id it looked at."""

    community_id: str
    id: str
    key_id: str
    started_at: datetime
    re_encrypted: int = 0
    after: str = ""
    finished_at: datetime | None = None

    @classmethod
    def start(cls, community_id: str, key_id: str, at: datetime) -> KeyRotation:
        """A run towards the community's current key, before any template is touched."""
        return cls(
            community_id=community_id, id=f"k{uuid.uuid4().hex[:16]}", key_id=key_id, started_at=at
        )

    @property
    def finished(self) -> bool:
        """True once every template was looked at."""
        return self.finished_at is not None

    def advance(self, re_encrypted: int, last_seen: str | None, at: datetime) -> None:
        """Count one batch; `last_seen` None means no templates follow and the run is done."""
        if self.finished:
            raise FailedPrecondition("this key rotation has already finished")
        self.re_encrypted += re_encrypted
        if last_seen is None:
            self.finished_at = at
        else:
            self.after = last_seen
