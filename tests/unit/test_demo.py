"""The demo's pure parts: the units file it writes and loads, and the end summary's counts (issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warning.core import units
from warning.devtools import demo
from warning.settings import Settings
from warning.simulate.district import District
from warning.topics import load_catalog
from warning.units_cli import configured_hierarchy


@pytest.fixture(scope="module")
def district() -> District:
    return demo.demo_district(days=3, seed=11)


def test_demo_units_file_names_the_simulated_district_and_is_loaded(district: District, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    path = demo.load_demo_units(settings, load_catalog(settings.topics_dir), district)
    assert path == tmp_path / "demo" / "units.csv"
    assert not (tmp_path / "units.csv").exists()  # the units file in force is never replaced by a demo
    h = configured_hierarchy(Settings(units_file=path))  # what the demo's worker, console and feed read
    assert h is not None
    assert h.district_name == district.geography.name
    for grid in district.geography.grids:
        assert units.name_of(grid.code, h) == grid.name
        assert units.street_of(grid.code, h) == grid.street
    street = district.geography.streets[0]
    assert units.name_of(street.code, h) == street.name
    # the shipped samples stay valid events under the file: each of their units is in it
    for loc in demo.sample_locations(settings, load_catalog(settings.topics_dir)):
        assert units.kind(loc["grid_id"], h) == "grid"
        assert units.community_of(loc["grid_id"], h) == loc["community"]


def test_sample_units_missing_from_the_district_are_added_under_their_parents() -> None:
    geography = [
        {"code": "district", "name": "示范区", "parent": "", "level": "district"},
        {"code": "S01", "name": "东屏街道", "parent": "", "level": "street"},
        {"code": "S01-C01", "name": "锦绣社区", "parent": "S01", "level": "community"},
        {"code": "S01-C01-G01", "name": "锦绣社区第1网格", "parent": "S01-C01", "level": "grid"},
    ]
    samples = [
        {"street": "S01", "community": "S01-C01", "grid_id": "S01-C01-G01"},  # known: kept as it is
        {"street": "S01", "community": "S01-C01", "grid_id": "S01-C01-G05"},
        {"street": "S03", "community": "S03-C02", "grid_id": "S03-C02-G05"},
        {"street": "S03", "community": "S03-C02", "grid_id": "S03-C02-G05"},  # twice in the samples, once in the file
    ]
    rows = demo.demo_unit_rows(geography, samples)
    h = units.parse(rows)
    assert [r["code"] for r in rows[len(geography) :]] == ["S01-C01-G05", "S03", "S03-C02", "S03-C02-G05"]
    assert units.name_of("S01-C01-G01", h) == "锦绣社区第1网格"
    assert units.name_of("S03-C02-G05", h) == "样例网格 S03-C02-G05"
    assert units.path_of("S03-C02-G05", h) == ("S03", "S03-C02", "S03-C02-G05")


def test_summary_counts_alerts_by_type_and_level_and_shows_absent_types() -> None:
    alerts = [
        {"type": "dynamic", "level": "yellow"},
        {"type": "dynamic", "level": "yellow"},
        {"type": "pattern", "level": "blue"},
        {"type": "case", "level": "red"},
    ]
    counts = demo.count_alerts(alerts)
    assert list(counts) == ["dynamic", "pattern", "relational", "case"]
    assert counts["dynamic"] == {"blue": 0, "yellow": 2, "orange": 0, "red": 0}
    assert counts["relational"] == {"blue": 0, "yellow": 0, "orange": 0, "red": 0}  # none: shown as 0
    assert counts["case"]["red"] == 1
    assert demo.count_alerts([{"type": "newkind", "level": "red"}])["newkind"]["red"] == 1


def test_summary_table_and_next_steps_name_what_to_run(tmp_path: Path) -> None:
    from rich.console import Console

    summary = demo.Summary(records=1234, dead_letters=8, alerts=demo.count_alerts([{"type": "case", "level": "red"}]))
    with open(os.devnull, "w") as sink:
        out = Console(width=120, record=True, file=sink)
        out.print(demo.summary_table(summary))
    text = out.export_text()
    assert "1,234" in text and "8" in text
    assert "个案预警" in text and "关联预警" in text  # every type has a row, 0 or not
    steps = demo.next_steps(Settings(console_port=8090), tmp_path / "u.csv", stack_left_running=False)
    assert steps[0].startswith("make stack-up") and steps[-1].startswith("make stack-down")
    assert any(f"WARNING_UNITS_FILE={tmp_path / 'u.csv'} warning console" in s and ":8090/" in s for s in steps)
    assert not demo.next_steps(Settings(), tmp_path / "u.csv", stack_left_running=True)[0].startswith("make")
