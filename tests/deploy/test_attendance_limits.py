"""The chart hands each community's attendance limits to the attendance service in its shape."""

from __future__ import annotations

import json
from datetime import timedelta

import chartcheck
import pytest
import yaml
from chartcheck import EXAMPLES, of_kind

from linli_attendance.config import AttendanceSettings
from linli_attendance.domain.limits import POLICY_LIMITS

COMMUNITIES = [p.name for p in EXAMPLES]
# The chart's value key of each figure, and the attendance limit it sets (minutes or a count).
FIGURES = {
    "timeCapMinutes": "time_cap",
    "signOutGraceMinutes": "sign_out_grace",
    "ratingWindowMinutes": "rating_window",
    "maxSessionsPerDay": "max_sessions_per_day",
    "twoSitesGapMinutes": "two_sites_gap",
}


def _limits_env(docs) -> dict:
    (dep,) = [
        d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-attendance")
    ]
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    return json.loads(env["LINLI_ATTENDANCE_LIMITS"]["value"])


def _as_limit(name: str, value: int) -> object:
    return value if name == "max_sessions_per_day" else timedelta(minutes=value)


def test_the_chart_ships_the_policy_figures() -> None:
    defaults = yaml.safe_load((chartcheck.CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    shipped = defaults["attendance"]["limits"]

    assert set(shipped) == set(FIGURES)
    for key, name in FIGURES.items():
        assert _as_limit(name, shipped[key]) == getattr(POLICY_LIMITS, name), key


@pytest.mark.parametrize("community", COMMUNITIES)
def test_attendance_receives_the_communitys_limits(rendered, examples, community) -> None:
    sent = _limits_env(rendered[community])
    overrides = examples[community].get("attendance", {}).get("limits", {})

    # The attendance service itself must accept what the chart hands it, or it would not start.
    settings = AttendanceSettings(database_url="sqlite://", redis_url="redis://", limits=sent)
    limits = settings.limit_book.of(examples[community]["community"]["id"])
    for key, name in FIGURES.items():
        expected = (
            _as_limit(name, overrides[key]) if key in overrides else getattr(POLICY_LIMITS, name)
        )
        assert getattr(limits, name) == expected, key
    assert all(isinstance(v, int) for figures in sent.values() for v in figures.values())


def test_the_examples_set_limits_of_their_own(examples) -> None:
    assert any(v.get("attendance", {}).get("limits") for v in examples.values())
