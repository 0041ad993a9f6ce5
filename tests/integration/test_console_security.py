"""Console security against the real Redis: server-side sessions, throttling, 4xx, headers.

Each test here failed on the signed-cookie console (issue #13, "Console"): a cookie outlived
logout and the officer's removal, 30 wrong passwords did not slow a guesser, a malformed
body was a 500, and a bad ``Last-Event-ID`` ended the stream.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from yarl import URL

from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery import acl
from warning.delivery.router import Backoff, Deliverer
from warning.desk.console.app import COOKIE, SECURITY_HEADERS, create_app
from warning.devtools.testing import T0, make_alert, running_console
from warning.metrics import Metrics
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink

pytestmark = [pytest.mark.integration]
PASSWORD = "console-pass"


@dataclass
class Desk:
    """A running console with one S03 officer."""

    url: str
    deliverer: Deliverer
    client: aioredis.Redis
    name: str
    prefix: str


@pytest.fixture
async def desk(stack: Settings, unique: str) -> AsyncIterator[Desk]:
    client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
    prefix = f"test:{unique}:warning:"
    sink = RedisAlertSink(client, prefix=prefix, occurrence_ttl=600)
    clock = ManualClock(T0)
    deliverer = Deliverer(sink, RoutingRules(), Metrics.create(CollectorRegistry()), clock, backoff=Backoff(0.05, 0.2))
    name = f"s{unique}"
    await acl.add_user(client, "S03", name, PASSWORD, prefix=prefix)

    async def authenticate(user: str, pw: str) -> bool:
        return await acl.verify_password(stack.redis_url, user, pw)

    app = create_app(deliverer, authenticate, secret=os.urandom(32), poll_interval=0.1)
    try:
        async with running_console(app) as url:
            yield Desk(url, deliverer, client, name, prefix)
    finally:
        await client.acl_deluser(name)
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
        await sink.close()


def _session() -> aiohttp.ClientSession:
    # unsafe: the cookie jar keeps cookies of an IP-address host such as 127.0.0.1
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _login(http: aiohttp.ClientSession, desk: Desk, password: str = PASSWORD) -> int:
    resp = await http.post(f"{desk.url}/login", data={"name": desk.name, "password": password}, allow_redirects=False)
    if resp.status == 302 and resp.headers["Location"] == "/":
        return 200
    return resp.status if resp.status != 302 else 401


async def test_logout_ends_the_session_everywhere(desk: Desk) -> None:
    async with _session() as http:
        assert await _login(http, desk) == 200
        cookie = http.cookie_jar.filter_cookies(URL(desk.url))[COOKIE].value
        assert (await http.get(f"{desk.url}/api/me")).status == 200
        await http.post(f"{desk.url}/logout", allow_redirects=False)
    async with aiohttp.ClientSession() as thief:  # the old cookie, replayed from elsewhere
        resp = await thief.get(f"{desk.url}/api/me", headers={"Cookie": f"{COOKIE}={cookie}"})
        assert resp.status == 401


async def test_removed_officer_is_refused_at_once(desk: Desk) -> None:
    async with _session() as http:
        assert await _login(http, desk) == 200
        assert (await http.get(f"{desk.url}/api/me")).status == 200
        await desk.client.hdel(f"{desk.prefix}officers", desk.name)
        assert (await http.get(f"{desk.url}/api/me")).status == 401
    async with _session() as http:  # ACL user deleted, officers entry still there
        await desk.client.hset(f"{desk.prefix}officers", desk.name, "S03")
        assert await _login(http, desk) == 200
        await desk.client.acl_deluser(desk.name)
        assert (await http.get(f"{desk.url}/api/me")).status == 401


async def test_forged_cookie_is_refused(desk: Desk) -> None:
    async with aiohttp.ClientSession() as http:
        for value in ["x", "a" * 5000, "eyJuIjoiYWRtaW4ifQ.deadbeef", "%%%"]:
            resp = await http.get(f"{desk.url}/api/me", headers={"Cookie": f"{COOKIE}={value}"})
            assert resp.status == 401, value


async def test_login_is_throttled_after_five_failures(desk: Desk) -> None:
    async with _session() as http:
        for _ in range(5):
            assert await _login(http, desk, "wrong-password") == 401
        assert await _login(http, desk) == 429  # even the right password, until the window passes
        assert (await http.get(f"{desk.url}/api/me")).status == 401
    ttl = [await desk.client.ttl(k) async for k in desk.client.scan_iter(match=f"{desk.prefix}console:fail:*")]
    assert len(ttl) == 1 and 0 < ttl[0] <= 900


async def test_success_clears_the_failure_count(desk: Desk) -> None:
    async with _session() as http:
        for _ in range(4):
            assert await _login(http, desk, "wrong-password") == 401
        assert await _login(http, desk) == 200
        for _ in range(4):
            assert await _login(http, desk, "wrong-password") == 401
        assert await _login(http, desk) == 200


async def test_bad_bodies_and_headers_are_4xx(desk: Desk) -> None:
    await desk.deliverer.handle(make_alert("sec-1"))
    async with _session() as http:
        assert await _login(http, desk) == 200
        ack = f"{desk.url}/api/alerts/sec-1/ack"
        json_type = {"Content-Type": "application/json"}
        for body in [b"{", b"\xff\xfe", b"[1,2]", b'"note"', b"1" * 5000, b"null"]:
            resp = await http.post(ack, data=body, headers=json_type)
            assert resp.status == 400, body
        assert (await http.post(ack, data=b"note=x", headers={"Content-Type": "text/plain"})).status == 415
        assert (await http.post(ack, data=b"{" * 70_000, headers=json_type)).status == 413
        bad_form = await http.post(
            f"{desk.url}/login",
            data=b"name=%ff%fe&password=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            allow_redirects=False,
        )
        assert 300 <= bad_form.status < 500
        resp = await http.post(
            f"{desk.url}/api/alerts/sec-1/resolve", json={"outcome": "not-an-outcome"}, allow_redirects=False
        )
        assert resp.status == 409
        assert (await desk.deliverer.sink.load("sec-1")).state == "new"  # type: ignore[union-attr]


async def test_bad_last_event_id_does_not_kill_the_stream(desk: Desk) -> None:
    await desk.deliverer.handle(make_alert("sec-sse"))
    async with _session() as http:
        assert await _login(http, desk) == 200
        for bad in ["garbage", "1-2-3", "-", "9" * 40 + "-0", "\u00e9"]:
            headers = {"Last-Event-ID": bad.encode("utf-8").decode("latin-1")}
            async with http.get(f"{desk.url}/api/stream", headers=headers) as resp:
                assert resp.status == 200, bad
                seen = await _read_until(resp, b"sec-sse")
                assert b"event: alert" in seen, bad


async def test_stream_ends_after_logout(desk: Desk) -> None:
    async with _session() as http:
        assert await _login(http, desk) == 200
        async with http.get(f"{desk.url}/api/stream") as resp:
            await resp.content.readuntil(b"\n\n")
            cookie = http.cookie_jar.filter_cookies(URL(desk.url))[COOKIE].value
            async with aiohttp.ClientSession() as other:
                await other.post(f"{desk.url}/logout", headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False)
            seen = await _read_until(resp, b"event: logout", timeout=15)
            assert b"event: logout" in seen


async def _read_until(resp: aiohttp.ClientResponse, marker: bytes, timeout: float = 5.0) -> bytes:
    seen = b""

    async def read() -> None:
        nonlocal seen
        while marker not in seen:
            chunk = await resp.content.readany()
            if not chunk:
                return
            seen += chunk

    await asyncio.wait_for(read(), timeout)
    return seen


async def test_security_headers_on_every_response(desk: Desk) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ["/login", "/static/console.js", "/api/me", "/api/alerts/nope", "/no-such-page"]:
            resp = await http.get(f"{desk.url}{path}", allow_redirects=False)
            for header, value in SECURITY_HEADERS.items():
                assert resp.headers.get(header) == value, (path, header)
        csp = SECURITY_HEADERS["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
        assert (await http.get(f"{desk.url}/api/me")).headers["Cache-Control"] == "no-store"


async def test_alert_list_filters_search_and_summary_stay_in_scope(desk: Desk) -> None:
    await desk.deliverer.handle(make_alert("v2-red", level="red", unit="S03-C01-G02", title="S03 红色 聚集"))
    await desk.deliverer.handle(make_alert("v2-blue", unit="S03-C02-G05"))
    await desk.deliverer.handle(make_alert("v2-out", level="red", unit="S04-C01-G01"))
    async with _session() as http:
        assert await _login(http, desk) == 200

        async def ids(query: str) -> list[str]:
            resp = await http.get(f"{desk.url}/api/alerts?{query}")
            assert resp.status == 200, query
            return [a["alert_id"] for a in (await resp.json())["alerts"]]

        assert sorted(await ids("")) == ["v2-blue", "v2-red"]
        assert await ids("level=red&state=new") == ["v2-red"]
        assert await ids("unit=S03-C02") == ["v2-blue"]
        assert await ids("q=v2-red") == ["v2-red"]
        assert await ids("q=聚集") == ["v2-red"]
        assert await ids("q=v2-out") == []  # out of scope, even by exact id
        assert (await http.get(f"{desk.url}/api/alerts?unit=S04")).status == 404
        assert (await http.get(f"{desk.url}/api/alerts?level=purple")).status == 400
        assert (await http.get(f"{desk.url}/api/alerts?since=yesterday")).status == 400
        summary = await (await http.get(f"{desk.url}/api/summary")).json()
        assert summary["counts"] == {"red": {"new": 1}, "blue": {"new": 1}}
