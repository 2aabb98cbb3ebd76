"""All-or-nothing import of residents (A4): every row is checked, then all or none are stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from linli_identity.domain.residents import Resident
from linli_identity.service_layer.handlers import existing_community
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import DomainError


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


@dataclass(frozen=True)
class ImportResidents:
    """Register many residents at once, or none of them."""

    community_id: str
    rows: tuple[ResidentRow, ...]
    request_id: str = ""


def import_residents(
    cmd: ImportResidents,
    uow: IdentityUnitOfWork,
    earlier_errors: list[RowError],
    clock: Clock = utc_now,
) -> tuple[int, list[RowError]]:
    """Register every row, or none if any row (or an earlier parse error) is bad."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return int(done), []
        existing_community(uow, cmd.community_id)
        errors = list(earlier_errors)
        residents: list[Resident] = []
        seen_phones: dict[str, int] = {}
        now = clock()
        for row in cmd.rows:
            try:
                home = None
                if row.home_unit_id:
                    home = uow.org_units.get(cmd.community_id, row.home_unit_id)
                    if home is None:
                        raise DomainError(f"org unit {row.home_unit_id!r} does not exist")
                resident = Resident.register(
                    cmd.community_id,
                    row.display_name,
                    row.phone,
                    "",
                    now,
                    row.birth_date,
                    row.household,
                    home,
                )
                if resident.phone in seen_phones:
                    raise DomainError(f"same phone as line {seen_phones[resident.phone]}")
                if uow.residents.by_phone(cmd.community_id, resident.phone) is not None:
                    raise DomainError("a resident with this phone number is already registered")
            except DomainError as exc:
                errors.append(RowError(row.line, str(exc)))
                continue
            seen_phones[resident.phone] = row.line
            residents.append(resident)
        if errors:
            return 0, sorted(errors, key=lambda e: e.line)
        for resident in residents:
            uow.residents.add(resident)
        uow.requests.remember(cmd, str(len(residents)))
        uow.commit()
        return len(residents), []


def export_residents(
    community_id: str, uow: IdentityUnitOfWork, limit: int = 100_000
) -> list[Resident]:
    """A community's residents, oldest first, for export."""
    with uow:
        existing_community(uow, community_id)
        return uow.residents.list(community_id, 0, limit)
