"""Thresholds edits that validation used to accept (issue 13, hole 5) and the reload guard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warning import thresholds
from warning.core.errors import ImproperlyConfigured
from warning.settings import Settings

SHIPPED = thresholds.DEFAULT_FILE.read_text(encoding="utf-8")
PARTIAL = 'version = "t"\ninherit = "defaults"\n'


def _parse(text: str) -> thresholds.Thresholds:
    return thresholds.parse(text, Path("t.toml")).thresholds


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ('"" = 0.95', "at least 2 non-space characters"),  # the probe's edit: 1,553 red alerts in 30 s
        ('" " = 0.5', "at least 2 non-space characters"),
        ('"  " = 0.5', "at least 2 non-space characters"),
        ('"的" = 0.5', "at least 2 non-space characters"),
        ('"Ｘ光" = 0.5', "NFKC"),  # full-width: never matches normalised text
    ],
)
def test_empty_short_or_unmatchable_keywords_are_rejected(keywords: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        _parse(PARTIAL + f"[dynamic.keywords]\n{keywords}\n")
    assert message in str(info.value)
    assert "[dynamic.keywords]" in str(info.value)
    assert "Operator action" in str(info.value)


def test_every_word_list_rejects_empty_entries() -> None:
    if "case" not in thresholds.sections():
        pytest.skip("no [case] section (its word lists) in this tree")
    with pytest.raises(ImproperlyConfigured, match=r"\[case.threat_words\] ''"):
        _parse(PARTIAL + '[case]\nthreat_words = ["扬言", ""]\n')


def test_two_character_keywords_are_fine() -> None:
    assert dict(_parse(PARTIAL + '[dynamic.keywords]\n"堵路" = 0.8\n').dynamic.keywords) == {"堵路": 0.8}


def test_shipped_file_has_every_section_and_no_inherit() -> None:
    loaded = thresholds.load()
    assert loaded.thresholds.inherit is None
    for name in thresholds.sections():
        assert f"\n[{name}]" in SHIPPED or f"\n[{name}." in SHIPPED, name


def test_a_file_cut_in_half_is_rejected() -> None:
    half = SHIPPED[: len(SHIPPED) // 2]
    half = half[: half.rfind("\n[")]  # cut at a section boundary, so the TOML itself is valid
    with pytest.raises(ImproperlyConfigured) as info:
        _parse(half)
    assert "missing section" in str(info.value)
    assert "[pattern]" in str(info.value)
    assert 'inherit = "defaults"' in str(info.value)


def test_a_partial_file_is_accepted_when_it_says_so() -> None:
    t = _parse(PARTIAL + "[dynamic]\nmin_count = 5\n")
    assert t.dynamic.min_count == 5
    assert t.pattern == thresholds.PatternSection()
    with pytest.raises(ImproperlyConfigured, match="inherit"):
        _parse('version = "t"\ninherit = "everything"\n')


def test_earliest_year_and_zone_reach_the_core() -> None:
    limits = _parse(PARTIAL + "[ingest]\nearliest_year = 2010\n").ingest.limits(zone=Settings().zone())
    assert limits.earliest_year == 2010
    assert str(limits.zone) == "Asia/Shanghai"


def test_unknown_time_zone_setting_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARNING_TIMEZONE", "Asia/Atlantis")
    with pytest.raises(ValueError, match='Unknown time zone "Asia/Atlantis"'):
        Settings()


# --- reload_guard ---

BASE = _parse(SHIPPED)


def _edit(old: str, new: str) -> thresholds.Thresholds:
    assert old in SHIPPED
    return _parse(SHIPPED.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"讨薪" = 0.5', '"讨薪" = 0.5\n"冲击" = 0.95', ["keyword '冲击' added with score 0.95"]),
        ('"讨薪" = 0.5', '"讨薪" = 0.9', ["keyword '讨薪' raised with score 0.9"]),
        ("headcount_threshold = 20", "headcount_threshold = 5", ["dynamic.headcount_threshold: lowered from 20 to 5"]),
        ("dynamic = 3600", "dynamic = 0", ["routing.suppress_seconds.dynamic: lowered from 3600.0 to 0.0"]),
    ],
)
def test_risky_changes_are_listed(old: str, new: str, expected: list[str]) -> None:
    risky = thresholds.reload_guard(BASE, _edit(old, new))
    assert len(risky) == len(expected)
    for line, fragment in zip(risky, expected, strict=True):
        assert fragment in line


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"讨薪" = 0.5', '"讨薪" = 0.5\n"冲击" = 0.8'),  # a new keyword below the risky score
        ("headcount_threshold = 20", "headcount_threshold = 12"),  # lowered, but not to under half
        ("headcount_threshold = 20", "headcount_threshold = 60"),  # raised: fewer alerts
        ('"跳楼" = 0.95', '"跳楼" = 0.97'),  # already risky before: not a new risk
        ('version = "default-2026.11"', 'version = "ops-2"'),
    ],
)
def test_routine_changes_pass(old: str, new: str) -> None:
    assert thresholds.reload_guard(BASE, _edit(old, new)) == []


def _write(path: Path, text: str, generation: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(1, generation * 10**18))


def test_reloader_refuses_a_risky_reload_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    _write(path, SHIPPED, 1)
    reloader = thresholds.Reloader(path)
    flood = SHIPPED.replace('"讨薪" = 0.5', '"讨薪" = 0.5\n"冲击" = 0.95', 1)
    _write(path, flood.replace('version = "default-2026.11"', 'version = "flood"'), 2)
    assert reloader.poll() is False
    assert reloader.current.thresholds.version == "default-2026.11"
    assert reloader.last_error and "reload refused" in reloader.last_error and "force = true" in reloader.last_error

    forced = flood.replace('version = "default-2026.11"', 'version = "flood"\nforce = true')
    _write(path, forced, 3)
    assert reloader.poll() is True
    assert reloader.current.thresholds.version == "flood"
    assert reloader.last_error is None
