"""A petition's repeat visits (重复访) under one case number are separate events everywhere.

The petition office files every visit of a matter under the same ``case_no``. When the event id
was the case number alone, training (`case_model.load_events`, one event per id) kept only the
last visit of a case while the engine (stream and replay, dedupe per id and hour) kept every
visit in another hour: a train/serve skew in visit counts, repeat flags and contact windows,
and two visits in one hour were one. Now the id names the visit
(`warning.core.events.event_id_of`), and a true redelivery still dedups.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warning.analysis import case_model as cm
from warning.core.detectors.case import CaseDetector, CaseParams
from warning.core.engine import DictKV, Engine
from warning.core.events import Event, record_part, stable_id
from warning.core.ingest import IngestLimits, Pseudonymiser, ingest

KEY = Pseudonymiser(b"unit-test-key-0123456789")
LIMITS = IngestLimits()
NOW = datetime(2026, 12, 1, tzinfo=UTC)
VISITS = ("2026-11-01T09:00:00+08:00", "2026-11-12T10:30:00+08:00", "2026-11-20T09:00:00+08:00")


def visit(occurred_at: str, n: int, **over: Any) -> bytes:
    rec: dict[str, Any] = {
        "schema_version": 1,
        "case_no": "XF-2026-0007",
        "form": "visit",
        "is_repeat": n > 1,
        "visit_count": n,
        "occurred_at": occurred_at,
        "location": {"street": "S03", "community": "S03-C02", "grid_id": "S03-C02-G05"},
        "category": "labour",
        "parties": [{"role": "complainant", "name": "王秀英"}],
        "text": f"第{n}次来访，调解未果",
    }
    rec.update(over)
    return json.dumps(rec, ensure_ascii=False).encode()


def events() -> list[Event]:
    return [ingest("petition", visit(t, n), NOW, KEY, LIMITS) for n, t in enumerate(VISITS, start=1)]


def test_each_visit_has_its_own_event_id_with_the_case_number_as_record_part() -> None:
    evs = events()
    assert len({e.event_id for e in evs}) == 3
    assert {record_part(e.event_id) for e in evs} == {stable_id("petition", evs[0].source_ref)}
    assert len({e.case_ref for e in evs}) == 1


def test_a_redelivered_visit_keeps_its_id_whatever_the_offset_or_an_edited_text() -> None:
    a = ingest("petition", visit(VISITS[0], 1), NOW, KEY, LIMITS)
    b = ingest("petition", visit("2026-11-01T01:00:00Z", 1, text="重复投递"), NOW, KEY, LIMITS)
    assert a.event_id == b.event_id


def test_the_engine_applies_every_visit_and_dedups_a_redelivery() -> None:
    kv, engine = DictKV(), Engine("case", [CaseDetector(CaseParams())])
    evs = events()
    for e in [evs[0], evs[1], evs[1], evs[2]]:  # the second visit redelivered (within the dedupe horizon)
        engine.offer(kv, e)
    engine.drain(kv)
    state = kv.get(f"case|{evs[0].case_ref}|state")
    assert state is not None
    assert state["n"] == 3
    assert state["visits"] == 3


def test_training_loads_every_visit(tmp_path: Path) -> None:
    lines = [visit(t, n) for n, t in enumerate(VISITS, start=1)]
    (tmp_path / "petitions.jsonl").write_bytes(b"\n".join([*lines, lines[1]]) + b"\n")
    ref = events()[0].case_ref
    loaded = cm.load_events(tmp_path, {ref}, KEY, LIMITS)
    assert len(loaded.events[ref]) == 3
