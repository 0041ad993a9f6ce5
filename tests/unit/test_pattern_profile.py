"""Pattern profile: the archive's daily counts warm-start the detector exactly as its events would."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from test_pattern import daily_series, events_for, replay

from warning.analysis.pattern_profile import (
    ArchiveCounts,
    build_profile,
    count_archive,
    document,
    load_profile,
    write_profile,
)
from warning.core.calendar import epoch_day, local_hour_index
from warning.core.detectors.base import DetectorState
from warning.core.detectors.pattern import PatternDetector, PatternParams
from warning.core.errors import ImproperlyConfigured
from warning.core.events import Event
from warning.core.ingest import IngestLimits
from warning.core.ports import JSON

START = date(2025, 10, 1)


def archive_events() -> list[Event]:
    labour = events_for(START, daily_series(5, START, 70), cat="labour")
    family = events_for(START + timedelta(days=9), daily_series(6, START, 61, level=4.0), cat="family")
    return sorted(labour + family, key=lambda e: e.occurred_at)


def daily(events: list[Event]) -> dict[int, Counter[str]]:
    out: dict[int, Counter[str]] = {}
    for e in events:
        out.setdefault(local_hour_index(e.occurred_at) // 24, Counter())[e.category] += 1
    return out


def without_today(state: DetectorState) -> dict[str, JSON]:
    cats = state["c"]
    assert isinstance(cats, dict)
    return {cat: {k: v for k, v in c.items() if k != "cur"} for cat, c in cats.items() if isinstance(c, dict)}


def test_warm_state_equals_replaying_every_event() -> None:
    det = PatternDetector()
    events = archive_events()
    by_event, _ = replay(det, events)
    last = local_hour_index(events[-1].occurred_at) // 24
    warm = det.warm_state(daily(events), last, "S01")
    # the event path is still inside the last day (its count open); the rest is the same state
    assert warm["day"] == by_event["day"] == last
    assert warm["x"] == by_event["x"]
    assert without_today(warm) == without_today(by_event)


def test_a_new_key_starts_from_its_profile_and_skips_the_gap() -> None:
    events = archive_events()
    until = local_hour_index(events[-1].occurred_at) // 24 + 1
    plain = PatternDetector()
    det = PatternDetector(profile={"S01": plain.warm_state(daily(events), until, "S01")})
    first = events_for(START + timedelta(days=80), [1])[0]  # ten days after the archive stopped
    state = det.start_state("S01", first)
    c = state["c"]
    assert isinstance(c, dict) and isinstance(c["labour"], dict)
    assert c["labour"]["n"] == 70 >= PatternParams().min_history_days  # forecasts at once
    assert state["day"] == epoch_day(START + timedelta(days=80))  # the gap is not learned as zeros
    assert c["labour"]["fh"] is None
    assert det.start_state("S09", first) == det.init_state()  # a street the archive lacks starts empty


def test_profile_file_round_trip_and_refusal(tmp_path: Path) -> None:
    line = (
        b'{"schema_version":1,"ticket_no":"GD1","occurred_at":"2025-10-02T09:00:00+08:00",'
        b'"location":{"street":"S01","community":"S01-C01","grid_id":"S01-C01-G01"},"category":"labour",'
        b'"parties":[],"headcount":1,"text":"t","medium":"phone","request_type":"complaint"}'
    )
    limits = IngestLimits()
    counts = count_archive([("hotline", line), ("hotline", b"not json")], datetime.now(UTC), limits)
    assert (counts.records, counts.refused) == (1, 1)
    assert counts.days() == (epoch_day(date(2025, 10, 2)),) * 2
    dets = [PatternDetector(), PatternDetector(PatternParams(scope="district"))]
    profile = build_profile(counts, dets, date(2025, 10, 3))
    assert set(profile["pattern"]) == {"S01"} and set(profile["pattern_district"]) == {"district"}
    path = tmp_path / "profile.json"
    write_profile(path, document(profile, counts, dets))
    assert load_profile(path) == profile
    path.write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match="not a warning-pattern-profile"):
        load_profile(path)


def test_empty_archive_has_no_days() -> None:
    assert ArchiveCounts({}).days() is None
