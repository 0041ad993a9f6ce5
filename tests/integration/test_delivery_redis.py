"""Delivery against real redis-server: outage recovery, ACL scoping, desk consumer groups, CLI.

Uses the local stack's Redis (`stack` fixture) under a unique key prefix (or, for the CLI, a
dedicated database) and removes its keys and ACL users afterwards. The outage test runs its
own short-lived redis-server on a free port, because stopping the shared one would disturb
every other test.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from redis import exceptions as rexc
from typer.testing import CliRunner

from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery import acl
from warning.delivery.router import Backoff, Deliverer
from warning.desk.feed import follow
from warning.devtools.testing import T0, free_port, make_alert
from warning.metrics import Metrics
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink

pytestmark = pytest.mark.integration


@pytest.fixture
async def officer(rsink: RedisAlertSink, unique: str) -> AsyncIterator[tuple[str, str]]:
    """An officer user of street S03 (keys under the test prefix); removed afterwards."""
    name, password = f"t{unique}", "s3cret-pass"
    await acl.add_user(rsink.client, "S03", name, password, prefix=rsink.prefix)
    try:
        yield name, password
    finally:
        await rsink.client.acl_deluser(name)
        aclfile = await rsink.client.config_get("aclfile")
        if aclfile.get("aclfile"):
            await rsink.client.acl_save()


def _deliverer(sink: RedisAlertSink, registry: CollectorRegistry | None = None) -> Deliverer:
    metrics = Metrics.create(registry or CollectorRegistry())
    return Deliverer(sink, RoutingRules(), metrics, ManualClock(T0), backoff=Backoff(0.05, 0.2))


async def test_delivery_waits_for_redis_and_loses_nothing(tmp_path: Path) -> None:
    """Redis down at first: handle() keeps retrying and returns only once the alert is stored."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    port = free_port()
    sink = RedisAlertSink.from_url(f"redis://127.0.0.1:{port}/0")
    registry = CollectorRegistry()
    deliverer = _deliverer(sink, registry)
    task = asyncio.create_task(deliverer.handle(make_alert(), received_at=T0))
    await asyncio.sleep(0.6)
    assert not task.done()  # still waiting: the Kafka offset would not be committed
    assert (registry.get_sample_value("warning_redis_retries_total") or 0) >= 2
    assert registry.get_sample_value("warning_delivery_backlog_alerts") == 1
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        result = await asyncio.wait_for(task, timeout=15)
        assert result.kind == "new"
        assert result.attempts >= 3
        assert len(await sink.feed("all")) == 1
        assert (await deliverer.handle(make_alert())).kind == "duplicate"
        assert registry.get_sample_value("warning_delivery_backlog_alerts") == 0
    finally:
        await sink.close()
        proc.terminate()
        proc.wait(timeout=10)


async def test_officer_reads_own_feeds_and_is_refused_other_units(
    stack: Settings, rsink: RedisAlertSink, officer: tuple[str, str]
) -> None:
    deliverer = _deliverer(rsink)
    await deliverer.handle(make_alert("mine", unit="S03-C02-G05"))
    await deliverer.handle(make_alert("theirs", unit="S04-C01-G01"))
    name, password = officer
    client = acl.officer_client(stack.redis_url, name, password)
    try:
        shown: list[str] = []
        n = await follow(
            client,
            rsink.feed_key("S03-C02"),
            "desk",
            name,
            lambda _id, f: shown.append(f["alert_id"]),
            timeout=0.2,
        )
        assert (n, shown) == (1, ["mine"])
        for key in [rsink.feed_key("S04-C01"), rsink.feed_key("S030"), rsink.feed_key("all")]:
            with pytest.raises(rexc.NoPermissionError):
                await client.xrange(key)
        with pytest.raises(rexc.NoPermissionError):
            await client.hgetall(rsink.alert_key("mine"))
        with pytest.raises(rexc.NoPermissionError):
            await follow(client, rsink.feed_key("S04-C01"), "desk", name, lambda *_: None, timeout=0.1)
    finally:
        await client.aclose()
    assert await acl.verify_password(stack.redis_url, name, password)
    assert not await acl.verify_password(stack.redis_url, name, "wrong-password")


async def test_password_check_ignores_credentials_in_the_engine_url(stack: Settings, officer: tuple[str, str]) -> None:
    """With credentials in WARNING_REDIS_URL, a wrong officer password must still fail."""
    name, password = officer
    url = f"redis://{name}:{password}@{stack.redis_url.split('://', 1)[1].rpartition('@')[2]}"
    assert not await acl.verify_password(url, name, "wrong-password")
    assert await acl.verify_password(url, name, password)


async def test_desk_replays_pending_entries_after_a_crash(rsink: RedisAlertSink) -> None:
    deliverer = _deliverer(rsink)
    for i in range(3):
        await deliverer.handle(make_alert(f"p{i}", at=T0 + timedelta(minutes=i)))
    key = rsink.feed_key("S03-C02")

    def crash_on_second(entry_id: str, fields: dict[str, str]) -> None:
        seen.append(fields["alert_id"])
        if len(seen) == 2:
            raise RuntimeError("terminal died while displaying")

    seen: list[str] = []
    with pytest.raises(RuntimeError):
        await follow(rsink.client, key, "desk", "officer-1", crash_on_second, timeout=0.1)
    assert seen == ["p0", "p1"]
    again: list[str] = []
    n = await follow(rsink.client, key, "desk", "officer-1", lambda _i, f: again.append(f["alert_id"]), timeout=0.1)
    assert again == ["p1", "p2"]  # p1 was pending (shown, never acked): shown again, nothing skipped
    assert n == 2
    other: list[str] = []
    await follow(rsink.client, key, "night-desk", "officer-2", lambda _i, f: other.append(f["alert_id"]), max_entries=3)
    assert other == ["p0", "p1", "p2"]  # another desk has its own cursor
    pending = await rsink.client.xpending(key, "desk")
    assert pending["pending"] == 0


@pytest.fixture
def cli_db(stack: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A dedicated Redis database for CLI tests (the CLI uses the default key prefix)."""
    base = stack.redis_url.rsplit("/", 1)[0]
    url = f"{base}/13"
    monkeypatch.setenv("WARNING_REDIS_URL", url)
    yield url

    async def clean() -> None:
        client = aioredis.Redis.from_url(url)
        keys = [k async for k in client.scan_iter(match="warning:*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    asyncio.run(clean())


def test_cli_feed_list_show_ack_resolve(cli_db: str) -> None:
    from warning.cli import app

    async def seed() -> None:
        sink = RedisAlertSink.from_url(cli_db)
        d = _deliverer(sink)
        await d.handle(make_alert("cli-1", level="yellow", details={"parties": [{"person_ref": "p-1"}]}))
        await d.handle(make_alert("cli-2", unit="S05-C01-G01"))
        await sink.close()

    asyncio.run(seed())
    runner = CliRunner()
    out = runner.invoke(app, ["feed", "--unit", "S03", "--max", "1", "--timeout", "2"])
    assert out.exit_code == 0, out.output
    assert "cli-1" in out.output
    assert "黄色" in out.output
    out = runner.invoke(app, ["alerts", "list", "--unit", "S03"])
    assert out.exit_code == 0, out.output
    assert "cli-1" in out.output
    assert "cli-2" not in out.output
    assert runner.invoke(app, ["ack", "cli-1", "--by", "li", "--note", "收到"]).exit_code == 0
    bad = runner.invoke(app, ["ack", "cli-1", "--by", "li"])
    assert bad.exit_code == 2
    assert "Cannot acknowledge" in bad.output
    out = runner.invoke(
        app, ["resolve", "cli-1", "--by", "li", "--note", "已调解", "--outcome", "resolved_by_mediation"]
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["alerts", "show", "cli-1", "--details", "--by", "li"])
    assert out.exit_code == 0, out.output
    for text in ["acknowledge", "resolve", "read_details", "p-1", "调解化解"]:
        assert text in out.output


async def test_pending_beyond_the_scan_bound_still_counts_exactly(rsink: RedisAlertSink) -> None:
    """More pending alerts than `pending_scan`: counts from ZINTERCARD, the same as a full read."""
    deliverer = _deliverer(rsink)
    levels = ["blue", "blue", "yellow", "red", "red", "red", "orange"]
    for i, level in enumerate(levels):
        await deliverer.handle(make_alert(f"b{i}", level=level, unit=f"S0{i + 1}-C01-G01"))  # type: ignore[arg-type]  # Level literals
    await deliverer.transition("b0", "acknowledge", by="li")
    full = await rsink.pending()
    rsink.pending_scan = 2
    bounded = await rsink.pending()
    assert dict(full.counts) == {"blue": 1, "yellow": 1, "orange": 1, "red": 3}
    assert dict(bounded.counts) == dict(full.counts)
    assert bounded.oldest_delivered_at == full.oldest_delivered_at == T0


@pytest.fixture
def cli_prefix(stack: Settings, unique: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """WARNING_REDIS_PREFIX set to a test prefix on the stack's Redis; yields (prefix, officer login)."""
    prefix = f"test:{unique}:warning:"
    name = f"t{unique}"
    monkeypatch.setenv("WARNING_REDIS_PREFIX", prefix)
    yield prefix, name

    async def clean() -> None:
        client = aioredis.Redis.from_url(stack.redis_url)
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.acl_deluser(name)
        aclfile = await client.config_get("aclfile")
        if aclfile.get("aclfile"):
            await client.acl_save()
        await client.aclose()

    asyncio.run(clean())


def test_cli_officer_login_scope_and_prefix(stack: Settings, cli_prefix: tuple[str, str]) -> None:
    """`ack/resolve --user`: password checked, scope enforced, login audited; every key under the prefix."""
    from warning.cli import app

    prefix, name = cli_prefix
    password = "s3cret-pass"

    async def seed() -> None:
        sink = RedisAlertSink.from_url(stack.redis_url, prefix=prefix)
        d = _deliverer(sink)
        await d.handle(make_alert("mine", unit="S03-C02-G05"))
        await d.handle(make_alert("theirs", unit="S05-C01-G01"))
        await sink.close()

    async def stored() -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]], int]:
        sink = RedisAlertSink.from_url(stack.redis_url, prefix=prefix)
        try:
            states: dict[str, str] = {}
            for alert_id in ("mine", "theirs"):
                rec = await sink.load(alert_id)
                assert rec is not None
                states[alert_id] = rec.state
            officers = cast(dict[str, str], await sink.client.hgetall(sink.officers_key))  # decoded responses
            trail = [(e.action, e.actor) for e in await sink.audit() if e.action != "create"]
            default_keys = len([k async for k in sink.client.scan_iter(match="warning:alert:mine", count=1000)])
            return states, officers, trail, default_keys
        finally:
            await sink.close()

    def flat(text: str) -> str:  # rich wraps long lines at the runner's 80 columns
        return " ".join(text.split())

    asyncio.run(seed())
    runner = CliRunner()
    out = runner.invoke(app, ["acl", "add-user", "--unit", "S03", "--name", name, "--password", password])
    assert out.exit_code == 0, out.output
    assert f"~{prefix}feed:S03" in out.output
    out = runner.invoke(app, ["feed", "--unit", "S03-C02", "--user", name, "--password", password, "--max", "1"])
    assert out.exit_code == 0, out.output
    assert "mine" in out.output
    out = runner.invoke(app, ["alerts", "list"])
    assert out.exit_code == 0, out.output
    assert ("mine" in out.output, "theirs" in out.output) == (True, True)

    refusals = [
        (["ack", "mine", "--user", name, "--password", "wrong-password"], "wrong user name or password"),
        (["ack", "theirs", "--user", name, "--password", password], f"outside the scope S03 of officer {name}"),
        (["ack", "mine", "--user", name, "--password", password, "--by", "someone"], "--by differs from --user"),
        (["ack", "mine"], "give --by NAME (operator) or --user LOGIN (officer)"),
        (["ack", "mine", "--user", "nobody-here", "--password", password], "wrong user name or password"),
    ]
    for args, message in refusals:
        out = runner.invoke(app, args)
        assert out.exit_code == 2, (args, out.output)
        assert message in flat(out.output), (args, out.output)
    assert "无权操作" in flat(runner.invoke(app, refusals[1][0]).output)
    states, _, trail, _ = asyncio.run(stored())
    assert (states, trail) == ({"mine": "new", "theirs": "new"}, [])  # nothing changed, nothing audited

    out = runner.invoke(app, ["ack", "mine", "--user", name, "--note", "收到"], input=f"{password}\n")  # prompted
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        app, ["resolve", "mine", "--user", name, "--password", password, "--note", "已调解", "--outcome", "referred"]
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["ack", "theirs", "--by", "operator-zhao"])  # operator path: as before
    assert out.exit_code == 0, out.output
    states, officers, trail, default_keys = asyncio.run(stored())
    assert states == {"mine": "resolved", "theirs": "acknowledged"}
    assert officers == {name: "S03"}
    assert trail == [("acknowledge", name), ("resolve", name), ("acknowledge", "operator-zhao")]
    assert default_keys == 0  # nothing leaked to the default prefix


async def test_own_geography_feeds_keep_my_unit_and_below(stack: Settings, rsink: RedisAlertSink, unique: str) -> None:
    """With a units file (12-digit codes), feed keys embed the path and ACL patterns still mean "my unit and below"."""
    from warning.core import units
    from warning.units_cli import parse_csv

    h = parse_csv(
        "code,name,parent,level\n440305001000,南头街道,,street\n"
        "440305001001,南头社区,440305001000,community\n440305001001-01,第一网格,440305001001,grid\n"
        "440305002000,南山街道,,street\n440305002001,南山社区,440305002000,community\n"
        "440305002001-01,第一网格,440305002001,grid\n"
    )
    sink = RedisAlertSink(rsink.client, prefix=rsink.prefix, occurrence_ttl=600, hierarchy=h)
    metrics = Metrics.create(CollectorRegistry())
    deliverer = Deliverer(sink, RoutingRules(hierarchy=h), metrics, ManualClock(T0), backoff=Backoff(0.05, 0.2))
    await deliverer.handle(make_alert("mine", unit="440305001001-01"))
    await deliverer.handle(make_alert("theirs", unit="440305002001-01"))
    assert [r.alert_id for r in await sink.query(unit="440305001000")] == ["mine"]  # unit index from the file
    name, password = f"t{unique}", "s3cret-pass"
    await acl.add_user(rsink.client, "440305001000", name, password, prefix=rsink.prefix, h=h)
    client = acl.officer_client(stack.redis_url, name, password)
    try:
        shown: list[str] = []
        community = units.feed_key("440305001001", h)
        assert community == "440305001000-440305001001"
        await follow(
            client, sink.feed_key(community), "desk", name, lambda _id, f: shown.append(f["alert_id"]), timeout=0.2
        )
        assert shown == ["mine"]
        with pytest.raises(rexc.NoPermissionError):
            await client.xrange(sink.feed_key(units.feed_key("440305002001", h)))
    finally:
        await client.aclose()
        await rsink.client.acl_deluser(name)
        if (await rsink.client.config_get("aclfile")).get("aclfile"):
            await rsink.client.acl_save()
