"""Partners' scopes read from this service's own database, for its own auth interceptor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from linli_kit.errors import NotFound
from linli_kit.principals import SYSTEM
from linli_partners.service_layer import partners
from linli_partners.service_layer.ports import PartnersUnitOfWork


class LocalPartners:
    """PartnerDirectory over the partners database, asked on every call."""

    def __init__(self, uow_factory: Callable[[], PartnersUnitOfWork]) -> None:
        self.uow_factory = uow_factory

    async def scopes(self, community_id: str, partner_id: str) -> frozenset[str] | None:
        """The partner's scopes now; None if it is not registered or was revoked."""
        try:
            return await asyncio.to_thread(
                partners.scopes, SYSTEM, community_id, partner_id, self.uow_factory()
            )
        except NotFound:
            return None
