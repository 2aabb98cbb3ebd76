"""The policy's calendar: days, months and years in Asia/Shanghai, whatever the server's zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(at: datetime) -> date:
    """The calendar date in Asia/Shanghai at an instant."""
    return at.astimezone(SHANGHAI).date()


def policy_year(at: datetime) -> int:
    """The calendar year in Asia/Shanghai that an instant belongs to."""
    return local_date(at).year
