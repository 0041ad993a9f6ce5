"""Evidence excerpts: what a duty officer may read of the events behind an alert, without audit.

An alert names its evidence by event id only, and the events themselves live in the input
topics, which no desk can read. So the worker attaches, for the evidence events it has at hand
when the alert is raised, a short excerpt (channel, time, category, the first words of the text)
and the router keeps a bounded list of them on the record (newest kept, `MAX_EXCERPTS`).

An excerpt is deliberately poor: the text is cut to `TEXT_CHARS`, run through
`warning.core.scrub` (ID numbers, phones) and any party name the event carries is replaced by
``[当事人]``; no party, reference or attribute is copied. Person-level details stay behind the
console's audited details route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Final

from warning.core.events import Alert, Event
from warning.core.scrub import scrub

MAX_EXCERPTS: Final = 12
TEXT_CHARS: Final = 80
FIELDS: Final = ("event_id", "channel", "occurred_at", "category", "text")
PARTY_MASK: Final = "[当事人]"

Excerpt = dict[str, str]


def _masked(text: str, names: Iterable[str]) -> str:
    for name in sorted({n for n in names if len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, PARTY_MASK)
    return text


def excerpt(event: Mapping[str, Any]) -> Excerpt:
    """The excerpt of one event (its JSON form, `Event.to_dict`): scrubbed, names masked, cut short.

    >>> excerpt({"event_id": "e1", "channel": "hotline", "occurred_at": "2026-01-01T08:00:00+00:00",
    ...          "category": "labour", "text": "张三讨薪,电话13912345678", "parties": [{"name": "张三"}]})["text"]
    '[当事人]讨薪,电话[电话]'
    """
    names = [str(p.get("name", "")) for p in event.get("parties", ()) if isinstance(p, Mapping)]
    text = _masked(scrub(str(event.get("text", ""))), names)  # scrub first: masks must not be split
    cut = text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"
    return {
        "event_id": str(event.get("event_id", "")),
        "channel": str(event.get("channel", "")),
        "occurred_at": str(event.get("occurred_at", "")),
        "category": str(event.get("category", "")),
        "text": cut,
    }


def for_evidence(evidence: Iterable[str], events: Iterable[Mapping[str, Any]]) -> tuple[Excerpt, ...]:
    """Excerpts of those `events` that are evidence, in evidence order, bounded by `MAX_EXCERPTS`."""
    wanted = list(dict.fromkeys(evidence))
    by_id = {str(e.get("event_id")): e for e in events if isinstance(e, Mapping) and e.get("event_id") in wanted}
    return tuple(excerpt(by_id[i]) for i in wanted if i in by_id)[-MAX_EXCERPTS:]


def merge(old: Iterable[Mapping[str, str]], new: Iterable[Mapping[str, str]]) -> tuple[Excerpt, ...]:
    """The union by event id (a newer excerpt of an event replaces the older), newest `MAX_EXCERPTS` kept."""
    out: dict[str, Excerpt] = {}
    for e in [*old, *new]:
        key = e.get("event_id", "")
        out.pop(key, None)
        out[key] = {k: str(e.get(k, "")) for k in FIELDS}
    return tuple(out.values())[-MAX_EXCERPTS:]


def attach(alert: Alert, event: Event) -> Alert:
    """The alert with the excerpt of `event` added when it is evidence (the engine: the triggering event)."""
    if event.event_id not in alert.evidence:
        return alert
    return replace(alert, excerpts=merge(alert.excerpts, (excerpt(event.to_dict()),)))
