"""The CSR board (E3): enterprises ranked by the value they gave in a year."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CsrEntry:
    """One enterprise's place on a year's board."""

    partner_id: str
    display_name: str
    rank: int
    value_fen: int
    titled: bool


def ranked(totals: Iterable[tuple[str, str, int]], titled: set[str]) -> list[CsrEntry]:
    """Entries from (partner, name, fen) most first; equal values share a rank (1, 1, 3)."""
    entries: list[CsrEntry] = []
    for place, (partner_id, name, value) in enumerate(totals, start=1):
        rank = entries[-1].rank if entries and entries[-1].value_fen == value else place
        entries.append(CsrEntry(partner_id, name, rank, value, partner_id in titled))
    return entries
