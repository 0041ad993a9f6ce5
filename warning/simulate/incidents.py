"""Injected incidents with ground truth, one family per warning type (DESIGN.md §1).

- dynamic: a grid or street suddenly gets many reports of one category within hours
  (讨薪聚集, 堵路, 业主维权, 拉横幅 ...), with headcounts and mass-gathering words;
- pattern: the named seasonal peaks of the calendar (wages before Spring Festival, family
  disputes after long holidays, summer-evening neighbour disputes, property-fee season, Qingming
  land disputes, fishing season) plus a street's weekly market-day peak;
- relational: one person across channels and grids under name/phone/ID variants; many
  complainants against one respondent; a collective petition forming;
- case: individual cases escalating with the 异动指标 (rising repeat contacts, hotline ->
  petition -> higher level, failed mediations, threat words, long open) next to many benign
  cases that settle (kept in the truth as ``negative: true`` so evaluation can count alerts on
  them as false and the case model has labelled negatives).

Every incident keeps references to its drafts; the source numbers are known only after the
district assigns them, so `Incident.truth()` is called at the end of a run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

from warning.core.taxonomy import AlertType, Channel, Level
from warning.simulate import background as bg
from warning.simulate import calendar as cal_mod
from warning.simulate import channels as ch
from warning.simulate.geography import Grid
from warning.simulate.names import Person, PersonFactory, honorific, id_variant, name_variant, phone_variant

DAY: Final = 86_400
HOUR: Final = 3600


@dataclass
class Incident:
    """One injected incident and the drafts that make it up."""

    type: AlertType
    kind: str
    unit: str
    street: str
    category: str | None
    drafts: list[ch.Draft] = field(default_factory=list)
    grid_id: str | None = None
    window: tuple[int, int] | None = None  # pattern peaks: the calendar window, not the records' span
    person_keys: list[str] = field(default_factory=list)
    case_ref: str | None = None
    expected_level: Level | None = None
    notes: str = ""
    negative: bool = False
    incident_id: str = ""

    @property
    def start(self) -> int:
        """Start (epoch seconds): the window start, else the first record."""
        return self.window[0] if self.window else min(d.t for d in self.drafts)

    @property
    def end(self) -> int:
        """End (epoch seconds): the window end, else the last record."""
        return self.window[1] if self.window else max(d.t for d in self.drafts)

    def truth(self) -> dict[str, Any]:
        """The ``truth.jsonl`` line (call after the drafts got their source numbers)."""
        ordered = sorted(self.drafts, key=lambda d: (d.t, ch.CHANNEL_ORDER[d.channel], d.ref))
        return {
            "incident_id": self.incident_id,
            "type": self.type,
            "kind": self.kind,
            "unit": self.unit,
            "street": self.street,
            "grid_id": self.grid_id,
            "category": self.category,
            "start": ch.iso(self.start),
            "end": ch.iso(self.end),
            "source_refs": [d.ref for d in ordered],
            "channels": {c: sum(1 for d in self.drafts if d.channel == c) for c in ("grid", "hotline", "petition")},
            "person_keys": self.person_keys or None,
            "case_ref": self.case_ref,
            "expected_level": self.expected_level,
            "negative": self.negative,
            "notes": self.notes,
        }


class Planner:
    """Plans every incident of a run from its own random stream (background stays unchanged)."""

    def __init__(self, ctx: bg.Context, rng: random.Random, people: PersonFactory) -> None:
        self.ctx = ctx
        self.rng = rng
        self.people = people
        self.t_first = bg.day_start(ctx.first)
        self.t_last = bg.day_start(ctx.last) + DAY  # exclusive
        self.days = (ctx.last - ctx.first).days + 1
        self._case_seq = 0
        self._org_seq = 0

    # ---- helpers -------------------------------------------------------------------------
    def in_range(self, t: int) -> bool:
        """True when `t` falls inside the simulated days."""
        return self.t_first <= t < self.t_last

    def keep(self, inc: Incident) -> Incident | None:
        """Drop drafts outside the run; an incident with none left is dropped."""
        inc.drafts = [d for d in inc.drafts if self.in_range(d.t)]
        if inc.window:
            inc.window = (max(inc.window[0], self.t_first), min(inc.window[1], self.t_last - 1))
        return inc if inc.drafts else None

    def start_day(self, span_days: int) -> date:
        """A start day leaving room for `span_days` when the run is long enough."""
        room = max(0, self.days - 1 - span_days)
        return self.ctx.first + timedelta(days=self.rng.randint(0, room))

    def grid_of_kind(self, category: str, kinds: tuple[str, ...]) -> Grid:
        """A grid of one of `kinds` (by the category's weights), else any grid."""
        among = tuple(g for g in self.ctx.grids if g.kind in kinds)
        return self.ctx.grid_for(category, self.rng, among or None)

    def neighbours(self, grid: Grid, n: int) -> list[Grid]:
        """Up to `n` other grids of the same community (else of the same street)."""
        pool = [g for g in self.ctx.grids if g.community == grid.community and g.code != grid.code]
        if len(pool) < n:
            pool += [g for g in self.ctx.grids if g.street == grid.street and g.code != grid.code and g not in pool]
        return self.rng.sample(pool, min(n, len(pool)))

    def next_workday(self, day: date) -> date:
        """The next day petition offices are open."""
        d = day + timedelta(days=1)
        while not self.ctx.calendar.is_workday(d):
            d += timedelta(days=1)
        return d

    def case_ref(self, year: int) -> str:
        """A mediation case number (调解案号) shared by every record of one case."""
        self._case_seq += 1
        return f"TJ{year}{self._case_seq:05d}"

    def org(self, names: tuple[str, ...]) -> tuple[str, str]:
        """A respondent organisation: (simulator key, name)."""
        self._org_seq += 1
        return f"O{self._org_seq:04d}", self.rng.choice(names)

    # ---- how a known person is written by each channel -------------------------------------
    def as_caller(self, p: Person, vary: float) -> dict[str, str]:
        """A known person calling 12345 (honorific or a variant name; phone often masked/garbled)."""
        rng = self.rng
        name = honorific(p) if rng.random() < 0.5 else (name_variant(p.name, rng)[0] if rng.random() < vary else p.name)
        phone = phone_variant(p.phone, rng)[0] if rng.random() < vary else p.phone
        return ch.person_in("complainant", name, None, phone)

    def as_resident(self, p: Person, vary: float, role: str = "complainant") -> dict[str, str]:
        """A known person in a grid report (name variant, ID number often, sometimes mistyped)."""
        rng = self.rng
        name = name_variant(p.name, rng)[0] if rng.random() < vary else p.name
        idn = (
            (id_variant(p.id_number, rng)[0] if rng.random() < vary * 0.5 else p.id_number)
            if rng.random() < 0.7
            else None
        )
        phone = p.phone if rng.random() < 0.4 else None
        return ch.person_in(role, name, idn, phone)

    def as_petitioner(self, p: Person, vary: float) -> dict[str, str]:
        """A known person registering a petition (real name and ID; a clerk's typo sometimes)."""
        rng = self.rng
        name = name_variant(p.name, rng)[0] if rng.random() < vary * 0.6 else p.name
        idn = id_variant(p.id_number, rng)[0] if rng.random() < vary * 0.4 else p.id_number
        return ch.person_in("complainant", name, idn, p.phone if rng.random() < 0.8 else None)


# ---- dynamic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BurstKind:
    """A kind of local burst and how its records read."""

    category: str
    grid_kinds: tuple[str, ...]
    sub: str
    hours: tuple[int, int]
    headcount: tuple[int, int]
    grid_text: tuple[str, ...]
    hotline_text: tuple[str, ...]
    demand: str
    respondents: tuple[str, ...]
    petitions: bool = True
    spread: bool = False  # calls come from several grids of the community


BURSTS: Final[dict[str, BurstKind]] = {
    "wage_protest": BurstKind(
        "labour",
        ("industrial",),
        "拖欠工资",
        (8, 16),
        (15, 80),
        ("{n}余名工人在{resp}门口聚集讨薪，拉横幅", "工人聚集讨薪，现场约{n}人，情绪激动", "讨薪工人堵住厂门，约{n}人"),
        ("{resp}门口有大量工人聚集讨薪，拉横幅，堵住大门", "工地几十名农民工讨薪，扬言不给钱就堵路"),
        "要求{resp}立即支付拖欠的工资",
        ("鑫源建筑劳务有限公司", "恒达装饰工程有限公司", "金鹏电子厂", "华茂服装加工厂"),
    ),
    "road_block": BurstKind(
        "land",
        ("rural", "sea"),
        "征地补偿",
        (7, 12),
        (20, 100),
        ("村民约{n}人聚集堵路，反对征地补偿方案", "村民堵路阻止施工，约{n}人"),
        ("村口有大量村民聚集堵路，车辆无法通行", "施工现场被村民围堵，双方有推搡"),
        "要求提高征地补偿标准并公开补偿明细",
        ("村委会", "征迁工作组"),
    ),
    "owners_protest": BurstKind(
        "property",
        ("urban",),
        "物业服务",
        (9, 20),
        (15, 60),
        ("业主约{n}人在{resp}聚集维权，拉横幅", "业主聚集，要求更换物业，现场约{n}人"),
        ("小区大量业主聚集在物业门口拉横幅维权", "业主聚集堵住售楼处，要求开发商兑现承诺"),
        "要求{resp}退还多收费用并整改",
        ("佳园物业服务有限公司", "万家物业管理有限公司", "盛世置业有限公司"),
    ),
    "investor_gathering": BurstKind(
        "investor",
        ("urban",),
        "非法集资",
        (9, 17),
        (20, 120),
        ("{n}余名投资人在{resp}聚集，要求兑付", "理财产品暴雷，投资人聚集静坐约{n}人"),
        ("大量投资人聚集在{resp}门口要求退钱，情绪激动", "理财公司老板失联，投资人聚集拉横幅"),
        "要求追回投资款并严惩责任人",
        ("汇金财富管理有限公司", "聚鑫理财咨询公司"),
    ),
    "odor_complaints": BurstKind(
        "environment",
        ("urban", "industrial"),
        "异味污染",
        (19, 23),
        (1, 3),
        ("居民集中反映刺鼻气味", "夜间异味扰民，多户反映"),
        ("小区附近突然出现强烈刺鼻气味，多人头晕", "夜间化工异味，不敢开窗"),
        "要求查处污染源",
        ("化工园区企业",),
        petitions=False,
        spread=True,
    ),
    "medical_gathering": BurstKind(
        "medical",
        ("urban",),
        "医疗纠纷",
        (9, 18),
        (8, 30),
        ("患者家属约{n}人在{resp}聚集，拉横幅", "医闹苗头，家属堵住诊室"),
        ("{resp}门诊大厅有患者家属聚集拉横幅、摆花圈", "医院门口家属聚集，围堵医生"),
        "要求{resp}赔偿并追责",
        ("区人民医院", "仁爱医院"),
    ),
    "sea_clash": BurstKind(
        "sea",
        ("sea",),
        "渔船纠纷",
        (4, 10),
        (10, 40),
        ("两村渔船在作业区发生冲突，约{n}人", "渔民聚集码头，阻止对方渔船靠岸"),
        ("码头有大量渔民聚集对峙，可能发生械斗", "渔船作业纠纷，双方在海上对峙"),
        "要求划定作业区域并赔偿损失",
        ("外村渔船船主",),
    ),
}


def dynamic_burst(pl: Planner, kind_name: str) -> Incident | None:
    """A local burst: many reports of one category in one grid/street within hours."""
    rng, ctx = pl.rng, pl.ctx
    kind = BURSTS[kind_name]
    among = tuple(g for g in ctx.grids if g.kind in kind.grid_kinds)
    if not among:
        return None
    grid = pl.grid_of_kind(kind.category, kind.grid_kinds)
    day = pl.start_day(2)
    t0 = bg.day_start(day) + rng.randint(*kind.hours) * HOUR + rng.randrange(HOUR)
    dur = rng.randint(2, 6) * HOUR
    peak = rng.randint(*kind.headcount)
    resp = rng.choice(kind.respondents)
    inc = Incident("dynamic", kind_name, grid.code, grid.street, kind.category, grid_id=grid.code)
    # grid workers arrive and file updates with rising headcounts
    n_grid = rng.randint(2, 5)
    for i in range(n_grid):
        t = t0 + rng.randint(10, 40) * 60 + i * dur // n_grid
        head = max(1, round(peak * (0.5 + 0.5 * (i + 1) / n_grid)))
        text = rng.choice(kind.grid_text).format(n=head, resp=resp)
        parties = [ch.person_in("reporter", "网格员"), ch.person_in("respondent", resp)]
        sev = "hard" if head >= 30 else "major"
        flags = ["gathering"] if head >= 5 else []
        inc.drafts.append(
            ch.grid_record(rng, t, grid, kind.category, kind.sub, text, parties, head, sev, False, flags=flags)
        )
    # hotline calls from workers, residents and passers-by
    n_calls = rng.randint(6, 12) + (peak // 6 if kind.headcount[1] > 3 else rng.randint(6, 18))
    call_grids = [grid, *pl.neighbours(grid, 3)] if kind.spread else [grid]
    for _ in range(n_calls):
        t = t0 + min(dur, int(rng.expovariate(1 / (dur / 3))))
        p = pl.people.person()
        text = rng.choice(kind.hotline_text).format(resp=resp)
        g = rng.choice(call_grids)
        inc.drafts.append(
            ch.hotline_record(
                rng,
                t,
                g,
                kind.category,
                kind.sub,
                text,
                [ch.caller(p, rng)],
                headcount=peak if kind.headcount[1] > 3 else 1,
                request_type=rng.choice(("report", "complaint", "help")),
                urgent=True,
            )
        )
    # collective visit to the petition office on the next workday
    if kind.petitions and rng.random() < 0.8:
        pday = pl.next_workday(day)
        reps = [pl.people.person() for _ in range(rng.randint(3, 5))]
        inc.person_keys = [p.key for p in reps]
        t = bg.day_start(pday) + rng.randint(9, 11) * HOUR + rng.randrange(HOUR)
        inc.drafts.append(
            ch.petition_record(
                rng,
                t,
                grid,
                kind.category,
                kind.sub,
                kind.demand.format(resp=resp),
                [pl.as_petitioner(p, 0.1) for p in reps] + [ch.person_in("respondent", resp)],
                "visit",
                headcount=max(5, min(peak, rng.randint(8, 30))),
                text="集体访，情绪激动",
            )
        )
    inc.unit = grid.street if kind.spread else grid.code
    inc.expected_level = "red" if peak >= 50 else "orange" if peak >= 20 else "yellow"
    inc.notes = f"peak headcount {peak}; {n_calls} calls within {dur // HOUR} h"
    return pl.keep(inc)


# ---- pattern ---------------------------------------------------------------------------------


def _extra_records(
    pl: Planner,
    inc: Incident,
    category: str,
    days: list[tuple[date, float]],
    grids: tuple[Grid, ...] | None,
    hour_cum: list[float] | None = None,
) -> None:
    """Add records on top of the background: `mult - 1` times the category's usual day."""
    ctx, rng = pl.ctx, pl.rng
    share = 1.0
    if grids is not None:
        cum = ctx.grid_cum[category]
        idx = {g.code: i for i, g in enumerate(ctx.grids)}
        weight = sum(cum[idx[g.code]] - (cum[idx[g.code] - 1] if idx[g.code] else 0.0) for g in grids)
        share = weight / cum[-1] if cum[-1] else 0.0
    for day, mult in days:
        if mult <= 1.0:
            continue
        lam = bg.BASE_DAILY * ctx.scale * bg.SHARE[category] * cal_mod.day_factor(category, day, ctx.calendar)
        workday = ctx.calendar.is_workday(day)
        for channel, mix in zip(bg.CHANNELS, bg.MIX[category], strict=True):
            n = bg.poisson(rng, lam * share * (mult - 1.0) * mix * cal_mod.channel_factor(channel, day, ctx.calendar))
            for _ in range(n):
                grid = ctx.grid_for(category, rng, grids)
                t = bg.draw_time(
                    rng, day, category, office=channel == "petition", cum=hour_cum if channel != "petition" else None
                )
                inc.drafts.append(bg.random_record(ctx, rng, t, grid, category, channel, workday))


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _evening_cum() -> list[float]:
    weights = [0.2] * 24
    for h, w in ((18, 1.5), (19, 3.0), (20, 4.0), (21, 4.0), (22, 2.5), (23, 1.0)):
        weights[h] = w
    return [sum(weights[: i + 1]) for i in range(24)]


def pattern_peaks(pl: Planner) -> list[Incident]:
    """The calendar's named peaks that overlap the run, each with its extra records."""
    ctx, cal = pl.ctx, pl.ctx.calendar
    out: list[Incident] = []

    def add(
        kind: str,
        category: str,
        first: date,
        last: date,
        mult: Any,
        unit: str = "district",
        grids: tuple[Grid, ...] | None = None,
        notes: str = "",
        hour_cum: list[float] | None = None,
        level: Level = "yellow",
    ) -> None:
        if last < ctx.first or first > ctx.last:
            return
        days = [(d, float(mult(d))) for d in _span(max(first, ctx.first), min(last, ctx.last))]
        street = unit if unit != "district" else "district"
        inc = Incident(
            "pattern",
            kind,
            unit,
            street,
            category,
            expected_level=level,
            notes=notes,
            window=(bg.day_start(first), bg.day_start(last) + DAY - 1),
        )
        _extra_records(pl, inc, category, days, grids, hour_cum)
        kept = pl.keep(inc)
        if kept:
            out.append(kept)

    for sf in cal.spring_festivals:
        start = sf - timedelta(days=21)
        add(
            "pre_spring_festival_wages",
            "labour",
            start,
            sf - timedelta(days=1),
            lambda d, s=start: 1.4 + 1.4 * (d - s).days / 20,
            notes="春节前三周讨薪高峰 (wage arrears before 春节)",
            level="orange",
        )
    for end in cal.long_holiday_ends:
        s = end + timedelta(days=1)
        add(
            "post_holiday_family",
            "family",
            s,
            s + timedelta(days=20),
            lambda d, s=s: 2.0 - 0.04 * (d - s).days,
            notes="长假后婚恋家庭纠纷高峰 (after a long holiday)",
        )
    for year in range(ctx.first.year - 1, ctx.last.year + 1):
        add(
            "summer_evening_neighbour",
            "neighbour",
            date(year, 7, 1),
            date(year, 8, 31),
            # a smooth bump peaking in late July (hottest nights), not a step
            lambda d, y=year: 1.0 + 0.5 * math.sin(math.pi * ((d - date(y, 7, 1)).days + 0.5) / 62),
            notes="夏季夜间邻里纠纷高峰 (summer evenings)",
            hour_cum=_evening_cum(),
        )
        add(
            "property_fee_season",
            "property",
            date(year, 12, 1),
            date(year + 1, 1, 15),
            lambda d: 1.6,
            notes="年底物业费收缴季 (property-fee season)",
        )
        qingming = next((d for d, n in cal.holidays.items() if d.year == year and n == "清明节"), None)
        if qingming:
            add(
                "qingming_land",
                "land",
                qingming - timedelta(days=7),
                qingming + timedelta(days=3),
                lambda d: 2.2,
                notes="清明前后坟地/宅基地纠纷 (Qingming)",
            )
        fs, fe = cal.fishing_season
        f_first = date(year, int(fs[:2]), int(fs[3:]))
        f_last = date(year, int(fe[:2]), int(fe[3:]))
        for street in ctx.geography.streets:
            sea = tuple(g for g in street.grids if g.kind == "sea")
            if sea and f_first <= f_last:
                add(
                    "fishing_season_sea",
                    "sea",
                    f_first,
                    f_last,
                    lambda d: 2.5,
                    unit=street.code,
                    grids=sea,
                    notes="捕鱼旺季海事渔业纠纷 (fishing season)",
                )
    # a town's weekly market day: traffic disputes every Saturday morning
    towns = [s for s in ctx.geography.streets if s.kind in ("town", "coastal_town")] or list(ctx.geography.streets)
    town = towns[0]
    saturdays = [d for d in _span(ctx.first, ctx.last) if d.weekday() == 5]
    if saturdays:
        inc = Incident(
            "pattern",
            "weekly_market_traffic",
            town.code,
            town.code,
            "traffic",
            expected_level="blue",
            window=(bg.day_start(saturdays[0]), bg.day_start(saturdays[-1]) + DAY - 1),
            notes="每周六集市交通纠纷 (weekly market day, Saturday mornings)",
        )
        morning = [
            sum(
                (
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.5,
                    2,
                    4,
                    5,
                    5,
                    4,
                    2,
                    0.5,
                    0.2,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                    0.1,
                )[: i + 1]
            )
            for i in range(24)
        ]
        for d in saturdays:
            for _ in range(bg.poisson(pl.rng, 10 * max(ctx.scale, 0.3))):
                grid = ctx.grid_for("traffic", pl.rng, town.grids)
                t = bg.draw_time(pl.rng, d, "traffic", cum=morning)
                channel: Channel = "grid" if pl.rng.random() < 0.45 else "hotline"
                inc.drafts.append(bg.random_record(ctx, pl.rng, t, grid, "traffic", channel))
        kept = pl.keep(inc)
        if kept:
            out.append(kept)
    return out


# ---- relational ------------------------------------------------------------------------------

REL_CATEGORIES: Final = ("debt", "lending", "neighbour", "property", "labour", "family")


def cross_channel_person(pl: Planner) -> Incident | None:
    """One person contacting every channel from several grids, spelled differently each time."""
    rng, ctx = pl.rng, pl.ctx
    cat = rng.choice(REL_CATEGORIES)
    sub = rng.choice(ch.SUBCATEGORIES[cat])
    p = pl.people.person()
    q = pl.people.person()
    home = ctx.grid_for(cat, rng)
    grids = [home, *pl.neighbours(home, rng.randint(1, 2))]
    span = rng.randint(15, 45)
    day = pl.start_day(span)
    t0 = bg.day_start(day)
    n = rng.randint(5, 9)
    extra: list[Channel] = rng.choices(["hotline", "grid", "petition"], [5, 3, 2], k=n - 3)
    chans: list[Channel] = ["hotline", "grid", "petition", *extra]
    rng.shuffle(chans)
    times = sorted(t0 + rng.randrange(span * DAY) for _ in range(n))
    inc = Incident(
        "relational",
        "cross_channel_person",
        home.street,
        home.street,
        cat,
        grid_id=home.code,
        person_keys=[p.key, q.key],
        expected_level="yellow",
    )
    for i, (t, channel) in enumerate(zip(times, chans, strict=True)):
        g = grids[i % len(grids)]
        resp = ch.person_in("respondent", q.name)
        if channel == "hotline":
            t = bg.day_start(_day_of(t)) + 8 * HOUR + rng.randrange(13 * HOUR)
            inc.drafts.append(
                ch.hotline_record(
                    rng,
                    t,
                    g,
                    cat,
                    sub.code,
                    ch.fill(rng.choice(sub.hotline), rng, q.name),
                    [pl.as_caller(p, 0.5), resp],
                    repeat_count=min(i, 3),
                )
            )
        elif channel == "grid":
            t = bg.day_start(_day_of(t)) + 9 * HOUR + rng.randrange(9 * HOUR)
            inc.drafts.append(
                ch.grid_record(
                    rng,
                    t,
                    g,
                    cat,
                    sub.code,
                    ch.fill(rng.choice(sub.grid), rng, q.name),
                    [pl.as_resident(p, 0.5), pl.as_resident(q, 0.3, "respondent")],
                )
            )
        else:
            d = pl.next_workday(_day_of(t) - timedelta(days=1))
            t = bg.day_start(d) + 9 * HOUR + rng.randrange(7 * HOUR)
            inc.drafts.append(
                ch.petition_record(
                    rng,
                    t,
                    g,
                    cat,
                    sub.code,
                    ch.fill(rng.choice(sub.demand), rng, q.name),
                    [pl.as_petitioner(p, 0.5), resp],
                    rng.choice(("visit", "online", "letter")),
                )
            )
    streets = {g.street for g in grids}
    if len(streets) > 1:
        inc.unit = "district"
    inc.notes = f"{n} contacts in {len({g.code for g in grids})} grids over {span} days; names/phones/IDs vary"
    return pl.keep(inc)


def _day_of(t: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + (t + 8 * HOUR) // DAY)


MANY_AGAINST_ONE: Final[dict[str, tuple[str, ...]]] = {
    "labour": ("鑫源建筑劳务有限公司", "恒达装饰工程有限公司", "金鹏电子厂"),
    "property": ("佳园物业服务有限公司", "万家物业管理有限公司"),
    "education": ("启航教育培训学校", "星火艺术培训中心", "动力健身会所"),
    "investor": ("汇金财富管理有限公司", "聚鑫理财咨询公司"),
    "debt": ("宏远建材经营部", "鑫达商贸有限公司"),
}


def _org_variant(name: str, rng: random.Random) -> str:
    """How callers shorten a company name: 鑫源建筑劳务有限公司 -> 鑫源劳务 / 鑫源公司."""
    r = rng.random()
    if r < 0.4:
        return name
    core = name.replace("有限公司", "").replace("管理", "")
    if r < 0.7:
        return core
    return core[:2] + "公司"


def many_against_one(pl: Planner) -> Incident | None:
    """Many complainants against one respondent (a firm) in one street, across channels."""
    rng, ctx = pl.rng, pl.ctx
    cat = rng.choice(tuple(MANY_AGAINST_ONE))
    sub = next((s for s in ch.SUBCATEGORIES[cat] if s.respondents), ch.SUBCATEGORIES[cat][0])
    okey, oname = pl.org(MANY_AGAINST_ONE[cat])
    home = ctx.grid_for(cat, rng)
    grids = [home, *pl.neighbours(home, rng.randint(1, 4))]
    span = rng.randint(10, 35)
    day = pl.start_day(span)
    n_people = rng.randint(8, 25)
    people = [pl.people.person() for _ in range(n_people)]
    inc = Incident(
        "relational",
        "many_against_one",
        home.street,
        home.street,
        cat,
        grid_id=home.code,
        person_keys=[okey, *(p.key for p in people)],
        expected_level="orange" if n_people >= 15 else "yellow",
    )
    for p in people:
        for _ in range(1 if rng.random() < 0.7 else 2):
            g = rng.choice(grids)
            d = day + timedelta(days=rng.randrange(span))
            resp = ch.person_in("respondent", _org_variant(oname, rng))
            r = rng.random()
            if r < 0.6:
                t = bg.draw_time(rng, d, cat)
                inc.drafts.append(
                    ch.hotline_record(
                        rng,
                        t,
                        g,
                        cat,
                        sub.code,
                        ch.fill(rng.choice(sub.hotline), rng, resp["name"]),
                        [pl.as_caller(p, 0.2), resp],
                        request_type="complaint",
                    )
                )
            elif r < 0.85:
                t = bg.draw_time(rng, d, cat)
                inc.drafts.append(
                    ch.grid_record(
                        rng,
                        t,
                        g,
                        cat,
                        sub.code,
                        ch.fill(rng.choice(sub.grid), rng, resp["name"]),
                        [pl.as_resident(p, 0.2), resp],
                    )
                )
            else:
                t = bg.draw_time(rng, pl.next_workday(d - timedelta(days=1)), cat, office=True)
                inc.drafts.append(
                    ch.petition_record(
                        rng,
                        t,
                        g,
                        cat,
                        sub.code,
                        ch.fill(rng.choice(sub.demand), rng, resp["name"]),
                        [pl.as_petitioner(p, 0.2), resp],
                        rng.choice(("online", "visit")),
                    )
                )
    inc.notes = f"{n_people} complainants against one respondent ({okey}) over {span} days"
    return pl.keep(inc)


COLLECTIVE: Final[dict[str, tuple[str, str]]] = {
    "membership": ("出嫁女权益", "要求确认出嫁女集体经济组织成员资格并补发分红"),
    "land": ("征地补偿", "要求按新标准补发征地补偿款"),
    "investor": ("非法集资", "要求政府协调追回集资款"),
    "labour": ("拖欠工资", "要求支付拖欠的工程款和农民工工资"),
}


def collective_petition(pl: Planner) -> Incident | None:
    """A group petitioning one by one, then together (集体访 forming), maybe one level up."""
    rng = pl.rng
    cat = rng.choice(tuple(COLLECTIVE))
    sub_code, demand = COLLECTIVE[cat]
    home = pl.grid_of_kind(cat, ("rural", "sea") if cat in ("membership", "land") else ("urban", "industrial"))
    grids = [home, *pl.neighbours(home, 2)]
    # 出嫁女 claims are brought by women married out of the village
    gender = "F" if cat == "membership" else None
    group = [pl.people.person(gender=gender) for _ in range(rng.randint(5, 14))]
    span = rng.randint(14, 30)
    day = pl.start_day(span + 14)
    inc = Incident(
        "relational",
        "collective_petition",
        home.street,
        home.street,
        cat,
        grid_id=home.code,
        person_keys=[p.key for p in group],
        expected_level="orange",
    )
    for p in group:  # phase 1: individually
        d = day + timedelta(days=rng.randrange(span))
        g = rng.choice(grids)
        if rng.random() < 0.5:
            t = bg.draw_time(rng, pl.next_workday(d - timedelta(days=1)), cat, office=True)
            inc.drafts.append(
                ch.petition_record(
                    rng,
                    t,
                    g,
                    cat,
                    sub_code,
                    demand,
                    [pl.as_petitioner(p, 0.2)],
                    rng.choice(("online", "letter", "visit")),
                )
            )
        else:
            t = bg.draw_time(rng, d, cat)
            inc.drafts.append(
                ch.hotline_record(
                    rng,
                    t,
                    g,
                    cat,
                    sub_code,
                    demand.replace("要求", "来电人要求"),
                    [pl.as_caller(p, 0.2)],
                    request_type="complaint",
                )
            )
    joint = pl.next_workday(day + timedelta(days=span))
    levels = ["district"] + (["city"] if rng.random() < 0.5 else [])
    for k, level in enumerate(levels):
        d = joint if k == 0 else pl.next_workday(joint + timedelta(days=rng.randint(5, 12)))
        t = bg.day_start(d) + 9 * HOUR + rng.randrange(2 * HOUR)
        inc.drafts.append(
            ch.petition_record(
                rng,
                t,
                home,
                cat,
                sub_code,
                demand,
                [pl.as_petitioner(p, 0.2) for p in group],
                "visit",
                headcount=len(group) + rng.randint(0, 10),
                is_repeat=k > 0,
                visit_count=k + 1,
                level=level,
                text="群众集体上访",
                lead_official=True,
            )
        )
    inc.notes = f"{len(group)} petitioners, joint visit at {'/'.join(levels)} level"
    return pl.keep(inc)


# ---- case ------------------------------------------------------------------------------------

CASE_CATEGORIES: Final = ("family", "neighbour", "debt", "labour", "land", "lending", "medical")
THREATS: Final = (
    "扬言报复",
    "称不解决就同归于尽",
    "扬言要跳楼",
    "称要带汽油去讨说法",
    "扬言去北京上访",
    "情绪失控，扬言报复社会",
    "称活不下去了，要跳楼",
)


def escalating_case(pl: Planner) -> Incident | None:
    """One case climbing the 异动指标: more contacts, higher levels, failed mediations, threats."""
    rng, ctx = pl.rng, pl.ctx
    cat = rng.choice(CASE_CATEGORIES)
    sub = rng.choice(ch.SUBCATEGORIES[cat])
    p = pl.people.person()
    q = pl.people.person()
    home = ctx.grid_for(cat, rng)
    extreme = rng.random() < 0.7
    span = rng.randint(30, 100)
    day = pl.start_day(span)
    case_ref = pl.case_ref(day.year)
    n = rng.randint(7, 16)
    # gaps shrink: contacts accelerate towards the end (a 异动 signal)
    gaps = [0.82**i for i in range(n)]
    total = sum(gaps)
    offsets = [sum(gaps[: i + 1]) / total * span * DAY for i in range(n)]
    inc = Incident(
        "case",
        "escalating_extreme" if extreme else "escalating",
        home.code,
        home.street,
        cat,
        grid_id=home.code,
        person_keys=[p.key, q.key],
        case_ref=case_ref,
        expected_level="red" if extreme else "orange",
    )
    failed = 0
    petitions = 0
    max_level = "district"
    threats_used = 0
    last = [0]

    def mono(t: int) -> int:
        # contacts of one case are strictly ordered, so visit and repeat counts rise with time
        t = max(t, last[0] + rng.randint(1800, 4 * HOUR))
        last[0] = t
        return t

    for i, off in enumerate(offsets):
        f = i / (n - 1)
        d = _day_of(bg.day_start(day) + int(off))
        threat = extreme and f >= 0.65 and rng.random() < 0.6
        words = rng.choice(THREATS) if threat else ""
        threats_used += bool(threat)
        resp = ch.person_in("respondent", q.name)
        if f < 0.3:
            stage = rng.choice(("hotline", "hotline", "grid"))
        elif f < 0.6:
            stage = rng.choice(("hotline", "grid", "petition"))
        else:
            stage = rng.choice(("hotline", "petition", "petition", "grid"))
        if stage == "hotline":
            t = mono(bg.draw_time(rng, d, cat))
            text = ch.fill(rng.choice(sub.hotline), rng, q.name) + (
                ("，多次来电未解决" + (f"，{words}" if words else "")) if i else ""
            )
            inc.drafts.append(
                ch.hotline_record(
                    rng,
                    t,
                    home,
                    cat,
                    sub.code,
                    text,
                    [pl.as_caller(p, 0.2), resp],
                    repeat_count=i,
                    request_type="complaint",
                    urgent=f > 0.5,
                    satisfaction="dissatisfied" if i else None,
                    case_ref=case_ref,
                )
            )
        elif stage == "grid":
            failed += 1
            t = mono(bg.draw_time(rng, d, cat, office=True))
            text = ch.fill(rng.choice(sub.grid), rng, q.name, ctx.comm_names.get(home.community, ""))
            text += f"，第{failed}次组织调解未果" + (f"，当事人{words}" if words else "")
            inc.drafts.append(
                ch.grid_record(
                    rng,
                    t,
                    home,
                    cat,
                    sub.code,
                    text,
                    [pl.as_resident(p, 0.2), pl.as_resident(q, 0.1, "respondent")],
                    severity="hard" if words else "major",
                    solved=False,
                    case_ref=case_ref,
                    flags=["threat"] if words else None,
                )
            )
        else:
            petitions += 1
            levels = ["district", "city", "province"] if extreme else ["district", "city"]
            # one level at a time: the n-th petition reaches at most the n-th level
            level = levels[min(petitions - 1, len(levels) - 1, int(f * len(levels)))]
            max_level = max(max_level, level, key=("district", "city", "province").index)
            t = mono(bg.draw_time(rng, pl.next_workday(d - timedelta(days=1)), cat, office=True))
            inc.drafts.append(
                ch.petition_record(
                    rng,
                    t,
                    home,
                    cat,
                    sub.code,
                    ch.fill(rng.choice(sub.demand), rng, q.name) + (f"；{words}" if words else ""),
                    [pl.as_petitioner(p, 0.15), resp],
                    "visit" if f > 0.5 else rng.choice(("online", "visit", "letter")),
                    headcount=1 if rng.random() < 0.8 else rng.randint(2, 3),
                    is_repeat=petitions > 1,
                    visit_count=petitions,
                    level=level,
                    backlog=off > 60 * DAY,
                    lead_official=f > 0.7,
                    text="情绪激动" if words else "",
                    case_ref=case_ref,
                )
            )
    inc.notes = (
        f"as planned: {n} contacts over {span} days, {failed} failed mediations, {petitions} petitions up to "
        f"{max_level}, {threats_used} threat records"
    )
    return pl.keep(inc)


def benign_case(pl: Planner) -> Incident | None:
    """A case that settles: a few contacts, a successful mediation, a satisfied callback."""
    rng, ctx = pl.rng, pl.ctx
    cat = rng.choice(CASE_CATEGORIES)
    sub = rng.choice(ch.SUBCATEGORIES[cat])
    p = pl.people.person()
    q = pl.people.person()
    home = ctx.grid_for(cat, rng)
    span = rng.randint(3, 30)
    day = pl.start_day(span)
    case_ref = pl.case_ref(day.year)
    n = rng.randint(2, 4)
    inc = Incident(
        "case",
        "resolved",
        home.code,
        home.street,
        cat,
        grid_id=home.code,
        person_keys=[p.key, q.key],
        case_ref=case_ref,
        negative=True,
    )
    for i in range(n):
        d = day + timedelta(days=span * i // max(1, n - 1))
        resp = ch.person_in("respondent", q.name)
        if i == n - 1:
            t = bg.draw_time(rng, d, cat, office=True)
            inc.drafts.append(
                ch.grid_record(
                    rng,
                    t,
                    home,
                    cat,
                    sub.code,
                    "经调解双方达成协议，已化解",
                    [pl.as_resident(p, 0.1), pl.as_resident(q, 0.1, "respondent")],
                    severity="minor",
                    solved=True,
                    case_ref=case_ref,
                )
            )
        elif i == 1 and rng.random() < 0.3:
            t = bg.draw_time(rng, pl.next_workday(d - timedelta(days=1)), cat, office=True)
            inc.drafts.append(
                ch.petition_record(
                    rng,
                    t,
                    home,
                    cat,
                    sub.code,
                    ch.fill(rng.choice(sub.demand), rng, q.name),
                    [pl.as_petitioner(p, 0.1), resp],
                    "online",
                    settled=True,
                    case_ref=case_ref,
                )
            )
        else:
            t = bg.draw_time(rng, d, cat)
            inc.drafts.append(
                ch.hotline_record(
                    rng,
                    t,
                    home,
                    cat,
                    sub.code,
                    ch.fill(rng.choice(sub.hotline), rng, q.name),
                    [pl.as_caller(p, 0.1), resp],
                    repeat_count=i,
                    satisfaction="satisfied",
                    case_ref=case_ref,
                )
            )
    inc.notes = f"{n} contacts over {span} days, settled by mediation"
    return pl.keep(inc)


# ---- the plan --------------------------------------------------------------------------------

PER_YEAR: Final[dict[str, int]] = {
    "dynamic": 70,
    "cross_channel_person": 24,
    "many_against_one": 12,
    "collective_petition": 10,
    "escalating_case": 30,
    "benign_case": 120,
}


def plan(pl: Planner, intensity: float = 1.0) -> list[Incident]:
    """Every incident of the run, sorted by start and numbered (DYN-0001, PAT-0001, ...)."""
    rng = pl.rng
    frac = pl.days / 365 * intensity

    def count(key: str, minimum: int = 1) -> int:
        return max(minimum, round(PER_YEAR[key] * frac)) if intensity > 0 else 0

    found: list[Incident | None] = []
    kinds = [k for k, v in BURSTS.items() if any(g.kind in v.grid_kinds for g in pl.ctx.grids)]
    for _ in range(count("dynamic")):
        found.append(dynamic_burst(pl, rng.choice(kinds)))
    found.extend(pattern_peaks(pl) if intensity > 0 else [])
    found.extend(cross_channel_person(pl) for _ in range(count("cross_channel_person")))
    found.extend(many_against_one(pl) for _ in range(count("many_against_one")))
    found.extend(collective_petition(pl) for _ in range(count("collective_petition")))
    found.extend(escalating_case(pl) for _ in range(count("escalating_case")))
    found.extend(benign_case(pl) for _ in range(count("benign_case", 2)))
    incidents = sorted((i for i in found if i is not None), key=lambda i: (i.start, i.type, i.kind, i.unit))
    prefix = {"dynamic": "DYN", "pattern": "PAT", "relational": "REL", "case": "CASE"}
    seq: dict[str, int] = {}
    for inc in incidents:
        seq[inc.type] = seq.get(inc.type, 0) + 1
        inc.incident_id = f"{prefix[inc.type]}-{seq[inc.type]:04d}"
    return incidents
