"""Ingest: untrusted bytes of one channel -> a validated, normalised, pseudonymised `Event`.

Everything that can be wrong with input is decided here, once, and expressed as
`InvalidEvent(reason, detail)`; the shell turns that into a `DeadLetter`. After this function
nothing holds a raw ID number or phone: parties carry keyed HMAC pseudonyms, references
(source_ref, case_ref) carry pseudonyms in place of identifiers, and every other text field
is masked by the one scrubber, `warning.core.scrub`.

Every time of an event is in the district's zone (``IngestLimits.zone``): the same instant
sent as ``...Z`` or ``...+08:00`` becomes the same event, so alert ids, windows, hour of day
and day boundaries agree; the producer's own offset survives only as ``attrs["tz_offset"]``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Final, Literal, NoReturn

from pydantic import ValidationError

from warning.core import units
from warning.core.errors import InvalidEvent
from warning.core.events import Event, Location, Party, event_id_of
from warning.core.schemas import SCHEMA_VERSION, SCHEMAS, GridReport, HotlineCall, InputRecord, LocationIn, Petition
from warning.core.scrub import Kind, digits, scrub
from warning.core.taxonomy import CATEGORIES, Channel
from warning.core.tokens import Tokeniser

Reason = Literal[
    "record_too_large",
    "bad_encoding",
    "bad_json",
    "unsupported_version",
    "schema",
    "bad_timestamp",
    "missing_grid",
    "bad_location",
    "unknown_unit",
    "unknown_category",
    "future_timestamp",
    "text_too_long",
    "detector_error",
    "delivery_error",
]
REASONS: Final[tuple[str, ...]] = Reason.__args__  # type: ignore[attr-defined]  # Literal exposes __args__ at runtime

# Asia/Shanghai has kept +08:00 without daylight saving since 1991 and ingest rejects anything
# before 2000, so this fixed zone *is* Asia/Shanghai for every accepted record; the shell passes
# a real `zoneinfo.ZoneInfo` for other districts (setting WARNING_TIMEZONE).
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
# Broker timestamps beyond this are a producer's broken clock, not a time; far enough inside
# `datetime.max` that adding the future tolerance or changing zone cannot overflow.
LATEST_TIME: Final = datetime(9000, 1, 1, tzinfo=UTC)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_TIME_FIELDS: Final = frozenset({"occurred_at", "due_at", "deadline"})
_GRID_SEVERITY: Final = {"micro": 0, "minor": 1, "major": 2, "hard": 3}


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Bounds on input, from the thresholds file section ``[ingest]``, plus the district's zone."""

    max_record_bytes: int = 64 * 1024
    max_text_chars: int = 4000
    future_tolerance: timedelta = timedelta(minutes=10)
    collective_headcount: int = 5
    earliest_year: int = 2000
    zone: tzinfo = field(default=CHINA_STANDARD_TIME)
    hierarchy: units.Hierarchy | None = None
    """The district's own units (``warning units load``); None = the default ``Sxx-Cxx-Gxx`` layout."""


class Pseudonymiser:
    """Keyed HMAC-SHA256 pseudonyms: stable for matching, useless without the key.

    The same person gets the same `person_ref` in every channel (relational warnings need
    that), yet a leaked event stream reveals no ID number or phone.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("pseudonymisation key must be at least 16 bytes")
        self._key = key
        self.tokens = Tokeniser(key)
        # repeat callers: one HMAC per distinct value (bounded; pure in the fixed key)
        self._mac = lru_cache(maxsize=65536)(self._hmac)  # type: ignore[method-assign]  # per-instance cache

    def _mac(self, kind: str, value: str) -> str:
        return self._hmac(kind, value)

    def _hmac(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:24]

    def person(self, id_number: str) -> str:
        """Pseudonym of an ID number (normalised: no spaces, upper-case check digit)."""
        return "p" + self._mac("id", re.sub(r"\s", "", id_number).upper())

    def phone(self, phone: str) -> str:
        """Pseudonym of a phone; masked numbers (138****1234) get their own, weaker, namespace."""
        digits = re.sub(r"[^\d*]", "", phone.replace("x", "*").replace("X", "*"))
        if len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        elif len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        return ("m" if "*" in digits else "t") + self._mac("phone", digits)

    def _replace(self, kind: Kind, matched: str) -> str:
        return self.person(digits(matched)) if kind == "id" else self.phone(matched)

    def scrub_ref(self, ref: str) -> str:
        """A reference with each identifier replaced by its pseudonym: the same case keeps one
        reference (``REF-110101199003071234`` -> ``REF-p…``) and it still matches the party's
        ``person_ref``."""
        return scrub(ref, self._replace)


def scrub_text(text: str) -> str:
    """Mask ID numbers and phones a caller or clerk wrote into free text (see `warning.core.scrub`)."""
    return scrub(text)


def _invalid(reason: Reason, detail: str) -> NoReturn:
    """Raise `InvalidEvent`; the detail is scrubbed because it quotes input and ends up in logs."""
    raise InvalidEvent(reason, scrub_text(detail)[:1000])


def received_from_kafka_ms(ms: float | None) -> datetime:
    """A Kafka record timestamp (ms since the epoch; -1 or None = absent) as an aware UTC time.

    The broker stores whatever the producer's clock said (CreateTime), so this never raises:
    absent, negative or non-finite values become the epoch, values beyond year 9000 become
    `LATEST_TIME`; `ingest` then dead-letters the record as ``bad_timestamp`` naming the
    broker timestamp, rather than the shell dropping it on an exception.
    """
    if ms is None or not math.isfinite(ms) or ms < 0:
        return _EPOCH
    latest_ms = (LATEST_TIME - _EPOCH).total_seconds() * 1000
    return _EPOCH + timedelta(milliseconds=min(ms, latest_ms))


def _validation_detail(err: ValidationError) -> tuple[Reason, str]:
    first = err.errors()[0]
    path = ".".join(str(p) for p in first["loc"]) or "<record>"
    if path == "location.grid_id" and first["type"] == "missing":
        return "missing_grid", "location.grid_id is required"
    if path == "location" and first["type"] == "missing":
        return "missing_grid", "location (down to grid_id) is required"
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    reason: Reason = "bad_timestamp" if path in _TIME_FIELDS else "schema"
    return reason, f"field '{path}': {first['msg']}{more}"


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def parse(channel: Channel, raw: bytes, limits: IngestLimits) -> InputRecord:
    """Bytes -> validated channel record, or `InvalidEvent` naming what is wrong."""
    if len(raw) > limits.max_record_bytes:
        _invalid("record_too_large", f"{len(raw)} bytes > limit {limits.max_record_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _invalid("bad_encoding", f"not UTF-8 at byte {exc.start}")
    try:
        # ValueError covers JSONDecodeError, integers beyond Python's 4,300-digit limit and NaN
        data: Any = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        _invalid("bad_json", str(exc)[:200])
    if not isinstance(data, dict):
        _invalid("schema", f"record must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        _invalid("unsupported_version", f"schema_version {version!r}; this engine reads {SCHEMA_VERSION}")
    try:
        return SCHEMAS[channel].model_validate(data)
    except ValidationError as err:
        _invalid(*_validation_detail(err))


def _latest_allowed(received_at: datetime, tolerance: timedelta) -> datetime:
    try:
        return received_at + tolerance
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _check_times(record: InputRecord, received_at: datetime, limits: IngestLimits) -> None:
    earliest = datetime(limits.earliest_year, 1, 1, tzinfo=limits.zone)
    if not earliest <= received_at < LATEST_TIME:
        _invalid(
            "bad_timestamp",
            f"received_at {received_at.isoformat()} (the broker's record timestamp) is outside "
            f"[{earliest.isoformat()}, {LATEST_TIME.isoformat()}): the producer's clock is wrong",
        )
    if record.occurred_at < earliest:
        _invalid(
            "bad_timestamp",
            f"occurred_at {record.occurred_at.isoformat()} is before {earliest.isoformat()} ([ingest] earliest_year)",
        )
    if record.occurred_at > _latest_allowed(received_at, limits.future_tolerance):
        _invalid(
            "future_timestamp",
            f"occurred_at {record.occurred_at.isoformat()} is after received_at "
            f"{received_at.isoformat()} + {limits.future_tolerance}",
        )


def _check_location(loc: LocationIn, h: units.Hierarchy | None) -> None:
    """The grid must be a grid of the named community and street, in the district's own units if loaded."""
    if h is not None:
        unknown = [c for c in (loc.grid_id, loc.community, loc.street) if not units.is_unit(c, h)]
        if unknown:
            _invalid("unknown_unit", f"unit {unknown[0]!r} is not in the units file (WARNING_UNITS_FILE)")
    if not (
        units.is_unit(loc.grid_id, h)
        and units.kind(loc.grid_id, h) == "grid"
        and units.community_of(loc.grid_id, h) == loc.community
        and units.street_of(loc.grid_id, h) == loc.street
    ):
        _invalid(
            "bad_location",
            f"grid {loc.grid_id!r} is not a grid of community {loc.community!r} in street {loc.street!r}",
        )


def _aware(received_at: datetime) -> datetime:
    """A naive receive time is a shell bug, but it must never be read in the machine's local zone."""
    return received_at if received_at.tzinfo is not None else received_at.replace(tzinfo=UTC)


def _check(record: InputRecord, received_at: datetime, limits: IngestLimits) -> None:
    _check_location(record.location, limits.hierarchy)
    if record.category not in CATEGORIES:
        _invalid(
            "unknown_category",
            f'Unknown category "{record.category}"; valid options are {sorted(CATEGORIES)}',
        )
    _check_times(record, received_at, limits)
    longest = max(len(record.text), len(getattr(record, "demand", "")))
    if longest > limits.max_text_chars:
        _invalid("text_too_long", f"{longest} characters > limit {limits.max_text_chars}")


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


def offset_text(moment: datetime) -> str:
    """``+08:00`` / ``-05:30`` / ``+00:00`` (for ``Z``): the UTC offset a producer wrote."""
    minutes = int((moment.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def to_zone(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` in the district's zone, with that instant's offset fixed (``timezone(offset)``).

    A fixed offset is what `Event.from_dict` rebuilds from JSON, so an event equals its own
    round trip whichever zone object the shell passed in.
    """
    local = moment.astimezone(zone)
    return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)))


def normalise(
    channel: Channel,
    record: InputRecord,
    received_at: datetime,
    pseudonymiser: Pseudonymiser,
    limits: IngestLimits,
) -> Event:
    """A validated record -> `Event`, with identifiers pseudonymised, text scrubbed and times zoned."""
    received_at = _aware(received_at)
    _check(record, received_at, limits)
    source_ref, extra_text, attrs, flags = _specifics(record)
    attrs["tz_offset"] = offset_text(record.occurred_at)
    parties = tuple(
        Party(
            role=p.role,
            name=scrub_text(p.name),
            person_ref=pseudonymiser.person(p.id_number) if p.id_number else "",
            phone_ref=pseudonymiser.phone(p.phone) if p.phone else "",
            tokens=pseudonymiser.tokens.person(name=p.name, id_number=p.id_number or "", phone=p.phone or ""),
        )
        for p in record.parties
    )
    if record.headcount >= limits.collective_headcount:
        flags.append("collective")
    text = "\n".join(t for t in (record.text, extra_text) if t)
    case_ref = record.case_ref or (record.case_no if isinstance(record, Petition) else "")
    source_ref = pseudonymiser.scrub_ref(source_ref)
    occurred_at = to_zone(record.occurred_at, limits.zone)
    return Event(
        event_id=event_id_of(channel, source_ref, occurred_at),  # a petition's id names the visit too
        channel=channel,
        source_ref=source_ref,
        occurred_at=occurred_at,
        received_at=to_zone(received_at, limits.zone),
        location=Location(record.location.street, record.location.community, record.location.grid_id),
        category=record.category,
        subcategory=scrub_text(record.subcategory),
        severity=_severity(record),
        headcount=record.headcount,
        parties=parties,
        case_ref=pseudonymiser.scrub_ref(case_ref),
        text=scrub_text(text),
        flags=tuple(dict.fromkeys(scrub_text(f) for f in [*record.flags, *flags])),
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


def count_view(channel: Channel, raw: bytes, received_at: datetime, limits: IngestLimits) -> tuple[datetime, str, str]:
    """(zoned occurred_at, street, category) of a record `ingest` accepts, else `InvalidEvent`.

    The same parse and checks as `ingest`, without pseudonymising or scrubbing: what a count
    over a district's archive needs (the pattern profile), at a fraction of the cost, and
    nothing about people.
    """
    record = parse(channel, raw, limits)
    _check(record, _aware(received_at), limits)
    return to_zone(record.occurred_at, limits.zone), record.location.street, record.category


# Far below the broker's default message.max.bytes (1,048,588) even as base64 inside JSON, and
# enough to see what was wrong with a record; larger originals keep this much plus size and digest.
MAX_EXCERPT_BYTES: Final = 16 * 1024
MAX_DETAIL_CHARS: Final = 4000


def scrub_bytes(raw: bytes) -> bytes:
    """`raw` with identifiers masked; bytes that are not UTF-8 survive unchanged (surrogateescape)."""
    return scrub(raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected input kept with its reason: a scrubbed, bounded excerpt, never the raw bytes.

    The original may hold raw ID numbers and phones, and dead letters are kept longer than the
    raw input topics, so construction replaces `original` with the *scrubbed* bytes (every
    identifier masked by `warning.core.scrub`; invalid UTF-8 kept as is), cut to
    `MAX_EXCERPT_BYTES` so a dead letter always fits in a broker message. `original_size` is
    the raw size; `digest` is the SHA-256 of the whole scrubbed record (not of the raw bytes:
    with the excerpt beside it, a digest of the raw record would let anyone brute-force the
    masked identifier back). To re-publish a fixed record, fetch it from ``source_topic`` at
    ``partition``/``offset`` within that topic's retention; `scrub_bytes` of it has `digest`.
    """

    reason: str
    detail: str
    source_topic: str
    partition: int
    offset: int
    received_at: datetime
    original: bytes
    original_size: int | None = None
    digest: str | None = None
    truncated: bool = False

    def __post_init__(self) -> None:
        # frozen: fields are fixed here, once; from_dict passes a digest and skips the hashing
        kept = scrub_bytes(self.original)
        if self.digest is None:
            object.__setattr__(self, "original_size", len(self.original))
            object.__setattr__(self, "digest", hashlib.sha256(kept).hexdigest())
            if len(kept) > MAX_EXCERPT_BYTES:
                object.__setattr__(self, "truncated", True)
                kept = scrub_bytes(kept[:MAX_EXCERPT_BYTES])  # a cut can make a new phone-shaped tail
        object.__setattr__(self, "original", kept)
        object.__setattr__(self, "detail", scrub_text(self.detail)[:MAX_DETAIL_CHARS])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the kept bytes are base64 so any input survives."""
        return {
            "reason": self.reason,
            "detail": self.detail,
            "source_topic": self.source_topic,
            "partition": self.partition,
            "offset": self.offset,
            "received_at": self.received_at.isoformat(),
            "original_b64": base64.b64encode(self.original).decode("ascii"),
            "original_size": self.original_size,
            "digest": self.digest,
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadLetter:
        """Inverse of `to_dict`; a letter written before excerpts (no digest) is scrubbed now."""
        return cls(
            reason=data["reason"],
            detail=data["detail"],
            source_topic=data["source_topic"],
            partition=int(data["partition"]),
            offset=int(data["offset"]),
            received_at=datetime.fromisoformat(data["received_at"]),
            original=base64.b64decode(data["original_b64"]),
            original_size=data.get("original_size"),
            digest=data.get("digest"),
            truncated=bool(data.get("truncated", False)),
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
