"""Case histories with labels (个案): who turns extreme, who settles, and the records in between.

Ground truth for the case model (issue 12): each case has a hidden risk, a temperament and a
life situation; its records (12345 calls, grid mediations, petitions) are drawn from those,
and its outcome (``label`` 1 = turned extreme or escalated to a serious outcome, 0 = settled)
from the same hidden variables, never from the records. ``case-labels.csv`` gets one line per
case: ``case_ref,label,decided_at`` where ``decided_at`` is when the outcome became known (an
outcome record is written then; features must come from records strictly before it).

Difficulty on purpose (so no single indicator separates and a 3-feature baseline does not
look as good as a model):

* **confounders** — chronic petitioners (老上访户) contact often, climb levels, get backlog
  flags and vent, yet rarely turn extreme; ventilators use threat words and settle;
* **quiet high-risk cases** — a share of the positives make few contacts, never petition, and
  show only despair and life-stress words, or fall silent and then come back;
* **weak words** — threat words appear in settled cases too, and positives often never use one;
* **drift between years** — year by year hotline app use and online petitions rise, the base
  rate moves, and threat phrasing shifts to words no fixed list has seen;
* **label noise** — some settled-looking cases still turn extreme (the records never told).

The phrases here are this module's own; nothing is imported from detectors or thresholds.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from warning.simulate import background as bg
from warning.simulate import channels as ch
from warning.simulate.incidents import DAY, HOUR, Incident, Planner, _day_of

PER_YEAR: Final = 900
CATEGORY_RISK: Final[dict[str, float]] = {
    "family": 0.45,
    "debt": 0.35,
    "lending": 0.25,
    "land": 0.15,
    "labour": 0.05,
    "medical": 0.0,
    "neighbour": -0.2,
}
CATEGORY_WEIGHT: Final[dict[str, float]] = {
    "family": 0.2,
    "debt": 0.16,
    "lending": 0.08,
    "land": 0.1,
    "labour": 0.16,
    "medical": 0.06,
    "neighbour": 0.24,
}
YEAR_SHIFT: Final = (0.0, 0.25, -0.15)  # base-rate drift per simulated year (then repeats)

# the simulator's own vocabulary (not the detector's lists)
ANGRY: Final = ("扬言要讨个说法", "称要报复对方", "扬言闹大", "称不会放过对方", "扬言去市里上访", "骂骂咧咧称走着瞧")
ANGRY_NEW: Final = ("称要让对方付出代价", "说迟早出事", "称大不了鱼死网破")  # year-3 phrasing drift
EXTREME: Final = ("称不解决就同归于尽", "扬言要跳楼", "称要带汽油去讨说法", "称要拿刀找对方", "扬言报复社会")
DESPAIR: Final = ("称活不下去了", "说不想活了", "称走投无路", "情绪低落，称一了百了")
STRESS: Final = ("本人已失业", "近期离婚", "欠债较多", "家人患病住院", "下岗在家", "看病欠下外债")
FAILED: Final = ("组织调解未果", "双方未达成一致", "调解不成，对方拒不履行", "协商未果")
PROGRESS: Final = ("已约双方调解，初步达成意向", "正在协调处理", "已向当事人解释政策")
OUTCOME_BAD: Final = (
    "当事人与对方发生肢体冲突致伤，已移交公安",
    "当事人到区政府门前聚集滋事，已处置",
    "当事人持械到对方住处，民警到场处置",
    "当事人出现自伤行为，已送医",
    "纠纷激化为刑事案件(民转刑)",
)
OUTCOME_GOOD: Final = ("经调解双方达成协议，已化解", "当事人表示满意，息诉罢访", "已履行协议，纠纷化解")


@dataclass
class CaseIncident(Incident):
    """A case incident with its outcome: ``label`` and ``decided_at`` (epoch seconds)."""

    label: int = 0
    decided_at: int = 0


@dataclass(frozen=True, slots=True)
class Hidden:
    """What drives one case and is never written into a record."""

    risk: float
    vent: float
    chronic: bool
    stressed: bool
    quiet: bool
    year: int


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _hidden(rng: random.Random, year: int, category: str) -> tuple[Hidden, int]:
    risk = rng.gauss(0.0, 1.0)
    chronic = rng.random() < 0.12
    stressed = rng.random() < _sigmoid(-1.4 + 1.0 * risk)
    logit = -3.3 + 1.35 * risk + CATEGORY_RISK[category] + YEAR_SHIFT[year % 3] + 0.7 * stressed - 0.8 * chronic
    label = int(rng.random() < _sigmoid(logit))
    quiet = bool(label) and rng.random() < 0.25
    return Hidden(risk, rng.betavariate(1.2, 4.0), chronic, stressed, quiet, year), label


def _times(rng: random.Random, h: Hidden, label: int, n: int, span: float) -> list[float]:
    """Contact offsets in days: random, accelerating before a bad outcome, maybe a long silence."""
    if label and rng.random() < 0.65:
        gaps = [0.8**i for i in range(n)]
        offs = [sum(gaps[: i + 1]) / sum(gaps) * span for i in range(n)]
    else:
        offs = sorted(rng.uniform(0, span) for _ in range(n))
    if n >= 3 and rng.random() < 0.12 + 0.25 * (label and h.quiet) + 0.08 * label:
        k = rng.randint(1, min(3, n - 1))
        silence = rng.uniform(35, 120)
        offs = offs[:-k] + [o + silence for o in offs[-k:]]
    return [o - offs[0] for o in offs]


def _phrase(rng: random.Random, h: Hidden, label: int, f: float) -> str:
    """Words one record carries: anger, extreme, despair, stress (each by its own chance)."""
    late = label and f >= 0.6
    parts: list[str] = []
    if rng.random() < 0.03 + 0.22 * h.vent + 0.05 * _sigmoid(h.risk) + 0.2 * late:
        pool = ANGRY_NEW if h.year % 3 == 2 and rng.random() < 0.6 else ANGRY
        parts.append(rng.choice(pool))
    if rng.random() < 0.004 + 0.03 * h.vent + 0.1 * late:
        parts.append(rng.choice(EXTREME))
    if rng.random() < 0.01 + 0.04 * h.vent + (0.16 * _sigmoid(h.risk) if h.stressed else 0.0) + 0.1 * late:
        parts.append(rng.choice(DESPAIR))
    if rng.random() < (0.35 if h.stressed else 0.04):
        parts.append(rng.choice(STRESS))
    return "，".join(parts)


def _stage(rng: random.Random, h: Hidden, f: float, late: bool) -> str:
    if h.quiet:
        return "hotline" if rng.random() < 0.6 else "grid"
    p_pet = _sigmoid(-2.4 + 2.2 * f + 0.5 * h.risk + 1.6 * h.chronic + 0.9 * late)
    if rng.random() < p_pet:
        return "petition"
    # hotline apps take a larger share of the other contacts each year (drift)
    return "grid" if rng.random() < 0.45 - 0.07 * min(h.year, 2) else "hotline"


class _Writer:
    """Builds one case's drafts (keeps its counters: failed mediations, petitions, level)."""

    LEVELS: Final = ("district", "city", "province", "national")

    def __init__(self, pl: Planner, h: Hidden, label: int, category: str, case_ref: str) -> None:
        self.pl, self.h, self.label, self.cat, self.case_ref = pl, h, label, category, case_ref
        rng = pl.rng
        self.sub = rng.choice(ch.SUBCATEGORIES[category])
        self.p, self.q = pl.people.person(), pl.people.person()
        self.home = pl.ctx.grid_for(category, rng)
        self.group = rng.random() < (0.35 if category in ("labour", "land") else 0.05)
        self.headcount = rng.randint(3, 8) if self.group else 1
        self.petitions = 0
        self.level = 0
        self.last = 0

    def _t(self, t: int) -> int:
        # a case's records are strictly ordered, so visit and repeat counts rise with time
        t = max(t, self.last + self.pl.rng.randint(1800, 4 * HOUR))
        self.last = t
        return t

    def _grow(self, f: float) -> int:
        if self.group and self.label and f > 0.5 and self.pl.rng.random() < 0.5:
            self.headcount = min(60, int(self.headcount * self.pl.rng.uniform(1.3, 2.5)))
        elif self.group and self.pl.rng.random() < 0.2:
            self.headcount = max(2, self.headcount + self.pl.rng.randint(-2, 4))
        return self.headcount

    def record(self, i: int, f: float, day_t: int) -> ch.Draft:
        """The i-th contact at fraction `f` of the case, on the day starting at `day_t`."""
        pl, h, rng = self.pl, self.h, self.pl.rng
        words = _phrase(rng, h, self.label, f)
        late = bool(self.label) and f >= 0.6
        stage = _stage(rng, h, f, late)
        resp = ch.person_in("respondent", self.q.name)
        day = _day_of(day_t)
        if stage == "hotline":
            t = self._t(bg.draw_time(rng, day, self.cat))
            text = ch.fill(rng.choice(self.sub.hotline), rng, self.q.name) + (f"，{words}" if words else "")
            dissatisfied = rng.random() < _sigmoid(-0.9 + 0.8 * h.risk + 0.5 * h.chronic + 0.6 * late)
            return ch.hotline_record(
                rng, t, self.home, self.cat, self.sub.code, text, [pl.as_caller(self.p, 0.2), resp],
                headcount=self._grow(f), repeat_count=i, request_type="complaint",
                urgent=bool(words) and rng.random() < 0.5,
                satisfaction=("dissatisfied" if dissatisfied else rng.choice(("satisfied", "neutral", None)))
                if i else None,
                case_ref=self.case_ref,
            )  # fmt: skip
        if stage == "grid":
            t = self._t(bg.draw_time(rng, day, self.cat, office=True))
            failed = rng.random() < _sigmoid(-0.6 + 0.7 * h.risk + 0.8 * h.chronic + 0.8 * late)
            text = ch.fill(rng.choice(self.sub.grid), rng, self.q.name, pl.ctx.comm_names.get(self.home.community, ""))
            text += "，" + rng.choice(FAILED if failed else PROGRESS) + (f"，当事人{words}" if words else "")
            return ch.grid_record(
                rng, t, self.home, self.cat, self.sub.code, text,
                [pl.as_resident(self.p, 0.2), pl.as_resident(self.q, 0.1, "respondent")],
                headcount=self._grow(f), severity="major" if words else rng.choice(("minor", "major")),
                solved=False, case_ref=self.case_ref,
            )  # fmt: skip
        self.petitions += 1
        if self.petitions > 1 and rng.random() < _sigmoid(-1.3 + 0.5 * h.risk + 1.1 * h.chronic + 0.8 * late):
            self.level = min(self.level + 1, 3 if rng.random() < 0.15 else 2)
        t = self._t(bg.draw_time(rng, pl.next_workday(day - timedelta(days=1)), self.cat, office=True))
        online = rng.random() < 0.25 + 0.15 * min(h.year, 2)  # online petitions grow each year
        return ch.petition_record(
            rng, t, self.home, self.cat, self.sub.code,
            ch.fill(rng.choice(self.sub.demand), rng, self.q.name) + (f"；{words}" if words else ""),
            [pl.as_petitioner(self.p, 0.15), resp],
            "online" if online else rng.choice(("visit", "letter")),
            headcount=self._grow(f), is_repeat=self.petitions > 1, visit_count=self.petitions,
            level=self.LEVELS[self.level], backlog=f > 0.5 and (h.chronic or rng.random() < 0.1),
            lead_official=self.level >= 1 and rng.random() < 0.5, case_ref=self.case_ref,
        )  # fmt: skip

    def outcome(self, t: int) -> ch.Draft:
        """The record that makes the outcome known (at ``decided_at``)."""
        rng = self.pl.rng
        text = rng.choice(OUTCOME_BAD if self.label else OUTCOME_GOOD)
        return ch.grid_record(
            rng, t, self.home, self.cat, self.sub.code, text,
            [self.pl.as_resident(self.p, 0.1), self.pl.as_resident(self.q, 0.1, "respondent")],
            headcount=self.headcount, severity="hard" if self.label else "minor",
            solved=not self.label, case_ref=self.case_ref,
        )  # fmt: skip


def case_history(pl: Planner) -> CaseIncident | None:
    """One case from first contact to its outcome, with its label."""
    rng = pl.rng
    cat = rng.choices(list(CATEGORY_WEIGHT), weights=list(CATEGORY_WEIGHT.values()))[0]
    span = min(300.0, math.exp(rng.gauss(math.log(40), 0.8)))
    day = pl.start_day(int(span) + 20)
    year = (day - pl.ctx.first).days // 365
    h, label = _hidden(rng, year, cat)
    lam = 2.2 * math.exp(0.4 * h.risk) * (3.0 if h.chronic else 1.0) * (0.35 if h.quiet else 1.0)
    n = 1 + min(40, bg.poisson(rng, lam))
    w = _Writer(pl, h, label, cat, pl.case_ref(day.year))
    inc = CaseIncident(
        "case",
        "extreme" if label else "settled",
        w.home.code,
        w.home.street,
        cat,
        grid_id=w.home.code,
        person_keys=[w.p.key, w.q.key],
        case_ref=w.case_ref,
        expected_level="red" if label else None,
        negative=not label,
        label=label,
    )
    start = bg.day_start(day)
    offs = _times(rng, h, label, n, span)
    for i, off in enumerate(offs):
        inc.drafts.append(w.record(i, i / max(1, n - 1), start + int(off * DAY)))
    gap = rng.expovariate(1 / (5.0 if label else 7.0)) * DAY + 2 * HOUR
    inc.decided_at = w.last + int(gap)
    inc.drafts.append(w.outcome(inc.decided_at))
    inc.notes = f"{n} contacts over {span:.0f} days; chronic={h.chronic} quiet={h.quiet} stressed={h.stressed}"
    kept = pl.keep(inc)
    if kept is None or not pl.in_range(inc.decided_at) or len(inc.drafts) < 2:
        return None  # an outcome outside the run is unknown: no label, no case
    return inc


def case_histories(pl: Planner, frac: float) -> list[Incident | None]:
    """About `PER_YEAR` cases per simulated year (scaled by the incident intensity `frac`)."""
    return [case_history(pl) for _ in range(round(PER_YEAR * frac))]


def write_labels(path: Path, incidents: list[Incident]) -> int:
    """Write ``case-labels.csv`` (case_ref,label,decided_at) for every labelled case; return the count."""
    rows = sorted((i.case_ref or "", i.label, ch.iso(i.decided_at)) for i in incidents if isinstance(i, CaseIncident))
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(("case_ref", "label", "decided_at"))
        out.writerows(rows)
    return len(rows)
