"""The whole delivery path in a real browser: an alert on Kafka appears live on the console.

Kafka `alerts` topic -> the worker's router agent -> Redis feed -> the console's live page
(server-sent events) in Debian's headless chromium -> acknowledged by the officer -> audit.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from warning.delivery import acl
from warning.delivery.clock import SystemClock
from warning.delivery.router import Deliverer
from warning.desk.console.app import create_app
from warning.devtools.harness import running_engine
from warning.devtools.testing import CHROMIUM, chromium_page, make_alert, running_console
from warning.metrics import Metrics
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink
from warning.stream.publish import Publisher
from warning.thresholds import load, routing_rules

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture
async def officer(stack: Settings, unique: str) -> AsyncIterator[tuple[str, str, aioredis.Redis]]:
    client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
    name, password = f"k{unique}", "kafka-page-pass"
    await acl.add_user(client, "S09", name, password)
    try:
        yield name, password, client
    finally:
        await client.acl_deluser(name)
        await client.hdel("warning:officers", name)
        if (await client.config_get("aclfile")).get("aclfile"):
            await client.acl_save()
        await client.aclose()


async def test_alert_published_to_kafka_appears_on_the_page_and_is_acknowledged(
    stack: Settings, tmp_path: Path, unique: str, officer: tuple[str, str, aioredis.Redis]
) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} missing: run deploy/local/install-browser.sh")
    name, password, client = officer
    sink = RedisAlertSink(client)
    deliverer = Deliverer(sink, routing_rules(load().thresholds), Metrics.create(CollectorRegistry()), SystemClock())

    async def authenticate(user: str, pw: str) -> bool:
        return await acl.verify_password(stack.redis_url, user, pw)

    alert = make_alert(f"k2p-{unique}", level="yellow", unit="S09-C01-G01", title="S09-C01-G01网格劳资纠纷异常增多")
    console_app = create_app(deliverer, authenticate, secret=os.urandom(32), poll_interval=0.1)
    with running_engine(stack, tmp_path, unique) as engine:
        async with running_console(console_app) as url, chromium_page() as page:
            await page.goto(f"{url}/login")
            await page.fill("#name", name)
            await page.fill("#password", password)
            await page.click("#login-submit")
            await page.wait_for_selector("#conn.ok", timeout=10_000)

            with Publisher(stack.kafka_bootstrap) as pub:
                pub.send(engine.catalog.alerts.name, json.dumps(alert.to_dict()).encode(), key=alert.alert_id.encode())

            card = page.locator(f'article.alert[data-alert-id="{alert.alert_id}"]')
            await card.wait_for(timeout=60_000)
            assert "S09-C01-G01网格劳资纠纷异常增多" in await card.inner_text()
            await card.locator(".note").fill("街道已派员")
            await card.locator("button.ack").click()
            await page.wait_for_selector(f'article.alert[data-alert-id="{alert.alert_id}"][data-state="acknowledged"]')

    trail = await sink.audit(alert.alert_id)
    assert [(e.action, e.actor, e.note) for e in trail if e.action == "acknowledge"] == [
        ("acknowledge", name, "街道已派员")
    ]
