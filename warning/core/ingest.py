"""Ingest: untrusted bytes of one channel -> a validated, normalised, pseudonymised `Event`.

Everything that can be wrong with input is decided here, once, and expressed as
`InvalidEvent(reason, detail)`; the shell turns that into a dead letter with the original
bytes. After this function nothing holds a raw ID number or phone: parties carry keyed HMAC
pseudonyms and identifiers written into free text are masked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from pydantic import ValidationError

from warning.core import units
from warning.core.errors import InvalidEvent
from warning.core.events import Event, Location, Party, stable_id
from warning.core.schemas import SCHEMA_VERSION, SCHEMAS, GridReport, HotlineCall, InputRecord, Petition
from warning.core.taxonomy import CATEGORIES, Channel

Reason = Literal[
    "record_too_large",
    "bad_encoding",
    "bad_json",
    "unsupported_version",
    "schema",
    "missing_grid",
    "bad_location",
    "unknown_category",
    "future_timestamp",
    "text_too_long",
]
REASONS: Final[tuple[str, ...]] = Reason.__args__  # type: ignore[attr-defined]  # Literal exposes __args__ at runtime

_ID_IN_TEXT: Final = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_PHONE_IN_TEXT: Final = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_GRID_SEVERITY: Final = {"micro": 0, "minor": 1, "major": 2, "hard": 3}


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Bounds on input, from the thresholds file section ``[ingest]``."""

    max_record_bytes: int = 64 * 1024
    max_text_chars: int = 4000
    future_tolerance: timedelta = timedelta(minutes=10)
    collective_headcount: int = 5


class Pseudonymiser:
    """Keyed HMAC-SHA256 pseudonyms: stable for matching, useless without the key.

    The same person gets the same `person_ref` in every channel (relational warnings need
    that), yet a leaked event stream reveals no ID number or phone.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("pseudonymisation key must be at least 16 bytes")
        self._key = key

    def _mac(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:24]

    def person(self, id_number: str) -> str:
        """Pseudonym of an ID number (normalised: no spaces, upper-case check digit)."""
        return "p" + self._mac("id", re.sub(r"\s", "", id_number).upper())

    def phone(self, phone: str) -> str:
        """Pseudonym of a phone; masked numbers (138****1234) get their own, weaker, namespace."""
        digits = re.sub(r"[^\d*]", "", phone.replace("x", "*").replace("X", "*"))
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        return ("m" if "*" in digits else "t") + self._mac("phone", digits)


def scrub_text(text: str) -> str:
    """Mask ID numbers and mobile numbers a caller or clerk wrote into free text."""
    return _PHONE_IN_TEXT.sub("[电话]", _ID_IN_TEXT.sub("[身份证号]", text))


def _validation_detail(err: ValidationError) -> tuple[Reason, str]:
    first = err.errors()[0]
    path = ".".join(str(p) for p in first["loc"]) or "<record>"
    if path == "location.grid_id" and first["type"] == "missing":
        return "missing_grid", "location.grid_id is required"
    if path == "location" and first["type"] == "missing":
        return "missing_grid", "location (down to grid_id) is required"
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return "schema", f"field '{path}': {first['msg']}{more}"


def parse(channel: Channel, raw: bytes, limits: IngestLimits) -> InputRecord:
    """Bytes -> validated channel record, or `InvalidEvent` naming what is wrong."""
    if len(raw) > limits.max_record_bytes:
        raise InvalidEvent("record_too_large", f"{len(raw)} bytes > limit {limits.max_record_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent("bad_encoding", f"not UTF-8 at byte {exc.start}") from None
    try:
        data: Any = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidEvent("bad_json", str(exc)[:200]) from None
    if not isinstance(data, dict):
        raise InvalidEvent("schema", f"record must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InvalidEvent("unsupported_version", f"schema_version {version!r}; this engine reads {SCHEMA_VERSION}")
    try:
        return SCHEMAS[channel].model_validate(data)
    except ValidationError as err:
        reason, detail = _validation_detail(err)
        raise InvalidEvent(reason, detail) from None


def _check(record: InputRecord, received_at: datetime, limits: IngestLimits) -> None:
    loc = record.location
    if not (
        units.is_unit(loc.grid_id)
        and units.kind(loc.grid_id) == "grid"
        and units.community_of(loc.grid_id) == loc.community
        and units.street_of(loc.grid_id) == loc.street
    ):
        raise InvalidEvent(
            "bad_location",
            f"grid {loc.grid_id!r} is not a grid of community {loc.community!r} in street {loc.street!r}",
        )
    if record.category not in CATEGORIES:
        raise InvalidEvent(
            "unknown_category",
            f'Unknown category "{record.category}"; valid options are {sorted(CATEGORIES)}',
        )
    if record.occurred_at > received_at + limits.future_tolerance:
        raise InvalidEvent(
            "future_timestamp",
            f"occurred_at {record.occurred_at.isoformat()} is after received_at "
            f"{received_at.isoformat()} + {limits.future_tolerance}",
        )
    longest = max(len(record.text), len(getattr(record, "demand", "")))
    if longest > limits.max_text_chars:
        raise InvalidEvent("text_too_long", f"{longest} characters > limit {limits.max_text_chars}")


def _severity(record: InputRecord) -> int:
    if isinstance(record, GridReport):
        return _GRID_SEVERITY[record.severity]
    if isinstance(record, HotlineCall):
        return 1 if record.request_type in ("complaint", "report") else 0
    level = {"district": 1, "city": 2, "province": 3, "national": 3}[record.level_reached]
    return min(3, level + (1 if record.headcount >= 5 else 0))


def _specifics(record: InputRecord) -> tuple[str, str, dict[str, str | int | bool], list[str]]:
    """source_ref, extra text, channel attributes and derived flags of one record."""
    if isinstance(record, GridReport):
        attrs: dict[str, str | int | bool] = {
            "worker_type": record.worker_type,
            "visit_mode": record.visit_mode,
            "solved_in_grid": record.solved_in_grid,
        }
        return record.report_id, "", attrs, []
    if isinstance(record, HotlineCall):
        attrs = {
            "medium": record.medium,
            "request_type": record.request_type,
            "repeat_count": record.repeat_count,
        }
        if record.satisfaction:
            attrs["satisfaction"] = record.satisfaction
        return record.ticket_no, "", attrs, ["repeat"] if record.repeat_count > 0 else []
    attrs = {
        "form": record.form,
        "visit_count": record.visit_count,
        "level_reached": record.level_reached,
        "lead_official": record.lead_official,
        "settled": record.settled,
    }
    flags = ["repeat"] if record.is_repeat or record.visit_count > 1 else []
    if record.level_reached != "district":
        flags.append("level_up")
    if record.backlog:
        flags.append("backlog")
    return record.case_no, record.demand, attrs, flags


def normalise(
    channel: Channel,
    record: InputRecord,
    received_at: datetime,
    pseudonymiser: Pseudonymiser,
    limits: IngestLimits,
) -> Event:
    """A validated record -> `Event`, with identifiers pseudonymised and text scrubbed."""
    _check(record, received_at, limits)
    source_ref, extra_text, attrs, flags = _specifics(record)
    parties = tuple(
        Party(
            role=p.role,
            name=p.name,
            person_ref=pseudonymiser.person(p.id_number) if p.id_number else "",
            phone_ref=pseudonymiser.phone(p.phone) if p.phone else "",
        )
        for p in record.parties
    )
    if record.headcount >= limits.collective_headcount:
        flags.append("collective")
    text = "\n".join(t for t in (record.text, extra_text) if t)
    case_ref = record.case_ref or (record.case_no if isinstance(record, Petition) else "")
    return Event(
        event_id=stable_id(channel, source_ref),
        channel=channel,
        source_ref=source_ref,
        occurred_at=record.occurred_at,
        received_at=received_at,
        location=Location(record.location.street, record.location.community, record.location.grid_id),
        category=record.category,
        subcategory=record.subcategory,
        severity=_severity(record),
        headcount=record.headcount,
        parties=parties,
        case_ref=case_ref,
        text=scrub_text(text),
        flags=tuple(dict.fromkeys([*record.flags, *flags])),
        attrs=attrs,
    )


def ingest(
    channel: Channel,
    raw: bytes,
    received_at: datetime,
    pseudonymiser: Pseudonymiser,
    limits: IngestLimits,
) -> Event:
    """The whole ingest step for one message: parse, check, normalise; or `InvalidEvent`."""
    return normalise(channel, parse(channel, raw, limits), received_at, pseudonymiser, limits)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected input kept with its reason and original bytes (topic dead-letters)."""

    reason: str
    detail: str
    source_topic: str
    partition: int
    offset: int
    received_at: datetime
    original: bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the original bytes are base64 so any input survives."""
        return {
            "reason": self.reason,
            "detail": self.detail,
            "source_topic": self.source_topic,
            "partition": self.partition,
            "offset": self.offset,
            "received_at": self.received_at.isoformat(),
            "original_b64": base64.b64encode(self.original).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadLetter:
        """Inverse of `to_dict`."""
        return cls(
            reason=data["reason"],
            detail=data["detail"],
            source_topic=data["source_topic"],
            partition=int(data["partition"]),
            offset=int(data["offset"]),
            received_at=datetime.fromisoformat(data["received_at"]),
            original=base64.b64decode(data["original_b64"]),
        )


class DeadLetterLimit:
    """Tells when too large a share of recent input is being dead-lettered.

    A producer that suddenly sends nothing but bad records (a schema change upstream, a wrong
    topic) should stop the channel and page an operator rather than fill the dead-letter
    topic with millions of records. The window is the last `window` outcomes; nothing is
    judged before `min_messages` outcomes were seen.
    """

    def __init__(self, ratio: float, min_messages: int, window: int = 1000) -> None:
        self.ratio = ratio
        self.min_messages = min_messages
        self.window = max(window, min_messages)
        self._outcomes: list[bool] = []
        self._bad = 0

    def record(self, dead_lettered: bool) -> bool:
        """Record one outcome; True when the limit is now exceeded."""
        self._outcomes.append(dead_lettered)
        self._bad += dead_lettered
        if len(self._outcomes) > self.window:
            self._bad -= self._outcomes.pop(0)
        seen = len(self._outcomes)
        return seen >= self.min_messages and self._bad / seen > self.ratio
