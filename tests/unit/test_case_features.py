"""Case state and features: keys, windows, escalation, words, and no look past decided_at."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from warning.analysis.case_model import Label, Loaded, examples, state_before
from warning.core.detectors.case import FEATURES, CaseDetector, CaseParams
from warning.core.detectors.case.features import features, init_state, money_in, observe
from warning.core.events import Event, Location, Party

TZ = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, tzinfo=TZ)
P = CaseParams()


def ev(i: int, days: float, channel: str = "hotline", text: str = "", case: str = "TJ1", **kw: object) -> Event:
    t = T0 + timedelta(days=days)
    return Event(
        f"e{i}", channel, f"r{i}", t, t, Location("S01", "S01-C01", "S01-C01-G01"), "debt",  # type: ignore[arg-type]  # channel is a Literal
        case_ref=case, text=text, **kw,  # type: ignore[arg-type]  # keyword fields of Event
    )  # fmt: skip


def feat(events: list[Event]) -> dict[str, float]:
    s = init_state()
    for e in events:
        s = observe(s, e, P)
    return dict(zip(FEATURES, features(s, P), strict=True))


def test_keys_case_ref_then_person_fallback_then_none() -> None:
    det = CaseDetector(P)
    assert det.keys(ev(1, 0)) == ("TJ1",)
    person = ev(2, 0, case="", parties=(Party("respondent", person_ref="pX"), Party("complainant", person_ref="pA")))
    assert det.keys(person) == ("person:pA",)
    assert det.keys(ev(3, 0, case="")) == ()


def test_windows_escalation_and_words() -> None:
    f = feat(
        [
            ev(1, 0),
            ev(2, 40, "grid", "第1次组织调解未果"),
            ev(3, 85, "petition", "扬言报复，本人已失业", attrs={"level_reached": "district", "visit_count": 1}),
            ev(4, 88, "petition", "称活不下去了", attrs={"level_reached": "city", "visit_count": 2}),
            ev(5, 89, "petition", "", attrs={"level_reached": "province", "visit_count": 3}),
        ]
    )
    assert f["contacts_7d"] == pytest.approx(1.3862943611, rel=1e-6)  # log1p(3): days 85, 88 and 89
    assert f["channel_stage"] == 2 and f["channels_used"] == 3
    assert f["petition_level"] == 3 and f["level_ups"] == 2
    assert f["failed_mediations"] > 0 and f["threat_words"] > 0 and f["despair_words"] > 0 and f["life_stress"] > 0
    assert f["max_silence"] > 3.0  # 45 days between day 40 and day 85


def test_silence_then_resumption() -> None:
    assert feat([ev(1, 0), ev(2, 45)])["resumed_after_silence"] == 1.0
    assert feat([ev(1, 0), ev(2, 5)])["resumed_after_silence"] == 0.0


@pytest.mark.parametrize(("text", "yuan"), [("欠款12000元", 12000), ("涉及3.5万元", 35000), ("无金额", 0)])
def test_money(text: str, yuan: float) -> None:
    assert money_in(text) == yuan


def test_observe_leaves_input_state_unchanged_and_is_json() -> None:
    s0 = init_state()
    before = json.dumps(s0, sort_keys=True)
    s1 = observe(s0, ev(1, 0, "grid", "调解未果"), P)
    assert json.dumps(s0, sort_keys=True) == before
    assert json.loads(json.dumps(s1)) == s1


def test_features_use_only_records_strictly_before_decided_at() -> None:
    decided = T0 + timedelta(days=10)
    history = [ev(1, 0), ev(2, 5, "grid", "调解未果"), ev(3, 10, "grid", "当事人持刀伤人")]  # day 10 = decided_at
    state = state_before(history, decided, P)
    assert state is not None and state["n"] == 2 and state["words"]["extreme"] == 0
    loaded = Loaded({"TJ1": history})
    ex = examples([Label("TJ1", 1, decided)], loaded, P)
    assert ex.x.shape == (1, len(FEATURES))
    assert ex.x[0].tolist() == features(state, P)  # the stream's function on the same events
    later = examples([Label("TJ1", 1, decided)], loaded, P, horizon=timedelta(days=6))
    assert later.states[0]["n"] == 1
    none = examples([Label("TJ1", 1, T0)], loaded, P)
    assert none.skipped == 1 and len(none.y) == 0


def test_co_occurring_signals_pace_shares_and_the_latest_record() -> None:
    events = [
        ev(1, 0, text="调解未果"),
        ev(2, 30, "grid", "已失业,称活不下去", attrs={"satisfaction": "dissatisfied"}),
        ev(3, 60, "grid", "调解成功", attrs={"satisfaction": "satisfied"}),
        ev(4, 62, "petition", "扬言报复", attrs={"level_reached": "district", "visit_count": 1}),
    ]
    f = feat(events)
    assert f["word_families"] == 4  # failed, stress, despair, threat (no extreme words)
    assert f["interval_shrink"] > 0  # 2 days since the last contact against about 20 on average
    assert f["dissatisfied_share"] == 0.5 and f["failed_share"] == 0.5 and f["resolved_rate"] == 0.25
    assert f["last_stage"] == 2 and f["last_words"] == 1
    quiet = feat([*events, ev(5, 63, "hotline", "咨询")])
    assert quiet["last_stage"] == 0 and quiet["last_words"] == 0


def test_states_stored_before_the_latest_record_keys_still_score() -> None:
    s = observe(init_state(), ev(1, 0, text="扬言"), P)
    old = {k: v for k, v in s.items() if k not in ("last_stage", "last_words")}
    f = dict(zip(FEATURES, features(old, P), strict=True))
    assert f["last_stage"] == 0 and f["last_words"] == 0 and f["word_families"] == 1
