"""The relational detector (关联预警): resolved people, respondents and places, and linked-risk alerts.

One key, ``district`` (an entity index must be global), state read and written entry by entry:
the resolver's entries (`resolve`), and the event graph -

``pv:<entity>``  ``{"r": rows, "ls": last seen, "al": ids merged in, "ix": ID block keys}``:
                 the person's recent events ``[t, channel, grid, category, event_id]``
                 (bounded); queries: a person's history across channels and grids; the rest
                 is what eviction needs (`retention`);
``rs:<street>|<respondent>``  complainants against one respondent in one street;
``cf:<community>|<category>|<subcategory>``  separate petitions/calls on one grievance;
``al:<subject>``  the open episode of an alert subject (its id, level, last alert time);
``gc:<hour>``, ``gcw``  the time wheel of `retention`: what was not seen for
                 ``retention_days`` is evicted, so the state stays bounded over a district-year.

Alerts (type ``relational``; routed to the street/town 属地 and the departments owning the
categories 属事):

- **same person across channels or grids**: a resolved person with at least
  ``repeat_min_events`` events within ``window_days`` through at least two channels or in at
  least two grids; orange when the contacts escalate towards a petition (热线/网格 → 信访) and
  reach ``escalation_min_events``. The link reasons ("同音姓名+手机号后四位一致") are indicators.
- **many against one** (涉众型): distinct complainants against one respondent in one street
  within the window, at least ``group_min_people``, and improbable under that respondent's own
  long-run rate (Poisson tail <= ``group_max_p``; the rate learns from arrivals that left the
  window, with a weak prior), so a big property firm's everyday complaints do not fire;
- **collective petition forming**: the same test for distinct people petitioning or calling
  separately (at least ``collective_min_events`` events) on one community x category x
  subcategory; orange once any of the events is already a group (headcount / collective flag).

Parameters come from the thresholds file ``[relational]``; the match weights are an artefact
(EM-fitted, see `fs`), passed in at construction.

>>> det = RelationalDetector(RelationalParams())  # weights: exact ID numbers only
>>> det.name, det.key_space
('relational', 'district')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from warning.core.detectors.relational.compare import FIELDS, LEVELS
from warning.core.detectors.relational.fs import MatchWeights
from warning.core.detectors.relational.resolve import Resolution, Resolver, ResolverParams, blocking_keys
from warning.core.detectors.relational.retention import sweep, touch
from warning.core.events import Alert, Event, Indicator, Party, stable_id
from warning.core.ports import DISTRICT_KEY, NOTHING, KeySpace, Message, Outcome, StateStore
from warning.core.taxonomy import CATEGORIES, CHANNEL_LABELS, Level, category_label
from warning.core.tokens import group, simplify

DAY: Final = 86_400
_ORG: Final = re.compile(
    r"公司|物业|厂|学校|中心|会所|经营部|商行|店|集团|银行|医院|工地|项目部|合作社|培训|酒店|超市|俱乐部"
)
_ORG_SUFFIX: Final = re.compile(r"(有限责任公司|股份有限公司|有限公司|分公司|公司)$")
_PLACE_PREFIX: Final = re.compile(r"^.{1,4}?[省市区县](?=.{3,})")
_PERSON_ROLES: Final = frozenset({"complainant", "party", "reporter"})


@dataclass(frozen=True, slots=True)
class RelationalParams:
    """Typed parameters (thresholds ``[relational]``); see the module docstring."""

    resolver: ResolverParams = field(default_factory=ResolverParams)
    window_days: int = 30
    repeat_min_events: int = 3
    escalation_min_events: int = 5
    group_min_people: int = 5
    group_max_p: float = 1e-4
    collective_min_people: int = 5
    collective_min_events: int = 4
    rate_half_life_days: float = 90.0
    rate_prior_people: float = 1.0
    rate_prior_days: float = 60.0
    group_min_history_days: float = 30.0
    collective_alerts: bool = False
    max_person_events: int = 50
    max_group_entries: int = 200
    evidence_max: int = 20
    distinct_matters: bool = True
    retention_days: int = 180
    sweep_buckets: int = 4


class RelationalDetector:
    """Entity resolution + event graph + relational alerts (see the module docstring)."""

    name = "relational"
    version = "1.0"
    key_space: KeySpace = "district"

    def __init__(self, params: RelationalParams, weights: MatchWeights | None = None) -> None:
        self.params = params
        # without fitted weights only an exact ID number links (never a guess from names)
        self.weights = weights if weights is not None else exact_id_weights()
        self._resolver = Resolver(self.weights, params.resolver)

    def keys(self, event: Event) -> Sequence[str]:
        """The district key when any party carries match tokens (or a respondent is named)."""
        if any(p.tokens or (p.role == "respondent" and p.name) for p in event.parties):
            return (DISTRICT_KEY,)
        return ()

    def update(self, store: StateStore, key: str, event: Event) -> Outcome:
        """Resolve the event's parties, extend the graph, raise the alerts it completes."""
        t = int(event.occurred_at.timestamp())
        sweep(store, self._resolver, t, self.params.retention_days * DAY, self.params.sweep_buckets)
        people: list[tuple[str, Resolution]] = []
        respondents: list[str] = []
        for i, party in enumerate(event.parties):
            mint = f"{event.event_id}#{i}"  # names a new entity (`resolve.entity_id`): no counter
            if party.role == "respondent":
                ref = self._respondent_ref(store, party, t, mint)
                if ref:
                    respondents.append(ref)
            elif party.role in _PERSON_ROLES and party.tokens:
                res = self._resolver.resolve(store, party.tokens, mint)
                if res is not None:
                    self._seen(store, res, party.tokens, t)
                    people.append((res.entity, res))
        alerts: list[Alert] = []
        for eid, res in dict(people).items():  # one update per distinct person in the event
            alerts += self._person(store, eid, res, event, t)
        complainants = list(dict.fromkeys(e for e, _ in people))
        for ref in dict.fromkeys(respondents):
            alerts += self._group(store, f"rs:{event.location.street}|{ref}", "respondent", ref, complainants, event, t)
        if self.params.collective_alerts and event.channel in ("petition", "hotline") and complainants:
            ref = f"{event.category}|{event.subcategory}"
            place = event.location.community  # a group forms in one place, not street-wide
            alerts += self._group(store, f"cf:{place}|{ref}", "collective", ref, complainants, event, t)
        return Outcome(tuple(alerts))

    def receive(self, store: StateStore, key: str, message: Message) -> Outcome:
        """The relational detector takes no messages."""
        return NOTHING

    # ---- people ------------------------------------------------------------------------------

    def _seen(self, store: StateStore, res: Resolution, tokens: Sequence[str], t: int) -> None:
        """Record the mention on the entity's ``pv`` entry: merged histories, last seen, eviction keys.

        The ID block keys (``idp``) are kept here because the resolver's summary does not keep
        them, and eviction must find every blocking list that names the entity.
        """
        meta = _meta(store.get(f"pv:{res.entity}"))
        before = meta["ls"] if meta["ls"] >= 0 else None
        rows, aliases, ix = list(meta["r"]), list(meta["al"]), list(meta["ix"])
        for old in res.merged:
            other = _meta(store.get(f"pv:{old}"))
            rows += other["r"]
            aliases += [old, *other["al"]]
            ix += other["ix"]
            store.delete(f"pv:{old}")
        ix += [k for k in _id_keys(tuple(tokens)) if k not in ix]
        meta = {"r": sorted(rows)[-self.params.max_person_events :], "ls": max(t, meta["ls"]),
                "al": list(dict.fromkeys(aliases)), "ix": list(dict.fromkeys(ix))[-12:]}  # fmt: skip
        store.put(f"pv:{res.entity}", meta)
        touch(store, res.entity, before, t)

    def _person(self, store: StateStore, eid: str, res: Resolution, event: Event, t: int) -> list[Alert]:
        p = self.params
        meta = _meta(store.get(f"pv:{eid}"))
        rows: list[list[Any]] = [r for r in meta["r"] if r[0] >= t - p.window_days * DAY]
        if not any(r[4] == event.event_id for r in rows):
            rows.append([t, event.channel, event.location.grid_id, event.category, event.event_id, event.case_ref])
        rows = sorted(rows)[-p.max_person_events :]
        store.put(f"pv:{eid}", {**meta, "r": rows})
        channels = list(dict.fromkeys(r[1] for r in rows))
        grids = {r[2] for r in rows}
        if _contacts(rows, p.distinct_matters) < p.repeat_min_events or (len(channels) < 2 and len(grids) < 2):
            return []
        escalated = "petition" in channels and channels.index("petition") > 0
        level: Level = "orange" if escalated and len(rows) >= p.escalation_min_events else "yellow"
        reasons = self._reasons(store, eid, res)
        indicators = [
            Indicator("contacts_in_window", len(rows), p.repeat_min_events, 0.4, f"{p.window_days}天内反映次数"),
            Indicator("channels", len(channels), 2, 0.2, "涉及渠道数"),
            Indicator("grids", len(grids), 2, 0.2, "涉及网格数"),
        ]
        if escalated:
            indicators.append(
                Indicator(
                    "escalation_to_petition", 1, 1, 0.2, "渠道升级: " + "→".join(CHANNEL_LABELS[c] for c in channels)
                )
            )
        indicators += [
            Indicator("link_reason", round(res.probability, 3), p.resolver.match_probability, 0.0, r) for r in reasons
        ]
        cats = list(dict.fromkeys(r[3] for r in rows))
        title = (
            f"同一人员{p.window_days}天内经{'、'.join(CHANNEL_LABELS[c] for c in channels)}"
            f"反映{'、'.join(category_label(c) for c in cats)}{len(rows)}次(涉及{len(grids)}个网格)"
        )
        streets = {g.split("-")[0] for g in grids}
        unit = event.location.street if len(streets) == 1 else "district"
        return self._emit(
            store,
            f"person:{eid}",
            level,
            unit,
            title,
            indicators,
            [r[4] for r in rows],
            cats,
            t,
            details={"entity": eid, "kind": "cross_channel_person"},
        )

    def _reasons(self, store: StateStore, eid: str, res: Resolution) -> list[str]:
        """Why this entity's mentions were linked: this mention's reasons, else the stored ones."""
        kept: list[str] = list(store.get(f"pr:{eid}") or [])
        if res.reasons:
            joined = "+".join(res.reasons)
            if joined not in kept:
                kept = [*kept, joined][-3:]
                store.put(f"pr:{eid}", kept)
        return kept

    # ---- groups: many against one, collective forming -----------------------------------------

    def _respondent_ref(self, store: StateStore, party: Party, t: int, mint: str) -> str:
        name = simplify(party.name).strip()
        if name and _ORG.search(name):
            core = _ORG_SUFFIX.sub("", _PLACE_PREFIX.sub("", name))
            return "org:" + core[:2]  # the trade name (字号): 鑫源建筑劳务有限公司 / 鑫源公司 -> 鑫源
        if party.tokens:
            res = self._resolver.resolve(store, party.tokens, mint)
            if res is None:
                return ""
            self._seen(store, res, party.tokens, t)
            return f"person:{res.entity}"
        return ""

    def _group(
        self, store: StateStore, entry: str, kind: str, ref: str, people: Sequence[str], event: Event, t: int
    ) -> list[Alert]:
        p = self.params
        stored = store.get(entry)
        touch(store, entry, stored["t"] if stored else None, t)
        g: dict[str, Any] = dict(stored or {"ev": [], "old": 0.0, "exp": 0.0, "t": t, "since": t})
        kept = [row for row in g["ev"] if row[0] >= t - p.window_days * DAY]
        # long-run rate: every arrival counts once (decayed), over the decayed exposure time
        decay = math.exp(-(t - g["t"]) * math.log(2) / (p.rate_half_life_days * DAY))
        g["exp"] = g["exp"] * decay + (t - g["t"]) / DAY
        g["old"] = g["old"] * decay
        g["t"] = t
        for eid in people:
            if not any(r[1] == eid and r[2] == event.event_id for r in kept):
                g["old"] += 1
                kept.append(
                    [t, eid, event.event_id, event.category, int(event.headcount >= 5 or "collective" in event.flags)]
                )
        g["ev"] = sorted(kept)[-p.max_group_entries :]
        store.put(entry, g)
        n_people = len({r[1] for r in g["ev"]})
        n_events = len({r[2] for r in g["ev"]})
        need = p.group_min_people if kind == "respondent" else p.collective_min_people
        if n_people < need or (kind == "collective" and n_events < p.collective_min_events):
            return []
        if g["exp"] < p.window_days + p.group_min_history_days:
            return []  # warm-up: the prior alone cannot say what is unusual for this respondent
        # people per day before this window: the window's own arrivals and days are taken out
        before = max(0.0, g["old"] - len({(r[1], r[2]) for r in g["ev"]}))
        rate = (before + p.rate_prior_people) / (max(0.0, g["exp"] - p.window_days) + p.rate_prior_days)
        expected = rate * p.window_days
        tail = _poisson_sf(n_people, expected)
        if tail > p.group_max_p:
            return []
        return self._group_alert(store, entry, kind, ref, g, n_people, n_events, expected, tail, event, t)

    def _group_alert(
        self,
        store: StateStore,
        entry: str,
        kind: str,
        ref: str,
        g: Mapping[str, Any],
        n_people: int,
        n_events: int,
        expected: float,
        tail: float,
        event: Event,
        t: int,
    ) -> list[Alert]:
        p = self.params
        cats = list(dict.fromkeys(r[3] for r in g["ev"]))
        street = event.location.street
        indicators = [
            Indicator("distinct_people", n_people, p.group_min_people, 0.5, f"{p.window_days}天内涉及人数"),
            Indicator("expected_people", round(expected, 2), round(expected, 2), 0.0, "该对象常态人数(期望)"),
            Indicator(
                "surprise",
                round(-math.log10(max(tail, 1e-300)), 2),
                -math.log10(p.group_max_p),
                0.3,
                "偏离常态程度(-log10 p)",
            ),
            Indicator("events", n_events, p.collective_min_events, 0.2, "事件数"),
        ]
        if kind == "respondent":
            who = ref.removeprefix("org:") if ref.startswith("org:") else "同一被反映人"
            level: Level = "orange" if n_people >= 3 * p.group_min_people else "yellow"
            title = f"{n_people}名群众{p.window_days}天内反映同一对象({who})的{category_label(cats[0])}(涉众型)"
            details = {"kind": "many_against_one", "respondent": ref}
        else:
            grouped = any(r[4] for r in g["ev"])
            level = "orange" if grouped else "yellow"
            what = f"{category_label(cats[0])}({event.subcategory or '同一诉求'})"
            title = f"{n_people}人{p.window_days}天内分别信访/来电反映{what},集体访苗头"
            details = {"kind": "collective_forming", "grievance": ref}
        return self._emit(
            store,
            f"{kind}:{entry[3:]}",
            level,
            street,
            title,
            indicators,
            list(dict.fromkeys(r[2] for r in g["ev"])),
            cats,
            t,
            details,
        )

    # ---- alerts --------------------------------------------------------------------------------

    def _emit(
        self,
        store: StateStore,
        subject: str,
        level: Level,
        unit: str,
        title: str,
        indicators: list[Indicator],
        evidence: list[str],
        categories: list[str],
        t: int,
        details: Mapping[str, Any],
    ) -> list[Alert]:
        """One alert per subject and episode; a repeat inside the episode only if the level rose."""
        p = self.params
        state = store.get(f"al:{subject}")
        touch(store, f"al:{subject}", state["last"] if state else None, t)
        rank = ["blue", "yellow", "orange", "red"].index(level)
        if state and t - state["last"] <= p.window_days * DAY:
            if rank <= state["rank"]:
                store.put(f"al:{subject}", {**state, "last": t})
                return []
            episode = state["episode"]
        else:
            episode = t
        store.put(f"al:{subject}", {"episode": episode, "rank": rank, "last": t})
        departments = tuple(dict.fromkeys(CATEGORIES[c][1] for c in categories if c in CATEGORIES))
        at = datetime.fromtimestamp(t, UTC)
        return [
            Alert(
                alert_id=stable_id("relational", subject, str(episode)),
                type="relational",
                level=level,
                unit=unit,
                subject=subject,
                title=title,
                indicators=tuple(indicators),
                detector=f"{self.name}@{self.version}",
                created_at=at,
                score=None,
                evidence=tuple(evidence[-p.evidence_max :]),
                window_start=at - timedelta(days=p.window_days),
                window_end=at,
                category=categories[0],
                departments=departments,
                details=dict(details),
            )
        ]


def _contacts(rows: Sequence[Sequence[Any]], distinct_matters: bool) -> int:
    """Contacts of a person; with `distinct_matters`, records the source systems already filed
    under one case (one ``case_ref``) count once: those links are known, the case detector
    follows them, and the relational alert is about links nobody has made yet."""
    if not distinct_matters:
        return len(rows)
    return len({(r[5] if len(r) > 5 and r[5] else r[4]) for r in rows})


def _meta(value: Any) -> dict[str, Any]:
    """A ``pv`` entry in its full form (an absent one: ``ls`` -1)."""
    if isinstance(value, dict):
        return value
    return {"r": list(value or []), "ls": -1, "al": [], "ix": []}


@lru_cache(maxsize=16384)
def _id_keys(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The mention's ID block blocking keys (the ones an entity summary cannot give back)."""
    return tuple(k for k in blocking_keys(group(tokens)) if k.startswith("idp:"))


def _poisson_sf(n: int, mu: float) -> float:
    """P(X >= n) for X ~ Poisson(mu), by summing the lower terms in log space."""
    if n <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    below = sum(math.exp(k * math.log(mu) - mu - math.lgamma(k + 1)) for k in range(n))
    return max(0.0, 1.0 - below)


def exact_id_weights() -> MatchWeights:
    """Weights that link on an exact ID number only: every other level is neutral evidence."""
    m = {f: (1.0 / LEVELS[f],) * LEVELS[f] for f in FIELDS}
    u = dict(m)
    m["id"], u["id"] = (0.98, 0.01, 0.01), (1e-6, 0.01, 1 - 0.01 - 1e-6)
    return MatchWeights(m, u, 0.01, "exact ID number only (no fitted weights given)")
