"""Officers' outcomes on case alerts → the labels file a retrain reads (issue 12, feedback).

Resolving an alert requires an outcome (`warning.core.lifecycle.OUTCOMES`); for a case alert
that outcome is the only ground truth the case model ever gets from a district. `labels_from`
turns the stored records and the audit stream into ``case_ref,label,decided_at`` rows, the
format `warning.analysis.case_model.read_labels` (``train --labels``) reads:

* ``true_risk`` (确有风险) → 1: the officer found the risk real;
* ``false_alarm`` (误报) and ``resolved_by_mediation`` (调解化解, 已化解) → 0: settled;
* ``referred``, ``duplicate``, ``other`` → no row: they say where the case went, not how it
  ended, and a guessed label would teach the model the guess.

One row per case reference: the alert id is stable per case (``stable_id("case", key)``), and
the record's *current* outcome counts, so a case reopened after resolution has no label until
it is resolved again. ``decided_at`` is the time of the last ``resolve`` audit line of that
alert (the record's ``updated_at`` when the audit line was archived): features for the retrain
are then computed only from records before the officer's decision. Alerts keyed by a person
(``person:<pseudonym>``, contacts without a case reference) are left out, so the file carries
case numbers only, never a person's pseudonym. Pure: the reader (`read`) is the thin I/O side.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from warning.core.lifecycle import AlertRecord, AuditEntry
from warning.sinks.base import AlertStore

OUTCOME_TO_LABEL: Final[dict[str, int]] = {"true_risk": 1, "false_alarm": 0, "resolved_by_mediation": 0}
"""Outcome recorded on resolve → label (1 = real risk / serious outcome, 0 = settled)."""
HEADER: Final = ("case_ref", "label", "decided_at")
SCAN_LIMIT: Final = 10_000_000  # case alerts read from the ``type:case`` index: every one a district keeps


@dataclass(frozen=True, slots=True)
class FeedbackLabel:
    """One exported row."""

    case_ref: str
    label: int
    decided_at: datetime
    outcome: str


@dataclass(frozen=True, slots=True)
class Export:
    """The rows, and how many case alerts gave none and why (printed, never silently dropped)."""

    rows: list[FeedbackLabel]
    skipped: Counter[str] = field(default_factory=Counter)


def labels_from(records: Iterable[AlertRecord], audit: Iterable[AuditEntry]) -> Export:
    """Rows for resolved case alerts whose outcome is a label; skip reasons counted."""
    resolved_at: dict[str, datetime] = {}
    for line in audit:
        if line.action == "resolve" and (line.alert_id not in resolved_at or line.at > resolved_at[line.alert_id]):
            resolved_at[line.alert_id] = line.at
    best: dict[str, FeedbackLabel] = {}
    skipped: Counter[str] = Counter()
    for rec in records:
        if rec.alert.type != "case":
            continue
        ref = rec.alert.subject
        if not ref or ref.startswith("person:"):
            skipped["no case reference"] += 1
            continue
        if not rec.outcome:
            skipped[f"not resolved ({rec.state})"] += 1
            continue
        if rec.outcome not in OUTCOME_TO_LABEL:
            skipped[f"outcome {rec.outcome}"] += 1
            continue
        at = resolved_at.get(rec.alert_id) or rec.updated_at
        if at is None:
            skipped["no decision time"] += 1
            continue
        row = FeedbackLabel(ref, OUTCOME_TO_LABEL[rec.outcome], at, rec.outcome)
        if ref not in best or row.decided_at > best[ref].decided_at:
            best[ref] = row
    return Export(sorted(best.values(), key=lambda r: (r.decided_at, r.case_ref)), skipped)


def to_csv(rows: Iterable[FeedbackLabel]) -> str:
    """``case_ref,label,decided_at`` text, ISO times with their offset (what `read_labels` parses)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for r in rows:
        w.writerow([r.case_ref, r.label, r.decided_at.isoformat()])
    return buf.getvalue()


async def read(sink: AlertStore) -> tuple[list[AlertRecord], list[AuditEntry]]:
    """Every case alert record (``type:case`` index) and the resolve lines of the audit stream."""
    ids = await sink.index("type:case", None, SCAN_LIMIT)
    records: list[AlertRecord] = []
    for start in range(0, len(ids), 500):
        records += await sink.load_many(ids[start : start + 500])
    wanted = {r.alert_id for r in records}
    audit = [e for e in await sink.audit(count=SCAN_LIMIT) if e.action == "resolve" and e.alert_id in wanted]
    return records, audit
