"""Ingest: every way input can be wrong becomes a named reason; valid input becomes an Event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warning.core.errors import InvalidEvent
from warning.core.events import Event, stable_id
from warning.core.ingest import (
    REASONS,
    DeadLetter,
    DeadLetterLimit,
    IngestLimits,
    Pseudonymiser,
    ingest,
    scrub_text,
)
from warning.core.taxonomy import Channel

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
KEY = Pseudonymiser(b"unit-test-key-0123456789")
LIMITS = IngestLimits()


def grid(**over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "schema_version": 1,
        "report_id": "WG-1",
        "worker_id": "W1",
        "occurred_at": "2026-11-24T09:00:00+08:00",
        "location": {"street": "S03", "community": "S03-C02", "grid_id": "S03-C02-G05"},
        "category": "neighbour",
        "parties": [
            {"role": "complainant", "name": "王秀英", "id_number": "330322198503120021", "phone": "13812345678"}
        ],
        "text": "邻里噪音",
    }
    rec.update(over)
    return rec


def hotline(**over: Any) -> dict[str, Any]:
    rec = grid(**over)
    for k in ("report_id", "worker_id"):
        rec.pop(k, None)
    rec["ticket_no"] = over.get("ticket_no", "T-1")
    return rec


def petition(**over: Any) -> dict[str, Any]:
    rec = hotline(**over)
    rec.pop("ticket_no")
    rec.update({"case_no": "XF-1", "form": "visit"})
    rec.update(over)
    return rec


def raw(rec: dict[str, Any]) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode()


def run(channel: Channel, data: bytes, limits: IngestLimits = LIMITS) -> Event:
    return ingest(channel, data, NOW, KEY, limits)


@pytest.mark.parametrize(
    ("channel", "data", "reason"),
    [
        ("grid", b"{not json", "bad_json"),
        ("grid", b"\xff\xfe{}", "bad_encoding"),
        ("grid", b"[1, 2]", "schema"),
        ("grid", raw(grid(schema_version=2)), "unsupported_version"),
        ("grid", raw({k: v for k, v in grid().items() if k != "schema_version"}), "unsupported_version"),
        ("grid", raw(grid(headcount="many")), "schema"),
        ("grid", raw(grid(unexpected_field=1)), "schema"),
        ("grid", raw(grid(category="ufo")), "unknown_category"),
        ("grid", raw(grid(location={"street": "S03", "community": "S03-C02"})), "missing_grid"),
        ("grid", raw({k: v for k, v in grid().items() if k != "location"}), "missing_grid"),
        (
            "grid",
            raw(grid(location={"street": "S01", "community": "S03-C02", "grid_id": "S03-C02-G05"})),
            "bad_location",
        ),
        ("grid", raw(grid(location={"street": "S03", "community": "S03-C02", "grid_id": "grid 5"})), "bad_location"),
        ("grid", raw(grid(occurred_at="2026-11-24T09:00:00")), "schema"),
        ("grid", raw(grid(occurred_at="2027-01-01T00:00:00+08:00")), "future_timestamp"),
        ("grid", raw(grid(text="长" * 5000)), "text_too_long"),
        ("grid", b" " * (LIMITS.max_record_bytes + 1), "record_too_large"),
        ("hotline", raw(hotline(medium="fax")), "schema"),
        ("petition", raw(petition(form=None)), "schema"),
        ("petition", raw(petition(demand="诉" * 5000)), "text_too_long"),
    ],
)
def test_invalid_input_gets_a_named_reason(channel: Channel, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        run(channel, data)
    assert info.value.reason == reason
    assert info.value.reason in REASONS
    assert info.value.detail


@pytest.mark.parametrize(
    ("channel", "rec", "severity", "flags"),
    [
        ("grid", grid(), 1, ()),
        ("grid", grid(severity="hard", headcount=30), 3, ("collective",)),
        ("hotline", hotline(repeat_count=3), 1, ("repeat",)),
        ("hotline", hotline(request_type="consult"), 0, ()),
        (
            "petition",
            petition(is_repeat=True, level_reached="province", backlog=True),
            3,
            ("repeat", "level_up", "backlog"),
        ),
        ("petition", petition(headcount=8), 2, ("collective",)),
    ],
)
def test_valid_records_normalise(channel: Channel, rec: dict[str, Any], severity: int, flags: tuple[str, ...]) -> None:
    event = run(channel, raw(rec))
    assert event.channel == channel
    assert event.severity == severity
    assert event.flags == flags
    assert event.location.grid_id == "S03-C02-G05"
    assert event.received_at == NOW
    assert Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_event_id_is_stable_so_redelivery_dedupes() -> None:
    a = run("grid", raw(grid()))
    b = run("grid", raw(grid(text="再次投递")))
    assert a.event_id == b.event_id == stable_id("grid", "WG-1")
    assert run("hotline", raw(hotline())).event_id != a.event_id


def test_no_raw_identifier_leaves_ingest() -> None:
    rec = hotline(
        text="回电13812345678,身份证330322198503120021",
        parties=[{"role": "complainant", "name": "王秀英", "id_number": "330322198503120021", "phone": "13812345678"}],
    )
    event = run("hotline", raw(rec))
    blob = json.dumps(event.to_dict(), ensure_ascii=False)
    assert "13812345678" not in blob
    assert "330322198503120021" not in blob
    assert "王秀英" in blob  # names stay: entity resolution needs them
    assert event.parties[0].person_ref.startswith("p")
    assert event.parties[0].phone_ref.startswith("t")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("330322198503120021", "330322198503120021", True),
        ("33032219790607003x", "33032219790607003X", True),
        ("3303 2219 7906 0700 3X", "33032219790607003X", True),
        ("330322198503120021", "330322198503120022", False),
    ],
)
def test_person_pseudonym_normalises_id_numbers(a: str, b: str, same: bool) -> None:
    assert (KEY.person(a) == KEY.person(b)) is same


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("13812345678", "138-1234-5678", True),
        ("+86 138 1234 5678", "13812345678", True),
        ("138****5678", "138xxxx5678", True),
        ("138****5678", "13812345678", False),
    ],
)
def test_phone_pseudonym_normalises(a: str, b: str, same: bool) -> None:
    assert (KEY.phone(a) == KEY.phone(b)) is same


def test_pseudonyms_depend_on_the_key() -> None:
    other = Pseudonymiser(b"another-key-abcdefghijk")
    assert other.person("330322198503120021") != KEY.person("330322198503120021")
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymiser(b"short")


def test_scrub_text_masks_ids_and_phones_only() -> None:
    assert scrub_text("电话13912345678,证件11010119900307663X,门牌12号") == "电话[电话],证件[身份证号],门牌12号"


def test_dead_letter_keeps_original_bytes() -> None:
    original = b"\xff\x00 not json"
    dl = DeadLetter("bad_encoding", "x", "grid-reports", 2, 41, NOW, original)
    assert DeadLetter.from_dict(json.loads(json.dumps(dl.to_dict()))) == dl


def test_dead_letter_limit_trips_only_past_ratio_and_minimum() -> None:
    limit = DeadLetterLimit(ratio=0.5, min_messages=10, window=10)
    assert not any(limit.record(True) for _ in range(9))  # below the minimum count
    assert limit.record(True)
    ok = DeadLetterLimit(ratio=0.5, min_messages=10, window=10)
    results = [ok.record(i % 2 == 0) for i in range(100)]  # exactly half bad: not above ratio
    assert not any(results)


def test_future_tolerance_is_configurable() -> None:
    rec = raw(grid(occurred_at=(NOW + timedelta(minutes=5)).isoformat()))
    assert run("grid", rec).event_id
    with pytest.raises(InvalidEvent, match="future_timestamp"):
        run("grid", rec, IngestLimits(future_tolerance=timedelta(minutes=1)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(channel=st.sampled_from(["grid", "hotline", "petition"]), data=st.binary(max_size=300))
def test_any_bytes_become_an_event_or_a_dead_letter(channel: Channel, data: bytes) -> None:
    try:
        run(channel, data)
    except InvalidEvent as exc:
        assert exc.reason in REASONS


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(["grid", "hotline", "petition"]),
    field=st.sampled_from(["occurred_at", "location", "category", "parties", "headcount", "text", "flags", "form"]),
    value=json_values,
)
def test_any_field_value_becomes_an_event_or_a_dead_letter(channel: Channel, field: str, value: Any) -> None:
    base = {"grid": grid, "hotline": hotline, "petition": petition}[channel]()
    base[field] = value
    try:
        event = run(channel, raw(base))
    except InvalidEvent as exc:
        assert exc.reason in REASONS
    else:
        assert event.category in {"neighbour"} or field == "category"
