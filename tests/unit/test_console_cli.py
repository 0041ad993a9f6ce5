"""`warning console` listens where the settings say (WARNING_BIND_HOST), unless told otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from typer.testing import CliRunner

from warning.cli import app

RUN = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_run_app(application: Any, **kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(web, "run_app", fake_run_app)
    monkeypatch.setenv("WARNING_REDIS_URL", "redis://127.0.0.1:1/0")  # never dialled: the app is not run
    return seen


def test_console_binds_the_settings_host(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARNING_BIND_HOST", "10.20.30.40")
    monkeypatch.setenv("WARNING_CONSOLE_PORT", "8181")
    res = RUN.invoke(app, ["console"])
    assert res.exit_code == 0, res.output
    assert (served["host"], served["port"]) == ("10.20.30.40", 8181)


def test_console_host_option_wins(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARNING_BIND_HOST", "10.20.30.40")
    res = RUN.invoke(app, ["console", "--host", "127.0.0.2", "--port", "9000"])
    assert res.exit_code == 0, res.output
    assert (served["host"], served["port"]) == ("127.0.0.2", 9000)
