"""How hard the simulated district is to read: incident strength and background realism.

A detector is only as good as the data it is judged on. The first simulator injected bursts
of 20+ records that all said 聚集 and carried headcounts no ordinary record had, so a
three-line rule looked as good as the detector (issue 10). The knobs here set how strong an
incident is (records, duration, channels, how often its records state a headcount or use
mass-incident words) and how often *ordinary* records do the same (people say 聚集 and 讨说法
in everyday complaints; 集体访 of 5-30 people happen without any incident). ``realistic`` is
the default; ``easy`` is close to the first simulator, ``hard`` is weak incidents in a noisy
background. Every value ends up in the manifest, so a reported figure names its difficulty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

KINDS: Final = ("burst", "small_burst", "partial", "odour", "slow_rise")


@dataclass(frozen=True, slots=True)
class Difficulty:
    """Every knob of one difficulty (ranges are inclusive ``(low, high)``)."""

    name: str
    # dynamic incidents
    burst_records: tuple[int, int]  # records of one burst over all channels
    small_burst_records: tuple[int, int]
    burst_hours: tuple[float, float]  # how long a burst lasts
    channel_mix: tuple[float, float, float]  # share of a burst's records per (grid, hotline, petition)
    partial_keep: float  # share of records a partially reported burst keeps (one channel only)
    peak_headcount: tuple[int, int]  # people at the peak of a burst (log-uniform)
    headcount_p: float  # an incident record states how many people are involved
    keyword_p: float  # an incident record uses a mass-incident word (聚集, 拉横幅, 讨说法 ...)
    slow_rise_days: tuple[int, int]
    slow_rise_peak: tuple[float, float]  # extra records/day on the last day of a slow rise
    kinds: tuple[float, float, float, float, float]  # weights of KINDS
    # background
    bg_headcount_p: float  # an ordinary record states a group (2..~100 people, heavy tail)
    bg_keyword_p: float  # an ordinary record uses a mass-incident word
    bg_collective_per_week: float  # district-wide 集体访 (5-30 people) without incident, at scale 1

    def __post_init__(self) -> None:
        for name in ("partial_keep", "headcount_p", "keyword_p", "bg_headcount_p", "bg_keyword_p"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"difficulty knob {name} must be in [0, 1], got {value}")
        for name in ("burst_records", "small_burst_records", "burst_hours", "peak_headcount", "slow_rise_days"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"difficulty knob {name} must be 0 < low <= high, got {lo}..{hi}")
        lo_r, hi_r = self.slow_rise_peak
        if not 0 < lo_r <= hi_r:
            raise ValueError(f"difficulty knob slow_rise_peak must be 0 < low <= high, got {lo_r}..{hi_r}")
        if min(self.channel_mix) < 0 or sum(self.channel_mix) <= 0:
            raise ValueError(f"difficulty knob channel_mix needs non-negative weights, got {self.channel_mix}")
        if len(self.kinds) != len(KINDS) or min(self.kinds) < 0 or sum(self.kinds) <= 0:
            raise ValueError(f"difficulty knob kinds needs {len(KINDS)} non-negative weights ({', '.join(KINDS)})")
        if self.bg_collective_per_week < 0:
            raise ValueError("difficulty knob bg_collective_per_week must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the manifest (kinds as a name -> weight map)."""
        out = dataclasses.asdict(self)
        out["kinds"] = dict(zip(KINDS, self.kinds, strict=True))
        out["channel_mix"] = dict(zip(("grid", "hotline", "petition"), self.channel_mix, strict=True))
        return out


PRESETS: Final[dict[str, Difficulty]] = {
    # close to the first simulator: big, loud bursts in a quiet background
    "easy": Difficulty(
        name="easy",
        burst_records=(18, 40),
        small_burst_records=(5, 9),
        burst_hours=(2.0, 6.0),
        channel_mix=(0.2, 0.75, 0.05),
        partial_keep=0.5,
        peak_headcount=(20, 120),
        headcount_p=0.8,
        keyword_p=0.8,
        slow_rise_days=(7, 14),
        slow_rise_peak=(4.0, 8.0),
        kinds=(0.75, 0.05, 0.0, 0.15, 0.05),
        bg_headcount_p=0.002,
        bg_keyword_p=0.0005,
        bg_collective_per_week=0.5,
    ),
    "realistic": Difficulty(
        name="realistic",
        burst_records=(8, 28),
        small_burst_records=(3, 6),
        burst_hours=(2.0, 10.0),
        channel_mix=(0.2, 0.72, 0.08),
        partial_keep=0.3,
        peak_headcount=(8, 80),
        headcount_p=0.4,
        keyword_p=0.35,
        slow_rise_days=(7, 21),
        slow_rise_peak=(2.0, 5.0),
        kinds=(0.45, 0.2, 0.1, 0.1, 0.15),
        bg_headcount_p=0.01,
        bg_keyword_p=0.004,
        bg_collective_per_week=2.0,
    ),
    # weak, slow, partly reported incidents in a background that talks like them
    "hard": Difficulty(
        name="hard",
        burst_records=(4, 14),
        small_burst_records=(2, 4),
        burst_hours=(3.0, 16.0),
        channel_mix=(0.25, 0.65, 0.1),
        partial_keep=0.25,
        peak_headcount=(5, 50),
        headcount_p=0.2,
        keyword_p=0.15,
        slow_rise_days=(10, 28),
        slow_rise_peak=(1.0, 3.0),
        kinds=(0.3, 0.25, 0.15, 0.1, 0.2),
        bg_headcount_p=0.02,
        bg_keyword_p=0.008,
        bg_collective_per_week=4.0,
    ),
}
KNOBS: Final = tuple(f.name for f in dataclasses.fields(Difficulty) if f.name != "name")


def resolve(preset: str, overrides: Iterable[tuple[str, Any]] | Mapping[str, Any] = ()) -> Difficulty:
    """The preset with individual knobs replaced; unknown names and bad values raise ValueError."""
    if preset not in PRESETS:
        raise ValueError(f'Unknown difficulty "{preset}"; valid options are {sorted(PRESETS)}')
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    changes: dict[str, Any] = {}
    for key, value in items:
        if key not in KNOBS:
            raise ValueError(f'Unknown difficulty knob "{key}"; valid options are {list(KNOBS)}')
        changes[key] = tuple(value) if isinstance(value, list | tuple) else value
    return dataclasses.replace(PRESETS[preset], **changes)


def parse_knob(key: str, text: str) -> tuple[str, Any]:
    """A CLI value for a knob: ``0.3``, ``8..28`` (a range) or ``a,b,c`` (weights)."""
    if key not in KNOBS:
        raise ValueError(f'Unknown difficulty knob "{key}"; valid options are {list(KNOBS)}')
    default = getattr(PRESETS["realistic"], key)
    try:
        if isinstance(default, tuple) and ".." in text:
            lo, _, hi = text.partition("..")
            kind = type(default[0])
            return key, (kind(lo), kind(hi))
        if isinstance(default, tuple):
            return key, tuple(float(part) for part in text.split(","))
        return key, float(text)
    except ValueError:
        raise ValueError(f'difficulty knob {key}: cannot read "{text}" (e.g. 0.3, 8..28 or 0.2,0.7,0.1)') from None
