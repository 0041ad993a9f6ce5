"""Individual-case warning (个案预警): per-case indicators, rules and a calibrated risk score.

Keys. A case is keyed by its ``case_ref`` (a petition's ``case_no`` is its case_ref at ingest;
grid reports and 12345 tickets carry one when the source system linked them). An event with no
case reference falls back to its first complainant's pseudonymous ``person_ref`` as
``person:<ref>``, so a person's unlinked contacts still accumulate somewhere; events with
neither are not this detector's. Linking a person's contacts to their case across channels is
the relational detector's job (entity resolution), which can send a `Message` to the case key.

Each event: fold it into the case state (`features.observe`), compute the feature vector
(`features.features`, the same function the trainer uses), score it with the model artefact
if one was passed in, evaluate the rules (`rules.fired`), and raise or upgrade the case's one
alert when its level rose or a new rule fired. The alert explains itself: the rules that fired,
the features that pushed the score most (coefficient × standardised value), the dispatch level
of 专栏6 and referrals (心理干预 / 困难救助 / 法律援助). A human decides every action on a person.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> from warning.core.events import Event, Location
>>> det = CaseDetector(CaseParams())
>>> t = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
>>> e = Event("e1", "grid", "r1", t, t, Location("S01", "S01-C01", "S01-C01-G01"), "debt",
...           case_ref="TJ202600001", text="第2次组织调解未果，当事人称不解决就同归于尽")
>>> state, alerts = det.step(det.init_state(), e, t)
>>> alerts[0].level, alerts[0].indicators[0].name
('red', 'extreme_threat')
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from warning.core.detectors.base import DetectorState, WholeStateDetector
from warning.core.detectors.baselines import level_for
from warning.core.detectors.case.features import FEATURE_LABELS, FEATURES, CaseParams, features, init_state, observe
from warning.core.detectors.case.model import LinearCaseModel
from warning.core.detectors.case.rules import Fired, fired
from warning.core.events import Alert, Event, Indicator, stable_id
from warning.core.ports import KeySpace
from warning.core.taxonomy import CATEGORIES, LEVEL_LABELS, LEVELS, Level, category_label

DISPATCH: Final[dict[Level, str]] = {
    "blue": "小事:村/社区调解员跟进化解",
    "yellow": "小事:村/社区调解员跟进化解,街镇矛调中心关注",
    "orange": "重大:街镇矛调中心包案化解",
    "red": "重特大:区矛调中心统筹,多部门联动",
}
"""Dispatch level per 专栏6 (小事 → 村/社区, 重大 → 街镇, 重特大 → 区)."""
HUMAN: Final = "系统仅提示风险,对当事人的任何处置由工作人员研判决定"
_LEGAL_CATEGORIES: Final = frozenset({"debt", "lending", "labour", "land", "medical", "traffic", "membership"})
_TOP: Final = 3


def referrals(s: dict[str, Any], rules: list[Fired]) -> list[str]:
    """Services to offer the parties (reference/domain.md §5: care, not only control)."""
    w = s["words"]
    out: list[str] = []
    if w["despair"] or w["extreme"] or any(r.referral == "心理干预" for r in rules):
        out.append("心理干预")
    if w["stress"] or s["money"] >= 10_000:
        out.append("困难救助")
    if s["category"] in _LEGAL_CATEGORIES or w["failed"]:
        out.append("法律援助")
    return out


class CaseDetector(WholeStateDetector):
    """Case state, rules and (when a model is given) a calibrated score; see the module docstring."""

    name = "case"
    version = "1.0"
    key_space: KeySpace = "case"

    def __init__(self, params: CaseParams, model: LinearCaseModel | None = None) -> None:
        if model is not None:
            model.check(FEATURES)
        self.params = params
        self.model = model

    def init_state(self) -> DetectorState:
        """Empty case state."""
        return init_state()

    def score_of(self, state: DetectorState) -> float | None:
        """The model's score of a case state, as `step` scores it (None without a model).

        The stream exports it per event (``warning_case_score``): the distribution over every
        case, not only over the alerted ones, is what shows a model drifting.
        """
        if self.model is None:
            return None
        return float(self.model.score(features(state, self.params))[0])

    def key(self, event: Event) -> str | None:
        """``case_ref``, else ``person:<first complainant's person_ref>``, else not a case event."""
        if event.case_ref:
            return event.case_ref
        for party in event.parties:
            if party.role == "complainant" and party.person_ref:
                return f"person:{party.person_ref}"
        return None

    def step(self, state: DetectorState, event: Event, now: datetime) -> tuple[DetectorState, list[Alert]]:
        """Observe, then score the case as of this event; alert when the level rose or a rule is new."""
        s = observe(state, event, self.params)
        rules = fired(s, self.params)
        score: float | None = None
        top: list[tuple[str, float, float]] = []
        if self.model is not None:
            x = features(s, self.params)
            score, parts = self.model.score(x)
            order = sorted(range(len(FEATURES)), key=lambda i: -parts[i])
            top = [(FEATURES[i], x[i], float(parts[i])) for i in order[:_TOP] if parts[i] > 0]
        levels = [LEVELS.index(r.level) for r in rules]
        if score is not None and (band := level_for(score, self.params.score_bands)) is not None:
            levels.append(LEVELS.index(band))
        if not levels:
            return s, []
        level = max(levels)
        names = [r.name for r in rules]
        seen = s["alerted"]
        if level <= seen["level"] and set(names) <= set(seen["rules"]):
            return s, []
        s["alerted"] = {"level": max(level, seen["level"]), "rules": sorted({*seen["rules"], *names})}
        key = self.key(event) or ""
        return s, [self._alert(s, key, LEVELS[level], rules, score, top, now)]

    def _alert(
        self,
        s: dict[str, Any],
        key: str,
        level: Level,
        rules: list[Fired],
        score: float | None,
        top: list[tuple[str, float, float]],
        now: datetime,
    ) -> Alert:
        inds = [Indicator(r.name, float(r.value), float(r.threshold), 1.0, r.label) for r in rules]
        inds += [Indicator(f"model:{n}", round(v, 4), 0.0, round(c, 4), FEATURE_LABELS[n]) for n, v, c in top]
        refer = referrals(s, rules)
        cat = s["category"]
        why = "、".join(i.label for i in inds[:3])
        scored = f"风险评分{score:.2f}," if score is not None else ""
        subject = key if not key.startswith("person:") else "未关联案件的当事人"
        title = f"{category_label(cat)}个案{LEVEL_LABELS[level]}预警:{subject},{scored}{why}"
        action = f"{DISPATCH[level]};建议转介:{'、'.join(refer) or '无'};{HUMAN}"
        version = f"{self.name}@{self.version}" + (f"+model:{self.model.version}" if self.model else "")
        return Alert(
            alert_id=stable_id("case", key),
            type="case",
            level=level,
            unit=s["grid"],
            subject=key,
            title=title,
            indicators=tuple(inds),
            detector=version,
            created_at=now,
            score=None if score is None else round(score, 6),
            evidence=tuple(s["evidence"]),
            window_start=datetime.fromtimestamp(s["first"], now.tzinfo),
            window_end=now,
            action=action,
            category=cat,
            departments=(CATEGORIES[cat][1],) if cat in CATEGORIES else (),
            details={
                "rules": [r.name for r in rules],
                "top_features": [
                    {"feature": n, "label": FEATURE_LABELS[n], "value": v, "contribution": c} for n, v, c in top
                ],
                "dispatch": DISPATCH[level],
                "referrals": refer,
                "contacts": s["n"],
                "petition_level": s["level"],
                "human_decides": True,
            },
        )
