"""Evaluation of alerts against ground truth: the matching rule and exact metrics on hand-made data."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from warning.analysis.evaluate import (
    ForecastPoint,
    ForecastRun,
    Truth,
    collapse,
    coverage,
    evaluate,
    forecast_metrics,
    mape,
    mase,
    matches,
    peak_week_hits,
    percentile,
    seasonal_naive,
    sum_interval,
    use_cjk_font,
    write_report,
)
from warning.core.events import Alert, Indicator, stable_id
from warning.core.taxonomy import AlertType, Level

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


# ---- pattern forecast metrics ------------------------------------------------------------------

SERIES = {d: d + 1 for d in range(14)}  # day 0..13 -> 1..14


@pytest.mark.parametrize(
    ("origin", "horizon", "first", "expected"),
    [
        (13, 1, None, 8),  # same weekday last week: day 7
        (13, 7, None, 14),  # day 13 itself
        (13, 8, None, 8),  # 8..14 days ahead: the week before, day 7
        (13, 14, None, 14),
        (6, 1, None, 1),  # day 0, the first observed day
        (5, 1, None, None),  # day -1: before the first observed day
        (5, 1, -7, 0),  # observed (first = -7) but no events that day
        (20, 3, None, 0),  # day 16: inside the range, no events
    ],
)
def test_seasonal_naive(origin: int, horizon: int, first: int | None, expected: int | None) -> None:
    assert seasonal_naive(SERIES, origin, horizon, first=first) == expected


def test_seasonal_naive_rejects_horizon_zero() -> None:
    with pytest.raises(ValueError, match="horizon"):
        seasonal_naive(SERIES, 13, 0)


@pytest.mark.parametrize(
    ("actual", "predicted", "naive", "expected"),
    [
        ([1, 2, 3], [1, 2, 4], [2, 2, 2], 0.5),  # 1 / (1 + 0 + 1)
        ([4, 4], [2, 6], [3, 5], 2.0),  # 4 / 2: worse than the baseline
        ([5, 5], [5, 5], [5, 5], None),  # perfect baseline: no scale
        ([], [], [], None),
    ],
)
def test_mase(actual: list[float], predicted: list[float], naive: list[float], expected: float | None) -> None:
    assert mase(actual, predicted, naive) == expected


@pytest.mark.parametrize(
    ("actual", "predicted", "expected"),
    [
        ([0, 2, 4], [1, 1, 5], 0.375),  # zero days skipped: (1/2 + 1/4) / 2
        ([10], [15], 0.5),
        ([0, 0], [1, 2], None),
    ],
)
def test_mape(actual: list[float], predicted: list[float], expected: float | None) -> None:
    assert mape(actual, predicted) == expected


@pytest.mark.parametrize(
    ("actual", "lower", "upper", "expected"),
    [
        ([1, 5, 10], [0, 5, 11], [2, 6, 12], 2 / 3),  # bounds are inclusive
        ([3], [3], [3], 1.0),
        ([], [], [], None),
    ],
)
def test_coverage(actual: list[float], lower: list[float], upper: list[float], expected: float | None) -> None:
    assert coverage(actual, lower, upper) == expected


def test_metric_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        mase([1, 2], [1], [1, 2])


@pytest.mark.parametrize(
    ("means", "disp", "shared", "sd"),
    [
        ([100.0], [0.0], None, 10.0),  # Poisson: sd sqrt(100)
        ([100.0, 100.0], [0.02, 0.02], None, math.sqrt(2 * (100 + 200))),  # independent days
        # dispersion above 0.01 is one shared level error: own 2 x (100 + 100), common (2 x 0.1 x 100)^2
        ([100.0, 100.0], [0.02, 0.02], 0.01, math.sqrt(400 + 400)),
    ],
)
def test_sum_interval(means: list[float], disp: list[float], shared: float | None, sd: float) -> None:
    z = 1.6448536269514722  # 95 % quantile of the standard normal
    lo, hi = sum_interval(means, disp, 0.9, shared)
    assert lo == pytest.approx(sum(means) - z * sd) and hi == pytest.approx(sum(means) + z * sd)


def _point(origin: int, h: int, mean: float, lo: int, hi: int, unit: str = "S01", scope: str = "street") -> Any:
    return ForecastPoint(scope, unit, "labour", origin, h, mean, lo, hi, 0.0)


def test_forecast_metrics_on_a_hand_made_run() -> None:
    counts = {d: 10 for d in range(14)} | {14: 12, 15: 6, 20: 9}
    run = ForecastRun(
        points=[
            _point(13, 1, 11.0, 8, 14),  # y 12, naive (day 7) 10
            _point(13, 2, 8.0, 7, 9),  # y 6, naive (day 8) 10, below the interval
            _point(13, 7, 10.0, 7, 13),  # y 9 (day 20), naive (day 13) 10
            _point(13, 30, 10.0, 7, 13),  # beyond the last day: not scored
            _point(2, 1, 10.0, 7, 13),  # no baseline before day 0: not scored
        ],
        counts={("S01", "labour"): counts},
        first_day=0,
        last_day=20,
        alerts=[],
        interval=0.9,
        horizon=14,
        strides={"street": 1},
    )
    m = forecast_metrics(run)["daily"]["street"]
    assert m["all"]["n"] == 3
    assert m["all"]["mae"] == pytest.approx((1 + 2 + 1) / 3)
    assert m["all"]["mae_naive"] == pytest.approx((2 + 4 + 1) / 3)
    assert m["all"]["mase"] == pytest.approx(4 / 7)
    assert m["all"]["coverage"] == pytest.approx(2 / 3)
    assert m["all"]["bias"] == pytest.approx((-1 + 2 + 1) / 3)
    assert m["1"]["mase"] == pytest.approx(1 / 2) and m["7"]["n"] == 1 and "14" not in m


def test_peak_week_hits_needs_a_peak_alert_targeting_the_window() -> None:
    t = truth("P1", "pattern", "district", at(days=10), at(days=20), category="labour")

    def peak(aid: str, created: datetime, target: datetime, category: str = "labour", kind: str = "peak") -> Alert:
        a = alert(aid, "pattern", "S02", created, category)
        return replace(a, details={"kind": kind, "target_date": target.date().isoformat()})

    alerts = [
        peak("late", at(days=12), at(days=13)),
        peak("early", at(days=4), at(days=11)),  # 6 days before the window opens
        peak("outside", at(days=1), at(days=5)),  # targets a day before the window
        peak("other", at(days=2), at(days=12), category="family"),
        peak("exceed", at(days=10), at(days=10), kind="exceedance"),
    ]
    res = peak_week_hits([t], alerts)
    (row,) = res["incidents_detail"]
    assert (res["hits"], res["hit_rate"], res["hits_before_start"]) == (1, 1.0, 1)
    assert row["peak_alerts"] == 2 and row["lead_days"] == 6.0 and row["first_target"] == at(days=11).date().isoformat()
    assert row["detected"] is True
    assert peak_week_hits([t], alerts[2:4])["hits"] == 0


def test_cli_with_data_adds_the_pattern_forecast_section(tmp_path: Path) -> None:
    from warning.cli import app
    from warning.simulate.district import District, SimConfig
    from warning.simulate.district import write as write_sim

    data = tmp_path / "sim"
    config = SimConfig(seed=3, start=date(2026, 1, 5), days=42, streets=2, grids=12, scale=0.03, incidents=0.0)
    write_sim(District(config), data, Path("topics"))
    (tmp_path / "alerts.jsonl").write_text("", encoding="utf-8")
    out = tmp_path / "report"
    args = ["evaluate", "--alerts", str(tmp_path / "alerts.jsonl"), "--truth", str(data / "truth.jsonl")]
    res = CliRunner().invoke(app, [*args, "--out", str(out), "--data", str(data), "--street-stride", "3"])
    assert res.exit_code == 0, res.output
    block = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["pattern_forecast"]
    assert block["daily"]["district"]["1"]["n"] > 0 and block["daily"]["street"]["all"]["n"] > 0
    assert 0.0 <= block["daily"]["district_total"]["all"]["coverage"] <= 1.0
    assert block["origin_stride_days"] == {"street": 3, "district": 1}
    assert (out / "forecast.png").stat().st_size > 10_000
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Pattern forecast" in md and "| district_total | daily | 1 d |" in md and "forecast.png" in md
    # without --data: no forecast section, as before
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "plain")])
    assert res.exit_code == 0, res.output
    assert "pattern_forecast" not in json.loads((tmp_path / "plain" / "metrics.json").read_text(encoding="utf-8"))


def test_cjk_font_is_used_when_installed() -> None:
    import matplotlib
    from matplotlib import font_manager

    name = use_cjk_font()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    assert (name is not None) == bool(installed & {"Noto Sans CJK SC", "Noto Sans CJK JP"})
    if name is not None:
        assert matplotlib.rcParams["font.sans-serif"][0] == name
