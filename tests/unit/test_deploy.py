"""docker-compose.yml, the Dockerfile and the Prometheus/Grafana files agree with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import CollectorRegistry
from typer.main import get_command

from warning.cli import app
from warning.metrics import Metrics, faust_metrics
from warning.settings import REPO_ROOT, Settings

COMPOSE: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
DEPLOY = REPO_ROOT / "deploy"


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (SERVICES[service].get("environment") or {}).items()}


def _host_ports(service: str) -> set[int]:
    return {int(p.rsplit(":", 1)[1]) for p in SERVICES[service].get("ports", [])}


@pytest.mark.parametrize("service", ["topics", "worker", "console", "cli"])
def test_engine_env_vars_are_settings(service: str) -> None:
    fields = {f"WARNING_{name.upper()}" for name in Settings.model_fields}
    env = _env(service)
    assert env, f"{service} has no environment"
    unknown = {k for k in env if k.startswith("WARNING_")} - fields
    assert not unknown, f"{service}: {unknown} are not settings"


def test_dockerfile_env_vars_are_settings() -> None:
    fields = {f"WARNING_{name.upper()}" for name in Settings.model_fields}
    text = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert set(re.findall(r"(WARNING_[A-Z_]+)=", text)) <= fields


def test_ports_match_settings_and_scrape_config() -> None:
    env = _env("worker")
    web_port = int(env["WARNING_WEB_PORT"])
    assert web_port == Settings.model_fields["web_port"].default
    assert web_port in _host_ports("worker")
    assert int(env["WARNING_CONSOLE_PORT"]) in _host_ports("console")
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = [t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert f"worker:{web_port}" in targets


def test_service_addresses_match() -> None:
    env = _env("worker")
    kafka_port = env["WARNING_KAFKA_BOOTSTRAP"].rsplit(":", 1)[1]
    assert f"PLAINTEXT://kafka:{kafka_port}" in SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    url = urlsplit(env["WARNING_REDIS_URL"])
    assert (url.hostname, url.port, url.username) == ("redis", 6379, "engine")
    command = SERVICES["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always"  # as the local stack: no acked entry lost


def test_compose_redis_has_no_open_default_user() -> None:
    """Issue 13, hole 3: `default` was `on nopass ~* +@all` and redis ran with protected mode off."""
    command = SERVICES["redis"]["command"]
    line = " ".join(command)  # redis takes one token per argv item: never "default off" in one item
    assert "--user default off" in line
    assert "--user engine on >${WARNING_REDIS_PASSWORD:?" in line
    assert not any(c.startswith(("default ", "engine ")) for c in command)
    assert "--protected-mode" not in command and "0.0.0.0" not in command
    assert "--user engine" in " ".join(SERVICES["redis"]["healthcheck"]["test"])


def test_compose_programs_connect_as_their_own_users_with_the_local_stacks_rules() -> None:
    from itertools import pairwise

    from warning.delivery.service_users import ROLE_RULES

    for service, user in (("worker", "engine"), ("topics", "engine"), ("console", "console"), ("cli", "cli")):
        assert urlsplit(_env(service)["WARNING_REDIS_URL"]).username == user, service
    command = SERVICES["redis"]["command"]
    starts = [i for i, c in enumerate(command) if c == "--user"] + [len(command)]
    users = {command[a + 1]: command[a + 2 : b] for a, b in pairwise(starts)}
    assert users["default"] == ["off"]
    for role, rules in ROLE_RULES.items():
        assert users[role][0] == "on" and users[role][1].startswith(">${WARNING_REDIS_"), role
        assert tuple(users[role][2:]) == rules, role


def test_kafka_image_matches_local_broker_version() -> None:
    pom = (DEPLOY / "local" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert version is not None
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{version.group(1)}"


def test_compose_commands_exist_in_the_cli() -> None:
    group: Any = get_command(app)
    for name in ("topics", "worker", "console"):
        command = SERVICES[name]["command"]
        assert command[0] in group.commands, f"compose runs `warning {command[0]}`, which the CLI lacks"
        if len(command) > 1:
            assert command[1] in group.commands[command[0]].commands


def _metric_names() -> set[str]:
    names: set[str] = set()
    registry = CollectorRegistry()
    Metrics.create(registry)
    faust_metrics(registry)  # the worker registers Faust's sensors beside ours
    for metric in registry.collect():
        names.add(metric.name)  # families whose labelled children appear only at run time
        names.update(s.name for s in metric.samples)
    return names


def _used_metrics(text: str) -> set[str]:
    return set(re.findall(r"\b((?:warning|faust)_[a-z_]+)", text))


@pytest.mark.parametrize(
    "path",
    [DEPLOY / "prometheus" / "rules.yml", DEPLOY / "grafana" / "dashboards" / "warning-engine.json"],
    ids=lambda p: Path(p).name,
)
def test_dashboards_and_rules_use_existing_metrics(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        json.loads(text)
    else:
        yaml.safe_load(text)
    used = _used_metrics(text)
    assert used, "no engine metric referenced"
    assert used <= _metric_names(), f"unknown metrics: {used - _metric_names()}"


def test_every_alert_rule_has_a_promtool_test() -> None:
    """`make promtool` runs rules_test.yml; an alert added to rules.yml without a test fails here."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text(encoding="utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    spec = yaml.safe_load((DEPLOY / "prometheus" / "rules_test.yml").read_text(encoding="utf-8"))
    assert spec["rule_files"] == ["rules.yml"]
    firing = {
        case["alertname"] for test in spec["tests"] for case in test.get("alert_rule_test", []) if case["exp_alerts"]
    }
    assert alerts <= firing, f"alerts with no firing test in rules_test.yml: {sorted(alerts - firing)}"
    quiet = {
        case["alertname"]
        for test in spec["tests"]
        for case in test.get("alert_rule_test", [])
        if not case["exp_alerts"]
    }
    # a rule that fires on everything passes a firing test too: each needs a case where it stays quiet
    assert alerts <= quiet, f"alerts with no non-firing test in rules_test.yml: {sorted(alerts - quiet)}"
    assert {case["alertname"] for t in spec["tests"] for case in t.get("alert_rule_test", [])} <= alerts


def test_the_operations_alerts_of_issue_14_exist() -> None:
    """Worker down, lag growing, dead letters, Redis failures/backlog, red unacked, reload failing, ingest halted."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text(encoding="utf-8"))
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    wanted = {
        "WarningWorkerDown": "up{",
        "WarningConsumerLagGrowing": "warning_consumer_lag_messages",
        "WarningDeadLettersRising": "warning_events_dead_lettered_total",
        "WarningRedisWriteErrors": "warning_redis_write_errors_total",
        "WarningRedisDeliveryBacklog": "warning_delivery_backlog_alerts",
        "WarningRedAlertUnacknowledged": 'level="red"',
        "WarningThresholdsRejected": 'outcome="rejected"',
        "WarningIngestHalted": "warning_ingest_halted",
        "WarningWorkerUnhealthy": "warning_healthy",
    }
    for alert, needle in wanted.items():
        assert alert in exprs, f"rules.yml lacks {alert}"
        assert needle in exprs[alert], f"{alert} no longer watches {needle}"
    # internal topics (changelogs, repartitions) count: the lag rule must not filter topics
    assert "topic=" not in exprs["WarningConsumerLagGrowing"]


def test_worker_healthcheck_probes_healthz_on_the_web_port() -> None:
    """Issue 14, item 5: the orchestrator learns from /healthz (503 = stalled or Redis gone)."""
    check = SERVICES["worker"]["healthcheck"]
    test = check["test"]
    assert test[0] == "CMD" and test[1] == "python", "python:3.11-slim has no curl: probe with urllib"
    assert "FROM python:" in (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    url = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", " ".join(test))
    assert url is not None, test
    assert int(url.group(1)) == int(_env("worker")["WARNING_WEB_PORT"])
    assert check["retries"] >= 2 and "start_period" in check
