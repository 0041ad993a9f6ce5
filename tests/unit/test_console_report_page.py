"""The console report page's query parsing and deadline conversion (the route itself: browser test)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from warning.core.routing import RoutingRules
from warning.desk.console.report_page import deadlines, params

TODAY = date(2026, 3, 18)


def test_the_day_of_today_by_default_and_any_period_on_request() -> None:
    assert params({}, TODAY) == ("day", TODAY)
    assert params({"period": "week", "date": "2026-03-16"}, TODAY) == ("week", date(2026, 3, 16))


@pytest.mark.parametrize("query", [{"period": "year"}, {"date": "16.03.2026"}, {"date": "2026-02-30"}])
def test_bad_values_are_named(query: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"period|date"):
        params(query, TODAY)


def test_deadlines_in_seconds_with_zero_for_none() -> None:
    rules = RoutingRules(ack_deadlines={"blue": timedelta(hours=24), "red": None})
    assert deadlines(rules) == {"blue": 86400.0, "red": 0.0}
