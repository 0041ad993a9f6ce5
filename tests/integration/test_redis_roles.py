"""The programs' Redis ACL users, `default` off, officers who cannot create keys, audited identity.

Each test starts its **own** redis-server through the project's stack code (`stack.up` with a
temporary ``stack_dir`` and a free port), so it checks exactly what the next `warning stack up`
does, without touching the shared server other tests use as `default`.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from redis import exceptions as rexc
from typer.testing import CliRunner

from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery import acl
from warning.delivery.router import Backoff, Deliverer
from warning.desk.feed import follow
from warning.devtools import stack as stack_mod
from warning.devtools.testing import T0, free_port, make_alert
from warning.metrics import Metrics
from warning.settings import REDIS_ROLES, Settings
from warning.sinks.redis import DESK_GROUP, RedisAlertSink

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Settings]:
    """A redis-server of our own, started by `warning.devtools.stack.up` in a temp stack dir."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    port = free_port()
    cfg = Settings(stack_dir=tmp_path / "stack", redis_port=port, redis_url=f"redis://127.0.0.1:{port}/0")
    stack_mod.up(cfg, ("redis",), report=lambda _m: None)
    try:
        yield cfg
    finally:
        stack_mod.down(cfg)


def _client(cfg: Settings, role: str = "cli") -> redis.Redis:
    return redis.Redis.from_url(cfg.redis_dsn(role), decode_responses=True)  # type: ignore[arg-type]


def _sink(cfg: Settings, role: str) -> RedisAlertSink:
    return RedisAlertSink.from_url(cfg.redis_dsn(role), occurrence_ttl=600)  # type: ignore[arg-type]


def _deliverer(sink: RedisAlertSink) -> Deliverer:
    return Deliverer(sink, RoutingRules(), Metrics.create(CollectorRegistry()), ManualClock(T0), backoff=Backoff())


def test_fresh_start_has_default_off_and_one_user_per_program(own_redis: Settings) -> None:
    bare = redis.Redis(host="127.0.0.1", port=own_redis.redis_port)
    with pytest.raises(rexc.AuthenticationError):  # NOAUTH: no silent fallback to an open default
        bare.ping()
    bare.close()
    for role in REDIS_ROLES:
        path = own_redis.redis_password_file(role)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with _client(own_redis, role) as c:
            assert c.acl_whoami() == role
    text = stack_mod.paths(own_redis).redis_acl.read_text()
    assert "user default off" in text
    for role in REDIS_ROLES:  # hashes only, never a plaintext password
        assert own_redis.redis_password_file(role).read_text().strip() not in text
    with _client(own_redis, "engine") as engine:
        for cmd in (("FLUSHDB",), ("CONFIG", "GET", "aclfile"), ("ACL", "SETUSER", "x"), ("KEYS", "*")):
            with pytest.raises(rexc.NoPermissionError):
                engine.execute_command(*cmd)
    with _client(own_redis, "console") as console:
        for cmd in (("FLUSHALL",), ("ACL", "SETUSER", "x"), ("ACL", "SAVE")):
            with pytest.raises(rexc.NoPermissionError):
                console.execute_command(*cmd)
        assert console.acl_getuser("engine") is not None  # sessions end when an officer is deleted
    with _client(own_redis, "cli") as cli:
        assert cli.config_get("aclfile")["aclfile"].endswith("users.acl")


def test_up_on_a_running_server_adds_missing_users_live_and_a_restart_turns_default_off(
    own_redis: Settings,
) -> None:
    # an older stack's server: `default` open, no program users
    with _client(own_redis, "cli") as cli:
        cli.execute_command("ACL", "SETUSER", "default", "on", "nopass", "~*", "&*", "+@all")
    with redis.Redis(host="127.0.0.1", port=own_redis.redis_port) as bare:
        for role in REDIS_ROLES:
            bare.acl_deluser(role)
        bare.acl_save()
    messages: list[str] = []
    again = stack_mod.up(own_redis, ("redis",), report=messages.append)
    assert not again["redis"].started and again["redis"].healthy
    assert any("added ACL users engine, console, cli" in m for m in messages)
    for role in REDIS_ROLES:
        with _client(own_redis, role) as c:
            assert c.acl_whoami() == role
    with redis.Redis(host="127.0.0.1", port=own_redis.redis_port) as bare:
        assert bare.ping()  # left open: `up` never disables default on a live server
    # an officer provisioned now survives the restart; `default` does not
    asyncio.run(_add_officer(own_redis, "S03", "zhou", "officer-pass"))
    stack_mod.down(own_redis)
    assert stack_mod.up(own_redis, ("redis",), report=lambda _m: None)["redis"].started
    with redis.Redis(host="127.0.0.1", port=own_redis.redis_port) as bare, pytest.raises(rexc.AuthenticationError):
        bare.ping()
    assert asyncio.run(acl.verify_password(own_redis.redis_url, "zhou", "officer-pass"))


async def _add_officer(cfg: Settings, scope: str, name: str, password: str) -> None:
    client = aioredis.Redis.from_url(cfg.redis_dsn("cli"), decode_responses=True)
    try:
        await acl.add_user(client, scope, name, password)
    finally:
        await client.aclose()


async def test_officer_reads_and_acks_the_engines_desk_group_but_creates_nothing(own_redis: Settings) -> None:
    engine = _sink(own_redis, "engine")
    await _deliverer(engine).handle(make_alert("a1", unit="S03-C02-G05"))
    feed = engine.feed_key("S03-C02")
    groups = await engine.client.xinfo_groups(feed)
    assert [g["name"] for g in groups] == [DESK_GROUP]  # the engine made it with the feed
    await engine.close()
    await _add_officer(own_redis, "S03", "zhou", "officer-pass")
    officer = acl.officer_client(own_redis.redis_url, "zhou", "officer-pass")
    try:
        shown: list[str] = []
        n = await follow(officer, feed, DESK_GROUP, "zhou", lambda _i, f: shown.append(f["alert_id"]), timeout=0.2)
        assert (n, shown) == (1, ["a1"])
        assert (await officer.xpending(feed, DESK_GROUP))["pending"] == 0  # read and acked
        own = "warning:feed:S03-C02-new"  # inside the officer's key pattern, not a feed yet
        for attempt in (
            officer.xadd(own, {"x": "1"}),
            officer.xadd(feed, {"x": "1"}),
            officer.xgroup_create(own, "g", mkstream=True),
            officer.xgroup_create(feed, "second-desk"),
            officer.set(own, "1"),
            officer.execute_command("XGROUP", "CREATECONSUMER", feed, DESK_GROUP, "extra"),
        ):
            with pytest.raises(rexc.NoPermissionError):
                await attempt
        with pytest.raises(rexc.ResponseError, match="NOGROUP"):  # ensure_group gives way; no key made
            await follow(officer, own, DESK_GROUP, "zhou", lambda *_: None, timeout=0.1)
    finally:
        await officer.aclose()
    with _client(own_redis) as cli:
        assert not cli.exists("warning:feed:S03-C02-new")


async def test_console_user_acknowledges_through_the_same_script(own_redis: Settings) -> None:
    engine = _sink(own_redis, "engine")
    await _deliverer(engine).handle(make_alert("c1", unit="S03-C02-G05"))
    await engine.close()
    console = _sink(own_redis, "console")
    try:
        rec = await _deliverer(console).transition("c1", "acknowledge", by="zhou", identity="console")
        assert rec.state == "acknowledged"
        assert [(e.actor, e.identity) for e in await console.audit("c1")][-1] == ("zhou", "console")
    finally:
        await console.close()


@pytest.fixture
def cli_env(own_redis: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`warning ...` in this process talks to our own server (as cli, from the generated file)."""
    monkeypatch.setenv("WARNING_STACK_DIR", str(own_redis.stack_dir))
    monkeypatch.setenv("WARNING_REDIS_URL", own_redis.redis_url)
    monkeypatch.setenv("WARNING_REDIS_PREFIX", "warning:")
    for var in ("WARNING_REDIS_USER", "WARNING_REDIS_PASSWORD", "WARNING_UNITS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WARNING_DATA_DIR", str(own_redis.stack_dir / "state"))
    engine = _sink(own_redis, "engine")

    async def seed() -> None:
        for i in range(4):
            await _deliverer(engine).handle(make_alert(f"k{i}", unit="S03-C02-G05"))
        await engine.close()

    asyncio.run(seed())
    return own_redis


def _trail(cfg: Settings, alert_id: str) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        sink = _sink(cfg, "cli")
        try:
            return [(e.actor, e.identity) for e in await sink.audit(alert_id) if e.action == "acknowledge"]
        finally:
            await sink.close()

    return asyncio.run(read())


def test_ack_records_the_connected_acl_user_and_flags_a_shared_one(cli_env: Settings) -> None:
    from warning.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["ack", "k0", "--by", "张三"])
    assert out.exit_code == 0, out.output
    assert "unverified" in out.output
    assert _trail(cli_env, "k0") == [("张三", "cli")]  # the name as given, and who really wrote it

    out = runner.invoke(app, ["ack", "k1"])  # a shared user needs a name
    assert out.exit_code == 2, out.output


def test_ack_refuses_a_by_name_other_than_a_personal_redis_user(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warning.cli import app

    with _client(cli_env) as cli:
        cli.execute_command("ACL", "SETUSER", "wangwu", "on", ">operator-pass", "~*", "&*", "+@all")
    monkeypatch.setenv("WARNING_REDIS_USER", "wangwu")
    monkeypatch.setenv("WARNING_REDIS_PASSWORD", "operator-pass")
    runner = CliRunner()
    out = runner.invoke(app, ["ack", "k2", "--by", "zhangsan"])
    assert out.exit_code == 2, out.output
    assert "wangwu" in out.output
    assert _trail(cli_env, "k2") == []  # refused: nothing written

    out = runner.invoke(app, ["ack", "k2"])
    assert out.exit_code == 0, out.output
    assert _trail(cli_env, "k2") == [("wangwu", "wangwu")]


def test_ack_by_an_authenticated_officer_records_login_and_connection(cli_env: Settings) -> None:
    from warning.cli import app

    asyncio.run(_add_officer(cli_env, "S03", "zhou", "officer-pass"))
    out = CliRunner().invoke(app, ["ack", "k3", "--user", "zhou", "--password", "officer-pass"])
    assert out.exit_code == 0, out.output
    assert "unverified" not in out.output
    assert _trail(cli_env, "k3") == [("zhou", "cli")]


async def test_console_ack_records_the_console_connection_as_identity(own_redis: Settings) -> None:
    import os

    import aiohttp

    from warning.desk.console.app import create_app
    from warning.devtools.testing import running_console

    engine = _sink(own_redis, "engine")
    await _deliverer(engine).handle(make_alert("w1", unit="S03-C02-G05"))
    await engine.close()
    await _add_officer(own_redis, "S03", "zhou", "officer-pass")
    console = _sink(own_redis, "console")

    async def authenticate(user: str, pw: str) -> bool:
        return await acl.verify_password(own_redis.redis_url, user, pw)

    app = create_app(_deliverer(console), authenticate, secret=os.urandom(32), poll_interval=0.1)
    try:
        async with (
            running_console(app) as url,
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        ):
            login = await http.post(
                f"{url}/login", data={"name": "zhou", "password": "officer-pass"}, allow_redirects=False
            )
            assert login.status == 302 and login.headers["Location"] == "/"
            resp = await http.post(f"{url}/api/alerts/w1/ack", json={"note": "收到"})
            assert resp.status == 200, await resp.text()
        trail = [(e.actor, e.identity) for e in await console.audit("w1") if e.action == "acknowledge"]
        assert trail == [("zhou", "console")]
    finally:
        await console.close()
