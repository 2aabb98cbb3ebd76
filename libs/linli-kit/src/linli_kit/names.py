"""Resource names in AIP style (communities/{c}/residents/{r}) and page tokens."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from linli_kit.errors import InvalidArgument

_ID = r"[a-z][a-z0-9-]{1,62}"
_SEGMENT = re.compile(r"\{(\w+)\}")
COMMUNITY_ID = re.compile(_ID)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_OFFSET = 10**9  # far past any list, far inside a bigint


@dataclass(frozen=True)
class ResourceName:
    """One kind of resource name, e.g. 'communities/{community}/residents/{resident}'."""

    pattern: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = _SEGMENT.sub(lambda m: f"(?P<{m.group(1)}>{_ID})", self.pattern)
        object.__setattr__(self, "_regex", re.compile(regex))

    def format(self, **ids: str) -> str:
        """The name of one resource from its ids, e.g. format(community='c', resident='r')."""
        return self.pattern.format(**ids)

    def parse(self, name: str, field: str = "name") -> dict[str, str]:
        """The ids in a name, or InvalidArgument naming the field and the expected shape."""
        match = self._regex.fullmatch(name or "")
        if match is None:
            raise InvalidArgument(f"{field} must look like {self.pattern!r}, got {name!r}")
        return match.groupdict()

    def child(self, suffix: str) -> ResourceName:
        """The name kind of a resource under this one, e.g. child('sessions/{session}')."""
        return ResourceName(f"{self.pattern}/{suffix}")


COMMUNITY = ResourceName("communities/{community}")
RESIDENT = COMMUNITY.child("residents/{resident}")


def same_community(*communities: str) -> str:
    """The one community every name in a request is in, or InvalidArgument."""
    if len(set(communities)) != 1:
        raise InvalidArgument("all names in a request must be in one community")
    return communities[0]


def check_community_id(community_id: str) -> str:
    """Return the id if it is a valid community id, else raise InvalidArgument."""
    if not COMMUNITY_ID.fullmatch(community_id or ""):
        raise InvalidArgument(
            "community_id must be 2-63 lower-case letters, digits or hyphens, led by a letter"
        )
    return community_id


def page_size(requested: int) -> int:
    """The page size to use for a requested one (0 means the default)."""
    if requested < 0:
        raise InvalidArgument("page_size must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_page_token(offset: int) -> str:
    """An opaque token for the next page."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def next_page_token(offset: int, limit: int, has_more: bool) -> str:
    """The token for the page after [offset, offset + limit), or '' on the last page."""
    return encode_page_token(offset + limit) if has_more else ""


def decode_page_token(token: str) -> int:
    """The offset a page token stands for (0 for no token)."""
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(value)
    except ValueError as exc:
        raise InvalidArgument("page_token is not one this server issued") from exc
    if kind != "o" or not 0 <= offset <= MAX_OFFSET:
        raise InvalidArgument("page_token is not one this server issued")
    return offset
