"""All-or-nothing import of residents (A4): every row is checked, then all or none are stored."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from linli_identity.domain.org import OrgUnit
from linli_identity.domain.residents import Resident
from linli_kit.errors import DomainError, InvalidArgument


@dataclass(frozen=True)
class ResidentRow:
    """One row of an import file."""

    line: int
    phone: str
    display_name: str
    household: str = ""
    home_unit_id: str = ""
    birth_date: date | None = None


@dataclass(frozen=True)
class RowError:
    """Why one row of an import file was refused."""

    line: int
    message: str


class ImportRefused(InvalidArgument):
    """At least one row is bad, so no row was stored; `errors` lists every bad row by line."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = tuple(sorted(errors, key=lambda e: e.line))
        super().__init__(f"{len(self.errors)} rows of the import were refused")


@dataclass(kw_only=True, eq=False)
class ResidentImport:
    """One accepted import: how many residents it registered, recorded so retries answer alike."""

    community_id: str
    id: str
    imported: int
    created_at: datetime
    # The residents registered by this import; only the fresh import holds them.
    residents: list[Resident] = field(default_factory=list, repr=False)

    @classmethod
    def check(
        cls,
        community_id: str,
        rows: Iterable[ResidentRow],
        units: Mapping[str, OrgUnit],
        registered: Callable[[str], bool],
        at: datetime,
        unreadable: Iterable[RowError] = (),
    ) -> ResidentImport:
        """Register every row, or raise ImportRefused naming each bad (or unreadable) row."""
        # `units`: the community's org units by id; `registered(phone)`: is the number taken.
        errors = list(unreadable)
        residents: list[Resident] = []
        seen_phones: dict[str, int] = {}
        for row in rows:
            try:
                home = None
                if row.home_unit_id:
                    home = units.get(row.home_unit_id)
                    if home is None:
                        raise DomainError(f"org unit {row.home_unit_id!r} does not exist")
                resident = Resident.register(
                    community_id,
                    row.display_name,
                    row.phone,
                    "",
                    at,
                    row.birth_date,
                    row.household,
                    home,
                )
                if resident.phone in seen_phones:
                    raise DomainError(f"same phone as line {seen_phones[resident.phone]}")
                if registered(resident.phone):
                    raise DomainError("a resident with this phone number is already registered")
            except DomainError as exc:
                errors.append(RowError(row.line, str(exc)))
                continue
            seen_phones[resident.phone] = row.line
            residents.append(resident)
        if errors:
            raise ImportRefused(errors)
        return cls(
            community_id=community_id,
            id=f"i{uuid.uuid4().hex[:16]}",
            imported=len(residents),
            created_at=at,
            residents=residents,
        )
