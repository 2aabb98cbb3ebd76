"""points' WatchLeaderboard as the hub's upstream (a public call: no person's token)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from linli.points.v1 import points_service_pb2 as pts

from linli_gateway.adapters.services import Services
from linli_gateway.service_layer.boards import BoardKey, Change, Place, Watch

# Places a board shows (the page and the live updates).
BOARD_SIZE = 20


def place(entry: pts.LeaderboardEntry) -> Place:
    """A leaderboard entry as the hub keeps it."""
    return Place(entry.resident, entry.rank, entry.score_centipoints, entry.display_name)


def watcher(services: Services) -> Watch:
    """The hub's upstream: WatchLeaderboard for a board, its messages as changes."""

    async def watch(key: BoardKey) -> AsyncIterator[Change]:
        request = pts.WatchLeaderboardRequest(
            parent=f"communities/{key.community}",
            scope=key.scope,
            year=key.year,
            page_size=BOARD_SIZE,
        )
        async for message in services.points.WatchLeaderboard(request):
            yield Change(
                message.snapshot,
                tuple(place(e) for e in message.entries),
                tuple(message.removed),
            )

    return watch
