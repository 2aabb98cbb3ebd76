"""Views over paged lists: the residents' export streamed page by page, bounded lists."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from linli.attendance.v1 import attendance_service_pb2 as att
from linli.identity.v1 import identity_service_pb2 as idn

from linli_gateway.entrypoints.sessions import Person
from linli_gateway.entrypoints.views import staff
from linli_gateway.entrypoints.views.common import every_page

HEADER = "resident_id,phone,display_name\r\n"
PERSON = Person("communities/demo/residents/r-staff", "demo", frozenset({"social_worker"}), "t")


def _rows(n: int) -> list[str]:
    return [f"r-{i},1380000{i:04d},p{i}\r\n" for i in range(n)]


@dataclass
class FakeIdentity:
    """ExportResidents as identity answers it: each page a CSV with its header row."""

    rows: list[str]
    calls: list[str] = field(default_factory=list)

    async def ExportResidents(
        self, request: idn.ExportResidentsRequest, metadata: object, timeout: float
    ) -> idn.ExportResidentsResponse:
        self.calls.append(request.page_token)
        start = int(request.page_token or 0)
        end = start + request.page_size
        more = str(end) if end < len(self.rows) else ""
        csv = HEADER + "".join(self.rows[start:end])
        return idn.ExportResidentsResponse(csv=csv.encode(), next_page_token=more)


@dataclass
class FakeServices:
    """The one stub the export uses."""

    identity: FakeIdentity
    timeout: float = 1.0


async def _download(identity: FakeIdentity) -> tuple[str, int]:
    chunks = await staff.export_residents(FakeServices(identity), PERSON)  # type: ignore[arg-type]
    asked_first = len(identity.calls)
    return b"".join([chunk async for chunk in chunks]).decode(), asked_first


def test_the_export_streams_every_page_as_one_csv_with_one_header() -> None:
    rows = _rows(2 * staff.EXPORT_PAGE + 1)
    identity = FakeIdentity(rows)

    exported, asked_first = asyncio.run(_download(identity))

    assert exported == HEADER + "".join(rows)
    assert asked_first == 1  # the first page is asked for before the download starts
    assert identity.calls == ["", str(staff.EXPORT_PAGE), str(2 * staff.EXPORT_PAGE)]


def test_an_empty_community_exports_the_header_only() -> None:
    assert asyncio.run(_download(FakeIdentity([])))[0] == HEADER


@dataclass
class FakeRoster:
    """ListRosterEntries answering pages of the entries it holds."""

    entries: list[att.RosterEntry]
    sizes: list[int] = field(default_factory=list)

    async def __call__(
        self, request: att.ListRosterEntriesRequest
    ) -> att.ListRosterEntriesResponse:
        self.sizes.append(request.page_size)
        start = int(request.page_token or 0)
        end = start + request.page_size
        more = str(end) if end < len(self.entries) else ""
        return att.ListRosterEntriesResponse(entries=self.entries[start:end], next_page_token=more)


def test_every_page_follows_the_tokens_up_to_its_bound() -> None:
    entries = [att.RosterEntry(resident=f"communities/demo/residents/r-{i}") for i in range(1200)]

    whole = FakeRoster(entries)
    got = asyncio.run(every_page(whole, att.ListRosterEntriesRequest(), "entries", 5000))
    bounded = FakeRoster(entries)
    capped = asyncio.run(every_page(bounded, att.ListRosterEntriesRequest(), "entries", 700))

    assert [e.resident for e in got] == [e.resident for e in entries]
    assert whole.sizes == [500, 500, 500]
    assert [e.resident for e in capped] == [e.resident for e in entries[:700]]
    assert bounded.sizes == [500, 500]
