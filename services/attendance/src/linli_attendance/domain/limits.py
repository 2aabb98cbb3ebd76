"""A community's attendance limits: the time cap, the grace, the rating window, anti-fraud.

REQUIREMENTS: every threshold is configuration per community, with the policy's figures as
the shipped defaults. A limit book holds the defaults and any community's overrides; a
community names only the figures it changes, the rest come from the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from linli_kit.errors import InvalidArgument

# The key that gives the figures for every community without its own.
EVERY_COMMUNITY = "*"
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Limits:
    """The figures the attendance rules apply in one community."""

    # The most service time counted for one resident in one local day (A2).
    time_cap: timedelta = timedelta(hours=8)
    # Volunteers often sign out a little late; only after this is a sign-out "forgotten".
    sign_out_grace: timedelta = timedelta(hours=2)
    # Ratings are accepted for this long after the session's end (A5).
    rating_window: timedelta = timedelta(hours=72)
    # More sign-ins than this in a local day are refused and flagged.
    max_sessions_per_day: int = 4
    # Sessions at two places closer in time than this count as two sites at once.
    two_sites_gap: timedelta = timedelta(0)


# The policy's figures: what applies wherever nothing else is configured.
POLICY_LIMITS = Limits()

# The JSON keys of a limit book, in whole minutes (or a count), and the field each sets.
_KEYS: dict[str, tuple[str, int, int]] = {
    "time_cap_minutes": ("time_cap", 1, DAY_MINUTES),
    "sign_out_grace_minutes": ("sign_out_grace", 0, DAY_MINUTES),
    "rating_window_minutes": ("rating_window", 1, 366 * DAY_MINUTES),
    "max_sessions_per_day": ("max_sessions_per_day", 1, 100),
    "two_sites_gap_minutes": ("two_sites_gap", 0, DAY_MINUTES),
}


@dataclass(frozen=True)
class LimitBook:
    """The default limits and the communities that override some of them."""

    default: Limits = POLICY_LIMITS
    communities: Mapping[str, Limits] = field(default_factory=dict)

    def of(self, community_id: str) -> Limits:
        """The limits that apply in a community."""
        return self.communities.get(community_id, self.default)

    @property
    def shortest_grace(self) -> timedelta:
        """The shortest sign-out grace of any community, for the forgotten sign-out sweep."""
        return min(limits.sign_out_grace for limits in (self.default, *self.communities.values()))


DEFAULT_LIMITS = LimitBook()


def _figures(base: Limits, given: Any, where: str) -> Limits:
    if not isinstance(given, Mapping):
        raise InvalidArgument(f"{where} must be an object of figures")
    changes: dict[str, Any] = {}
    for key, value in given.items():
        if key not in _KEYS:
            raise InvalidArgument(f"{where}.{key} is not a limit; known: {', '.join(_KEYS)}")
        name, lowest, highest = _KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"{where}.{key} must be a whole number")
        if not lowest <= value <= highest:
            raise InvalidArgument(f"{where}.{key} must be {lowest} to {highest}")
        is_count = isinstance(getattr(base, name), int)
        changes[name] = value if is_count else timedelta(minutes=value)
    return replace(base, **changes)


def limit_book_from_config(config: Mapping[str, Any]) -> LimitBook:
    """A limit book from {"*": {figures}, "<community>": {figures}}; figures in minutes."""
    if not isinstance(config, Mapping):
        raise InvalidArgument("the limits must be an object keyed by community ('*' for all)")
    default = _figures(POLICY_LIMITS, config.get(EVERY_COMMUNITY, {}), EVERY_COMMUNITY)
    communities = {
        community: _figures(default, given, community)
        for community, given in config.items()
        if community != EVERY_COMMUNITY
    }
    return LimitBook(default, communities)
