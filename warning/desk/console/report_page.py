"""The console's report page: `warning report`'s HTML for the logged-in officer's unit.

The console links to ``/report`` (today's 日报告); ``?period=week|month`` and ``?date=`` pick
another period. The numbers are `warning.desk.report.build` over the same records and audit
lines the CLI reads, so page and CLI agree. Scope: the handler re-reads the session and the
officer's unit on every request (`Console.require`), only records the officer may see
(`warning.core.routing.in_scope`, the rule of every other console route) are aggregated, and
a territory unit's report is additionally limited to alerts of that unit and below, exactly
``warning report --unit``. A department desk gets its feed's alerts under its own name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from warning.core import units
from warning.core.routing import RoutingRules, in_scope
from warning.desk.report import TITLES, build, read, to_html

NAV = (
    '<nav><a id="back" href="/">返回值班台</a> · <a href="/report">日报告</a> · '
    '<a href="/report?period=week">周分析</a> · <a href="/report?period=month">月通报</a></nav>'
)


def params(query: Mapping[str, str], today: date) -> tuple[str, date]:
    """(period, a day in it) from the query string; ValueError names a bad value (-> 400)."""
    period = query.get("period", "day")
    if period not in TITLES:
        raise ValueError("period must be day, week or month")
    raw = query.get("date", "")
    try:
        day = date.fromisoformat(raw) if raw else today
    except ValueError:
        raise ValueError("date must be YYYY-MM-DD") from None
    return period, day


def deadlines(rules: RoutingRules) -> dict[str, float]:
    """Acknowledgement deadlines in seconds per level (0: none), as `warning report` takes them."""
    return {lvl: (d.total_seconds() if d else 0.0) for lvl, d in rules.ack_deadlines.items()}


async def render(
    sink: Any,
    scope: str,
    period: str,
    day: date,
    zone: tzinfo,
    now: datetime,
    limits: Mapping[str, float],
    h: units.Hierarchy | None = None,
) -> tuple[str, dict[str, Any]]:
    """The page and the report it shows, for a desk of `scope` (`h`: the district's own units, if loaded)."""
    records, audit = await read(sink)
    visible = [r for r in records if in_scope(r, scope, h)]
    territory = units.is_unit(scope, h) and scope != units.DISTRICT
    rep = build(visible, audit, period, day, zone, now, limits, scope if territory else None, h)
    rep["unit"] = scope
    return to_html(rep).replace("<h1>", NAV + "<h1>", 1), rep
