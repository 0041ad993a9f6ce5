"""The console's report page (issue 14 item 6) in real headless Chromium, numbers checked against Redis.

A simulated district's alerts (replayed from the simulator's input) are delivered into a
prefixed Redis sink with the clock at each alert's time, a third of them acknowledged 40
minutes later: three weeks of desk work. An officer of the busiest street logs in, follows
the console's link to the day's report, then opens the week's (周分析). The screenshot must
not be blank and must show the charts' bars; the headings and the numbers on the page must
equal a direct count over the alert hashes in Redis. Changing the officer's unit in Redis
changes the next page (scope re-read per request).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from PIL import Image
from prometheus_client import CollectorRegistry

from warning import thresholds
from warning.analysis.replay import iter_alerts, iter_events, pipeline_for
from warning.core import units
from warning.core.ports import ManualClock
from warning.delivery import acl
from warning.delivery.router import Deliverer
from warning.desk.console.app import create_app
from warning.devtools.testing import CHROMIUM, CST, chromium_page, running_console
from warning.metrics import Metrics
from warning.settings import Settings
from warning.simulate.district import District, SimConfig, write
from warning.sinks.redis import RedisAlertSink

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots" / "report"  # data/ is git-ignored
START = date(2026, 3, 2)  # a Monday: the simulation covers three whole ISO weeks
WEEK = date(2026, 3, 16)  # the week reported; the one before is the comparison column
BAR = (0xC0, 0x39, 0x2B)  # the report's bar colour (warning.desk.report._bars)


@dataclass
class Desk:
    url: str
    name: str
    password: str
    sink: RedisAlertSink
    street: str


async def _deliver_simulated_weeks(stack: Settings, tmp_path: Path, deliverer: Deliverer, clock: ManualClock) -> None:
    data = tmp_path / "data"
    config = SimConfig(seed=7, start=START, days=21, streets=3, grids=24, scale=0.2)
    write(District(config), data, stack.topics_dir)
    loaded = thresholds.load().thresholds
    alerts = sorted(iter_alerts(iter_events(data, stack, loaded), pipeline_for(loaded)), key=lambda a: a.created_at)
    for i, alert in enumerate(alerts):
        clock.advance(max(timedelta(0), alert.created_at - clock.now()))  # desk time follows the simulated days
        result = await deliverer.handle(alert)
        if i % 3 == 0 and result.record is not None and result.record.state == "new":
            clock.advance(timedelta(minutes=40))
            await deliverer.transition(alert.alert_id, "acknowledge", by="值班员")


@pytest.fixture
async def desk(stack: Settings, tmp_path: Path, rsink: RedisAlertSink, unique: str) -> AsyncIterator[Desk]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} missing: run deploy/local/install-browser.sh")
    clock = ManualClock(datetime(2026, 3, 2, 0, 0, tzinfo=CST))
    rules = thresholds.routing_rules(thresholds.load().thresholds)
    deliverer = Deliverer(rsink, rules, Metrics.create(CollectorRegistry()), clock)
    await _deliver_simulated_weeks(stack, tmp_path, deliverer, clock)
    week = await _direct(rsink, None)
    street = Counter(units.street_of(u) for u in week["units"]).most_common(1)[0][0]
    name, password = f"r{unique}", "report-pass-1"
    await acl.add_user(rsink.client, street, name, password, prefix=rsink.prefix)

    async def authenticate(user: str, pw: str) -> bool:
        return await acl.verify_password(stack.redis_url, user, pw)

    app = create_app(deliverer, authenticate, secret=os.urandom(32), poll_interval=0.1, zone=CST)
    try:
        async with running_console(app) as url:
            yield Desk(url, name, password, rsink, street)
    finally:
        await rsink.client.acl_deluser(name)
        if (await rsink.client.config_get("aclfile")).get("aclfile"):
            await rsink.client.acl_save()


async def _direct(sink: RedisAlertSink, street: str | None, day: date = WEEK) -> dict[str, Any]:
    """The week's numbers counted straight from the alert hashes (not through the report code)."""
    start = datetime(day.year, day.month, day.day, tzinfo=CST)
    end = start + timedelta(days=7)
    keys = [k async for k in sink.client.scan_iter(match=sink.alert_key("*"))]
    rows = [cast(dict[str, str], await sink.client.hgetall(k)) for k in keys]  # decoded responses
    alert_ids_acked = {e.alert_id for e in await sink.audit(count=10**6) if e.action == "acknowledge"}
    mine = [
        h
        for h in rows
        if start <= datetime.fromisoformat(h["delivered_at"]) < end
        and (street is None or units.street_of(_unit(h)) == street)
    ]
    return {
        "alerts": len(mine),
        "levels": Counter(h["level"] for h in mine),
        "acknowledged": sum(1 for h in mine if h["alert_id"] in alert_ids_acked),
        "units": [_unit(h) for h in mine],
    }


def _unit(fields: dict[str, str]) -> str:
    return str(json.loads(fields["alert"])["unit"])


async def _cell(page: Any, section: str, item: str) -> str:
    """The 本期 cell of `item` in the table after heading `section`."""
    table = page.locator(f'h2:text-is("{section}") + table')
    row = table.locator("tr", has=page.locator(f'td:text-is("{item}")'))
    return str(await row.locator("td").nth(1).inner_text())


def _screenshot_ok(path: Path) -> None:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.int32)
    ink = int((rgb.sum(axis=2) < 600).sum())  # text, rules and bars, not the white page
    bars = int((np.abs(rgb - np.array(BAR)) < 12).all(axis=2).sum())
    assert ink > rgb.shape[0] * rgb.shape[1] * 0.01, f"screenshot nearly blank: {ink} dark pixels"
    assert bars > 200, f"no chart bars in the screenshot ({bars} bar-coloured pixels)"


async def test_week_report_renders_in_chromium_and_matches_redis(desk: Desk) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    want = await _direct(desk.sink, desk.street)
    assert want["alerts"] >= 3, "the busiest street must have a real week to report"
    async with chromium_page() as page:
        await page.set_viewport_size({"width": 1366, "height": 900})
        await page.goto(f"{desk.url}/login")
        await page.fill("#name", desk.name)
        await page.fill("#password", desk.password)
        await page.click("#login-submit")
        await page.wait_for_selector("#conn.ok", timeout=10_000)

        await page.click("#report-link")  # the console links to today's report of the unit
        await page.wait_for_selector("h1")
        assert await page.locator("h1").inner_text() == f"日报告 · {desk.street}"

        await page.goto(f"{desk.url}/report?period=week&date={WEEK.isoformat()}")
        assert await page.locator("h1").inner_text() == f"周分析 · {desk.street}"
        for heading in ("总体情况", "按等级", "按单位", "签收与办结"):
            assert await page.locator(f'h2:text-is("{heading}")').is_visible()
        shot = SHOTS / "week.png"
        await page.screenshot(path=str(shot), full_page=True)
        _screenshot_ok(shot)

        assert await _cell(page, "总体情况", "预警总数") == str(want["alerts"])
        assert await _cell(page, "总体情况", "已签收") == str(want["acknowledged"])
        for level, cn in (("blue", "蓝色"), ("yellow", "黄色"), ("orange", "橙色"), ("red", "红色")):
            assert await _cell(page, "按等级", cn) == str(want["levels"][level]), level
        for unit, n in Counter(want["units"]).items():
            assert await _cell(page, "按单位", unit) == str(n), unit

        other = next(s for s in ("S01", "S02", "S03") if s != desk.street)
        await desk.sink.set_officer_unit(desk.name, other)  # scope is re-read on every request
        await page.goto(f"{desk.url}/report?period=week&date={WEEK.isoformat()}")
        assert await page.locator("h1").inner_text() == f"周分析 · {other}"
        assert await _cell(page, "总体情况", "预警总数") == str((await _direct(desk.sink, other))["alerts"])

        bad = await page.goto(f"{desk.url}/report?period=year")
        assert bad is not None and bad.status == 400
