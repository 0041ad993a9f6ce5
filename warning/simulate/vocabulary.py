"""The words records use for groups and tension, shared by ordinary records and incidents.

Nothing here is taken from the detectors or the thresholds file: these are the simulator's own
phrases for how residents, grid workers and 12345 operators describe a crowd or an angry
party. Ordinary records and injected incidents draw from the *same* lists through the same
functions; an incident differs only in how often its records use them (the difficulty knobs)
and in how many records arrive where and when. So no phrase, flag or field value marks a
record as injected, and a detector has to find the cluster, not the vocabulary.

Some clauses contain words a mass-incident rule would look for (聚集, 堵, 横幅, 静坐, 上访);
many do not (讨说法, 推搡, 不肯离开, 情绪激动): people describe the same scene in many ways.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from warning.core.taxonomy import Channel

# who the group is, per category
ACTOR: Final[dict[str, tuple[str, ...]]] = {
    "neighbour": ("居民", "邻居"),
    "family": ("亲属", "家属"),
    "debt": ("债权人",),
    "lending": ("借款人", "出借人"),
    "labour": ("工人", "农民工", "员工"),
    "property": ("业主",),
    "land": ("村民",),
    "building": ("住户", "居民"),
    "environment": ("居民",),
    "medical": ("患者家属",),
    "education": ("家长", "学员"),
    "investor": ("投资人", "群众"),
    "membership": ("村民", "妇女"),
    "sea": ("渔民", "船员"),
    "traffic": ("当事人", "群众"),
    "other": ("群众",),
}
# where a group stands, per category
PLACE: Final[dict[str, tuple[str, ...]]] = {
    "labour": ("厂门口", "工地", "公司门口"),
    "land": ("村口", "村委会", "施工现场"),
    "property": ("物业办公室", "小区门口", "售楼处"),
    "investor": ("公司门口", "办公楼前"),
    "medical": ("医院门诊大厅", "医院门口"),
    "sea": ("码头",),
    "environment": ("小区门口", "厂区门口"),
    "education": ("培训机构门口",),
    "membership": ("村委会",),
    "building": ("楼下",),
}
DEFAULT_PLACE: Final = ("现场", "门口")

# "how many": a grid worker counts, a caller estimates, an office registers
GROUP_GRID: Final = ("现场约{n}人", "涉及{actor}{n}人", "{n}余名{actor}到场", "{actor}约{n}人", "共{n}户{actor}反映")
GROUP_HOTLINE: Final = ("称现场有{n}多名{actor}", "称约{n}名{actor}在场", "称有{n}余人", "涉及{n}户{actor}")
GROUP_PETITION: Final = ("集体访", "群众集体上访", "{n}人联名信访", "多名{actor}集体反映", "{actor}代表{n}人来访")

# tension: a broad vocabulary, only part of it the words a keyword rule knows
MASS: Final = (
    "{actor}在{place}聚集",
    "有人拉横幅",
    "{actor}堵在{place}不肯离开",
    "部分{actor}堵路",
    "现场有人围堵工作人员",
    "{actor}在{place}静坐",
    "扬言要集体上访",
    "称要去讨说法",
    "双方发生推搡",
    "围观群众较多",
    "情绪激动",
    "现场情绪激动",
    "扬言不解决就去市里反映",
    "{actor}聚在{place}讨要说法",
    "要求负责人出面",
    "人越来越多",
    "{actor}结伴上门讨要",
    "阻止对方离开",
)
# how the two commonest shared grievances are put: half of their tense records say it this way
# (frequent enough that ordinary records of the category use every one of these within weeks)
MASS_BY_CATEGORY: Final[dict[str, tuple[str, ...]]] = {
    "labour": ("{actor}上门讨薪", "讨薪{actor}情绪激动"),
    "property": ("业主集体维权", "业主在群里相约维权"),
}


@dataclass(frozen=True, slots=True)
class Voice:
    """How a record speaks: people it says are involved, and whether it uses a tension phrase."""

    headcount: int = 1
    tense: bool = False

    @property
    def group(self) -> bool:
        """A group of five or more (what grid apps flag as a gathering)."""
        return self.headcount >= 5

    @property
    def loud(self) -> bool:
        """A record an operator would mark urgent more often."""
        return self.tense or self.group


def log_uniform(rng: random.Random, lo: float, hi: float) -> int:
    """A whole number log-uniform in [lo, hi]: small groups are common, big ones rare."""
    return max(1, round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def ordinary_group(rng: random.Random) -> int:
    """People in an ordinary group complaint: 2-3 mostly, a heavy tail up to ~100."""
    return min(100, 2 + int(2 * math.expm1(rng.expovariate(1 / 0.75))))


def background_voice(rng: random.Random, headcount_p: float, keyword_p: float) -> Voice:
    """The voice of an ordinary record."""
    head = ordinary_group(rng) if rng.random() < headcount_p else 1
    return Voice(head, rng.random() < keyword_p)


def _slots(rng: random.Random, category: str, n: int) -> dict[str, object]:
    return {
        "actor": rng.choice(ACTOR.get(category, ACTOR["other"])),
        "place": rng.choice(PLACE.get(category, DEFAULT_PLACE)),
        "n": n,
    }


def tension(rng: random.Random, category: str) -> str:
    """One tension clause for a record of `category`."""
    own = MASS_BY_CATEGORY.get(category)
    pool = own if own and rng.random() < 0.5 else MASS
    return rng.choice(pool).format(**_slots(rng, category, 0))


def group_clause(rng: random.Random, channel: Channel, category: str, headcount: int) -> str:
    """How `channel` writes that `headcount` people are involved."""
    pool = {"grid": GROUP_GRID, "hotline": GROUP_HOTLINE, "petition": GROUP_PETITION}[channel]
    return rng.choice(pool).format(**_slots(rng, category, headcount))


def compose(rng: random.Random, channel: Channel, category: str, base: str, voice: Voice) -> str:
    """`base` plus the clauses `voice` asks for (a group count, a tension phrase)."""
    parts = [base] if base else []
    if voice.headcount > 1 and (voice.group or rng.random() < 0.5):
        parts.append(group_clause(rng, channel, category, voice.headcount))
    if voice.tense:
        parts.append(tension(rng, category))
    return "，".join(parts)
