"""How each source system writes a dispute: terse grid reports, hotline transcripts, petition files.

A `Draft` is one record before its source number is assigned (numbers are handed out per day
in time order, as real ticket systems do, so an injected incident's records are numbered like
any other and nothing in a record betrays that it was injected). The builders here produce
exactly the fields of `warning.core.schemas` (schema_version 1); the field *styles* differ per
channel the way domain.md §2 describes: a grid worker writes one line, the 12345 operator a
transcript with a masked caller number, the petition office a demand, a level and a deadline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

from warning.core.taxonomy import CATEGORIES, Channel
from warning.simulate.geography import Grid
from warning.simulate.names import Person, honorific, mask_phone

TZ: Final = timezone(timedelta(hours=8))
SCHEMA_VERSION: Final = 1
ID_FIELD: Final[dict[Channel, str]] = {"grid": "report_id", "hotline": "ticket_no", "petition": "case_no"}
CHANNEL_ORDER: Final[dict[Channel, int]] = {"grid": 0, "hotline": 1, "petition": 2}


def iso(t: int) -> str:
    """Epoch seconds -> ISO-8601 in Asia/Shanghai (+08:00), the form every record carries."""
    return datetime.fromtimestamp(t, TZ).isoformat()


def epoch(dt: datetime) -> int:
    """Aware datetime -> epoch seconds."""
    return int(dt.astimezone(UTC).timestamp())


class Draft:
    """A record waiting for its source number; `truth` incidents keep references to drafts."""

    __slots__ = ("channel", "grid", "record", "ref", "t")

    def __init__(self, t: int, channel: Channel, grid: str, record: dict[str, Any]) -> None:
        self.t = t
        self.channel: Channel = channel
        self.grid = grid
        self.record = record
        self.ref = ""

    def finalise(self, ref: str) -> dict[str, Any]:
        """The full record with its number first (as source systems print it)."""
        self.ref = ref
        return {"schema_version": SCHEMA_VERSION, ID_FIELD[self.channel]: ref, **self.record}


@dataclass(frozen=True, slots=True)
class Sub:
    """A subcategory with the phrases each channel uses for it."""

    code: str
    grid: tuple[str, ...]
    hotline: tuple[str, ...]
    demand: tuple[str, ...]
    respondents: tuple[str, ...] = ()


# {place} = community name, {resp} = respondent, {n} = a number, {amt} = an amount in 元
SUBCATEGORIES: Final[dict[str, tuple[Sub, ...]]] = {
    "neighbour": (
        Sub(
            "噪音扰民",
            ("{place}楼上噪音扰民，双方争吵，已劝解", "夜间噪音纠纷，已调解"),
            ("来电人反映楼上住户夜间噪音严重，多次沟通无果，要求处理",),
            ("要求制止邻居噪音扰民",),
        ),
        Sub(
            "漏水纠纷",
            ("楼上漏水致楼下受损，双方争执", "卫生间漏水纠纷，已约双方协商"),
            ("来电人反映楼上漏水导致其家中墙面受损，对方拒不维修",),
            ("要求楼上住户赔偿漏水损失{amt}元",),
        ),
        Sub(
            "占道堆物",
            ("楼道堆放杂物引发邻里争吵", "占用公共通道停车，双方口角"),
            ("来电人反映邻居长期占用楼道堆放杂物，存在消防隐患",),
            ("要求清理占道堆物",),
        ),
        Sub(
            "宠物纠纷",
            ("犬只伤人纠纷，已协调赔偿", "养狗扰民，双方争吵"),
            ("来电人反映邻居饲养犬只夜间吠叫且未拴绳，曾发生咬伤",),
            ("要求赔偿医疗费{amt}元",),
        ),
    ),
    "family": (
        Sub(
            "婚姻纠纷",
            ("夫妻吵架，已上门调解", "离婚财产分割矛盾，双方情绪激动"),
            ("来电人反映与配偶因感情问题长期争吵，要求调解",),
            ("要求依法分割共同财产",),
        ),
        Sub(
            "家庭暴力",
            ("疑似家暴，已联系妇联", "夫妻冲突有肢体接触，已报警处置"),
            ("来电人称遭受丈夫殴打，请求帮助",),
            ("要求对施暴者依法处理",),
        ),
        Sub(
            "赡养纠纷",
            ("子女不履行赡养义务，老人求助", "赡养费纠纷，已约谈子女"),
            ("来电人反映子女拒付赡养费，生活困难",),
            ("要求子女支付赡养费",),
        ),
        Sub("继承纠纷", ("兄弟姐妹因房产继承争执",), ("来电人反映父母遗产分配不公",), ("要求重新分配遗产",)),
    ),
    "debt": (
        Sub(
            "欠款纠纷",
            ("{resp}欠款{amt}元未还，双方争执", "借款到期未还引发纠纷"),
            ("来电人反映{resp}欠其{amt}元长期不还",),
            ("要求{resp}归还欠款{amt}元",),
        ),
        Sub(
            "货款纠纷",
            ("商户间货款纠纷",),
            ("来电人反映{resp}拖欠货款",),
            ("要求支付货款{amt}元",),
            ("鑫达商贸有限公司", "宏远建材经营部"),
        ),
    ),
    "lending": (
        Sub(
            "民间借贷",
            ("民间借贷纠纷，利息争议", "借贷纠纷，出借人上门催收"),
            ("来电人反映借款利息过高，遭{resp}反复催收",),
            ("要求认定借款利息无效",),
        ),
        Sub(
            "套路贷",
            ("疑似套路贷，已报派出所",),
            ("来电人反映被诱导签订虚高借条，{resp}上门催债",),
            ("要求打击套路贷，退还多收款项",),
        ),
    ),
    "labour": (
        Sub(
            "拖欠工资",
            ("{resp}拖欠工人工资{amt}元", "工地欠薪，工人讨要工资", "工资拖欠，{resp}称资金困难"),
            ("来电人反映{resp}拖欠其{n}个月工资共{amt}元",),
            ("要求{resp}支付拖欠工资{amt}元",),
            ("鑫源建筑劳务有限公司", "恒达装饰工程有限公司", "金鹏电子厂", "华茂服装加工厂"),
        ),
        Sub(
            "工伤赔偿",
            ("工伤赔偿纠纷，双方协商未果",),
            ("来电人反映工伤后单位拒绝赔偿",),
            ("要求认定工伤并赔偿",),
            ("顺发物流有限公司", "海通机械制造有限公司"),
        ),
        Sub(
            "解除劳动合同", ("员工被辞退，要求经济补偿",), ("来电人反映被公司无故辞退",), ("要求支付经济补偿金{amt}元",)
        ),
    ),
    "property": (
        Sub(
            "物业服务",
            ("业主与物业因服务质量争执", "电梯故障久未维修，业主不满"),
            ("来电人反映小区物业不作为，电梯长期故障",),
            ("要求更换物业公司",),
            ("佳园物业服务有限公司", "万家物业管理有限公司", "安居物业服务有限公司"),
        ),
        Sub(
            "物业费",
            ("物业费收缴纠纷", "业主拒交物业费，物业停水停电"),
            ("来电人反映物业擅自上涨物业费",),
            ("要求物业公示收费明细",),
            ("佳园物业服务有限公司", "万家物业管理有限公司"),
        ),
        Sub("停车纠纷", ("小区车位纠纷",), ("来电人反映小区停车位被外来车辆占用",), ("要求规范停车管理",)),
    ),
    "land": (
        Sub(
            "征地补偿",
            ("村民对征地补偿标准不满", "征迁补偿争议"),
            ("来电人反映征地补偿款未足额发放",),
            ("要求提高征地补偿标准",),
            ("村委会", "征迁工作组"),
        ),
        Sub(
            "宅基地",
            ("宅基地界址纠纷，两户争执", "宅基地纠纷"),
            ("来电人反映邻户建房占用其宅基地",),
            ("要求确认宅基地使用权",),
        ),
        Sub("坟地纠纷", ("迁坟补偿纠纷",), ("来电人反映祖坟被占",), ("要求恢复祖坟原状",)),
    ),
    "building": (
        Sub(
            "违法建设",
            ("发现顶楼违建，已劝停", "私搭乱建，已上报执法"),
            ("来电人反映邻居在楼顶违法搭建",),
            ("要求拆除违法建筑",),
        ),
        Sub("装修扰民", ("装修破坏承重墙，已制止",), ("来电人反映楼上装修砸墙",), ("要求停止违规装修",)),
    ),
    "environment": (
        Sub(
            "异味污染",
            ("厂区异味，居民反映强烈", "刺鼻气味，已上报"),
            ("来电人反映附近工厂夜间排放刺鼻气味",),
            ("要求关停污染企业",),
            ("化工园区企业",),
        ),
        Sub("噪声污染", ("工地夜间施工噪声",), ("来电人反映工地夜间施工噪声扰民",), ("要求停止夜间施工",)),
        Sub("餐饮油烟", ("餐饮油烟扰民",), ("来电人反映楼下餐馆油烟直排",), ("要求整改油烟",)),
    ),
    "medical": (
        Sub(
            "医疗纠纷",
            ("患者家属对治疗结果不满", "医患纠纷，已协调"),
            ("来电人反映家人在{resp}治疗期间出现事故",),
            ("要求{resp}赔偿{amt}元",),
            ("区人民医院", "仁爱医院", "康宁诊所"),
        ),
    ),
    "education": (
        Sub(
            "校外培训退费",
            ("培训机构退费纠纷",),
            ("来电人反映{resp}停课跑路，预付学费无法退还",),
            ("要求退还学费{amt}元",),
            ("启航教育培训学校", "星火艺术培训中心"),
        ),
        Sub("入学纠纷", ("入学安排纠纷",), ("来电人反映子女入学被拒",), ("要求安排就近入学",)),
    ),
    "investor": (
        Sub(
            "非法集资",
            ("疑似非法集资，群众投资款无法兑付",),
            ("来电人反映在{resp}投资理财无法兑付",),
            ("要求追回投资款{amt}元",),
            ("汇金财富管理有限公司", "聚鑫理财咨询公司"),
        ),
    ),
    "membership": (
        Sub(
            "出嫁女权益",
            ("出嫁女要求分配集体收益",),
            ("来电人反映出嫁后被取消村集体分红",),
            ("要求确认集体经济组织成员资格",),
        ),
        Sub("集体收益分配", ("村集体收益分配争议",), ("来电人反映村集体账目不公开",), ("要求公开村务账目",)),
    ),
    "sea": (
        Sub(
            "渔船纠纷",
            ("渔船作业区域纠纷", "渔船碰撞纠纷"),
            ("来电人反映渔船被他船撞损",),
            ("要求赔偿渔船损失{amt}元",),
            ("外村渔船船主",),
        ),
        Sub("养殖海域", ("养殖海域界址纠纷",), ("来电人反映养殖区被他人占用",), ("要求确认养殖海域使用权",)),
        Sub("船员工资", ("船员讨要工资",), ("来电人反映船老大拖欠船员工资",), ("要求支付船员工资{amt}元",)),
    ),
    "traffic": (
        Sub(
            "交通事故",
            ("轻微交通事故，双方就赔偿争执", "电动车剐蹭纠纷"),
            ("来电人反映交通事故对方拒绝赔偿",),
            ("要求赔偿事故损失{amt}元",),
        ),
    ),
    "other": (
        Sub("其他纠纷", ("其他矛盾纠纷，已登记", "消费纠纷"), ("来电人反映消费纠纷，商家拒绝退款",), ("要求依法处理",)),
    ),
}

RESPONDENT_SUFFIX: Final = ("有限公司", "经营部", "工作室")
MEDIUM: Final = (("phone", 0.70), ("app", 0.10), ("wechat", 0.12), ("web", 0.08))
REQUEST: Final = (("complaint", 0.55), ("help", 0.20), ("consult", 0.15), ("report", 0.08), ("suggestion", 0.02))
SEVERITY: Final = (("micro", 0.35), ("minor", 0.5), ("major", 0.13), ("hard", 0.02))
# a group or a tense scene: graded higher, solved on the spot less often, marked urgent more
# often, by the same rule for ordinary records and incidents (the grade follows the content)
LOUD_SEVERITY: Final = (("minor", 0.3), ("major", 0.5), ("hard", 0.2))
URGENT_P: Final = 0.04
LOUD_URGENT_P: Final = 0.45
# what grid apps flag from the headcount the worker enters (集体/聚集 from five people on)
GATHERING_FROM: Final = 5


def pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    """A weighted choice from (value, weight) pairs."""
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def fill(template: str, rng: random.Random, resp: str = "", place: str = "") -> str:
    """Fill a phrase's slots with plausible values."""
    if "{" not in template:
        return template
    return template.format(
        resp=resp or "对方",
        place=place,
        n=rng.randint(2, 8),
        amt=rng.choice((3000, 5000, 8000, 12000, 20000, 35000, 50000, 80000, 120000)),
    )


def location(grid: Grid) -> dict[str, str]:
    """The location object of a record."""
    return {"street": grid.street, "community": grid.community, "grid_id": grid.code}


def person_in(
    role: str,
    name: str,
    id_number: str | None = None,
    phone: str | None = None,
) -> dict[str, str]:
    """A party as source systems send it; absent identifiers are omitted."""
    out = {"role": role, "name": name}
    if id_number:
        out["id_number"] = id_number
    if phone:
        out["phone"] = phone
    return out


def grid_record(
    rng: random.Random,
    t: int,
    grid: Grid,
    category: str,
    sub: str,
    text: str,
    parties: list[dict[str, str]],
    headcount: int = 1,
    severity: str | None = None,
    solved: bool | None = None,
    case_ref: str | None = None,
    flags: list[str] | None = None,
    loud: bool = False,
) -> Draft:
    """A grid worker's terse report (GridReport); the gathering flag follows the headcount."""
    rec: dict[str, Any] = {
        "occurred_at": iso(t),
        "location": location(grid),
        "category": category,
        "subcategory": sub,
        "parties": parties,
        "headcount": headcount,
        "text": text,
        "worker_id": f"W{grid.code.replace('-', '')}{rng.randint(1, 2)}",
        "worker_type": "full_time" if rng.random() < 0.7 else "part_time",
        "visit_mode": pick(rng, (("routine", 0.7), ("appointment", 0.15), ("remote", 0.1), ("joint", 0.05))),
        "severity": severity or pick(rng, LOUD_SEVERITY if loud else SEVERITY),
        "solved_in_grid": solved if solved is not None else rng.random() < (0.25 if loud else 0.6),
    }
    if case_ref:
        rec["case_ref"] = case_ref
    flags = list(flags or [])
    if headcount >= GATHERING_FROM and "gathering" not in flags:
        flags.append("gathering")
    if flags:
        rec["flags"] = flags
    return Draft(t, "grid", grid.code, rec)


def hotline_record(
    rng: random.Random,
    t: int,
    grid: Grid,
    category: str,
    sub: str,
    text: str,
    parties: list[dict[str, str]],
    headcount: int = 1,
    repeat_count: int = 0,
    request_type: str | None = None,
    satisfaction: str | None = None,
    case_ref: str | None = None,
    urgent: bool | None = None,
    loud: bool = False,
) -> Draft:
    """A 12345 ticket with the operator's transcript (HotlineCall).

    Urgency (the operator's closing phrase and a one-day due date) is drawn by one rule for
    every call, likelier for a `loud` call, unless the caller of this function decides it.
    """
    medium = pick(rng, MEDIUM)
    if urgent is None:
        urgent = rng.random() < (LOUD_URGENT_P if loud else URGENT_P)
    prefix = {
        "phone": "市民来电反映：",
        "app": "市民通过APP反映：",
        "wechat": "市民通过微信公众号反映：",
        "web": "市民网上留言：",
    }[medium]
    rec: dict[str, Any] = {
        "occurred_at": iso(t),
        "location": location(grid),
        "category": category,
        "subcategory": sub,
        "parties": parties,
        "headcount": headcount,
        "text": prefix
        + text.removeprefix("来电人反映").removeprefix("来电人")
        + ("。来电人情绪激动，要求尽快处理。" if urgent else "。请相关部门核实处理。"),
        "medium": medium,
        "request_type": request_type or pick(rng, REQUEST),
        "transferred_to": CATEGORIES[category][1],
        "due_at": iso(t + (1 if urgent else 3) * 86_400),
        "repeat_count": repeat_count,
    }
    if satisfaction:
        rec["satisfaction"] = satisfaction
    if case_ref:
        rec["case_ref"] = case_ref
    return Draft(t, "hotline", grid.code, rec)


def petition_record(
    rng: random.Random,
    t: int,
    grid: Grid,
    category: str,
    sub: str,
    demand: str,
    parties: list[dict[str, str]],
    form: str,
    headcount: int = 1,
    is_repeat: bool = False,
    visit_count: int = 1,
    level: str = "district",
    text: str = "",
    backlog: bool = False,
    settled: bool = False,
    lead_official: bool = False,
    case_ref: str | None = None,
) -> Draft:
    """A petition registration (Petition)."""
    rec: dict[str, Any] = {
        "occurred_at": iso(t),
        "location": location(grid),
        "category": category,
        "subcategory": sub,
        "parties": parties,
        "headcount": headcount,
        "text": text,
        "form": form,
        "is_repeat": is_repeat,
        "visit_count": visit_count,
        "level_reached": level,
        "demand": demand,
        "responsible_unit": CATEGORIES[category][1],
        "lead_official": lead_official,
        "deadline": iso(t + 60 * 86_400),  # 信访工作条例: 60 days to answer
        "backlog": backlog,
        "settled": settled,
    }
    if case_ref:
        rec["case_ref"] = case_ref
    return Draft(t, "petition", grid.code, rec)


def complainant_grid(p: Person, rng: random.Random) -> dict[str, str]:
    """A resident as a grid worker records them (一标三实 knows the ID number, often)."""
    return person_in(
        "complainant", p.name, p.id_number if rng.random() < 0.6 else None, p.phone if rng.random() < 0.5 else None
    )


def caller(p: Person, rng: random.Random) -> dict[str, str]:
    """A hotline caller: usually surname + 先生/女士, a full or masked number."""
    name = honorific(p) if rng.random() < 0.7 else p.name
    phone = mask_phone(p.phone) if rng.random() < 0.45 else p.phone
    return person_in("complainant", name, p.id_number if rng.random() < 0.05 else None, phone)


def petitioner(p: Person, rng: random.Random) -> dict[str, str]:
    """A petitioner: real name and ID number (信访 is registered by name)."""
    return person_in(
        "complainant", p.name, p.id_number if rng.random() < 0.95 else None, p.phone if rng.random() < 0.8 else None
    )
