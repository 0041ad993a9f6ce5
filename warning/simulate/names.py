"""Synthetic people: Chinese names, 18-digit ID numbers, phones, and the ways sources garble them.

Entity resolution (关联预警) is only tested honestly if the same person shows up the way real
source systems show them: a hotline ticket with "王女士" and a masked number, a petition with the
full ID number, a grid report with 同音字 (伟/炜), a traditional form (陈/陳) or a typo (侯/候),
an ID number with a lower-case check letter or one mistyped digit. Everything here is driven by
an injected `random.Random`, so a seed reproduces the same people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

# Weighted common surnames (rough national frequencies, %); the weight decides how often
# unrelated people share a surname, which is what makes blocking on surname hard.
SURNAMES: Final[tuple[tuple[str, float], ...]] = (
    ("王", 7.1),
    ("李", 7.0),
    ("张", 6.7),
    ("刘", 5.4),
    ("陈", 4.5),
    ("杨", 3.1),
    ("黄", 2.2),
    ("赵", 2.0),
    ("吴", 2.0),
    ("周", 1.9),
    ("徐", 1.5),
    ("孙", 1.5),
    ("马", 1.4),
    ("朱", 1.3),
    ("胡", 1.3),
    ("郭", 1.1),
    ("何", 1.1),
    ("高", 1.1),
    ("林", 1.1),
    ("罗", 0.9),
    ("郑", 0.9),
    ("梁", 0.9),
    ("谢", 0.8),
    ("宋", 0.7),
    ("唐", 0.7),
    ("许", 0.7),
    ("韩", 0.7),
    ("冯", 0.7),
    ("邓", 0.7),
    ("曹", 0.6),
    ("彭", 0.6),
    ("曾", 0.6),
    ("肖", 0.6),
    ("田", 0.5),
    ("董", 0.5),
    ("袁", 0.5),
    ("潘", 0.5),
    ("于", 0.5),
    ("蒋", 0.5),
    ("蔡", 0.5),
    ("余", 0.5),
    ("杜", 0.5),
    ("叶", 0.4),
    ("程", 0.4),
    ("苏", 0.4),
    ("魏", 0.4),
    ("吕", 0.4),
    ("丁", 0.4),
    ("任", 0.4),
    ("沈", 0.4),
    ("姚", 0.4),
    ("卢", 0.4),
    ("姜", 0.4),
    ("崔", 0.3),
    ("钟", 0.3),
    ("谭", 0.3),
    ("陆", 0.3),
    ("汪", 0.3),
    ("范", 0.3),
    ("金", 0.3),
    ("石", 0.3),
    ("廖", 0.3),
    ("贾", 0.3),
    ("夏", 0.3),
    ("韦", 0.3),
    ("付", 0.3),
    ("方", 0.3),
    ("侯", 0.2),
    ("邹", 0.2),
    ("熊", 0.2),
)
_SURNAME_LIST: Final = [s for s, _ in SURNAMES]
_SURNAME_CUM: Final = [sum(w for _, w in SURNAMES[: i + 1]) for i in range(len(SURNAMES))]

GIVEN_MALE: Final = "伟强军磊勇杰涛明超刚平辉鹏华飞建国峰斌波宇浩凯健俊帆帅旭宁龙林海江志红东亮文斌成"
GIVEN_FEMALE: Final = "芳娜敏静丽艳娟霞秀英玲桂兰萍红燕梅琳莉雪慧颖婷倩洁琴云凤珍华娇晶月"

# 同音字: characters source systems confuse because clerks type pinyin and pick the wrong one.
HOMOPHONES: Final[dict[str, str]] = {
    "伟": "炜玮",
    "丽": "莉俐",
    "明": "鸣铭",
    "华": "骅桦",
    "军": "君钧",
    "静": "婧靖",
    "敏": "闽珉",
    "磊": "垒",
    "勇": "永涌",
    "杰": "洁捷",
    "娟": "鹃",
    "霞": "侠",
    "刚": "钢",
    "平": "萍苹",
    "辉": "晖徽",
    "建": "健",
    "红": "虹宏鸿",
    "玲": "琳",
    "英": "瑛",
    "斌": "彬",
    "峰": "锋丰",
    "芳": "方",
    "涛": "滔",
    "海": "凯",
    "燕": "艳",
    "梅": "玫",
    "云": "芸",
    "张": "章",
    "王": "汪",
    "刘": "柳",
    "徐": "许",
    "吴": "伍武",
    "周": "邹",
    "林": "琳",
    "杨": "扬",
    "黄": "皇",
    "程": "成",
    "江": "姜",
    "于": "余",
}
# 简/繁: old ID cards, Hong Kong/Taiwan relatives and some letters write traditional forms.
TRADITIONAL: Final[dict[str, str]] = {
    "张": "張",
    "刘": "劉",
    "陈": "陳",
    "杨": "楊",
    "黄": "黃",
    "赵": "趙",
    "吴": "吳",
    "孙": "孫",
    "郑": "鄭",
    "冯": "馮",
    "马": "馬",
    "许": "許",
    "邓": "鄧",
    "韩": "韓",
    "谢": "謝",
    "罗": "羅",
    "叶": "葉",
    "苏": "蘇",
    "卢": "盧",
    "钟": "鍾",
    "华": "華",
    "国": "國",
    "军": "軍",
    "丽": "麗",
    "红": "紅",
    "伟": "偉",
    "龙": "龍",
    "凤": "鳳",
    "东": "東",
    "兰": "蘭",
    "云": "雲",
    "强": "強",
    "涛": "濤",
    "飞": "飛",
    "鹏": "鵬",
    "杰": "傑",
    "宁": "寧",
    "帅": "帥",
    "贵": "貴",
    "艳": "豔",
    "凯": "凱",
    "辉": "輝",
    "丰": "豐",
}
# 形近字: look-alike characters from handwriting and OCR.
LOOKALIKE: Final[dict[str, str]] = {
    "侯": "候",
    "王": "玉",
    "未": "末",
    "己": "已",
    "鸣": "呜",
    "晴": "睛",
    "大": "太",
    "土": "士",
    "田": "由",
    "人": "入",
    "日": "曰",
    "贝": "见",
    "午": "牛",
    "汪": "江",
    "壮": "状",
    "杨": "扬",
}

# Administrative division prefixes (6 digits) for ID numbers: a local majority plus migrants
# from labour-exporting provinces, which is what wage disputes look like.
ID_REGIONS: Final[tuple[tuple[str, float], ...]] = (
    ("120116", 0.45),
    ("120101", 0.05),
    ("130281", 0.05),
    ("370102", 0.05),
    ("410102", 0.08),
    ("340102", 0.07),
    ("510104", 0.06),
    ("430102", 0.05),
    ("420102", 0.05),
    ("220102", 0.04),
    ("230102", 0.05),
)
_ID_REGION_LIST: Final = [r for r, _ in ID_REGIONS]
_ID_REGION_CUM: Final = [sum(w for _, w in ID_REGIONS[: i + 1]) for i in range(len(ID_REGIONS))]
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_MOBILE_PREFIXES: Final = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a 居民身份证号."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id(number: str) -> bool:
    """True when an 18-character ID number has a correct check character."""
    n = number.upper()
    return len(n) == 18 and n[:17].isdigit() and id_check_digit(n[:17]) == n[17]


@dataclass(frozen=True, slots=True)
class Person:
    """A simulated resident. `key` is simulator-internal (truth files use it, never raw IDs)."""

    key: str
    name: str
    gender: str  # "M" / "F"
    id_number: str
    phone: str
    birth: date


class PersonFactory:
    """Creates people and spells them the way each source system would."""

    def __init__(self, rng: random.Random, prefix: str = "P") -> None:
        self._rng = rng
        self._prefix = prefix
        self._seq = 0

    def name(self, gender: str) -> str:
        """A plausible full name: common surname, one or two given characters."""
        rng = self._rng
        surname = rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM)[0]
        pool = GIVEN_MALE if gender == "M" else GIVEN_FEMALE
        given = rng.choice(pool) if rng.random() < 0.35 else rng.choice(pool) + rng.choice(pool)
        return surname + given

    def id_number(self, birth: date, gender: str) -> str:
        """A valid 18-digit ID: region, birth date, sequence (odd = male), check character."""
        rng = self._rng
        region = rng.choices(_ID_REGION_LIST, cum_weights=_ID_REGION_CUM)[0]
        seq = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)
        first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
        return first17 + id_check_digit(first17)

    def phone(self) -> str:
        """An 11-digit mainland mobile number."""
        return self._rng.choice(_MOBILE_PREFIXES) + f"{self._rng.randrange(100_000_000):08d}"

    def person(
        self, min_age: int = 18, max_age: int = 80, today: date = date(2026, 1, 1), gender: str | None = None
    ) -> Person:
        """A new person with consistent gender, birth date and ID number."""
        rng = self._rng
        self._seq += 1
        gender = gender or ("M" if rng.random() < 0.52 else "F")
        birth = today - timedelta(days=rng.randrange(min_age * 365, max_age * 365))
        return Person(
            key=f"{self._prefix}{self._seq:06d}",
            name=self.name(gender),
            gender=gender,
            id_number=self.id_number(birth, gender),
            phone=self.phone(),
            birth=birth,
        )


def honorific(person: Person) -> str:
    """How a hotline operator writes a caller who gave only a surname: 王先生 / 李女士."""
    return person.name[0] + ("先生" if person.gender == "M" else "女士")


def name_variant(name: str, rng: random.Random) -> tuple[str, str]:
    """One garbled spelling of `name` and the kind of garbling (homophone/traditional/typo/...).

    Returns the name unchanged with kind "exact" when no rule applies to its characters.
    """
    kinds = ["homophone", "traditional", "lookalike", "drop_given"]
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == "drop_given" and len(name) == 3:
            return name[:2], kind  # clerk wrote 张伟 for 张伟强
        table = {"homophone": HOMOPHONES, "traditional": TRADITIONAL, "lookalike": LOOKALIKE}.get(kind)
        if table is None:
            continue
        positions = [i for i, ch in enumerate(name) if ch in table]
        if positions:
            i = rng.choice(positions)
            return name[:i] + rng.choice(table[name[i]]) + name[i + 1 :], kind
    return name, "exact"


def mask_phone(phone: str) -> str:
    """The masked form 12345 systems show operators: 138****5678."""
    return phone[:3] + "****" + phone[7:]


def phone_variant(phone: str, rng: random.Random) -> tuple[str, str]:
    """A phone as a source might record it: masked, with +86/spaces, or with a typo."""
    r = rng.random()
    if r < 0.45:
        return mask_phone(phone), "masked"
    if r < 0.6:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", "formatted"
    if r < 0.8:
        i = rng.randrange(3, 11)
        wrong = str((int(phone[i]) + rng.randrange(1, 10)) % 10)
        return phone[:i] + wrong + phone[i + 1 :], "typo"
    if r < 0.9:
        i = rng.randrange(3, 10)
        return phone[:i] + phone[i + 1] + phone[i] + phone[i + 2 :], "swap"
    return phone, "exact"


def id_variant(id_number: str, rng: random.Random) -> tuple[str, str]:
    """An ID number as a clerk might type it: lower-case x, spaces, or one digit wrong."""
    r = rng.random()
    if r < 0.3 and id_number.endswith("X"):
        return id_number[:-1] + "x", "lowercase"
    if r < 0.5:
        return f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}", "spaced"
    if r < 0.85:
        i = rng.randrange(6, 17)
        wrong = str((int(id_number[i]) + rng.randrange(1, 10)) % 10)
        return id_number[:i] + wrong + id_number[i + 1 :], "typo"
    return id_number, "exact"
