"""Administrative units and their hierarchy (区 → 街镇 → 社区/村 → 网格).

Two layouts, one set of functions:

* **the default layout** (the simulator's): a code spells its own ancestry. ``S03`` is a
  street/town, ``S03-C02`` a community in it, ``S03-C02-G05`` a grid in that community, and
  ``district`` is the command centre above all. Nothing needs to be loaded.
* **a district's own geography** (`Hierarchy`, from ``warning units load FILE.csv``): any codes,
  e.g. the national 12-digit 统计用区划代码 for streets and communities plus the district's
  grid codes, with names and parents from the file. The shell reads the file and passes the
  `Hierarchy` in; every function below takes it as its last argument (``None`` = default layout),
  so the core stays pure.

Feeds are keyed by a unit's **path key** (`feed_key`): its ancestors' segments and its own,
joined by ``-``. A code that itself contains ``-`` must be its parent's code, ``-`` and a
dash-free rest (the default layout's rule), so in the default layout the path key *is* the code
(``warning:feed:S03-C02`` as before) and in any layout "``K`` or ``K-*``" — a Redis ACL key
pattern — is exactly "the unit with key ``K`` and the units below it".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

DISTRICT: Final = "district"
UnitKind = Literal["district", "street", "community", "grid"]
UNIT_KINDS: Final[tuple[UnitKind, ...]] = get_args(UnitKind)
RESERVED_CODES: Final = frozenset({"all"})

_PATTERN: Final = re.compile(r"^S\d{2}(-C\d{2}(-G\d{2,3})?)?$")
# no glob characters, whitespace or ':' (department feeds are dept:<code>): codes go into keys
_CODE: Final = re.compile(r"^[A-Za-z0-9_.]{1,64}(-[A-Za-z0-9_.]{1,64})*$")
_MAX_CODE: Final = 64


class UnitsFileError(ValueError):
    """A units file that cannot be the district's hierarchy; the message names the row."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One row of a units file (``code``, ``name``, ``parent``, ``level``)."""

    code: str
    name: str
    parent: str
    level: UnitKind


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """A district's own units by code, with each unit's path key (built once by `parse`)."""

    units: Mapping[str, Unit]
    keys: Mapping[str, str] = field(default_factory=dict)
    district_name: str = "区指挥中心"


def _row_error(row: int, message: str) -> UnitsFileError:
    return UnitsFileError(f"row {row}: {message}")


def _unit(row: int, values: Mapping[str, str]) -> Unit:
    code = (values.get("code") or "").strip()
    name = (values.get("name") or "").strip()
    parent_code = (values.get("parent") or "").strip()
    level = (values.get("level") or "").strip()
    if not _CODE.match(code) or len(code) > _MAX_CODE or code in RESERVED_CODES:
        raise _row_error(row, f'bad code "{code}": 1-64 of A-Z a-z 0-9 _ . - (no spaces, no ":", not "all")')
    if level not in UNIT_KINDS:
        raise _row_error(row, f'bad level "{level}" for {code}; expected one of {", ".join(UNIT_KINDS)}')
    if not name:
        raise _row_error(row, f"unit {code} has no name")
    if level == "district":
        if parent_code:
            raise _row_error(row, f"the district {code} cannot have a parent ({parent_code})")
    elif level != "street" and not parent_code:
        raise _row_error(row, f"{level} {code} needs a parent")
    return Unit(code, name, parent_code or DISTRICT, level)


def _check_parents(units: Mapping[str, Unit], rows: Mapping[str, int], district: str | None) -> None:
    """Every parent is known and one level up (which also rules out cycles); dashes follow parents."""
    above = {"street": "district", "community": "street", "grid": "community"}
    for code, u in units.items():
        if u.level == "district":
            continue
        parent_unit = units.get(u.parent)
        if parent_unit is None and not (u.level == "street" and u.parent in (DISTRICT, district)):
            raise _row_error(rows[code], f'unknown parent "{u.parent}" of {code}')
        parent_level = parent_unit.level if parent_unit else "district"
        if parent_level != above[u.level]:
            raise _row_error(
                rows[code], f"{u.level} {code} has a {parent_level} parent ({u.parent}); expected a {above[u.level]}"
            )
        if "-" in code and not (
            parent_unit is not None and code.startswith(u.parent + "-") and "-" not in code[len(u.parent) + 1 :]
        ):
            raise _row_error(rows[code], f'code "{code}" has a "-" but is not "<parent code>-<rest>"')


def _cycle(units: Mapping[str, Unit], rows: Mapping[str, int]) -> None:
    """Refuse a parent chain that comes back to itself (reported at the first unit found on it)."""
    for start in units:
        seen: set[str] = set()
        code = start
        while code in units and units[code].level != "district":
            if code in seen:
                raise _row_error(rows[code], f"cycle in parents: {code} is its own ancestor")
            seen.add(code)
            code = units[code].parent


def _segment(u: Unit) -> str:
    return u.code[len(u.parent) + 1 :] if u.code.startswith(u.parent + "-") else u.code


def _keys(units: Mapping[str, Unit], rows: Mapping[str, int]) -> dict[str, str]:
    keys: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for level in ("street", "community", "grid"):
        for code, u in units.items():
            if u.level != level:
                continue
            key = _segment(u) if level == "street" else f"{keys[u.parent]}-{_segment(u)}"
            if key in by_key or key in (DISTRICT, "all"):
                raise _row_error(rows[code], f'{code} gets the feed key "{key}" of {by_key.get(key, key)}')
            keys[code] = by_key[key] = key
    return keys


def parse(rows: Iterable[Mapping[str, str]], first_row: int = 2) -> Hierarchy:
    """Validate the rows of a units file (dicts by column name); row numbers count the header as 1.

    >>> h = parse([{"code": "440305001000", "name": "南头街道", "parent": "", "level": "street"},
    ...            {"code": "440305001001", "name": "南头社区", "parent": "440305001000", "level": "community"}])
    >>> feed_key("440305001001", h), name_of("440305001001", h), path_of("440305001001", h)
    ('440305001000-440305001001', '南头社区', ('440305001000', '440305001001'))
    """
    units: dict[str, Unit] = {}
    numbers: dict[str, int] = {}
    district: Unit | None = None
    for row, values in enumerate(rows, start=first_row):
        u = _unit(row, values)
        if u.code in units or (district is not None and u.code == district.code):
            raise _row_error(row, f"duplicate code {u.code} (first on row {numbers[u.code]})")
        numbers[u.code] = row
        if u.level == "district":
            if district is not None:
                raise _row_error(row, f"a second district {u.code} (the first is {district.code})")
            district = u
        units[u.code] = u
    if not any(u.level == "street" for u in units.values()):
        raise UnitsFileError("no street in the file: a hierarchy needs at least one street")
    _check_parents(units, numbers, district.code if district else None)
    _cycle(units, numbers)
    own = {  # the district row's own code (e.g. its 6-digit 区划代码) is an alias of DISTRICT
        c: Unit(c, u.name, DISTRICT, u.level) if u.level == "street" else u
        for c, u in units.items()
        if u.level != "district"
    }
    return Hierarchy(own, _keys(own, numbers), district.name if district else "区指挥中心")


def to_rows(h: Hierarchy) -> list[dict[str, str]]:
    """The rows of a units file for `h` (streets, then each street's communities and grids)."""
    rows = [{"code": DISTRICT, "name": h.district_name, "parent": "", "level": "district"}]
    for u in sorted(h.units.values(), key=lambda u: h.keys[u.code]):
        rows.append(
            {"code": u.code, "name": u.name, "parent": "" if u.parent == DISTRICT else u.parent, "level": u.level}
        )
    return rows


# --- queries: every function takes the hierarchy last (None = the default layout) ---------------
def is_unit(code: str, h: Hierarchy | None = None) -> bool:
    """True for ``district`` and for the codes of the layout's streets, communities and grids."""
    if code == DISTRICT:
        return True
    return code in h.units if h is not None else bool(_PATTERN.match(code))


def kind(code: str, h: Hierarchy | None = None) -> UnitKind:
    """Which level of the hierarchy a code names."""
    if code == DISTRICT:
        return "district"
    if h is not None:
        if code not in h.units:
            raise ValueError(f'Unknown unit code "{code}": not in the units file')
        return h.units[code].level
    if not is_unit(code):
        raise ValueError(f'Unknown unit code "{code}"; expected district, Sxx, Sxx-Cxx or Sxx-Cxx-Gxx')
    return ("street", "community", "grid")[code.count("-")]


def parent(code: str, h: Hierarchy | None = None) -> str:
    """The unit one level up; the district is its own parent (escalation stops there)."""
    if code == DISTRICT:
        return DISTRICT
    kind(code, h)  # validates
    if h is not None:
        return h.units[code].parent
    head, sep, _ = code.rpartition("-")
    return head if sep else DISTRICT


def path_of(code: str, h: Hierarchy | None = None) -> tuple[str, ...]:
    """The codes from the unit's street down to the unit itself (``()`` for the district)."""
    chain: list[str] = []
    while code != DISTRICT:
        chain.append(code)
        code = parent(code, h)
    return tuple(reversed(chain))


def name_of(code: str, h: Hierarchy | None = None) -> str:
    """The unit's Chinese name from the units file; the code itself when there is no name to show."""
    if code == DISTRICT:
        return h.district_name if h is not None else "区指挥中心"
    if h is not None and code in h.units:
        return h.units[code].name
    return code


def feed_key(code: str, h: Hierarchy | None = None) -> str:
    """The name of the unit's feed: its path key (the code itself in the default layout)."""
    if h is None or code == DISTRICT:
        return code
    kind(code, h)  # validates
    return h.keys[code]


def street_of(code: str, h: Hierarchy | None = None) -> str:
    """The street/town that owns a unit (``district`` for the district itself)."""
    if h is None:
        return DISTRICT if code == DISTRICT else code.split("-")[0]
    path = path_of(code, h)
    return path[0] if path else DISTRICT


def community_of(grid_id: str, h: Hierarchy | None = None) -> str:
    """The community of a grid code (any other unit is returned as it is)."""
    return parent(grid_id, h) if kind(grid_id, h) == "grid" else grid_id


def within(code: str, scope: str, h: Hierarchy | None = None) -> bool:
    """True when `code` is `scope` or below it; the district scope covers everything."""
    if scope == DISTRICT:
        return True
    if h is not None:
        return code in h.units and scope in path_of(code, h)
    return code == scope or code.startswith(scope + "-")


def feed_within(feed: str, scope: str, h: Hierarchy | None = None) -> bool:
    """True when the unit feed `feed` (a path key) is the feed of `scope` or of a unit below it."""
    if scope == DISTRICT:
        return True
    if not is_unit(scope, h):
        return False
    key = feed_key(scope, h)
    return feed == key or feed.startswith(key + "-")
