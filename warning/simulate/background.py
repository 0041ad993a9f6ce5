"""Ordinary daily disputes: the background every detector must not alarm on.

Rates are per category (share of a district-wide daily volume), shaped by the structural
rhythms of `warning.simulate.calendar` (hour, weekday, month, holidays) and split over the
three channels with a category-specific mix (land and investor disputes go to petitions far
more than noise complaints do). Grids are drawn by population times a grid-kind affinity
(industrial parks -> wages, villages -> land, sea grids -> fishing).

Ordinary records are not all quiet: a share of them states a group or uses a tension phrase
(`warning.simulate.vocabulary`), and collective petitions (集体访) of 5-30 people arrive
without any incident, at the rates of the run's difficulty. `random_record` is also how
incidents write their records, so both read alike.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Final

from warning.core.taxonomy import CATEGORIES, Channel
from warning.simulate import calendar as cal_mod
from warning.simulate import channels as ch
from warning.simulate import vocabulary as vocab
from warning.simulate.difficulty import PRESETS, Difficulty
from warning.simulate.geography import Geography, Grid
from warning.simulate.names import Person, PersonFactory

# Default district-wide volume at scale 1 (records/day before calendar effects): realistic for
# a mid-sized district's three channels yet small enough for a year to generate in seconds.
BASE_DAILY: Final = 1700.0

SHARE: Final[dict[str, float]] = {
    "neighbour": 0.19,
    "family": 0.11,
    "debt": 0.06,
    "lending": 0.04,
    "labour": 0.10,
    "property": 0.14,
    "land": 0.04,
    "building": 0.06,
    "environment": 0.06,
    "medical": 0.03,
    "education": 0.03,
    "investor": 0.015,
    "membership": 0.015,
    "sea": 0.02,
    "traffic": 0.05,
    "other": 0.02,
}
# (grid, hotline, petition) share of a category's records
MIX: Final[dict[str, tuple[float, float, float]]] = {
    "neighbour": (0.55, 0.40, 0.05),
    "family": (0.50, 0.40, 0.10),
    "debt": (0.30, 0.50, 0.20),
    "lending": (0.20, 0.50, 0.30),
    "labour": (0.30, 0.50, 0.20),
    "property": (0.25, 0.65, 0.10),
    "land": (0.35, 0.25, 0.40),
    "building": (0.60, 0.35, 0.05),
    "environment": (0.30, 0.65, 0.05),
    "medical": (0.20, 0.55, 0.25),
    "education": (0.15, 0.70, 0.15),
    "investor": (0.10, 0.40, 0.50),
    "membership": (0.40, 0.20, 0.40),
    "sea": (0.70, 0.20, 0.10),
    "traffic": (0.40, 0.55, 0.05),
    "other": (0.40, 0.50, 0.10),
}
# grid-kind affinity per category (missing = 1.0)
AFFINITY: Final[dict[str, dict[str, float]]] = {
    "industrial": {
        "labour": 4.0,
        "environment": 2.0,
        "traffic": 1.5,
        "family": 0.5,
        "property": 0.3,
        "land": 0.3,
        "membership": 0.1,
        "sea": 0.0,
        "education": 0.5,
    },
    "urban": {
        "property": 1.6,
        "neighbour": 1.2,
        "education": 1.3,
        "medical": 1.2,
        "investor": 1.3,
        "land": 0.3,
        "membership": 0.05,
        "sea": 0.0,
    },
    "rural": {
        "land": 2.5,
        "membership": 3.0,
        "building": 1.5,
        "family": 1.1,
        "property": 0.2,
        "sea": 0.0,
        "investor": 0.6,
    },
    "sea": {"sea": 25.0, "land": 1.0, "membership": 1.5, "property": 0.1, "education": 0.3},
}
CHANNELS: Final[tuple[Channel, ...]] = ("grid", "hotline", "petition")
# categories whose grievances are shared by many people, weighted (collective petitions)
COLLECTIVE_SHARE: Final[dict[str, float]] = {
    "land": 3.0,
    "membership": 2.0,
    "labour": 3.0,
    "investor": 1.5,
    "property": 2.0,
    "building": 1.0,
    "education": 1.0,
    "environment": 1.0,
}


@dataclass
class Context:
    """Everything generators share: geography, calendar, rngs, person factories, weights."""

    geography: Geography
    calendar: cal_mod.Calendar
    first: date
    last: date
    scale: float
    rng: random.Random
    people: PersonFactory
    tuning: Difficulty = field(default_factory=lambda: PRESETS["realistic"])
    grid_cum: dict[str, list[float]] = field(default_factory=dict)
    grids: tuple[Grid, ...] = ()
    comm_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.grids = self.geography.grids
        for cat in CATEGORIES:
            total = 0.0
            cum = []
            for g in self.grids:
                total += g.population * AFFINITY[g.kind].get(cat, 1.0)
                cum.append(total)
            self.grid_cum[cat] = cum
        self.comm_names = {c.code: c.name for s in self.geography.streets for c in s.communities}

    def grid_for(self, category: str, rng: random.Random, among: tuple[Grid, ...] | None = None) -> Grid:
        """A grid drawn by population x affinity, optionally among a subset (one street)."""
        if among is not None:
            weights = [g.population * AFFINITY[g.kind].get(category, 1.0) + 1e-9 for g in among]
            return rng.choices(among, weights=weights)[0]
        cum = self.grid_cum[category]
        if cum[-1] <= 0:
            return rng.choice(self.grids)
        return self.grids[bisect.bisect_right(cum, rng.random() * cum[-1])]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth below 30, a rounded normal above: plenty for simulation)."""
    if lam <= 0:
        return 0
    if lam >= 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


_HOURS: Final = list(range(24))
_HOUR_CUM: Final[dict[str, list[float]]] = {
    cat: [sum(prof[: i + 1]) for i in range(24)] for cat, prof in cal_mod.HOUR_PROFILE.items()
}
# offices (petition bureau, mediation rooms) work 08:00-18:00: nothing registered at night
_OFFICE_ONLY: Final = [w if 8 <= h < 18 else 0.0 for h, w in enumerate(cal_mod.OFFICE)]
_OFFICE_CUM: Final = [sum(_OFFICE_ONLY[: i + 1]) for i in range(24)]


def day_start(day: date) -> int:
    """Epoch seconds of 00:00 Asia/Shanghai on `day`."""
    return ch.epoch(datetime.combine(day, time(0), ch.TZ))


def draw_time(
    rng: random.Random, day: date, category: str, office: bool = False, cum: list[float] | None = None
) -> int:
    """A time on `day` following the category's (or office-hours) hourly profile."""
    weights = cum or (_OFFICE_CUM if office else _HOUR_CUM[category])
    hour = bisect.bisect_right(weights, rng.random() * weights[-1])
    return day_start(day) + min(hour, 23) * 3600 + rng.randrange(3600)


def random_record(
    ctx: Context,
    rng: random.Random,
    t: int,
    grid: Grid,
    category: str,
    channel: Channel,
    workday: bool = True,
    *,
    sub: ch.Sub | None = None,
    resp: str | None = None,
    voice: vocab.Voice | None = None,
) -> ch.Draft:
    """One record of `category` in `grid` through `channel`, with fresh people.

    Background calls leave `sub`, `resp` and `voice` out (drawn here, the voice at the
    background rates); incidents pin the subcategory, the respondent and the voice and get
    records that are otherwise built exactly like ordinary ones.
    """
    sub = sub or rng.choice(ch.SUBCATEGORIES[category])
    pool = (resp,) if resp else sub.respondents
    resp_name = rng.choice(pool) if pool and rng.random() < 0.5 else ""
    if voice is None:
        voice = vocab.background_voice(rng, ctx.tuning.bg_headcount_p, ctx.tuning.bg_keyword_p)
    person = ctx.people.person()
    place = ctx.comm_names.get(grid.community, "")
    if channel == "grid":
        return _grid(ctx, rng, t, grid, category, sub, resp_name, place, voice, person)
    if channel == "hotline":
        parties = [ch.caller(person, rng)]
        if resp_name:
            parties.append(ch.person_in("respondent", resp_name))
        repeat = 0 if rng.random() < 0.86 else rng.randint(1, 3)
        sat = ch.pick(rng, (("", 0.6), ("satisfied", 0.3), ("neutral", 0.06), ("dissatisfied", 0.04)))
        text = vocab.compose(rng, "hotline", category, ch.fill(rng.choice(sub.hotline), rng, resp_name), voice)
        return ch.hotline_record(
            rng,
            t,
            grid,
            category,
            sub.code,
            text,
            parties,
            headcount=voice.headcount,
            repeat_count=repeat,
            satisfaction=sat or None,
            loud=voice.loud,
        )
    return _petition(ctx, rng, t, grid, category, sub, resp_name, voice, person, workday)


def _grid(
    ctx: Context,
    rng: random.Random,
    t: int,
    grid: Grid,
    category: str,
    sub: ch.Sub,
    resp_name: str,
    place: str,
    voice: vocab.Voice,
    person: Person,
) -> ch.Draft:
    parties = [ch.complainant_grid(person, rng)]
    if rng.random() < 0.5:
        other = ctx.people.person()
        parties.append(
            ch.person_in(
                "respondent",
                resp_name or other.name,
                other.id_number if not resp_name and rng.random() < 0.3 else None,
            )
        )
    text = vocab.compose(rng, "grid", category, ch.fill(rng.choice(sub.grid), rng, resp_name, place), voice)
    return ch.grid_record(rng, t, grid, category, sub.code, text, parties, voice.headcount, loud=voice.loud)


def _petition(
    ctx: Context,
    rng: random.Random,
    t: int,
    grid: Grid,
    category: str,
    sub: ch.Sub,
    resp_name: str,
    voice: vocab.Voice,
    person: Person,
    workday: bool,
) -> ch.Draft:
    if not workday:
        form = "online"
    elif voice.group:
        form = "visit"  # a group comes in person
    else:
        form = ch.pick(rng, (("online", 0.45), ("visit", 0.30), ("letter", 0.25)))
    parties = [ch.petitioner(person, rng)]
    if voice.group:  # a few representatives register for the group
        parties += [ch.petitioner(ctx.people.person(), rng) for _ in range(rng.randint(1, 4))]
    if resp_name:
        parties.append(ch.person_in("respondent", resp_name))
    repeat = rng.random() < 0.2
    level = ch.pick(rng, (("district", 0.85), ("city", 0.12), ("province", 0.028), ("national", 0.002)))
    head = voice.headcount
    if head == 1 and form == "visit" and rng.random() < 0.15:
        head = rng.randint(2, 4)  # a petitioner brings family
    return ch.petition_record(
        rng,
        t,
        grid,
        category,
        sub.code,
        ch.fill(rng.choice(sub.demand), rng, resp_name),
        parties,
        form,
        headcount=head,
        is_repeat=repeat,
        visit_count=rng.randint(2, 4) if repeat else 1,
        level=level,
        text=vocab.compose(rng, "petition", category, "", voice),
        backlog=rng.random() < 0.03,
        settled=rng.random() < 0.1,
        lead_official=rng.random() < (0.4 if voice.group else 0.1),
    )


def collective_petitions(ctx: Context, day: date) -> list[ch.Draft]:
    """集体访 of 5-30 people that belong to no incident (workdays, office hours)."""
    rng = ctx.rng
    if not ctx.calendar.is_workday(day):
        return []
    cats = list(COLLECTIVE_SHARE)
    weights = list(COLLECTIVE_SHARE.values())
    drafts = []
    for _ in range(poisson(rng, ctx.tuning.bg_collective_per_week / 5.0 * ctx.scale)):
        cat = rng.choices(cats, weights=weights)[0]
        grid = ctx.grid_for(cat, rng)
        voice = vocab.Voice(vocab.log_uniform(rng, 5, 30), rng.random() < 0.3)
        t = draw_time(rng, day, cat, office=True)
        drafts.append(random_record(ctx, rng, t, grid, cat, "petition", True, voice=voice))
    return drafts


def background_day(ctx: Context, day: date) -> list[ch.Draft]:
    """Every ordinary record of one day (unsorted)."""
    rng = ctx.rng
    cal = ctx.calendar
    workday = cal.is_workday(day)
    drafts: list[ch.Draft] = []
    base = BASE_DAILY * ctx.scale
    for cat in CATEGORIES:
        lam_cat = base * SHARE[cat] * cal_mod.day_factor(cat, day, cal)
        for channel, mix in zip(CHANNELS, MIX[cat], strict=True):
            n = poisson(rng, lam_cat * mix * cal_mod.channel_factor(channel, day, cal))
            for _ in range(n):
                grid = ctx.grid_for(cat, rng)
                office = channel == "petition"
                t = draw_time(rng, day, cat, office=office)
                drafts.append(random_record(ctx, rng, t, grid, cat, channel, workday))
    return drafts + collective_petitions(ctx, day)
