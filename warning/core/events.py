"""Frozen records that cross every boundary: `Event` (normalised input) and `Alert` (output).

They are plain dataclasses, not pydantic models, so the pure core stays cheap to construct in
hot loops; validation of untrusted input happens once, at ingest (`warning.core.schemas`).
`to_dict`/`from_dict` give the JSON form used on Kafka, in Faust tables and in Redis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from warning.core.taxonomy import AlertType, Channel, Level, PartyRole

JSON = dict[str, Any]


def _dt(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return parsed


@dataclass(frozen=True, slots=True)
class Location:
    """Where an event happened, down to the grid; codes follow `warning.core.units`."""

    street: str
    community: str
    grid_id: str


@dataclass(frozen=True, slots=True)
class Party:
    """A person in an event. `person_ref` is a keyed pseudonym; raw IDs never get this far.

    `tokens` are the keyed match tokens of `warning.core.tokens` (ID segments, phone parts,
    name encodings) that entity resolution links on; empty for events from before they existed.
    """

    role: PartyRole
    name: str = ""
    person_ref: str = ""
    phone_ref: str = ""
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One normalised dispute or risk signal from any channel (topic ``events``, key grid_id)."""

    event_id: str
    channel: Channel
    source_ref: str
    occurred_at: datetime
    received_at: datetime
    location: Location
    category: str
    subcategory: str = ""
    severity: int = 0
    headcount: int = 1
    parties: tuple[Party, ...] = ()
    case_ref: str = ""
    text: str = ""
    flags: tuple[str, ...] = ()
    attrs: Mapping[str, str | int | bool] = field(default_factory=dict)

    def to_dict(self) -> JSON:
        """JSON-ready form; inverse of `from_dict`."""
        return {
            "event_id": self.event_id,
            "channel": self.channel,
            "source_ref": self.source_ref,
            "occurred_at": self.occurred_at.isoformat(),
            "received_at": self.received_at.isoformat(),
            "location": {
                "street": self.location.street,
                "community": self.location.community,
                "grid_id": self.location.grid_id,
            },
            "category": self.category,
            "subcategory": self.subcategory,
            "severity": self.severity,
            "headcount": self.headcount,
            "parties": [
                {
                    "role": p.role,
                    "name": p.name,
                    "person_ref": p.person_ref,
                    "phone_ref": p.phone_ref,
                    **({"tokens": list(p.tokens)} if p.tokens else {}),
                }
                for p in self.parties
            ],
            "case_ref": self.case_ref,
            "text": self.text,
            "flags": list(self.flags),
            "attrs": dict(self.attrs),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Rebuild from `to_dict` output (trusted: it was validated at ingest)."""
        loc = data["location"]
        return cls(
            event_id=data["event_id"],
            channel=data["channel"],
            source_ref=data["source_ref"],
            occurred_at=_dt(data["occurred_at"]),
            received_at=_dt(data["received_at"]),
            location=Location(loc["street"], loc["community"], loc["grid_id"]),
            category=data["category"],
            subcategory=data.get("subcategory", ""),
            severity=int(data.get("severity", 0)),
            headcount=int(data.get("headcount", 1)),
            parties=tuple(
                Party(
                    role=p["role"],
                    name=p.get("name", ""),
                    person_ref=p.get("person_ref", ""),
                    phone_ref=p.get("phone_ref", ""),
                    tokens=tuple(p.get("tokens", ())),
                )
                for p in data.get("parties", ())
            ),
            case_ref=data.get("case_ref", ""),
            text=data.get("text", ""),
            flags=tuple(data.get("flags", ())),
            attrs=dict(data.get("attrs", {})),
        )


@dataclass(frozen=True, slots=True)
class Indicator:
    """One reason an alert fired (异动指标): what was measured, against what, and how much it weighed."""

    name: str
    value: float
    threshold: float
    contribution: float = 1.0
    label: str = ""

    def to_dict(self) -> JSON:
        """JSON-ready form."""
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "contribution": self.contribution,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Indicator:
        """Inverse of `to_dict`."""
        return cls(
            name=data["name"],
            value=float(data["value"]),
            threshold=float(data["threshold"]),
            contribution=float(data.get("contribution", 1.0)),
            label=data.get("label", ""),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """A warning for a duty desk (topic ``alerts``, key alert_id; then Redis).

    `alert_id` is a stable hash of (type, subject, window) so a repeat of the same finding
    updates one alert instead of flooding the feed. `unit` is the unit whose territory the
    finding is in; the router decides which desks receive it from `level` and `unit`.
    """

    alert_id: str
    type: AlertType
    level: Level
    unit: str
    subject: str
    title: str
    indicators: tuple[Indicator, ...]
    detector: str
    created_at: datetime
    score: float | None = None
    evidence: tuple[str, ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None
    action: str = ""
    category: str = ""
    departments: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    excerpts: tuple[Mapping[str, str], ...] = ()
    """Scrubbed excerpts of evidence events (`warning.core.excerpts`): shown to desks without audit."""

    def __post_init__(self) -> None:
        if not self.indicators:
            raise ValueError("an alert must name at least one indicator that fired")
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")

    def to_dict(self) -> JSON:
        """JSON-ready form; inverse of `from_dict`."""
        return {
            "alert_id": self.alert_id,
            "type": self.type,
            "level": self.level,
            "unit": self.unit,
            "subject": self.subject,
            "title": self.title,
            "indicators": [i.to_dict() for i in self.indicators],
            "detector": self.detector,
            "created_at": self.created_at.isoformat(),
            "score": self.score,
            "evidence": list(self.evidence),
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "action": self.action,
            "category": self.category,
            "departments": list(self.departments),
            "details": dict(self.details),
            **({"excerpts": [dict(e) for e in self.excerpts]} if self.excerpts else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        """Rebuild from `to_dict` output."""
        return cls(
            alert_id=data["alert_id"],
            type=data["type"],
            level=data["level"],
            unit=data["unit"],
            subject=data["subject"],
            title=data["title"],
            indicators=tuple(Indicator.from_dict(i) for i in data["indicators"]),
            detector=data["detector"],
            created_at=_dt(data["created_at"]),
            score=None if data.get("score") is None else float(data["score"]),
            evidence=tuple(data.get("evidence", ())),
            window_start=_dt(data["window_start"]) if data.get("window_start") else None,
            window_end=_dt(data["window_end"]) if data.get("window_end") else None,
            action=data.get("action", ""),
            category=data.get("category", ""),
            departments=tuple(data.get("departments", ())),
            details=cast(dict[str, Any], dict(data.get("details", {}))),
            excerpts=tuple({str(k): str(v) for k, v in e.items()} for e in data.get("excerpts", ())),
        )


def stable_id(*parts: str) -> str:
    """A short deterministic id from parts (alert_id, dedupe keys): same parts, same id, anywhere."""
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).hexdigest()


VISIT_SEP = "."
"""Separates an event id's record part from a petition's visit part (`event_id_of`)."""


def event_id_of(channel: Channel, source_ref: str, occurred_at: datetime) -> str:
    """The id of one input record's event: deterministic, so a redelivered record dedups.

    A grid report id and a 12345 ticket number name one record: ``stable_id(channel, ref)``.
    A petition's case number (信访件编号) does not: the petition office files every repeat visit
    (重复访) of a matter under the same ``case_no``, so the case number alone made a second visit
    a "redelivery" of the first, dropped by the engine's dedupe (stream and replay), while
    training kept whichever came last. A petition's id is therefore
    ``stable_id(channel, case_no) + "." + visit``, the visit a digest of the instant it occurred
    (in UTC: the same instant sent as ``Z`` or ``+08:00`` is the same visit). Not a digest of
    the content: a resent record with an edited text or a corrected flag is still the one visit.
    `record_part` gives back the part that ground truth keyed by record number matches.

    >>> from datetime import timezone, timedelta
    >>> t = datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=8)))
    >>> event_id_of("petition", "XF-1", t) == event_id_of("petition", "XF-1", t.astimezone(timezone.utc))
    True
    >>> record_part(event_id_of("petition", "XF-1", t)) == stable_id("petition", "XF-1")
    True
    """
    rid = stable_id(channel, source_ref)
    if channel != "petition":
        return rid
    visit = stable_id(occurred_at.astimezone(UTC).isoformat())[:8]
    return f"{rid}{VISIT_SEP}{visit}"


def record_part(event_id: str) -> str:
    """The source record's part of an event id (a petition's case number without the visit)."""
    return event_id.partition(VISIT_SEP)[0]
