"""The shipped sample records and the value schemas published beside the topic specs.

Schemas are generated from the code (pydantic models, and the output records' to_dict) and
written to ``topics/schemas``; a test fails when the stored copy drifts from the code, so the
files a district's integrators read are always the ones the engine enforces.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warning.core.ingest import REASONS, DeadLetter, IngestLimits, Pseudonymiser, ingest
from warning.core.schemas import json_schema
from warning.topics import INPUT_CHANNELS, Catalog

SAMPLE_RECEIVED_AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)

_EVENT_SCHEMA: dict[str, Any] = {
    "$id": "warning/events/v1",
    "title": "Event",
    "type": "object",
    "required": ["event_id", "channel", "source_ref", "occurred_at", "received_at", "location", "category"],
    "properties": {
        "event_id": {"type": "string", "description": "event_id_of(channel, source_ref, occurred_at): redelivery-safe"},
        "channel": {"enum": ["grid", "hotline", "petition"]},
        "source_ref": {"type": "string"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "received_at": {"type": "string", "format": "date-time"},
        "location": {
            "type": "object",
            "required": ["street", "community", "grid_id"],
            "properties": {k: {"type": "string"} for k in ("street", "community", "grid_id")},
        },
        "category": {"type": "string"},
        "subcategory": {"type": "string"},
        "severity": {"type": "integer", "minimum": 0, "maximum": 3},
        "headcount": {"type": "integer", "minimum": 0},
        "parties": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "role": {"type": "string"},
                    "name": {"type": "string"},
                    "person_ref": {"type": "string", "description": "HMAC pseudonym of the ID number"},
                    "phone_ref": {"type": "string", "description": "HMAC pseudonym of the phone"},
                },
            },
        },
        "case_ref": {"type": "string"},
        "text": {"type": "string", "description": "ID numbers and phones masked at ingest"},
        "flags": {"type": "array", "items": {"type": "string"}},
        "attrs": {"type": "object"},
    },
}

_ALERT_SCHEMA: dict[str, Any] = {
    "$id": "warning/alerts/v1",
    "title": "Alert",
    "type": "object",
    "required": ["alert_id", "type", "level", "unit", "subject", "title", "indicators", "detector", "created_at"],
    "properties": {
        "alert_id": {"type": "string", "description": "stable hash of (type, subject, window): the dedupe key"},
        "type": {"enum": ["dynamic", "pattern", "relational", "case"]},
        "level": {"enum": ["blue", "yellow", "orange", "red"]},
        "unit": {"type": "string"},
        "subject": {"type": "string"},
        "title": {"type": "string"},
        "indicators": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "value", "threshold"],
                "properties": {
                    "name": {"type": "string"},
                    "value": {"type": "number"},
                    "threshold": {"type": "number"},
                    "contribution": {"type": "number"},
                    "label": {"type": "string"},
                },
            },
        },
        "detector": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "score": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "evidence": {"type": "array", "items": {"type": "string"}},
        "window_start": {"type": ["string", "null"]},
        "window_end": {"type": ["string", "null"]},
        "action": {"type": "string"},
        "category": {"type": "string"},
        "departments": {"type": "array", "items": {"type": "string"}},
        "details": {"type": "object"},
        "excerpts": {
            "type": "array",
            "maxItems": 12,
            "description": "scrubbed excerpts of evidence events (no parties, text cut to 80 characters)",
            "items": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}

_DEAD_LETTER_SCHEMA: dict[str, Any] = {
    "$id": "warning/dead-letters/v1",
    "title": "DeadLetter",
    "type": "object",
    "required": [
        *("reason", "detail", "source_topic", "partition", "offset", "received_at", "original_b64"),
        *("original_size", "digest", "truncated"),
    ],
    "properties": {
        "reason": {"enum": list(REASONS)},
        "detail": {"type": "string", "description": "identifiers masked; at most 4,000 characters"},
        "source_topic": {"type": "string"},
        "partition": {"type": "integer"},
        "offset": {"type": "integer"},
        "received_at": {"type": "string", "format": "date-time"},
        "original_b64": {
            "type": "string",
            "contentEncoding": "base64",
            "description": "the record with every ID number and phone masked, cut to 16 KiB (see truncated)",
        },
        "original_size": {"type": "integer", "description": "bytes of the record as received"},
        "digest": {"type": "string", "description": "SHA-256 (hex) of the whole record after masking"},
        "truncated": {"type": "boolean", "description": "original_b64 is the first 16 KiB only"},
    },
}


def schemas(catalog: Catalog) -> dict[Path, dict[str, Any]]:
    """Every topic's value schema, keyed by the path its spec names."""
    out: dict[Path, dict[str, Any]] = {}
    fixed = {
        "events": _EVENT_SCHEMA,
        "events_district": _EVENT_SCHEMA,
        "events_case": _EVENT_SCHEMA,
        "alerts": _ALERT_SCHEMA,
        "dead_letters": _DEAD_LETTER_SCHEMA,
    }
    for spec in catalog:
        if spec.value_schema is None:
            continue
        channel = INPUT_CHANNELS.get(spec.role)
        out[spec.value_schema] = json_schema(channel) if channel else fixed[spec.role]
    return out


def render(schema: dict[str, Any]) -> str:
    """Canonical text of a schema file."""
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def derived_samples(catalog: Catalog, pseudonymiser: Pseudonymiser) -> tuple[list[str], list[str]]:
    """Events and dead letters that the shipped input samples become (for topics/samples)."""
    events: list[str] = []
    dead: list[str] = []
    for role, channel in INPUT_CHANNELS.items():
        spec = catalog.specs[role]
        assert spec.sample is not None
        for offset, raw in enumerate(spec.sample.read_bytes().splitlines()):
            try:
                event = ingest(channel, raw, SAMPLE_RECEIVED_AT, pseudonymiser, IngestLimits())  # type: ignore[arg-type]  # channel values are Channel literals
            except Exception as exc:
                reason = getattr(exc, "reason", "schema")
                detail = getattr(exc, "detail", str(exc))
                dl = DeadLetter(reason, detail, spec.name, 0, offset, SAMPLE_RECEIVED_AT, raw)
                dead.append(json.dumps(dl.to_dict(), ensure_ascii=False))
                continue
            events.append(json.dumps(event.to_dict(), ensure_ascii=False))
    return events, dead
