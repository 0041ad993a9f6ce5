"""Console v2's pure parts: evidence excerpts, unit names, the case explanation, the hotspot map."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from warning.core import excerpts, units
from warning.core.events import Alert
from warning.core.lifecycle import AlertRecord
from warning.core.routing import RoutingRules, decide, redacted
from warning.desk.console import views
from warning.devtools.testing import T0, make_alert

H = units.parse(
    [
        {"code": "440305001000", "name": "南头街道", "parent": "", "level": "street"},
        {"code": "440305001001", "name": "南头社区", "parent": "440305001000", "level": "community"},
        {"code": "G1", "name": "一网格", "parent": "440305001001", "level": "grid"},
        {"code": "G2", "name": "二网格", "parent": "440305001001", "level": "grid"},
        {"code": "440305002000", "name": "南山街道", "parent": "", "level": "street"},
    ]
)


def event(eid: str, text: str = "讨薪", **extra: object) -> dict[str, object]:
    return {
        "event_id": eid,
        "channel": "hotline",
        "occurred_at": "2026-01-01T08:00:00+00:00",
        "category": "labour",
        "text": text,
        "parties": [{"name": "李四", "person_ref": "p-9"}],
        **extra,
    }


def test_excerpt_is_scrubbed_names_masked_cut_and_keeps_no_party_field() -> None:
    e = excerpts.excerpt(event("e1", "李四 身份证110101199003071234 电话 139-1234-5678 " + "长" * 200))
    assert "110101" not in e["text"] and "1234-5678" not in e["text"] and "李四" not in e["text"]
    assert "[身份证号]" in e["text"] and "[电话]" in e["text"] and "[当事人]" in e["text"]
    assert len(e["text"]) == excerpts.TEXT_CHARS and e["text"].endswith("…")
    assert set(e) == set(excerpts.FIELDS)
    assert "p-9" not in str(e)


def test_for_evidence_picks_only_evidence_in_order_and_is_bounded() -> None:
    evs = [event(f"e{i}") for i in range(30)] + [event("other")]
    got = excerpts.for_evidence([f"e{i}" for i in range(30)], evs)
    assert len(got) == excerpts.MAX_EXCERPTS
    assert [g["event_id"] for g in got][-1] == "e29"
    assert all(g["event_id"] != "other" for g in got)


def test_routing_keeps_a_bounded_union_of_excerpts_across_occurrences() -> None:
    rules = RoutingRules()
    first = replace(make_alert("x"), excerpts=excerpts.for_evidence(["e1"], [event("e1")]))
    d1 = decide(None, first, rules, T0)
    again = replace(
        make_alert("x", at=T0 + timedelta(hours=2), evidence=("e2",)),
        excerpts=excerpts.for_evidence(["e2"], [event("e2")]),
    )
    d2 = decide(d1.record, again, rules, T0 + timedelta(hours=2))
    assert [e["event_id"] for e in d2.record.alert.excerpts] == ["e1", "e2"]
    assert redacted(d2.record.alert)["excerpts"]  # shown to desks (scrubbed), unlike details
    back = Alert.from_dict(d2.record.alert.to_dict())
    assert back.excerpts == d2.record.alert.excerpts
    assert "excerpts" not in make_alert("y").to_dict()  # alerts without excerpts serialise as before


def test_unit_info_names_the_path_or_falls_back_to_the_code() -> None:
    assert views.unit_info("G1", H) == {"code": "G1", "name": "一网格", "path": "南头街道 / 南头社区 / 一网格"}
    assert views.unit_info("S03-C02-G05", None)["path"] == "S03-C02-G05"
    assert views.unit_info("dept:rsj", None)["path"] == "dept:rsj"


def test_explanation_only_for_case_alerts_and_only_model_fields() -> None:
    details = {"top_features": [{"feature": "n"}], "rules": ["r"], "parties": [{"person_ref": "p-1"}]}
    assert views.explanation({"type": "case"}, details) == {"top_features": [{"feature": "n"}], "rules": ["r"]}
    assert views.explanation({"type": "dynamic"}, details) == {}


def _rec(alert_id: str, unit: str, level: str = "blue", state: str = "new") -> AlertRecord:
    rec = decide(None, make_alert(alert_id, unit=unit, level=level), RoutingRules(hierarchy=H), T0).record  # type: ignore[arg-type]
    return replace(rec, state=state)  # type: ignore[arg-type]


def test_units_in_scope_follow_the_units_file_or_the_alerts_seen() -> None:
    codes = [u["code"] for u in views.units_in_scope("440305001000", H)]
    assert codes == ["440305001000", "440305001001", "G1", "G2"]
    seen = [u["code"] for u in views.units_in_scope("S03", None, ["S03-C01-G02", "S04-C01-G01"])]
    assert seen == ["S03", "S03-C01", "S03-C01-G02"]


def test_hotspot_map_colours_grids_by_open_alerts_and_links_to_their_alerts() -> None:
    records = [_rec("a", "G1", "red"), _rec("b", "G1"), _rec("c", "G2", state="resolved")]
    hot = views.open_by_grid(records)
    assert hot == {"G1": {"count": 2, "level": "red"}}
    svg = views.hotspot_svg("440305001000", views.units_in_scope("440305001000", H), hot)
    assert 'data-unit="G1" data-open="2" data-level="red"' in svg
    assert 'data-unit="G2" data-open="0"' in svg
    assert 'href="/?unit=G1&amp;state=open"' in svg
    assert "南头街道" in svg and "南山街道" not in svg
    assert views.COLOURS[2] in svg and views.COLOURS[0] in svg


def test_report_of_a_street_counts_its_grids_under_a_units_file() -> None:
    from datetime import UTC

    from warning.desk.report import build

    records = [_rec("a", "G1", "red"), _rec("b", "G2"), _rec("c", "440305002000")]
    rep = build(records, [], "day", T0.date(), UTC, T0, {}, "440305001000", H)
    assert sum(rep["current"]["by_level"].values()) == 2
    assert rep["current"]["top_streets"] == [("440305001000", 2)]
