"""Reusable helpers for tests of delivery and the console (and the lead's Kafka → page test).

Kept in the package (not under tests/) so integration tests in any directory can import them;
nothing in production imports this module.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from warning.core.events import Alert, Indicator
from warning.core.taxonomy import AlertType, Level

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_alert(
    alert_id: str = "a-0001",
    *,
    type: AlertType = "dynamic",
    level: Level = "blue",
    unit: str = "S03-C02-G05",
    at: datetime = T0,
    evidence: tuple[str, ...] = ("e1",),
    category: str = "labour",
    departments: tuple[str, ...] = (),
    details: dict[str, Any] | None = None,
    title: str = "网格 S03-C02-G05 劳资纠纷 1 小时内异常增多",
    value: float = 7.0,
) -> Alert:
    """An alert as a detector would emit it (defaults: a blue dynamic alert in one grid)."""
    return Alert(
        alert_id=alert_id,
        type=type,
        level=level,
        unit=unit,
        subject=f"{unit}|{category}",
        title=title,
        indicators=(Indicator("count_1h", value, 3.0, 0.8, "1小时事件数"),),
        detector="dynamic@1",
        created_at=at,
        score=0.8,
        evidence=evidence,
        window_start=at - timedelta(hours=1),
        window_end=at,
        action="网格员上门核实,社区调解",
        category=category,
        departments=departments,
        details=details or {},
    )


def free_port() -> int:
    """A TCP port nobody listens on right now (for test servers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def running_console(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve an aiohttp `app` on 127.0.0.1 for the duration; yields its base URL."""
    from aiohttp import web

    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await asyncio.wait_for(runner.cleanup(), timeout=10)


@asynccontextmanager
async def officer_console(
    redis_url: str, client: Any, deliverer: Any, prefix: str, officer: tuple[str, str, str], hierarchy: Any = None
) -> AsyncIterator[str]:
    """A console over `deliverer` with one officer ``(unit, name, password)``; yields its URL.

    On exit the officer's ACL user and every key under `prefix` are removed, so browser tests
    leave the shared Redis as they found it.
    """
    from warning.delivery import acl
    from warning.desk.console.app import create_app

    unit, name, password = officer
    await acl.add_user(client, unit, name, password, prefix=prefix, h=hierarchy)

    async def authenticate(user: str, pw: str) -> bool:
        return await acl.verify_password(redis_url, user, pw)

    app = create_app(deliverer, authenticate, secret=os.urandom(32), poll_interval=0.1)
    try:
        async with running_console(app) as url:
            yield url
    finally:
        await client.acl_deluser(name)
        if (await client.config_get("aclfile")).get("aclfile"):
            await client.acl_save()
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)


async def console_login(page: Any, url: str, name: str, password: str) -> None:
    """Log in through the console's form and wait for the live connection."""
    await page.goto(f"{url}/login")
    await page.fill("#name", name)
    await page.fill("#password", password)
    await page.click("#login-submit")
    await page.wait_for_selector("#conn.ok", timeout=10_000)


@asynccontextmanager
async def chromium_page() -> AsyncIterator[Any]:
    """A Playwright page in Debian's headless chromium (never `playwright install`)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            yield page
        finally:
            await browser.close()
