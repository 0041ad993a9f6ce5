"""Programs' Redis credentials from settings, their ACL file, officers' commands, audit identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from warning import settings as settings_mod
from warning.core.lifecycle import AuditEntry
from warning.delivery import acl
from warning.delivery.service_users import (
    IdentityMismatch,
    acl_file_text,
    audit_actor,
    password_hash,
)
from warning.devtools.testing import T0
from warning.settings import Settings


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("WARNING_REDIS_USER", "WARNING_REDIS_PASSWORD", "WARNING_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WARNING_STACK_DIR", str(tmp_path))
    pw = tmp_path / "redis" / "passwords"
    pw.mkdir(parents=True)
    for role in ("engine", "console", "cli"):
        (pw / role).write_text(f"pw-{role}\n")
    return tmp_path


def test_each_program_gets_its_generated_password_with_zero_configuration(stack_dir: Path) -> None:
    assert settings_mod.load().redis_url == "redis://cli:pw-cli@127.0.0.1:6379/0"
    assert settings_mod.load("engine").redis_url == "redis://engine:pw-engine@127.0.0.1:6379/0"
    assert settings_mod.load("console").redis_user == "console"
    # officers' clients strip them again
    assert acl.anonymous_url(settings_mod.load().redis_url) == "redis://127.0.0.1:6379/0"


def test_explicit_user_password_and_url_credentials_win(stack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARNING_REDIS_USER", "wang")
    monkeypatch.setenv("WARNING_REDIS_PASSWORD", "p@ss:w/rd")
    assert settings_mod.load("engine").redis_url == "redis://wang:p%40ss%3Aw%2Frd@127.0.0.1:6379/0"
    monkeypatch.setenv("WARNING_REDIS_URL", "redis://engine:compose@redis:6379/0")  # compose's form
    assert settings_mod.load("console").redis_url == "redis://engine:compose@redis:6379/0"


def test_no_password_anywhere_keeps_the_bare_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARNING_STACK_DIR", str(tmp_path))
    monkeypatch.delenv("WARNING_REDIS_URL", raising=False)
    monkeypatch.delenv("WARNING_REDIS_PASSWORD", raising=False)
    assert settings_mod.load().redis_url == "redis://127.0.0.1:6379/0"  # a developer's open Redis
    assert Settings(redis_url="memory://").redis_dsn() == "memory://"


def test_repr_masks_the_password_load_put_in_the_url(stack_dir: Path) -> None:
    text = repr(settings_mod.load())
    assert "pw-cli" not in text
    assert "redis://cli:***@127.0.0.1:6379/0" in text


def test_acl_file_turns_default_off_rewrites_roles_and_keeps_officers() -> None:
    old = (
        "user default on nopass ~* &* +@all\n"
        "user engine on #stale ~* &* +@all\n"
        "user zhou on #abc ~warning:feed:S03 resetchannels -@all +xack\n"
    )
    text = acl_file_text(old, {"engine": "e-pass", "console": "c-pass", "cli": "k-pass"})
    lines = text.splitlines()
    assert lines[0] == "user default off resetchannels -@all"
    assert [ln.split()[1] for ln in lines] == ["default", "engine", "console", "cli", "zhou"]
    assert password_hash("e-pass") in lines[1] and "#stale" not in text
    assert "e-pass" not in text
    assert lines[1].endswith("-@dangerous")
    assert lines[3].endswith("+@all")  # cli: the operator's tool (it provisions users)
    assert lines[4] == old.splitlines()[2]


def test_officers_have_no_key_or_group_creating_command() -> None:
    rules = acl.acl_rules("S03", "officer-pass")
    creating = {"+xadd", "+set", "+xgroup", "+xgroup|create", "+xgroup|createconsumer", "+@write", "+@all"}
    assert not creating & set(rules)
    assert {"+xreadgroup", "+xack", "-@all"} <= set(rules)


@pytest.mark.parametrize(
    ("by", "officer", "whoami", "expected"),
    [
        ("张三", None, "cli", ("张三", False)),  # shared operator user: as given, flagged
        ("张三", None, "default", ("张三", False)),
        (None, "zhou", "cli", ("zhou", True)),  # authenticated officer
        (None, None, "wangwu", ("wangwu", True)),  # personal Redis user
        ("wangwu", None, "wangwu", ("wangwu", True)),
        ("张三", None, "", ("张三", False)),  # memory sink: no connection to ask
    ],
)
def test_audit_actor(by: str | None, officer: str | None, whoami: str, expected: tuple[str, bool]) -> None:
    assert audit_actor(by, officer, whoami) == expected


@pytest.mark.parametrize(("by", "whoami"), [("zhangsan", "wangwu"), (None, "cli"), ("", "default")])
def test_audit_actor_refuses(by: str | None, whoami: str) -> None:
    with pytest.raises(IdentityMismatch):
        audit_actor(by, None, whoami)


def test_audit_identity_round_trips_and_old_lines_read_empty() -> None:
    e = AuditEntry("a1", "acknowledge", "张三", T0, identity="cli")
    assert AuditEntry.from_fields(e.to_fields()) == e
    old = {k: v for k, v in e.to_fields().items() if k != "identity"}
    assert AuditEntry.from_fields(old).identity == ""
