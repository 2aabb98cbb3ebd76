"""CSV import of residents (A4): a per-row error report, and nothing half-imported."""

from __future__ import annotations

import pytest

from linli_identity.domain.resident_import import ImportRefused
from linli_identity.entrypoints.resident_csv import MAX_ROWS, export_csv, parse_csv
from linli_identity.service_layer.commands import (
    CreateCommunity,
    ImportResidents,
    RegisterResident,
)
from linli_identity.service_layer.residents import (
    create_community,
    import_residents,
    list_residents,
    register_resident,
)
from linli_kit.errors import InvalidArgument
from linli_kit.principals import SYSTEM

C = "c-east"
GOOD = "phone,display_name,household,birth_date\n13800000001,Ann,1-101,1980-05-01\n"


@pytest.fixture
def east(uow, clock) -> None:
    create_community(CreateCommunity(C, "East Gate", actor=SYSTEM), uow, clock)
    register_resident(RegisterResident(C, "Old", "13900000000", actor=SYSTEM), uow, clock)


def run_import(uow, clock, text: str, request_id: str = ""):
    """(how many were imported, the row errors) of importing a CSV text."""
    rows, unreadable = parse_csv(text.encode())
    command = ImportResidents(C, tuple(rows), request_id, tuple(unreadable), actor=SYSTEM)
    try:
        batch = import_residents(command, uow, clock)
    except ImportRefused as refused:
        return 0, list(refused.errors)
    return batch.imported, []


def test_a_good_file_imports_every_row_and_exports_again(uow, clock, east) -> None:
    text = GOOD + "13800000002,Bo,1-102,\n"
    assert run_import(uow, clock, text) == (2, [])
    exported = export_csv(list_residents(C, 0, 500, uow, actor=SYSTEM)[0]).decode().splitlines()
    assert exported[0].startswith("resident_id,phone,display_name,household")
    assert sorted(line.split(",")[1] for line in exported[1:]) == [
        "13800000001",
        "13800000002",
        "13900000000",
    ]
    assert any(",1980-05-01,resident," in line for line in exported)


def test_one_bad_row_means_nothing_is_imported_and_every_bad_row_is_reported(
    uow, clock, east
) -> None:
    text = (
        GOOD
        + "12345,Bad phone,,\n"
        + "13800000001,Twin,,\n"
        + "13900000000,Existing,,\n"
        + "13800000003,Bad date,,1980-13-01\n"
        + "13800000004,,,\n"
    )
    imported, errors = run_import(uow, clock, text)
    assert imported == 0
    assert [(e.line, e.message.split(" ")[0]) for e in errors] == [
        (3, "phone"),
        (4, "same"),
        (5, "a"),
        (6, "birth_date"),
        (7, "display_name"),
    ]
    assert len(list_residents(C, 0, 500, uow, actor=SYSTEM)[0]) == 1


def test_a_retry_replays_the_count(uow, clock, east) -> None:
    assert run_import(uow, clock, GOOD, "imp-1") == (1, [])
    assert run_import(uow, clock, GOOD, "imp-1") == (1, [])
    assert len(list_residents(C, 0, 500, uow, actor=SYSTEM)[0]) == 2


def test_unusable_files_are_refused_whole() -> None:
    with pytest.raises(InvalidArgument, match="lacks the column"):
        parse_csv(b"name,mobile\nAnn,13800000001\n")
    with pytest.raises(InvalidArgument, match="UTF-8"):
        parse_csv("phone,display_name\n13800000001,张三\n".encode("gbk"))
    rows, errors = parse_csv("\ufeffphone,display_name\n13800000001,张三\n".encode())
    assert (rows[0].display_name, errors) == ("张三", [])
    with pytest.raises(InvalidArgument, match="not CSV this import can read"):
        parse_csv(("phone" + "x" * 200_000 + ",display_name\n").encode())


def test_an_import_is_at_most_ten_thousand_rows() -> None:
    header = "phone,display_name\n"
    rows = [f"138{n:08d},Resident {n}\n" for n in range(MAX_ROWS + 1)]
    parsed, errors = parse_csv((header + "".join(rows[:MAX_ROWS])).encode())
    assert (len(parsed), errors) == (MAX_ROWS, [])
    with pytest.raises(InvalidArgument, match=f"at most {MAX_ROWS} rows"):
        parse_csv((header + "".join(rows)).encode())
