"""Period report aggregation over alert records and audit lines (no Redis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from warning.core.lifecycle import AlertRecord, AuditEntry
from warning.desk.report import bounds, build, previous, to_html, to_markdown
from warning.devtools.testing import CST, T0, make_alert


def record(
    i: int, level: str, at: datetime, *, state: str = "new", unit: str = "S01-C01-G01", **kw: object
) -> AlertRecord:
    alert = make_alert(f"a-{i}", level=level, unit=unit, at=at)  # type: ignore[arg-type]
    return AlertRecord(alert, level, state, 1, at, at, at, at, (unit,), **kw)  # type: ignore[arg-type]


def test_bounds_of_day_week_month() -> None:
    d = date(2026, 3, 4)  # a Wednesday
    assert bounds("day", d, CST)[0].date() == d
    ws, we = bounds("week", d, CST)
    assert ws.date() == date(2026, 3, 2) and we - ws == timedelta(days=7)
    ms, me = bounds("month", date(2026, 12, 31), CST)
    assert (ms.date(), me.date()) == (date(2026, 12, 1), date(2027, 1, 1))
    assert previous("month", ms, CST)[0].date() == date(2026, 11, 1)
    with pytest.raises(ValueError, match="period"):
        bounds("year", d, CST)


def test_day_report_counts_times_and_previous_day() -> None:
    recs = [
        record(1, "red", T0, state="acknowledged"),
        record(2, "red", T0, due_at=T0 + timedelta(minutes=15)),
        record(3, "blue", T0, unit="S02-C01-G01", escalations=1),
        record(4, "yellow", T0 - timedelta(days=1)),
    ]
    audit = [
        AuditEntry("a-1", "acknowledge", "o", T0 + timedelta(minutes=10)),
        AuditEntry("a-1", "resolve", "o", T0 + timedelta(hours=3)),
    ]
    rep = build(recs, audit, "day", T0.date(), CST, T0 + timedelta(hours=4), {"red": 900.0})
    cur = rep["current"]
    assert (cur["alerts"], cur["new"], cur["acknowledged"], cur["overdue"], cur["escalated"]) == (3, 2, 1, 1, 1)
    red = cur["handling"]["red"]
    assert (red["alerts"], red["ack_within_deadline"], red["ack_median_hours"], red["resolve_median_hours"]) == (
        2,
        1,
        0.17,
        3.0,
    )
    assert rep["previous"]["alerts"] == 1 and rep["previous"]["by_level"]["yellow"] == 1
    assert dict(cur["top_streets"]) == {"S01": 2, "S02": 1}
    only = build(recs, audit, "day", T0.date(), CST, T0, {}, unit="S02")["current"]
    assert only["alerts"] == 1
    md = to_markdown(rep)
    assert md.startswith("# 日报告") and "| 红色 | 2 | 0 |" in md
    assert "<svg" in to_html(rep) and "<script" not in to_html(rep)
