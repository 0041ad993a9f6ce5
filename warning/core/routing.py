"""Routing of alerts to duty desks: graded dispatch, dedupe, suppression, upgrade, escalation.

Pure functions over plain values; the delivery shell reads the stored record, asks `decide`
(or `escalate`) what to write, and applies the answer with a check-and-set. These functions
are the one authority on routing rules: the Redis script only checks "record version still
matches and this occurrence was not applied yet" (DESIGN.md §5).

Feeds are named by what they serve: a unit code (``S03``, ``S03-C02``, ``S03-C02-G05``,
``district``), a functional department (``dept:rsj`` — ASCII codes, so Redis ACL key patterns
stay simple), and ``all``, the district-wide feed every entry also goes to. The sink turns a
feed name into the key ``warning:feed:<name>``.

Graded routing (分级分类派单, reference/domain.md §3): blue → the community (and the grid
itself), yellow → the street/town, orange → the street/town with a district copy, red → the
district command centre; relational alerts also go to the departments owning their
categories (属地 + 属事). The table lives in the thresholds file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from warning.core import excerpts, units
from warning.core.events import Alert, stable_id
from warning.core.lifecycle import (
    OPEN,
    SYSTEM_ACTOR,
    UNACKNOWLEDGED,
    AlertRecord,
    AuditEntry,
    State,
)
from warning.core.taxonomy import CATEGORIES, LEVELS, AlertType, Level, level_rank

ALL_FEED: Final = "all"
DEPT_PREFIX: Final = "dept:"

TargetKind = Literal["unit", "community", "street", "district"]
TARGET_KINDS: Final[tuple[TargetKind, ...]] = get_args(TargetKind)

Kind = Literal["new", "update", "upgrade", "suppressed", "escalated", "reopened"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
KIND_LABELS: Final[dict[str, str]] = {
    "new": "新预警",
    "update": "持续",
    "upgrade": "升级",
    "suppressed": "已抑制",
    "escalated": "超时升级",
    "reopened": "重启",
}

# Chinese department name (taxonomy.CATEGORIES) -> ASCII feed code (pinyin initials).
DEFAULT_DEPARTMENT_CODES: Final[dict[str, str]] = {
    "司法局": "sfj",
    "妇联": "fl",
    "法院": "fy",
    "金融工作局": "jrj",
    "人社局": "rsj",
    "住建局": "zjj",
    "自然资源局": "zrzyj",
    "综合执法局": "zhzfj",
    "生态环境局": "sthjj",
    "卫健委": "wjw",
    "教育局": "jyj",
    "公安分局": "gafj",
    "农业农村局": "nyncj",
    "海洋与渔业局": "hyyyj",
    "交警大队": "jjdd",
    "矛调中心": "mtzx",
}


@dataclass(frozen=True, slots=True)
class RoutingRules:
    """Typed routing, suppression and deadline parameters (built from the thresholds file).

    `targets` maps a level to the hierarchy levels whose desks receive it; `suppress` is the
    event-time window per alert type in which a repeat at the same or a lower level writes no
    feed entry; `ack_deadlines` is how long a desk has to acknowledge before the alert is
    escalated one level (None: never, e.g. red, which has no desk above the district).
    """

    targets: Mapping[Level, tuple[TargetKind, ...]] = field(
        default_factory=lambda: {
            "blue": ("unit", "community"),
            "yellow": ("street",),
            "orange": ("street", "district"),
            "red": ("district",),
        }
    )
    department_types: frozenset[AlertType] = frozenset({"relational"})
    department_codes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DEPARTMENT_CODES))
    default_department: str = "mtzx"
    suppress: Mapping[AlertType, timedelta] = field(
        default_factory=lambda: {
            "dynamic": timedelta(hours=1),
            "pattern": timedelta(hours=24),
            "relational": timedelta(hours=6),
            "case": timedelta(hours=6),
        }
    )
    ack_deadlines: Mapping[Level, timedelta | None] = field(
        default_factory=lambda: {
            "blue": timedelta(hours=24),
            "yellow": timedelta(hours=4),
            "orange": timedelta(hours=1),
            "red": None,
        }
    )
    max_evidence: int = 50
    hierarchy: units.Hierarchy | None = None
    """The district's own units (``warning units load``); None = the default ``Sxx-Cxx-Gxx`` layout."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to write for one incoming occurrence or one escalation.

    `feeds` are the feeds that get a new entry now (empty when suppressed); `record` is the
    full new stored state; `audit` the lines for the audit stream.
    """

    kind: Kind
    record: AlertRecord
    feeds: tuple[str, ...]
    audit: tuple[AuditEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Write:
    """A decision ready for the sink: apply only if the stored version is still `prev`'s.

    `occurrence` (from `occurrence_id`) makes a replayed message a no-op: the sink marks it
    applied in the same transaction and refuses it next time. Transitions and escalations
    have no occurrence; the version check alone guards them.
    """

    decision: Decision
    prev: AlertRecord | None
    occurrence: str | None = None

    @property
    def expected_version(self) -> int:
        """The version the stored record must still have (0: must not exist)."""
        return self.prev.version if self.prev else 0

    def entries(self) -> list[tuple[str, dict[str, str]]]:
        """(feed name, entry fields) for every feed entry to append."""
        fields = feed_entry(self.decision.record, self.decision.kind)
        return [(f, fields) for f in self.decision.feeds]


ApplyStatus = Literal["applied", "duplicate", "conflict"]


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What the sink did with a `Write`: applied (with the new feed entry ids), or refused."""

    status: ApplyStatus
    entry_ids: tuple[str, ...] = ()


def _target(kind: TargetKind, unit: str, h: units.Hierarchy | None = None) -> str:
    """The feed of the desk of hierarchy level `kind` responsible for `unit` (the unit's if higher).

    Feeds are named by the desk unit's path key (`units.feed_key`), so an officer's key pattern
    "my feed and the feeds below it" follows the district's own hierarchy.
    """
    if kind == "district":
        return units.DISTRICT
    if kind == "unit":
        desk = unit
    elif kind == "street":
        desk = units.street_of(unit, h)
    else:  # community: a grid's community; a community, street or the district is its own desk
        desk = units.community_of(unit, h) if units.kind(unit, h) == "grid" else unit
    return units.feed_key(desk, h)


def department_feed(name: str, rules: RoutingRules) -> str:
    """The feed of a department given by Chinese name or by code; unknown ones go to the default."""
    codes = rules.department_codes
    if name in codes:
        return DEPT_PREFIX + codes[name]
    if name in codes.values():
        return DEPT_PREFIX + name
    return DEPT_PREFIX + rules.default_department


def route(alert: Alert, rules: RoutingRules, level: Level | None = None) -> tuple[str, ...]:
    """Feeds that receive `alert` at `level` (default: the alert's own), in a stable order.

    >>> from datetime import datetime, timezone
    >>> from warning.core.events import Indicator
    >>> a = Alert("a1", "dynamic", "blue", "S03-C02-G05", "g", "t",
    ...           (Indicator("n", 5, 3),), "d", datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> route(a, RoutingRules())
    ('S03-C02-G05', 'S03-C02', 'all')
    >>> route(a, RoutingRules(), level="orange")
    ('S03', 'district', 'all')
    """
    lvl = level or alert.level
    feeds: list[str] = [_target(k, alert.unit, rules.hierarchy) for k in rules.targets[lvl]]
    if alert.type in rules.department_types:
        names: list[str] = []
        if alert.category in CATEGORIES:
            names.append(CATEGORIES[alert.category][1])
        names.extend(alert.departments)
        feeds.extend(department_feed(n, rules) for n in names)
    feeds.append(ALL_FEED)
    return tuple(dict.fromkeys(feeds))


def occurrence_id(alert: Alert) -> str:
    """Identity of one alert *message* (not of the alert): replays of it share this id.

    Two genuine repeats of an alert differ in created_at, level or evidence; a redelivered
    Kafka message is byte-for-byte the same alert, so it maps to the same id and is a no-op.
    """
    return stable_id(
        alert.alert_id,
        alert.created_at.isoformat(),
        alert.level,
        stable_id(*alert.evidence),
        stable_id(*(f"{i.name}={i.value}" for i in alert.indicators)),
    )


def _merge(prev: Alert, new: Alert, max_evidence: int) -> Alert:
    """The new occurrence carrying the union of evidence (bounded, newest kept) and window."""
    evidence = tuple(dict.fromkeys(prev.evidence + new.evidence))[-max_evidence:]
    starts = [t for t in (prev.window_start, new.window_start) if t is not None]
    ends = [t for t in (prev.window_end, new.window_end) if t is not None]
    departments = tuple(dict.fromkeys(prev.departments + new.departments))
    return replace(
        new,
        evidence=evidence,
        window_start=min(starts) if starts else None,
        window_end=max(ends) if ends else None,
        departments=departments,
        excerpts=excerpts.merge(prev.excerpts, new.excerpts),
    )


def _due(rules: RoutingRules, level: Level, now: datetime) -> datetime | None:
    deadline = rules.ack_deadlines.get(level)
    return now + deadline if deadline else None


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))


def decide(prev: AlertRecord | None, alert: Alert, rules: RoutingRules, now: datetime) -> Decision:
    """What one incoming occurrence of `alert` does, given the stored record (or None).

    * no record → ``new``: routed by level and unit;
    * higher level than stored → ``upgrade`` (or ``reopened`` when it was resolved/closed):
      routed again at the new level;
    * same or lower level, open, outside the type's suppression window → ``update``: a
      reminder entry to the same desks;
    * otherwise → ``suppressed``: count, last_seen and evidence change, no feed entry
      (a resolved or closed alert stays so unless the finding gets worse).

    `now` is the wall-clock time of delivery (deadlines); windows use event time.
    """
    t = alert.created_at
    if prev is None:
        feeds = route(alert, rules)
        bounded = replace(
            alert,
            evidence=tuple(dict.fromkeys(alert.evidence))[-rules.max_evidence :],
            excerpts=excerpts.merge((), alert.excerpts),
        )
        record = AlertRecord(
            alert=bounded,
            level=alert.level,
            state="new",
            count=1,
            first_seen=t,
            last_seen=t,
            notified_at=t,
            delivered_at=now,
            feeds=feeds,
            version=1,
            due_at=_due(rules, alert.level, now),
            updated_at=now,
        )
        audit = AuditEntry(alert.alert_id, "create", SYSTEM_ACTOR, now, "", "new", alert.level)
        return Decision("new", record, feeds, (audit,))

    merged = _merge(prev.alert, alert, rules.max_evidence)
    base = replace(
        prev,
        alert=merged,
        count=prev.count + 1,
        first_seen=min(prev.first_seen, t),
        last_seen=max(prev.last_seen, t),
        version=prev.version + 1,
        updated_at=now,
    )
    if level_rank(alert.level) > level_rank(prev.level):
        feeds = route(merged, rules, alert.level)
        reopened = prev.state not in OPEN
        state: State = "reopened" if reopened else prev.state
        record = replace(
            base,
            level=alert.level,
            state=state,
            notified_at=t,
            delivered_at=now,
            feeds=_union(prev.feeds, feeds),
            due_at=_due(rules, alert.level, now) if state in UNACKNOWLEDGED else None,
            outcome="" if reopened else prev.outcome,
        )
        kind: Kind = "reopened" if reopened else "upgrade"
        audit = AuditEntry(
            alert.alert_id,
            "reopen" if reopened else "upgrade",
            SYSTEM_ACTOR,
            now,
            prev.state,
            state,
            alert.level,
            note=f"{prev.level}→{alert.level}",
        )
        return Decision(kind, record, feeds, (audit,))

    window = rules.suppress.get(alert.type, timedelta(0))
    if prev.state not in OPEN or t < prev.notified_at + window:
        return Decision("suppressed", base, ())
    feeds = route(merged, rules, prev.level)
    record = replace(base, notified_at=t, feeds=_union(prev.feeds, feeds))
    return Decision("update", record, feeds)


def escalate(record: AlertRecord, rules: RoutingRules, now: datetime) -> Decision | None:
    """Escalate an alert nobody acknowledged in time one level up (None when not due).

    The new level routes to the desk above (blue→yellow moves it from the community to the
    street); the new deadline is the new level's. A red alert has no desk above it; if a red
    deadline is configured it is re-sent to the district as a reminder.
    """
    if record.state not in UNACKNOWLEDGED or record.due_at is None or record.due_at > now:
        return None
    rank = level_rank(record.level)
    level: Level = LEVELS[min(rank + 1, len(LEVELS) - 1)]
    feeds = route(record.alert, rules, level)
    new = replace(
        record,
        level=level,
        state="escalated",
        feeds=_union(record.feeds, feeds),
        version=record.version + 1,
        delivered_at=now,
        due_at=_due(rules, level, now),
        escalations=record.escalations + 1,
        updated_at=now,
    )
    overdue_min = int((now - record.due_at).total_seconds()) // 60
    audit = AuditEntry(
        record.alert_id,
        "escalate",
        SYSTEM_ACTOR,
        now,
        record.state,
        "escalated",
        level,
        note=f"{record.level}→{level}: 超过签收时限未签收(逾期 {overdue_min} 分钟)",
    )
    return Decision("escalated", new, feeds, (audit,))


def redacted(alert: Alert) -> dict[str, object]:
    """The alert as shown in feeds: without `details`, which may name parties (read is audited)."""
    data = alert.to_dict()
    details = data.pop("details", None)
    data["has_details"] = bool(details)
    return data


def feed_entry(record: AlertRecord, kind: Kind) -> dict[str, str]:
    """Fields of one feed stream entry: self-contained, so a desk needs nothing else to act."""
    a = record.alert
    return {
        "alert_id": record.alert_id,
        "kind": kind,
        "type": a.type,
        "level": record.level,
        "unit": a.unit,
        "title": a.title,
        "state": record.state,
        "count": str(record.count),
        "created_at": a.created_at.isoformat(),
        "feeds": json.dumps(list(record.feeds), ensure_ascii=False),
        "alert": json.dumps(redacted(a), ensure_ascii=False, separators=(",", ":")),
    }


def in_scope(record: AlertRecord, scope: str, h: units.Hierarchy | None = None) -> bool:
    """True when a desk with `scope` may see the alert: its unit or a feed it went to is within."""
    unit = record.alert.unit
    own = units.within(unit, scope, h) if units.is_unit(unit, h) else _within(unit, scope, h)
    return own or feed_in_scope(record.feeds, scope, h)


def _within(feed: str, scope: str, h: units.Hierarchy | None = None) -> bool:
    if feed.startswith(DEPT_PREFIX) or scope.startswith(DEPT_PREFIX):
        return feed == scope or scope == units.DISTRICT
    return units.feed_within(feed, scope, h)


def feed_in_scope(feeds: list[str] | tuple[str, ...], scope: str, h: units.Hierarchy | None = None) -> bool:
    """True when any of a feed entry's feeds (path keys) is within `scope` (a unit code; the console's filter)."""
    return any(f != ALL_FEED and _within(f, scope, h) for f in feeds)
