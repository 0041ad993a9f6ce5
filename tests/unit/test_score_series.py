"""`warning score-series`: streaming CSV scoring, no look-ahead, malformed rows reported, and the
general scorer (`warning.core.detectors.series`) on synthetic series of many shapes."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from warning.analysis.scoring import score_file, score_rows
from warning.cli import app
from warning.core.detectors.series import ScorerParams, StreamScorer, to_score
from warning.devtools.series_shapes import KINDS, SHAPES, Kind, Series, inject

PARAMS = ScorerParams(min_history=5)


def csv_text(values: list[float], header: bool = True, step: int = 3600) -> str:
    lines = ["timestamp,value"] if header else []
    lines += [f"{1_780_000_000 + i * step},{v}" for i, v in enumerate(values)]
    return "\n".join(lines) + "\n"


def scores(text: str, params: ScorerParams = PARAMS) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    score_file(io.StringIO(text), out, err, params)
    return [r["score"] for r in csv.DictReader(io.StringIO(out.getvalue()))]


@given(st.lists(st.integers(0, 50), min_size=1, max_size=60), st.data())
@settings(max_examples=50, deadline=None)
def test_prefix_property(values: list[int], data: st.DataObject) -> None:
    cut = data.draw(st.integers(1, len(values)))
    full = scores(csv_text([float(v) for v in values]))
    prefix = scores(csv_text([float(v) for v in values[:cut]]))
    assert prefix == full[:cut]
    assert all(0.0 <= float(s) <= 1.0 for s in full)


def test_header_is_optional() -> None:
    vals = [3.0, 4.0, 2.0, 5.0, 3.0, 4.0, 30.0]
    assert scores(csv_text(vals, header=True)) == scores(csv_text(vals, header=False))


def test_spike_in_seeded_counts_is_flagged() -> None:
    rng = np.random.default_rng(4)
    vals = [float(v) for v in rng.poisson(5.0, size=200)] + [40.0]
    out, err = io.StringIO(), io.StringIO()
    summary = score_file(io.StringIO(csv_text(vals)), out, err, ScorerParams())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[-1]["alert"] == "1"
    assert summary.alerts <= 3  # the spike plus at most a couple of background rows


def test_irregular_rates_are_scored() -> None:
    text = (
        "timestamp,value\n"
        + "".join(f"2026-03-0{1 + i // 10}T{i % 10:02d}:17:00+08:00,{0.5 + 0.01 * i}\n" for i in range(30))
        + "2026-03-04T01:00:00+08:00,9.5\n"
    )
    s = scores(text)
    assert 0.9 < float(s[-1]) < 1.0  # strong, and still rankable


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("not-a-time,3", "bad timestamp"),
        ("1780000000,abc", "non-numeric value"),
        ("1780000000", "expected 2 columns"),
        ("1780000000,1,2", "expected 2 columns"),
        ("1700000000,3", "timestamp goes backwards"),
        ("1780100000,nan", "non-finite value"),
    ],
)
def test_malformed_row_is_reported_and_the_rest_scored(bad_line: str, reason: str) -> None:
    good = csv_text([3.0] * 8).splitlines()
    text = "\n".join([*good[:5], bad_line, *good[5:]]) + "\n"
    out, err = io.StringIO(), io.StringIO()
    summary = score_file(io.StringIO(text), out, err, PARAMS)
    assert f"row 6: {reason}" in err.getvalue()
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 9  # malformed row kept in place with empty score
    assert rows[4]["score"] == "" and rows[4]["alert"] == ""
    assert summary.scored == 8 and summary.malformed == 1
    # the malformed row is not learned: the good rows score as if it were absent
    assert [r["score"] for r in rows if r["score"]] == scores("\n".join(good) + "\n")


def test_equal_timestamps_are_allowed() -> None:
    rows = list(score_rows([["1780000000", "1"], ["1780000000", "2"]], PARAMS))
    assert [r[3] for r in rows] == ["", ""]


def test_cli_writes_output_file(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(csv_text([2.0, 3.0] * 20 + [80.0]) + "oops,1\n", encoding="utf-8")
    dst = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["score-series", str(src), "--out", str(dst)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(dst.read_text(encoding="utf-8"))))
    assert rows[0].keys() == {"timestamp", "value", "score", "alert"}
    assert rows[40]["alert"] == "1"
    assert rows[-1]["score"] == ""
    assert "row 43: bad timestamp" in result.output


def test_cli_missing_file_fails_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["score-series", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_detail_columns_and_direction_option(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(csv_text([50.0, 51.0, 49.0, 50.5, 49.5] * 8 + [10.0]), encoding="utf-8")
    dst = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["score-series", str(src), "--out", str(dst), "--detail", "--direction", "up"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(dst.read_text(encoding="utf-8"))))
    assert rows[-1].keys() == {"timestamp", "value", "score", "alert", "model", "test", "surprise"}
    assert rows[-1]["alert"] == "0"  # a dip, and only rises were asked for
    both = CliRunner().invoke(app, ["score-series", str(src), "--out", str(dst), "--detail"])
    assert both.exit_code == 0
    last = list(csv.DictReader(io.StringIO(dst.read_text(encoding="utf-8"))))[-1]
    assert last["alert"] == "1" and last["test"] == "dip"
    bad = CliRunner().invoke(app, ["score-series", str(src), "--direction", "sideways"])
    assert bad.exit_code == 2 and "valid options" in bad.output


# -- the general scorer on synthetic shapes ------------------------------------------------------

SCORER = ScorerParams()
WARM = SCORER.min_history
TOP_K = 5
SLACK = 48
SHORT = {"long_sensor": 4000}  # the 22k-row series is scored once, in its own test


def run(s: Series, params: ScorerParams = SCORER) -> np.ndarray:
    sc = StreamScorer(params)
    state = sc.init_state()
    out = np.empty(len(s.y))
    for i, (t, v) in enumerate(zip(s.t.tolist(), s.y.tolist(), strict=True)):
        state, out[i] = sc.update(state, v, t=t)
    return out


def make(name: str, seed: int = 7) -> Series:
    rng = np.random.default_rng(seed)
    n = SHORT.get(name)
    return SHAPES[name](rng) if n is None else SHAPES[name](rng, n)  # type: ignore[call-arg]  # all take n


def valid(scores: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(scores)) and np.all((scores >= 0.0) & (scores < 1.0)))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_clean_shapes_are_valid_and_quiet(name: str) -> None:
    s = make(name)
    sc = run(s)
    assert valid(sc)
    false_rate = float(np.mean(sc[WARM:] >= SCORER.alert_score))
    assert false_rate <= 0.005, f"{name}: {false_rate:.4f} of clean rows alert"


def test_long_sensor_22k_rows_never_nan_and_quiet() -> None:
    s = SHAPES["long_sensor"](np.random.default_rng(3))
    assert len(s.y) == 22_000
    sc = run(s)
    assert valid(sc)
    assert float(np.mean(sc[WARM:] >= SCORER.alert_score)) <= 0.003


# (shape, kind) pairs where the anomaly is not expected in the top-k at the standard strength:
# a dip cannot go below zero in sparse counts; a flat series has no variance; a 5-scale ramp over
# 48 rows hides inside an AR(0.9) sensor's own wander. Known weakness: on the 5-minute CPU %
# series the residual autocorrelation left by the daily cycle is learned as AR(1) (phi ~ 0.7),
# which absorbs a 3-scale shift or ramp on this seed. bench/bench_scorer.py reports them all.
NOT_RANKED = {
    ("counts_sparse", "dip"),
    ("flat", "variance"),
    ("flat", "ramp"),
    ("long_sensor", "ramp"),
    ("percent", "shift"),
    ("percent", "ramp"),
}
STRENGTH: dict[Kind, float] = {"spike": 8.0, "dip": 8.0, "shift": 3.0, "variance": 4.0, "ramp": 5.0}


@pytest.mark.parametrize(("name", "kind"), [(n, k) for n in sorted(SHAPES) for k in KINDS if (n, k) not in NOT_RANKED])
def test_injected_anomaly_is_among_the_top_scores(name: str, kind: Kind) -> None:
    s = make(name)
    at = (len(s.y) * 2) // 3
    inj = inject(s, kind, at, STRENGTH[kind])
    sc = run(inj.series)
    assert valid(sc)
    end = inj.end if kind in ("spike", "dip") else inj.end + SLACK
    top = np.argsort(-sc[WARM:], kind="stable")[:TOP_K] + WARM
    assert np.any((top >= inj.start) & (top < end)), f"top rows {top.tolist()}, anomaly {inj.start}..{end}"


@pytest.mark.parametrize("name", ["temperature", "latency_lognormal", "poisson_seasonal", "irregular_gaps", "flat"])
def test_stronger_spikes_score_strictly_higher_and_never_one(name: str) -> None:
    s = make(name)
    at = (len(s.y) * 2) // 3
    got = [run(inject(s, "spike", at, k).series)[at] for k in (5.0, 8.0, 12.0, 20.0, 40.0, 100.0)]
    assert all(b > a for a, b in itertools.pairwise(got)), got
    assert max(got) < 1.0
    printed = [f"{g:.6f}" for g in got]
    assert len(set(printed)) == len(printed) and "1.000000" not in printed  # distinct in the CSV too


def test_sustained_doubling_of_counts_alerts() -> None:
    rng = np.random.default_rng(11)
    y = np.concatenate([rng.poisson(5.0, 400), rng.poisson(10.0, 100)]).astype(np.float64)
    s = Series(
        "doubling",
        np.asarray(1_780_000_000.0 + 3600.0 * np.arange(len(y)), dtype=np.float64),
        y,
        np.sqrt(y + 1),
        counts=True,
    )
    sc = run(s)
    assert float(np.max(sc[400:430])) >= SCORER.alert_score
    assert float(np.mean(sc[WARM:400] >= SCORER.alert_score)) <= 0.005


def test_doubling_of_a_constant_series_scores_high() -> None:
    y = np.array([100.0] * 60 + [200.0])
    s = Series("const", np.asarray(1_780_000_000.0 + 60.0 * np.arange(len(y)), dtype=np.float64), y, np.ones(len(y)))
    sc = run(s)
    assert sc[-1] > 0.99 and sc[-1] < 1.0
    assert float(np.max(sc[:-1])) == 0.0


def test_dips_score_only_when_asked() -> None:
    s = inject(make("temperature"), "dip", 1500, 10.0).series
    both, up, down = (run(s, ScorerParams(direction=d))[1500] for d in ("both", "up", "down"))
    assert both >= SCORER.alert_score and down >= both and up < 0.1


def test_to_score_is_strictly_increasing_and_below_one() -> None:
    xs = [0.0, 0.5, 4.0, 8.0, 100.0, 1e3, 1e4, 1e100, 1e300, math.inf]
    ys = [to_score(x, 8.0) for x in xs]
    assert ys[0] == 0.0 and ys[2] == pytest.approx(0.5)
    assert all(b > a for a, b in itertools.pairwise(ys[:-1])) and ys[-1] < 1.0


finite = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(st.one_of(finite, st.integers(0, 60).map(float)), st.floats(0.0, 1e6)), max_size=70),
    st.data(),
)
@settings(max_examples=80, deadline=None)
def test_scorer_no_look_ahead_never_nan_and_json_state(rows: list[tuple[float, float]], data: st.DataObject) -> None:
    sc = StreamScorer(ScorerParams(min_history=3))
    times = (1_780_000_000.0 + np.cumsum([dt for _, dt in rows])).tolist()
    full, states = [], []
    state = sc.init_state()
    for (value, _), t in zip(rows, times, strict=True):
        state, score = sc.update(state, value, t=t)
        assert 0.0 <= score < 1.0 and math.isfinite(score)
        full.append(score)
        states.append(state)
    if not rows:
        return
    assert json.loads(json.dumps(state)) == state
    cut = data.draw(st.integers(1, len(rows)))
    # scoring stops at any row and resumes from the JSON state with the same scores
    restored = json.loads(json.dumps(states[cut - 1]))
    again = []
    for (value, _), t in zip(rows[cut:], times[cut:], strict=True):
        restored, score = sc.update(restored, value, t=t)
        again.append(score)
    assert again == full[cut:]
