"""Retention (issue 13, hole 5): old closed alerts and old audit lines leave Redis only via the archive.

Real Redis (the stack's, the database of WARNING_REDIS_URL; run with db 4), unique key prefix.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as sync_redis
from prometheus_client import CollectorRegistry

from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Backoff, Deliverer
from warning.devtools.testing import T0, make_alert
from warning.metrics import Metrics
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink, jsonl_writer


async def _closed_and_open(sink: RedisAlertSink) -> Deliverer:
    d = Deliverer(
        sink, RoutingRules(), Metrics.create(CollectorRegistry()), ManualClock(T0), backoff=Backoff(0.05, 0.2)
    )
    for alert_id in ("old-1", "old-2", "open-1"):
        await d.handle(make_alert(alert_id, unit="S03-C01-G01"))
    for alert_id in ("old-1", "old-2"):
        await d.transition(alert_id, "acknowledge", by="li")
        await d.transition(alert_id, "resolve", by="li", outcome="resolved_by_mediation")
        await d.transition(alert_id, "close", by="li")
    return d


async def _prefixed_keys(sink: RedisAlertSink) -> set[str]:
    return {k async for k in sink.client.scan_iter(match=sink.prefix + "*", count=500)}


async def test_old_closed_alerts_are_archived_then_removed(rsink: RedisAlertSink, tmp_path: Path) -> None:
    await _closed_and_open(rsink)
    out = tmp_path / "archive.jsonl"
    result = await rsink.archive(T0 + timedelta(days=1), jsonl_writer(out))
    assert (result.alerts, result.skipped) == (2, 0)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    archived = {x["id"]: x["fields"] for x in lines if x["kind"] == "alert"}
    assert set(archived) == {"old-1", "old-2"}
    assert archived["old-1"]["state"] == "closed"
    assert await rsink.load("old-1") is None
    assert await rsink.load("open-1") is not None
    for name in ("all", "state:closed", "unit:S03", "level:blue", "type:dynamic"):
        members = await rsink.client.zrange(rsink.index_key(name), 0, -1)
        assert "old-1" not in members and "old-2" not in members
    assert "open-1" in await rsink.client.zrange(rsink.index_key("all"), 0, -1)
    # a cutoff before the alerts were last seen archives nothing; a second run finds nothing
    again = await rsink.archive(T0 + timedelta(days=1), jsonl_writer(out))
    assert (again.alerts, again.skipped) == (0, 0)


async def test_open_alerts_are_kept_whatever_their_age(rsink: RedisAlertSink, tmp_path: Path) -> None:
    await _closed_and_open(rsink)
    result = await rsink.archive(T0 - timedelta(days=1), jsonl_writer(tmp_path / "a.jsonl"))
    assert result.alerts == 0
    assert await rsink.load("old-1") is not None


async def test_audit_lines_older_than_the_cutoff_move_to_the_archive(rsink: RedisAlertSink, tmp_path: Path) -> None:
    await _closed_and_open(rsink)
    before = await rsink.client.xlen(rsink.audit_key)
    assert before > 0
    out = tmp_path / "audit.jsonl"
    # the audit stream's ids are Redis' clock: a cutoff just ahead of now covers every line
    result = await rsink.archive(datetime.now(UTC) + timedelta(seconds=5), jsonl_writer(out), states=())
    assert result.audit_lines == before
    assert await rsink.client.xlen(rsink.audit_key) == 0
    kinds = [json.loads(x)["kind"] for x in out.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["audit"] * before


async def test_an_alert_changed_after_archiving_stays(rsink: RedisAlertSink, stack: Settings, tmp_path: Path) -> None:
    await _closed_and_open(rsink)

    def reopen_while_writing(lines: list[dict[str, object]]) -> None:
        jsonl_writer(tmp_path / "a.jsonl")(lines)
        # the version moves between the archive write and the delete (a concurrent change)
        with sync_redis.Redis.from_url(stack.redis_url) as c:
            c.hincrby(rsink.alert_key("old-1"), "version", 1)

    result = await rsink.archive(T0 + timedelta(days=1), reopen_while_writing, states=("closed",))
    assert (result.alerts, result.skipped) == (1, 1)
    assert await rsink.load("old-1") is not None
    assert await rsink.load("old-2") is None
    assert "old-2" not in await _prefixed_keys(rsink)


async def test_cli_archive_uses_the_policy_and_the_prefix(
    rsink: RedisAlertSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from warning.cli import app

    await _closed_and_open(rsink)
    monkeypatch.setenv("WARNING_REDIS_PREFIX", rsink.prefix)
    out = tmp_path / "cli.jsonl"
    # T0 is months before now: 30 days covers the closed alerts, not the open one
    # in a thread: the command runs its own event loop
    args = ["alerts", "archive", "--older-than", "30", "--out", str(out)]
    done = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert done.exit_code == 0, done.output
    assert "归档 2 条预警" in done.output
    assert await rsink.load("old-1") is None
    assert await rsink.load("open-1") is not None
