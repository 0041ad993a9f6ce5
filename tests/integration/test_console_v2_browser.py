"""Console v2 in real headless Chromium, over a district's own units file (issue 15, item 2).

A street officer of a 12-digit-coded district (names from the units file) logs in, sees counts by
level and state, filters by unit and type, opens an alert page with scrubbed evidence excerpts,
acknowledges there, looks at a relational alert's graph and a case alert's explanation, and
uses the grid map. Screenshots go to data/screenshots/console-v2 (data/ is git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from warning.core import excerpts, units
from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Backoff, Deliverer
from warning.devtools.testing import CHROMIUM, T0, chromium_page, console_login, make_alert, officer_console
from warning.metrics import Metrics
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots" / "console-v2"
STREET, OTHER = "440305001000", "440305002000"
H = units.parse(
    [
        {"code": "440305", "name": "南山区", "parent": "", "level": "district"},
        {"code": STREET, "name": "南头街道", "parent": "", "level": "street"},
        {"code": "440305001001", "name": "南头社区", "parent": STREET, "level": "community"},
        {"code": "440305001002", "name": "大汪山社区", "parent": STREET, "level": "community"},
        {"code": "NT01", "name": "南头一网格", "parent": "440305001001", "level": "grid"},
        {"code": "NT02", "name": "南头二网格", "parent": "440305001001", "level": "grid"},
        {"code": "DW01", "name": "大汪山一网格", "parent": "440305001002", "level": "grid"},
        {"code": OTHER, "name": "南山街道", "parent": "", "level": "street"},
        {"code": "440305002001", "name": "荔林社区", "parent": OTHER, "level": "community"},
        {"code": "LL01", "name": "荔林一网格", "parent": "440305002001", "level": "grid"},
    ]
)
EVENT = {
    "event_id": "e1",
    "channel": "hotline",
    "occurred_at": T0.isoformat(),
    "category": "labour",
    "text": "王五反映工地欠薪三个月, 联系电话13912345678",
    "parties": [{"name": "王五"}],
}


@pytest.fixture
async def console(stack: Settings, unique: str) -> AsyncIterator[tuple[str, Deliverer, str, str]]:
    """A console with the units file `H` in force and one officer of the street 南头街道."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} missing: run deploy/local/install-browser.sh")
    client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
    prefix = f"test:{unique}:warning:"
    sink = RedisAlertSink(client, prefix=prefix, occurrence_ttl=600, hierarchy=H)
    rules = RoutingRules(hierarchy=H)
    deliverer = Deliverer(sink, rules, Metrics.create(CollectorRegistry()), ManualClock(T0), backoff=Backoff(0.05, 0.2))
    name, password = f"v{unique}", "console-pass"
    try:
        async with officer_console(
            stack.redis_url, client, deliverer, prefix, (STREET, name, password), hierarchy=H
        ) as url:
            yield url, deliverer, name, password
    finally:
        await sink.close()


async def seed(d: Deliverer) -> None:
    """Open alerts in the officer's street and one outside it."""
    ex = excerpts.for_evidence(["e1"], [EVENT])
    await d.handle(replace(make_alert("red-nt", level="red", unit="NT01", title="南头一网格 聚集苗头"), excerpts=ex))
    await d.handle(make_alert("red-dw", level="red", unit="DW01", title="大汪山 红色"))
    await d.handle(make_alert("blue-nt2", unit="NT02", title="南头二网格 蓝色"))
    await d.handle(make_alert("red-ll", level="red", unit="LL01", title="荔林 红色"))
    await d.handle(
        make_alert(
            "rel-1",
            type="relational",
            level="orange",
            unit="NT02",
            evidence=("e1", "e2", "e3"),
            title="跨渠道重复反映",
            details={"entity": "person-7f3a", "kind": "cross_channel_person"},
        )
    )
    await d.handle(
        make_alert(
            "case-1",
            type="case",
            level="yellow",
            unit="NT01",
            title="个案风险",
            details={
                "top_features": [{"feature": "contacts", "label": "接触次数", "value": 5, "contribution": 0.4}],
                "rules": ["repeat_petition"],
                "referrals": ["司法局"],
                "dispatch": "街道",
                "parties": [{"person_ref": "p-1"}],
            },
        )
    )


async def test_new_officer_finds_open_red_alerts_of_their_street_in_two_clicks(
    console: tuple[str, Deliverer, str, str],
) -> None:
    url, deliverer, name, password = console
    await seed(deliverer)
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium_page() as page:
        await page.set_viewport_size({"width": 1366, "height": 768})
        await console_login(page, url, name, password)  # click 1: 登录
        assert "南头街道" in await page.inner_text("#whoami")
        red_open = page.locator('#summary button[data-level="red"][data-state="open"]')
        await red_open.filter(has_text="2").wait_for(timeout=10_000)  # its street only: not 荔林
        await red_open.click()  # click 2
        await page.locator("#result", has_text="2 条").wait_for(timeout=10_000)
        found = page.locator("#alerts article.alert")
        ids = [await found.nth(i).get_attribute("data-alert-id") for i in range(await found.count())]
        assert sorted(ids) == ["red-dw", "red-nt"]
        card = page.locator('article.alert[data-alert-id="red-nt"]')
        assert "南头街道 / 南头社区 / 南头一网格 (NT01)" in await card.inner_text()
        assert "(1 条有摘要)" in await card.inner_text()
        await page.screenshot(path=str(SHOTS / "two-clicks-red-open.png"))


async def test_filters_alert_page_with_evidence_acknowledge_graph_case_and_map(
    console: tuple[str, Deliverer, str, str],
) -> None:
    url, deliverer, name, password = console
    await seed(deliverer)
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium_page() as page:
        await page.set_viewport_size({"width": 1366, "height": 768})
        await console_login(page, url, name, password)
        form = page.locator("#filters")
        await form.locator('select[name="unit"] option[value="NT02"]').wait_for(state="attached")
        assert await form.locator('select[name="unit"] option[value="LL01"]').count() == 0  # not in scope
        await form.locator('select[name="unit"]').select_option("NT02")
        await form.locator('select[name="type"]').select_option("relational")
        await page.click("#filter-submit")
        await page.locator("#result", has_text="1 条").wait_for(timeout=10_000)
        assert await page.locator('article.alert[data-alert-id="rel-1"]').count() == 1
        await page.fill('#filters input[name="q"]', "聚集")  # text search, other filters cleared
        await form.locator('select[name="unit"]').select_option("")
        await form.locator('select[name="type"]').select_option("")
        await page.keyboard.press("Enter")
        await page.locator("#result", has_text="1 条").wait_for(timeout=10_000)
        await page.screenshot(path=str(SHOTS / "filters.png"))

        # the alert page: keyboard (j to the card, Enter opens it)
        await page.locator("body").click(position={"x": 5, "y": 300})
        await page.keyboard.press("j")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/alert/red-nt")
        await page.locator("#page:not([hidden])").wait_for(timeout=10_000)
        evidence = await page.inner_text("#evidence")
        for part in ("12345热线", "劳资纠纷", "工地欠薪", "[电话]", "[当事人]", "e1"):
            assert part in evidence, part
        assert "13912345678" not in evidence and "王五" not in evidence
        assert "南头一网格" in await page.inner_text("#unit")
        await page.fill("#note", "已派网格员核实")
        await page.click("#ack")
        await page.locator("#audit li[data-action='acknowledge']").wait_for(timeout=10_000)
        assert name in await page.inner_text("#audit")
        await page.screenshot(path=str(SHOTS / "alert-page.png"), full_page=True)

        await page.goto(f"{url}/alert/rel-1")
        await page.locator("#relation-graph .node.event").first.wait_for(timeout=10_000)
        assert await page.locator("#relation-graph .node.event").count() == 3
        assert await page.locator("#relation-graph .node.person").count() == 0  # people only after the audited read
        await page.click("#details")
        await page.locator("#relation-graph .node.person").wait_for(timeout=10_000)
        await page.screenshot(path=str(SHOTS / "relation-graph.png"), full_page=True)

        await page.goto(f"{url}/alert/case-1")
        await page.locator("#explain-box:not([hidden])").wait_for(timeout=10_000)
        explain = await page.inner_text("#explain-box")
        assert "接触次数" in explain and "司法局" in explain and "p-1" not in explain
        assert await page.locator("#timeline li").count() >= 2
        for step, action in (("#ack", "acknowledge"), ("#handle", "handle")):
            await page.click(step)
            await page.locator(f"#audit li[data-action='{action}']").wait_for(timeout=10_000)
        await page.select_option("#outcome", "true_risk")  # the case model's label
        await page.fill("#note", "核实确有风险, 已转介")
        await page.click("#resolve")
        await page.locator("#audit li[data-action='resolve']").wait_for(timeout=10_000)
        assert "确有风险" in await page.inner_text("#state")

        await page.goto(f"{url}/alert/red-ll")  # another street's alert
        await page.locator("#missing:not([hidden])").wait_for(timeout=10_000)

        await page.goto(f"{url}/map")
        cell = page.locator('#hotspots a.cell[data-unit="NT01"]')
        assert await cell.get_attribute("data-open") == "1"  # red-nt (acknowledged is open); case-1 resolved
        assert await page.locator('#hotspots a.cell[data-unit="LL01"]').count() == 0
        await page.screenshot(path=str(SHOTS / "map.png"))
        await cell.click()
        await page.locator("#result", has_text="1 条").wait_for(timeout=10_000)
        assert await page.locator('article.alert[data-alert-id="red-nt"]').count() == 1
        assert await page.locator('#filters select[name="unit"]').input_value() == "NT01"
    assert (await deliverer.sink.load("red-nt")).state == "acknowledged"  # type: ignore[union-attr]
    case = await deliverer.sink.load("case-1")
    assert case is not None and (case.state, case.outcome) == ("resolved", "true_risk")
    reads = [e for e in await deliverer.sink.audit("rel-1") if e.action == "read_details"]
    assert [e.actor for e in reads] == [name]
