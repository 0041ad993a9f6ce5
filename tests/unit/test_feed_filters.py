"""`warning feed` filters and the one-line wall-screen form (issue 15, item 4)."""

from __future__ import annotations

import io

import pytest

from warning.core import units
from warning.core.routing import RoutingRules, decide, feed_entry
from warning.desk.feed import check_filters, compact_line, feed_name, matches, render_entry
from warning.devtools.testing import T0, make_alert

H = units.parse(
    [
        {"code": "440305001000", "name": "南头街道", "parent": "", "level": "street"},
        {"code": "440305001001", "name": "南头社区", "parent": "440305001000", "level": "community"},
        {"code": "G1", "name": "一网格", "parent": "440305001001", "level": "grid"},
    ]
)


def entry(level: str = "red", state: str = "new", type: str = "dynamic", unit: str = "S03-C01-G02") -> dict[str, str]:
    rec = decide(None, make_alert("a1", level=level, type=type, unit=unit), RoutingRules(), T0).record  # type: ignore[arg-type]
    fields = feed_entry(rec, "new")
    fields["state"] = state
    return fields


def test_matches_each_filter_and_open_means_any_open_state() -> None:
    assert matches(entry())
    assert matches(entry(), type="dynamic", level="red", state="new")
    assert not matches(entry(), level="blue")
    assert not matches(entry(type="case"), type="dynamic")
    assert matches(entry(state="acknowledged"), state="open")
    assert not matches(entry(state="resolved"), state="open")
    assert not matches(entry(state="acknowledged"), state="new")


def test_check_filters_refuses_unknown_values() -> None:
    check_filters("case", "orange", "open")
    with pytest.raises(ValueError, match="--level"):
        check_filters(None, "purple", None)
    with pytest.raises(ValueError, match="--state"):
        check_filters(None, None, "done")


def test_compact_line_is_one_line_with_level_unit_name_state_and_id() -> None:
    text = compact_line(entry(unit="G1"), H).plain
    assert "\n" not in text
    for part in ("【红色", "新预警", "一网格(G1)", "待签收", "#a1", T0.isoformat()[5:16].replace("T", " ")):
        assert part in text, part
    assert "S03-C01-G02" in compact_line(entry(), None).plain


def test_feed_name_is_the_path_key_of_a_loaded_unit() -> None:
    assert feed_name("G1", H) == "440305001000-440305001001-G1"
    assert feed_name("S03-C02", None) == "S03-C02"
    assert feed_name("all", H) == "all"
    assert feed_name("dept:rsj", H) == "dept:rsj"


def test_full_panel_names_the_unit_beside_its_code_with_a_units_file() -> None:
    from rich.console import Console

    def text(h: units.Hierarchy | None, unit: str) -> str:
        out = Console(width=160, record=True, file=io.StringIO())
        out.print(render_entry(entry(unit=unit), h))
        return out.export_text()

    assert "一网格  G1" in text(H, "G1")
    assert "S03-C01-G02" in text(None, "S03-C01-G02")  # default layout: the code, as before
    assert "S03-C01-G02" in text(H, "S03-C01-G02")  # a unit the file does not know: the code alone
