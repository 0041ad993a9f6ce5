"""Evaluation of alerts against ground truth: the matching rule and exact metrics on hand-made data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from warning.core.events import Alert, Indicator, stable_id
from warning.core.taxonomy import AlertType, Level
from warning.evaluate import Truth, collapse, evaluate, matches, percentile, write_report

T0 = datetime.fromisoformat("2026-03-01T10:00:00+08:00")


def at(hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, days=days)


def truth(incident_id: str, type_: str, unit: str, start: datetime, end: datetime, **kw: Any) -> Truth:
    street = unit.split("-")[0] if unit != "district" else "district"
    return Truth.from_dict(
        {
            "incident_id": incident_id,
            "type": type_,
            "kind": kw.pop("kind", "k"),
            "unit": unit,
            "street": street,
            "start": start.isoformat(),
            "end": end.isoformat(),
            **kw,
        }
    )


def alert(
    alert_id: str,
    type_: AlertType,
    unit: str,
    created: datetime,
    category: str = "",
    level: Level = "yellow",
    evidence: tuple[str, ...] = (),
    subject: str = "",
) -> Alert:
    return Alert(
        alert_id=alert_id,
        type=type_,
        level=level,
        unit=unit,
        subject=subject or unit,
        title="t",
        indicators=(Indicator("x", 1.0, 1.0),),
        detector="test@1",
        created_at=created,
        category=category,
        evidence=evidence,
    )


TRUTHS = [
    truth("T1", "dynamic", "S01-C01-G01", at(), at(2), category="labour", expected_level="orange"),
    truth("T2", "dynamic", "S02-C01-G01", at(days=4), at(1, days=4), category="property"),
    truth("T3", "case", "S01-C02-G01", at(), at(days=19), case_ref="TJ1", source_refs=["WG1", "GD1"]),
    truth("T4", "case", "S01-C02-G02", at(), at(days=5), case_ref="TJ2", source_refs=["WG2"], negative=True),
    truth("T5", "pattern", "district", at(days=9), at(days=19), category="labour"),
]
ALERTS = [
    alert("A1", "dynamic", "S01-C01-G01", at(0.5), "labour"),
    alert("A2", "dynamic", "S01", at(1), "labour"),
    alert("A3", "dynamic", "S01-C01-G01", at(0.5), "neighbour"),
    alert("A4", "dynamic", "S01-C01-G01", at(27), "labour"),  # after end + 24 h grace
    alert("A5", "case", "S01-C02-G01", at(days=9), evidence=(stable_id("hotline", "GD1"),)),
    alert("A6", "case", "S01-C02-G02", at(days=1), evidence=(stable_id("grid", "WG2"),), subject="TJ2"),
    alert("A7", "case", "S01-C02-G01", at(days=4), evidence=("not-an-event",)),  # same place, other case
    alert("A8", "pattern", "S03", at(days=4), "labour"),  # a forecast 5 days ahead of the peak
    alert("A1", "dynamic", "S01-C01-G01", at(0.75), "labour", level="orange"),  # repeat of A1: an upgrade
]


@pytest.fixture(scope="module")
def metrics() -> dict[str, Any]:
    return evaluate(ALERTS, TRUTHS, streets=4, weeks=2).metrics


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        (
            "dynamic",
            {
                "alerts": 4,
                "matched_alerts": 2,
                "false_alerts": 2,
                "precision": 0.5,
                "incidents": 2,
                "detected": 1,
                "recall": 0.5,
                "delay_seconds": {"median": 1800.0, "p90": 1800.0, "n": 1},
                "alerts_per_street_week": 0.5,
                "false_alerts_per_street_week": 0.25,
                "level_exact": 1.0,
                "status": "ok",
            },
        ),
        (
            "case",
            {
                "alerts": 3,
                "matched_alerts": 1,
                "false_alerts": 2,
                "alerts_on_negative_cases": 1,
                "precision": pytest.approx(1 / 3),
                "incidents": 1,
                "negative_incidents": 1,
                "detected": 1,
                "recall": 1.0,
                "delay_seconds": {"median": 9 * 86400.0, "p90": 9 * 86400.0, "n": 1},
            },
        ),
        (
            "pattern",
            {
                "alerts": 1,
                "precision": 1.0,
                "recall": 1.0,
                "delay_seconds": {"median": -5 * 86400.0, "p90": -5 * 86400.0, "n": 1},
            },
        ),
        (
            "relational",
            {
                "alerts": 0,
                "incidents": 0,
                "precision": None,
                "recall": None,
                "delay_seconds": None,
                "status": "no alerts and no truth",
                "alerts_per_street_week": 0.0,
            },
        ),
    ],
)
def test_metrics_per_type(metrics: dict[str, Any], type_: str, expected: dict[str, Any]) -> None:
    got = metrics["by_type"][type_]
    assert {k: got[k] for k in expected} == expected


def test_overall_metrics(metrics: dict[str, Any]) -> None:
    assert metrics["alerts"] == 8  # nine lines, A1 twice
    assert metrics["precision"] == pytest.approx(4 / 8)
    assert metrics["recall"] == pytest.approx(3 / 4)  # T1, T3, T5 of four positive incidents
    assert metrics["alerts_per_street_week"] == 1.0


@pytest.mark.parametrize(
    ("a", "t", "expected"),
    [
        # dynamic: unit compatibility both ways, same street, category, time window
        (alert("a", "dynamic", "S01-C01-G01", at(1), "labour"), TRUTHS[0], True),
        (alert("a", "dynamic", "S01-C01-G09", at(1), "labour"), TRUTHS[0], True),  # same street
        (alert("a", "dynamic", "S02-C01-G01", at(1), "labour"), TRUTHS[0], False),  # other street
        (alert("a", "dynamic", "S01-C01-G01", at(1), ""), TRUTHS[0], True),  # no category on the alert
        (alert("a", "dynamic", "S01-C01-G01", at(-0.9), "labour"), TRUTHS[0], True),  # within 1 h slack
        (alert("a", "dynamic", "S01-C01-G01", at(-1.1), "labour"), TRUTHS[0], False),
        (alert("a", "pattern", "S01-C01-G01", at(1), "labour"), TRUTHS[0], False),  # other type
        (alert("a", "pattern", "S07", at(days=21), "labour"), TRUTHS[4], True),  # district truth, 2 d after
        (alert("a", "pattern", "S07", at(days=23), "labour"), TRUTHS[4], False),  # beyond 3 d grace
        # case: evidence or case_ref decides; place alone does not
        (alert("a", "case", "S09", at(days=2), evidence=(stable_id("grid", "WG1"),)), TRUTHS[2], True),
        (alert("a", "case", "S09", at(days=2), subject="TJ1"), TRUTHS[2], True),
        (alert("a", "case", "S01-C02-G01", at(days=2), evidence=("x",)), TRUTHS[2], False),
        (alert("a", "case", "S01-C02-G01", at(days=2)), TRUTHS[2], True),  # no evidence: place rule
        (alert("a", "case", "S09", at(days=40), subject="TJ1"), TRUTHS[2], False),  # too late
    ],
)
def test_matching_rule(a: Alert, t: Truth, expected: bool) -> None:
    assert matches(a, t) is expected


def test_collapse_keeps_first_time_highest_level_and_all_evidence() -> None:
    first = alert("x", "case", "S01", at(1), level="yellow", evidence=("e1",))
    later = alert("x", "case", "S01", at(2), level="red", evidence=("e2", "e1"))
    (c,) = collapse([later, first])
    assert (c.created_at, c.level, c.evidence) == (at(1), "red", ("e2", "e1"))


def test_truth_refs_map_to_event_ids_of_every_channel() -> None:
    t = TRUTHS[2]
    assert stable_id("hotline", "GD1") in t.event_ids and stable_id("grid", "WG1") in t.event_ids
    assert len(t.event_ids) == 2 * 3


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=30), st.sampled_from([0, 10, 50, 90, 100])
)
def test_percentile_matches_numpy(values: list[float], q: int) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-6)


def test_nothing_to_evaluate_reports_statuses_without_dividing_by_zero(tmp_path: Path) -> None:
    ev = evaluate([], [], streets=0, weeks=0)
    assert {m["status"] for m in ev.metrics["by_type"].values()} == {"no alerts and no truth"}
    assert ev.metrics["precision"] is None and ev.metrics["recall"] is None
    files = write_report(ev, tmp_path, None, [])
    assert {f.name for f in files} == {"metrics.json", "report.md", "report.html"}


def test_only_truth_means_no_alerts_status() -> None:
    ev = evaluate([], TRUTHS[:1], streets=1, weeks=1)
    assert ev.metrics["by_type"]["dynamic"]["status"] == "no alerts"
    assert ev.metrics["by_type"]["dynamic"]["recall"] == 0.0


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_cli_writes_metrics_report_and_plots(tmp_path: Path) -> None:
    from warning.cli import app

    data = tmp_path / "data"
    data.mkdir()
    rows = [
        {
            "schema_version": 1,
            "report_id": f"WG{i}",
            "occurred_at": (at(days=i)).isoformat(),
            "category": "labour" if i % 2 else "family",
        }
        for i in range(20)
    ]
    _jsonl(data / "grid-reports.jsonl", rows)
    _jsonl(
        data / "truth.jsonl",
        [
            {
                "incident_id": "T1",
                "type": "dynamic",
                "kind": "k",
                "unit": "S01-C01-G01",
                "street": "S01",
                "start": at().isoformat(),
                "end": at(2).isoformat(),
                "category": "labour",
                "source_refs": ["WG1"],
            }
        ],
    )
    _jsonl(tmp_path / "alerts.jsonl", [a.to_dict() for a in ALERTS[:2]])
    out = tmp_path / "report"
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--alerts",
            str(tmp_path / "alerts.jsonl"),
            "--truth",
            str(data / "truth.jsonl"),
            "--out",
            str(out),
            "--streets",
            "2",
            "--weeks",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["by_type"]["dynamic"]["precision"] == 1.0 and m["alerts_raw"] == 2 and m["streets"] == 2
    assert (out / "volumes.png").stat().st_size > 10_000 and (out / "timeline.png").exists()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| dynamic | ok | 2 | 100.0% |" in md and "volumes.png" in md
    assert "<table>" in (out / "report.html").read_text(encoding="utf-8")
