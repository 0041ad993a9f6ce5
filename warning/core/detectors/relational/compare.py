"""Comparison vectors: how two token profiles agree, field by field, in discrete levels.

A *profile* is what the matcher knows of a mention or of a resolved entity: token values by
kind (`warning.core.tokens.group`), several values per kind for an entity (an ID and its typo,
a full and a masked phone, 张伟 and 张炜). Each field is compared at the best level any pair of
values reaches; a field missing on either side is ``-1`` and contributes no evidence. The
levels are ordered from strongest agreement (0) to disagreement (last); the Fellegi-Sunter
weights of each level are learned by EM (`warning.core.detectors.relational.fs`), not set here.

Birth date and sex are compared only when one side has no ID number: an ID number already
contains both, and counting them twice would break the conditional independence the
Fellegi-Sunter model assumes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Final

from rapidfuzz.distance import Levenshtein

from warning.core.tokens import dice, overlap

Profile = Mapping[str, Collection[str]]  # lists (entity summaries) or frozensets (a mention)
Vector = tuple[int, ...]
MISSING: Final = -1

FIELDS: Final[tuple[str, ...]] = ("id", "dob", "sex", "phone", "name", "addr")
LEVELS: Final[dict[str, int]] = {"id": 3, "dob": 2, "sex": 2, "phone": 5, "name": 9, "addr": 3}
# Chinese wording of each agreeing level, for the indicators of an alert (None: says nothing)
LABELS: Final[dict[str, tuple[str | None, ...]]] = {
    "id": ("同一身份证号", "身份证号仅一位不同", None),
    "dob": ("出生日期一致", None),
    "sex": (None, None),
    "phone": ("同一手机号", "手机号前三后四位一致", "手机号仅一位不同", "手机号后四位一致", None),
    "name": ("同名", "同音姓名", "姓名缺一字", "姓名一字之差", "姓名相近", "姓名一字不同", "同姓(称谓)", None, None),
    "addr": ("住址一致", "同一道路/小区", None),
}
NAME_DICE_CLOSE: Final = 0.7
NAME_DICE_NEAR: Final = 0.6
ADDR_SAME: Final = 0.8
ADDR_NEAR: Final = 0.5


def _common(va: Collection[str], vb: Collection[str]) -> bool:
    """Whether two non-empty value collections share a value (the resolver's hottest test)."""
    # the resolver passes a mention's values as frozensets: no set is built per test then
    return not (va if isinstance(va, frozenset) else set(va)).isdisjoint(vb)


def _shares(a: Profile, b: Profile, kind: str) -> bool:
    va = a.get(kind)
    if va:
        vb = b.get(kind)
        if vb:
            return _common(va, vb)
    return False


def _best(a: Collection[str], b: Collection[str], measure: Callable[[int, int], float]) -> float:
    """The best `measure` of any two Bloom filters (0 when either side has none)."""
    if len(a) == 1 and len(b) == 1:  # by far the commonest case: no generator then
        (x,), (y,) = a, b
        return measure(int(x, 16), int(y, 16))
    return max((measure(int(x, 16), int(y, 16)) for x in a for y in b), default=0.0)


def _best_dice(a: Collection[str], b: Collection[str]) -> float:
    return _best(a, b, dice)


def _id(a: Profile, b: Profile) -> int:
    ia, ib = a.get("id"), b.get("id")
    if not ia or not ib:
        return MISSING
    return 0 if _common(ia, ib) else 1 if _shares(a, b, "idd") else 2


def _phone(a: Profile, b: Profile) -> int:
    pma, pmb = a.get("pm"), b.get("pm")
    if not (pma or a.get("p4")) or not (pmb or b.get("p4")):
        return MISSING
    if _shares(a, b, "ph"):
        return 0
    if pma and pmb and _common(pma, pmb):
        return 1
    if _shares(a, b, "pd"):
        return 2
    # the last four digits agreeing is evidence only where no more digits are known on both
    # sides: two numbers whose visible first three digits differ are two numbers
    if not (pma and pmb) and _shares(a, b, "p4"):
        return 3
    return 4


def _sequence_edit(a: Collection[str], b: Collection[str]) -> tuple[bool, bool]:
    """(one syllable dropped, one syllable substituted) between any two syllable sequences."""
    dropped = substituted = False
    for x in a:
        qa = x.split(".")
        for y in b:
            qb = y.split(".")
            if min(len(qa), len(qb)) >= 2 and Levenshtein.distance(qa, qb) == 1:
                dropped |= len(qa) != len(qb)
                substituted |= len(qa) == len(qb)
    return dropped, substituted


def _name(a: Profile, b: Profile) -> int:
    nsa, nsb = a.get("ns"), b.get("ns")
    if not nsa or not nsb:
        return MISSING
    if _shares(a, b, "nf"):
        return 0
    if _shares(a, b, "np"):
        return 1
    dropped, substituted = _sequence_edit(a.get("nq", ()), b.get("nq", ()))
    if dropped:
        return 2
    similarity = _best_dice(a.get("clk", ()), b.get("clk", ()))
    if substituted and similarity >= NAME_DICE_CLOSE:
        return 3
    # alike as a whole (Srah Turnwr / Sarah Turner: a typo in every word) is not the same
    # evidence as one unit wholly replaced (Mary / Margaret Gomez): two levels, so EM weighs
    # them apart (one level for both left the typos just under the match threshold)
    if similarity >= NAME_DICE_NEAR:
        return 4
    if substituted:
        return 5
    if not _common(nsa, nsb):
        return 8
    # "王女士" / "老王" against 王建国 says all a title-only name can; two full names that share
    # only the surname are two people far more often - separate levels, so EM weighs them apart
    title_only = (a.get("hon") and not a.get("nf")) or (b.get("hon") and not b.get("nf"))
    return 6 if title_only else 7


def _plain(a: Profile, b: Profile, kind: str) -> int:
    va, vb = a.get(kind), b.get(kind)
    if not va or not vb:
        return MISSING
    return 0 if _common(va, vb) else 1


def _best_overlap(a: Collection[str], b: Collection[str]) -> float:
    return _best(a, b, overlap)


def _addr(a: Profile, b: Profile) -> int:
    ada, adb = a.get("ad"), b.get("ad")
    if not ada or not adb:
        return MISSING
    # overlap, not Dice: "望海路208号" is all of "望海路208号20幢4单元801室" that a clerk wrote down
    similarity = _best_overlap(ada, adb)
    if _shares(a, b, "an") and similarity >= ADDR_NEAR:
        return 0
    return 1 if similarity >= ADDR_SAME else 2


def compare(a: Profile, b: Profile) -> Vector:
    """The comparison vector of two profiles, one level per field of `FIELDS` (-1 = missing)."""
    id_level = _id(a, b)
    personal = id_level == MISSING  # see the module docstring
    return (
        id_level,
        _plain(a, b, "dob") if personal else MISSING,
        _plain(a, b, "sx") if personal else MISSING,
        _phone(a, b),
        _name(a, b),
        _addr(a, b),
    )


def reasons(vector: Vector, a: Profile, b: Profile) -> list[str]:
    """Why two profiles were linked, in the words of an alert indicator (strongest first)."""
    out: list[str] = []
    for field, level in zip(FIELDS, vector, strict=True):
        if level == MISSING:
            continue
        label = LABELS[field][level]
        if field == "id" and level == 1 and "0" in [*a.get("idok", ()), *b.get("idok", ())]:
            label = "同一身份证号(校验位错误一位)"
        if label:
            out.append(label)
    return out
