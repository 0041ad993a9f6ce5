"""The key-space agent writes its state only after the broker acknowledged the alerts (issue 13).

Regression: the state entries (the engine's "seen" marks included) were written before the
alerts were sent, so a worker SIGKILLed in between came back with state that dropped the
replayed events as duplicates, and an alert that had not left the producer was lost.
Fakes stand in for Faust's table and topic.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry

from warning.core.engine import Failure, Report
from warning.metrics import Metrics
from warning.stream.detect import handle_partition


@dataclass(frozen=True)
class FakeAlert:
    alert_id: str = "a1"
    type: str = "dynamic"
    level: str = "red"
    evidence: tuple[str, ...] = ()
    excerpts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id}


class FakeEngine:
    """Marks the message seen in state and raises one alert, like a detector would."""

    def deliver(self, kv: Any, message: Any) -> Report:
        kv.put("~seen", [message.key])
        return Report(alerts=[FakeAlert()])  # type: ignore[list-item]  # a stand-in with the fields used

    def pending(self, kv: Any) -> int:
        return 0


@dataclass
class FakeTopic:
    acks: list[asyncio.Future[None]] = field(default_factory=list)
    sent: list[Any] = field(default_factory=list)

    async def send(self, key: bytes, value: Any) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent.append(value)
        self.acks.append(fut)
        return fut

    def get_topic_name(self) -> str:
        return "alerts"


class FakeEvent:
    """A Faust event's two attributes the agent reads (a class: the table writer weak-refs it)."""

    def __init__(self) -> None:
        self.value = {"message": {"kind": "k", "key": "x", "payload": {}}}
        self.message = SimpleNamespace(partition=0, topic="events", offset=0, timestamp=None)


def _event() -> Any:
    return FakeEvent()


def _handle_one_event(table: dict[str, Any], alerts: FakeTopic) -> asyncio.Task[None]:
    """The agent's batch handler on one event, whose alert goes to `alerts` (running loop needed)."""
    runtime: Any = SimpleNamespace(metrics=Metrics.create(CollectorRegistry()))
    engine: Any = FakeEngine()
    return asyncio.create_task(
        handle_partition(runtime, engine, table, "street", 0, [_event()], (alerts, FakeTopic(), {}))
    )


async def _until_sent(alerts: FakeTopic, n: int) -> None:
    while len(alerts.acks) < n:
        await asyncio.sleep(0)


def test_state_is_written_only_after_the_alert_is_acknowledged() -> None:
    async def scenario() -> None:
        table: dict[str, Any] = {}
        alerts = FakeTopic()
        task = _handle_one_event(table, alerts)
        await _until_sent(alerts, 1)
        for _ in range(5):
            await asyncio.sleep(0)
        assert alerts.sent == [{"alert_id": "a1"}]
        assert table == {}, "state written before the broker acknowledged the alert"
        alerts.acks[0].set_result(None)
        await task
        assert table == {"0/~seen": ["x"]}

    asyncio.run(scenario())


def test_an_unacknowledged_alert_is_sent_again_before_state() -> None:
    async def scenario() -> None:
        table: dict[str, Any] = {}
        alerts = FakeTopic()
        task = _handle_one_event(table, alerts)
        await _until_sent(alerts, 1)
        alerts.acks[0].set_exception(RuntimeError("broker gone"))
        await _until_sent(alerts, 2)
        assert table == {}
        alerts.acks[1].set_result(None)
        await task
        assert len(alerts.sent) == 2 and table == {"0/~seen": ["x"]}

    asyncio.run(scenario())


class FailingEngine(FakeEngine):
    """A detector that raised on the event: the agent dead-letters it instead of an alert."""

    def deliver(self, kv: Any, message: Any) -> Report:
        kv.put("~seen", [message.key])
        failure = Failure("dynamic", {"event_id": "e1"}, "ValueError: year 1", "trace")
        return Report(failures=[failure])


def test_a_dead_letter_is_acknowledged_before_state_and_sent_again_if_not() -> None:
    async def scenario() -> None:
        table: dict[str, Any] = {}
        dead = FakeTopic()
        runtime: Any = SimpleNamespace(metrics=Metrics.create(CollectorRegistry()))
        engine: Any = FailingEngine()
        task = asyncio.create_task(
            handle_partition(runtime, engine, table, "street", 0, [_event()], (FakeTopic(), dead, {}))
        )
        await _until_sent(dead, 1)
        dead.acks[0].set_exception(RuntimeError("broker gone"))
        await _until_sent(dead, 2)
        assert table == {}, "state written before the broker acknowledged the dead letter"
        dead.acks[1].set_result(None)
        await task
        assert len(dead.sent) == 2 and dead.sent[0] == dead.sent[1] and table == {"0/~seen": ["x"]}

    asyncio.run(scenario())
