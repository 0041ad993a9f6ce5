"""Keyed match tokens (warning.core.tokens): what agrees, what must not, and the key's role."""

from __future__ import annotations

from datetime import date

import pytest

from warning.core.events import Event, Location, Party
from warning.core.tokens import Tokeniser, dice, group, id_check_char, name_parts, parse_birth_date

KEY = b"unit-test-key-0123456789"
TOK = Tokeniser(KEY)
ID = "330302194405289687"


def kinds_shared(a: tuple[str, ...], b: tuple[str, ...]) -> set[str]:
    return {t.split(":")[0] for t in set(a) & set(b)}


def test_check_char_follows_gb11643() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char(ID[:17]) == ID[17]


@pytest.mark.parametrize(
    ("a", "b", "shared", "not_shared"),
    [
        (ID, ID.lower(), {"id", "idd", "idp", "dob", "sx"}, set()),
        (ID, f"{ID[:6]} {ID[6:14]} {ID[14:]}", {"id"}, set()),
        # one mistyped digit: no full match, one block pair and one one-edit key survive
        (ID, ID[:9] + "7" + ID[10:], {"idd", "idp"}, {"id"}),
        # swapped neighbours
        (ID, ID[:9] + ID[10] + ID[9] + ID[11:], {"idd", "idp"}, {"id"}),
        # a twin: same region and birth date, sequence and check character both differ
        (ID, "330302194405289679", {"idp", "dob"}, {"id", "idd"}),
    ],
)
def test_id_tokens(a: str, b: str, shared: set[str], not_shared: set[str]) -> None:
    common = kinds_shared(TOK.person(id_number=a), TOK.person(id_number=b))
    assert shared <= common
    assert not (not_shared & common)


def test_check_digit_validity_token() -> None:
    assert "idok:1" in TOK.person(id_number=ID)
    assert "idok:0" in TOK.person(id_number=ID[:9] + "7" + ID[10:])


@pytest.mark.parametrize(
    ("a", "b", "shared", "not_shared"),
    [
        ("15512349505", "155****9505", {"pm", "p4"}, {"ph"}),
        ("15512349505", "+86 155-1234-9505", {"ph", "pm", "p4", "pd"}, set()),
        ("15512349505", "15512340505", {"pd"}, {"ph"}),  # one typo inside the last 8
        ("15512349505", "13912349505", {"ph", "p4"}, {"pm"}),
        ("15512349505", "15587654321", set(), {"ph", "pm", "p4", "pd"}),
    ],
)
def test_phone_tokens(a: str, b: str, shared: set[str], not_shared: set[str]) -> None:
    common = kinds_shared(TOK.person(phone=a), TOK.person(phone=b))
    assert shared <= common
    assert not (not_shared & common)


@pytest.mark.parametrize(
    ("a", "b", "shared", "not_shared"),
    [
        ("陈伟强", "陳偉強", {"nf", "np", "clk"}, set()),  # 繁简
        ("张伟强", "张炜强", {"np", "nd"}, {"nf"}),  # 同音字
        ("张伟", "张伟强", {"ns"}, {"nf", "np"}),  # 2 vs 3 characters (np of one = nd of other)
        ("王先生", "王伟", {"ns"}, {"nf", "np"}),  # 称谓
        ("John Smith", "Smith, John", {"nf", "np"}, set()),
        ("John Smith", "Smith John", {"np"}, {"nf"}),
    ],
)
def test_name_tokens(a: str, b: str, shared: set[str], not_shared: set[str]) -> None:
    common = kinds_shared(TOK.person(name=a), TOK.person(name=b))
    assert shared <= common
    assert not (not_shared & common)


def test_two_and_three_character_names_meet_in_the_deletion_keys() -> None:
    short, long = group(TOK.name("张伟")), group(TOK.name("张伟强"))
    assert set(short["np"]) & set(long["nd"])


def test_title_only_names_keep_surname_and_sex() -> None:
    parts = name_parts("李女士")
    assert parts is not None and parts.title_only and parts.sex == "F"
    assert "hon:1" in TOK.name("李女士")
    assert TOK.name("阿强") == ("hon:1",)  # a given name alone: nothing to compare


def test_bloom_filter_is_closer_for_variants_than_strangers() -> None:
    def clk(name: str) -> int:
        return int(group(TOK.name(name))["clk"][0], 16)

    assert dice(clk("张伟强"), clk("张炜强")) > dice(clk("张伟强"), clk("李娜"))
    assert dice(clk("Jonathan Smith"), clk("Jonathon Smith")) > 0.7


def test_tokens_depend_on_the_key_and_hide_the_values() -> None:
    other = Tokeniser(b"another-district-key-0000")
    a, b = (
        TOK.person(name="张伟", id_number=ID, phone="15512349505"),
        other.person(name="张伟", id_number=ID, phone="15512349505"),
    )
    assert not (set(a) - {"idok:1"}) & set(b)
    joined = " ".join(a)
    assert ID not in joined and "15512349505" not in joined and "9505" not in joined
    with pytest.raises(ValueError, match="16 bytes"):
        Tokeniser(b"short")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1978-07-14", date(1978, 7, 14)),
        ("19780714", date(1978, 7, 14)),
        ("1978年7月14日", date(1978, 7, 14)),
        ("1978/7/14", date(1978, 7, 14)),
        ("07/14/1978", date(1978, 7, 14)),
        ("14/07/1978", date(1978, 7, 14)),
        ("14.07.1978", date(1978, 7, 14)),
        ("１９７８－０７－１４", date(1978, 7, 14)),
        ("1978-02-30", None),
        ("not a date", None),
    ],
)
def test_birth_dates(raw: str, expected: date | None) -> None:
    assert parse_birth_date(raw) == expected


def test_party_tokens_round_trip_and_old_events_load() -> None:
    from datetime import datetime, timedelta, timezone

    t = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=8)))
    party = Party("complainant", "张伟", "p1", "t1", TOK.person(name="张伟"))
    event = Event("e1", "hotline", "r1", t, t, Location("S01", "S01-C01", "S01-C01-G01"), "labour", parties=(party,))
    assert Event.from_dict(event.to_dict()) == event
    old = event.to_dict()
    del old["parties"][0]["tokens"]
    assert Event.from_dict(old).parties[0].tokens == ()
