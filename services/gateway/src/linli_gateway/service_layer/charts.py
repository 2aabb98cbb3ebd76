"""A resident's points over the policy year as bars: one a month (Asia/Shanghai), drawn as SVG."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

POLICY_ZONE = ZoneInfo("Asia/Shanghai")


def policy_year(at: datetime) -> int:
    """The calendar year in Asia/Shanghai an instant belongs to (as points counts it)."""
    return at.astimezone(POLICY_ZONE).year


def monthly_earnings(earned: Iterable[tuple[datetime, int]], year: int) -> list[int]:
    """Hundredths of a point earned in each month of the year (reversals subtract)."""
    months = [0] * 12
    for at, amount in earned:
        local = at.astimezone(POLICY_ZONE)
        if local.year == year:
            months[local.month - 1] += amount
    return months


@dataclass(frozen=True)
class Bar:
    """One month's bar in the chart's coordinates."""

    month: int  # 1..12
    x: float
    y: float
    width: float
    height: float
    centipoints: int


@dataclass(frozen=True)
class Chart:
    """Bars scaled into a viewBox, and the top of the scale."""

    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...]
    top_centipoints: int


def bar_chart(months: list[int], width: int = 360, height: int = 160) -> Chart:
    """Twelve bars from zero (a negative month shows no bar), scaled to the highest month."""
    top = max([*months, 0])
    label_room, step = 18.0, width / 12
    baseline = height - label_room
    bars = []
    for index, value in enumerate(months):
        tall = (baseline - 8) * value / top if top and value > 0 else 0.0
        bars.append(
            Bar(index + 1, index * step + step * 0.15, baseline - tall, step * 0.7, tall, value)
        )
    return Chart(width, height, baseline, tuple(bars), top)
