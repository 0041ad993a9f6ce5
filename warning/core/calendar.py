"""Calendar features for the dynamic and pattern detectors: holidays, festivals, seasons, campaigns.

Dispute peaks follow the calendar (reference/domain.md §1.2): wage disputes crowd the weeks
before the Spring Festival, family disputes the holidays themselves, sea disputes the fishing
season, and campaign dates (元旦, 春节, "6.26") change both behaviour and reporting. The
detectors therefore need, for any day, "is this a public holiday, how close is the next one,
is it the run-up to the Spring Festival, is it fishing season or a campaign period".

Chinese public holidays (with the lunar festivals and the State Council's 调休 swaps) come
from the ``holidays`` package, which computes them for any year; importing it is pure
computation, so it is allowed in the core. Years it cannot compute yield no holidays instead
of an exception, because a detector must never crash on an odd timestamp. Fishing seasons and
campaign periods are operator data (thresholds file), passed in as `CalendarParams`.

Day numbers: the detectors work on *local epoch days* (days since 1970-01-01 in the event's
own UTC offset), which is cheap to compute from a timestamp; `epoch_day` and `day_date`
convert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_SWAP: Final = re.compile(r"由\s*(\d{4}-\d{2}-\d{2})\s*调休")
_SPRING: Final = ("农历除夕", "春节")
HOLIDAY_NAMES: Final[tuple[str, ...]] = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
"""The statutory holiday periods whose surrounding weeks get their own learned effects."""
HOLIDAY_WINDOW_WEEKS: Final = 3


def epoch_day(d: date) -> int:
    """Days since 1970-01-01 (local calendar day)."""
    return d.toordinal() - _EPOCH_ORDINAL


def day_date(day: int) -> date:
    """Inverse of `epoch_day`."""
    return date.fromordinal(day + _EPOCH_ORDINAL)


def local_hour_index(ts: datetime) -> int:
    """Hours since 1970-01-01T00:00 on the *local* clock of `ts` (its own UTC offset).

    Hour-of-day is ``idx % 24``, the local epoch day ``idx // 24``; a naive datetime is read
    as already local.
    """
    off = ts.utcoffset()
    if off is None:
        # naive: .timestamp() would apply the machine's zone, so use the calendar fields
        return epoch_day(ts.date()) * 24 + ts.hour
    return int((ts.timestamp() + off.total_seconds()) // 3600)


def weekday_of_day(day: int) -> int:
    """Monday=0 … Sunday=6 for a local epoch day (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


@dataclass(frozen=True, slots=True)
class Period:
    """A named date range, inclusive at both ends.

    ``start``/``end`` are ``"MM-DD"`` for a period that recurs every year (a fishing season;
    it may wrap the new year, e.g. ``"12-01"``..``"02-28"``) or ``"YYYY-MM-DD"`` for a
    one-off period (a campaign). Both ends must use the same form.
    """

    name: str
    start: str
    end: str

    def __post_init__(self) -> None:
        if len(self.start) != len(self.end) or len(self.start) not in (5, 10):
            raise ValueError(
                f"period {self.name!r}: start/end must both be MM-DD or both YYYY-MM-DD, "
                f"got {self.start!r}..{self.end!r}"
            )
        try:
            if len(self.start) == 10:
                if date.fromisoformat(self.start) > date.fromisoformat(self.end):
                    raise ValueError(f"period {self.name!r}: start is after end")
            else:
                # validate month/day in a leap year so 02-29 is accepted
                date.fromisoformat(f"2000-{self.start}")
                date.fromisoformat(f"2000-{self.end}")
        except ValueError as exc:
            raise ValueError(f"period {self.name!r}: {exc}") from None

    @property
    def recurring(self) -> bool:
        """True for an every-year ``MM-DD`` period."""
        return len(self.start) == 5

    def contains(self, d: date) -> bool:
        """True when `d` falls in the period."""
        if not self.recurring:
            return self.start <= d.isoformat() <= self.end
        md = d.isoformat()[5:]
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end  # wraps the new year


@dataclass(frozen=True, slots=True)
class CalendarParams:
    """Operator calendar data (thresholds file, ``[calendar]``-style keys of each detector)."""

    fishing_seasons: tuple[Period, ...] = (Period("捕捞旺季", "09-16", "12-31"),)
    campaigns: tuple[Period, ...] = ()
    pre_holiday_days: int = 3
    post_holiday_days: int = 2
    spring_festival_lead_days: int = 10
    extra_holidays: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DayFeatures:
    """Calendar facts about one day (what the seasonal models regress on)."""

    day: date
    weekday: int
    month: int
    holiday: bool
    holiday_name: str
    pre_holiday: bool
    post_holiday: bool
    pre_spring_festival: bool
    makeup_workday: bool
    fishing: bool
    campaign: bool
    campaign_name: str
    # the nearest public-holiday period within `HOLIDAY_WINDOW_WEEKS` weeks: its name (one of
    # `HOLIDAY_NAMES`) and the signed week, -3..-1 before its first day off, +1..+3 after its last
    holiday_window: str = ""
    holiday_week: int = 0


class Calendar:
    """Holiday and season lookups for any day, with per-year results memoised.

    Memoising is a cache of a pure function of the parameters (same answers in every process),
    so a detector holding a `Calendar` stays deterministic.

    Examples
    --------
    >>> from datetime import date
    >>> cal = Calendar()
    >>> cal.holiday_name(date(2026, 2, 17))
    '春节'
    >>> f = cal.features(date(2026, 2, 10))
    >>> (f.holiday, f.pre_spring_festival, f.weekday)
    (False, True, 1)
    >>> cal.features(date(2026, 10, 1)).fishing
    True
    """

    def __init__(self, params: CalendarParams | None = None) -> None:
        self.params = params
        self._p = params or CalendarParams()
        self._years: dict[int, tuple[dict[int, str], frozenset[int], frozenset[int]]] = {}
        self._extra: dict[int, str] = {}
        self._day_cache: dict[int, bool] = {}
        self._runs_cache: dict[int, list[tuple[int, int, str]]] = {}
        self._window_cache: dict[int, tuple[str, int]] = {}
        for s in self._p.extra_holidays:
            self._extra[epoch_day(date.fromisoformat(s))] = "节假日"

    def _year(self, year: int) -> tuple[dict[int, str], frozenset[int], frozenset[int]]:
        """(holiday day -> name, makeup workdays, Spring-Festival-eve days) of one year."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        names: dict[int, str] = {}
        swaps: set[int] = set()
        spring: set[int] = set()
        try:
            import holidays  # pure computation; imported lazily so the core loads fast

            for d, name in holidays.country_holidays("CN", years=year, language="zh_CN").items():
                names[epoch_day(d)] = str(name)
                for swapped in _SWAP.findall(str(name)):
                    swaps.add(epoch_day(date.fromisoformat(swapped)))
                if any(str(name).startswith(s) for s in _SPRING) and "补假" not in str(name):
                    spring.add(epoch_day(d))
        except Exception:
            names, swaps, spring = {}, set(), set()
        first_spring = frozenset({min(spring)}) if spring else frozenset()
        result = (names, frozenset(swaps), first_spring)
        self._years[year] = result
        return result

    def _name(self, day: int) -> str:
        if day in self._extra:
            return self._extra[day]
        try:
            year = day_date(day).year
        except (ValueError, OverflowError):
            return ""
        return self._year(year)[0].get(day, "")

    def is_holiday_day(self, day: int) -> bool:
        """True when local epoch day `day` is a public holiday (fast path for hot loops)."""
        hit = self._day_cache.get(day)
        if hit is None:
            hit = bool(self._name(day))
            if len(self._day_cache) > 20_000:  # bounded: a few decades of days
                self._day_cache.clear()
            self._day_cache[day] = hit
        return hit

    def holiday_name(self, d: date) -> str:
        """Chinese name of the holiday on `d`, or ``""``."""
        return self._name(epoch_day(d))

    def is_holiday(self, d: date) -> bool:
        """True on public holidays (including 调休 days off)."""
        return bool(self._name(epoch_day(d)))

    def _runs(self, year: int) -> list[tuple[int, int, str]]:
        """(first, last day off, name) of each holiday period of `year`.

        A period is the run of days off around a statutory holiday: its holidays and 调休 days
        off plus the weekends joined to them (not a 调休 make-up workday), named after its
        first holiday that is one of `HOLIDAY_NAMES` (除夕 counts as 春节).
        """
        cached = self._runs_cache.get(year)
        if cached is not None:
            return cached
        names, swaps, _ = self._year(year)
        out: list[tuple[int, int, str]] = []

        def off(day: int) -> bool:
            return bool(self._name(day)) or (weekday_of_day(day) >= 5 and day not in swaps)

        for day in sorted(names):
            if out and out[-1][0] <= day <= out[-1][1]:
                continue
            first, last = day, day
            while off(first - 1) and first - 1 >= day - 3:
                first -= 1
            while off(last + 1):
                last += 1
            named = (self._name(d).split("（")[0] for d in range(first, last + 1))
            base = next((n if n != "农历除夕" else "春节" for n in named if n in (*HOLIDAY_NAMES, "农历除夕")), "")
            out.append((first, last, base))
        self._runs_cache[year] = out
        return out

    def holiday_window(self, day: int) -> tuple[str, int]:
        """(holiday name, signed week) of the nearest holiday period around `day`, or ("", 0).

        Disputes gather in the weeks before a holiday (wage arrears before 春节, graves before
        清明) and after it (family quarrels after a long break); those weeks are learned as
        effects of their own, so the model needs no dates of the peaks, only the State
        Council's holiday calendar. Days inside a period, or farther than
        `HOLIDAY_WINDOW_WEEKS` weeks from any, have none.
        """
        hit = self._window_cache.get(day)
        if hit is not None:
            return hit
        span = 7 * HOLIDAY_WINDOW_WEEKS
        best: tuple[int, str, int] = (span + 1, "", 0)
        try:
            year = day_date(day).year
            runs = [r for y in (year - 1, year, year + 1) if 1 <= y <= 9999 for r in self._runs(y)]
        except (ValueError, OverflowError):
            runs = []
        for first, last, name in runs:
            if first <= day <= last:
                best = (0, "", 0)
                break
            if name and 0 < first - day < best[0]:
                best = (first - day, name, -((first - day + 6) // 7))
            if name and 0 < day - last < best[0]:
                best = (day - last, name, (day - last + 6) // 7)
        result = (best[1], best[2])
        if len(self._window_cache) > 20_000:  # bounded: a few decades of days
            self._window_cache.clear()
        self._window_cache[day] = result
        return result

    def _spring_eve(self, year: int) -> int | None:
        firsts = self._year(year)[2]
        return next(iter(firsts)) if firsts else None

    def features(self, d: date) -> DayFeatures:
        """All calendar facts about `d`."""
        p = self._p
        day = epoch_day(d)
        name = self._name(day)
        holiday = bool(name)
        pre = (not holiday) and any(self._name(day + i) for i in range(1, p.pre_holiday_days + 1))
        post = (not holiday) and any(self._name(day - i) for i in range(1, p.post_holiday_days + 1))
        pre_spring = False
        for year in (d.year, d.year + 1):
            if year > 9999:
                continue
            eve = self._spring_eve(year)
            if eve is not None and 0 < eve - day <= p.spring_festival_lead_days:
                pre_spring = True
        makeup = False
        if 1 <= d.year <= 9999:
            makeup = day in self._year(d.year)[1]
        campaign_name = next((c.name for c in p.campaigns if c.contains(d)), "")
        window, week = self.holiday_window(day) if 1 <= d.year <= 9999 else ("", 0)
        return DayFeatures(
            day=d,
            weekday=d.weekday(),
            month=d.month,
            holiday=holiday,
            holiday_name=name,
            pre_holiday=pre,
            post_holiday=post,
            pre_spring_festival=pre_spring,
            makeup_workday=makeup,
            fishing=any(s.contains(d) for s in p.fishing_seasons),
            campaign=bool(campaign_name),
            campaign_name=campaign_name,
            holiday_window=window,
            holiday_week=week,
        )

    def days(self, start: date, count: int) -> list[DayFeatures]:
        """Features of `count` consecutive days from `start`."""
        return [self.features(start + timedelta(days=i)) for i in range(count)]
