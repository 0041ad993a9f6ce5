"""Ingest: every way input can be wrong becomes a named reason; valid input becomes an Event."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warning.core.errors import InvalidEvent
from warning.core.events import Event, record_part, stable_id
from warning.core.ingest import (
    LATEST_TIME,
    REASONS,
    DeadLetter,
    DeadLetterLimit,
    IngestLimits,
    Pseudonymiser,
    ingest,
    received_from_kafka_ms,
    scrub_bytes,
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
        ("grid", raw(grid(occurred_at="2026-11-24T09:00:00")), "bad_timestamp"),
        # holes found by the chaos probe (issue 13): each of these used to pass or crash
        ("grid", raw(grid(occurred_at=0)), "bad_timestamp"),
        ("grid", raw(grid(occurred_at=1764036000)), "bad_timestamp"),
        ("grid", raw(grid(occurred_at="1764036000")), "bad_timestamp"),
        ("grid", raw(grid(occurred_at=1764036000.5)), "bad_timestamp"),
        ("grid", raw(grid(occurred_at="0001-01-01T00:00:00+08:00")), "bad_timestamp"),
        ("grid", raw(grid(occurred_at="1999-12-31T23:59:59+08:00")), "bad_timestamp"),
        ("grid", raw(grid(occurred_at="10000-01-01T00:00:00+08:00")), "bad_timestamp"),
        ("grid", raw(grid(occurred_at="9999-12-31T23:59:59-14:00")), "future_timestamp"),
        ("grid", raw(grid(occurred_at="2026-11-24")), "bad_timestamp"),
        ("hotline", raw(hotline(due_at=1764036000)), "bad_timestamp"),
        ("grid", b'{"schema_version": 1, "headcount": ' + b"9" * 5000 + b"}", "bad_json"),
        ("grid", b'{"schema_version": 1, "headcount": NaN}', "bad_json"),
        ("grid", b'{"schema_version": 1, "location": {"lat": Infinity}}', "bad_json"),
        ("grid", b"[" * 100_000, "record_too_large"),
        ("grid", b"[" * 60_000, "bad_json"),
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


# --- time zones (issue 9): one instant, one event, whatever offset the producer wrote ---

SAME_INSTANT = ["2026-11-23T15:30:00Z", "2026-11-23T23:30:00+08:00", "2026-11-23T10:30:00-05:00"]


def test_same_instant_in_any_offset_is_the_same_event_but_for_tz_offset() -> None:
    events = [run("grid", raw(grid(occurred_at=t))) for t in SAME_INSTANT]
    assert [e.attrs["tz_offset"] for e in events] == ["+00:00", "+08:00", "-05:00"]
    plain = [replace(e, attrs={k: v for k, v in e.attrs.items() if k != "tz_offset"}) for e in events]
    assert plain[0] == plain[1] == plain[2]
    for e in events:
        assert e.occurred_at.utcoffset() == timedelta(hours=8)  # hour of day and day are Beijing's
        assert (e.occurred_at.date().isoformat(), e.occurred_at.hour) == ("2026-11-23", 23)
        assert e.received_at.utcoffset() == timedelta(hours=8)
        assert json.dumps(e.to_dict()) == json.dumps(Event.from_dict(e.to_dict()).to_dict())
    assert len({json.dumps({**e.to_dict(), "attrs": {}}) for e in events}) == 1


def test_the_district_zone_is_a_parameter() -> None:
    urumqi = timezone(timedelta(hours=6))
    event = run("grid", raw(grid(occurred_at=SAME_INSTANT[0])), IngestLimits(zone=urumqi))
    assert event.occurred_at.utcoffset() == timedelta(hours=6)
    assert event.occurred_at.hour == 21


def test_detectors_raise_the_same_alerts_whatever_the_producers_offset() -> None:
    """alert_id, window and day boundaries used the producer's offset before ingest zoned times."""
    from warning.analysis.replay import run as replay_run
    from warning.pipeline import build_detectors
    from warning.thresholds import Thresholds

    def district(offset: timezone) -> list[Event]:
        out = []
        start = datetime(2026, 11, 20, 22, 50, tzinfo=UTC)  # 06:50 Beijing; days straddle UTC midnight
        for i in range(120):
            at = (start + timedelta(minutes=37 * i)).astimezone(offset).isoformat()
            text = "有人扬言跳楼" if i % 40 == 39 else "邻里噪音"
            rec = grid(report_id=f"WG-{i}", occurred_at=at, text=text, headcount=30 if i == 80 else 1)
            out.append(ingest("grid", raw(rec), start + timedelta(days=30), KEY, LIMITS))
        return out

    th = Thresholds(version="tz")
    runs = [replay_run(district(tz), build_detectors(th), th) for tz in (UTC, timezone(timedelta(hours=-5)))]
    keys = [[(a.alert_id, a.window_start, a.window_end, a.level) for a in alerts] for alerts in runs]
    assert keys[0], "the scenario must raise alerts"
    assert keys[0] == keys[1]


# --- records that used to be dropped without a dead letter (issue 13, hole 1) ---


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (1_764_036_000_000, datetime(2025, 11, 25, 2, 0, tzinfo=UTC)),
        (-1, datetime(1970, 1, 1, tzinfo=UTC)),  # Kafka's "no timestamp"
        (None, datetime(1970, 1, 1, tzinfo=UTC)),
        (float("nan"), datetime(1970, 1, 1, tzinfo=UTC)),
        (253_402_300_800_000, LATEST_TIME),  # 10000-01-01: datetime.fromtimestamp raised
        (10**30, LATEST_TIME),
        (float("inf"), datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_kafka_timestamps_never_raise(ms: float | None, expected: datetime) -> None:
    assert received_from_kafka_ms(ms) == expected


@pytest.mark.parametrize("ms", [253_402_300_800_000, -1, 0, 946_652_400_000])  # last: 1999-12-31T23:00+08:00
def test_a_broker_timestamp_out_of_range_is_a_dead_letter_not_a_crash(ms: int) -> None:
    with pytest.raises(InvalidEvent) as info:
        ingest("grid", raw(grid()), received_from_kafka_ms(ms), KEY, LIMITS)
    assert info.value.reason == "bad_timestamp"
    assert "broker" in info.value.detail


def test_earliest_year_is_configurable() -> None:
    old = raw(grid(occurred_at="2015-06-01T09:00:00+08:00"))
    assert run("grid", old).event_id
    with pytest.raises(InvalidEvent, match="earliest_year"):
        run("grid", old, IngestLimits(earliest_year=2020))


# --- identifiers in every field (issue 13, hole 2) ---


def test_no_identifier_survives_in_any_field() -> None:
    rec = petition(
        case_ref="REF-110101199003071234",
        subcategory="电话139 1234 5678",
        flags=["13912345678"],
        text="来电+8613912345678 座机010-62345678 旧证110101900307123",
        demand="身份证110101 19900307 1234,手机１３９１２３４５６７８",
        parties=[{"role": "complainant", "name": "王秀英13912345678", "id_number": "110101199003071234"}],
    )
    event = run("petition", raw(rec))
    blob = json.dumps(event.to_dict(), ensure_ascii=False)
    for needle in ("13912345678", "1391234", "62345678", "110101", "19900307", "900307"):
        assert needle not in blob, needle
    assert event.case_ref == "REF-" + KEY.person("110101199003071234") == "REF-" + event.parties[0].person_ref
    assert event.parties[0].name == "王秀英[电话]"


def test_case_ref_stays_stable_so_the_same_case_links() -> None:
    a = run("petition", raw(petition(case_no="XF-1", case_ref="REF-110101199003071234")))
    b = run("hotline", raw(hotline(ticket_no="T-9", case_ref="REF-110101 19900307 1234")))
    c = run("grid", raw(grid(case_ref="REF-2026-0042")))
    assert a.case_ref == b.case_ref != "REF-110101199003071234"
    assert c.case_ref == "REF-2026-0042"  # no identifier, left alone


def test_a_source_ref_holding_an_identifier_is_pseudonymised_and_stays_stable() -> None:
    a = run("petition", raw(petition(case_no="XF-13912345678")))
    b = run("petition", raw(petition(case_no="XF-13912345678", text="重复投递")))
    assert "13912345678" not in a.source_ref
    assert a.event_id == b.event_id
    assert record_part(a.event_id) == stable_id("petition", a.source_ref)


def test_invalid_event_details_hold_no_identifier() -> None:
    with pytest.raises(InvalidEvent) as info:
        run("grid", raw(grid(category="13912345678")))
    assert "13912345678" not in str(info.value)


# --- dead letters: bounded, scrubbed, compatible ---

ID_RECORD = raw(grid(text="身份证110101199003071234 电话13912345678"))


def test_dead_letter_keeps_scrubbed_bytes_only() -> None:
    dl = DeadLetter("schema", "field 'x' 13912345678", "grid-reports", 0, 7, NOW, ID_RECORD)
    assert b"110101199003071234" not in dl.original and b"13912345678" not in dl.original
    assert "13912345678" not in dl.detail
    assert "[身份证号]".encode() in dl.original
    assert dl.original_size == len(ID_RECORD) and not dl.truncated
    assert dl.digest == hashlib.sha256(scrub_bytes(ID_RECORD)).hexdigest()


def test_dead_letter_of_a_huge_record_fits_in_a_broker_message() -> None:
    huge = b'{"text": "' + b"13912345678 " * 83_392 + b'"}'  # the probe's 1,000,703-byte record
    dl = DeadLetter("record_too_large", "x", "hotline-calls", 1, 2, NOW, huge)
    encoded = json.dumps(dl.to_dict()).encode()
    assert len(encoded) < 64 * 1024 < 1_048_588  # the broker's default message.max.bytes
    assert dl.truncated and dl.original_size == len(huge)
    assert b"1391234" not in dl.original
    assert DeadLetter.from_dict(json.loads(encoded)) == dl


def test_dead_letter_keeps_invalid_utf8_as_is() -> None:
    original = b"\xff\x00 not json 13912345678"
    dl = DeadLetter("bad_encoding", "x", "grid-reports", 2, 41, NOW, original)
    assert dl.original.startswith(b"\xff\x00 not json ") and b"13912345678" not in dl.original


def test_dead_letter_reads_letters_written_before_excerpts() -> None:
    old = {
        "reason": "schema",
        "detail": "d",
        "source_topic": "grid-reports",
        "partition": 0,
        "offset": 1,
        "received_at": NOW.isoformat(),
        "original_b64": base64.b64encode(ID_RECORD).decode(),
    }
    dl = DeadLetter.from_dict(old)
    assert b"13912345678" not in dl.original
    assert dl.original_size == len(ID_RECORD)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200) | st.text(alphabet="0123456789１３９ -+Xx*元年月日", max_size=60).map(str.encode))
def test_dead_letters_round_trip_for_any_bytes(data: bytes) -> None:
    dl = DeadLetter("bad_json", "d", "petitions", 0, 0, NOW, data)
    assert DeadLetter.from_dict(json.loads(json.dumps(dl.to_dict()))) == dl
