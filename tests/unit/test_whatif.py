"""What-if on a small simulated district: a real threshold change must show in every view."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warning import settings as settings_mod
from warning import thresholds as thresholds_mod
from warning.analysis.whatif import Comparison, compare, rows, svg_lines, write_html
from warning.simulate.district import District, SimConfig, write

SETTINGS = settings_mod.load()


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whatif")
    cfg = SimConfig(seed=3, start=date(2026, 3, 1), days=35, streets=2, grids=16, scale=0.1)
    write(District(cfg), out / "data", SETTINGS.topics_dir)
    # raise the dynamic detector's bar: a window must be 1000x rarer by chance to alert (scale 3 -> 6)
    text = thresholds_mod.DEFAULT_FILE.read_text(encoding="utf-8")
    assert "surprise_scale = 3.0\n" in text
    (out / "candidate.toml").write_text(text.replace("surprise_scale = 3.0\n", "surprise_scale = 6.0\n", 1))
    return out


@pytest.fixture(scope="module")
def comparison(district: Path) -> Comparison:
    current = thresholds_mod.load(None).thresholds
    candidate = thresholds_mod.load(district / "candidate.toml").thresholds
    return compare(district / "data", SETTINGS, current, candidate, district / "data" / "truth.jsonl")


def test_raising_the_dynamic_bar_removes_dynamic_alerts_only(comparison: Comparison) -> None:
    gone = comparison.disappeared()
    assert gone and not comparison.appeared()
    assert {a.type for a in gone} == {"dynamic"}
    totals = {v: (a, b) for v, a, b in comparison.totals("type")}
    assert totals["dynamic"][1] == totals["dynamic"][0] - len(gone)
    assert totals["case"][0] == totals["case"][1]


def test_quality_is_scored_on_both_sides_and_false_alerts_drop(comparison: Comparison) -> None:
    qa, qb = comparison.current.quality, comparison.candidate.quality
    assert qa is not None and qb is not None
    assert qb["false_alerts_per_street_week"] < qa["false_alerts_per_street_week"]
    table = {r[0]: r for r in rows(comparison)}
    assert table["alerts disappear"][1] == str(len(comparison.disappeared()))
    assert {"desk street /day", "level red /day", "precision", "recall"} <= set(table)


def test_html_has_inline_svg_and_the_changed_alerts(comparison: Comparison, tmp_path: Path) -> None:
    page = tmp_path / "w.html"
    write_html(comparison, page)
    text = page.read_text(encoding="utf-8")
    assert "<svg" in text and "<script" not in text
    assert all(a.alert_id in text for a in comparison.disappeared())


def test_svg_of_empty_series_is_still_valid() -> None:
    assert svg_lines({"current": []}).endswith("</svg>")


def test_cli_whatif_prints_both_sides(district: Path, tmp_path: Path) -> None:
    from warning.cli import app

    # a week of one street keeps the CLI's two replays short; the numbers are checked above
    write(
        District(SimConfig(seed=4, start=date(2026, 3, 1), days=7, streets=1, grids=8, scale=0.05)),
        tmp_path,
        SETTINGS.topics_dir,
    )
    args = [
        "whatif",
        "--thresholds",
        str(district / "candidate.toml"),
        str(tmp_path),
        "--html",
        str(tmp_path / "w.html"),
    ]
    res = CliRunner().invoke(app, args, terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "candidate" in res.output and "false_alerts_per_street_week" in res.output
