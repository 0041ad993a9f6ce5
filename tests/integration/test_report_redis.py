"""`warning report` numbers against a real Redis: alerts written through the real sink and router."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Deliverer
from warning.desk.report import build, read, to_html, to_markdown
from warning.devtools.testing import CST, T0, make_alert
from warning.sinks.redis import RedisAlertSink

pytestmark = pytest.mark.integration


async def test_week_report_counts_match_a_direct_count_over_redis(rsink: RedisAlertSink) -> None:
    clock = ManualClock(T0)
    deliverer = Deliverer(rsink, RoutingRules(), None, clock)
    levels = ["blue", "yellow", "orange", "red", "red", "yellow"]
    for i, level in enumerate(levels):
        unit = "S01-C01-G01" if i % 2 else "S02-C01-G02"
        await deliverer.handle(make_alert(f"r-{i}", level=level, unit=unit, at=T0 + timedelta(minutes=i)))  # type: ignore[arg-type]
    clock.advance(timedelta(minutes=20))
    for i in (0, 3):
        await deliverer.transition(f"r-{i}", "acknowledge", by="tester")
    records, audit = await read(rsink)
    rep = build(records, audit, "week", T0.date(), CST, T0 + timedelta(hours=1), {"red": 900.0})
    cur = rep["current"]

    direct = [await rsink.client.hgetall(k) async for k in rsink.client.scan_iter(match=rsink.alert_key("*"))]
    assert cur["alerts"] == len(direct) == len(levels)
    for level in ("blue", "yellow", "orange", "red"):
        assert cur["by_level"][level] == sum(1 for h in direct if h["level"] == level)
    assert cur["by_state"] == {s: sum(1 for h in direct if h["state"] == s) for s in cur["by_state"]}
    assert cur["acknowledged"] == 2 and cur["new"] == len(levels) - 2
    assert cur["handling"]["red"]["acknowledged"] == 1
    assert cur["handling"]["red"]["ack_within_deadline"] == 0  # 20 min > the 15 min given
    assert rep["previous"]["alerts"] == 0
    assert dict(cur["top_streets"]) == {"S01": 3, "S02": 3}
    assert "# 周分析" in to_markdown(rep) and "<svg" in to_html(rep)
