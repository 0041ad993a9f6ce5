"""An independent generator of labelled case histories (test data for the case model, issue 12).

"Don't grade your own homework": the district simulator (warning/simulate/) and the case model
were written together, so a model that does well on the simulator may only have learnt the
simulator. This generator shares no code, phrase list or rule with warning/simulate/ (or with
the detector's word lists) and tells its story differently: each case is a weekly **state
machine** (calm → agitated → crisis) driven by an unresolved grievance that grows with every
failed mediation and shrinks with every partial success, by the person's vulnerability (debts,
illness, a broken marriage) and by a temperament that sets how loudly they complain. Contacts
are Poisson per week by state; the channel depends on state and temperament; a crisis week ends
in an extreme outcome with some hazard, a calm week in settlement with another. So risk is a
path, not a number drawn up front: two cases with the same counts can differ in timing.

Writes ``grid-reports.jsonl``, ``hotline-calls.jsonl``, ``petitions.jsonl`` (records valid for
warning.core.schemas v1) and ``case-labels.csv``; no background noise (case records only).

Run: ``.venv/bin/python bench/case_histories.py OUT_DIR [--seed 11] [--years 3] [--cases 900]``
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TZ = timezone(timedelta(hours=8))
START = datetime(2023, 1, 2, tzinfo=TZ)
STATES = ("calm", "agitated", "crisis")
KINDS = {  # category: (share, base grievance, department, what people say)
    "family": (0.18, 0.9, "妇联", ("夫妻长期不和", "离婚后抚养费不给", "老人赡养无人管")),
    "neighbour": (0.22, 0.3, "司法局", ("隔壁装修吵闹", "邻居乱搭乱建挡光", "楼上下水管道渗漏")),
    "debt": (0.16, 0.8, "法院", ("借出去的钱要不回来", "对方欠钱跑路", "担保被连带追债")),
    "labour": (0.16, 0.6, "人社局", ("工地老板拖欠工钱", "被无故辞退没有补偿", "工伤没人赔")),
    "land": (0.1, 0.7, "自然资源局", ("拆迁补偿太低", "宅基地被人占了", "承包地被收回")),
    "lending": (
        0.08,
        0.7,
        "金融工作局",
        (
            "理财平台爆雷血本无归",
            "高利贷催收上门",
        ),
    ),
    "medical": (
        0.1,
        0.5,
        "卫健委",
        (
            "手术后落下残疾",
            "医院误诊耽误治疗",
        ),
    ),
}
LOUD = ("再不管我就去市里告", "我跟他没完", "你们看着办吧", "我要找媒体曝光", "逼急了我什么都干得出来")
DARK = ("实在熬不下去了", "我这条命不要了", "不如死了算了", "一家人没法活了")
VIOLENT = ("我要弄死他", "大不了一起死", "准备了汽油", "我要从楼上跳下去")
HARD = ("老婆跟我离了", "厂子倒闭没了工作", "孩子重病要花钱", "外面欠了十几万")
MEDIATION_BAD = ("调解员组织双方见面，没谈拢", "对方不到场，调解未果", "双方分歧太大未达成协议")
MEDIATION_OK = ("双方各让一步，达成初步意见", "对方同意先付一部分")
BAD_END = ("当事人将对方打伤，派出所已立案", "当事人在政府门口堵路闹访", "当事人服药自杀未遂送医")
GOOD_END = ("双方签订调解协议书，纠纷了结", "款项已结清，当事人撤回投诉")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


class Place:
    """A tiny geography of its own: 6 streets × 4 communities × 5 grids, codes as units expects."""

    def __init__(self, rng: random.Random) -> None:
        self.grids = [f"S{s:02d}-C{c:02d}-G{g:02d}" for s in range(1, 7) for c in range(1, 5) for g in range(1, 6)]
        self.rng = rng

    def location(self, grid: str) -> dict[str, str]:
        street, comm, _ = grid.split("-")
        return {"street": street, "community": f"{street}-{comm}", "grid_id": grid}


class Case:
    """One dispute walked week by week until it settles, explodes or the run ends."""

    def __init__(self, rng: random.Random, ref: str, start: datetime, place: Place) -> None:
        self.rng, self.ref, self.start = rng, ref, start
        cats = list(KINDS)
        self.cat = rng.choices(cats, weights=[KINDS[c][0] for c in cats])[0]
        self.grievance = KINDS[self.cat][1] + rng.expovariate(2.0)
        self.vulnerable = rng.random() < 0.25
        self.loudness = rng.random() ** 2  # most people are quiet, a few shout
        self.frequent = rng.random() < 0.1  # calls every week whatever happens
        self.state = 0
        self.grid = rng.choice(place.grids)
        self.place = place
        self.person = (rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), self._id(), self._phone())
        self.other = rng.choice(SURNAMES) + rng.choice(GIVEN)
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.level = 0
        self.petitions = 0
        self.calls = 0
        self.headcount = rng.randint(4, 12) if self.cat in ("labour", "land", "lending") and rng.random() < 0.4 else 1

    def _id(self) -> str:
        return "".join(str(self.rng.randint(0, 9)) for _ in range(17)) + self.rng.choice("0123456789X")

    def _phone(self) -> str:
        return "1" + self.rng.choice("3589") + "".join(str(self.rng.randint(0, 9)) for _ in range(9))

    def step_state(self) -> None:
        """Weekly transition: grievance and vulnerability push up, time and luck pull down."""
        push = 0.35 * self.grievance + 0.5 * self.vulnerable - 0.9
        r = self.rng.random()
        if r < 1 / (1 + math.exp(-push)) * 0.25 and self.state < 2:
            self.state += 1
        elif r > 0.8 and self.state > 0:
            self.state -= 1

    def week(self, t: datetime) -> str | None:
        """Contacts of one week; returns "bad" / "good" when the case ends this week."""
        rate = (0.4, 1.1, 2.0)[self.state] + (1.2 if self.frequent else 0.0)
        for _ in range(_poisson(self.rng, rate)):
            self.contact(t + timedelta(hours=self.rng.uniform(8, 160)))
        if self.state == 2 and self.rng.random() < 0.012 + 0.03 * self.vulnerable + 0.008 * self.grievance:
            return "bad"
        if self.state == 0 and self.rng.random() < 0.15 / (1 + 0.3 * self.grievance):
            return "good"
        return None

    def words(self) -> str:
        rng, out = self.rng, []
        if rng.random() < 0.05 + 0.4 * self.loudness + 0.1 * self.state:
            out.append(rng.choice(LOUD))
        if rng.random() < (0.02 + 0.03 * self.loudness) * (1 + 2 * (self.state == 2)):
            out.append(rng.choice(VIOLENT))
        if rng.random() < 0.01 + 0.12 * self.vulnerable * self.state:
            out.append(rng.choice(DARK))
        if self.vulnerable and rng.random() < 0.3:
            out.append(rng.choice(HARD))
        return "，".join(out)

    def contact(self, t: datetime) -> None:
        """One record; the channel climbs with the state and the petition level with persistence."""
        rng = self.rng
        w = self.words()
        gist = rng.choice(KINDS[self.cat][3])
        p_petition = (0.05, 0.25, 0.45)[self.state] + (0.2 if self.frequent else 0.0)
        if rng.random() < p_petition:
            self.petitions += 1
            if self.petitions > 1 and rng.random() < 0.2 + 0.15 * self.state:
                self.level = min(3, self.level + 1)
            self.records.append(("petition", self._petition(t, gist, w)))
        elif rng.random() < 0.5:
            ok = rng.random() < 0.45 - 0.12 * self.state
            self.grievance = max(0.0, self.grievance + (-0.3 if ok else 0.35))
            note = rng.choice(MEDIATION_OK if ok else MEDIATION_BAD)
            self.records.append(("grid", self._grid(t, f"{gist}，{note}" + (f"，当事人说{w}" if w else ""))))
        else:
            self.calls += 1
            self.records.append(("hotline", self._call(t, gist, w)))

    def _common(self, t: datetime, text: str, role_other: bool = True) -> dict[str, Any]:
        name, idn, phone = self.person
        parties: list[dict[str, Any]] = [{"role": "complainant", "name": name, "id_number": idn, "phone": phone}]
        if role_other:
            parties.append({"role": "respondent", "name": self.other})
        return {
            "schema_version": 1,
            "occurred_at": t.isoformat(),
            "location": self.place.location(self.grid),
            "category": self.cat,
            "subcategory": "",
            "parties": parties,
            "headcount": self.headcount,
            "text": text,
            "case_ref": self.ref,
        }

    def _grid(self, t: datetime, text: str) -> dict[str, Any]:
        rec = self._common(t, text)
        rec.update(report_id=f"IG{len(self.records):03d}{self.ref}", worker_id=f"W{self.grid[-2:]}",
                   severity=("minor", "major", "hard")[self.state], solved_in_grid=False)  # fmt: skip
        return rec

    def _call(self, t: datetime, gist: str, w: str) -> dict[str, Any]:
        rec = self._common(t, f"来电称{gist}" + (f"。原话：{w}" if w else ""))
        sat = self.rng.choice(("satisfied", "neutral", "dissatisfied", "dissatisfied"))
        rec.update(ticket_no=f"IH{len(self.records):03d}{self.ref}", repeat_count=self.calls - 1,
                   transferred_to=_dept(self.cat), medium=self.rng.choice(("phone", "app", "wechat")),
                   due_at=(t + timedelta(days=5)).isoformat())  # fmt: skip
        if self.calls > 1:
            rec["satisfaction"] = sat
        return rec

    def _petition(self, t: datetime, gist: str, w: str) -> dict[str, Any]:
        rec = self._common(t, w)
        rec.update(case_no=f"IP{self.petitions:02d}{self.ref}", form=self.rng.choice(("letter", "visit", "online")),
                   is_repeat=self.petitions > 1, visit_count=self.petitions,
                   level_reached=("district", "city", "province", "national")[self.level], demand=f"要求解决{gist}",
                   responsible_unit=_dept(self.cat), lead_official=self.level > 1,
                   deadline=(t + timedelta(days=60)).isoformat(), backlog=self.petitions > 4)  # fmt: skip
        return rec


def _dept(cat: str) -> str:
    return KINDS[cat][2]


def _poisson(rng: random.Random, lam: float) -> int:
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p < limit:
            return n
        n += 1


def generate(out: Path, seed: int = 11, years: int = 3, cases_per_year: int = 900) -> dict[str, Any]:
    """Write the three input files and case-labels.csv; return counts."""
    rng = random.Random(f"independent-cases:{seed}")
    place = Place(rng)
    end = START + timedelta(days=365 * years)
    files: dict[str, list[tuple[str, dict[str, Any]]]] = {"grid": [], "hotline": [], "petition": []}
    labels = []
    for i in range(cases_per_year * years):
        start = START + timedelta(days=rng.uniform(0, 365 * years - 30))
        case = Case(rng, f"IC{seed:02d}{i:06d}", start, place)
        case.contact(start)
        t, outcome = start, None
        while outcome is None and t < end:
            t += timedelta(days=7)
            case.step_state()
            outcome = case.week(t)
        if outcome is None:
            continue  # unresolved at the end of the run: no label
        decided = t + timedelta(days=7, hours=rng.uniform(1, 24))
        last = max(datetime.fromisoformat(r["occurred_at"]) for _, r in case.records)
        decided = max(decided, last + timedelta(hours=2))
        end_text = rng.choice(BAD_END if outcome == "bad" else GOOD_END)
        case.records.append(("grid", case._grid(decided, end_text)))
        for channel, rec in case.records:
            files[channel].append((rec["occurred_at"], rec))
        labels.append((case.ref, int(outcome == "bad"), decided.isoformat()))
    out.mkdir(parents=True, exist_ok=True)
    names = {"grid": "grid-reports.jsonl", "hotline": "hotline-calls.jsonl", "petition": "petitions.jsonl"}
    for channel, recs in files.items():
        recs.sort(key=lambda r: datetime.fromisoformat(r[0]))
        with (out / names[channel]).open("w", encoding="utf-8") as fh:
            for _, rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with (out / "case-labels.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("case_ref", "label", "decided_at"))
        w.writerows(sorted(labels))
    return {"cases": len(labels), "positives": sum(lab for _, lab, _ in labels),
            "records": {c: len(v) for c, v in files.items()}}  # fmt: skip


def main() -> None:
    """Command line: write one independent data set."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--cases", type=int, default=900, help="cases started per year")
    a = ap.parse_args()
    print(json.dumps(generate(a.out, a.seed, a.years, a.cases), ensure_ascii=False))


if __name__ == "__main__":
    main()
