"""Evaluation of alerts against ground truth: the strict matching rule, exact metrics on hand-made
data, the baselines, and one test per loophole of issue 10 that the strict rule closes."""

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

from warning.analysis import baselines
from warning.analysis.evaluate import (
    ForecastPoint,
    ForecastRun,
    Truth,
    collapse,
    coverage,
    evaluate,
    forecast_metrics,
    in_window,
    load_config,
    mape,
    mase,
    matches,
    occurrences,
    peak_week_hits,
    percentile,
    seasonal_naive,
    sum_interval,
    table_rows,
    use_cjk_font,
    write_report,
)
from warning.core.errors import ImproperlyConfigured
from warning.core.events import Alert, Event, Indicator, Location, stable_id
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
    target: datetime | None = None,
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
        details={"kind": "peak", "target_date": target.date().isoformat()} if target else {},
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
    alert("A2", "dynamic", "S01", at(1), "labour"),  # a street alert is not inside a grid incident
    alert("A3", "dynamic", "S01-C01-G01", at(0.5), "neighbour"),
    alert("A4", "dynamic", "S01-C01-G01", at(27), "labour"),  # after end + 6 h
    alert("A5", "case", "S01-C02-G01", at(days=9), evidence=(stable_id("hotline", "GD1"),)),
    alert("A6", "case", "S01-C02-G02", at(days=1), evidence=(stable_id("grid", "WG2"),), subject="TJ2"),
    alert("A7", "case", "S01-C02-G01", at(days=4), evidence=("not-an-event",)),  # same place, other case
    alert("A8", "pattern", "S03", at(days=4), "labour", target=at(days=10)),  # a forecast 5 days ahead
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
                "matched_alerts": 1,
                "false_alerts": 3,
                "precision": 0.25,
                "precision_counts": "1/4",
                "incidents": 2,
                "detected": 1,
                "recall": 0.5,
                "recall_counts": "1/2",
                "delay_seconds": {"median": 1800.0, "p90": 1800.0, "n": 1},
                "alerts_per_street_week": 0.5,
                "false_alerts_per_street_week": 0.375,
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
                "precision": 0.0,
                "precision_counts": "0/0",
                "recall": None,
                "recall_counts": "0/0",
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
    assert metrics["precision"] == pytest.approx(3 / 8) and metrics["precision_counts"] == "3/8"
    assert metrics["recall"] == pytest.approx(3 / 4)  # T1, T3, T5 of four positive incidents
    assert metrics["alerts_per_street_week"] == 1.0


GRID_T = TRUTHS[0]  # dynamic, S01-C01-G01, labour, at(0)..at(2)
STREET_T = truth("TS", "dynamic", "S01", at(), at(2), category="environment", grid_id="S01-C01-G01")
DISTRICT_T = TRUTHS[4]  # pattern, district, labour, days 9..19


@pytest.mark.parametrize(
    ("a", "t", "expected"),
    [
        # where: the alert's unit is the incident's or inside it
        (alert("a", "dynamic", "S01-C01-G01", at(1), "labour"), GRID_T, True),
        (alert("a", "dynamic", "S01-C01-G09", at(1), "labour"), GRID_T, False),  # same street, other grid
        (alert("a", "dynamic", "S01", at(1), "labour"), GRID_T, False),  # street alert on a grid incident
        (alert("a", "dynamic", "district", at(1), "labour"), GRID_T, False),  # district alert
        (alert("a", "dynamic", "S01-C03-G02", at(1), "environment"), STREET_T, True),  # grid inside the street
        (alert("a", "dynamic", "S02-C01-G01", at(1), "environment"), STREET_T, False),
        # what: same category or the incident's family; no category matches nothing categorised
        (alert("a", "dynamic", "S01-C01-G01", at(1), ""), GRID_T, False),
        (alert("a", "dynamic", "S01-C01-G01", at(1), "economic"), GRID_T, True),  # labour's family
        (alert("a", "dynamic", "S01-C01-G01", at(1), "civil"), GRID_T, False),
        # when: dynamic window start - 15 min .. end + 6 h, never more than 24 h after start
        (alert("a", "dynamic", "S01-C01-G01", at(-0.2), "labour"), GRID_T, True),
        (alert("a", "dynamic", "S01-C01-G01", at(-0.3), "labour"), GRID_T, False),
        (alert("a", "dynamic", "S01-C01-G01", at(7.9), "labour"), GRID_T, True),
        (alert("a", "dynamic", "S01-C01-G01", at(8.1), "labour"), GRID_T, False),
        (alert("a", "pattern", "S01-C01-G01", at(1), "labour"), GRID_T, False),  # other type
        # pattern: exceedances on the day, forecasts up to 3 weeks ahead of a day inside the window
        (alert("a", "pattern", "S07", at(days=19.5), "labour"), DISTRICT_T, True),
        (alert("a", "pattern", "S07", at(days=21), "labour"), DISTRICT_T, False),
        (alert("a", "pattern", "S07", at(days=4), "labour"), DISTRICT_T, False),  # no target: about today
        (alert("a", "pattern", "S07", at(days=-5), "labour", target=at(days=10)), DISTRICT_T, True),
        (alert("a", "pattern", "S07", at(days=4), "labour", target=at(days=25)), DISTRICT_T, False),  # wrong week
        (alert("a", "pattern", "S07", at(days=-13), "labour", target=at(days=10)), DISTRICT_T, False),  # > 21 d
        (alert("a", "pattern", "district", at(days=10), "labour"), DISTRICT_T, True),
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


def test_nothing_to_evaluate_reports_statuses_and_zero_counts(tmp_path: Path) -> None:
    ev = evaluate([], [], streets=0, weeks=0)
    assert {m["status"] for m in ev.metrics["by_type"].values()} == {"no alerts and no truth"}
    assert ev.metrics["precision"] == 0.0 and ev.metrics["precision_counts"] == "0/0"
    assert ev.metrics["recall"] is None
    files = write_report(ev, tmp_path, None, [])
    assert {f.name for f in files} == {"metrics.json", "report.md", "report.html"}


def test_only_truth_means_no_alerts_status() -> None:
    ev = evaluate([], TRUTHS[:1], streets=1, weeks=1)
    assert ev.metrics["by_type"]["dynamic"]["status"] == "no alerts"
    assert ev.metrics["by_type"]["dynamic"]["recall"] == 0.0


# ---- the loopholes of issue 10 -----------------------------------------------------------------

DAYS = 120
FIRST = datetime.fromisoformat("2026-01-01T00:00:00+08:00")


def _district_peaks() -> list[Truth]:
    """Five district-wide seasonal peaks, as the simulator injects them."""
    spans = [(0, 14, "property"), (26, 46, "labour"), (54, 74, "family"), (87, 97, "land"), (100, 119, "neighbour")]
    return [
        truth(
            f"P{i}", "pattern", "district", FIRST + timedelta(days=a), FIRST + timedelta(days=b, hours=23), category=c
        )
        for i, (a, b, c) in enumerate(spans)
    ]


def _grid_bursts(n: int = 35) -> list[Truth]:
    cats = ["labour", "property", "land", "investor", "medical", "environment", "sea"]
    return [
        truth(
            f"D{i}",
            "dynamic",
            f"S0{1 + i % 9}-C0{1 + i % 5}-G0{1 + i % 7}",
            FIRST + timedelta(days=3 * i + 0.4),
            FIRST + timedelta(days=3 * i + 0.9),
            category=cats[i % len(cats)],
        )
        for i in range(n)
    ]


def test_a_weekly_district_blanket_pattern_alert_without_category_scores_nothing() -> None:
    weekly = [alert(f"W{w}", "pattern", "district", FIRST + timedelta(days=7 * w)) for w in range(DAYS // 7 + 1)]
    m = evaluate(weekly, _district_peaks(), streets=9, weeks=DAYS / 7).metrics["by_type"]["pattern"]
    assert (m["precision"], m["recall"], m["precision_counts"]) == (0.0, 0.0, "0/18")
    assert m["false_alerts_per_street_week"] == pytest.approx(18 / 9 / (DAYS / 7))


def test_a_weekly_district_blanket_with_categories_is_far_from_perfect() -> None:
    """Even naming every family each week, one-to-one counting caps it at one hit per peak."""
    cfg = load_config()
    weekly = [
        alert(f"W{w}{f}", "pattern", "district", FIRST + timedelta(days=7 * w), f)
        for w in range(DAYS // 7 + 1)
        for f in cfg.families
    ]
    m = evaluate(weekly, _district_peaks(), streets=9, weeks=DAYS / 7).metrics["by_type"]["pattern"]
    assert m["matched_alerts"] <= 5 and m["precision"] < 0.05


def _scan(days: int = DAYS) -> baselines.Scan:
    from warning.core.calendar import local_hour_index

    first = local_hour_index(FIRST) // 24
    return baselines.Scan(first_day=first, last_day=first + days - 1, tz=FIRST.tzinfo)


@pytest.mark.parametrize("with_category", [True, False])
def test_a_district_daily_dynamic_blanket_does_not_reach_the_target(with_category: bool) -> None:
    alerts = baselines.blanket(_scan(), with_category=with_category)
    m = evaluate(alerts, _grid_bursts(), streets=9, weeks=DAYS / 7).metrics["by_type"]["dynamic"]
    assert m["alerts"] == DAYS * (len(load_config().families) if with_category else 1)
    assert m["recall"] == 0.0 and m["precision"] == 0.0  # target: recall >= 0.9 at <= 1 false per street-week


def test_an_alert_without_category_matches_nothing_categorised() -> None:
    truths = [*_grid_bursts(5), *_district_peaks()]
    alerts = [replace(a, category="") for a in _perfect_alerts(truths)]
    m = evaluate(alerts, truths, streets=9, weeks=DAYS / 7).metrics
    assert m["matched_alerts"] == 0 and m["recall"] == 0.0
    assert evaluate(_perfect_alerts(truths), truths, streets=9, weeks=DAYS / 7).metrics["recall"] == 1.0


def _perfect_alerts(truths: list[Truth]) -> list[Alert]:
    return [alert(f"X{t.incident_id}", t.type, t.unit, t.start, t.category or "") for t in truths]  # type: ignore[arg-type]


def test_never_shows_counts_not_na() -> None:
    ev = evaluate([], _grid_bursts(), streets=9, weeks=DAYS / 7)
    m = ev.metrics["by_type"]["dynamic"]
    assert (m["precision"], m["precision_counts"], m["recall_counts"]) == (0.0, "0/0", "0/35")
    rows = table_rows(ev.metrics)
    dynamic = next(r for r in rows if r[0] == "dynamic")
    assert dynamic[3] == "0/0 (0.0%)" and dynamic[4] == "0/35 (0.0%)" and "n/a" not in dynamic


def test_each_incident_counts_once_and_each_alert_once() -> None:
    t1 = truth("O1", "dynamic", "S01-C01-G01", at(), at(3), category="labour")
    t2 = truth("O2", "dynamic", "S01-C01-G01", at(1), at(2), category="labour")  # overlaps O1
    # three alerts on two overlapping incidents: two are matched, the third is a duplicate
    alerts = [alert(f"R{i}", "dynamic", "S01-C01-G01", at(1.5 + i / 10), "labour") for i in range(3)]
    m = evaluate(alerts, [t1, t2], streets=1, weeks=1).metrics["by_type"]["dynamic"]
    assert (m["matched_alerts"], m["detected"], m["duplicate_alerts"], m["false_alerts"]) == (2, 2, 1, 1)
    # one alert cannot detect both
    m = evaluate(alerts[:1], [t1, t2], streets=1, weeks=1).metrics["by_type"]["dynamic"]
    assert (m["matched_alerts"], m["detected"], m["recall"]) == (1, 1, 0.5)


def test_greedy_gives_the_alert_to_the_incident_ending_first() -> None:
    long_ = truth("L", "dynamic", "S01-C01-G01", at(), at(20), category="labour")
    short = truth("S", "dynamic", "S01-C01-G01", at(1), at(2), category="labour")
    alerts = [
        alert("a1", "dynamic", "S01-C01-G01", at(1.5), "labour"),
        alert("a2", "dynamic", "S01-C01-G01", at(10), "labour"),
    ]
    assert evaluate(alerts, [long_, short], streets=1, weeks=1).metrics["by_type"]["dynamic"]["detected"] == 2


def test_a_periodic_peak_is_one_incident_per_occurrence() -> None:
    saturday = datetime.fromisoformat("2026-01-03T00:00:00+08:00")
    whole_run = truth(
        "M",
        "pattern",
        "S01",
        saturday,
        saturday + timedelta(days=21, hours=23),
        category="traffic",
        kind="weekly_market_traffic",
    )
    split = occurrences([whole_run])
    assert [t.incident_id for t in split] == ["M#0", "M#1", "M#2", "M#3"]
    assert all(t.start.weekday() == 5 and t.end - t.start < timedelta(days=1) for t in split)
    one = [alert("m", "pattern", "S01-C01-G01", saturday + timedelta(hours=9), "traffic")]
    m = evaluate(one, [whole_run], streets=1, weeks=3).metrics["by_type"]["pattern"]
    assert (m["incidents"], m["detected"]) == (4, 1)
    # a Wednesday alert is inside the old whole-run window but in no occurrence
    wed = [alert("w", "pattern", "S01", saturday + timedelta(days=4, hours=9), "traffic")]
    assert evaluate(wed, [whole_run], streets=1, weeks=3).metrics["by_type"]["pattern"]["detected"] == 0
    # a line that already is one occurrence is left alone
    assert occurrences(split[:1]) == split[:1]


# ---- baselines -------------------------------------------------------------------------------


def _event(i: int, t: datetime, grid: str = "S01-C01-G01", category: str = "labour", **kw: Any) -> Event:
    return Event(
        event_id=f"e{i}",
        channel="hotline",
        source_ref=f"GD{i}",
        occurred_at=t,
        received_at=t,
        location=Location(grid.split("-")[0], grid.rsplit("-", 1)[0], grid),
        category=category,
        **kw,
    )


def test_rule_only_fires_on_keyword_or_headcount_then_cools_down() -> None:
    events = [
        _event(0, at(0), text="业主反映楼道灯坏了"),
        _event(1, at(1), text="工人聚集讨薪"),
        _event(2, at(2), text="再次聚集"),  # same grid and category inside the cooldown
        _event(3, at(3), grid="S02-C01-G01", headcount=25),
        _event(4, at(30), text="拉横幅"),  # after the 24 h cooldown
    ]
    s = baselines.scan(events)
    assert [(a.unit, a.created_at, a.evidence) for a in s.rule_only] == [
        ("S01-C01-G01", at(1), ("e1",)),
        ("S02-C01-G01", at(3), ("e3",)),
        ("S01-C01-G01", at(30), ("e4",)),
    ]
    assert {a.type for a in s.rule_only} == {"dynamic"} and s.events == 5


def test_seasonal_naive_alerts_the_day_after_a_spike_and_a_week_after() -> None:
    day0 = datetime.fromisoformat("2026-01-01T09:00:00+08:00")
    events = [_event(d * 10 + k, day0 + timedelta(days=d, minutes=k)) for d in range(40) for k in range(2)]
    events += [_event(1000 + k, day0 + timedelta(days=30, hours=1, minutes=k)) for k in range(12)]  # day 30: 14
    events.sort(key=lambda e: e.occurred_at)
    alerts = baselines.seasonal_naive(baselines.scan(events))
    targets = sorted({(a.unit, a.details["target_date"]) for a in alerts})
    assert targets == [("S01", "2026-02-01"), ("district", "2026-02-01")]  # day 31; day 37 is inside the cooldown
    (a, *_) = alerts
    assert a.created_at == datetime.fromisoformat("2026-02-01T00:00:00+08:00") and a.type == "pattern"


def test_baselines_score_through_the_same_matcher() -> None:
    events = [_event(1, at(0.1), text="聚集")]
    res = baselines.score(events, [GRID_T], streets=1, weeks=1)
    assert list(res) == list(baselines.BASELINES)
    assert res["rule_only"]["by_type"]["dynamic"]["recall"] == 1.0
    assert res["never"]["by_type"]["dynamic"]["precision_counts"] == "0/0"


# ---- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("civil = [", "neighbour = ["), "also a category code"),
        (lambda s: s.replace('misc = ["other"]', 'misc = ["other", "labour"]'), "one family each"),
        (lambda s: s.replace('misc = ["other"]', 'misc = ["otter"]'), 'Unknown category "otter"'),
        (lambda s: s.replace("[window.case]", "[window.cases]"), "window needs exactly the types"),
        (lambda s: s.replace("after_hours = 6.0", "after_hour = 6.0"), "Extra inputs are not permitted"),
    ],
)
def test_bad_config_is_rejected_with_a_clear_message(tmp_path: Path, edit: Any, message: str) -> None:
    from warning.analysis.evaluate import CONFIG_FILE

    bad = tmp_path / "evaluation.toml"
    bad.write_text(edit(CONFIG_FILE.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match=message):
        load_config(bad)


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
    assert m["by_type"]["dynamic"]["precision"] == 0.5 and m["alerts_raw"] == 2 and m["streets"] == 2
    assert (out / "volumes.png").stat().st_size > 10_000 and (out / "timeline.png").exists()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| dynamic | detectors | 2 | 1/2 (50.0%) | 1/1 (100.0%) |" in md and "volumes.png" in md
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
    res = CliRunner().invoke(
        app, [*args, "--out", str(out), "--data", str(data), "--street-stride", "3", "--json", str(tmp_path / "m.json")]
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert metrics == json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    # the baselines come from the same input files, beside the (empty) detectors
    assert list(metrics["baselines"]) == list(baselines.BASELINES)
    # one blanket alert a day for 42 days, the first 14 (the dynamic probation) not scored
    assert metrics["baselines"]["blanket_nocat"]["by_type"]["dynamic"]["alerts"] == 28
    assert "| dynamic | blanket_nocat | 28 | 0/28 (0.0%) |" in (out / "report.md").read_text(encoding="utf-8")
    block = metrics["pattern_forecast"]
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


def test_cli_rejects_unreadable_input_with_a_clear_message(tmp_path: Path) -> None:
    from warning.cli import app

    (tmp_path / "alerts.jsonl").write_text("{not json\n", encoding="utf-8")
    (tmp_path / "truth.jsonl").write_text("", encoding="utf-8")
    args = ["evaluate", "--alerts", str(tmp_path / "alerts.jsonl"), "--truth", str(tmp_path / "truth.jsonl")]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "JSONDecodeError" in res.output


def test_probation_drops_early_alerts_and_incidents_for_every_strategy_alike() -> None:
    g = "S01-C01-G01"
    early = truth("early", "dynamic", g, at(days=3), at(days=3, hours=2), category="labour")
    late = truth("late", "dynamic", g, at(days=20), at(days=20, hours=2), category="labour")
    alerts = [
        alert("a1", "dynamic", g, at(days=3, hours=1), "labour"),
        alert("a2", "dynamic", g, at(days=20, hours=1), "labour"),
    ]
    scored = evaluate(alerts, [early, late], 1, 4.0, start=T0).metrics["by_type"]["dynamic"]
    assert scored["recall_counts"] == "1/1" and scored["precision_counts"] == "1/1"
    everything = evaluate(alerts, [early, late], 1, 4.0).metrics["by_type"]["dynamic"]
    assert everything["recall_counts"] == "2/2"


def test_a_slow_rise_has_a_week_to_be_found() -> None:
    g = "S01-C01-G01"
    rise = truth("rise", "dynamic", g, at(), at(days=11), category="labour", kind="slow_rise")
    burst = truth("burst", "dynamic", g, at(), at(days=11), category="labour", kind="burst")
    a = alert("a", "dynamic", g, at(days=5), "labour")
    assert in_window(a, rise) and not in_window(a, burst)
