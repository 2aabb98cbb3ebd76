"""Staff's reports through the use cases on the fakes: what counts as served, and ratings."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.common.v1.service_type_pb2 import (
    SERVICE_TYPE_HIGH_RISK,
    SERVICE_TYPE_PROFESSIONAL,
    SERVICE_TYPE_REGULAR,
)

from linli_attendance.domain.activities import ServiceType, SessionStatus
from linli_attendance.domain.reports import (
    RatingSummary,
    ServedHours,
    counted_as,
    month_of,
    month_starts,
    overall,
    report_year,
)
from linli_attendance.service_layer import reports
from linli_kit.errors import InvalidArgument, NotFound, PermissionDenied
from linli_kit.principals import Role
from linli_kit.testing import load_beside

fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")
scenario = load_beside(__file__, "report_scenario.py", "linli_attendance_report_scenario")
IN_2025 = fakes.FixedClock(datetime(2025, 6, 1, tzinfo=UTC))
# What the scenario's 2025 reports are, on the fakes and on PostgreSQL alike.
EXPECTED_HOURS = [
    ServedHours(3, ServiceType.REGULAR, 12600, 3, 2, 5400, 1),
    ServedHours(3, ServiceType.PROFESSIONAL, 3600, 1, 1, 0, 0),
    ServedHours(4, ServiceType.HIGH_RISK, 10800, 1, 1, 0, 0),
]
EXPECTED_SUMMARIES = [
    RatingSummary(ServiceType.REGULAR, (0, 0, 1, 0, 1)),
    RatingSummary(ServiceType.PROFESSIONAL, (0, 0, 0, 1, 0)),
]


@pytest.fixture
def stored(uow):  # type: ignore[no-untyped-def]
    """The fakes holding the scenario."""
    scenario.store(uow)
    return uow


def test_served_hours_count_completed_sessions_after_corrections_and_hold_reviews_apart(
    stored,
) -> None:  # type: ignore[no-untyped-def]
    year, found = reports.report_served_hours(fakes.STAFF, "c-east", 2025, stored, IN_2025)
    assert year == 2025
    assert found == EXPECTED_HOURS


def test_the_current_local_year_is_the_default_and_other_years_are_empty(stored) -> None:  # type: ignore[no-untyped-def]
    # 2025-12-31 17:00 UTC is already 2026 in Asia/Shanghai.
    new_year = fakes.FixedClock(datetime(2025, 12, 31, 17, 0, tzinfo=UTC))
    assert reports.report_served_hours(fakes.STAFF, "c-east", 0, stored, new_year) == (2026, [])
    year, found = reports.report_served_hours(fakes.STAFF, "c-east", 2024, stored, IN_2025)
    assert (year, found) == (2024, [ServedHours(12, ServiceType.REGULAR, 3600, 1, 1, 0, 0)])


@pytest.mark.parametrize("year", [1999, 2200, 1, -5])
def test_a_year_outside_the_calendar_is_invalid(uow, year: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument, match="year"):
        reports.report_served_hours(fakes.STAFF, "c-east", year, uow, IN_2025)
    with pytest.raises(InvalidArgument, match="year"):
        reports.list_ratings(fakes.STAFF, "c-east", None, year, 0, 10, uow, IN_2025)


def test_only_the_communitys_staff_read_the_reports(stored) -> None:  # type: ignore[no-untyped-def]
    for caller in (fakes.person("r-alice"), fakes.person("r-core", Role.CORE_VOLUNTEER)):
        with pytest.raises(PermissionDenied):
            reports.report_served_hours(caller, "c-east", 2025, stored, IN_2025)
        with pytest.raises(PermissionDenied):
            reports.list_ratings(caller, "c-east", None, 2025, 0, 10, stored, IN_2025)
    elsewhere = fakes.person("r-w", Role.SOCIAL_WORKER, community="c-west")
    with pytest.raises(NotFound):
        reports.report_served_hours(elsewhere, "c-east", 2025, stored, IN_2025)
    with pytest.raises(NotFound):
        reports.list_ratings(elsewhere, "c-east", None, 2025, 0, 10, stored, IN_2025)


def test_ratings_list_rater_volunteer_and_activity_newest_first_with_a_summary(stored) -> None:  # type: ignore[no-untyped-def]
    found, more, summaries = reports.list_ratings(
        fakes.STAFF, "c-east", None, 2025, 0, 10, stored, IN_2025
    )
    assert not more
    assert [(r.session_id, r.stars, r.volunteer_id, r.rated_by) for r in found] == [
        ("s2", 3, "r-bob", "r-elder"),
        ("s4", 4, "r-alice", "r-elder"),
        ("s1", 5, "r-alice", "r-elder"),
    ]
    assert found[1].activity_title == "社区义诊"
    assert found[1].service_type is ServiceType.PROFESSIONAL
    assert summaries == EXPECTED_SUMMARIES
    assert summaries[0].mean_stars == 4.0
    everything = overall(summaries)
    assert (everything.service_type, everything.count, everything.mean_stars) == (None, 3, 4.0)


def test_ratings_are_paged_and_filtered_by_activity(stored) -> None:  # type: ignore[no-untyped-def]
    first, more, summaries = reports.list_ratings(
        fakes.STAFF, "c-east", None, 2025, 0, 2, stored, IN_2025
    )
    rest, after, _ = reports.list_ratings(fakes.STAFF, "c-east", None, 2025, 2, 2, stored, IN_2025)
    assert more and not after
    assert [r.session_id for r in first + rest] == ["s2", "s4", "s1"]
    assert overall(summaries).count == 3  # the summary is of every rating, not the page
    one, _, of_one = reports.list_ratings(
        fakes.STAFF, "c-east", "a-clinic", 2025, 0, 10, stored, IN_2025
    )
    assert [r.session_id for r in one] == ["s4"]
    assert of_one == [RatingSummary(ServiceType.PROFESSIONAL, (0, 0, 0, 1, 0))]
    with pytest.raises(NotFound):
        reports.list_ratings(fakes.STAFF, "c-east", "a-none", 2025, 0, 10, stored, IN_2025)


def test_what_counts_and_in_which_month() -> None:
    assert counted_as(SessionStatus.COMPLETED, ServiceType.REGULAR) == "served"
    assert counted_as(SessionStatus.PENDING_REVIEW, ServiceType.HIGH_RISK) == "held"
    assert counted_as(SessionStatus.OPEN, ServiceType.REGULAR) is None
    assert counted_as(SessionStatus.COMPLETED, ServiceType.TRAINING) is None
    starts = month_starts(2025)
    assert len(starts) == 13 and starts[0] == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)
    assert month_of(scenario.APRIL_BY_LOCAL_TIME, starts) == 4
    assert month_of(datetime(2025, 12, 31, 16, 0, tzinfo=UTC), starts) is None
    assert report_year(0, datetime(2025, 12, 31, 15, 59, tzinfo=UTC)) == 2025
    assert RatingSummary(None).mean_stars == 0.0


async def test_the_reports_over_grpc(stored, stub, connect, credentials) -> None:  # type: ignore[no-untyped-def]
    # The served app's clock is in March 2025: year 0 is 2025.
    report = await stub.ReportServedHours(pb.ReportServedHoursRequest(parent="communities/c-east"))
    assert report.year == 2025
    assert [(h.month, h.service_type, h.served_seconds, h.held_seconds) for h in report.hours] == [
        (3, SERVICE_TYPE_REGULAR, 12600, 5400),
        (3, SERVICE_TYPE_PROFESSIONAL, 3600, 0),
        (4, SERVICE_TYPE_HIGH_RISK, 10800, 0),
    ]
    first = await stub.ListRatings(
        pb.ListRatingsRequest(parent="communities/c-east", year=2025, page_size=2)
    )
    assert [r.rating.stars for r in first.ratings] == [3, 4]
    clinic = first.ratings[1]
    assert clinic.rating.name == (
        "communities/c-east/activities/a-clinic/sessions/s4/ratings/r-elder"
    )
    assert clinic.rating.rated_by == "communities/c-east/residents/r-elder"
    assert clinic.volunteer == "communities/c-east/residents/r-alice"
    assert (clinic.activity_title, clinic.service_type) == ("社区义诊", SERVICE_TYPE_PROFESSIONAL)
    assert (first.overall.count, first.overall.mean_stars) == (3, 4.0)
    assert list(first.overall.star_counts) == [0, 0, 1, 1, 1]
    assert [s.service_type for s in first.by_service_type] == [
        SERVICE_TYPE_REGULAR,
        SERVICE_TYPE_PROFESSIONAL,
    ]
    rest = await stub.ListRatings(
        pb.ListRatingsRequest(
            parent="communities/c-east", year=2025, page_size=2, page_token=first.next_page_token
        )
    )
    assert [r.rating.stars for r in rest.ratings] == [5] and not rest.next_page_token

    resident = connect(credentials.person("c-east", "r-alice", Role.RESIDENT))
    refused = [
        (
            resident.ReportServedHours(pb.ReportServedHoursRequest(parent="communities/c-east")),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (
            stub.ListRatings(pb.ListRatingsRequest(parent="communities/c-east", activity="x")),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            stub.ListRatings(
                pb.ListRatingsRequest(
                    parent="communities/c-east", activity="communities/c-west/activities/a-west"
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            stub.ReportServedHours(
                pb.ReportServedHoursRequest(parent="communities/c-east", year=1999)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            stub.ReportServedHours(pb.ReportServedHoursRequest(parent="communities/c-west")),
            grpc.StatusCode.NOT_FOUND,
        ),
    ]
    for call, code in refused:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == code
