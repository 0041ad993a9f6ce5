"""The life of a delivered alert: states, allowed transitions, the stored record and the audit.

Pure: no clock (the caller passes `at`), no I/O. The sink stores an `AlertRecord` per
``alert_id`` and appends every `AuditEntry` to the append-only audit stream, in the same
transaction as the state change, so the trail can never disagree with the state
(reference/domain.md §4 "可查询、可追溯").

States (DESIGN.md §5), action → state::

    new | escalated | reopened  --acknowledge-->  acknowledged
    acknowledged                --handle------->  in_handling
    acknowledged | in_handling  --resolve------>  resolved (with an outcome label)
    resolved                    --close-------->  closed
    resolved | closed           --reopen------->  reopened
    new | escalated | reopened  --escalate----->  escalated (system only, on deadline)

An unacknowledged alert (new, escalated, reopened) has a deadline ``due_at``; the router's
escalation rule (`warning.core.routing.escalate`) raises it one level when the deadline passes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args

from warning.core.errors import WarningError
from warning.core.events import Alert
from warning.core.taxonomy import Level

State = Literal["new", "acknowledged", "in_handling", "resolved", "closed", "escalated", "reopened"]
STATES: Final[tuple[State, ...]] = get_args(State)
STATE_LABELS: Final[dict[State, str]] = {
    "new": "待签收",
    "acknowledged": "已签收",
    "in_handling": "处置中",
    "resolved": "已化解",
    "closed": "已销号",
    "escalated": "已升级上报",
    "reopened": "已重启",
}

UNACKNOWLEDGED: Final[frozenset[State]] = frozenset({"new", "escalated", "reopened"})
"""States in which nobody has taken the alert yet: the ack deadline runs only here."""

OPEN: Final[frozenset[State]] = frozenset({"new", "acknowledged", "in_handling", "escalated", "reopened"})

Action = Literal["acknowledge", "handle", "resolve", "close", "reopen"]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

# action -> (states it may start from, state it leads to). Escalation is not here: only the
# system escalates, through `routing.escalate`, never an officer.
TRANSITIONS: Final[dict[Action, tuple[frozenset[State], State]]] = {
    "acknowledge": (UNACKNOWLEDGED, "acknowledged"),
    "handle": (frozenset({"acknowledged"}), "in_handling"),
    "resolve": (frozenset({"acknowledged", "in_handling"}), "resolved"),
    "close": (frozenset({"resolved"}), "closed"),
    "reopen": (frozenset({"resolved", "closed"}), "reopened"),
}

Outcome = Literal["true_risk", "false_alarm", "resolved_by_mediation", "referred", "duplicate", "other"]
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)
"""Outcome labels recorded on resolve: the ground truth the case model is retrained on."""

OUTCOME_LABELS: Final[dict[str, str]] = {
    "true_risk": "确有风险",
    "false_alarm": "误报",
    "resolved_by_mediation": "调解化解",
    "referred": "移交/转介",
    "duplicate": "重复预警",
    "other": "其他",
}

SYSTEM_ACTOR: Final = "system"


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class InvalidTransitionError(WarningError):
    """An officer asked for a lifecycle step the alert's current state does not allow."""


class UnknownAlertError(WarningError):
    """No alert is stored under the given id."""


class StaleRecordError(WarningError):
    """The stored alert changed between read and write; the caller re-reads and decides again."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the append-only audit stream: who did what to which alert, when, and why."""

    alert_id: str
    action: str
    actor: str
    at: datetime
    from_state: str = ""
    to_state: str = ""
    level: str = ""
    note: str = ""
    outcome: str = ""
    identity: str = ""
    """Redis ACL user of the connection that wrote the change (``ACL WHOAMI``), when known:
    `actor` is what the program vouches for, `identity` what Redis authenticated."""

    def to_fields(self) -> dict[str, str]:
        """Flat string fields (a Redis stream entry)."""
        return {
            "alert_id": self.alert_id,
            "action": self.action,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "from": self.from_state,
            "to": self.to_state,
            "level": self.level,
            "note": self.note,
            "outcome": self.outcome,
            "identity": self.identity,
        }

    @classmethod
    def from_fields(cls, f: Mapping[str, str]) -> AuditEntry:
        """Inverse of `to_fields`."""
        return cls(
            alert_id=f["alert_id"],
            action=f["action"],
            actor=f["actor"],
            at=_dt(f["at"]),
            from_state=f.get("from", ""),
            to_state=f.get("to", ""),
            level=f.get("level", ""),
            note=f.get("note", ""),
            outcome=f.get("outcome", ""),
            identity=f.get("identity", ""),
        )


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """The stored, current state of one alert (one per ``alert_id``).

    `alert` is the latest occurrence with evidence merged over all occurrences; `level` is the
    effective level, which escalation may have raised above what the detector said. `version`
    increases with every write and is what the sink's check-and-set compares. Times named
    ``*_seen`` are event time (from the alert); ``notified_at`` is the event time of the last
    feed entry (suppression windows are event time, so replay and stream agree); ``due_at`` and
    ``delivered_at`` are wall-clock times from the injected clock (deadlines are about people).
    """

    alert: Alert
    level: Level
    state: State
    count: int
    first_seen: datetime
    last_seen: datetime
    notified_at: datetime
    delivered_at: datetime
    feeds: tuple[str, ...]
    version: int = 1
    due_at: datetime | None = None
    escalations: int = 0
    outcome: str = ""
    updated_at: datetime | None = None

    @property
    def alert_id(self) -> str:
        """The dedupe key."""
        return self.alert.alert_id

    def to_fields(self) -> dict[str, str]:
        """Flat string fields of the Redis hash ``warning:alert:<alert_id>``."""
        return {
            "alert": json.dumps(self.alert.to_dict(), ensure_ascii=False, separators=(",", ":")),
            "alert_id": self.alert_id,
            "type": self.alert.type,
            "unit": self.alert.unit,
            "level": self.level,
            "state": self.state,
            "count": str(self.count),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "notified_at": self.notified_at.isoformat(),
            "delivered_at": self.delivered_at.isoformat(),
            "feeds": json.dumps(list(self.feeds), ensure_ascii=False),
            "version": str(self.version),
            "due_at": self.due_at.isoformat() if self.due_at else "",
            "escalations": str(self.escalations),
            "outcome": self.outcome,
            "updated_at": self.updated_at.isoformat() if self.updated_at else "",
        }

    @classmethod
    def from_fields(cls, f: Mapping[str, str]) -> AlertRecord:
        """Inverse of `to_fields`."""
        alert_json: dict[str, Any] = json.loads(f["alert"])
        return cls(
            alert=Alert.from_dict(alert_json),
            level=f["level"],  # type: ignore[arg-type]  # written by to_fields from a Level
            state=f["state"],  # type: ignore[arg-type]  # written by to_fields from a State
            count=int(f["count"]),
            first_seen=_dt(f["first_seen"]),
            last_seen=_dt(f["last_seen"]),
            notified_at=_dt(f["notified_at"]),
            delivered_at=_dt(f["delivered_at"]),
            feeds=tuple(json.loads(f["feeds"])),
            version=int(f["version"]),
            due_at=_dt(f["due_at"]) if f.get("due_at") else None,
            escalations=int(f.get("escalations", "0")),
            outcome=f.get("outcome", ""),
            updated_at=_dt(f["updated_at"]) if f.get("updated_at") else None,
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """The result of an officer's action: the new record and its audit line."""

    record: AlertRecord
    audit: AuditEntry


def apply_action(
    record: AlertRecord,
    action: str,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    outcome: str = "",
    ack_deadline: timedelta | None = None,
    identity: str = "",
) -> Transition:
    """Apply an officer's `action` to `record`; raise `InvalidTransitionError` when not allowed.

    `ack_deadline` restarts the acknowledgement clock on ``reopen`` (a reopened alert must be
    taken again); other actions stop it. Resolving requires an outcome label, because that
    label is the only ground truth the case model ever gets.
    """
    if action not in TRANSITIONS:
        raise InvalidTransitionError(f'Unknown action "{action}"; valid options are {list(ACTIONS)}')
    if not actor.strip():
        raise InvalidTransitionError("an action needs the officer's name (--by)")
    sources, target = TRANSITIONS[action]
    if record.state not in sources:
        allowed = sorted(a for a, (src, _) in TRANSITIONS.items() if record.state in src)
        raise InvalidTransitionError(
            f'Cannot {action} alert {record.alert_id}: it is "{record.state}" '
            f"({STATE_LABELS[record.state]}); from this state you may {allowed or 'do nothing'}"
        )
    if action == "resolve":
        if outcome not in OUTCOMES:
            raise InvalidTransitionError(f'Unknown outcome "{outcome}"; valid options are {list(OUTCOMES)}')
    elif outcome:
        raise InvalidTransitionError(f"an outcome is recorded only when resolving, not on {action}")
    due = at + ack_deadline if (target in UNACKNOWLEDGED and ack_deadline) else None
    new = replace(
        record,
        state=target,
        version=record.version + 1,
        due_at=due,
        outcome=outcome if action == "resolve" else ("" if action == "reopen" else record.outcome),
        updated_at=at,
    )
    audit = AuditEntry(
        alert_id=record.alert_id,
        action=action,
        actor=actor,
        at=at,
        from_state=record.state,
        to_state=target,
        level=record.level,
        note=note,
        outcome=outcome,
        identity=identity,
    )
    return Transition(new, audit)
