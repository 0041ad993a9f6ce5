"""The simulator's calendar: Chinese holidays, festivals, fishing season, campaign periods.

Two kinds of seasonality live here. The *structural* rhythm (hour of day, day of week, month,
public holidays thinning out office hours) is always on and is part of every record's
background rate. The *named peaks* (wage disputes before Spring Festival, family disputes after
long holidays, neighbour disputes on summer evenings, property fees, fishing season, Qingming
land disputes) are injected as pattern incidents by `warning.simulate.incidents`, so they have
ground truth. Holidays come from the ``holidays`` package, which computes the lunar festivals
for any year (domain.md §1.2: 元旦、春节 and campaign dates are what pattern warnings key on).

The local periods (fishing season, campaigns) are *not* the ones an operator configures in the
thresholds file: unless given explicitly, each seed shifts the nominal periods by a few weeks
(`seeded_periods`), and the manifest records the shift, so a detector that hard-codes the
nominal dates is not rewarded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

Span = tuple[str, str]
# the nominal periods before the per-seed shift: the East China Sea moratorium (伏季休渔) ends
# mid-September; safety drives run in late spring and autumn
NOMINAL_FISHING: Final[Span] = ("09-16", "12-31")
NOMINAL_CAMPAIGNS: Final[tuple[Span, ...]] = (("05-01", "07-31"), ("09-01", "11-30"))
SHIFT_DAYS: Final = (5, 21)  # |offset| of each seeded shift, never zero


@dataclass(frozen=True, slots=True)
class Calendar:
    """Holidays of the simulated years plus the configurable seasons."""

    holidays: dict[date, str]
    spring_festivals: tuple[date, ...]
    fishing_season: tuple[str, str] = ("09-16", "12-31")
    campaigns: tuple[tuple[str, str], ...] = (("05-01", "07-31"), ("09-01", "11-30"))
    long_holiday_ends: tuple[date, ...] = field(default=())

    def is_holiday(self, day: date) -> bool:
        """True on a public holiday or its bridging days off (调休)."""
        return day in self.holidays

    def is_workday(self, day: date) -> bool:
        """Offices (petition bureaus, property offices) are open."""
        return day.weekday() < 5 and day not in self.holidays

    def in_fishing_season(self, day: date) -> bool:
        """Inside the configured fishing season (after the summer moratorium, 伏季休渔)."""
        return _in_mmdd(day, self.fishing_season)

    def in_campaign(self, day: date) -> bool:
        """Inside a campaign period (e.g. 5-7月、9-11月 safety drives): grid workers report more."""
        return any(_in_mmdd(day, span) for span in self.campaigns)


def shift_mmdd(mmdd: str, days: int) -> str:
    """``MM-DD`` moved by `days` (in a common year, so 02-29 never appears)."""
    d = date(2025, int(mmdd[:2]), int(mmdd[3:])) + timedelta(days=days)
    return f"{d:%m-%d}"


def span_in_year(year: int, span: Span) -> tuple[date, date]:
    """The dates of an ``MM-DD`` span starting in `year` (a span wrapping the new year ends in year + 1)."""
    start, end = span
    first = date(year, int(start[:2]), int(start[3:]))
    last = date(year + (end < start), int(end[:2]), int(end[3:]))
    return first, last


def seeded_periods(
    rng: random.Random, fishing: Span | None = None, campaigns: tuple[Span, ...] | None = None
) -> tuple[Span, tuple[Span, ...], dict[str, Any]]:
    """The run's fishing season and campaigns: given ones verbatim, else the nominal ones shifted.

    Returns the periods and a record of the shifts for the manifest.
    """

    def offset() -> int:
        return rng.choice((-1, 1)) * rng.randint(*SHIFT_DAYS)

    record: dict[str, Any] = {}
    if fishing is None:
        starts, ends = offset(), offset()
        fishing = (shift_mmdd(NOMINAL_FISHING[0], starts), shift_mmdd(NOMINAL_FISHING[1], ends))
        record["fishing_season"] = {"nominal": list(NOMINAL_FISHING), "offset_days": [starts, ends]}
    else:
        record["fishing_season"] = {"given": list(fishing)}
    if campaigns is None:
        shifts = [offset() for _ in NOMINAL_CAMPAIGNS]
        campaigns = tuple(
            (shift_mmdd(a, k), shift_mmdd(b, k)) for (a, b), k in zip(NOMINAL_CAMPAIGNS, shifts, strict=True)
        )
        record["campaigns"] = {"nominal": [list(c) for c in NOMINAL_CAMPAIGNS], "offset_days": shifts}
    else:
        record["campaigns"] = {"given": [list(c) for c in campaigns]}
    return fishing, campaigns, record


def _in_mmdd(day: date, span: tuple[str, str]) -> bool:
    key = f"{day:%m-%d}"
    start, end = span
    return start <= key <= end if start <= end else (key >= start or key <= end)


def build(
    first: date,
    last: date,
    fishing_season: tuple[str, str] = ("09-16", "12-31"),
    campaigns: tuple[tuple[str, str], ...] = (("05-01", "07-31"), ("09-01", "11-30")),
) -> Calendar:
    """The calendar covering `first`..`last` (plus a margin year for lead-up effects)."""
    import holidays as holidays_lib

    years = list(range(first.year - 1, last.year + 2))
    cn = holidays_lib.country_holidays("CN", years=years, language="zh_CN")
    days = {d: str(n) for d, n in sorted(cn.items())}
    festivals = _first_days(days, "春节")
    # the post-holiday family-dispute wave starts when a long holiday (春节, 国庆) ends
    ends = tuple(_run_end(d, days) for d in (*festivals, *_first_days(days, "国庆节")))
    return Calendar(
        holidays=days,
        spring_festivals=festivals,
        fishing_season=fishing_season,
        campaigns=campaigns,
        long_holiday_ends=tuple(sorted(ends)),
    )


def _first_days(days: dict[date, str], name: str) -> tuple[date, ...]:
    """The first day of each year's holiday called `name`."""
    firsts: dict[int, date] = {}
    for d, n in days.items():
        if n == name and d.year not in firsts:
            firsts[d.year] = d
    return tuple(sorted(firsts.values()))


def _run_end(day: date, days: dict[date, str]) -> date:
    """Last day off of the holiday run containing `day` (holidays, 调休 and weekends)."""
    end = day
    while (end + timedelta(days=1)) in days or (end + timedelta(days=1)).weekday() >= 5:
        end += timedelta(days=1)
    return end


# ---- structural rhythms (always on) --------------------------------------------------------


def _profile(peaks: tuple[tuple[int, float], ...], floor: float) -> tuple[float, ...]:
    """24 hourly weights from a floor plus peaks (hour, height), each spread over ±2 h."""
    weights = [floor] * 24
    for hour, height in peaks:
        for off, share in ((-2, 0.25), (-1, 0.6), (0, 1.0), (1, 0.6), (2, 0.25)):
            weights[(hour + off) % 24] += height * share
    total = sum(weights)
    return tuple(w / total for w in weights)


OFFICE: Final = _profile(((10, 1.0), (15, 1.0)), 0.03)
EVENING: Final = _profile(((10, 0.5), (15, 0.5), (20, 1.3)), 0.05)
NIGHT: Final = _profile(((21, 1.0), (23, 0.8), (10, 0.4)), 0.08)
COMMUTE: Final = _profile(((8, 1.2), (18, 1.2), (13, 0.3)), 0.05)
DAWN: Final = _profile(((5, 1.0), (16, 0.8)), 0.05)

HOUR_PROFILE: Final[dict[str, tuple[float, ...]]] = {
    "neighbour": EVENING,
    "family": NIGHT,
    "debt": OFFICE,
    "lending": OFFICE,
    "labour": OFFICE,
    "property": EVENING,
    "land": OFFICE,
    "building": OFFICE,
    "environment": NIGHT,
    "medical": OFFICE,
    "education": OFFICE,
    "investor": OFFICE,
    "membership": OFFICE,
    "sea": DAWN,
    "traffic": COMMUTE,
    "other": OFFICE,
}

# weekend factor per category: offices closed -> fewer labour/property/land contacts,
# people at home -> more neighbour and family disputes.
WEEKEND: Final[dict[str, float]] = {
    "neighbour": 1.25,
    "family": 1.3,
    "debt": 0.8,
    "lending": 0.8,
    "labour": 0.6,
    "property": 0.9,
    "land": 0.6,
    "building": 1.1,
    "environment": 1.0,
    "medical": 0.9,
    "education": 0.6,
    "investor": 0.7,
    "membership": 0.7,
    "sea": 1.0,
    "traffic": 1.1,
    "other": 0.9,
}

# smooth month effect (1..12); named peaks come on top as pattern incidents.
MONTH: Final[dict[str, tuple[float, ...]]] = {
    "neighbour": (0.85, 0.85, 0.95, 1.0, 1.05, 1.1, 1.15, 1.15, 1.05, 1.0, 0.9, 0.85),
    "family": (1.0, 1.0, 1.05, 1.0, 0.95, 0.95, 1.0, 1.0, 0.95, 1.0, 1.0, 1.05),
    "labour": (1.15, 0.8, 0.9, 0.95, 0.95, 1.0, 1.0, 0.95, 0.95, 1.0, 1.05, 1.2),
    "property": (1.1, 0.9, 0.95, 0.95, 0.95, 1.0, 1.05, 1.05, 0.95, 0.95, 1.05, 1.1),
    "land": (0.8, 0.8, 1.15, 1.2, 1.1, 1.0, 0.95, 0.95, 1.0, 1.05, 1.0, 0.9),
    "building": (0.7, 0.7, 1.05, 1.15, 1.2, 1.1, 1.0, 1.0, 1.1, 1.1, 1.0, 0.8),
    "environment": (0.9, 0.85, 0.95, 1.0, 1.05, 1.15, 1.2, 1.2, 1.05, 0.95, 0.9, 0.9),
    "education": (0.8, 0.7, 1.1, 1.0, 1.0, 1.15, 0.9, 1.1, 1.3, 1.0, 0.95, 0.9),
    "traffic": (1.05, 1.1, 0.95, 1.0, 1.0, 0.95, 1.0, 1.0, 0.95, 1.1, 1.0, 1.05),
}


def day_factor(category: str, day: date, cal: Calendar) -> float:
    """Background multiplier of a category's daily rate on `day` (weekday, month, holiday)."""
    f = MONTH.get(category, (1.0,) * 12)[day.month - 1]
    if day.weekday() >= 5:
        f *= WEEKEND[category]
    if cal.is_holiday(day):
        # everyone is home: domestic disputes up, office-bound disputes down
        f *= 1.3 if category in ("family", "neighbour") else 0.55
    return f


def channel_factor(channel: str, day: date, cal: Calendar) -> float:
    """How much of a day's disputes reach each channel: petition offices close on holidays,
    grid workers patrol more during campaign periods (排查 drives), fewer on weekends."""
    if channel == "petition":
        return 1.0 if cal.is_workday(day) else 0.25  # online petitions only
    if channel == "grid":
        f = 0.7 if day.weekday() >= 5 else 1.0
        if cal.is_holiday(day):
            f *= 0.6
        if cal.in_campaign(day):
            f *= 1.2
        return f
    return 1.0
