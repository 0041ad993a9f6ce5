"""`warning score-series`: streaming CSV scoring, no look-ahead, malformed rows reported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from warning.analysis.scoring import score_file, score_rows
from warning.cli import app
from warning.core.detectors.baselines import SeriesParams

PARAMS = SeriesParams(min_history=5)


def csv_text(values: list[float], header: bool = True, step: int = 3600) -> str:
    lines = ["timestamp,value"] if header else []
    lines += [f"{1_780_000_000 + i * step},{v}" for i, v in enumerate(values)]
    return "\n".join(lines) + "\n"


def scores(text: str, params: SeriesParams = PARAMS) -> list[str]:
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
    summary = score_file(io.StringIO(csv_text(vals)), out, err, SeriesParams())
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
    assert float(s[-1]) == 1.0


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
