"""Push records into a topic: how a district connects an existing system or replays an export.

kafka-python with ``acks=all`` and the idempotent producer: a record counts as published only
when the broker has it replicated, so a summary line of "N sent" is a promise, not a hope.
Lines are sent as the exact bytes of the file (JSONL) so that a malformed line reaches ingest
and is dead-lettered with its reason instead of being "fixed" or dropped here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from warning.core.errors import ServiceUnavailable

_Args = tuple[str, bytes, bytes | None, int | None]  # what `send` was given: topic, value, key, timestamp


class Publisher:
    """A small synchronous producer; one per command or simulator run."""

    def __init__(self, bootstrap: str, *, timeout_s: float = 30.0, resend_rounds: int = 3) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        try:
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                client_id="warning-publish",
                bootstrap_timeout_ms=int(timeout_s * 1000),
            )
        except KafkaError as exc:
            raise ServiceUnavailable(
                f"cannot reach Kafka at {bootstrap}: {exc.__class__.__name__}\n"
                "Operator action: start the stack (`warning stack up`) or set WARNING_KAFKA_BOOTSTRAP."
            ) from None
        self._pending: list[tuple[_Args, Any]] = []
        self._resend_rounds = resend_rounds
        self.sent = 0

    def send(self, topic: str, value: bytes, key: bytes | None = None, timestamp_ms: int | None = None) -> None:
        """Queue one record; errors surface at `flush`."""
        args = (topic, value, key, timestamp_ms)
        self._pending.append((args, self._send(args)))
        if len(self._pending) >= 1000:
            self.flush()

    def _send(self, args: _Args) -> Any:
        topic, value, key, timestamp_ms = args
        return self._producer.send(topic, value=value, key=key, timestamp_ms=timestamp_ms)

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every queued record is acknowledged by the broker, re-sending refused ones.

        A record the producer gave up on (a batch that expired while the broker restarted) is
        sent again, up to `resend_rounds` times, before this raises: one refused batch must not
        fail a whole publish. What is still refused stays queued for the next flush, so a caller
        that retries loses nothing either. A re-sent record may reach the topic twice; ingest
        gives both copies the same event id.
        """
        for round_ in range(self._resend_rounds + 1):
            self._producer.flush(timeout=timeout_s)
            failed: list[tuple[_Args, Any, Exception]] = []
            for args, fut in self._pending:
                try:
                    fut.get(timeout=timeout_s)
                    self.sent += 1
                except Exception as exc:  # kafka-python raises its KafkaError subclasses here
                    failed.append((args, fut, exc))
            if not failed:
                self._pending = []
                return
            self._pending = [(args, fut) for args, fut, _ in failed]  # until re-sent: a later flush tries again
            if round_ < self._resend_rounds:
                self._pending = [(args, self._send(args)) for args, _, _ in failed]
        raise ServiceUnavailable(
            f"Kafka refused {len(failed)} record(s) after {self._resend_rounds} re-sends: "
            f"{failed[0][2].__class__.__name__}: {failed[0][2]}\n"
            "Operator action: check the broker (`warning stack status`), then publish the file again "
            "(records already in are the same events; ingest dedupes them)."
        )

    def close(self) -> None:
        """Flush and close."""
        try:
            self.flush()
        finally:
            self._producer.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Record:
    """One record read from a file: the bytes to send and where they came from."""

    line: int
    value: bytes
    key: bytes | None


def _csv_value(header: str, text: str) -> Any:
    """Decode a CSV cell: JSON arrays/objects (parties, flags) are parsed, everything else stays text.

    Numbers are not guessed: a ticket number ``00123`` must stay ``"00123"``. The schemas
    accept numeric strings for their integer and boolean fields; only ``schema_version`` is
    an integer by definition, since ingest compares it exactly.
    """
    if text == "":
        return None
    if text[0] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    if header == "schema_version" and text.isdigit():
        return int(text)
    return text


def _nest(row: dict[str, str]) -> dict[str, Any]:
    """Dotted CSV headers (``location.grid_id``) become nested objects; empty cells are omitted."""
    out: dict[str, Any] = {}
    for header, cell in row.items():
        value = _csv_value(header, cell or "")
        if value is None:
            continue
        target = out
        *parents, leaf = header.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return out


def read_records(path: Path, key_field: str | None = None) -> Iterator[Record]:
    """Records of a ``.jsonl`` (one record per line, sent as is) or ``.csv`` file (header row, dotted names)."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                data = _nest(row)
                key = data.get(key_field) if key_field else None
                yield Record(i, json.dumps(data, ensure_ascii=False).encode(), str(key).encode() if key else None)
        return
    with path.open("rb") as fh:
        for i, raw in enumerate(fh, start=1):
            value = raw.rstrip(b"\r\n")
            if not value.strip():
                continue
            key = None
            if key_field:
                try:
                    k = json.loads(value).get(key_field)
                    key = str(k).encode() if k is not None else None
                except (ValueError, AttributeError):
                    key = None
            yield Record(i, value, key)


def count_lines(path: Path) -> int:
    """Number of records a file will yield (for the progress bar)."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            return max(0, sum(1 for _ in csv.reader(io.StringIO(fh.read()))) - 1)
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())
