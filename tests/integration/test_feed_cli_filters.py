"""`warning feed` with filters and --compact over real Redis and a units file in force (issue 15, item 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Backoff, Deliverer
from warning.devtools.testing import T0, make_alert
from warning.metrics import Metrics
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink
from warning.units_cli import parse_csv, render_csv

pytestmark = pytest.mark.integration

UNITS = """code,name,parent,level
440305001000,南头街道,,street
440305001001,南头社区,440305001000,community
NT01,南头一网格,440305001001,grid
440305002000,南山街道,,street
440305002001,荔林社区,440305002000,community
LL01,荔林一网格,440305002001,grid
"""


def test_feed_filters_and_compact_lines_with_a_units_file(
    stack: Settings, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warning.cli import app

    h = parse_csv(UNITS)
    units_file = tmp_path / "units.csv"
    units_file.write_text(render_csv(h), encoding="utf-8")
    prefix = f"test:{unique}:warning:"
    monkeypatch.setenv("WARNING_UNITS_FILE", str(units_file))
    monkeypatch.setenv("WARNING_REDIS_PREFIX", prefix)

    async def seed() -> None:
        client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
        sink = RedisAlertSink(client, prefix=prefix, occurrence_ttl=600, hierarchy=h)
        d = Deliverer(
            sink, RoutingRules(hierarchy=h), Metrics.create(CollectorRegistry()), ManualClock(T0), backoff=Backoff()
        )
        await d.handle(make_alert("f-yellow", level="yellow", unit="NT01", title="南头 黄色"))
        await d.handle(make_alert("f-case", level="yellow", type="case", unit="NT01", title="南头 个案"))
        await d.handle(make_alert("f-other", level="yellow", unit="LL01", title="荔林 黄色"))
        await d.transition("f-case", "acknowledge", by="li")
        await sink.close()

    async def clean() -> None:
        client = aioredis.Redis.from_url(stack.redis_url)
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    asyncio.run(seed())
    try:
        runner = CliRunner()
        base = ["feed", "--unit", "440305001000", "--timeout", "0.5"]
        out = runner.invoke(app, [*base, "--group", "wall", "--compact", "--type", "dynamic"])
        assert out.exit_code == 0, out.output
        lines = [line for line in out.output.splitlines() if "#f-" in line]
        assert len(lines) == 1 and "#f-yellow" in lines[0] and "南头一网格(NT01)" in lines[0], out.output
        assert "f-other" not in out.output
        out = runner.invoke(app, [*base, "--group", "wall2", "--compact", "--state", "open"])
        assert out.exit_code == 0, out.output
        assert "#f-yellow" in out.output and "#f-case" in out.output  # the entry says new; both are open
        bad = runner.invoke(app, [*base, "--level", "purple"])
        assert bad.exit_code == 2 and "--level purple" in bad.output
        unknown = runner.invoke(app, ["feed", "--unit", "S03", "--timeout", "0.2"])
        assert unknown.exit_code == 2 and "units file" in unknown.output  # the default layout is not in force
    finally:
        asyncio.run(clean())
