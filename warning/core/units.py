"""Administrative unit codes and their hierarchy (区 → 街镇 → 社区/村 → 网格).

A unit code spells its own ancestry: ``S03`` is a street/town, ``S03-C02`` a community in it,
``S03-C02-G05`` a grid in that community, and ``district`` is the command centre above all.
Deriving the hierarchy from the code (instead of a lookup table) keeps routing and access
checks pure and lets Redis ACL key patterns (``warning:feed:S03*``) express "this unit and the
units below it" directly.
"""

from __future__ import annotations

import re
from typing import Final, Literal

DISTRICT: Final = "district"
UnitKind = Literal["district", "street", "community", "grid"]

_PATTERN: Final = re.compile(r"^S\d{2}(-C\d{2}(-G\d{2,3})?)?$")


def is_unit(code: str) -> bool:
    """True for ``district`` and for well-formed street, community and grid codes."""
    return code == DISTRICT or bool(_PATTERN.match(code))


def kind(code: str) -> UnitKind:
    """Which level of the hierarchy a code names."""
    if code == DISTRICT:
        return "district"
    if not is_unit(code):
        raise ValueError(f'Unknown unit code "{code}"; expected district, Sxx, Sxx-Cxx or Sxx-Cxx-Gxx')
    return ("street", "community", "grid")[code.count("-")]


def parent(code: str) -> str:
    """The unit one level up; the district is its own parent (escalation stops there)."""
    if code == DISTRICT:
        return DISTRICT
    kind(code)  # validates
    head, sep, _ = code.rpartition("-")
    return head if sep else DISTRICT


def street_of(code: str) -> str:
    """The street/town that owns a unit (``district`` for the district itself)."""
    return DISTRICT if code == DISTRICT else code.split("-")[0]


def community_of(grid_id: str) -> str:
    """The community of a grid code."""
    return grid_id.rsplit("-", 1)[0] if kind(grid_id) == "grid" else grid_id


def within(code: str, scope: str) -> bool:
    """True when `code` is `scope` or below it; the district scope covers everything."""
    if scope == DISTRICT:
        return True
    return code == scope or code.startswith(scope + "-")
