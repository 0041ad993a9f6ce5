"""A district's own geography: validation of a units file and the hierarchy the engine follows."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from warning.core import units
from warning.core.errors import ImproperlyConfigured, InvalidEvent
from warning.core.ingest import IngestLimits, Pseudonymiser, ingest
from warning.core.routing import RoutingRules, feed_in_scope, route
from warning.delivery import acl
from warning.devtools.testing import make_alert
from warning.settings import Settings
from warning.units_cli import configured_hierarchy, parse_csv, read_units, render_csv, write_units

STREET, OTHER = "440305001000", "440305002000"
COMMUNITY, GRID = "440305001001", "440305001001-01"
CSV = f"""code,name,parent,level
440305,南山区,,district
{STREET},南头街道,440305,street
{COMMUNITY},南头社区,{STREET},community
{GRID},南头社区第一网格,{COMMUNITY},grid
G77,南头社区第二网格,{COMMUNITY},grid
{OTHER},南山街道,,street
440305002001,南山社区,{OTHER},community
440305002001-01,南山社区第一网格,440305002001,grid
"""


@pytest.fixture
def h() -> units.Hierarchy:
    return parse_csv(CSV)


def test_names_paths_and_feed_keys(h: units.Hierarchy) -> None:
    assert units.name_of(GRID, h) == "南头社区第一网格"
    assert units.name_of(units.DISTRICT, h) == "南山区"
    assert units.path_of(GRID, h) == (STREET, COMMUNITY, GRID)
    assert units.path_of(units.DISTRICT, h) == ()
    assert units.feed_key(GRID, h) == f"{STREET}-{COMMUNITY}-01"  # the dash-prefixed rest, once
    assert units.feed_key("G77", h) == f"{STREET}-{COMMUNITY}-G77"
    assert (units.street_of(GRID, h), units.community_of(GRID, h), units.kind(GRID, h)) == (STREET, COMMUNITY, "grid")
    assert units.within(GRID, STREET, h) and not units.within(GRID, OTHER, h)
    assert not units.is_unit("S03-C02-G05", h)  # the default layout is not in force with a file


def test_default_layout_is_unchanged_without_a_file() -> None:
    assert units.feed_key("S03-C02-G05") == "S03-C02-G05"
    assert units.path_of("S03-C02-G05") == ("S03", "S03-C02", "S03-C02-G05")
    assert units.name_of("S03") == "S03"
    assert units.within("S03-C02-G05", "S03") and not units.feed_within("S030-C01", "S03")


@pytest.mark.parametrize(
    ("line", "row", "message"),
    [
        (f"{STREET},重复,,street", 10, "duplicate code"),
        ("X1,某网格,NOPE,grid", 10, 'unknown parent "NOPE"'),
        ("X1,某网格,,village", 10, 'bad level "village"'),
        (f"X1,某网格,{STREET},grid", 10, "has a street parent"),
        ("X 1,某网格,,street", 10, 'bad code "X 1"'),
        ("X*,某网格,,street", 10, 'bad code "X*"'),
        ("all,全部,,street", 10, 'bad code "all"'),
        (f"{STREET}-9,某街,,street", 10, 'has a "-"'),  # would make feed:<STREET>-* match it
        ("X1,,,street", 10, "has no name"),
    ],
)
def test_bad_rows_are_refused_with_their_row_number(line: str, row: int, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"row {row}: .*{re.escape(message)}"):
        parse_csv(CSV + line + "\n", "units.csv")


def test_cycles_and_missing_columns_are_refused() -> None:
    cycle = "code,name,parent,level\nS1,甲,,street\nA,甲社区,B,community\nB,乙社区,A,community\n"
    with pytest.raises(ImproperlyConfigured, match="row 3: community A has a community parent"):
        parse_csv(cycle)
    with pytest.raises(units.UnitsFileError, match="cycle"):
        units._cycle(  # levels already rule cycles out; the walk is the second guard
            {"A": units.Unit("A", "a", "B", "community"), "B": units.Unit("B", "b", "A", "community")}, {"A": 3, "B": 4}
        )
    with pytest.raises(ImproperlyConfigured, match="row 1: missing column"):
        parse_csv("code,name,level\nS1,甲,street\n")


def test_file_round_trip_and_settings(tmp_path: Path, h: units.Hierarchy) -> None:
    target = tmp_path / "units.csv"
    write_units(target, h)
    assert read_units(target) == h
    assert render_csv(read_units(target)) == target.read_text(encoding="utf-8")
    assert configured_hierarchy(Settings(data_dir=tmp_path / "none")) is None  # no file: default layout
    assert configured_hierarchy(Settings(data_dir=tmp_path)) == h
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        configured_hierarchy(Settings(units_file=tmp_path / "missing.csv"))  # set but absent: an error


def test_routing_and_acl_follow_the_file(h: units.Hierarchy) -> None:
    rules = RoutingRules(hierarchy=h)
    key = units.feed_key(GRID, h)
    assert route(make_alert(unit=GRID), rules) == (key, f"{STREET}-{COMMUNITY}", "all")
    assert route(make_alert(unit=GRID, level="orange"), rules) == (STREET, "district", "all")
    assert feed_in_scope([key], STREET, h) and not feed_in_scope([key], OTHER, h)
    assert acl.key_patterns(COMMUNITY, "w:", h) == [f"~w:feed:{STREET}-{COMMUNITY}", f"~w:feed:{STREET}-{COMMUNITY}-*"]
    with pytest.raises(ImproperlyConfigured, match="a code of the units file"):
        acl.check_scope("S03", h)


def _grid_report(street: str, community: str, grid: str) -> bytes:
    return (
        '{"schema_version": 1, "report_id": "r1", "worker_id": "W1", "worker_type": "full_time",'
        ' "visit_mode": "routine", "occurred_at": "2026-03-02T10:00:00+08:00",'
        f' "location": {{"street": "{street}", "community": "{community}", "grid_id": "{grid}"}},'
        ' "category": "neighbour", "severity": "minor", "text": "邻里争吵", "solved_in_grid": true}'
    ).encode()


def test_ingest_accepts_the_file_and_dead_letters_unknown_units(h: units.Hierarchy) -> None:
    at = datetime.fromisoformat("2026-03-02T10:05:00+08:00")
    p, limits = Pseudonymiser(b"k" * 16), IngestLimits(hierarchy=h)
    assert ingest("grid", _grid_report(STREET, COMMUNITY, GRID), at, p, limits).location.grid_id == GRID
    with pytest.raises(InvalidEvent) as info:
        ingest("grid", _grid_report(STREET, COMMUNITY, "440305001001-99"), at, p, limits)
    assert info.value.reason == "unknown_unit" and "440305001001-99" in info.value.detail
    with pytest.raises(InvalidEvent, match=r"bad_location|not a grid"):
        ingest("grid", _grid_report(OTHER, COMMUNITY, GRID), at, p, limits)
