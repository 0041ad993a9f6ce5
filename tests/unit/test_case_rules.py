"""Case rules fire on their own (named, explained, levelled) and the alert explains itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from warning.core.detectors.case import FEATURES, CaseDetector, CaseParams, LinearCaseModel
from warning.core.detectors.case.features import init_state, observe
from warning.core.detectors.case.rules import RULES, fired
from warning.core.events import Event, Location

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, tzinfo=TZ)
P = CaseParams()


def ev(i: int, days: float, channel: str = "grid", text: str = "", **attrs: object) -> Event:
    t = T0 + timedelta(days=days)
    loc = Location("S01", "S01-C01", "S01-C01-G01")
    return Event(f"e{i}", channel, f"r{i}", t, t, loc, "family", case_ref="TJ9", text=text, attrs=attrs)  # type: ignore[arg-type]  # channel Literal, attrs values


def rules_after(events: list[Event]) -> dict[str, str]:
    s = init_state()
    for e in events:
        s = observe(s, e, P)
    return {r.name: r.level for r in fired(s, P)}


@pytest.mark.parametrize(
    ("events", "name", "level"),
    [
        ([ev(1, 0, text="调解未果"), ev(2, 1, text="称不解决就同归于尽")], "extreme_threat", "red"),
        ([ev(1, 0, text="扬言要跳楼")], "extreme_words", "yellow"),
        (
            [ev(1, 0, text="调解未果"), ev(2, 3, "petition", level_reached="province")],
            "province_after_failed_mediation",
            "orange",
        ),
        ([ev(1, 0, "petition", level_reached="national")], "beijing_petition", "orange"),
        ([ev(1, 0, text="称活不下去了，本人已失业")], "despair_with_stress", "orange"),
        ([ev(i, i * 0.5, "hotline") for i in range(4)], "burst_contacts", "yellow"),
        ([ev(1, 0, text="调解未果"), ev(2, 40)], "resumed_after_silence", "blue"),
    ],
)
def test_rule_fires_with_level(events: list[Event], name: str, level: str) -> None:
    assert rules_after(events).get(name) == level
    assert RULES[name]  # every rule has a Chinese explanation


def test_venting_alone_is_not_a_rule() -> None:
    assert rules_after([ev(1, 0, "hotline", "扬言要讨说法")]) == {}


def _model() -> LinearCaseModel:
    n = len(FEATURES)
    coef = np.zeros(n)
    coef[FEATURES.index("failed_mediations")] = 2.0
    coef[FEATURES.index("contacts_total")] = 1.0
    return LinearCaseModel("t1", FEATURES, np.zeros(n), np.ones(n), coef, -2.0)


def test_alert_explains_score_rules_dispatch_and_referral() -> None:
    det = CaseDetector(P, _model())
    s, alerts = det.step(det.init_state(), ev(1, 0, text="调解未果"), T0)
    s, alerts = det.step(s, ev(2, 1, text="第2次调解未果，当事人称不解决就同归于尽"), T0 + timedelta(days=1))
    (a,) = alerts
    assert a.type == "case" and a.level == "red" and a.subject == "TJ9" and a.score is not None
    assert [i.name for i in a.indicators][:1] == ["extreme_threat"]
    assert any(i.name == "model:failed_mediations" and i.label == "调解未果" for i in a.indicators)
    assert "重特大" in a.action and "心理干预" in a.action and "法律援助" in a.action
    assert "工作人员研判决定" in a.action and a.details["human_decides"] is True
    assert a.detector == "case@1.0+model:t1"
    # same level, no new rule: no repeat alert
    _, again = det.step(s, ev(3, 2, text="调解未果"), T0 + timedelta(days=2))
    assert again == []


def test_no_model_no_rule_no_alert() -> None:
    det = CaseDetector(P)
    assert det.step(det.init_state(), ev(1, 0, "hotline", "楼上漏水"), T0)[1] == []
