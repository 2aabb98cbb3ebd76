"""Per-caller call limits (OWASP API4): a token bucket per (RPC, principal), bounded in memory.

Each servicer declares its limits in a table beside its policy table; the auth interceptor
charges a call after admitting it. The gateway's calls for nobody signed in (logins) are
charged to the browser address it names (`auth.CLIENT_ADDRESS_HEADER`), not to the gateway.
Buckets live in the replica: with n replicas behind a balancer a caller gets at most n times
the rate, which bounds abuse without a shared store.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from linli_kit.errors import ResourceExhausted

MAX_TRACKED = 100_000  # buckets kept; the least recently used are forgotten first


@dataclass(frozen=True)
class RateLimit:
    """At most `burst` calls at once, refilled at `per_minute` calls a minute."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")


def per_minute(calls: float, burst: int | None = None) -> RateLimit:
    """A limit of `calls` a minute with a burst of the same size unless given."""
    return RateLimit(calls, burst if burst is not None else max(1, math.ceil(calls)))


Limits = Mapping[str, RateLimit]  # RPC name → its limit, per caller


@dataclass
class Buckets:
    """Token buckets by key, the least recently used forgotten beyond `capacity`."""

    capacity: int = MAX_TRACKED
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def charge(self, key: str, limit: RateLimit) -> None:
        """Take one call from the key's bucket, or ResourceExhausted with when to retry."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (float(limit.burst), now))
        rate = limit.per_minute / 60.0
        tokens = min(float(limit.burst), tokens + (now - at) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise ResourceExhausted("too many calls", math.ceil((1.0 - tokens) / rate))
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
