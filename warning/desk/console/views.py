"""What the console v2 pages show, as pure functions: unit names, explanations, the hotspot map.

Kept apart from the request handlers (`warning.desk.console.app`) so they are unit-tested
without a server. Every function takes the district's hierarchy (`warning.core.units.Hierarchy`,
``None`` = the default ``Sxx-Cxx-Gxx`` layout, whose units have no names but their codes).

The hotspot view (综治一张图) has no coordinates to work with (a units file has code, name,
parent and level only), so it is a schematic: one panel per street, a row of grid cells per
community, each cell coloured by the open alerts in that grid and linking to the desk filtered
by that grid. Without a units file the units are the ones the officer's alerts name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any, Final

from warning.core import units
from warning.core.lifecycle import OPEN, AlertRecord
from warning.core.taxonomy import level_rank

EXPLANATION_KEYS: Final = ("rules", "top_features", "dispatch", "referrals", "contacts", "petition_level")
COLOURS: Final = ("#e9eef5", "#fde6b0", "#fdb46b", "#f26b4f", "#c81e1e")  # 0, 1, 2-3, 4-6, 7+ open alerts
CELL: Final = 60
GAP: Final = 6


def unit_info(code: str, h: units.Hierarchy | None) -> dict[str, Any]:
    """Code, name and the names of its path (street / community / grid) for display."""
    try:
        path = units.path_of(code, h) if units.is_unit(code, h) else ()
    except ValueError:
        path = ()
    names = [units.name_of(c, h) for c in path]
    named = any(n != c for n, c in zip(names, path, strict=True))
    return {"code": code, "name": units.name_of(code, h), "path": " / ".join(names) if named else code}


def explanation(alert: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """The case model's explanation (rules, top features, dispatch, referrals): no person field in it."""
    if alert.get("type") != "case":
        return {}
    return {k: details[k] for k in EXPLANATION_KEYS if k in details}


def units_in_scope(scope: str, h: units.Hierarchy | None, seen: Iterable[str] = ()) -> list[dict[str, str]]:
    """The units an officer of `scope` may pick (the units file's, else those named by `seen` alerts)."""
    if h is not None:
        codes = [c for c in h.units if units.within(c, scope, h)]
    else:
        codes = sorted({a for c in seen if units.is_unit(c) for a in units.path_of(c) if units.within(a, scope)})
    out = [
        {"code": c, "name": units.name_of(c, h), "kind": units.kind(c, h), "parent": units.parent(c, h)} for c in codes
    ]
    return sorted(out, key=lambda u: units.feed_key(u["code"], h))


def open_by_grid(records: Iterable[AlertRecord]) -> dict[str, dict[str, Any]]:
    """Open alerts per unit code: count and the highest level."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.state not in OPEN:
            continue
        cell = out.setdefault(r.alert.unit, {"count": 0, "level": "blue"})
        cell["count"] += 1
        if level_rank(r.level) > level_rank(cell["level"]):
            cell["level"] = r.level
    return out


def _colour(count: int) -> str:
    return COLOURS[0 if count == 0 else 1 if count == 1 else 2 if count <= 3 else 3 if count <= 6 else 4]


def _children(parent: str, all_units: list[dict[str, str]]) -> list[dict[str, str]]:
    return [u for u in all_units if u["parent"] == parent]


def _cell(u: dict[str, str], x: int, y: int, hot: Mapping[str, Mapping[str, Any]]) -> str:
    info = hot.get(u["code"], {"count": 0, "level": ""})
    n = int(info["count"])
    label = escape(u["name"][:5])
    title = escape(f"{u['name']} ({u['code']}): 未办结预警 {n} 条")
    return (
        f'<a href="/?unit={escape(u["code"])}&amp;state=open" class="cell" data-unit="{escape(u["code"])}" '
        f'data-open="{n}" data-level="{escape(str(info["level"]))}"><title>{title}</title>'
        f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="4" fill="{_colour(n)}" stroke="#8a99ad"/>'
        f'<text x="{x + CELL // 2}" y="{y + 19}" text-anchor="middle" font-size="11">{label}</text>'
        f'<text x="{x + CELL // 2}" y="{y + 37}" text-anchor="middle" font-size="14" font-weight="bold">{n}</text></a>'
    )


def hotspot_svg(scope: str, all_units: list[dict[str, str]], hot: Mapping[str, Mapping[str, Any]]) -> str:
    """The 综治一张图 of `scope`: street panels, a row of grid cells per community, coloured by open alerts."""
    streets = [u for u in all_units if u["kind"] == "street"]
    if not streets and scope != units.DISTRICT:  # a community or grid officer: draw the street around them
        streets = [{"code": scope, "name": scope, "kind": "street", "parent": units.DISTRICT}]
    parts: list[str] = []
    y = 10
    width = 600
    for street in streets:
        communities = _children(street["code"], all_units) or [u for u in all_units if u["kind"] == "community"]
        top = y
        y += 24
        rows: list[str] = []
        for com in communities:
            grids = _children(com["code"], all_units) or [com]
            rows.append(f'<text x="20" y="{y + 28}" font-size="12">{escape(com["name"][:8])}</text>')
            for i, g in enumerate(grids):
                rows.append(_cell(g, 130 + i * (CELL + GAP), y, hot))
            width = max(width, 150 + len(grids) * (CELL + GAP))
            y += CELL + GAP
        parts.append(
            f'<g class="street" data-unit="{escape(street["code"])}">'
            f'<rect x="4" y="{top}" width="{{W}}" height="{y - top + 4}" fill="none" stroke="#1d3557" rx="6"/>'
            f'<text x="12" y="{top + 17}" font-size="14" font-weight="bold">{escape(street["name"])}</text>'
            + "".join(rows)
            + "</g>"
        )
        y += 14
    body = "".join(parts).replace("{W}", str(width - 8))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="hotspots" role="img" aria-label="辖区网格未办结预警分布" '
        f'viewBox="0 0 {width} {max(y, 60)}" width="{width}" height="{max(y, 60)}">{body}</svg>'
    )


def legend() -> str:
    """The colour key of the map."""
    steps = ("0", "1", "2–3", "4–6", "7+")
    items = "".join(f'<span class="key"><span class="swatch c{i}"></span>{s}</span>' for i, s in enumerate(steps))
    return f'<p class="legend">未办结预警数: {items}</p>'
