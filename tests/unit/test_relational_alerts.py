"""Relational alerts (issue 11): links the source systems already made are not news."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from warning.core.detectors.relational.detector import RelationalDetector, RelationalParams
from warning.core.engine import DictKV
from warning.core.events import Event, Location, Party
from warning.core.tokens import Tokeniser
from warning.pipeline import default_match_weights

TOK = Tokeniser(b"relational-alerts-test-key")
TZ = timezone(timedelta(hours=8))
ID = "330302194405289687"


def event(i: int, day: int, channel: str, grid: str, case_ref: str = "") -> Event:
    t = datetime(2026, 3, 1, 10, tzinfo=TZ) + timedelta(days=day)
    party = Party("complainant", "张伟强", tokens=TOK.person(name="张伟强", id_number=ID))
    loc = Location(grid[:3], grid[:7], grid)
    return Event(f"e{i}", channel, f"r{i}", t, t, loc, "labour", case_ref=case_ref, parties=(party,))  # type: ignore[arg-type]


def kinds(events: list[Event], distinct_matters: bool) -> list[str]:
    det = RelationalDetector(replace(RelationalParams(), distinct_matters=distinct_matters), default_match_weights())
    store = DictKV()
    return [a.details["kind"] for e in events for a in det.update(store, "district", e).alerts]


def test_contacts_filed_under_one_case_count_once() -> None:
    one_case = [
        event(1, 0, "hotline", "S01-C01-G01", "XF-1"),
        event(2, 3, "grid", "S01-C01-G02", "XF-1"),
        event(3, 9, "petition", "S01-C01-G02", "XF-1"),
    ]
    assert kinds(one_case, distinct_matters=False) == ["cross_channel_person"]
    assert kinds(one_case, distinct_matters=True) == []  # the case detector follows that case


def test_unlinked_contacts_still_alert() -> None:
    mixed = [
        event(1, 0, "hotline", "S01-C01-G01"),
        event(2, 3, "grid", "S01-C01-G02", "XF-1"),
        event(3, 5, "petition", "S01-C01-G02", "XF-1"),
        event(4, 9, "hotline", "S01-C02-G01"),
    ]
    assert kinds(mixed, distinct_matters=True) == ["cross_channel_person"]  # three matters: 2 calls + 1 case
