"""Unlabelled training pairs for EM: the blocked candidate pairs of a batch, plus random pairs.

EM must see the pairs the resolver will actually score - those that share a blocking key - so
the weights it learns describe *candidates* (where a shared phone is common among different
people: households, front desks); random pairs seed ``u``. No labels are used anywhere.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from warning.core.detectors.relational.compare import Profile, Vector, compare
from warning.core.detectors.relational.fs import MatchWeights, fit
from warning.core.detectors.relational.resolve import blocking_keys, usable

# which comparison fields a blocking key's kind is made of
_BLOCK_FIELDS: dict[str, frozenset[str]] = {
    "idp": frozenset({"id", "dob", "sex"}),
    "ph": frozenset({"phone"}),
    "pm": frozenset({"phone"}),
    "np": frozenset({"name"}),
    "dob": frozenset({"dob"}),
    "dobns": frozenset({"dob", "name"}),
    "p4ns": frozenset({"phone", "name"}),
    "an": frozenset({"addr"}),
    "anns": frozenset({"addr", "name"}),
}


def _key_fields(key: str) -> frozenset[str]:
    kind, _, value = key.partition(":")
    return _BLOCK_FIELDS[kind + ("ns" if "|" in value else "")]


def candidate_pairs(
    profiles: Sequence[Profile], block_cap: int, max_pairs: int, seed: int = 0
) -> list[tuple[Vector, frozenset[str]]]:
    """(vector, fields every shared key involves) of pairs sharing an uncapped key (sampled)."""
    blocks: dict[str, list[int]] = {}
    for i, p in enumerate(profiles):
        if usable(p):
            for key in blocking_keys(p):
                blocks.setdefault(key, []).append(i)
    pairs: dict[tuple[int, int], frozenset[str]] = {}
    # a block larger than the cap would be capped in the resolver too; its pairs never get scored
    limit = block_cap * 4
    for key, members in blocks.items():
        if 1 < len(members) <= limit:
            fields = _key_fields(key)
            for k, a in enumerate(members):
                for b in members[k + 1 :]:
                    # a field counts as "blocked on" only if every shared key involves it
                    pairs[(a, b)] = pairs[(a, b)] & fields if (a, b) in pairs else fields
    ordered = sorted(pairs)
    if len(ordered) > max_pairs:
        ordered = random.Random(seed).sample(ordered, max_pairs)
    return [(compare(profiles[a], profiles[b]), pairs[(a, b)]) for a, b in ordered]


def random_pairs(profiles: Sequence[Profile], n: int, seed: int = 0) -> list[Vector]:
    """Vectors of `n` record pairs drawn at random (almost all different people)."""
    idx = [i for i, p in enumerate(profiles) if usable(p)]
    if len(idx) < 2:
        return []
    rng = random.Random(seed)
    return [compare(profiles[a], profiles[b]) for a, b in (rng.sample(idx, 2) for _ in range(n))]


def learn_weights(
    profiles: Sequence[Profile], block_cap: int, max_pairs: int = 200_000, n_random: int = 20_000, fitted_on: str = ""
) -> MatchWeights:
    """EM-fitted weights for a batch of profiles (`warning link`, the shipped default)."""
    candidates = [v for v, _ in candidate_pairs(profiles, block_cap, max_pairs)]
    if not candidates:
        raise ValueError("no two records share a blocking key: nothing to learn match weights from")
    return fit(candidates, random_pairs(profiles, max(n_random, len(candidates))), fitted_on=fitted_on)
