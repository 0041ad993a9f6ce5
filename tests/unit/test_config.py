"""Settings, thresholds file, topic catalogue and metrics: the operator-facing contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from warning import thresholds
from warning.core.errors import ImproperlyConfigured
from warning.core.ingest import Pseudonymiser
from warning.devtools import samples
from warning.metrics import Metrics
from warning.settings import Settings
from warning.topics import ROLES, load_catalog

SETTINGS_ENV = {
    "kafka_bootstrap": "WARNING_KAFKA_BOOTSTRAP",
    "redis_url": "WARNING_REDIS_URL",
    "redis_prefix": "WARNING_REDIS_PREFIX",
    "app_id": "WARNING_APP_ID",
    "pseudonym_key": "WARNING_PSEUDONYM_KEY",
    "thresholds_file": "WARNING_THRESHOLDS_FILE",
    "topics_dir": "WARNING_TOPICS_DIR",
    "data_dir": "WARNING_DATA_DIR",
    "web_port": "WARNING_WEB_PORT",
    "bind_host": "WARNING_BIND_HOST",
    "broker_session_timeout": "WARNING_BROKER_SESSION_TIMEOUT",
    "table_standby_replicas": "WARNING_TABLE_STANDBY_REPLICAS",
    "console_port": "WARNING_CONSOLE_PORT",
    "store": "WARNING_STORE",
    "stack_dir": "WARNING_STACK_DIR",
    "kafka_port": "WARNING_KAFKA_PORT",
    "kafka_controller_port": "WARNING_KAFKA_CONTROLLER_PORT",
    "kafka_heap": "WARNING_KAFKA_HEAP",
    "redis_port": "WARNING_REDIS_PORT",
    "stack_timeout": "WARNING_STACK_TIMEOUT",
    "log_level": "WARNING_LOG_LEVEL",
    "log_json": "WARNING_LOG_JSON",
    "timezone": "WARNING_TIMEZONE",
}


@pytest.mark.parametrize(("field", "env"), sorted(SETTINGS_ENV.items()))
def test_env_var_names_are_pinned(field: str, env: str) -> None:
    """Renaming a field would silently orphan operators' env vars; this fails first."""
    assert field in Settings.model_fields
    assert env in (Settings.model_fields[field].description or "")


def test_every_setting_is_documented_and_pinned() -> None:
    for name, f in Settings.model_fields.items():
        assert (f.description or "").startswith(f"WARNING_{name.upper()}:"), name
    assert set(Settings.model_fields) >= set(SETTINGS_ENV)


def test_settings_read_env_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARNING_KAFKA_BOOTSTRAP", "10.0.0.1:19092")
    monkeypatch.setenv("WARNING_PSEUDONYM_KEY", "s3cret-s3cret-s3cret")
    s = Settings()
    assert s.kafka_bootstrap == "10.0.0.1:19092"
    assert "s3cret" not in repr(s)
    assert s.pseudonym_key.get_secret_value() == "s3cret-s3cret-s3cret"


def test_shipped_thresholds_load() -> None:
    loaded = thresholds.load()
    assert loaded.thresholds.version
    assert loaded.thresholds.ingest.limits().max_text_chars == loaded.thresholds.ingest.max_text_chars


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("[ingest]\nmax_text_chars = -1\n", "[ingest] max_text_chars"),
        ("[ingest]\nmax_txt_chars = 10\n", "unknown key"),
        ("[ingest\n", "not valid TOML"),
        ("[ingest]\ndead_letter_halt_ratio = 'half'\n", "[ingest] dead_letter_halt_ratio"),
    ],
)
def test_bad_thresholds_edit_is_rejected_with_the_key(tmp_path: Path, edit: str, message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text('version = "x"\ninherit = "defaults"\n' + edit, encoding="utf-8")
    with pytest.raises(ImproperlyConfigured) as info:
        thresholds.load(path)
    assert message in str(info.value)
    assert "Operator action" in str(info.value)


def test_reloader_keeps_running_config_on_bad_edit(tmp_path: Path) -> None:
    import os

    path = tmp_path / "t.toml"
    path.write_text('version = "a"\ninherit = "defaults"\n[ingest]\nmax_text_chars = 100\n', encoding="utf-8")
    reloader = thresholds.Reloader(path)
    assert reloader.current.thresholds.ingest.max_text_chars == 100

    path.write_text('version = "b"\ninherit = "defaults"\n[ingest]\nmax_text_chars = 0\n', encoding="utf-8")
    os.utime(path, ns=(1, 10**18))
    assert reloader.poll() is False
    assert reloader.last_error and "max_text_chars" in reloader.last_error
    assert reloader.current.thresholds.version == "a"

    path.write_text('version = "c"\ninherit = "defaults"\n[ingest]\nmax_text_chars = 200\n', encoding="utf-8")
    os.utime(path, ns=(1, 2 * 10**18))
    assert reloader.poll() is True
    assert reloader.current.thresholds.ingest.max_text_chars == 200
    assert reloader.poll() is False


def test_topic_catalogue_covers_every_role() -> None:
    catalog = load_catalog(Settings().topics_dir)
    assert {s.role for s in catalog} == set(ROLES)
    assert len({s.name for s in catalog}) == len(ROLES)
    for spec in catalog:
        assert spec.partitions >= 1
        assert spec.value_schema is not None and spec.value_schema.exists()
        assert spec.sample is not None and spec.sample.exists()


def test_unknown_topic_lists_valid_names() -> None:
    catalog = load_catalog(Settings().topics_dir)
    with pytest.raises(ImproperlyConfigured, match=r'Unknown topic "nope"; valid options are \['):
        catalog.by_name("nope")


def test_stored_schemas_match_the_code() -> None:
    catalog = load_catalog(Settings().topics_dir)
    for path, schema in samples.schemas(catalog).items():
        assert path.read_text(encoding="utf-8") == samples.render(schema), f"run `warning topics schemas` ({path.name})"


def test_shipped_samples_hold_valid_and_invalid_records() -> None:
    catalog = load_catalog(Settings().topics_dir)
    events, dead = samples.derived_samples(catalog, Pseudonymiser(b"sample-key-not-secret-0123"))
    assert len(events) == 7
    reasons = sorted(json.loads(d)["reason"] for d in dead)
    assert reasons == sorted(
        [
            "unknown_category",
            "missing_grid",
            "future_timestamp",
            "bad_json",
            "schema",
            "schema",
            "unsupported_version",
            "bad_encoding",
        ]
    )
    stored = catalog.events.sample
    assert stored is not None
    assert len(stored.read_text(encoding="utf-8").splitlines()) == len(events)


def test_metrics_use_an_injected_registry_and_bounded_labels() -> None:
    m1 = Metrics.create(CollectorRegistry())
    m2 = Metrics.create(CollectorRegistry())  # no duplicate-registration error: nothing global
    m1.events_received.labels(channel="grid").inc()
    text = generate_latest(m1.registry).decode()
    assert 'warning_events_received_total{channel="grid"} 1.0' in text
    assert 'warning_events_received_total{channel="grid"} 0.0' in generate_latest(m2.registry).decode()
    for metric in m1.registry.collect():
        for sample in metric.samples:
            assert not {"person", "grid_id", "case_ref", "name"} & set(sample.labels)
