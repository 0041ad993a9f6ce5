"""Keyed match tokens: what entity resolution may know of a person's identifiers.

Ingest turns a party's raw ID number, phone and name into short keyed tokens beside the
pseudonyms (`warning.core.ingest`); everything downstream - the relational detector's entity
index, `warning link` - matches on these tokens only. A token is ``kind:value`` where
``value`` is a keyed MAC (BLAKE2b in keyed mode, RFC 7693 - a MAC like HMAC-SHA256 at a quarter
of the cost) or a keyed Bloom filter, under a sub-key derived (by HMAC) from the district's
pseudonym key, so without the key nobody can compute the token of a given number
or name (no dictionary attack over the 10^8 mobile numbers or the ID-number space), and
tokens of two districts never match.

What each token reveals to someone holding tokens but not the key (equality is all an HMAC
reveals; the point of each one is *which* equality):

======== =========================================================== ============================
kind     made of                                                     reveals (by equality only)
======== =========================================================== ============================
``id``   the whole normalised ID number                              same ID number
``idp``  3 pairs of the ID's blocks (region|birth, region|seq+check, two IDs agree on 2 of 3
         birth|seq+check)                                            blocks; one mistyped digit
                                                                     keeps one pair (blocking)
``idd``  the ID with one position (or two neighbours) masked (35,     IDs one typo or one swap
         short)                                                      apart
``idok`` ``1``/``0``: the check character is right (GB 11643)        a clerk's typo; not keyed
``dob``  birth date (from the ID, or a birth-date column)            same birth date
``sx``   sex (ID sequence parity, gender column, 先生/女士)          sex; two values, so the
                                                                     HMAC hides nothing here
``ph``   the phone's last 8 digits (full numbers)                    same number
``pm``   first 3 + last 4 digits (full or masked ``155****9505``)    agreement on the digits an
                                                                     export shows
``p4``   last 4 digits                                               weak: ~10^4 values, so
                                                                     many people share one
``pd``   the 11 digits with one (or two neighbours) masked (21)      numbers one typo/swap apart
``nf``   the name, NFKC + 繁→简 (opencc), no spaces                  same written name
``np``   toneless pinyin of the name (Western: sorted lower words)   same-sounding name (同音
                                                                     字), surname-given order
``nd``   pinyin with one syllable deleted (>= 2 syllables left)      a name one character
                                                                     shorter or different
``ns``   the surname's pinyin                                        same surname (very weak)
``nq``   the sequence of per-syllable (per-word) keyed hashes        syllable edit distance
``clk``  Bloom filter (256 bits, 4 hashes per gram) of the name's    approximate name similarity
         character bigrams and its pinyin letter bigrams             (Dice coefficient)
``ad``   Bloom filter of the address's character bigrams             address similarity
``an``   the address's numbers in order (house, building, room)      same house numbers
``hon``  ``1``: the name was only a surname + 称谓 (王女士, 老王)   that; not keyed
======== =========================================================== ============================

Why this is safe under the district's key, and where it is not: HMAC tokens of high-entropy
values (``id``, ``ph``, ``pm``, ``idd``, ``pd``) cannot be inverted without the key. Low-entropy
tokens (``sx``, ``ns``, ``p4``, the per-syllable hashes in ``nq``) and Bloom filters are open
to *frequency* analysis: in a large enough token dump the commonest surname token is 王/李's
(Kroll & Steinmetzer; Christen et al. attack CLKs the same way). That is why the tokens sit
only in the event stream and the detector's state, which hold raw names anyway (DESIGN.md
§4); they exist so that no raw ID number or phone ever leaves ingest, and so that `warning
link` can run on exports without keeping numbers. The Bloom filter follows clkhash's
"blakeHash" construction (independent keyed BLAKE2b slices per gram rather than Schnell's
double hashing, whose structure Kroll et al. exploit).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Final

import opencc
from pypinyin import lazy_pinyin as _lazy_pinyin

CLK_BITS: Final = 256
CLK_HASHES: Final = 4
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOT_CJK: Final = re.compile(r"[^\u3400-\u9fff\uf900-\ufaff]")
_WORD: Final = re.compile(r"[^\W\d_]+")
# 称谓 written instead of a given name: the hotline's "王女士", a neighbour's "老王"
_TITLES_M: Final = ("先生", "师傅", "大爷", "大伯", "老板", "老汉")
_TITLES_F: Final = ("女士", "小姐", "阿姨", "大妈", "大姐", "大娘")
_TITLES: Final = (*_TITLES_M, *_TITLES_F, "老师", "同志")
_COMPOUND_SURNAMES: Final = frozenset(
    ("欧阳", "司马", "诸葛", "上官", "司徒", "东方", "皇甫", "尉迟", "公孙",
     "慕容", "长孙", "宇文", "夏侯", "令狐", "独孤", "端木", "西门", "南宫")
)  # fmt: skip
_T2S: Final = opencc.OpenCC("t2s")
# full-width digits, letters and the ideographic space fold to ASCII under NFKC


@lru_cache(maxsize=32768)
def _char_pinyin(ch: str) -> str:
    return str(_lazy_pinyin(ch)[0])


def lazy_pinyin(text: str) -> list[str]:
    """Toneless pinyin per character (cached per character: names are short, characters repeat)."""
    return [_char_pinyin(c) for c in text]


def id_check_char(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits of a 居民身份证号."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_id(raw: str) -> str:
    """Spaces and dashes out, check letter upper-case."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", raw)).upper()


def normalise_phone(raw: str) -> str:
    """Digits and ``*`` (mask) only; a +86 / 0086 country prefix dropped."""
    s = unicodedata.normalize("NFKC", raw).replace("x", "*").replace("X", "*")
    digits = re.sub(r"[^\d*]", "", s)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


@lru_cache(maxsize=65536)
def simplify(text: str) -> str:
    """NFKC, then traditional -> simplified (陳偉 -> 陈伟)."""
    return str(_T2S.convert(unicodedata.normalize("NFKC", text)))


@dataclass(frozen=True, slots=True)
class NameParts:
    """A name as the matcher sees it: units (characters or words), their pinyin, the surname."""

    written: str
    syllables: tuple[str, ...]
    surname: str
    title_only: bool
    sex: str
    chinese: bool


def _chinese_name(s: str) -> NameParts:
    sex = ""
    for title in _TITLES:
        if s.endswith(title) and len(s) > len(title):
            sex = "M" if title in _TITLES_M else "F" if title in _TITLES_F else ""
            s = s[: -len(title)]
            surname = s[:2] if s[:2] in _COMPOUND_SURNAMES else s[:1]
            return NameParts(s, tuple(lazy_pinyin(surname)), surname, True, sex, True)
    if len(s) == 2 and s[0] in "老小":  # 老王 / 小李: the surname with a familiar prefix
        return NameParts(s[1], tuple(lazy_pinyin(s[1])), s[1], True, "", True)
    if len(s) == 2 and s[0] == "阿":  # 阿强: a given name only, no surname to compare
        return NameParts(s, (), "", True, "", True)
    surname = s[:2] if s[:2] in _COMPOUND_SURNAMES and len(s) > 2 else s[:1]
    return NameParts(s, tuple(lazy_pinyin(s)), surname, False, "", True)


def _western_name(s: str) -> NameParts:
    if "," in s:  # "Smith, John" -> "John Smith"
        family, _, given = s.partition(",")
        s = f"{given} {family}"
    # NFKD then dropping combining marks folds accents: José -> jose
    plain = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    words = tuple(w.lower() for w in _WORD.findall(plain))
    return NameParts(" ".join(words), words, words[-1] if words else "", False, "", False)


@lru_cache(maxsize=65536)
def name_parts(raw: str) -> NameParts | None:
    """Split a raw name into what the tokens are made of; None when nothing is left of it."""
    s = simplify(raw).strip()
    if _CJK.search(s):
        s = _NOT_CJK.sub("", s)
        return _chinese_name(s) if s else None
    parts = _western_name(s)
    return parts if parts.syllables else None


def parse_birth_date(raw: str) -> date | None:
    """``1978-07-14``, ``1978/7/14``, ``19780714``, ``1978年7月14日``; else None.

    Day-month-year exports: ``07/14/1978`` is read month first (US), unless the first number
    cannot be a month; ``14.07.1978`` is read day first (European).
    """
    s = unicodedata.normalize("NFKC", raw).strip()
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s) or re.fullmatch(
        r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", s
    )
    if m:
        y, mo, d = (int(g) for g in m.groups())
    elif m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", s):
        mo, d, y = (int(g) for g in m.groups())
        if mo > 12:  # 19/03/1978 can only be day first
            mo, d = d, mo
    elif m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", s):
        d, mo, y = (int(g) for g in m.groups())
    else:
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def _one_edit_keys(s: str) -> set[str]:
    """Keys two strings share iff they differ by one substitution or one adjacent swap.

    ``i?<rest>``: position i masked (a mistyped digit); ``i~ab<rest>``: positions i, i+1
    masked with their digits kept as a sorted pair (swapped neighbours). Two IDs that differ
    in two places - twins, whose sequence number and check character both differ - share none.
    """
    keys = {f"{i}?{s[:i]}{s[i + 1 :]}" for i in range(len(s))}
    keys |= {
        f"{i}~{a + b if a <= b else b + a}{s[:i]}{s[i + 2 :]}"
        for i, a, b in zip(range(len(s) - 1), s[:-1], s[1:], strict=True)
    }
    return keys


def dice(a: int, b: int) -> float:
    """Dice coefficient of two Bloom filters held as ints (0 when both are empty)."""
    total = a.bit_count() + b.bit_count()
    return 2 * (a & b).bit_count() / total if total else 0.0


def overlap(a: int, b: int) -> float:
    """Overlap coefficient of two Bloom filters: the shared bits over the smaller filter's."""
    smaller = min(a.bit_count(), b.bit_count())
    return (a & b).bit_count() / smaller if smaller else 0.0


class Tokeniser:
    """Computes a party's match tokens under the district's key (see the module docstring).

    >>> t = Tokeniser(b"0123456789abcdef-test")
    >>> full = t.person(name="陳偉強", phone="15512349505")
    >>> masked = t.person(name="陈炜强", phone="155****9505")
    >>> sorted({k.split(":")[0] for k in set(full) & set(masked)})
    ['nd', 'np', 'nq', 'ns', 'p4', 'pm']
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("match-token key must be at least 16 bytes")
        # sub-keys of their own, so tokens never equal the pseudonyms made with the main key
        self._key = hmac.new(key, b"warning/match-tokens/v1", hashlib.sha256).digest()
        self._clk_key = hmac.new(key, b"warning/match-tokens/clk/v1", hashlib.sha256).digest()
        # keyed BLAKE2b states with the key block already compressed, one per (kind, size):
        # copying one is a third cheaper than keying a new hasher, and ~70 MACs go into a person
        self._bases: dict[tuple[str, int], Any] = {}
        self._clk_base = hashlib.blake2b(key=self._clk_key, digest_size=2 * CLK_HASHES)
        # the same people come back all day (one caller, many events): tokenise each value once
        self.name = lru_cache(maxsize=65536)(self._name)  # type: ignore[method-assign]  # per-instance cache
        # (bounded: an ID's ~40 tokens are ~3 KB, so 8,192 of them stay under ~30 MB)
        self._id_tokens = lru_cache(maxsize=8192)(self._id_number)
        self._phone_tokens = lru_cache(maxsize=8192)(self._phone)
        self._person_tokens = lru_cache(maxsize=16384)(self._person)
        self._gram_bits = lru_cache(maxsize=65536)(self._gram)

    def _base(self, kind: str, size: int) -> Any:
        """The keyed hasher of one token kind and size, created once."""
        base = self._bases.get((kind, size))
        if base is None:
            base = self._bases[(kind, size)] = hashlib.blake2b(
                key=self._key, digest_size=size // 2, person=kind.encode()
            )
        return base

    def _mac(self, kind: str, value: str, size: int = 16) -> str:
        # keyed BLAKE2b is a MAC in its own right (RFC 7693) and 4x cheaper than HMAC-SHA256
        # here, which matters at ~45 tokens per person; the kind goes in as personalisation
        h = self._base(kind, size).copy()
        h.update(value.encode())
        return str(h.hexdigest())

    def _macs(self, kind: str, values: Iterable[str], size: int) -> list[str]:
        """``kind:MAC`` of each value, sorted (the one-edit keys: ~30 per ID or phone)."""
        base = self._base(kind, size)
        out = []
        for value in values:
            h = base.copy()
            h.update(value.encode())
            out.append(f"{kind}:{h.hexdigest()}")
        out.sort()
        return out

    def _bloom(self, grams: Iterable[str]) -> str:
        bits = 0
        for gram in grams:
            bits |= self._gram_bits(gram)
        return f"{bits:0{CLK_BITS // 4}x}"

    def _gram(self, gram: str) -> int:
        """The Bloom bits of one gram (grams repeat across names: cached per instance)."""
        # k independent 16-bit slices of one keyed digest (clkhash's blakeHash); CLK_BITS
        # is a power of two, so the slice's low bits are the index
        d = self._clk_base.copy()
        d.update(gram.encode())
        h = int.from_bytes(d.digest())
        bits = 0
        for _ in range(CLK_HASHES):
            bits |= 1 << (h & (CLK_BITS - 1))
            h >>= 16
        return bits

    def id_number(self, raw: str) -> list[str]:
        """Tokens of an ID number (18 or 15 characters; anything else gets only ``id``)."""
        return list(self._id_tokens(raw))

    def _id_number(self, raw: str) -> tuple[str, ...]:
        return tuple(self._id_list(raw))

    def _id_list(self, raw: str) -> list[str]:
        n = normalise_id(raw)
        if not n:
            return []
        out = [f"id:{self._mac('id', n)}"]
        out += self._macs("idd", _one_edit_keys(n), 6)
        if len(n) == 18 and n[:17].isdigit():
            a, b, c = n[:6], n[6:14], n[14:]
            out += [f"idp:{self._mac('idp', f'{i}|{x}|{y}')}" for i, (x, y) in enumerate(((a, b), (a, c), (b, c)))]
            out.append("idok:" + ("1" if id_check_char(n[:17]) == n[17] else "0"))
            birth, sex_digit = n[6:14], n[16]
        elif len(n) == 15 and n.isdigit():
            birth, sex_digit = "19" + n[6:12], n[14]
        else:
            return out
        try:
            born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
        except ValueError:
            return out
        out.append(self.birth_date(born))
        out.append(self.sex("M" if int(sex_digit) % 2 else "F"))
        return out

    def phone(self, raw: str) -> list[str]:
        """Tokens of a full or masked phone number."""
        return list(self._phone_tokens(raw))

    def _phone(self, raw: str) -> tuple[str, ...]:
        return tuple(self._phone_list(raw))

    def _phone_list(self, raw: str) -> list[str]:
        p = normalise_phone(raw)
        if "*" in p:
            head, tail = re.match(r"^(\d*)", p).group(1), re.search(r"(\d*)$", p).group(1)  # type: ignore[union-attr]  # both patterns match any string
            out = []
            if len(p) == 11 and len(head) >= 3 and len(tail) >= 4:
                out.append(f"pm:{self._mac('pm', head[:3] + '|' + tail[-4:])}")
            if len(tail) >= 4:
                out.append(f"p4:{self._mac('p4', tail[-4:])}")
            return out
        if len(p) < 7:
            return []
        out = [f"ph:{self._mac('ph', p[-8:])}", f"p4:{self._mac('p4', p[-4:])}"]
        if len(p) == 11:
            out.append(f"pm:{self._mac('pm', p[:3] + '|' + p[-4:])}")
            out += self._macs("pd", _one_edit_keys(p), 6)
        return out

    def name(self, raw: str) -> tuple[str, ...]:
        """Tokens of a person's name (Chinese or Western), cached per instance."""
        return self._name(raw)

    def _name(self, raw: str) -> tuple[str, ...]:
        parts = name_parts(raw)
        if parts is None:
            return ()
        surname = " ".join(lazy_pinyin(parts.surname)) if parts.chinese else parts.surname
        out = [f"ns:{self._mac('ns', surname)}"] if surname else []
        if parts.sex:
            out.append(self.sex(parts.sex))
        if parts.title_only:
            return (*out, "hon:1")
        syl = parts.syllables
        out.append(f"nf:{self._mac('nf', parts.written)}")
        out.append(f"np:{self._mac('np', _sound_key(parts, syl))}")
        # a Western surname alone still blocks (capped if common); one Chinese syllable would not
        if len(syl) >= (3 if parts.chinese else 2):
            kept = {_sound_key(parts, syl[:i] + syl[i + 1 :]) for i in range(len(syl))}
            out += sorted(f"nd:{self._mac('np', k)}" for k in kept)
        out.append("nq:" + ".".join(self._mac("nq", s, 6) for s in syl))
        out.append("clk:" + self._bloom(_name_grams(parts)))
        return tuple(out)

    def birth_date(self, born: date) -> str:
        """Token of a birth date."""
        return f"dob:{self._mac('dob', born.strftime('%Y%m%d'))}"

    def sex(self, sex: str) -> str:
        """Token of sex (``M``/``F``)."""
        return f"sx:{self._mac('sx', sex)}"

    def address(self, raw: str) -> list[str]:
        """A Bloom filter of an address's character bigrams (full-width, 繁简 and spaces folded)."""
        s = re.sub(r"[\s,，、;；#\-]", "", simplify(raw)).lower()
        if len(s) < 2:
            return []
        out = ["ad:" + self._bloom(s[i : i + 2] for i in range(len(s) - 1))]
        # house, building and room numbers decide between neighbours, whose text is alike
        if numbers := re.findall(r"\d+", s):
            out.append(f"an:{self._mac('an', ' '.join(numbers))}")
        return out

    def person(
        self,
        name: str = "",
        id_number: str = "",
        phone: str = "",
        birth_date: date | None = None,
        address: str = "",
        sex: str = "",
    ) -> tuple[str, ...]:
        """All tokens of one person record, deduplicated, in a stable order (cached per instance)."""
        return self._person_tokens(name, id_number, phone, birth_date, address, sex)

    def _person(
        self, name: str, id_number: str, phone: str, birth_date: date | None, address: str, sex: str
    ) -> tuple[str, ...]:
        out: list[str] = []
        if id_number:
            out += self._id_tokens(id_number)
        if phone:
            out += self._phone_tokens(phone)
        if name:
            out += self.name(name)
        if birth_date is not None:
            out.append(self.birth_date(birth_date))
        if sex in ("M", "F"):
            out.append(self.sex(sex))
        if address:
            out += self.address(address)
        return tuple(dict.fromkeys(out))


def _sound_key(parts: NameParts, syllables: Sequence[str]) -> str:
    """Pinyin in order for Chinese names; sorted words for Western ones (order varies there)."""
    return " ".join(syllables if parts.chinese else sorted(syllables))


def _name_grams(parts: NameParts) -> list[str]:
    """Character bigrams of the written name (padded) and letter bigrams of its pinyin."""
    units = list(parts.written) if parts.chinese else [f" {w} " for w in sorted(parts.syllables)]
    grams = [f"c{a}{b}" for a, b in zip(["^", *units], [*units, "$"], strict=True)] if parts.chinese else []
    letters = " ".join(sorted(parts.syllables) if not parts.chinese else parts.syllables)
    padded = f" {letters} "
    grams += [f"p{padded[i : i + 2]}" for i in range(len(padded) - 1)]
    return grams


def group(tokens: Sequence[str]) -> Mapping[str, list[str]]:
    """Tokens by kind: ``{"id": [...], "ph": [...], ...}``."""
    out: dict[str, list[str]] = {}
    for t in tokens:
        kind, _, value = t.partition(":")
        out.setdefault(kind, []).append(value)
    return out
