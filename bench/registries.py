"""Independent person registries with ground truth, for measuring `warning link` (issue 11).

"Don't grade your own homework": this generator shares no code, name lists or corruption
rules with `warning.simulate` (which the relational detector is also evaluated on), and it
knows nothing of the tokens or the matcher. Two registries:

- ``chinese``: a hard registry of one district's residents as several departments export
  them - homophone and look-alike characters, traditional forms (whole names through opencc
  s2t, not a hand table), dropped or added given characters, nicknames and 称谓 (老王, 王阿姨,
  阿强), masked phones (155****9505), phones typed with a slip, ID numbers with one wrong
  digit, swapped neighbours or a lower-case x, missing fields, addresses written three ways;
  and the cases that must stay apart: twins (same surname, birth date, address, parents'
  phone), same-name strangers in one street, household phones and a few hub numbers (a
  property company's front desk, a village committee) that many people give.
- ``western``: given-family names with keyboard typos, transpositions, dropped letters,
  "Family, Given" order and initials, birth dates in several formats, street addresses and
  phones with formatting noise.

Each record is a dict of CSV cells plus ``_person``, the truth key (never written to the
CSV that `warning link` reads).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import opencc

# ---- Chinese ---------------------------------------------------------------------------------

FAMILY: Final = (
    "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高梁郑罗宋谢唐韩曹许邓萧冯曾程蔡彭潘"
    "袁于董余苏叶吕魏蒋田杜丁沈姜范江傅钟卢汪戴崔任陆廖"
)
FAMILY_W: Final = [max(1.0, 60.0 - 1.1 * i) for i in range(len(FAMILY))]
GIVEN: Final = (
    "志建国文明海军华平东晓小永德玉秀金春红英桂丽兰凤芳梅霞燕娟琴敏静"
    "婷雪慧佳欣怡宇浩然子涵梓轩博睿晨阳鑫磊勇刚强辉鹏飞波涛斌超"
)
# characters a clerk typing pinyin picks instead (own table: not the simulator's)
SOUND_ALIKE: Final[dict[str, str]] = {
    "志": "智至", "建": "健剑", "国": "帼", "文": "雯闻", "明": "铭茗", "海": "亥", "军": "均钧",
    "华": "桦骅", "平": "萍坪", "东": "冬栋", "晓": "筱", "永": "咏泳", "德": "得", "玉": "钰",
    "秀": "绣", "金": "锦", "春": "椿", "红": "鸿虹", "英": "莺瑛", "丽": "俐莉", "兰": "岚",
    "凤": "风", "芳": "舫", "梅": "媚", "霞": "遐", "燕": "艳", "娟": "涓", "琴": "芹", "敏": "闵",
    "静": "靖婧", "婷": "亭", "雪": "薛", "慧": "惠蕙", "佳": "嘉家", "欣": "馨昕", "怡": "宜仪",
    "宇": "雨羽", "浩": "皓昊", "然": "冉", "涵": "含晗", "轩": "萱", "博": "波", "睿": "瑞锐",
    "晨": "辰宸", "阳": "洋扬", "鑫": "新馨", "磊": "蕾", "勇": "涌", "刚": "钢", "强": "蔷",
    "辉": "晖", "鹏": "朋", "飞": "菲", "涛": "韬", "斌": "彬", "超": "潮",
    "萧": "肖", "徐": "许", "程": "成", "江": "姜", "于": "余", "戴": "代",
}  # fmt: skip
LOOK_ALIKE: Final[dict[str, str]] = {
    "玉": "王", "王": "玉", "春": "舂", "金": "全", "霞": "震", "晨": "震", "博": "搏", "睿": "叡",
    "凤": "风", "东": "车", "永": "水", "然": "燃", "斌": "赋", "梁": "粱", "曹": "曺", "戴": "载",
}  # fmt: skip
REGIONS: Final = ("330305", "330302", "330303", "330381", "330382", "330326", "330327", "522427", "513030")
STREETS: Final = ("灵昆街道", "东屏街道", "北岙街道", "霓屿街道", "元觉街道", "大门镇", "鹿西乡")
ROADS: Final = ("海滨路", "新城大道", "渔港路", "人民路", "环岛西路", "望海路", "中心街", "沙岙路")
HUBS: Final = ("057763456789", "15700001111", "057763311000", "13800577000")
_ID_W: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_S2T: Final = opencc.OpenCC("s2t")


@dataclass
class Resident:
    """One true person of the Chinese registry."""

    key: str
    name: str
    sex: str
    born: date
    id_number: str
    phone: str
    street: str
    address: str


def _check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_W, strict=True)) % 11]


def _id(rng: random.Random, born: date, sex: str, region: str | None = None, seq: int | None = None) -> str:
    s = seq if seq is not None else rng.randrange(0, 999)
    s = s - s % 2 + (1 if sex == "M" else 0)
    first17 = f"{region or rng.choice(REGIONS)}{born:%Y%m%d}{s % 1000:03d}"
    return first17 + _check(first17)


def _mobile(rng: random.Random) -> str:
    return rng.choice(("135", "139", "150", "158", "187", "189", "177", "199", "136")) + f"{rng.randrange(10**8):08d}"


def _address(rng: random.Random, street: str) -> str:
    house, block, unit = rng.randint(1, 300), rng.randint(1, 30), rng.randint(1, 4)
    return f"{street}{rng.choice(ROADS)}{house}号{block}幢{unit}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}室"


def _cn_name(rng: random.Random) -> str:
    family = rng.choices(FAMILY, FAMILY_W)[0]
    return family + "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))


def residents(rng: random.Random, n: int) -> list[Resident]:
    """`n` residents, with twins and same-name strangers planted among them."""
    out: list[Resident] = []
    while len(out) < n:
        sex = "M" if rng.random() < 0.5 else "F"
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        street = rng.choice(STREETS)
        r = Resident(
            f"C{len(out):06d}",
            _cn_name(rng),
            sex,
            born,
            _id(rng, born, sex),
            _mobile(rng),
            street,
            _address(rng, street),
        )
        out.append(r)
        roll = rng.random()
        if roll < 0.03:  # twins: one surname, one birth date, one home, one parent's phone
            sex2 = "M" if rng.random() < 0.5 else "F"
            seq = int(r.id_number[14:17]) + 2  # +2 keeps parity apart from the sex bit: never r's ID
            name2 = r.name[:-1] + rng.choice(GIVEN) if len(r.name) == 3 else r.name[0] + rng.choice(GIVEN)
            twin_id = _id(rng, born, sex2, r.id_number[:6], seq)
            out.append(Resident(f"C{len(out):06d}", name2, sex2, born, twin_id, r.phone, street, r.address))
        elif roll < 0.08:  # a stranger with the same name in the same street
            born2 = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
            out.append(
                Resident(
                    f"C{len(out):06d}",
                    r.name,
                    sex,
                    born2,
                    _id(rng, born2, sex),
                    _mobile(rng),
                    street,
                    _address(rng, street),
                )
            )
    return out[:n]


def _garble_name(rng: random.Random, name: str, sex: str) -> str:
    r = rng.random()
    if r < 0.25:
        i = rng.randrange(len(name))
        alts = SOUND_ALIKE.get(name[i])
        return name[:i] + rng.choice(alts) + name[i + 1 :] if alts else name
    if r < 0.38:
        return str(_S2T.convert(name))
    if r < 0.48:
        i = rng.randrange(len(name))
        alt = LOOK_ALIKE.get(name[i])
        return name[:i] + alt + name[i + 1 :] if alt else name
    if r < 0.58 and len(name) == 3:
        return name[:2]  # the last character dropped
    if r < 0.64 and len(name) == 2:
        return name + rng.choice(GIVEN)  # a character added
    if r < 0.80:
        title = rng.choice(("先生", "师傅") if sex == "M" else ("女士", "阿姨"))
        return rng.choice((name[0] + title, "老" + name[0], name[0] + title))
    if r < 0.85:
        return "阿" + name[-1]
    return f"{name[0]} {name[1:]}"  # a space typed in


def _garble_id(rng: random.Random, idn: str) -> str:
    r = rng.random()
    if r < 0.4:
        i = rng.randrange(17)
        return idn[:i] + str((int(idn[i]) + rng.randint(1, 9)) % 10) + idn[i + 1 :]
    if r < 0.65:
        i = rng.randrange(6, 16)
        return idn[:i] + idn[i + 1] + idn[i] + idn[i + 2 :]
    if r < 0.8:
        return idn.lower()
    return f"{idn[:6]}-{idn[6:14]}-{idn[14:]}"


def _garble_phone(rng: random.Random, phone: str) -> str:
    r = rng.random()
    if r < 0.45:
        return phone[:3] + "****" + phone[7:]
    if r < 0.6:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if r < 0.75:
        return "+86" + phone
    i = rng.randrange(3, 11)
    return phone[:i] + str((int(phone[i]) + rng.randint(1, 9)) % 10) + phone[i + 1 :]


def _garble_address(rng: random.Random, addr: str) -> str:
    r = rng.random()
    if r < 0.3:
        return addr.replace("幢", "栋").replace("单元", "-")
    if r < 0.5:
        return addr.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if r < 0.6:
        return addr.split("号")[0] + "号"
    return addr


def _fmt_date(rng: random.Random, d: date) -> str:
    return rng.choice(
        (f"{d:%Y-%m-%d}", f"{d:%Y%m%d}", f"{d.year}年{d.month}月{d.day}日", f"{d.year}/{d.month}/{d.day}")
    )


def chinese(seed: int, n_people: int = 4000) -> list[dict[str, str]]:
    """The hard Chinese registry: one row per record, ``_person`` = truth."""
    rng = random.Random(seed)
    people = residents(rng, n_people)
    rows: list[dict[str, str]] = []
    for p in people:
        n = 1 + min(int(rng.expovariate(0.6)), 9)
        household = rng.random() < 0.1
        for _ in range(n):
            vary = rng.random() < 0.45
            name = _garble_name(rng, p.name, p.sex) if vary and rng.random() < 0.6 else p.name
            idn = p.id_number if rng.random() < 0.65 else ""
            if idn and vary and rng.random() < 0.35:
                idn = _garble_id(rng, idn)
            phone = p.phone if rng.random() < 0.75 else ""
            if phone and vary and rng.random() < 0.6:
                phone = _garble_phone(rng, phone)
            if rng.random() < 0.04:
                phone = rng.choice(HUBS)  # the front desk's number, not the person's
            elif household and rng.random() < 0.3:
                phone = "0577" + p.phone[-8:]  # the family's landline
            rows.append(
                {
                    "_person": p.key,
                    "姓名": name,
                    "证件号码": idn,
                    "联系电话": phone,
                    "出生日期": _fmt_date(rng, p.born) if not idn and rng.random() < 0.5 else "",
                    "性别": {"M": "男", "F": "女"}[p.sex] if rng.random() < 0.5 else "",
                    "街道": p.street if rng.random() < 0.8 else "",
                    "详细地址": _garble_address(rng, p.address.removeprefix(p.street)) if rng.random() < 0.7 else "",
                }
            )
    rng.shuffle(rows)
    for i, row in enumerate(rows):
        row["编号"] = f"R{i:07d}"
    return rows


CHINESE_MAP: Final = """[columns]
record_id = "编号"
name = "姓名"
id_number = "证件号码"
phone = "联系电话"
birth_date = "出生日期"
gender = "性别"
address = ["街道", "详细地址"]
"""

# ---- Western ---------------------------------------------------------------------------------

GIVEN_EN: Final = (  # noqa: SIM905  (a word list reads better as text)
    "james mary robert patricia john jennifer michael linda david elizabeth william barbara "
    "richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy "
    "matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew "
    "donna joshua michelle kenneth carol kevin amanda brian dorothy george melissa timothy "
    "deborah ronald stephanie edward rebecca jason sharon"
).split()
FAMILY_EN: Final = (  # noqa: SIM905
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white "
    "harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres "
    "nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts "
    "gomez phillips evans turner diaz parker"
).split()
STREETS_EN: Final = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Rd", "Elm St", "Pine St", "Lake View Rd")
_KEYS: Final = "qwertyuiopasdfghjklzxcvbnm"


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    r = rng.random()
    if r < 0.3:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if r < 0.55:
        return word[:i] + word[i + 1 :]
    if r < 0.8:
        k = _KEYS.index(word[i]) if word[i] in _KEYS else 0
        return word[:i] + _KEYS[(k + rng.choice((-1, 1))) % len(_KEYS)] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def western(seed: int, n_people: int = 4000) -> list[dict[str, str]]:
    """A Western registry with typos: one row per record, ``_person`` = truth."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for k in range(n_people):
        given, family = rng.choice(GIVEN_EN), rng.choice(FAMILY_EN)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        phone = f"{rng.randint(201, 989)}{rng.randrange(10**7):07d}"
        addr = f"{rng.randint(1, 9999)} {rng.choice(STREETS_EN)}"
        for _ in range(1 + min(int(rng.expovariate(0.7)), 7)):
            g, f = given, family
            if rng.random() < 0.3:
                g = _typo(rng, g) if rng.random() < 0.5 else g
                f = _typo(rng, f) if rng.random() < 0.6 else f
            name = rng.choices((f"{g} {f}", f"{f}, {g}", f"{g[0]}. {f}"), (0.75, 0.2, 0.05))[0].title()
            fmt = rng.choice(("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"))
            first = name.split(", ")[-1] if ", " in name else name.rsplit(" ", 1)[0]
            last = name.split(", ")[0] if ", " in name else name.rsplit(" ", 1)[-1]
            if rng.random() < 0.05:
                first, last = last, first  # an export with the two columns the wrong way round
            rows.append(
                {
                    "_person": f"W{k:06d}",
                    "given": first,
                    "family": last,
                    "dob": born.strftime(fmt) if rng.random() < 0.9 else "",
                    "phone": (f"({phone[:3]}) {phone[3:6]}-{phone[6:]}" if rng.random() < 0.5 else phone)
                    if rng.random() < 0.6
                    else "",
                    "street": addr if rng.random() < 0.8 else _typo(rng, addr),
                    "city": "Springfield",
                }
            )
    rng.shuffle(rows)
    for i, row in enumerate(rows):
        row["id"] = str(i)
    return rows


WESTERN_MAP: Final = """[columns]
record_id = "id"
given_name = "given"
family_name = "family"
birth_date = "dob"
phone = "phone"
address = ["street", "city"]
"""


def pairs_truth(rows: list[dict[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """(person, record ids) of the truth."""
    by: dict[str, list[str]] = {}
    for row in rows:
        by.setdefault(row["_person"], []).append(row.get("编号") or row["id"])
    yield from by.items()
