"""Local stack config generation and process-safety rules, without any server."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from warning.core.errors import ServiceUnavailable
from warning.devtools import stack as stack_mod
from warning.settings import Settings


def _props(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert key not in out, f"duplicate key {key}"
            out[key] = value
    return out


@pytest.fixture
def cfg(tmp_path: Path) -> Settings:
    return Settings(
        stack_dir=tmp_path / "stk",
        kafka_port=19092,
        kafka_controller_port=19093,
        redis_port=16379,
        kafka_heap="384m",
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("process.roles", "broker,controller"),
        ("node.id", "1"),
        ("controller.quorum.voters", "1@127.0.0.1:19093"),
        ("listeners", "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"),
        ("advertised.listeners", "PLAINTEXT://127.0.0.1:19092"),
        ("controller.listener.names", "CONTROLLER"),
        ("inter.broker.listener.name", "PLAINTEXT"),
        ("offsets.topic.num.partitions", "1"),
        ("offsets.topic.replication.factor", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("default.replication.factor", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("auto.create.topics.enable", "true"),
    ],
)
def test_server_properties_follow_settings(cfg: Settings, key: str, value: str) -> None:
    assert _props(stack_mod.kafka_server_properties(cfg))[key] == value


def test_server_properties_use_absolute_data_dir_and_never_localhost(cfg: Settings) -> None:
    text = stack_mod.kafka_server_properties(cfg)
    log_dirs = Path(_props(text)["log.dirs"])

    assert log_dirs.is_absolute()
    assert log_dirs == (cfg.stack_dir / "kafka" / "data").resolve()
    assert "localhost" not in text


def test_redis_config_follows_settings(cfg: Settings) -> None:
    lines = stack_mod.redis_config(cfg).splitlines()
    root = cfg.stack_dir.resolve()

    for expected in (
        "port 16379",
        "bind 127.0.0.1",
        "appendonly yes",
        "appendfsync always",  # an acknowledged feed entry survives a host crash, not only a SIGKILL
        "daemonize no",
        f'dir "{root / "redis" / "data"}"',
        f'aclfile "{root / "redis" / "users.acl"}"',
        f'pidfile "{root / "redis" / "redis-server.pid"}"',
        f'logfile "{root / "redis" / "redis.log"}"',
    ):
        assert expected in lines
    # the config path must reach the process title, or `down` could not recognise our redis
    assert any(line.startswith("proc-title-template") and "{config-file}" in line for line in lines)


def test_kafka_command_carries_heap_log4j_and_props(cfg: Settings) -> None:
    argv = stack_mod.kafka_command(cfg, java="/usr/bin/java")

    assert argv[0] == "/usr/bin/java"
    assert "-Xmx384m" in argv
    assert f"-Dlog4j.configuration=file:{stack_mod.KAFKA_LOG4J}" in argv
    assert argv[-2:] == [
        "kafka.Kafka",
        str((cfg.stack_dir / "kafka" / "server.properties").resolve()),
    ]
    assert argv[argv.index("-cp") + 1].endswith("/kafka/lib/*")


def test_shipped_pom_and_log4j_exist_and_pin_the_broker() -> None:
    pom = stack_mod.KAFKA_POM.read_text(encoding="utf-8")

    assert "<kafka.version>3.9.2</kafka.version>" in pom
    for artifact in ("kafka_2.13", "slf4j-reload4j", "reload4j"):
        assert f"<artifactId>{artifact}</artifactId>" in pom
    assert "log4j.logger.kafka=INFO" in stack_mod.KAFKA_LOG4J.read_text(encoding="utf-8")


def test_cluster_ids_are_22_chars_and_never_start_with_a_dash() -> None:
    ids = {stack_mod.new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_jar_cache_is_current_only_for_the_same_pom(tmp_path: Path) -> None:
    pom, lib = tmp_path / "pom.xml", tmp_path / "lib"
    pom.write_text("<project>a</project>")
    lib.mkdir()

    assert not stack_mod.jars_current(lib, pom)  # no marker yet
    (lib / ".resolved").write_text(f"{stack_mod.pom_digest(pom)}  pom.xml\n")
    assert stack_mod.jars_current(lib, pom)
    pom.write_text("<project>b</project>")  # a version bump invalidates the cache
    assert not stack_mod.jars_current(lib, pom)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A harmless detached process standing in for a service, stopped at the end regardless."""
    marker = tmp_path / "fake-service.conf"
    marker.write_text("")
    # python, not `sleep 60 <path>`: sleep rejects the extra argument and exits at once
    argv = [sys.executable, "-c", "import time; time.sleep(60)", str(marker)]
    pid = stack_mod.spawn_detached(argv, tmp_path / "out.log", cwd=tmp_path)
    yield pid, marker
    subprocess.run(["kill", "-KILL", str(pid)], check=False, capture_output=True)


def test_owned_pid_requires_same_start_time_and_cmdline(tmp_path: Path, sleeper: tuple[int, Path]) -> None:
    pid, marker = sleeper
    pid_file = tmp_path / "svc.pid"
    stack_mod.write_pid_file(pid_file, pid)

    assert stack_mod.owned_pid(pid_file, str(marker)) == pid
    assert stack_mod.owned_pid(pid_file, "some-other-config") is None
    pid_file.write_text(f"{pid}\n1\n")  # same PID, different start time: a recycled PID
    assert stack_mod.owned_pid(pid_file, str(marker)) is None
    assert stack_mod.owned_pid(tmp_path / "missing.pid", str(marker)) is None


def test_down_leaves_a_recycled_pid_alone_and_stops_its_own(cfg: Settings, sleeper: tuple[int, Path]) -> None:
    pid, _ = sleeper
    p = stack_mod.paths(cfg)
    p.kafka_dir.mkdir(parents=True)
    p.redis_dir.mkdir(parents=True)
    p.kafka_pid.write_text(f"{pid}\n\n")  # a PID that is alive but is not our broker

    result = stack_mod.down(cfg)

    assert result["kafka"].startswith("not running")
    assert Path(f"/proc/{pid}").exists(), "down must never signal a process it did not start"
    assert not p.kafka_pid.exists()


def test_stop_pid_terminates_a_verified_process(tmp_path: Path, sleeper: tuple[int, Path]) -> None:
    pid, marker = sleeper
    pid_file = tmp_path / "svc.pid"
    stack_mod.write_pid_file(pid_file, pid)
    t0 = time.monotonic()

    outcome = stack_mod.stop_pid(pid, str(marker), grace_s=5)

    assert outcome.startswith("stopped")
    assert time.monotonic() - t0 < 5
    assert stack_mod.owned_pid(pid_file, str(marker)) is None
    assert stack_mod.stop_pid(pid, str(marker)) == "not running"


def test_up_rejects_unknown_service(cfg: Settings) -> None:
    with pytest.raises(ServiceUnavailable, match="valid options"):
        stack_mod.up(cfg, services=("zookeeper",))  # type: ignore[arg-type]  # the point of the test


def test_up_reports_a_port_held_by_someone_else(cfg: Settings) -> None:
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        busy = srv.getsockname()[1]
        busy_cfg = cfg.model_copy(update={"redis_port": busy})
        with pytest.raises(
            ServiceUnavailable,
            match=r"already in use[\s\S]*Operator action: .*WARNING_REDIS_PORT",
        ):
            stack_mod.up(busy_cfg, services=("redis",))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "\x1b[0m[ERROR] Failed to execute goal: Could not resolve x\n[ERROR] \n"
            "[ERROR] Re-run Maven using the -X switch\n[ERROR] [Help 1] http://cwiki/x\n",
            "[ERROR] Failed to execute goal: Could not resolve x",
        ),
        ("some noise\nlast words\n", "some noise\nlast words"),  # no [ERROR]: show the tail
    ],
)
def test_maven_errors_keep_the_cause_and_drop_boilerplate(output: str, expected: str) -> None:
    assert stack_mod.maven_errors(output) == expected


def test_status_of_a_stack_that_never_ran(cfg: Settings) -> None:
    import socket

    with socket.socket() as probe:  # a port that nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    idle = cfg.model_copy(update={"kafka_port": free, "redis_port": free})

    st = stack_mod.status(idle)

    assert set(st) == {"kafka", "redis"}
    assert all(s.pid is None and not s.healthy and not s.foreign for s in st.values())
