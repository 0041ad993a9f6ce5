"""Case indicators (异动指标) that fire on their own, whatever the model says.

The seeds speak of indicators, not opaque scores (reference/domain.md §1.4), and some signals
must reach a duty officer even when a model trained on history has never seen them: a concrete
threat of violence, a petition reaching province level after a failed mediation. Each rule has
a stable name (metrics, tests), a Chinese label an officer reads, the level it raises at least,
and the referral it suggests. Words alone are weak (people vent), so the threat rules need a
second signal before they reach red.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from warning.core.detectors.case.features import CaseParams, levels_within, window_counts
from warning.core.taxonomy import Level


@dataclass(frozen=True, slots=True)
class Fired:
    """One rule that fired on a case: what, how much against what bar, and what it implies."""

    name: str
    label: str
    value: float
    threshold: float
    level: Level
    referral: str = ""


RULES: Final[dict[str, str]] = {
    "extreme_threat": "明确的极端行为言语(同归于尽、跳楼、汽油等)且调解未果或已信访",
    "extreme_words": "出现极端行为言语(须核实是否为气话)",
    "province_after_failed_mediation": "调解未果后信访已到省级及以上",
    "beijing_petition": "信访已到北京(进京)",
    "despair_with_stress": "绝望、轻生言语叠加失业/离婚/欠债/患病等生活困境",
    "rapid_escalation": "30天内信访层级连升两级及以上",
    "burst_contacts": "7天内来电来访密集",
    "resumed_after_silence": "长期沉寂后突然再次反映且不满意或调解未果",
    "collective_growing": "集体访人数明显增加",
}
"""Every rule's name and its explanation (also the card's list)."""


def fired(s: dict[str, Any], p: CaseParams) -> list[Fired]:
    """The rules that hold for the case state as of its latest event."""
    t = float(s["last"] or 0.0)
    w = s["words"]
    out: list[Fired] = []
    pressure = w["failed"] > 0 or s["level"] >= 1
    if w["extreme"] and pressure:
        out.append(Fired("extreme_threat", RULES["extreme_threat"], w["extreme"], 1, "red", "心理干预"))
    elif w["extreme"]:
        out.append(Fired("extreme_words", RULES["extreme_words"], w["extreme"], 1, "yellow", "心理干预"))
    if s["level"] >= 3 and w["failed"] > 0:
        out.append(
            Fired("province_after_failed_mediation", RULES["province_after_failed_mediation"], s["level"], 3, "orange")
        )
    if s["level"] >= 4:
        out.append(Fired("beijing_petition", RULES["beijing_petition"], s["level"], 4, "orange"))
    if w["despair"] and w["stress"]:
        out.append(Fired("despair_with_stress", RULES["despair_with_stress"], w["despair"], 1, "orange", "心理干预"))
    ups = levels_within(s, t, 30)
    if ups >= p.rapid_levels_30d:
        out.append(Fired("rapid_escalation", RULES["rapid_escalation"], ups, p.rapid_levels_30d, "yellow"))
    c7 = window_counts(s, t)["c7"]
    if c7 >= p.burst_7d:
        out.append(Fired("burst_contacts", RULES["burst_contacts"], c7, p.burst_7d, "yellow"))
    if s["gap"] >= p.silence_days and (s["dissat"] or w["failed"]):
        out.append(Fired("resumed_after_silence", RULES["resumed_after_silence"], s["gap"], p.silence_days, "blue"))
    growth = s["hc_max"] / max(1, s["hc_first"])
    if s["hc_max"] >= p.collective_headcount and growth >= p.collective_growth:
        out.append(Fired("collective_growing", RULES["collective_growing"], growth, p.collective_growth, "orange"))
    return out
