"""Incremental entity resolution over a keyed state store, entry by entry.

Each mention (a party's match tokens) is resolved against the entities seen so far:

1. **Blocking**: the mention's blocking keys (ID block pairs, phone number, masked phone,
   name sound keys, birth date, surname with birth date, last four digits or house numbers) each have an entry
   ``tok:<key>`` listing the entities that carried it, so candidates cost one read per key:
   near-linear in mentions, never a scan. A key seen for more than ``block_cap`` distinct
   entities (a hotline number, a property firm's front desk, 张伟) is *capped*: it stops being
   a blocking key and remembers only its count.
2. **Scoring**: every candidate's summary ``ent:<id>`` is compared with the mention
   (`compare.compare`) and scored with the EM-fitted Fellegi-Sunter weights.
3. **Clustering**: the mention joins the best candidate above ``match_probability``; other
   candidates above it are merged in (union-find: ``ent:<old>`` becomes a pointer) only if the
   two entities are themselves a match - a mention that only names "王女士" must not glue two
   王s together - and the result stays under ``max_mentions``. Twins and same-name strangers
   stay apart because their ID numbers or phones disagree, which EM learns weighs heavily.
4. **Cluster-level evidence**: an entity that holds a well-formed ID number (right check
   character) takes in no mention and merges with no entity holding another well-formed one
   more than a typo away (one person, one ID number: `_conflict`), and a phone whose blocking
   key is capped (a hub) is dropped from the mention before scoring and absorbing - how many
   people share a value is evidence too (term-frequency adjustment). These, not a size cap,
   keep clusters at the size of people.

State entries (all JSON): ``meta`` ``{"next": n}`` (the id counter, only for mentions
resolved without a `mint`: `entity_id`); ``tok:<key>`` a list of entity ids or
``{"cap": n}``; ``ent:<id>`` ``{"k": {kind: [values]}, "n": mentions}`` or ``{"to": id}``.
The resolver writes its lists as tuples (JSON arrays all the same, and read back as lists
after a changelog restore): a tuple of strings is dropped from the garbage collector's
tracking after its first collection, so 10^6 entities' entries are not walked again by every
full collection - with lists, collection was a third of the resolver's time at 10^5 mentions
and grew with the state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, TypeVar

from warning.core.detectors.relational.compare import Profile, Vector, compare, reasons
from warning.core.detectors.relational.fs import MatchWeights
from warning.core.events import stable_id
from warning.core.ports import StateStore
from warning.core.tokens import group

# kinds kept in an entity summary and how many values of each (the one-edit keys of one ID /
# phone are 35 / 21 tokens, so theirs scale with the number of IDs / phones kept)
KEPT: Final[dict[str, int]] = {
    "id": 3, "idd": 105, "idok": 2, "dob": 3, "sx": 2, "ph": 4, "pm": 4, "p4": 4, "pd": 84,
    "nf": 4, "np": 4, "nd": 12, "ns": 2, "nq": 4, "clk": 3, "ad": 3, "an": 3, "hon": 1, "iv": 2,
}  # fmt: skip


_V = TypeVar("_V", bound=Collection[str])


@dataclass(frozen=True, slots=True)
class ResolverParams:
    """Blocking caps and decision thresholds (thresholds file ``[relational]``)."""

    block_cap: int = 8
    max_candidates: int = 30
    match_probability: float = 0.9
    max_mentions: int = 5000


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where one mention went: its entity, whether new, why it linked, what it merged."""

    entity: str
    new: bool
    probability: float = 0.0
    reasons: tuple[str, ...] = ()
    merged: tuple[str, ...] = field(default_factory=tuple)


def blocking_keys(p: Profile) -> list[str]:
    """The keys a profile is blocked on (see the module docstring)."""
    keys = [f"idp:{v}" for v in p.get("idp", ())]
    keys += [f"ph:{v}" for v in p.get("ph", ())] + [f"pm:{v}" for v in p.get("pm", ())]
    keys += [f"np:{v}" for v in [*p.get("np", ()), *p.get("nd", ())]]
    # a birth date alone blocks in a registry (caps it in a city), so a typo in both name parts
    # still finds its candidates when the record has no phone
    keys += [f"dob:{d}" for d in p.get("dob", ())]
    # so do the house numbers (a home's other records when both name parts have a typo)
    keys += [f"an:{d}" for d in p.get("an", ())]
    for s in p.get("ns", ()):
        keys += [f"dob:{d}|{s}" for d in p.get("dob", ())] + [f"p4:{d}|{s}" for d in p.get("p4", ())]
        keys += [f"an:{d}|{s}" for d in p.get("an", ())]
    # house numbers with the name less one syllable/word: a typo in the surname (Davvis) or
    # swapped given/family columns still meet the other records of that home
    keys += [f"an:{d}|{n}" for d in p.get("an", ()) for n in p.get("nd", ())]
    return list(dict.fromkeys(keys))


def usable(p: Profile) -> bool:
    """A mention with neither an identifier nor a name cannot be resolved."""
    return bool(p.get("id") or p.get("p4") or p.get("pm") or p.get("ns"))


class Resolver:
    """Resolves mentions incrementally (pure: all state goes through the `StateStore`)."""

    def __init__(self, weights: MatchWeights, params: ResolverParams | None = None) -> None:
        self.weights = weights
        self.params = params or ResolverParams()
        # (a mention's profile is not cached: at ~35 container objects an entry, a cache of
        # 16,384 profiles doubled the garbage collector's full passes, and halved throughput
        # on distinct mentions - more than the hits of repeat callers save)
        self._probability = lru_cache(maxsize=4096)(weights.probability)

    def find(self, store: StateStore, eid: str) -> str:
        """The root entity of `eid` (path-compressing pointers it walks)."""
        path = []
        entry = store.get(f"ent:{eid}")
        while entry is not None and "to" in entry:
            path.append(eid)
            eid = entry["to"]
            entry = store.get(f"ent:{eid}")
        for old in path[:-1]:
            store.put(f"ent:{old}", {"to": eid})
        return eid

    def summary(self, store: StateStore, eid: str) -> dict[str, Any]:
        """The entity's stored summary (root ids only)."""
        entry = store.get(f"ent:{eid}")
        return entry if entry is not None and "k" in entry else {"k": {}, "n": 0}

    def resolve(self, store: StateStore, tokens: Sequence[str], mint: str = "") -> Resolution | None:
        """Link one mention; None when it carries nothing to link on.

        `mint` names the mention (its event id and party): a new entity's id is derived from
        it (`entity_id`), not from a counter, so an entity's id - and every alert id built on
        it - does not depend on how many entities were created before it: a late event, a
        batch re-applied after a crash, or a partly restored changelog (a counter entry lost
        while the events it counted were marked seen) would otherwise renumber every later
        person. Without `mint` (linkage tools) ids count up from ``E0``.
        """
        prepared, sets, keys = _prepare(tokens)
        profile: Profile = prepared
        if not usable(profile):
            return None
        roots: dict[str, str] = {}  # find() of this call, so each pointer chain is walked once
        entries: dict[str, Any] = {}
        candidates, capped = self._candidates(store, keys, roots, entries)
        if capped:
            profile, sets = _without_hubs(profile, capped), _without_hubs(sets, capped)
            if len(fewer := blocking_keys(profile)) < len(keys):  # the hub's own keys (last 4 + surname)
                keys = fewer
                candidates, _ = self._candidates(store, keys, roots, entries)
        scored = self._score(store, sets, candidates)
        threshold = self.params.match_probability
        mine = valid_ids(profile)
        matches = [s for s in scored if s[0] >= threshold and not _conflict(mine, sets, s[3]["k"])]
        if not matches:
            target = entity_id(mint) if mint else self._new_entity(store)
            summary: dict[str, Any] = {"k": {}, "n": 0}
            result = Resolution(target, True)
        else:
            prob, target, vec, summary = matches[0]
            merged = []
            for _, other, _, other_summary in matches[1:]:
                if self._mergeable(summary, other_summary):
                    summary = _absorb(summary, other_summary["k"], other_summary["n"])
                    store.put(f"ent:{other}", {"to": target})
                    merged.append(other)
            for e, r in roots.items():
                if r in merged:
                    roots[e] = target
            result = Resolution(target, False, prob, tuple(reasons(vec, sets, summary["k"])), tuple(merged))
        store.put(f"ent:{target}", _absorb(summary, {**profile, "iv": mine} if mine else profile, 1))
        self._index(store, keys, target, roots, entries)
        return result

    def _candidates(
        self, store: StateStore, keys: Sequence[str], roots: dict[str, str], entries: dict[str, Any]
    ) -> tuple[list[str], set[str]]:
        """The entities sharing the most keys, and the mention's capped (hub) keys."""
        hits: Counter[str] = Counter()
        capped = set()
        for key in keys:
            entry = entries[key] = store.get(f"tok:{key}")
            if isinstance(entry, dict):
                capped.add(key)
            elif entry:
                hits.update(set(self._roots(store, entry, roots)))
        if len(hits) <= self.params.max_candidates:
            return list(hits), capped  # all of them (`_score` puts them in its own order)
        return [e for e, _ in hits.most_common(self.params.max_candidates)], capped

    def _roots(self, store: StateStore, ids: Sequence[str], roots: dict[str, str]) -> list[str]:
        """The root of each id (`find` once per id and call: `roots` remembers them)."""
        out = []
        for eid in ids:
            root = roots.get(eid)
            if root is None:
                root = roots[eid] = self.find(store, eid)
            out.append(root)
        return out

    def _score(
        self, store: StateStore, profile: Profile, candidates: Sequence[str]
    ) -> list[tuple[float, str, Vector, dict[str, Any]]]:
        out = []
        probability = self._probability
        for eid in candidates:
            summary = self.summary(store, eid)
            vec = compare(profile, summary["k"])
            out.append((probability(vec), eid, vec, summary))
        out.sort(key=_rank)
        return out

    def _mergeable(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        if a["n"] + b["n"] > self.params.max_mentions or _conflict(a["k"].get("iv", ()), a["k"], b["k"]):
            return False
        return self._probability(compare(a["k"], b["k"])) >= self.params.match_probability

    def _new_entity(self, store: StateStore) -> str:
        meta = store.get("meta") or {"next": 0}
        n = int(meta["next"])
        store.put("meta", {**meta, "next": n + 1})
        return f"E{n}"

    def _index(
        self, store: StateStore, keys: Sequence[str], target: str, roots: dict[str, str], entries: Mapping[str, Any]
    ) -> None:
        """Add `target` to each key's entry (the entries `_candidates` read, roots re-used)."""
        cap = self.params.block_cap
        for key in keys:
            entry = entries[key]
            if isinstance(entry, dict):
                continue  # capped: a hub, no longer a blocking key (its count stays as it was)
            if not entry:  # a key seen for the first time (most of them): nothing to re-root
                store.put(f"tok:{key}", (target,))
                continue
            ids = tuple(dict.fromkeys(self._roots(store, entry, roots)))
            if target in ids:
                if len(ids) != len(entry):
                    store.put(f"tok:{key}", ids)
                continue
            store.put(f"tok:{key}", (*ids, target) if len(ids) < cap else {"cap": len(ids) + 1})


def entity_id(mint: str) -> str:
    """The id of the entity a mention named `mint` founds: the same mention, the same id.

    64 bits of a hash: over a district-year's ~10^6 entities a collision has odds ~10^-7.
    Re-applying the mention (a redelivered batch) gives the id it had, so it overwrites its
    own partial entry instead of founding a second entity.
    """
    return "E" + stable_id("entity", mint)[:16]


def _without_hubs(profile: Mapping[str, _V], capped: set[str]) -> dict[str, _V]:
    """The profile without a phone that more than ``block_cap`` people have given.

    A front desk's or a hotline's number is no evidence that two callers are one person (the
    term-frequency adjustment of record linkage, at its simplest): once its blocking key is
    capped, the number is neither compared, nor blocked on (its last four digits with the
    surname), nor kept in the entity's summary.
    """
    if any(f"ph:{v}" in capped for v in profile.get("ph", ())):
        drop: tuple[str, ...] = ("ph", "pm", "pd", "p4")
    elif any(f"pm:{v}" in capped for v in profile.get("pm", ())):
        drop = ("pm", "p4")
    else:
        return dict(profile)
    return {k: v for k, v in profile.items() if k not in drop}


def valid_ids(p: Profile) -> Collection[str]:
    """The ID numbers of `p` known to be well-formed: an entity's ``iv``, or a mention's one ID
    whose GB 11643 check character is right (a mistyped digit breaks it 10 times in 11)."""
    if "iv" in p:
        return p["iv"]
    ids = p.get("id", ())
    return ids if len(ids) == 1 and p.get("idok") == ["1"] else ()


def _conflict(mine: Collection[str], a: Profile, b: Profile) -> bool:
    """Two well-formed ID numbers more than one typo apart: two people, whatever else agrees.

    Cluster-level evidence, not a size cap: one person has one ID number, so an entity that
    holds a well-formed ID never takes in a mention or an entity with another one (twins share
    surname, birth date, home and the parents' phone, and the summary's best-of-any comparison
    would otherwise let those outvote the IDs once a twin's ID-less mentions have joined).
    """
    theirs = valid_ids(b)
    if not mine or not theirs or not set(mine).isdisjoint(theirs):
        return False
    da, db = a.get("idd"), b.get("idd")
    return not (da and db and not set(da).isdisjoint(db))


def _rank(scored: tuple[float, str, Vector, dict[str, Any]]) -> tuple[float, str]:
    """Best probability first; ties by entity id (the same order in every process)."""
    return -scored[0], scored[1]


# the kinds `compare` tests for a shared value: only these get a set view of the mention
_SET_KINDS: Final = frozenset(("id", "idd", "dob", "sx", "ph", "pm", "pd", "p4", "nf", "np", "ns", "an"))


def _prepare(tokens: Sequence[str]) -> tuple[Mapping[str, list[str]], Profile, list[str]]:
    """A mention's profile (lists, in token order), its set view (for `compare`) and blocking keys.

    The lists keep what an entity absorbs in a stable order (sets iterate in a per-process
    hash order); the sets make every "do they share a value" test of the comparisons one
    `isdisjoint` without building a set per call.
    """
    profile = group(tokens)
    sets = {k: frozenset(v) if k in _SET_KINDS else v for k, v in profile.items()}
    return profile, sets, blocking_keys(profile)


def _absorb(summary: Mapping[str, Any], values: Mapping[str, Collection[str]], mentions: int) -> dict[str, Any]:
    """A new summary with `values` added (bounded per kind by `KEPT`)."""
    kept: dict[str, tuple[str, ...]] = dict(summary["k"])  # values are copied only where they change
    for kind, vs in values.items():
        limit = KEPT.get(kind)
        if limit is None:
            continue
        current = kept.get(kind)
        if not current:
            if vs:
                kept[kind] = tuple(dict.fromkeys(vs))[:limit]
            continue
        room = limit - len(current)
        if room <= 0:
            continue  # full: the first values seen stay (most kinds stop growing early)
        present = set(current)
        new = [v for v in dict.fromkeys(vs) if v not in present][:room]
        if new:
            kept[kind] = (*current, *new)
    return {"k": kept, "n": int(summary["n"]) + mentions}
