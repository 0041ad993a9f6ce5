"""One contract for both alert sinks (STYLE.md X5): the memory twin and real Redis.

The Redis variant talks to the redis-server at ``WARNING_REDIS_URL`` (the local stack's by
default) under a unique key prefix it deletes afterwards, and skips with a message when no
server answers. Each test drives the real `Deliverer` with a `ManualClock`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from warning import settings as settings_mod
from warning.core.lifecycle import AlertRecord, AuditEntry, InvalidTransitionError, UnknownAlertError
from warning.core.ports import ManualClock
from warning.core.routing import ALL_FEED, Decision, RoutingRules, Write, decide
from warning.core.taxonomy import LEVELS
from warning.delivery.router import Backoff, Deliverer, OutOfScopeError
from warning.devtools.testing import T0, make_alert
from warning.metrics import Metrics
from warning.sinks.base import AlertStore
from warning.sinks.memory import MemoryAlertSink
from warning.sinks.redis import RedisAlertSink


async def _no_sleep(_: float) -> None:
    return None


async def _redis_sink() -> tuple[RedisAlertSink, str]:
    url = settings_mod.load().redis_url
    client = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=1.0)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"no redis-server at {url} ({exc}); run `warning stack up` or set WARNING_REDIS_URL")
    prefix = f"test:{uuid.uuid4().hex[:10]}:warning:"
    return RedisAlertSink(client, prefix=prefix, occurrence_ttl=600, feed_maxlen=1000), prefix


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(seconds=1))


@pytest.fixture(
    params=["memory", pytest.param("redis", marks=pytest.mark.integration)],
)
async def sink(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[AlertStore]:
    if request.param == "memory":
        yield MemoryAlertSink(occurrence_ttl=600, clock=clock)
        return
    store, prefix = await _redis_sink()
    try:
        yield store
    finally:
        keys = [k async for k in store.client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await store.client.delete(*keys)
        await store.close()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def deliverer(sink: AlertStore, clock: ManualClock, registry: CollectorRegistry) -> Deliverer:
    metrics = Metrics.create(registry)
    return Deliverer(sink, RoutingRules(), metrics, clock, backoff=Backoff(0.01, 0.02), sleep=_no_sleep)


Elapse = Callable[[float], Awaitable[None]]


@pytest.fixture
def elapse(sink: AlertStore, clock: ManualClock) -> Elapse:
    """Let `seconds` pass for the sink's expiries: the injected clock (memory) or real time (Redis)."""

    async def wait(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        if isinstance(sink, RedisAlertSink):  # Redis expires keys on the server's own clock
            await asyncio.sleep(seconds)

    return wait


class TestAlertSinkContract:
    """Behaviour every `AlertStore` backend must show, through the real deliverer."""

    async def test_new_update_upgrade_suppressed(self, deliverer: Deliverer, sink: AlertStore) -> None:
        kinds = []
        for alert in [
            make_alert(),
            make_alert(at=T0 + timedelta(minutes=10), evidence=("e2",)),  # within 1 h window
            make_alert(at=T0 + timedelta(hours=2), evidence=("e3",)),  # after the window
            make_alert(level="yellow", at=T0 + timedelta(hours=2, minutes=1)),
        ]:
            kinds.append((await deliverer.handle(alert)).kind)
        assert kinds == ["new", "suppressed", "update", "upgrade"]
        rec = await sink.load("a-0001")
        assert rec is not None
        assert (rec.count, rec.level, rec.alert.evidence) == (4, "yellow", ("e1", "e2", "e3"))
        assert len(await sink.feed("S03-C02")) == 2  # new + update; upgrade goes to S03
        assert [f["kind"] for _, f in await sink.feed("S03")] == ["upgrade"]
        assert [f["kind"] for _, f in await sink.feed(ALL_FEED)] == ["new", "update", "upgrade"]

    async def test_redelivery_of_the_same_message_is_a_no_op(self, deliverer: Deliverer, sink: AlertStore) -> None:
        alert = make_alert()
        first = await deliverer.handle(alert)
        again = await deliverer.handle(make_alert())  # equal message, as Kafka redelivers it
        assert (first.kind, again.kind) == ("new", "duplicate")
        assert len(first.entry_ids) == 3
        assert len(await sink.feed(ALL_FEED)) == 1
        rec = await sink.load(alert.alert_id)
        assert rec is not None
        assert (rec.count, rec.version) == (1, 1)

    async def test_feed_entries_equal_distinct_alerts_after_forced_redelivery(
        self, deliverer: Deliverer, sink: AlertStore
    ) -> None:
        alerts = [make_alert(f"a-{i:04d}", unit=f"S0{i % 3 + 1}-C01-G01") for i in range(12)]
        for _ in range(3):  # every message delivered three times, interleaved
            for a in alerts:
                await deliverer.handle(a)
        entries = await sink.feed(ALL_FEED)
        assert len(entries) == len(alerts)
        assert sorted(f["alert_id"] for _, f in entries) == sorted(a.alert_id for a in alerts)

    @pytest.mark.parametrize(
        ("level", "feeds"),
        [
            ("blue", ["S03-C02-G05", "S03-C02", ALL_FEED]),
            ("yellow", ["S03", ALL_FEED]),
            ("orange", ["S03", "district", ALL_FEED]),
            ("red", ["district", ALL_FEED]),
        ],
    )
    async def test_routing_per_level(
        self, deliverer: Deliverer, sink: AlertStore, level: str, feeds: list[str]
    ) -> None:
        result = await deliverer.handle(make_alert(level=level))  # type: ignore[arg-type]  # parametrized Level
        assert list(result.feeds) == feeds
        for name in ["S03-C02-G05", "S03-C02", "S03", "district", ALL_FEED]:
            entries = await sink.feed(name)
            assert len(entries) == (1 if name in feeds else 0), name
            if entries:
                assert entries[0][1]["level"] == level

    async def test_relational_alert_goes_to_department_feed(self, deliverer: Deliverer, sink: AlertStore) -> None:
        await deliverer.handle(make_alert(type="relational", level="yellow", category="labour"))
        entries = await sink.feed("dept:rsj")
        assert [f["alert_id"] for _, f in entries] == ["a-0001"]

    async def test_ack_and_resolve_transitions_are_audited(
        self, deliverer: Deliverer, sink: AlertStore, clock: ManualClock
    ) -> None:
        await deliverer.handle(make_alert())
        clock.advance(timedelta(minutes=5))
        acked = await deliverer.transition("a-0001", "acknowledge", by="li", note="已联系网格员")
        assert (acked.state, acked.due_at) == ("acknowledged", None)
        resolved = await deliverer.transition(
            "a-0001", "resolve", by="li", note="调解成功", outcome="resolved_by_mediation"
        )
        assert resolved.state == "resolved"
        stored = await sink.load("a-0001")
        assert stored is not None
        assert (stored.state, stored.outcome) == ("resolved", "resolved_by_mediation")
        trail = await sink.audit("a-0001")
        assert [(e.action, e.actor, e.from_state, e.to_state) for e in trail] == [
            ("create", "system", "", "new"),
            ("acknowledge", "li", "new", "acknowledged"),
            ("resolve", "li", "acknowledged", "resolved"),
        ]
        assert trail[1].at == T0 + timedelta(minutes=5, seconds=1)
        assert trail[2].outcome == "resolved_by_mediation"
        assert await sink.due(clock.now() + timedelta(days=9)) == []

    async def test_invalid_transitions_are_rejected_and_change_nothing(
        self, deliverer: Deliverer, sink: AlertStore
    ) -> None:
        await deliverer.handle(make_alert())
        with pytest.raises(InvalidTransitionError, match="Cannot resolve"):
            await deliverer.transition("a-0001", "resolve", by="li", outcome="true_risk")
        with pytest.raises(InvalidTransitionError, match="Cannot close"):
            await deliverer.transition("a-0001", "close", by="li")
        with pytest.raises(UnknownAlertError):
            await deliverer.transition("nope", "acknowledge", by="li")
        rec = await sink.load("a-0001")
        assert rec is not None
        assert (rec.state, rec.version) == ("new", 1)
        assert len(await sink.audit("a-0001")) == 1

    async def test_scoped_transition_refuses_alerts_outside_the_officers_unit(
        self, deliverer: Deliverer, sink: AlertStore
    ) -> None:
        await deliverer.handle(make_alert())  # S03-C02-G05
        for scope in ["S04", "S03-C01", "dept:rsj"]:
            with pytest.raises(OutOfScopeError, match="outside the scope"):
                await deliverer.transition("a-0001", "acknowledge", by="zhao", scope=scope)
        rec = await sink.load("a-0001")
        assert rec is not None
        assert (rec.state, len(await sink.audit("a-0001"))) == ("new", 1)
        acked = await deliverer.transition("a-0001", "acknowledge", by="li", scope="S03")
        assert acked.state == "acknowledged"
        handled = await deliverer.transition("a-0001", "handle", by="qian", scope="district")
        assert handled.state == "in_handling"

    async def test_escalation_on_timeout(self, deliverer: Deliverer, sink: AlertStore, clock: ManualClock) -> None:
        await deliverer.handle(make_alert("late"))
        await deliverer.handle(make_alert("taken", unit="S04-C01-G01"))
        await deliverer.transition("taken", "acknowledge", by="wang")
        clock.advance(timedelta(hours=23))
        assert await deliverer.escalate_due() == []
        clock.advance(timedelta(hours=1))
        results = await deliverer.escalate_due()
        assert [(r.alert_id, r.kind, r.feeds) for r in results] == [("late", "escalated", ("S03", ALL_FEED))]
        assert [f["kind"] for _, f in await sink.feed("S03")] == ["escalated"]
        rec = await sink.load("late")
        assert rec is not None
        assert (rec.level, rec.state, rec.escalations) == ("yellow", "escalated", 1)
        assert rec.due_at == clock.now() + timedelta(hours=4)
        assert await deliverer.escalate_due() == []  # not due again until the yellow deadline
        clock.advance(timedelta(hours=4))
        again = await deliverer.escalate_due()
        assert [(r.alert_id, r.record.level if r.record else "") for r in again] == [("late", "orange")]
        assert [e.action for e in await sink.audit("late")] == ["create", "escalate", "escalate"]

    async def test_stale_write_is_refused_as_conflict(self, sink: AlertStore) -> None:
        rules = RoutingRules()
        first = decide(None, make_alert(), rules, T0)
        assert (await sink.apply(Write(first, None, "occ-1"))).status == "applied"
        stale = decide(None, make_alert(at=T0 + timedelta(hours=3)), rules, T0)
        assert (await sink.apply(Write(stale, None, "occ-2"))).status == "conflict"
        assert (await sink.apply(Write(first, None, "occ-1"))).status == "duplicate"
        empty = Write(Decision("suppressed", first.record, ()), first.record)
        assert (await sink.apply(empty)).status == "applied"

    @staticmethod
    def _ids(recs: list[AlertRecord]) -> list[str]:
        return [r.alert_id for r in recs]

    async def test_history_queries(self, deliverer: Deliverer, sink: AlertStore) -> None:
        await deliverer.handle(make_alert("b1", unit="S03-C02-G05", at=T0))
        await deliverer.handle(make_alert("b2", unit="S03-C01-G01", level="red", at=T0 + timedelta(minutes=1)))
        await deliverer.handle(make_alert("b3", unit="S04-C01-G01", type="case", at=T0 + timedelta(minutes=2)))
        await deliverer.transition("b1", "acknowledge", by="li")
        assert self._ids(await sink.query()) == ["b3", "b2", "b1"]
        assert self._ids(await sink.query(unit="S03")) == ["b2", "b1"]
        assert self._ids(await sink.query(unit="S03-C02")) == ["b1"]
        assert self._ids(await sink.query(level="red")) == ["b2"]
        assert self._ids(await sink.query(type="case")) == ["b3"]
        assert self._ids(await sink.query(state="acknowledged")) == ["b1"]
        assert self._ids(await sink.query(state="new", unit="S03")) == ["b2"]
        assert self._ids(await sink.query(since=T0 + timedelta(seconds=30))) == ["b3", "b2"]
        assert self._ids(await sink.query(limit=1)) == ["b3"]

    async def test_reading_person_details_is_audited(self, deliverer: Deliverer, sink: AlertStore) -> None:
        await deliverer.handle(make_alert(type="case", details={"parties": [{"person_ref": "p-9"}]}))
        feed_alert = (await sink.feed(ALL_FEED))[0][1]["alert"]
        assert "p-9" not in feed_alert
        details = await deliverer.read_details("a-0001", by="li", scope="S03")
        assert details == {"parties": [{"person_ref": "p-9"}]}
        last = (await sink.audit("a-0001"))[-1]
        assert (last.action, last.actor, last.note) == ("read_details", "li", "scope=S03")

    async def test_pending_by_level_and_oldest_age_feed_the_gauges(
        self, deliverer: Deliverer, sink: AlertStore, clock: ManualClock, registry: CollectorRegistry
    ) -> None:
        def gauges() -> tuple[dict[str, float | None], float | None]:
            by_level: dict[str, float | None] = {
                lv: registry.get_sample_value("warning_feed_pending_entries", {"level": lv}) for lv in LEVELS
            }
            return by_level, registry.get_sample_value("warning_feed_oldest_pending_age_seconds")

        empty = await deliverer.measure_pending()
        assert (dict(empty.counts), empty.oldest_delivered_at) == (dict.fromkeys(LEVELS, 0), None)
        c0 = clock.now()
        await deliverer.handle(make_alert("p-blue"))
        clock.advance(timedelta(minutes=10))
        await deliverer.handle(make_alert("p-red", level="red", unit="S04-C01-G01"))
        clock.advance(timedelta(minutes=5))
        await deliverer.handle(make_alert("p-yellow", level="yellow", unit="S05-C01-G01"))
        clock.advance(timedelta(minutes=5))
        await deliverer.transition("p-yellow", "acknowledge", by="li")
        pending = await deliverer.measure_pending()
        assert (pending.total, pending.oldest_delivered_at) == (2, c0)
        assert gauges() == ({"blue": 1, "yellow": 0, "orange": 0, "red": 1}, 1200.0)

        # a reopened alert waits for a desk again (state:reopened is a pending index)
        await deliverer.transition("p-yellow", "resolve", by="li", outcome="false_alarm")
        await deliverer.transition("p-yellow", "reopen", by="li")
        await deliverer.measure_pending()
        assert gauges()[0] == {"blue": 1, "yellow": 1, "orange": 0, "red": 1}

        # escalation moves the overdue ones up a level and restarts their delivery time
        clock.advance(timedelta(hours=24))
        assert sorted(r.alert_id for r in await deliverer.escalate_due()) == ["p-blue", "p-yellow"]
        pending = await deliverer.measure_pending()
        assert pending.oldest_delivered_at == c0 + timedelta(minutes=10)  # the red one: no deadline
        assert gauges() == ({"blue": 0, "yellow": 1, "orange": 1, "red": 1}, 24 * 3600.0 + 600)

        for alert_id in ("p-red", "p-blue", "p-yellow"):
            await deliverer.transition(alert_id, "acknowledge", by="wang")
        pending = await deliverer.measure_pending()
        assert (pending.total, pending.oldest_delivered_at) == (0, None)
        assert gauges() == (dict.fromkeys(LEVELS, 0), 0.0)

    async def test_acknowledgement_observes_ack_latency_by_level(
        self, deliverer: Deliverer, clock: ManualClock, registry: CollectorRegistry
    ) -> None:
        await deliverer.handle(make_alert("l-blue"))
        await deliverer.handle(make_alert("l-orange", level="orange", unit="S04-C01-G01"))
        clock.advance(timedelta(minutes=7))
        await deliverer.transition("l-blue", "acknowledge", by="li")
        clock.advance(timedelta(minutes=3))
        await deliverer.transition("l-orange", "acknowledge", by="li")
        await deliverer.transition("l-orange", "handle", by="li")  # not an acknowledgement: no sample

        def sample(suffix: str, level: str) -> float | None:
            return registry.get_sample_value(f"warning_ack_latency_seconds_{suffix}", {"level": level})

        assert (sample("count", "blue"), sample("sum", "blue")) == (1, 420)
        assert (sample("count", "orange"), sample("sum", "orange")) == (1, 600)
        assert (sample("count", "yellow"), sample("count", "red")) == (0, 0)

    async def test_occurrence_marks_expire_after_their_ttl(
        self, deliverer: Deliverer, sink: AlertStore, elapse: Elapse
    ) -> None:
        sink.occurrence_ttl = 1
        assert (await deliverer.handle(make_alert())).kind == "new"
        assert (await deliverer.handle(make_alert())).kind == "duplicate"
        await elapse(1.2)
        # the mark is gone: the same message is applied again, as a repeat inside the window
        assert (await deliverer.handle(make_alert())).kind == "suppressed"
        rec = await sink.load("a-0001")
        assert rec is not None
        assert rec.count == 2
        assert len(await sink.feed(ALL_FEED)) == 1

    async def test_audit_is_never_trimmed_by_default(self, sink: AlertStore) -> None:
        assert sink.audit_maxlen == 0
        for i in range(250):
            await sink.append_audit(AuditEntry("x", "read_details", "li", T0, note=str(i)))
        lines = await sink.audit(count=10_000)
        assert [e.note for e in lines] == [str(i) for i in range(250)]

    async def test_audit_maxlen_caps_the_stream_approximately(self, deliverer: Deliverer, sink: AlertStore) -> None:
        sink.audit_maxlen = 100
        for i in range(300):
            await sink.append_audit(AuditEntry("x", "read_details", "li", T0, note=str(i)))
        for i in range(50):  # these audit lines are written inside the apply script
            await deliverer.handle(make_alert(f"m{i}", unit=f"S0{i % 9 + 1}-C01-G01"))
        lines = await sink.audit(count=10_000)
        assert 100 <= len(lines) < 350  # approximate: Redis trims whole stream nodes
        assert lines[0].note != "0"
        assert (lines[-1].alert_id, lines[-1].action) == ("m49", "create")


async def test_delivery_waits_through_an_outage_and_counts_retries() -> None:
    """Memory twin's injected outage: handle retries with backoff and returns once written."""
    sink = MemoryAlertSink()
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    delays: list[float] = []

    async def sleep(d: float) -> None:
        delays.append(d)

    deliverer = Deliverer(sink, RoutingRules(), metrics, ManualClock(T0), backoff=Backoff(0.5, 2.0), sleep=sleep)
    sink.fail_next(5)
    result = await deliverer.handle(make_alert(), received_at=T0 - timedelta(seconds=3))
    assert result.kind == "new"
    assert result.attempts == 6
    assert delays == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert registry.get_sample_value("warning_redis_retries_total") == 5
    assert registry.get_sample_value("warning_redis_write_errors_total") == 5
    assert registry.get_sample_value("warning_delivery_backlog_alerts") == 0
    assert registry.get_sample_value("warning_alert_latency_seconds_count", {"type": "dynamic"}) == 1
    assert registry.get_sample_value("warning_alert_latency_seconds_sum", {"type": "dynamic"}) == 3
