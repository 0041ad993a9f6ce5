"""Routing, dedupe, suppression, upgrade and escalation rules of the pure core."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warning import thresholds
from warning.core.lifecycle import AlertRecord
from warning.core.routing import (
    ALL_FEED,
    RoutingRules,
    decide,
    escalate,
    feed_entry,
    in_scope,
    occurrence_id,
    route,
)
from warning.core.taxonomy import LEVELS, Level
from warning.devtools.testing import T0, make_alert

RULES = RoutingRules()
NOW = T0 + timedelta(seconds=2)


@pytest.mark.parametrize(
    ("level", "unit", "expected"),
    [
        ("blue", "S03-C02-G05", ("S03-C02-G05", "S03-C02", ALL_FEED)),
        ("blue", "S03-C02", ("S03-C02", ALL_FEED)),
        ("blue", "S03", ("S03", ALL_FEED)),
        ("yellow", "S03-C02-G05", ("S03", ALL_FEED)),
        ("orange", "S03-C02-G05", ("S03", "district", ALL_FEED)),
        ("red", "S03-C02-G05", ("district", ALL_FEED)),
        ("red", "district", ("district", ALL_FEED)),
        ("orange", "district", ("district", ALL_FEED)),
    ],
)
def test_route_by_level_and_unit(level: Level, unit: str, expected: tuple[str, ...]) -> None:
    assert route(make_alert(level=level, unit=unit), RULES) == expected


@pytest.mark.parametrize(
    ("category", "departments", "expected_depts"),
    [
        ("labour", (), ("dept:rsj",)),
        ("property", ("人社局",), ("dept:zjj", "dept:rsj")),
        ("labour", ("rsj",), ("dept:rsj",)),  # a code is accepted as is, and deduplicated
        ("unknown-cat", ("不存在的局",), ("dept:mtzx",)),  # never dropped: default department
    ],
)
def test_relational_alerts_also_go_to_departments(
    category: str, departments: tuple[str, ...], expected_depts: tuple[str, ...]
) -> None:
    alert = make_alert(type="relational", level="yellow", category=category, departments=departments)
    assert route(alert, RULES) == ("S03", *expected_depts, ALL_FEED)


def test_non_relational_alerts_do_not_go_to_departments() -> None:
    assert not [f for f in route(make_alert(type="case", level="yellow"), RULES) if "dept" in f]


def test_shipped_thresholds_give_the_default_rules() -> None:
    rules = thresholds.routing_rules(thresholds.load().thresholds)
    assert rules == RULES


def _new() -> AlertRecord:
    return decide(None, make_alert(), RULES, NOW).record


def test_new_alert_record_and_deadline() -> None:
    d = decide(None, make_alert(), RULES, NOW)
    assert d.kind == "new"
    assert d.feeds == ("S03-C02-G05", "S03-C02", ALL_FEED)
    assert (d.record.state, d.record.count, d.record.version) == ("new", 1, 1)
    assert d.record.due_at == NOW + timedelta(hours=24)
    assert [a.action for a in d.audit] == ["create"]


def test_repeat_within_window_is_suppressed_but_counted() -> None:
    prev = _new()
    again = make_alert(at=T0 + timedelta(minutes=10), evidence=("e2",))
    d = decide(prev, again, RULES, NOW)
    assert d.kind == "suppressed"
    assert d.feeds == ()
    assert d.record.count == 2
    assert d.record.last_seen == T0 + timedelta(minutes=10)
    assert d.record.alert.evidence == ("e1", "e2")
    assert d.record.version == prev.version + 1


def test_repeat_at_lower_level_is_suppressed() -> None:
    prev = decide(None, make_alert(level="orange"), RULES, NOW).record
    d = decide(prev, make_alert(level="blue", at=T0 + timedelta(minutes=5)), RULES, NOW)
    assert d.kind == "suppressed"
    assert d.record.level == "orange"


def test_repeat_after_window_is_an_update_reminder() -> None:
    prev = _new()
    d = decide(prev, make_alert(at=T0 + timedelta(hours=2)), RULES, NOW)
    assert d.kind == "update"
    assert d.feeds == ("S03-C02-G05", "S03-C02", ALL_FEED)
    assert d.record.notified_at == T0 + timedelta(hours=2)


def test_higher_level_is_an_upgrade_routed_at_the_new_level() -> None:
    prev = _new()
    d = decide(prev, make_alert(level="orange", at=T0 + timedelta(minutes=1)), RULES, NOW)
    assert d.kind == "upgrade"
    assert d.feeds == ("S03", "district", ALL_FEED)
    assert d.record.level == "orange"
    assert set(d.record.feeds) >= {"S03-C02", "S03", "district"}
    assert d.record.due_at == NOW + timedelta(hours=1)


def test_upgrade_of_a_resolved_alert_reopens_it_same_level_does_not() -> None:
    prev = replace(_new(), state="resolved", outcome="false_alarm")
    same = decide(prev, make_alert(at=T0 + timedelta(hours=5)), RULES, NOW)
    assert same.kind == "suppressed"
    assert same.record.state == "resolved"
    worse = decide(prev, make_alert(level="red", at=T0 + timedelta(hours=5)), RULES, NOW)
    assert worse.kind == "reopened"
    assert (worse.record.state, worse.record.outcome) == ("reopened", "")


def test_evidence_is_merged_and_bounded_newest_kept() -> None:
    rules = RoutingRules(max_evidence=3)
    rec = decide(None, make_alert(evidence=("e1", "e2")), rules, NOW).record
    rec = decide(rec, make_alert(evidence=("e2", "e3", "e4")), rules, NOW).record
    assert rec.alert.evidence == ("e2", "e3", "e4")


def test_occurrence_id_same_message_same_id_repeat_differs() -> None:
    a = make_alert()
    assert occurrence_id(a) == occurrence_id(make_alert())
    assert occurrence_id(a) != occurrence_id(make_alert(at=T0 + timedelta(seconds=1)))
    assert occurrence_id(a) != occurrence_id(make_alert(evidence=("e1", "e2")))
    assert occurrence_id(a) != occurrence_id(make_alert(level="red"))


@pytest.mark.parametrize(
    ("level", "after", "expected_level", "expected_feeds"),
    [
        ("blue", timedelta(hours=24), "yellow", ("S03", ALL_FEED)),
        ("yellow", timedelta(hours=4), "orange", ("S03", "district", ALL_FEED)),
        ("orange", timedelta(hours=1), "red", ("district", ALL_FEED)),
    ],
)
def test_escalation_one_level_up_when_deadline_passes(
    level: Level, after: timedelta, expected_level: Level, expected_feeds: tuple[str, ...]
) -> None:
    rec = decide(None, make_alert(level=level), RULES, NOW).record
    assert escalate(rec, RULES, NOW + after - timedelta(seconds=1)) is None
    d = escalate(rec, RULES, NOW + after)
    assert d is not None
    assert d.kind == "escalated"
    assert (d.record.level, d.record.state, d.record.escalations) == (expected_level, "escalated", 1)
    assert d.feeds == expected_feeds
    assert [a.action for a in d.audit] == ["escalate"]


def test_red_is_never_escalated_by_default_and_acked_alerts_never() -> None:
    red = decide(None, make_alert(level="red"), RULES, NOW).record
    assert red.due_at is None
    assert escalate(red, RULES, NOW + timedelta(days=30)) is None
    acked = replace(_new(), state="acknowledged", due_at=None)
    assert escalate(acked, RULES, NOW + timedelta(days=30)) is None


def test_feed_entry_is_redacted_and_self_contained() -> None:
    rec = decide(None, make_alert(details={"parties": [{"name": "张三"}]}), RULES, NOW).record
    entry = feed_entry(rec, "new")
    assert "张三" not in entry["alert"]
    assert '"has_details":true' in entry["alert"]
    assert entry["level"] == "blue"
    assert entry["kind"] == "new"


@pytest.mark.parametrize(
    ("scope", "visible"),
    [("S03-C02", True), ("S03", True), ("district", True), ("S04", False), ("S03-C01", False)],
)
def test_scope(scope: str, visible: bool) -> None:
    assert in_scope(_new(), scope) is visible


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(LEVELS), st.integers(min_value=0, max_value=72 * 60)),
        min_size=1,
        max_size=12,
    )
)
def test_invariants_over_any_sequence_of_repeats(seq: list[tuple[Level, int]]) -> None:
    """One record per alert_id: count = occurrences, level never decreases, version increments."""
    rec: AlertRecord | None = None
    top = 0
    for i, (level, minute) in enumerate(seq):
        d = decide(rec, make_alert(level=level, at=T0 + timedelta(minutes=minute)), RULES, NOW)
        top = max(top, LEVELS.index(level))
        assert d.record.count == i + 1
        assert d.record.version == i + 1
        assert LEVELS.index(d.record.level) == top
        assert (d.kind == "suppressed") == (d.feeds == ())
        assert d.kind != "new" or i == 0
        rec = d.record
