"""A synthetic district: streets/towns, communities/villages, grids with populations.

Shaped after reference/domain.md §3 (Binhai: 21 街镇, ~740 grids; a Guangxi district: 345 grids;
Dongtou: an island district with sea-area grids). Codes follow `warning.core.units`
(``S03``, ``S03-C02``, ``S03-C02-G05``) so ingest accepts every record; Chinese names go to
``geography.json`` for people reading the output. Grid kinds decide which disputes a grid
produces: industrial parks produce wage disputes, villages land and membership disputes,
residential compounds property disputes, sea grids fishing disputes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Final, Literal

GridKind = Literal["urban", "rural", "industrial", "sea"]
StreetKind = Literal["street", "town", "dev_zone", "coastal_town"]

DISTRICT_NAME: Final = "滨海示范区"

STREET_NAMES: Final[tuple[str, ...]] = (
    "东屏",
    "海滨",
    "新港",
    "北塘",
    "胡家园",
    "大沽",
    "杭州道",
    "新河",
    "寨上",
    "古林",
    "迎宾",
    "新城",
    "泰丰",
    "中心",
    "茶淀",
    "福州道",
    "向阳",
    "新村",
    "春晖",
    "金海",
    "长征",
    "龙湖",
)
TOWN_NAMES: Final[tuple[str, ...]] = (
    "太平",
    "小王庄",
    "中塘",
    "杨家泊",
    "大门",
    "鹿西",
    "霞关",
    "双桥",
    "南堡",
    "北涧",
    "三甲",
)
COASTAL_TOWN_NAMES: Final[tuple[str, ...]] = ("渔港", "东沙", "元觉", "半屏", "鹿栖", "北岙")
DEV_ZONE_NAMES: Final[tuple[str, ...]] = ("经济技术开发区", "临港工业区", "高新技术产业园区")
COMMUNITY_WORDS: Final = (
    "锦绣",
    "阳光",
    "幸福",
    "和平",
    "滨海",
    "金港",
    "福苑",
    "康乐",
    "翠湖",
    "丽景",
    "春华",
    "紫云",
    "欣嘉",
    "馨园",
    "海韵",
    "安泰",
    "盛世",
    "桂花",
    "蓝湾",
    "玉兰",
    "柳林",
    "明珠",
    "新华",
    "朝阳",
    "贻成",
    "宁康",
    "万科",
    "泰达",
    "枫叶",
    "金色",
    "御景",
    "君临",
    "东湖",
    "西园",
    "南苑",
    "北辰",
)
VILLAGE_WORDS: Final = (
    "王家",
    "李庄",
    "东沟",
    "后洋",
    "前岭",
    "大王",
    "小刘",
    "张家窝",
    "西堡",
    "北寨",
    "南洼",
    "马头",
    "石桥",
    "杨柳",
    "高庄",
    "朱家",
    "沙井",
    "黄泥",
    "荷花",
    "桃园",
    "三合",
    "新立",
    "白塘",
    "井冈",
)
SEA_WORDS: Final = ("渔港", "海岙", "沙头", "东礁", "西岙", "大鱼山", "小门", "洞头", "鹿栖")


@dataclass(frozen=True, slots=True)
class Grid:
    """One grid (网格): the unit grid workers patrol and the dynamic detector keys on."""

    code: str
    name: str
    kind: GridKind
    population: int
    street: str
    community: str


@dataclass(frozen=True, slots=True)
class Community:
    """A 社区 (urban) or 村 (rural/fishing) with its grids."""

    code: str
    name: str
    grids: tuple[Grid, ...]


@dataclass(frozen=True, slots=True)
class Street:
    """A 街道/镇/开发区 with its communities."""

    code: str
    name: str
    kind: StreetKind
    communities: tuple[Community, ...]

    @property
    def grids(self) -> tuple[Grid, ...]:
        """Every grid of the street, in code order."""
        return tuple(g for c in self.communities for g in c.grids)


@dataclass(frozen=True, slots=True)
class Geography:
    """The whole district."""

    name: str
    streets: tuple[Street, ...]

    @property
    def grids(self) -> tuple[Grid, ...]:
        """Every grid of the district, in code order."""
        return tuple(g for s in self.streets for g in s.grids)

    def street(self, code: str) -> Street:
        """The street with this code."""
        for s in self.streets:
            if s.code == code:
                return s
        raise KeyError(code)

    def unit_rows(self) -> list[dict[str, str]]:
        """Rows of the ``units.csv`` written beside the data (what ``warning units load`` reads)."""
        rows = [{"code": "district", "name": self.name, "parent": "", "level": "district"}]
        for s in self.streets:
            rows.append({"code": s.code, "name": s.name, "parent": "", "level": "street"})
            for c in s.communities:
                rows.append({"code": c.code, "name": c.name, "parent": s.code, "level": "community"})
                rows.extend({"code": g.code, "name": g.name, "parent": c.code, "level": "grid"} for g in c.grids)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON written to ``geography.json``."""
        return {
            "district": {"code": "district", "name": self.name},
            "streets": [
                {
                    "code": s.code,
                    "name": s.name,
                    "kind": s.kind,
                    "population": sum(g.population for g in s.grids),
                    "communities": [
                        {
                            "code": c.code,
                            "name": c.name,
                            "grids": [
                                {"code": g.code, "name": g.name, "kind": g.kind, "population": g.population}
                                for g in c.grids
                            ],
                        }
                        for c in s.communities
                    ],
                }
                for s in self.streets
            ],
        }


def _street_kinds(n: int, rng: random.Random, sea: bool) -> list[StreetKind]:
    """Mostly urban 街道, a third rural 镇, one or two development zones, coastal towns if `sea`."""
    kinds: list[StreetKind] = ["dev_zone"] * (1 if n < 14 else 2)
    if sea:
        kinds += ["coastal_town"] * max(1, n // 7)
    kinds += ["town"] * max(1, n // 3)
    kinds += ["street"] * (n - len(kinds))
    kinds = kinds[:n]
    rng.shuffle(kinds)
    return kinds


def _population(kind: GridKind, rng: random.Random) -> int:
    # lognormal around typical grid sizes (300-500 households in towns, fewer in villages)
    median = {"urban": 2600, "rural": 1100, "industrial": 3500, "sea": 500}[kind]
    return max(80, round(median * math.exp(rng.gauss(0.0, 0.35))))


def build(rng: random.Random, n_streets: int | None = None, n_grids: int | None = None, sea: bool = True) -> Geography:
    """Lay out a district; sizes default to seeded draws within domain.md's ranges."""
    n_streets = n_streets if n_streets is not None else rng.randint(9, 21)
    n_grids = n_grids if n_grids is not None else rng.randint(300, 750)
    if not 1 <= n_streets <= 99:
        raise ValueError(f"streets must be in 1..99, got {n_streets}")
    if n_grids < n_streets:
        raise ValueError(f"need at least one grid per street: grids={n_grids} < streets={n_streets}")
    kinds = _street_kinds(n_streets, rng, sea)
    # grids per street: proportional to random sizes, each street at least one grid
    sizes = [rng.uniform(0.6, 1.6) * (0.7 if k in ("town", "coastal_town") else 1.0) for k in kinds]
    per_street = [max(1, int(n_grids * s / sum(sizes))) for s in sizes]
    i = 0
    while sum(per_street) < n_grids:
        per_street[i % n_streets] += 1
        i += 1
    while sum(per_street) > n_grids:
        j = max(range(n_streets), key=lambda k: per_street[k])
        per_street[j] -= 1
    street_names = rng.sample(STREET_NAMES, len(STREET_NAMES))
    town_names = rng.sample(TOWN_NAMES, len(TOWN_NAMES))
    coast_names = rng.sample(COASTAL_TOWN_NAMES, len(COASTAL_TOWN_NAMES))
    zone_names = list(DEV_ZONE_NAMES)
    streets: list[Street] = []
    for si, (kind, n_g) in enumerate(zip(kinds, per_street, strict=True), start=1):
        code = f"S{si:02d}"
        if kind == "dev_zone" and zone_names:
            name = zone_names.pop(0)
        elif kind == "coastal_town" and coast_names:
            name = coast_names.pop(0) + "镇"
        elif kind in ("town", "coastal_town") and town_names:
            name = town_names.pop(0) + ("乡" if rng.random() < 0.2 else "镇")
        else:
            name = (street_names.pop(0) if street_names else f"第{si}") + "街道"
        streets.append(Street(code, name, kind, _communities(code, kind, n_g, rng)))
    return Geography(DISTRICT_NAME, tuple(streets))


def _grid_kind(street_kind: StreetKind, rural_community: bool, rng: random.Random) -> GridKind:
    r = rng.random()
    if street_kind == "dev_zone":
        return "industrial" if r < 0.7 else "urban"
    if street_kind == "coastal_town":
        return "sea" if r < 0.45 else ("rural" if r < 0.85 else "urban")
    if street_kind == "town":
        return "rural" if rural_community or r < 0.3 else ("industrial" if r < 0.5 else "urban")
    return "industrial" if r < 0.08 else "urban"


def _communities(street: str, kind: StreetKind, n_grids: int, rng: random.Random) -> tuple[Community, ...]:
    per_comm = {"street": 6, "dev_zone": 8, "town": 4, "coastal_town": 4}[kind]
    n_comm = max(1, min(99, round(n_grids / per_comm)))
    counts = [n_grids // n_comm + (1 if i < n_grids % n_comm else 0) for i in range(n_comm)]
    rural = kind in ("town", "coastal_town")
    words = list(VILLAGE_WORDS if rural else COMMUNITY_WORDS)
    rng.shuffle(words)
    comms: list[Community] = []
    for ci, n in enumerate(counts, start=1):
        ccode = f"{street}-C{ci:02d}"
        village = rural and rng.random() < 0.8
        word = words[(ci - 1) % len(words)] + ("" if ci <= len(words) else str(ci))
        if kind == "coastal_town" and rng.random() < 0.5:
            word = rng.choice(SEA_WORDS) + ("" if ci == 1 else str(ci))
        cname = word + ("村" if village else "社区")
        grids = []
        for gi in range(1, n + 1):
            gkind = _grid_kind(kind, village, rng)
            gname = f"{cname}{'海上' if gkind == 'sea' else ''}第{gi}网格"
            grids.append(Grid(f"{ccode}-G{gi:02d}", gname, gkind, _population(gkind, rng), street, ccode))
        comms.append(Community(ccode, cname, tuple(grids)))
    return tuple(comms)
