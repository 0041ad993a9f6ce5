"""The web console in real headless Chromium: an alert delivered to Redis appears live and is acked.

Needs Debian's chromium (`deploy/local/install-browser.sh`); Playwright drives the system
binary, never a downloaded one. The helpers (`warning.devtools.testing`) are shared with the
Kafka → page test of the stream shell.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Backoff, Deliverer
from warning.devtools.testing import CHROMIUM, T0, chromium_page, console_login, make_alert, officer_console
from warning.metrics import Metrics
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture
async def console(stack: Settings, unique: str) -> AsyncIterator[tuple[str, Deliverer, str, str]]:
    """A console over a prefixed Redis sink with one S03 officer; yields (url, deliverer, user, pw)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} missing: run deploy/local/install-browser.sh")
    client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
    prefix = f"test:{unique}:warning:"
    sink = RedisAlertSink(client, prefix=prefix, occurrence_ttl=600)
    deliverer = Deliverer(
        sink,
        RoutingRules(),
        Metrics.create(CollectorRegistry()),
        ManualClock(T0),
        backoff=Backoff(0.05, 0.2),
    )
    name, password = f"c{unique}", "console-pass"
    try:
        async with officer_console(stack.redis_url, client, deliverer, prefix, ("S03", name, password)) as url:
            yield url, deliverer, name, password
    finally:
        await sink.close()


async def test_alert_appears_live_and_is_acknowledged(
    console: tuple[str, Deliverer, str, str],
) -> None:
    url, deliverer, name, password = console
    async with chromium_page() as page:
        await page.goto(url)
        assert page.url.endswith("/login")  # no session, no feed
        await page.fill("#name", name)
        await page.fill("#password", "wrong-password")
        await page.click("#login-submit")
        await page.wait_for_selector("#login-error:not([hidden])")
        await console_login(page, url, name, password)
        assert name in await page.inner_text("#whoami")

        await deliverer.handle(make_alert("web-1", unit="S03-C02-G05", evidence=("e1", "e2")))
        await deliverer.handle(make_alert("web-other", unit="S04-C01-G01"))
        card = page.locator('article.alert[data-alert-id="web-1"]')
        await card.wait_for(timeout=10_000)
        text = await card.inner_text()
        for expected in ["蓝色", "新预警", "S03-C02-G05", "1小时事件数", "2 条事件", "待签收", "劳资纠纷"]:
            assert expected in text, expected

        await deliverer.handle(make_alert("web-1", level="orange", at=T0 + timedelta(minutes=3)))
        # a locator, not wait_for_function: the console's CSP forbids evaluating strings
        await card.locator(".kind", has_text="升级").wait_for(timeout=10_000)
        assert "橙色" in await card.locator(".level").inner_text()

        await card.locator(".note").fill("已联系社区书记")
        await card.locator("button.ack").click()
        await page.wait_for_selector('article.alert[data-alert-id="web-1"][data-state="acknowledged"]')
        assert await card.locator(".state").inner_text() == "已签收"
        await card.locator("button.resolve").click()
        await page.wait_for_selector('article.alert[data-alert-id="web-1"][data-state="resolved"]')
        assert await page.locator('article.alert[data-alert-id="web-other"]').count() == 0

    trail = await deliverer.sink.audit("web-1")
    acks = [e for e in trail if e.action == "acknowledge"]
    assert [(e.actor, e.note, e.to_state) for e in acks] == [(name, "已联系社区书记", "acknowledged")]
    assert trail[-1].action == "resolve"
    assert trail[-1].outcome == "resolved_by_mediation"


async def test_console_api_enforces_scope_and_audits_details(
    console: tuple[str, Deliverer, str, str],
) -> None:
    url, deliverer, name, password = console
    await deliverer.handle(make_alert("in", type="case", details={"parties": [{"person_ref": "p-7"}]}))
    await deliverer.handle(make_alert("out", unit="S04-C01-G01"))
    async with chromium_page() as page:
        await console_login(page, url, name, password)
        api = page.request
        assert (await api.get(f"{url}/api/alerts/out")).status == 404
        forged = await api.post(f"{url}/api/alerts/out/ack", data={"note": "x"})
        assert forged.status == 404
        shown = await (await api.get(f"{url}/api/alerts/in")).json()
        assert "p-7" not in str(shown)
        details = await (await api.get(f"{url}/api/alerts/in/details")).json()
        assert details == {"parties": [{"person_ref": "p-7"}]}
    last = (await deliverer.sink.audit("in"))[-1]
    assert (last.action, last.actor) == ("read_details", name)
    assert (await deliverer.sink.load("out")) is not None
    assert (await deliverer.sink.load("out")).state == "new"  # type: ignore[union-attr]  # asserted not None above


SHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots" / "console"  # data/ is git-ignored


async def test_new_officer_finds_open_red_alerts_in_one_click_and_acks(
    console: tuple[str, Deliverer, str, str],
) -> None:
    url, deliverer, name, password = console
    await deliverer.handle(make_alert("red-1", level="red", unit="S03-C01-G02", title="S03 红色 聚集"))
    await deliverer.handle(make_alert("blue-1", unit="S03-C02-G05"))
    await deliverer.handle(make_alert("red-out", level="red", unit="S04-C01-G01"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium_page() as page:
        await page.set_viewport_size({"width": 1366, "height": 768})
        await console_login(page, url, name, password)
        await page.locator("#summary tr.red td", has_text="1").first.wait_for(timeout=10_000)
        await page.screenshot(path=str(SHOTS / "desk.png"))
        await page.click("#quick-red")  # the one click after login
        await page.locator('article.alert[data-alert-id="red-1"]').wait_for(timeout=10_000)
        assert await page.locator("article.alert").count() == 1
        await page.screenshot(path=str(SHOTS / "red-open.png"))
        await page.fill('#filters input[name="q"]', "blue-1")
        await page.select_option('#filters select[name="level"]', "")
        await page.select_option('#filters select[name="state"]', "")
        await page.keyboard.press("Enter")
        await page.locator('article.alert[data-alert-id="blue-1"]').wait_for(timeout=10_000)
        card = page.locator('article.alert[data-alert-id="blue-1"]')
        assert "1 条事件" in await card.inner_text()
        await card.locator("button.ack").click()
        await page.wait_for_selector('article.alert[data-alert-id="blue-1"][data-state="acknowledged"]')
        await card.locator("button.history").click()
        audit = card.locator(".audit-list li", has_text="已签收")
        await audit.wait_for(timeout=10_000)
        assert name in await audit.inner_text()
        assert "事件 e1" in await card.locator(".evidence-list").inner_text()
        await page.screenshot(path=str(SHOTS / "acknowledged.png"))
    assert (await deliverer.sink.load("blue-1")).state == "acknowledged"  # type: ignore[union-attr]
