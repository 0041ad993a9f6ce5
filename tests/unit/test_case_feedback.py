"""Officers' outcomes on case alerts become the labels file ``case-model train --labels`` reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from warning.analysis.case_feedback import labels_from, read, to_csv
from warning.analysis.case_model import read_labels
from warning.core.events import Alert
from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Deliverer
from warning.devtools.testing import T0, make_alert
from warning.sinks.memory import MemoryAlertSink


def case_alert(ref: str) -> Alert:
    return replace(make_alert(f"case-{ref}", type="case", level="orange", category="debt"), subject=ref)


async def resolved_desk() -> tuple[MemoryAlertSink, ManualClock]:
    """Six case alerts and one dynamic alert, handled by officers in different ways."""
    clock = ManualClock(T0)
    sink = MemoryAlertSink(clock=clock)
    d = Deliverer(sink, RoutingRules(), None, clock)
    for ref in ("TJ1", "TJ2", "TJ3", "TJ4", "TJ5", "person:abc"):
        await d.handle(case_alert(ref))
    await d.handle(make_alert("dyn-1"))
    for alert_id, outcome in (
        ("case-TJ1", "true_risk"),
        ("case-TJ2", "false_alarm"),
        ("case-TJ3", "resolved_by_mediation"),
        ("case-TJ4", "duplicate"),
        ("case-person:abc", "true_risk"),
        ("dyn-1", "true_risk"),
    ):
        clock.advance(timedelta(hours=1))
        await d.transition(alert_id, "acknowledge", by="officer1")
        await d.transition(alert_id, "resolve", by="officer1", outcome=outcome)
    # TJ3: reopened, then resolved again later as a real risk: the later decision counts
    clock.advance(timedelta(days=2))
    await d.transition("case-TJ3", "reopen", by="officer2")
    clock.advance(timedelta(hours=3))
    await d.transition("case-TJ3", "acknowledge", by="officer2")
    await d.transition("case-TJ3", "resolve", by="officer2", outcome="true_risk")
    # TJ2 reopened and still open: no label until it is resolved again
    await d.transition("case-TJ2", "reopen", by="officer2")
    return sink, clock


async def test_outcomes_become_one_label_per_case_ref(tmp_path: Path) -> None:
    sink, clock = await resolved_desk()
    export = labels_from(*await read(sink))
    rows = {r.case_ref: (r.label, r.outcome) for r in export.rows}
    assert rows == {"TJ1": (1, "true_risk"), "TJ3": (1, "true_risk")}
    assert export.skipped == {
        "not resolved (reopened)": 1,  # TJ2
        "outcome duplicate": 1,  # TJ4
        "not resolved (new)": 1,  # TJ5
        "no case reference": 1,  # person-keyed: no pseudonym leaves in a labels file
    }
    assert {r.case_ref: r.decided_at for r in export.rows}["TJ3"] == clock.now()  # the last resolve
    path = tmp_path / "labels.csv"
    path.write_text(to_csv(export.rows), encoding="utf-8")
    back = read_labels(path)
    assert [(la.case_ref, la.label, la.decided_at) for la in back] == [
        (r.case_ref, r.label, r.decided_at) for r in export.rows
    ]


async def test_false_alarm_and_mediation_are_label_zero() -> None:
    clock = ManualClock(T0)
    sink = MemoryAlertSink(clock=clock)
    d = Deliverer(sink, RoutingRules(), None, clock)
    for ref, outcome in (("TJ8", "false_alarm"), ("TJ9", "resolved_by_mediation")):
        await d.handle(case_alert(ref))
        await d.transition(f"case-{ref}", "acknowledge", by="o")
        clock.advance(timedelta(minutes=5))
        await d.transition(f"case-{ref}", "resolve", by="o", outcome=outcome)
    export = labels_from(*await read(sink))
    assert [(r.case_ref, r.label) for r in export.rows] == [("TJ8", 0), ("TJ9", 0)]
    assert to_csv(export.rows).splitlines()[0] == "case_ref,label,decided_at"


def test_no_case_alerts_is_a_header_only_file() -> None:
    export = labels_from([], [])
    assert export.rows == [] and to_csv(export.rows) == "case_ref,label,decided_at\n"
