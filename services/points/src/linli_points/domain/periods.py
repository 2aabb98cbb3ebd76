"""Policy calendar: years, weeks, days and quarters in Asia/Shanghai (P2, P4, P9)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from linli_kit.calendar import SHANGHAI as SHANGHAI
from linli_kit.calendar import local_date as local_date
from linli_kit.calendar import policy_year as policy_year
from linli_kit.errors import InvalidArgument

# The years whose bounds in Asia/Shanghai fall inside what a timestamp can hold.
FIRST_YEAR, LAST_YEAR = 2, 9998


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The instants (UTC) a policy year starts at and ends before."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidArgument(f"year must be {FIRST_YEAR} to {LAST_YEAR}, got {year}")
    return _midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1))


def day_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The instants (UTC) the local day of an instant starts at and ends before."""
    day = local_date(at)
    return _midnight(day), _midnight(day + timedelta(days=1))


def week_of(at: datetime) -> date:
    """The Monday (Asia/Shanghai) of the calendar week an instant falls in."""
    day = local_date(at)
    return day - timedelta(days=day.weekday())


def week_end(monday: date) -> datetime:
    """The instant (UTC) a week starting on a Monday ends."""
    return _midnight(monday + timedelta(days=7))


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    """The instants (UTC) a quarter of a policy year starts at and ends before."""
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return _midnight(start), _midnight(end)


def month_key(at: datetime) -> str:
    """The local month of an instant, e.g. '2026-03'."""
    day = local_date(at)
    return f"{day.year:04d}-{day.month:02d}"
