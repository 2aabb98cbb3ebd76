"""Residents as CSV for the community government system (A4): one header row, UTF-8.

Columns: phone, display_name, household, home_unit_id, birth_date (YYYY-MM-DD or empty),
roles (";"-separated, export only), resident_id and created_at (export only). Import reads
the first five by header name, so extra columns (and their order) do not matter.
"""

from __future__ import annotations

import csv
import io

from linli_identity.domain.resident_import import ResidentRow, RowError
from linli_identity.domain.residents import Resident, parse_birth_date
from linli_kit.errors import InvalidArgument

EXPORT_COLUMNS = (
    "resident_id",
    "phone",
    "display_name",
    "household",
    "home_unit_id",
    "birth_date",
    "roles",
    "created_at",
)
REQUIRED_COLUMNS = ("phone", "display_name")
MAX_ROWS = 10_000


def export_csv(residents: list[Resident]) -> bytes:
    """The residents as CSV bytes, in the given order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in residents:
        writer.writerow(
            [
                r.id,
                r.phone,
                r.display_name,
                r.household,
                r.home_unit_id or "",
                r.birth_date.isoformat() if r.birth_date else "",
                ";".join(sorted(role.value for role in r.roles)),
                r.created_at.isoformat(),
            ]
        )
    return out.getvalue().encode()


def parse_csv(data: bytes) -> tuple[list[ResidentRow], list[RowError]]:
    """Rows to import and the rows that could not even be read (line numbers count the header)."""
    try:
        return _parse(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidArgument("the file is not UTF-8 text") from None
    except csv.Error as exc:  # e.g. a cell longer than csv.field_size_limit() (128 Ki chars)
        raise InvalidArgument(f"the file is not CSV this import can read: {exc}") from None


def _parse(text: str) -> tuple[list[ResidentRow], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidArgument(f"the header row lacks the column(s): {', '.join(missing)}")
    rows: list[ResidentRow] = []
    errors: list[RowError] = []
    for line, record in enumerate(reader, start=2):
        if len(rows) + len(errors) >= MAX_ROWS:
            raise InvalidArgument(f"at most {MAX_ROWS} rows per import")
        try:
            rows.append(
                ResidentRow(
                    line=line,
                    phone=record.get("phone") or "",
                    display_name=record.get("display_name") or "",
                    household=record.get("household") or "",
                    home_unit_id=(record.get("home_unit_id") or "").strip(),
                    birth_date=parse_birth_date((record.get("birth_date") or "").strip()),
                )
            )
        except InvalidArgument as exc:
            errors.append(RowError(line, str(exc)))
    return rows, errors
