"""Delivery of alerts to duty desks: decide with the pure core, apply to the sink, never lose one.

The Faust router agent awaits `Deliverer.handle` once per message of the ``alerts`` topic;
`handle` returns only after the store has the alert (retrying with capped exponential backoff
while Redis is down), so Kafka commits the message's offset only after Redis has it:
at-least-once end to end. Redeliveries are no-ops thanks to the occurrence mark the sink
checks and sets in the same script (`warning.core.routing.occurrence_id`).

Faust timers call `escalate_due` and `measure_pending` (the feed-pending gauges); the CLI and
the web console call `transition` (officers' acknowledge/resolve/...) and `read_details`
(person-level details, audited on read). Both paths of an acknowledgement go through
`transition`, so ``warning_ack_latency_seconds`` is observed in exactly one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from warning.core.errors import WarningError
from warning.core.events import Alert
from warning.core.lifecycle import (
    AlertRecord,
    AuditEntry,
    StaleRecordError,
    UnknownAlertError,
    apply_action,
)
from warning.core.ports import Clock
from warning.core.routing import (
    Decision,
    Kind,
    RoutingRules,
    Write,
    decide,
    escalate,
    in_scope,
    occurrence_id,
)
from warning.core.units import Hierarchy
from warning.delivery.clock import SystemClock
from warning.sinks.base import AlertStore, Pending, SinkUnavailableError

if TYPE_CHECKING:
    from warning.metrics import Metrics
    from warning.settings import Settings
    from warning.thresholds import Reloader

log = logging.getLogger("warning.delivery.router")
T = TypeVar("T")


class OutOfScopeError(WarningError):
    """An authenticated officer asked to change an alert outside the officer's unit scope."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What one `handle` (or one escalation) did.

    `kind` is the router's decision, or ``duplicate`` when the same alert message had been
    applied before (a Kafka redelivery); `entry_ids` are the new feed stream ids.
    """

    alert_id: str
    kind: Kind | Literal["duplicate"]
    feeds: tuple[str, ...] = ()
    entry_ids: tuple[str, ...] = ()
    attempts: int = 1
    record: AlertRecord | None = None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff: base, 2·base, 4·base, ... up to cap (seconds)."""

    base: float = 0.2
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based)."""
        return float(min(self.cap, self.base * 2 ** min(attempt - 1, 30)))


class Deliverer:
    """Routes and stores alerts, escalates overdue ones, applies officers' transitions.

    `rules` is either fixed `RoutingRules` or a zero-argument callable returning the rules in
    force (so a thresholds reload takes effect without a restart). `metrics` may be None
    (CLI tools); `sleep` is injectable so tests do not wait for real backoff, `monotonic`
    so they set the outage start `unreachable_since` (/healthz) by hand.
    """

    def __init__(
        self,
        sink: AlertStore,
        rules: RoutingRules | Callable[[], RoutingRules],
        metrics: Metrics | None,
        clock: Clock,
        *,
        backoff: Backoff = Backoff(),
        conflict_retries: int = 20,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self._rules = rules
        self.metrics = metrics
        self.clock = clock
        self.backoff = backoff
        self.conflict_retries = conflict_retries
        self._sleep = sleep
        self._monotonic = monotonic
        self.unreachable_since: float | None = None
        """Monotonic time of the first failed attempt of the current outage (None: reachable); /healthz reads it."""

    @property
    def rules(self) -> RoutingRules:
        """The rules in force now."""
        return self._rules if isinstance(self._rules, RoutingRules) else self._rules()

    async def _retrying(self, op: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """Run `op` until the sink accepts it; never gives up (the offset must wait)."""
        attempt = 0
        backlog = False
        try:
            while True:
                attempt += 1
                try:
                    result = await op()
                except SinkUnavailableError as exc:
                    self._unreachable()
                    delay = self.backoff.delay(attempt)
                    if self.metrics is not None:
                        self.metrics.redis_write_errors.inc()
                        self.metrics.redis_retries.inc()
                        if not backlog:
                            self.metrics.delivery_backlog.inc()
                    backlog = True
                    log.warning("sink unavailable (%s); retry %d in %.2fs", exc, attempt, delay)
                    await self._sleep(delay)
                else:
                    self.unreachable_since = None
                    return result, attempt
        finally:
            if backlog and self.metrics is not None:
                self.metrics.delivery_backlog.dec()

    def _unreachable(self) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = self._monotonic()

    async def probe(self) -> bool:
        """One cheap read (no retry) so an idle router still learns whether Redis answers.

        A timer calls it: without traffic, nothing else would notice an outage before the
        first alert has to wait for it. Returns whether Redis answered.
        """
        try:
            await self.sink.due(self.clock.now(), 1)
        except SinkUnavailableError:
            self._unreachable()
            return False
        self.unreachable_since = None
        return True

    async def _cas(
        self, alert_id: str, plan: Callable[[AlertRecord | None], Write | None]
    ) -> tuple[Write | None, str, tuple[str, ...]]:
        """Read, plan, check-and-set; re-read on conflict. Returns (write, status, entry ids)."""
        for _ in range(self.conflict_retries):
            prev = await self.sink.load(alert_id)
            write = plan(prev)
            if write is None:
                return None, "noop", ()
            result = await self.sink.apply(write)
            if result.status != "conflict":
                return write, result.status, result.entry_ids
        raise StaleRecordError(f"alert {alert_id} kept changing during {self.conflict_retries} write attempts")

    async def handle(self, alert: Alert, received_at: datetime | None = None) -> DeliveryResult:
        """Deliver one alert message; returns once the store has it (or had it already).

        `received_at` is the Kafka timestamp of the input record that led to the alert (the
        alert's created_at is event time, useless for latency); when given, the end-to-end
        latency is observed in ``warning_alert_latency_seconds``.
        """
        occurrence = occurrence_id(alert)

        def plan(prev: AlertRecord | None) -> Write:
            return Write(decide(prev, alert, self.rules, self.clock.now()), prev, occurrence)

        (write, status, ids), attempts = await self._retrying(lambda: self._cas(alert.alert_id, plan))
        if status == "duplicate" or write is None:
            return DeliveryResult(alert.alert_id, "duplicate", attempts=attempts)
        decision = write.decision
        if self.metrics is not None and received_at is not None:
            latency = max(0.0, (self.clock.now() - received_at).total_seconds())
            self.metrics.alert_latency.labels(type=alert.type).observe(latency)
        return DeliveryResult(alert.alert_id, decision.kind, decision.feeds, ids, attempts, decision.record)

    async def escalate_due(self, now: datetime | None = None, limit: int = 100) -> list[DeliveryResult]:
        """Escalate every unacknowledged alert past its deadline (the Faust timer calls this)."""
        at = now or self.clock.now()
        ids, _ = await self._retrying(lambda: self.sink.due(at, limit))
        out: list[DeliveryResult] = []
        for alert_id in ids:

            def plan(prev: AlertRecord | None) -> Write | None:
                decision: Decision | None = escalate(prev, self.rules, at) if prev else None
                return Write(decision, prev) if decision else None

            (write, status, entry_ids), attempts = await self._retrying(
                lambda alert_id=alert_id, plan=plan: self._cas(alert_id, plan)  # type: ignore[misc]  # default args bind the loop variable
            )
            if write is not None and status == "applied":
                d = write.decision
                out.append(DeliveryResult(alert_id, d.kind, d.feeds, entry_ids, attempts, d.record))
                log.info("escalated alert %s to %s", alert_id, d.record.level)
        return out

    async def transition(
        self,
        alert_id: str,
        action: str,
        *,
        by: str,
        note: str = "",
        outcome: str = "",
        scope: str | None = None,
        identity: str = "",
    ) -> AlertRecord:
        """Apply an officer's lifecycle action and its audit line (or `InvalidTransitionError`).

        `identity` is the Redis ACL user the caller is connected as (``ACL WHOAMI``), recorded
        beside `by` in the audit line.

        With `scope` (an authenticated officer's unit), an alert outside it is refused with
        `OutOfScopeError`; the check runs on the very record the check-and-set writes, so an
        escalation racing with it cannot slip an alert past it. An acknowledgement observes
        ``warning_ack_latency_seconds{level}``: from the record's `delivered_at` (wall clock of
        the delivery at its current level: the first delivery, an upgrade or an escalation) to
        now on the injected clock, labelled with that level. `notified_at` is event time and
        would mix clocks (a replayed backlog would show months of "latency").
        """
        now = self.clock.now()
        outcome_rec: list[AlertRecord] = []

        def plan(prev: AlertRecord | None) -> Write:
            if prev is None:
                raise UnknownAlertError(f"no alert {alert_id}")
            if scope is not None and not in_scope(prev, scope, self.rules.hierarchy):
                raise OutOfScopeError(
                    f"无权操作: 预警 {alert_id} 不在 {by} 的辖区 {scope} 内 / "
                    f"refused: alert {alert_id} is outside the scope {scope} of officer {by}"
                )
            t = apply_action(
                prev,
                action,
                actor=by,
                at=now,
                note=note,
                outcome=outcome,
                ack_deadline=self.rules.ack_deadlines.get(prev.level),
                identity=identity,
            )
            outcome_rec[:] = [t.record]
            return Write(Decision("update", t.record, (), (t.audit,)), prev)

        await self._retrying(lambda: self._cas(alert_id, plan))
        record = outcome_rec[0]
        if action == "acknowledge" and self.metrics is not None:
            waited = max(0.0, (now - record.delivered_at).total_seconds())
            self.metrics.ack_latency.labels(level=record.level).observe(waited)
        return record

    async def measure_pending(self, metrics: Metrics | None = None) -> Pending:
        """Set the feed-pending gauges from the sink's indexes (a Faust timer calls this).

        ``warning_feed_pending_entries{level}``: alerts delivered but not acknowledged, by
        current level; ``warning_feed_oldest_pending_age_seconds``: now (injected clock) minus
        the oldest of their `delivered_at`, 0 when none is pending. One attempt, no retry: a
        gauge read during an outage is skipped (the caller logs it), never queued. `metrics`
        defaults to the deliverer's own.
        """
        pending = await self.sink.pending()
        m = metrics or self.metrics
        if m is not None:
            for level, n in pending.counts.items():
                m.feed_pending.labels(level=level).set(n)
            oldest = pending.oldest_delivered_at
            age = max(0.0, (self.clock.now() - oldest).total_seconds()) if oldest else 0.0
            m.feed_oldest_pending_age.set(age)
        return pending

    async def read_details(self, alert_id: str, *, by: str, scope: str = "") -> Mapping[str, Any]:
        """Person-level details of an alert; the read itself is written to the audit stream."""
        record, _ = await self._retrying(lambda: self.sink.load(alert_id))
        if record is None:
            raise UnknownAlertError(f"no alert {alert_id}")
        entry = AuditEntry(
            alert_id,
            "read_details",
            by,
            self.clock.now(),
            record.state,
            record.state,
            record.level,
            note=f"scope={scope}" if scope else "",
        )
        await self._retrying(lambda: self.sink.append_audit(entry))
        return dict(record.alert.details)


class RulesFromReloader:
    """Rules from the thresholds in force, rebuilt only when the file's digest changes."""

    def __init__(self, reloader: Reloader, hierarchy: Hierarchy | None = None) -> None:
        self._reloader = reloader
        self._hierarchy = hierarchy
        self._digest = ""
        self._rules = RoutingRules(hierarchy=hierarchy)

    def __call__(self) -> RoutingRules:
        """The current rules."""
        from warning.thresholds import routing_rules

        loaded = self._reloader.current
        if loaded.digest != self._digest:
            self._rules = routing_rules(loaded.thresholds, self._hierarchy)
            self._digest = loaded.digest
        return self._rules


def build_deliverer(
    settings: Settings,
    reloader: Reloader,
    metrics: Metrics | None,
    clock: Clock | None = None,
    sink: AlertStore | None = None,
) -> Deliverer:
    """The production deliverer: sink at ``WARNING_REDIS_URL``/``WARNING_REDIS_PREFIX``, rules from thresholds.

    The district's own units (``WARNING_UNITS_FILE``) are read here, once: routing, scope checks
    and the sink's unit indexes all follow the same hierarchy.
    """
    from warning.sinks import open_sink
    from warning.units_cli import configured_hierarchy

    d = reloader.current.thresholds.delivery
    clock = clock or SystemClock()
    hierarchy = configured_hierarchy(settings)
    store = sink or open_sink(
        settings.redis_url,
        prefix=settings.redis_prefix,
        occurrence_ttl=d.occurrence_ttl_seconds,
        feed_maxlen=d.feed_maxlen,
        audit_maxlen=d.audit_maxlen,
        clock=clock,
        hierarchy=hierarchy,
    )
    return Deliverer(
        store,
        RulesFromReloader(reloader, hierarchy),
        metrics,
        clock,
        backoff=Backoff(d.retry_base_seconds, d.retry_cap_seconds),
        conflict_retries=d.conflict_retries,
    )


__all__ = [
    "Backoff",
    "Deliverer",
    "DeliveryResult",
    "OutOfScopeError",
    "build_deliverer",
]
