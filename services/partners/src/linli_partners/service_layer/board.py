"""Use cases of the CSR board (E3) and the titles it grants."""

from __future__ import annotations

from linli_kit.calendar import policy_year
from linli_kit.domain import Clock, utc_now
from linli_kit.names import MAX_PAGE_SIZE
from linli_partners.domain.board import CsrEntry, ranked
from linli_partners.domain.partners import PartnerTitle
from linli_partners.service_layer.ports import PartnersUnitOfWork


def year_of(requested: int, clock: Clock = utc_now) -> int:
    """The year asked for, or the current one for 0."""
    return requested or policy_year(clock())


def board(community_id: str, year: int, limit: int, uow: PartnersUnitOfWork) -> list[CsrEntry]:
    """A year's board, at most `limit` places (public: enterprises' names are)."""
    with uow:
        totals = uow.contributions.board(community_id, year, min(limit, MAX_PAGE_SIZE))
        titled = uow.titles.titled(community_id, year)
    return ranked(totals, titled)


def version(community_id: str, year: int, uow: PartnersUnitOfWork) -> tuple[int, int]:
    """What changes whenever the year's board does."""
    with uow:
        return uow.contributions.version(community_id, year)


def titles(
    community_id: str, offset: int, limit: int, uow: PartnersUnitOfWork
) -> tuple[list[PartnerTitle], bool]:
    """A page of the community's titles, newest first (public), and whether more follow."""
    with uow:
        found = uow.titles.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit
