"""The router agent: ``alerts`` -> the Deliverer -> Redis feeds (DESIGN.md §5).

`Deliverer.handle` returns only once Redis has the alert (it retries unreachable Redis with
backoff meanwhile), and the agent asks for the next message only after that, so an offset is
committed only after delivery (at-least-once end to end; the sink is idempotent per message).

The rule for errors here: a message that is not an alert is dead-lettered at once; any other
exception (a Redis ``ResponseError`` such as OOM, a bug) is retried with capped backoff
`ATTEMPTS` times, then the alert is dead-lettered with the reason — never acked and lost,
never a stopped agent.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import faust

from warning import logs
from warning.core.events import Alert
from warning.core.ingest import DeadLetter
from warning.stream.app import Runtime
from warning.stream.ingest import received_at, send_dead_letter
from warning.stream.sending import all_acked

log = logs.get("stream.route")

ATTEMPTS = 8


def register(app: faust.App, runtime: Runtime, alerts_topic: Any, dead_topic: Any, deliverer: Any) -> None:
    """The router agent and its leader-only timers (escalation, pending gauges)."""

    async def router_agent(stream: Any) -> None:
        async for ev in stream.events():
            await _route(runtime, deliverer, dead_topic, ev.message, ev.value)
            runtime.touch("router")

    app.agent(alerts_topic, name="router")(router_agent)
    runtime.deliverer = deliverer

    # on every worker: an idle router must notice an outage too (/healthz, WARNING_HEALTH_REDIS_SECONDS)
    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def probe_redis() -> None:
        try:
            await deliverer.probe()
        except Exception:
            log.exception("redis_probe_failed")

    @app.timer(interval=15.0, on_leader=True)  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def escalate() -> None:
        try:
            await deliverer.escalate_due()
        except Exception:
            log.exception("escalation_failed")

    # on the leader only, like escalation: the gauges describe Redis, not this worker, so one
    # worker reports them (the others keep 0; dashboards take max/sum over workers)
    @app.timer(interval=15.0, on_leader=True)  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def measure_pending() -> None:
        try:
            await deliverer.measure_pending(runtime.metrics)
        except Exception:
            log.exception("pending_measure_failed")


async def _route(runtime: Runtime, deliverer: Any, dead_topic: Any, message: Any, value: Any) -> None:
    try:
        alert = Alert.from_dict(value)
    except Exception as exc:
        await _dead(runtime, dead_topic, message, value, f"not an alert: {type(exc).__name__}: {exc}")
        return
    delay = 0.2
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await deliverer.handle(alert, received_at=_first_received(alert, message))
            return
        except Exception as exc:
            log.error("delivery_failed", attempt=attempt, error=type(exc).__name__)
            if attempt == ATTEMPTS:
                await _dead(runtime, dead_topic, message, value, f"delivery failed {ATTEMPTS}x: {exc!r}")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def _first_received(alert: Alert, message: Any) -> datetime:
    """The triggering input record's broker time (the detect agent stamps it), else this message's."""
    stamped = alert.details.get("received_at")
    if isinstance(stamped, str):
        try:
            return datetime.fromisoformat(stamped)
        except ValueError:
            pass
    return received_at(message)


async def _dead(runtime: Runtime, dead_topic: Any, message: Any, value: Any, detail: str) -> None:
    raw = json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    letter = DeadLetter(
        "delivery_error", detail[:500], message.topic, message.partition, message.offset, received_at(message), raw
    )
    await all_acked([await send_dead_letter(runtime, dead_topic, letter, "")])  # kept before the offset moves on
