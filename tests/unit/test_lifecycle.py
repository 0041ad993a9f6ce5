"""Lifecycle state machine: allowed transitions, rejected ones, audit lines, record round-trip."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from warning.core.errors import WarningError
from warning.core.lifecycle import (
    STATES,
    TRANSITIONS,
    AlertRecord,
    AuditEntry,
    InvalidTransitionError,
    State,
    apply_action,
)
from warning.core.routing import RoutingRules, decide
from warning.devtools.testing import T0, make_alert

AT = T0 + timedelta(minutes=30)


def _record(state: State = "new") -> AlertRecord:
    rec = decide(None, make_alert(), RoutingRules(), T0).record
    return replace(rec, state=state)


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        ("new", "acknowledge", "acknowledged"),
        ("escalated", "acknowledge", "acknowledged"),
        ("reopened", "acknowledge", "acknowledged"),
        ("acknowledged", "handle", "in_handling"),
        ("acknowledged", "resolve", "resolved"),
        ("in_handling", "resolve", "resolved"),
        ("resolved", "close", "closed"),
        ("resolved", "reopen", "reopened"),
        ("closed", "reopen", "reopened"),
    ],
)
def test_allowed_transitions(start: State, action: str, end: State) -> None:
    outcome = "true_risk" if action == "resolve" else ""
    t = apply_action(_record(start), action, actor="li", at=AT, note="n", outcome=outcome)
    assert t.record.state == end
    assert t.record.version == _record(start).version + 1
    assert t.audit == AuditEntry("a-0001", action, "li", AT, start, end, "blue", note="n", outcome=outcome)


def _disallowed() -> list[tuple[State, str]]:
    return [(s, a) for a, (sources, _) in TRANSITIONS.items() for s in STATES if s not in sources]


@pytest.mark.parametrize(("start", "action"), _disallowed())
def test_every_other_transition_is_rejected(start: State, action: str) -> None:
    outcome = "true_risk" if action == "resolve" else ""
    with pytest.raises(InvalidTransitionError, match=f"Cannot {action}"):
        apply_action(_record(start), action, actor="li", at=AT, outcome=outcome)


@pytest.mark.parametrize(
    ("action", "outcome", "message"),
    [
        ("fly", "", 'Unknown action "fly"'),
        ("resolve", "", 'Unknown outcome ""'),
        ("resolve", "maybe", 'Unknown outcome "maybe"'),
        ("acknowledge", "true_risk", "only when resolving"),
    ],
)
def test_bad_arguments_are_rejected_with_a_clear_message(action: str, outcome: str, message: str) -> None:
    start: State = "acknowledged" if action == "resolve" else "new"
    with pytest.raises(InvalidTransitionError, match=message):
        apply_action(_record(start), action, actor="li", at=AT, outcome=outcome)


def test_errors_are_warning_errors_and_an_actor_is_required() -> None:
    with pytest.raises(WarningError, match="officer's name"):
        apply_action(_record(), "acknowledge", actor=" ", at=AT)


def test_acknowledge_stops_the_deadline_and_reopen_restarts_it() -> None:
    acked = apply_action(_record(), "acknowledge", actor="li", at=AT).record
    assert acked.due_at is None
    resolved = apply_action(acked, "resolve", actor="li", at=AT, outcome="false_alarm").record
    assert resolved.outcome == "false_alarm"
    reopened = apply_action(resolved, "reopen", actor="li", at=AT, ack_deadline=timedelta(hours=2)).record
    assert reopened.due_at == AT + timedelta(hours=2)
    assert reopened.outcome == ""


def test_record_round_trips_through_redis_fields() -> None:
    rec = replace(
        decide(None, make_alert(details={"parties": ["p1"]}), RoutingRules(), T0).record,
        outcome="true_risk",
        escalations=2,
    )
    fields = rec.to_fields()
    assert all(isinstance(v, str) for v in fields.values())
    assert AlertRecord.from_fields(fields) == rec


def test_audit_entry_round_trip() -> None:
    e = AuditEntry("a", "resolve", "li", AT, "acknowledged", "resolved", "red", "说明", "true_risk")
    assert AuditEntry.from_fields(e.to_fields()) == e
