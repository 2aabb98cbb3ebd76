"""Points by month of the policy year (Asia/Shanghai) and the bars drawn from them."""

from __future__ import annotations

from datetime import UTC, datetime

from linli_gateway.service_layer.charts import bar_chart, monthly_earnings, policy_year


def test_months_follow_shanghai_time_and_reversals_subtract() -> None:
    earned = [
        (datetime(2026, 1, 31, 16, 30, tzinfo=UTC), 200),  # 1 Feb 00:30 in Shanghai
        (datetime(2026, 1, 31, 15, 30, tzinfo=UTC), 100),  # 31 Jan 23:30
        (datetime(2026, 2, 10, tzinfo=UTC), -50),
        (datetime(2025, 12, 31, 15, 0, tzinfo=UTC), 999),  # 2025-12-31 23:00: last year
    ]
    months = monthly_earnings(earned, 2026)
    assert months[:3] == [100, 150, 0] and sum(months) == 250
    assert policy_year(datetime(2025, 12, 31, 16, 0, tzinfo=UTC)) == 2026


def test_bars_scale_to_the_highest_month_and_negative_months_draw_nothing() -> None:
    chart = bar_chart([0, 400, 200, -100, *[0] * 8], width=360, height=160)
    tall = {bar.month: bar.height for bar in chart.bars}
    assert chart.top_centipoints == 400
    assert tall[2] == chart.baseline - 8 and tall[3] == tall[2] / 2
    assert tall[1] == tall[4] == 0
    assert all(bar.y + bar.height == chart.baseline for bar in chart.bars)
    assert bar_chart([0] * 12).top_centipoints == 0
