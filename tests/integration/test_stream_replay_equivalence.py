"""The Faust shell and the replay shell emit the same alerts for the same input.

A simulated district goes through the real worker (Kafka, changelogged tables, group_by
repartitions). Both claims are checked:

1. ingest: the ``events`` topic holds exactly the events the replay shell makes of the same
   files (same ids, same content except ``received_at``, which is the broker's time in one
   shell and the record's own time in the other);
2. detection: replaying the events in the order the stream's detectors saw them yields the
   same alerts, field for field, in the same order per detector.

Three ingest agents interleave the three channels in arrival order, which is not event-time
order, so (2) replays the stream's own order. With one partition per topic that order is the
``events`` topic's order (the group_by repartition preserves it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from warning import thresholds
from warning.analysis.replay import input_files, iter_events, run
from warning.core.events import Event
from warning.devtools.harness import jsons, read_topic, running_engine
from warning.pipeline import build_detectors
from warning.settings import Settings
from warning.simulate.district import District, SimConfig, write
from warning.stream.publish import Publisher, read_records

pytestmark = pytest.mark.integration


def _by_detector(alerts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in alerts:
        out[a["detector"]].append(a)
    return dict(out)


def _without_received_at(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "received_at"}


def test_stream_and_replay_emit_the_same_alerts(stack: Settings, tmp_path: Path, unique: str) -> None:
    data = tmp_path / "data"
    config = SimConfig(seed=11, start=date(2026, 1, 5), days=45, streets=2, grids=40, scale=0.2)
    write(District(config), data, stack.topics_dir)
    loaded = thresholds.load().thresholds
    file_events = list(iter_events(data, stack, loaded))
    assert len(file_events) > 1000

    with running_engine(stack, tmp_path / "engine", unique, "--no-delivery", partitions=1) as engine:
        cat = engine.catalog
        topic_of = {
            cat.grid_reports.name: "grid-reports",
            cat.hotline_calls.name: "hotline-calls",
            cat.petitions.name: "petitions",
        }
        with Publisher(stack.kafka_bootstrap) as pub:
            for name, base in topic_of.items():
                (path,) = [f.path for f in input_files(data, stack) if f.path.name.startswith(base)]
                for record in read_records(path):
                    pub.send(name, record.value)
        stream_events = jsons(
            read_topic(stack.kafka_bootstrap, cat.events.name, expect=len(file_events), timeout_s=180)
        )
        replay_alerts = run([Event.from_dict(e) for e in stream_events], build_detectors(loaded))
        stream_alerts = jsons(
            read_topic(stack.kafka_bootstrap, cat.alerts.name, expect=len(replay_alerts), timeout_s=180, settle_s=5)
        )

    # 1. ingest: same events, whatever the shell
    assert len(stream_events) == len(file_events)
    by_id = {e.event_id: _without_received_at(e.to_dict()) for e in file_events}
    assert {e["event_id"]: _without_received_at(e) for e in stream_events} == by_id

    # 2. detection: same alerts per detector, in the same order, field for field
    assert {a.type for a in replay_alerts} == {"dynamic", "pattern"}, "both warning types must be exercised"
    replayed = _by_detector([json.loads(json.dumps(a.to_dict())) for a in replay_alerts])
    streamed = _by_detector(stream_alerts)
    assert set(streamed) == set(replayed)
    for detector, alerts in replayed.items():
        assert streamed[detector] == alerts, f"{detector}: stream and replay differ"
