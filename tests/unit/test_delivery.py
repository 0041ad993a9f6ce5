"""Wiring of delivery settings: the Redis key prefix, audit retention, the memory twin's clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from warning.core.errors import ImproperlyConfigured
from warning.core.ports import ManualClock
from warning.delivery import acl
from warning.delivery.router import build_deliverer
from warning.devtools.testing import T0
from warning.settings import Settings
from warning.sinks import open_sink
from warning.sinks.base import DEFAULT_PREFIX, Pending
from warning.sinks.memory import MemoryAlertSink
from warning.sinks.redis import RedisAlertSink
from warning.thresholds import Reloader, load, parse


def test_default_prefix_keeps_the_existing_key_names() -> None:
    assert Settings().redis_prefix == DEFAULT_PREFIX == "warning:"


def test_prefix_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARNING_REDIS_PREFIX", "{district-a}:")
    assert Settings().redis_prefix == "{district-a}:"


@pytest.mark.parametrize("bad", ["", "warn*:", "a b:", "x[1]:", "back\\slash:", "any?:"])
def test_prefix_with_glob_characters_is_rejected(bad: str) -> None:
    """The officers' ACL key patterns are globs built from the prefix."""
    with pytest.raises(ValidationError, match="redis_prefix"):
        Settings(redis_prefix=bad)


def test_shipped_thresholds_never_trim_the_audit() -> None:
    assert load().thresholds.delivery.audit_maxlen == 0


def test_negative_audit_maxlen_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="audit_maxlen"):
        parse('version = "t1"\ninherit = "defaults"\n[delivery]\naudit_maxlen = -1\n', tmp_path / "t.toml")


async def test_build_deliverer_passes_prefix_and_delivery_settings_to_redis(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        'version = "t1"\ninherit = "defaults"\n[delivery]\n'
        "audit_maxlen = 5000\nfeed_maxlen = 200\noccurrence_ttl_seconds = 120\n"
    )
    settings = Settings(redis_url="redis://127.0.0.1:1/0", redis_prefix="{d7}:")  # lazy client: no connection
    d = build_deliverer(settings, Reloader(path), None)
    sink = d.sink
    assert isinstance(sink, RedisAlertSink)
    try:
        assert (sink.prefix, sink.audit_maxlen, sink.feed_maxlen, sink.occurrence_ttl) == ("{d7}:", 5000, 200, 120)
        assert (sink.feed_key("S03"), sink.alert_key("a1"), sink.officers_key) == (
            "{d7}:feed:S03",
            "{d7}:alert:a1",
            "{d7}:officers",
        )
    finally:
        await sink.close()


async def test_memory_sink_expires_marks_on_the_deliverers_clock() -> None:
    clock = ManualClock(T0)
    d = build_deliverer(Settings(redis_url="memory://"), Reloader(None), None, clock=clock)
    sink = d.sink
    assert isinstance(sink, MemoryAlertSink)
    assert sink.clock is clock
    assert sink.occurrence_ttl == load().thresholds.delivery.occurrence_ttl_seconds


async def test_memory_marks_are_pruned_once_expired() -> None:
    from warning.core.routing import RoutingRules, occurrence_id
    from warning.delivery.router import Deliverer
    from warning.devtools.testing import make_alert

    clock = ManualClock(T0)
    sink = MemoryAlertSink(occurrence_ttl=60, clock=clock)
    d = Deliverer(sink, RoutingRules(), None, clock)
    for i in range(5):
        await d.handle(make_alert(f"m{i}"))
    assert len(sink.occurrences) == 5
    clock.advance(timedelta(seconds=59))
    assert (await d.handle(make_alert("m0"))).kind == "duplicate"
    clock.advance(timedelta(seconds=1))  # exactly the TTL: gone, as with Redis EX
    assert (await d.handle(make_alert("m0"))).kind == "suppressed"
    assert list(sink.occurrences) == [occurrence_id(make_alert("m0"))]  # the four others were pruned


def test_unknown_sink_scheme_names_the_valid_ones() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"valid options are \['memory'"):
        open_sink("mongodb://x")


def test_pending_summary_counts_every_level() -> None:
    p = Pending.of([("red", T0), ("blue", T0 - timedelta(hours=1)), ("red", T0 + timedelta(hours=1))])
    assert dict(p.counts) == {"blue": 1, "yellow": 0, "orange": 0, "red": 2}
    assert (p.total, p.oldest_delivered_at) == (3, T0 - timedelta(hours=1))
    assert Pending.of([]) == Pending({"blue": 0, "yellow": 0, "orange": 0, "red": 0}, None)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://engine:s3cret@10.0.0.5:6379/2", "redis://10.0.0.5:6379/2"),
        ("rediss://:only-pass@h:6380/0?ssl_cert_reqs=none", "rediss://h:6380/0?ssl_cert_reqs=none"),
        ("redis://h:6379/0?username=engine&password=x&db=3", "redis://h:6379/0?db=3"),
        ("unix://engine:pw@/run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ],
)
def test_officer_connections_drop_the_engine_credentials(url: str, expected: str) -> None:
    """redis-py lets URL credentials override username=/password=: they must not be there."""
    assert acl.anonymous_url(url) == expected
