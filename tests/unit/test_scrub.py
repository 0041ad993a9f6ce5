"""The one scrubber: every identifier shape the chaos probe found (issue 13), and what must stay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warning.core.ingest import Pseudonymiser
from warning.core.scrub import MASKS, digits, scrub

ID, PHONE = MASKS["id"], MASKS["phone"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # mobiles: with country code, separators, full-width, masked exports
        ("13912345678", PHONE),
        ("+8613912345678", PHONE),
        ("8613712345678", PHONE),
        ("008613712345678", PHONE),
        ("+86 139 1234 5678", PHONE),
        ("+86-139-1234-5678", PHONE),
        ("139-1234-5678", PHONE),
        ("139 1234 5678", PHONE),
        ("139—1234—5678", PHONE),
        ("１３９１２３４５６７８", PHONE),
        ("１３９－１２３４－５６７８", PHONE),
        ("＋８６　１３９　１２３４　５６７８", PHONE),
        ("138****5678", PHONE),
        ("138xxxx5678", PHONE),
        # landlines
        ("010-62345678", PHONE),
        ("(010)62345678", PHONE),
        ("0571-87654321", PHONE),
        ("021 6234 5678", PHONE),
        ("+86 10 6234 5678", PHONE),
        ("０１０－６２３４５６７８", PHONE),
        # ID numbers: 18 digits (X check), separated, 15-digit pre-1999, full-width
        ("110101199003071234", ID),
        ("11010119900307663X", ID),
        ("11010119900307663x", ID),
        ("110101 19900307 1234", ID),
        ("110101-19900307-1234", ID),
        ("3303 2219 7906 0700 3X", ID),
        ("110101900307123", ID),
        ("１１０１０１１９９００３０７１２３４", ID),
        ("１１０１０１１９９００３０７６６３Ｘ", ID),
        # inside running text, next to Chinese punctuation and each other
        ("电话:13912345678。", f"电话:{PHONE}。"),
        ("回电13912345678,身份证330322198503120021", f"回电{PHONE},身份证{ID}"),
        ("139 1234 5678 110101199003071234", f"{PHONE} {ID}"),
        ("身份证号码110101199003071234，手机13912345678", f"身份证号码{ID},手机{PHONE}"),
        ("REF-110101199003071234", f"REF-{ID}"),
        ("tel:+8613912345678;", f"tel:{PHONE};"),
    ],
)
def test_identifier_shapes_are_scrubbed(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24",
        "2026-11-24 09:30",
        "2026年11月24日13时45分",
        "09:00-17:30",
        "12000元",
        "1,200,000元",
        "欠薪3万元",
        "0.5",
        "第3网格",
        "S03-C02-G05",
        "T-20261124-0001",
        "GD202611240001",
        "XF-2026-000123",
        "202611240000123",  # 15 digits, month 00: not an old ID
        "20261124123456789",  # 17 digits
        "12345678901234567890",  # 20 digits
        "1732435200000",  # epoch milliseconds
        "110",
        "12345热线",
        "12345-2026112400123",
        "门牌12号",
        "120急救",
        "12110101199003071234",  # 20 digits: no ID inside a longer number
    ],
)
def test_dates_amounts_times_and_ticket_numbers_stay(text: str) -> None:
    assert scrub(text) == text


def test_text_is_nfkc_normalised() -> None:
    assert scrub("噪音，深夜（２２点）") == "噪音,深夜(22点)"


def test_a_replacement_is_never_scanned_again() -> None:
    key = Pseudonymiser(b"unit-test-key-0123456789")
    ref = key.scrub_ref("REF-110101199003071234")
    assert ref == "REF-" + key.person("110101199003071234")
    assert key.scrub_ref("REF-110101 19900307 1234") == ref


@pytest.mark.parametrize(
    ("matched", "expected"),
    [
        ("139-1234-5678", "13912345678"),
        ("11010119900307663x", "11010119900307663X"),
        ("１３８****５６７８", "138****5678"),
    ],
)
def test_digits_strip_separators(matched: str, expected: str) -> None:
    assert digits(matched) == expected


@given(st.text(alphabet="0123456789１３９ -+Xx*()元年月日号电话", max_size=80))
def test_scrub_is_idempotent(text: str) -> None:
    once = scrub(text)
    assert scrub(once) == once
