"""The Faust shell and the replay shell emit the same alerts for the same input, however it arrives.

A simulated district goes through the real worker with **3 partitions** per topic. Replay
reads the files in event-time order; the stream reads whatever order Kafka gives three
ingest agents over nine input partitions, and events keyed by street. Two arrival orders:

* ``per-file``: each channel's whole file published in turn before the worker starts (a
  district loading an export with ``warning publish``: hotline days ahead of grid reports);
* ``interleaved``: the records published in event-time order while the worker runs.

In both, the detectors' alerts on the ``alerts`` topic equal replay's, as a multiset of
(alert_id, level, evidence): the engine's reorder buffer and the in-band progress marks turn
any arrival order into event-time order (cross-channel rules included).
"""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from warning import thresholds
from warning.analysis.replay import input_files, iter_alerts, iter_events, pipeline_for
from warning.devtools.harness import Engine, jsons, read_topic, topic_size
from warning.settings import Settings
from warning.simulate.district import District, SimConfig, write
from warning.stream.publish import Publisher, read_records

pytestmark = pytest.mark.integration


def _signature(alerts: list[dict[str, Any]]) -> Counter[tuple[str, str, tuple[str, ...]]]:
    return Counter((a["alert_id"], a["level"], tuple(a.get("evidence", ()))) for a in alerts)


def _district(tmp_path: Path, stack: Settings) -> Path:
    data = tmp_path / "data"
    config = SimConfig(seed=11, start=date(2026, 1, 5), days=50, streets=3, grids=40, scale=0.2)
    write(District(config), data, stack.topics_dir)
    return data


def _publish(stack: Settings, engine: Engine, data: Path, order: str) -> int:
    cat = engine.catalog
    names = {"grid-reports": cat.grid_reports.name, "hotline-calls": cat.hotline_calls.name}
    names["petitions"] = cat.petitions.name
    files = {names[f.path.name.removesuffix(".jsonl")]: f.path for f in input_files(data, stack)}
    rows = {t: [(r.value, t) for r in read_records(p)] for t, p in files.items()}
    with Publisher(stack.kafka_bootstrap) as pub:
        if order == "per-file":
            stream = [x for t in sorted(rows, reverse=True) for x in rows[t]]
        else:
            stream = list(heapq.merge(*rows.values(), key=lambda x: x[0].split(b'"occurred_at"')[1][:40]))
        for value, topic in stream:
            pub.send(topic, value)
        pub.flush()
        return pub.sent


@pytest.mark.parametrize("order", ["per-file", "interleaved"])
def test_stream_equals_replay_whatever_the_arrival_order(
    stack: Settings, tmp_path: Path, unique: str, order: str
) -> None:
    data = _district(tmp_path, stack)
    loaded = thresholds.load().thresholds
    replayed = [a.to_dict() for a in iter_alerts(iter_events(data, stack, loaded), pipeline_for(loaded))]
    assert {a["type"] for a in replayed} >= {"dynamic", "pattern"}, "both warning types must be exercised"

    engine = Engine(stack, tmp_path / "engine", unique, partitions=3)
    try:
        if order == "per-file":
            _publish(stack, engine, data, order)
            engine.start("--no-delivery")
        else:
            engine.start("--no-delivery")
            _publish(stack, engine, data, order)
        streamed = jsons(
            read_topic(
                stack.kafka_bootstrap, engine.catalog.alerts.name, expect=len(replayed), timeout_s=240, settle_s=8
            )
        )
        dead = topic_size(stack.kafka_bootstrap, engine.catalog.dead_letters.name)
    finally:
        engine.stop()
    assert dead == 0, engine.log_tail()
    missing = _signature(replayed) - _signature(streamed)
    extra = _signature(streamed) - _signature(replayed)
    detail = {"missing": sorted(missing)[:5], "extra": sorted(extra)[:5]}
    detectors = {a["alert_id"]: a["detector"] for a in replayed + streamed}
    named = {k: [detectors.get(x[0]) for x in v] for k, v in detail.items()}
    assert not missing and not extra, f"{order}: {len(missing)} missing, {len(extra)} extra: {named} {detail}"
