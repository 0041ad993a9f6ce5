"""Injected incidents with ground truth, one family per warning type (DESIGN.md §1).

- dynamic: a grid or street gets more reports of one grievance than usual: a ``burst``
  (many records within hours), a ``small_burst``, a ``partial`` burst only one channel saw,
  an ``odour``-type burst (households calling about a smell or noise, nobody gathering) and a
  ``slow_rise`` over days. Their records are built like ordinary ones (`background.random_record`)
  and state a headcount or use a tension phrase only as often as the difficulty says;
- pattern: the named seasonal peaks of the calendar (wages before Spring Festival, family
  disputes after long holidays, summer-evening neighbour disputes, property-fee season, Qingming
  land disputes, fishing season) plus a street's weekly market day, one truth line per
  occurrence (per year, per holiday, per Saturday);
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
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

from warning.core.taxonomy import AlertType, Channel, Level
from warning.simulate import background as bg
from warning.simulate import calendar as cal_mod
from warning.simulate import channels as ch
from warning.simulate import vocabulary as vocab
from warning.simulate.difficulty import KINDS
from warning.simulate.geography import Grid, Street
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
    scenario: str = ""  # what a dynamic incident is about (wage_protest, chemical_odour, ...)
    clipped: bool = False  # its calendar window began before the run (only part of it is in the data)

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
            "scenario": self.scenario or None,
            "clipped": self.clipped,
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
        if inc.window and inc.window[0] < self.t_first:
            inc.clipped = True
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
class Scenario:
    """What a local incident is about and where it happens; its records read like ordinary ones."""

    category: str
    grid_kinds: tuple[str, ...]
    sub: str
    hours: tuple[int, int]  # hour range in which it starts
    spread: bool = False  # records come from several grids of a community (unit = the street)


# bursts: many people, one grievance, one place, within hours
SCENARIOS: Final[dict[str, Scenario]] = {
    "wage_protest": Scenario("labour", ("industrial",), "拖欠工资", (8, 16)),
    "land_compensation": Scenario("land", ("rural", "sea"), "征地补偿", (7, 12)),
    "owners_protest": Scenario("property", ("urban",), "物业服务", (9, 20)),
    "investor_run": Scenario("investor", ("urban",), "非法集资", (9, 17)),
    "medical_dispute": Scenario("medical", ("urban",), "医疗纠纷", (9, 18)),
    "sea_clash": Scenario("sea", ("sea",), "渔船纠纷", (4, 10)),
    "training_refund": Scenario("education", ("urban",), "校外培训退费", (9, 19)),
}
# odour-type bursts: many households call about one nuisance; nobody gathers
NUISANCES: Final[dict[str, Scenario]] = {
    "chemical_odour": Scenario("environment", ("urban", "industrial"), "异味污染", (19, 23), spread=True),
    "night_construction": Scenario("environment", ("urban",), "噪声污染", (20, 23), spread=True),
    "restaurant_fumes": Scenario("environment", ("urban",), "餐饮油烟", (11, 19)),
}
# slow rises: a problem that grows over days or weeks (a failing firm, a broken lift, a site)
SLOW_RISES: Final[dict[str, Scenario]] = {
    "firm_in_arrears": Scenario("labour", ("industrial",), "拖欠工资", (8, 17)),
    "lift_out_of_service": Scenario("property", ("urban",), "物业服务", (8, 21)),
    "construction_noise": Scenario("environment", ("urban",), "噪声污染", (8, 23)),
    "school_closing": Scenario("education", ("urban",), "校外培训退费", (8, 20)),
    "illegal_building": Scenario("building", ("rural", "urban"), "违法建设", (8, 18)),
    "investor_drip": Scenario("investor", ("urban",), "非法集资", (8, 18)),
}


def _sub(sc: Scenario) -> ch.Sub:
    return next(s for s in ch.SUBCATEGORIES[sc.category] if s.code == sc.sub)


def _possible(pool: dict[str, Scenario], grids: tuple[Grid, ...]) -> list[str]:
    return [n for n, sc in pool.items() if any(g.kind in sc.grid_kinds for g in grids)]


def dynamic_incident(pl: Planner, kind: str) -> Incident | None:
    """One dynamic incident of `kind` (difficulty.KINDS) in a scenario the geography allows."""
    pool = SLOW_RISES if kind == "slow_rise" else NUISANCES if kind == "odour" else SCENARIOS
    names = _possible(pool, pl.ctx.grids)
    if not names:
        return None
    name = pl.rng.choice(names)
    if kind == "slow_rise":
        return slow_rise(pl, name, pool[name])
    return burst(pl, kind, name, pool[name])


def _office_time(pl: Planner, t: int) -> int:
    """`t` if the petition office is open then, else the next opening morning."""
    day = _day_of(t)
    hour = (t - bg.day_start(day)) // HOUR
    if pl.ctx.calendar.is_workday(day) and 8 <= hour < 17:
        return t
    d = pl.next_workday(day)
    return bg.day_start(d) + pl.rng.randint(9, 11) * HOUR + pl.rng.randrange(HOUR)


def _burst_voice(pl: Planner, peak: int, quiet: bool) -> vocab.Voice:
    """A burst record's voice: sometimes a headcount, sometimes a tension phrase (knobs)."""
    if quiet:
        return vocab.Voice()
    rng, t = pl.rng, pl.ctx.tuning
    head = max(2, round(peak * rng.uniform(0.3, 1.0))) if rng.random() < t.headcount_p else 1
    return vocab.Voice(head, rng.random() < t.keyword_p)


def burst(pl: Planner, kind: str, name: str, sc: Scenario) -> Incident | None:
    """Records of one grievance in one grid (or around it) within hours.

    ``burst`` and ``small_burst`` differ in size; ``partial`` is a burst only one channel
    saw, and only part of; ``odour`` bursts never state a crowd or use tension words.
    """
    rng, ctx, t = pl.rng, pl.ctx, pl.ctx.tuning
    grid = pl.grid_of_kind(sc.category, sc.grid_kinds)
    sub = _sub(sc)
    n = rng.randint(*(t.small_burst_records if kind == "small_burst" else t.burst_records))
    day = pl.start_day(2)
    t0 = bg.day_start(day) + rng.randint(*sc.hours) * HOUR + rng.randrange(HOUR)
    dur = int(rng.uniform(*t.burst_hours) * HOUR)
    peak = vocab.log_uniform(rng, *t.peak_headcount)
    resp = rng.choice(sub.respondents) if sub.respondents else None
    grids = [grid, *pl.neighbours(grid, 3)] if sc.spread else [grid]
    mix = list(t.channel_mix)
    if kind == "odour":
        mix[2] = 0.0  # nobody petitions about one night's smell
    only: Channel | None = None
    if kind == "partial":
        only = rng.choices(bg.CHANNELS[:2], weights=mix[:2])[0]
        n = max(2, round(n * t.partial_keep))
    inc = Incident(
        "dynamic", kind, grid.street if sc.spread else grid.code, grid.street, sc.category, grid_id=grid.code
    )
    inc.scenario = name
    for _ in range(n):
        channel: Channel = only or rng.choices(bg.CHANNELS, weights=mix)[0]
        at = t0 + int(dur * rng.betavariate(2.0, 3.0))  # builds up fast, tails off
        if channel == "petition":
            at = _office_time(pl, at)
        voice = _burst_voice(pl, peak, quiet=kind == "odour")
        g = rng.choice(grids)
        workday = ctx.calendar.is_workday(_day_of(at))
        inc.drafts.append(
            bg.random_record(ctx, rng, at, g, sc.category, channel, workday, sub=sub, resp=resp, voice=voice)
        )
    if kind in ("small_burst", "partial"):
        inc.expected_level = "blue"
    else:
        inc.expected_level = "red" if n >= 20 and peak >= 50 else "orange" if n >= 20 or peak >= 50 else "yellow"
    by = Counter(d.channel for d in inc.drafts)
    inc.notes = f"{name}: {n} records {dict(sorted(by.items()))} over {dur / HOUR:.1f} h, peak {peak} people"
    return pl.keep(inc)


def slow_rise(pl: Planner, name: str, sc: Scenario) -> Incident | None:
    """A grid's records of one grievance rising day by day, from nothing to a few a day."""
    rng, ctx, t = pl.rng, pl.ctx, pl.ctx.tuning
    grid = pl.grid_of_kind(sc.category, sc.grid_kinds)
    sub = _sub(sc)
    resp = rng.choice(sub.respondents) if sub.respondents else None
    days = rng.randint(*t.slow_rise_days)
    top = rng.uniform(*t.slow_rise_peak)
    first = pl.start_day(days)
    window = (bg.day_start(first), bg.day_start(first + timedelta(days=days)) - 1)
    inc = Incident("dynamic", "slow_rise", grid.code, grid.street, sc.category, grid_id=grid.code, window=window)
    inc.scenario = name
    for i in range(days):
        d = first + timedelta(days=i)
        workday = ctx.calendar.is_workday(d)
        for _ in range(bg.poisson(rng, top * (i + 1) / days)):
            channel: Channel = rng.choices(bg.CHANNELS, weights=bg.MIX[sc.category])[0]
            at = bg.draw_time(rng, d, sc.category, office=channel == "petition")
            # ordinary people writing one by one: the background's voice
            inc.drafts.append(bg.random_record(ctx, rng, at, grid, sc.category, channel, workday, sub=sub, resp=resp))
    inc.expected_level = "blue"
    inc.notes = f"{name}: {len(inc.drafts)} records rising over {days} days to ~{top:.1f}/day"
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
        f_first, f_last = cal_mod.span_in_year(year, cal.fishing_season)
        for street in ctx.geography.streets:
            sea = tuple(g for g in street.grids if g.kind == "sea")
            if sea:
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
    # a town's weekly market day: traffic disputes every Saturday morning, one truth line per market day
    towns = [s for s in ctx.geography.streets if s.kind in ("town", "coastal_town")] or list(ctx.geography.streets)
    out.extend(_market_days(pl, towns[0]))
    return out


_MARKET_MORNING: Final = (0.1,) * 5 + (0.5, 2, 4, 5, 5, 4, 2, 0.5, 0.2) + (0.1,) * 10
_MARKET_CUM: Final = [sum(_MARKET_MORNING[: i + 1]) for i in range(24)]


def _market_days(pl: Planner, town: Street) -> list[Incident]:
    ctx = pl.ctx
    out = []
    for d in (d for d in _span(ctx.first, ctx.last) if d.weekday() == 5):
        inc = Incident(
            "pattern",
            "weekly_market_traffic",
            town.code,
            town.code,
            "traffic",
            expected_level="blue",
            window=(bg.day_start(d), bg.day_start(d) + DAY - 1),
            notes="周六集市交通纠纷 (market day, Saturday morning)",
        )
        for _ in range(bg.poisson(pl.rng, 10 * max(ctx.scale, 0.3))):
            grid = ctx.grid_for("traffic", pl.rng, town.grids)
            t = bg.draw_time(pl.rng, d, "traffic", cum=_MARKET_CUM)
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
    weights = pl.ctx.tuning.kinds
    for _ in range(count("dynamic")):
        found.append(dynamic_incident(pl, rng.choices(KINDS, weights=weights)[0]))
    found.extend(pattern_peaks(pl) if intensity > 0 else [])
    found.extend(cross_channel_person(pl) for _ in range(count("cross_channel_person")))
    found.extend(many_against_one(pl) for _ in range(count("many_against_one")))
    found.extend(collective_petition(pl) for _ in range(count("collective_petition")))
    from warning.simulate.cases import case_histories  # imports this module: import here

    found.extend(case_histories(pl, frac) if intensity > 0 else [])
    incidents = sorted((i for i in found if i is not None), key=lambda i: (i.start, i.type, i.kind, i.unit))
    prefix = {"dynamic": "DYN", "pattern": "PAT", "relational": "REL", "case": "CASE"}
    seq: dict[str, int] = {}
    for inc in incidents:
        seq[inc.type] = seq.get(inc.type, 0) + 1
        inc.incident_id = f"{prefix[inc.type]}-{seq[inc.type]:04d}"
    return incidents
