"""Reading files for `warning publish`: JSONL lines go out byte for byte; CSV rows become records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warning.core.errors import ServiceUnavailable
from warning.stream.publish import Publisher, count_lines, read_records


def test_jsonl_lines_are_sent_as_is_even_when_broken(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1, "grid": "S01-C01-G01"}\n\n{broken\r\n\xff\xfe\n')
    records = list(read_records(path, key_field="grid"))
    assert [r.value for r in records] == [b'{"a": 1, "grid": "S01-C01-G01"}', b"{broken", b"\xff\xfe"]
    assert [r.line for r in records] == [1, 3, 4]
    assert [r.key for r in records] == [b"S01-C01-G01", None, None]
    assert count_lines(path) == 3


def test_csv_rows_become_nested_records(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "schema_version,ticket_no,location.street,location.grid_id,headcount,parties,text\n"
        '1,T-1,S01,S01-C01-G01,3,"[{""role"": ""complainant"", ""name"": ""王芳""}]",噪音\n'
        "1,00123,S02,S02-C01-G01,,,\n",
        encoding="utf-8",
    )
    records = list(read_records(path, key_field="ticket_no"))
    first = json.loads(records[0].value)
    assert first == {
        "schema_version": 1,
        "ticket_no": "T-1",
        "location": {"street": "S01", "grid_id": "S01-C01-G01"},
        "headcount": "3",
        "parties": [{"role": "complainant", "name": "王芳"}],
        "text": "噪音",
    }
    assert json.loads(records[1].value) == {
        "schema_version": 1,
        "ticket_no": "00123",
        "location": {"street": "S02", "grid_id": "S02-C01-G01"},
    }
    assert [r.key for r in records] == [b"T-1", b"00123"]
    assert [r.line for r in records] == [2, 3]
    assert count_lines(path) == 2


def test_csv_records_pass_ingest(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from warning.core.ingest import IngestLimits, Pseudonymiser, ingest

    path = tmp_path / "calls.csv"
    path.write_text(
        "schema_version,ticket_no,occurred_at,location.street,location.community,location.grid_id,category,"
        "repeat_count,parties\n"
        '1,00123,2026-11-24T08:00:00+08:00,S01,S01-C01,S01-C01-G01,property,2,"[{""role"": ""complainant""}]"\n',
        encoding="utf-8",
    )
    (record,) = read_records(path)
    event = ingest(
        "hotline", record.value, datetime(2026, 11, 24, tzinfo=UTC), Pseudonymiser(b"k" * 16), IngestLimits()
    )
    assert event.source_ref == "00123"
    assert event.attrs["repeat_count"] == 2


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float) -> None:
        if self.error:
            raise self.error


class _RefusingProducer:
    """kafka-python's producer where the first `refuse` sends expire (a broker restarting)."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.sends: list[bytes] = []

    def send(self, topic: str, value: bytes, key: bytes | None, timestamp_ms: int | None) -> _Future:
        self.sends.append(value)
        self.refuse -= 1
        return _Future(TimeoutError("batch expired") if self.refuse >= 0 else None)

    def flush(self, timeout: float) -> None:
        pass


def _publisher(producer: _RefusingProducer, rounds: int) -> Publisher:
    pub = Publisher.__new__(Publisher)  # no broker: the producer is the stand-in above
    pub._producer, pub._pending, pub._resend_rounds, pub.sent = producer, [], rounds, 0
    return pub


def test_a_refused_record_is_sent_again_not_lost() -> None:
    producer = _RefusingProducer(refuse=2)
    pub = _publisher(producer, rounds=3)
    for v in (b"a", b"b", b"c"):
        pub.send("t", v)
    pub.flush()
    assert pub.sent == 3 and producer.sends == [b"a", b"b", b"c", b"a", b"b"]


def test_what_stays_refused_is_an_error_and_stays_queued() -> None:
    producer = _RefusingProducer(refuse=2)
    pub = _publisher(producer, rounds=1)
    pub.send("t", b"a")
    with pytest.raises(ServiceUnavailable, match="refused 1 record"):
        pub.flush()
    pub.flush()  # the caller retries once the broker is back: the record goes out then
    assert pub.sent == 1 and producer.sends == [b"a"] * 3
