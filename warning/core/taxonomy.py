"""The controlled vocabularies of the domain: channels, categories, levels, unit codes.

They live in one place because ingest validates against them, detectors key on them, routing
maps them to departments and alert titles print their Chinese labels. Codes are ASCII (stable
keys, metric labels); labels are the words duty officers read (reference/domain.md §2-3).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Channel = Literal["grid", "hotline", "petition"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
CHANNEL_LABELS: Final[dict[Channel, str]] = {
    "grid": "网格上报",
    "hotline": "12345热线",
    "petition": "信访",
}

# category code -> (Chinese label, owning functional department 属事部门)
CATEGORIES: Final[dict[str, tuple[str, str]]] = {
    "neighbour": ("邻里纠纷", "司法局"),
    "family": ("婚恋家庭纠纷", "妇联"),
    "debt": ("债务纠纷", "法院"),
    "lending": ("民间借贷纠纷", "金融工作局"),
    "labour": ("劳资纠纷", "人社局"),
    "property": ("物业纠纷", "住建局"),
    "land": ("土地征迁纠纷", "自然资源局"),
    "building": ("违法建设", "综合执法局"),
    "environment": ("环境污染", "生态环境局"),
    "medical": ("医疗纠纷", "卫健委"),
    "education": ("教育纠纷", "教育局"),
    "investor": ("涉众型经济纠纷", "公安分局"),
    "membership": ("集体经济组织成员权益纠纷", "农业农村局"),
    "sea": ("海事渔业纠纷", "海洋与渔业局"),
    "traffic": ("交通事故纠纷", "交警大队"),
    "other": ("其他矛盾纠纷", "矛调中心"),
}

Level = Literal["blue", "yellow", "orange", "red"]
LEVELS: Final[tuple[Level, ...]] = get_args(Level)
LEVEL_LABELS: Final[dict[Level, str]] = {
    "blue": "蓝色(苗头性)",
    "yellow": "黄色(倾向性)",
    "orange": "橙色(趋势性)",
    "red": "红色(紧急)",
}

AlertType = Literal["dynamic", "pattern", "relational", "case"]
ALERT_TYPES: Final[tuple[AlertType, ...]] = get_args(AlertType)
ALERT_TYPE_LABELS: Final[dict[AlertType, str]] = {
    "dynamic": "动态预警",
    "pattern": "规律预警",
    "relational": "关联预警",
    "case": "个案预警",
}

PartyRole = Literal["complainant", "respondent", "party", "reporter", "witness"]
PARTY_ROLES: Final[tuple[PartyRole, ...]] = get_args(PartyRole)

PetitionLevel = Literal["district", "city", "province", "national"]
PETITION_LEVELS: Final[tuple[PetitionLevel, ...]] = get_args(PetitionLevel)


def category_label(code: str) -> str:
    """Chinese label of a category code; unknown codes print as themselves, never raise."""
    return CATEGORIES.get(code, (code, ""))[0]


def level_rank(level: Level) -> int:
    """0 for blue up to 3 for red, for comparisons such as 'is this an upgrade'."""
    return LEVELS.index(level)
