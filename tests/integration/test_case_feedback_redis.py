"""`warning case-model labels` on a real Redis: outcomes recorded through the real sink and router."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warning.analysis.case_model import read_labels
from warning.cli import app
from warning.core.ports import ManualClock
from warning.core.routing import RoutingRules
from warning.delivery.router import Deliverer
from warning.devtools.testing import T0, make_alert
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink

pytestmark = pytest.mark.integration


async def test_labels_command_exports_resolved_case_outcomes(
    rsink: RedisAlertSink, stack: Settings, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    d = Deliverer(rsink, RoutingRules(), None, clock)
    outcomes = {"TJ100": "true_risk", "TJ101": "false_alarm", "TJ102": "resolved_by_mediation", "TJ103": "other"}
    for ref in [*outcomes, "TJ104"]:
        await d.handle(replace(make_alert(f"c-{ref}", type="case", level="red", category="debt"), subject=ref))
    await d.handle(make_alert("dyn-x"))  # not a case alert: never a label
    for ref, outcome in outcomes.items():
        clock.advance(timedelta(hours=2))
        await d.transition(f"c-{ref}", "acknowledge", by="duty")
        await d.transition(f"c-{ref}", "resolve", by="duty", outcome=outcome)
    await d.transition("dyn-x", "acknowledge", by="duty")
    await d.transition("dyn-x", "resolve", by="duty", outcome="true_risk")

    out = tmp_path / "feedback" / "labels.csv"
    env = {"WARNING_REDIS_URL": stack.redis_url, "WARNING_REDIS_PREFIX": rsink.prefix}
    # the command runs its own event loop: call it from a thread, as a shell would from outside
    res = await asyncio.to_thread(CliRunner().invoke, app, ["case-model", "labels", "--out", str(out)], env=env)
    assert res.exit_code == 0, res.output
    assert "3 labelled cases (1 positive)" in res.output and "outcome other: 1" in res.output
    labels = read_labels(out)  # exactly what `case-model train --labels` reads
    assert [(la.case_ref, la.label) for la in labels] == [("TJ100", 1), ("TJ101", 0), ("TJ102", 0)]
    trail = {e.alert_id: e.at for e in await rsink.audit() if e.action == "resolve"}
    assert [la.decided_at for la in labels] == [trail[f"c-{la.case_ref}"] for la in labels]
