"""Calendar features: holidays for any year, festivals, periods, local day arithmetic."""

from __future__ import annotations

import doctest
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import warning.core.calendar as calendar_mod
from warning.core.calendar import (
    Calendar,
    CalendarParams,
    Period,
    day_date,
    epoch_day,
    local_hour_index,
    weekday_of_day,
)

CAL = Calendar()


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 2, 17), "春节"),
        (date(2025, 1, 29), "春节"),
        (date(2026, 10, 1), "国庆节"),
        (date(2026, 5, 1), "劳动节"),
        (date(2026, 2, 16), "农历除夕"),
        (date(2026, 3, 10), ""),
        (date(2026, 1, 4), ""),  # a Sunday made a workday (调休)
    ],
)
def test_holiday_names(day: date, name: str) -> None:
    assert CAL.holiday_name(day) == name
    assert CAL.is_holiday(day) is bool(name)


@pytest.mark.parametrize(
    ("day", "attr", "expected"),
    [
        (date(2026, 2, 10), "pre_spring_festival", True),
        (date(2026, 2, 5), "pre_spring_festival", False),  # 11 days before the eve, lead is 10
        (date(2026, 3, 10), "pre_spring_festival", False),
        (date(2026, 1, 4), "makeup_workday", True),
        (date(2026, 9, 30), "pre_holiday", True),
        (date(2026, 10, 8), "post_holiday", True),
        (date(2026, 10, 1), "fishing", True),
        (date(2026, 6, 1), "fishing", False),
        (date(2026, 6, 1), "campaign", False),
    ],
)
def test_features(day: date, attr: str, expected: bool) -> None:
    assert getattr(CAL.features(day), attr) is expected


@given(st.integers(min_value=1, max_value=9999))
@settings(max_examples=40, deadline=None)
def test_any_year_never_crashes(year: int) -> None:
    f = CAL.features(date(year, 12, 31))
    assert f.month == 12
    assert f.weekday == date(year, 12, 31).weekday()


@pytest.mark.parametrize(
    ("period", "day", "inside"),
    [
        (Period("冬季", "12-01", "02-28"), date(2026, 1, 15), True),
        (Period("冬季", "12-01", "02-28"), date(2026, 3, 1), False),
        (Period("冬季", "12-01", "02-28"), date(2026, 12, 1), True),
        (Period("6.26", "2026-06-20", "2026-06-26"), date(2026, 6, 26), True),
        (Period("6.26", "2026-06-20", "2026-06-26"), date(2027, 6, 22), False),
    ],
)
def test_period_contains(period: Period, day: date, inside: bool) -> None:
    assert period.contains(day) is inside


@pytest.mark.parametrize(
    ("start", "end"), [("06-20", "2026-06-26"), ("13-01", "13-02"), ("2026-07-01", "2026-06-01"), ("x", "y")]
)
def test_bad_period_rejected(start: str, end: str) -> None:
    with pytest.raises(ValueError, match="period"):
        Period("p", start, end)


def test_campaign_and_extra_holiday_params() -> None:
    cal = Calendar(
        CalendarParams(campaigns=(Period("禁毒月", "2026-06-01", "2026-06-26"),), extra_holidays=("2026-03-10",))
    )
    assert cal.features(date(2026, 6, 10)).campaign_name == "禁毒月"
    assert cal.is_holiday(date(2026, 3, 10))


@given(st.integers(min_value=-700_000, max_value=2_900_000))
def test_epoch_day_round_trip_and_weekday(day: int) -> None:
    d = day_date(day)
    assert epoch_day(d) == day
    assert weekday_of_day(day) == d.weekday()


@pytest.mark.parametrize("offset_hours", [8, 0, -5])
def test_local_hour_index_uses_the_events_own_offset(offset_hours: int) -> None:
    tz = timezone(timedelta(hours=offset_hours))
    ts = datetime(2026, 3, 2, 7, 30, tzinfo=tz)
    idx = local_hour_index(ts)
    assert idx % 24 == 7
    assert day_date(idx // 24) == date(2026, 3, 2)
    assert local_hour_index(ts.replace(tzinfo=None)) == idx


def test_doctests() -> None:
    result = doctest.testmod(calendar_mod)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    ("day", "window"),
    [
        (date(2026, 1, 26), ("春节", -3)),  # the 2026 春节 period starts Sunday 02-15
        (date(2026, 2, 14), ("春节", -1)),  # a 调休 Saturday (workday) before it
        (date(2026, 2, 18), ("", 0)),  # inside the period
        (date(2026, 2, 24), ("春节", 1)),  # the day after its last day off (02-23)
        (date(2026, 3, 30), ("清明节", -1)),
        (date(2026, 10, 9), ("国庆节", 1)),
        (date(2026, 7, 15), ("", 0)),  # no holiday within three weeks
        (date(2027, 1, 20), ("春节", -3)),  # 2027: the period starts 02-05, eleven days earlier
    ],
)
def test_holiday_window_names_the_week_around_a_holiday_period(day: date, window: tuple[str, int]) -> None:
    f = Calendar().features(day)
    assert (f.holiday_window, f.holiday_week) == window
