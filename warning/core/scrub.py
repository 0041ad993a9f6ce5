"""One scrubber for identifier-shaped strings (ID numbers, mobiles, landlines) in any text.

Ingest runs every text field of a record through `scrub` (free text masked, references
pseudonymised) and dead letters run their kept bytes through it, so a raw identifier exists
only in the input topics. Text is NFKC-normalised first: full-width digits, plus signs,
hyphens and ideographic spaces (１３９－１２３４…) then look like any other number, and every
downstream matcher (keywords, word lists) sees one form of the text.

Shapes are matched with an optional separator (space or dash) between any two digits, in one
pass: an 18- or 15-digit run is an ID number only if its region code and birth date are
plausible, so dates, amounts, times and ticket numbers stay readable. Check digits are *not* verified: a
mistyped ID number is still somebody's ID number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Final, Literal

Kind = Literal["id", "phone"]
Replace = Callable[[Kind, str], str]

_S: Final = r"[ \-\u2010\u2011\u2012\u2013\u2014]?"  # one optional separator; NFKC keeps these dashes


def _run(*tokens: str) -> str:
    """Tokens in sequence, each pair allowed one separator (``139 1234 5678``, ``110101-1990...``)."""
    return _S.join(tokens)


_DIGIT: Final = r"\d"
_MONTH: Final = rf"(?:0{_S}[1-9]|1{_S}[0-2])"
_DAY: Final = rf"(?:0{_S}[1-9]|[12]{_S}\d|3{_S}[01])"
_AREA: Final = _run("[1-8]", *[_DIGIT] * 5)  # GB/T 2260 region codes start 1-8
_ID18: Final = _run(_AREA, rf"(?:1{_S}[89]|2{_S}0)", _DIGIT, _DIGIT, _MONTH, _DAY, *[_DIGIT] * 3, r"[\dXx]")
_ID15: Final = _run(_AREA, _DIGIT, _DIGIT, _MONTH, _DAY, *[_DIGIT] * 3)  # pre-1999: 2-digit year, no check
_MOBILE: Final = rf"(?:(?:\+|00)?86{_S})?" + _run("1", "[3-9]", _DIGIT, *[r"[\d*xX]"] * 4, *[_DIGIT] * 4)
_LANDLINE: Final = _run(r"(?:(?:\+|00)86" + _S + r"\(?0?|\(?0)(?:10|2\d|[3-9]\d\d)\)?", r"[2-9]\d\d\d?", r"\d{4}")
# One pass, alternatives in this order: an ID's digits contain phone-shaped runs, and a
# replacement (a pseudonym's hex) must never be scanned again. The birth date is checked in
# the pattern, so an 18-digit ticket number or amount that is not a plausible ID stays.
_IDENTIFIER: Final = re.compile(
    rf"(?<!\d)(?P<id>(?:{_ID18}|{_ID15})(?![\dXx]))|(?<![\d+])(?P<phone>(?:{_MOBILE}|{_LANDLINE})(?!\d))"
)
_ANY_DIGIT: Final = re.compile(r"\d")
MASKS: Final[dict[Kind, str]] = {"id": "[身份证号]", "phone": "[电话]"}


def digits(text: str) -> str:
    """The digits (and an ID's X check character, a mask's ``*``) of a match, separators removed."""
    return "".join(str(int(c)) if c.isdecimal() else c.upper() for c in text if c.isdecimal() or c in "Xx*")


def mask(kind: Kind, _matched: str) -> str:
    """The default replacement: a label saying what was there, nothing of the value."""
    return MASKS[kind]


def scrub(text: str, replace: Replace = mask) -> str:
    """`text` NFKC-normalised, with every ID number and phone replaced by ``replace(kind, match)``.

    Idempotent with the default `mask` (masks hold no digits).
    """
    text = unicodedata.normalize("NFKC", text)
    if _ANY_DIGIT.search(text) is None:
        return text  # the common case: no digits, nothing to do
    return _IDENTIFIER.sub(lambda m: replace("id" if m.group("id") else "phone", m.group()), text)
