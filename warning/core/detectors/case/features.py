"""Per-case state and the one feature function used by training, evaluation and the stream.

A case's state is one JSON dict (`observe` folds an event into it) and its features are a
fixed-order vector (`features`) read from that state at the time of the latest event. The
trainer (`warning.analysis.case_model`) replays each labelled case's events through exactly
these two functions, strictly before the label's ``decided_at``, so the model never sees a
feature the stream could not have computed at that moment (no leakage, no train/serve skew).

Why these features (reference/domain.md §1.4: 异动指标): contacts in 7/30/90 days and by channel;
how far the case climbed hotline → grid → petition and petition district → city → province →
Beijing, and how fast; repeat and collective visits and headcount growth; threat, despair and
extreme-behaviour words (weak alone: people vent), life-stress words (失业, 离婚, 欠债, 患病);
failed mediations and settlement signals; callback satisfaction; days open and beyond the
60-day petition answer limit (信访工作条例) — the event carries no deadline field, so "overdue"
is counted from the first petition; money at stake (amounts written in the text); long
silences followed by a sudden resumption. Added after the first model (issue 12, quality): how
many signal families co-occur (threat, despair, extreme, life stress, failed mediation: one
family alone is weak, several together are what the seeds call 异动), whether the latest gap is
shorter than the case's usual pace, the shares of dissatisfied callbacks and of failed against
successful mediations (raw counts grow with volume alone), contacts per month open, and what the
latest record was (channel, threat/despair/extreme words). Model v3: contacts per channel in 7
and 30 days (the issue's "by channel over 7/30/90 days"; 90 was there), an exponentially decayed
contact pace (about two weeks), how many of the last gaps shrank, despair / extreme / failed
mediation / dissatisfied callbacks within 30 days, threat / despair / life-stress shares of all
records, and the category (one indicator per taxonomy code: base rates differ by kind of
dispute). Every new state key is read with a default, so a state stored by an older engine
still scores. Tried and dropped (worse in time CV on the training years): the last three
records' petition / failed / dissatisfied shares against the case's own past.
Model v4 (`_interactions`): combinations an analyst reads together and a linear model cannot
form by itself — failed mediation × petition level, failure after reported progress, a silence
ended by a threat, life stress with despair — and recency: the last week against the 90-day
rate, decayed paces of loud and of petition records, how long ago the last loud record was,
levels climbed in 30 days. In time CV on the training years they are about neutral on the
simulator and slightly better on the independent generator (issue 12; see case_model).

Word lists are substring matches over the scrubbed text: every list entry is a multi-character
phrase (扬言, 同归于尽, 活不下去 ...), which a segmenter such as jieba would only split apart or
merge into longer tokens, so segmentation adds a dependency and no recall.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any, Final

from warning.core.events import Event
from warning.core.taxonomy import CATEGORIES

STAGE: Final[dict[str, int]] = {"hotline": 0, "grid": 1, "petition": 2}
"""Channel escalation order: a 12345 call, then a grid worker's mediation, then a petition."""
PETITION_RANK: Final[dict[str, int]] = {"district": 1, "city": 2, "province": 3, "national": 4}
"""Petition level reached (0 = no petition): 区 → 市 → 省 → 进京."""

DAY: Final = 86_400.0
_MONEY: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?元")
_RECENT_CAP: Final = 400  # contacts kept for the 90-day windows: far above any real case's pace
_PACE_DAYS: Final = 14.0  # decay time of the contact pace (`pace_14d`): about two weeks of memory
_RECENT_FAMILIES: Final = ("despair", "extreme", "failed", "dissat")  # families whose last time is kept
_LOUD_DAYS: Final = 30.0  # decay time of `loud_recency`: a threat a month ago counts about a third


@dataclass(frozen=True, slots=True)
class CaseParams:
    """Parameters of the case state and rules (thresholds ``[case]``); word lists are phrases."""

    threat_words: tuple[str, ...] = ("扬言", "报复", "讨说法", "要你好看", "不会放过", "走着瞧")
    despair_words: tuple[str, ...] = ("活不下去", "不想活", "没有活路", "走投无路", "一了百了", "绝望")
    extreme_words: tuple[str, ...] = (
        "同归于尽",
        "跳楼",
        "汽油",
        "自焚",
        "炸掉",
        "拿刀",
        "持刀",
        "杀了",
        "喝农药",
        "报复社会",
    )
    stress_words: tuple[str, ...] = ("失业", "下岗", "离婚", "欠债", "借钱", "患病", "生病", "住院", "癌症", "看病")
    failed_words: tuple[str, ...] = ("调解未果", "调解不成", "未达成", "协商未果", "拒不履行", "调解失败")
    resolved_words: tuple[str, ...] = ("已化解", "达成协议", "息诉罢访", "调解成功", "已解决")
    silence_days: float = 30.0
    overdue_days: float = 60.0
    score_bands: tuple[float, float, float, float] = (0.3, 0.5, 0.7, 0.85)
    burst_7d: int = 4
    rapid_levels_30d: int = 2
    collective_headcount: int = 5
    collective_growth: float = 2.0
    evidence_max: int = 20


FEATURES: Final[tuple[str, ...]] = (
    "contacts_total",
    "contacts_7d",
    "contacts_30d",
    "contacts_90d",
    "hotline_90d",
    "grid_90d",
    "petition_90d",
    "acceleration",
    "channel_stage",
    "channels_used",
    "petition_level",
    "level_ups",
    "escalation_speed",
    "repeat_records",
    "visit_count",
    "collective",
    "headcount_max",
    "headcount_growth",
    "threat_words",
    "despair_words",
    "extreme_words",
    "threat_recent",
    "life_stress",
    "failed_mediations",
    "resolved_signals",
    "dissatisfied",
    "satisfied",
    "days_open",
    "overdue",
    "backlog",
    "money",
    "max_silence",
    "resumed_after_silence",
    "gap_before_last",
    "lead_official",
    "settled",
    "severity_max",
    "complainants",
    "word_families",
    "interval_shrink",
    "dissatisfied_share",
    "failed_share",
    "resolved_rate",
    "intensity",
    "last_stage",
    "last_words",
    "hotline_7d",
    "hotline_30d",
    "grid_7d",
    "grid_30d",
    "petition_7d",
    "petition_30d",
    "pace_14d",
    "gaps_shrinking",
    "despair_recent",
    "extreme_recent",
    "failed_recent",
    "words_last3",
    "stress_share",
    "threat_share",
    "despair_share",
    "dissatisfied_recent",
    "surge_7d",
    "loud_pace_14d",
    "petition_pace_14d",
    "loud_recency",
    "failed_x_level",
    "failed_after_progress",
    "resumed_loud",
    "stress_x_despair",
    "level_ups_30d",
    *(f"category_{c}" for c in CATEGORIES),
)
"""The model's inputs, in order; an artefact trained on another list is refused at load."""

FEATURE_LABELS: Final[dict[str, str]] = {
    "contacts_total": "累计来电来访次数多",
    "contacts_7d": "近7天来电来访密集",
    "contacts_30d": "近30天来电来访多",
    "contacts_90d": "近90天来电来访多",
    "hotline_90d": "近90天12345来电多",
    "grid_90d": "近90天网格上报多",
    "petition_90d": "近90天信访多",
    "acceleration": "近期接触明显加快",
    "channel_stage": "已从热线升级到网格/信访",
    "channels_used": "多渠道反映",
    "petition_level": "信访层级高",
    "level_ups": "信访层级多次上升",
    "escalation_speed": "信访层级上升快",
    "repeat_records": "重复来电/重复信访多",
    "visit_count": "信访次数多",
    "collective": "出现集体访",
    "headcount_max": "参与人数多",
    "headcount_growth": "参与人数增加",
    "threat_words": "有扬言、威胁言语",
    "despair_words": "有绝望、轻生言语",
    "extreme_words": "有极端行为言语",
    "threat_recent": "近30天出现威胁言语",
    "life_stress": "有失业/离婚/欠债/患病等生活困境",
    "failed_mediations": "调解未果",
    "resolved_signals": "有化解进展",
    "dissatisfied": "回访不满意",
    "satisfied": "回访满意",
    "days_open": "案件久拖未结",
    "overdue": "信访超过办理期限",
    "backlog": "列为信访积案",
    "money": "涉及金额大",
    "max_silence": "曾长期沉寂",
    "resumed_after_silence": "沉寂后突然再次反映",
    "gap_before_last": "距上次反映间隔长",
    "lead_official": "已有包案领导",
    "settled": "已息诉罢访",
    "severity_max": "事件等级高",
    "complainants": "投诉人多",
    "word_families": "威胁、绝望、极端、生活困境、调解未果等多类信号同时出现",
    "interval_shrink": "最近一次反映间隔明显短于以往",
    "dissatisfied_share": "回访不满意占比高",
    "failed_share": "调解未果多于化解进展",
    "resolved_rate": "化解进展记录占比",
    "intensity": "立案以来反映频次高",
    "last_stage": "最近一次已是网格/信访渠道",
    "last_words": "最近一次反映含威胁、绝望或极端言语",
    "hotline_7d": "近7天12345来电多",
    "hotline_30d": "近30天12345来电多",
    "grid_7d": "近7天网格上报多",
    "grid_30d": "近30天网格上报多",
    "petition_7d": "近7天信访多",
    "petition_30d": "近30天信访多",
    "pace_14d": "近两周反映频率高",
    "gaps_shrinking": "最近几次反映间隔越来越短",
    "despair_recent": "近30天出现绝望、轻生言语",
    "extreme_recent": "近30天出现极端行为言语",
    "failed_recent": "近30天调解未果",
    "words_last3": "最近三次反映中多次出现威胁、绝望或极端言语",
    "stress_share": "多次反映生活困境",
    "threat_share": "威胁言语在反映中占比高",
    "despair_share": "绝望言语在反映中占比高",
    "dissatisfied_recent": "近30天回访不满意",
    "surge_7d": "近7天反映频率远高于近三个月平均",
    "loud_pace_14d": "近两周多次出现威胁、绝望或极端言语",
    "petition_pace_14d": "近两周信访频繁",
    "loud_recency": "刚刚出现威胁、绝望或极端言语",
    "failed_x_level": "调解未果且信访层级高",
    "failed_after_progress": "有化解进展后又调解未果(反复)",
    "resumed_loud": "沉寂后再次反映即出现威胁、绝望或极端言语",
    "stress_x_despair": "生活困境叠加绝望言语",
    "level_ups_30d": "近30天信访层级上升",
    **{f"category_{c}": f"纠纷类别：{name}" for c, (name, _dept) in CATEGORIES.items()},
}
"""What a duty officer reads when a feature pushes a score up (it says what is unusual)."""

BASELINE_FEATURES: Final[tuple[str, ...]] = ("contacts_total", "gap_before_last", "repeat_records")
"""The 3-feature logistic baseline of the issue: prior contacts, days since last contact, repeat."""


def init_state() -> dict[str, Any]:
    """Empty state of a case never seen."""
    return {
        "first": None,
        "last": None,
        "gap": 0.0,
        "max_gap": 0.0,
        "n": 0,
        "recent": [],
        "channels": [],
        "stage": -1,
        "level": 0,
        "level_t": [],
        "first_petition": None,
        "repeat": 0,
        "visits": 0,
        "collective": 0,
        "hc_first": 0,
        "hc_max": 0,
        "words": {"threat": 0, "despair": 0, "extreme": 0, "stress": 0, "failed": 0, "resolved": 0},
        "threat_last": None,
        "dissat": 0,
        "sat": 0,
        "money": 0.0,
        "backlog": False,
        "lead": False,
        "settled": False,
        "severity": 0,
        "complainants": [],
        "category": "",
        "grid": "",
        "evidence": [],
        "alerted": {"level": -1, "rules": []},
        "last_stage": 0,
        "last_words": 0,
        "seen_t": {},
        "pace": 0.0,
        "loud_pace": 0.0,
        "petition_pace": 0.0,
        "pace_t": None,
        "tail_words": [],
        "tail_gaps": [],
    }


def _hits(text: str, words: tuple[str, ...]) -> int:
    """1 when the text contains any of the phrases: one record counts once per word family."""
    return int(any(w in text for w in words))


def money_in(text: str) -> float:
    """The largest amount in yuan written in a text ("欠款12000元", "3.5万元"), 0 when none."""
    best = 0.0
    for number, wan in _MONEY.findall(text):
        best = max(best, float(number) * (10_000 if wan else 1))
    return best


def observe(state: dict[str, Any], event: Event, p: CaseParams) -> dict[str, Any]:
    """Fold one event into a copy of the case state (the input state is left unchanged)."""
    s = {**state, "words": dict(state["words"]), "alerted": state["alerted"]}
    t = event.occurred_at.timestamp()
    last = s["last"]
    s["gap"] = 0.0 if last is None else max(0.0, (t - last) / DAY)
    s["max_gap"] = max(s["max_gap"], s["gap"])
    s["first"] = t if s["first"] is None else min(s["first"], t)
    s["last"] = t if last is None else max(last, t)
    s["n"] += 1
    stage = STAGE.get(event.channel, 0)
    kept = [r for r in s["recent"] if r[0] > t - 90 * DAY][-_RECENT_CAP + 1 :]
    s["recent"] = [*kept, [t, stage]]
    s["channels"] = sorted({*s["channels"], event.channel})
    s["stage"] = max(s["stage"], stage)
    _petition(s, event, t)
    s["repeat"] += int("repeat" in event.flags)
    s["collective"] += int("collective" in event.flags or event.headcount >= p.collective_headcount)
    s["hc_first"] = s["hc_first"] or event.headcount
    s["hc_max"] = max(s["hc_max"], event.headcount)
    text = event.text
    words = s["words"]
    for family, lst in (
        ("threat", p.threat_words),
        ("despair", p.despair_words),
        ("extreme", p.extreme_words),
        ("stress", p.stress_words),
        ("failed", p.failed_words),
        ("resolved", p.resolved_words),
    ):
        words[family] += _hits(text, lst)
    if _hits(text, p.threat_words) or _hits(text, p.extreme_words):
        s["threat_last"] = t
    if last is None or t >= last:  # the latest record by event time (a late one does not replace it)
        s["last_stage"] = stage
        s["last_words"] = _hits(text, p.threat_words) or _hits(text, p.despair_words) or _hits(text, p.extreme_words)
    satisfaction = event.attrs.get("satisfaction")
    _recency(s, event, t, last, p)
    s["dissat"] += int(satisfaction == "dissatisfied")
    s["sat"] += int(satisfaction == "satisfied")
    s["money"] = max(s["money"], money_in(text))
    s["backlog"] = s["backlog"] or "backlog" in event.flags
    s["lead"] = s["lead"] or bool(event.attrs.get("lead_official"))
    s["settled"] = bool(event.attrs.get("settled")) if event.channel == "petition" else s["settled"]
    s["severity"] = max(s["severity"], event.severity)
    refs = [q.person_ref for q in event.parties if q.role == "complainant" and q.person_ref]
    s["complainants"] = sorted({*s["complainants"], *refs})[:50]
    s["category"] = event.category
    s["grid"] = event.location.grid_id
    s["evidence"] = [*s["evidence"], event.event_id][-p.evidence_max :]
    return s


def _recency(s: dict[str, Any], event: Event, t: float, last: float | None, p: CaseParams) -> None:
    """What the later features read: when each family was last seen, the last gaps and words, the pace.

    ``pace`` is an exponentially decayed contact count (time constant `_PACE_DAYS`): unlike a
    window count it does not jump when a contact leaves the window, and it reads "more often
    lately" without choosing one window. A late record (before ``last``) is folded in with
    its own decay, so the order of arrival does not change the value much.
    """
    text = event.text
    loud = _hits(text, p.threat_words) or _hits(text, p.despair_words) or _hits(text, p.extreme_words)
    hits = {
        "despair": _hits(text, p.despair_words),
        "extreme": _hits(text, p.extreme_words),
        "failed": _hits(text, p.failed_words),
        "dissat": int(event.attrs.get("satisfaction") == "dissatisfied"),
        "resolved": _hits(text, p.resolved_words),
        "loud": loud,
    }
    seen = dict(s.get("seen_t") or {})
    for family, hit in hits.items():
        if hit:
            seen[family] = max(t, seen.get(family, t))
    s["seen_t"] = seen
    now = t if last is None else max(last, t)
    pace_t = s.get("pace_t") or now
    decay, fresh = math.exp(-(now - pace_t) / (_PACE_DAYS * DAY)), math.exp(-(now - t) / (_PACE_DAYS * DAY))
    s["pace"] = s.get("pace", 0.0) * decay + fresh
    s["loud_pace"] = s.get("loud_pace", 0.0) * decay + fresh * loud
    s["petition_pace"] = s.get("petition_pace", 0.0) * decay + fresh * (event.channel == "petition")
    s["pace_t"] = now
    if last is None or t >= last:
        s["tail_words"] = [*(s.get("tail_words") or []), int(loud)][-3:]
        s["tail_gaps"] = [*(s.get("tail_gaps") or []), s["gap"]][-4:] if last is not None else []


def _petition(s: dict[str, Any], event: Event, t: float) -> None:
    """Petition level reached and when each new level was first reached."""
    if event.channel != "petition":
        return
    if s["first_petition"] is None:
        s["first_petition"] = t
    s["visits"] = max(s["visits"], int(event.attrs.get("visit_count", 1) or 1))
    rank = PETITION_RANK.get(str(event.attrs.get("level_reached", "district")), 1)
    if rank > s["level"]:
        s["level"] = rank
        s["level_t"] = [*s["level_t"], t]


def window_counts(s: dict[str, Any], t: float) -> dict[str, int]:
    """Contacts in the last 7/30/90 days, and per channel in 7/30/90 days, as of time `t`."""
    recent = s["recent"]
    out = {
        "c7": sum(1 for r in recent if r[0] > t - 7 * DAY),
        "c30": sum(1 for r in recent if r[0] > t - 30 * DAY),
        "c90": sum(1 for r in recent if r[0] > t - 90 * DAY),
    }
    for name, stage in STAGE.items():
        out[name] = sum(1 for r in recent if r[1] == stage and r[0] > t - 90 * DAY)
        for days in (7, 30):
            out[f"{name}_{days}"] = sum(1 for r in recent if r[1] == stage and r[0] > t - days * DAY)
    return out


def levels_within(s: dict[str, Any], t: float, days: float) -> int:
    """How many new petition levels were reached in the last `days` days."""
    return sum(1 for lt in s["level_t"] if lt > t - days * DAY)


def features(s: dict[str, Any], p: CaseParams) -> list[float]:
    """The feature vector (order of `FEATURES`) as of the case's latest event."""
    t = float(s["last"] or 0.0)
    w = window_counts(s, t)
    words = s["words"]
    open_days = (t - s["first"]) / DAY if s["first"] is not None else 0.0
    level_t = s["level_t"]
    climb_days = (level_t[-1] - s["first"]) / DAY if level_t else 0.0
    overdue = (t - s["first_petition"]) / DAY - p.overdue_days if s["first_petition"] is not None else 0.0
    lg = math.log1p
    n = max(1, s["n"])
    mean_gap = open_days / (n - 1) if n > 1 else 0.0
    families = ("threat", "despair", "extreme", "stress", "failed")
    values = {
        "contacts_total": lg(s["n"]),
        "contacts_7d": lg(w["c7"]),
        "contacts_30d": lg(w["c30"]),
        "contacts_90d": lg(w["c90"]),
        "hotline_90d": lg(w["hotline"]),
        "grid_90d": lg(w["grid"]),
        "petition_90d": lg(w["petition"]),
        "acceleration": lg(w["c30"]) - lg(w["c90"] / 3.0),
        "channel_stage": float(max(s["stage"], 0)),
        "channels_used": float(len(s["channels"])),
        "petition_level": float(s["level"]),
        "level_ups": float(max(0, len(level_t) - 1)),
        "escalation_speed": max(0, len(level_t) - 1) / max(1.0, climb_days / 30.0),
        "repeat_records": lg(s["repeat"]),
        "visit_count": lg(s["visits"]),
        "collective": float(s["collective"] > 0),
        "headcount_max": lg(s["hc_max"]),
        "headcount_growth": math.log(max(1, s["hc_max"]) / max(1, s["hc_first"])),
        "threat_words": lg(words["threat"]),
        "despair_words": lg(words["despair"]),
        "extreme_words": lg(words["extreme"]),
        "threat_recent": float(s["threat_last"] is not None and s["threat_last"] > t - 30 * DAY),
        "life_stress": lg(words["stress"]),
        "failed_mediations": lg(words["failed"]),
        "resolved_signals": lg(words["resolved"]),
        "dissatisfied": lg(s["dissat"]),
        "satisfied": lg(s["sat"]),
        "days_open": lg(open_days),
        "overdue": max(0.0, overdue) / 30.0,
        "backlog": float(s["backlog"]),
        "money": math.log10(1.0 + s["money"]),
        "max_silence": lg(s["max_gap"]),
        "resumed_after_silence": float(s["gap"] >= p.silence_days),
        "gap_before_last": lg(s["gap"]),
        "lead_official": float(s["lead"]),
        "settled": float(s["settled"]),
        "severity_max": float(s["severity"]),
        "complainants": lg(len(s["complainants"])),
        "word_families": float(sum(1 for f in families if words[f] > 0)),
        "interval_shrink": lg(mean_gap) - lg(s["gap"]) if n > 1 else 0.0,
        "dissatisfied_share": s["dissat"] / max(1, s["dissat"] + s["sat"]),
        "failed_share": words["failed"] / max(1, words["failed"] + words["resolved"]),
        "resolved_rate": words["resolved"] / n,
        "intensity": lg(n / max(1.0, open_days / 30.0)),
        "last_stage": float(s.get("last_stage", 0)),  # .get: states stored before these keys existed
        "last_words": float(s.get("last_words", 0)),
        **_recent_features(s, w, t, n, p),
        **{f"category_{c}": float(s["category"] == c) for c in CATEGORIES},
    }
    return [values[name] for name in FEATURES]


def _recent_features(s: dict[str, Any], w: dict[str, int], t: float, n: int, p: CaseParams) -> dict[str, float]:
    """Per-channel 7/30-day counts, pace, shrinking gaps, recent word families and word shares.

    Shares (a family's records over all records) separate "says it every time" from "said it
    once in forty calls", which a log count mixes up with volume. `gaps_shrinking` is how many
    of the last three gaps were shorter than the one before (0-3): escalation speeds up.
    """
    lg = math.log1p
    seen = s.get("seen_t") or {}
    gaps = s.get("tail_gaps") or []
    words = s["words"]
    decay = math.exp(-(t - (s.get("pace_t") or t)) / (_PACE_DAYS * DAY))
    pace = s.get("pace", 0.0) * decay
    out = {f"{name}_{days}d": lg(w[f"{name}_{days}"]) for name in STAGE for days in (7, 30)}
    out.update(
        {
            "pace_14d": lg(pace),
            "gaps_shrinking": float(sum(1 for a, b in itertools.pairwise(gaps) if b < a)),
            "words_last3": float(sum(s.get("tail_words") or [])),
            "stress_share": words["stress"] / n,
            "threat_share": words["threat"] / n,
            "despair_share": words["despair"] / n,
        }
    )
    for family in _RECENT_FAMILIES:
        name = "dissatisfied_recent" if family == "dissat" else f"{family}_recent"
        out[name] = float(family in seen and seen[family] > t - 30 * DAY)
    out.update(_interactions(s, w, t, decay, p))
    return out


def _interactions(s: dict[str, Any], w: dict[str, int], t: float, decay: float, p: CaseParams) -> dict[str, float]:
    """Model v4: recent surges and the combinations an analyst reads together (issue 12).

    A linear model adds its inputs up, so "failed mediation *and* a high petition level" or
    "silent for a month, then back with a threat" must be inputs of their own to weigh more than
    their parts. `surge_7d` is the last week's rate against the 90-day average (a sudden burst,
    not a busy case); the loud and petition paces decay like `pace_14d`; `loud_recency` is 1 right
    after a threat / despair / extreme record and fades over about a month (0 when never).
    """
    lg = math.log1p
    seen = s.get("seen_t") or {}
    words = s["words"]
    loud_t = seen.get("loud")
    failed_t, resolved_t = seen.get("failed"), seen.get("resolved")
    return {
        "surge_7d": lg(w["c7"]) - lg(w["c90"] * 7.0 / 90.0),
        "loud_pace_14d": lg(s.get("loud_pace", 0.0) * decay),
        "petition_pace_14d": lg(s.get("petition_pace", 0.0) * decay),
        "loud_recency": math.exp(-(t - loud_t) / (_LOUD_DAYS * DAY)) if loud_t is not None else 0.0,
        "failed_x_level": lg(words["failed"]) * float(s["level"]),
        "failed_after_progress": float(failed_t is not None and resolved_t is not None and failed_t > resolved_t),
        "resumed_loud": float(s["gap"] >= p.silence_days and bool(s.get("last_words", 0))),
        "stress_x_despair": float(words["stress"] > 0 and words["despair"] > 0),
        "level_ups_30d": float(levels_within(s, t, 30.0)),
    }
