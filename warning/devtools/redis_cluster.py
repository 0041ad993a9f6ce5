"""A throwaway Redis Cluster from Debian's ``redis-server`` (tests and local trials).

N primaries on free ports under one directory, joined by ``redis-cli --cluster create`` (no
replicas: a test wants the slot spread, not failover). `running_cluster` yields the
``redis+cluster://`` URL the engine takes (`warning.sinks.connect`) and stops every node it
started, by its own process handle, when the block ends.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from warning.core.errors import ServiceUnavailable
from warning.devtools.demo import terminate

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cluster_ports(n: int) -> list[int]:
    """`n` ports whose cluster bus ports (port + 10000) are free too."""
    ports: list[int] = []
    with contextlib.ExitStack() as held:
        while len(ports) < n:
            s = held.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port < 55_000 and _port_free(port + 10_000):
                ports.append(port)
    return ports


def _cli(*args: str, timeout: float = 30) -> str:
    done = subprocess.run(  # noqa: S603 - Debian's redis-cli with our own arguments
        [REDIS_CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise ServiceUnavailable(f"redis-cli {' '.join(args[:3])} failed: {done.stdout[-400:]} {done.stderr[-400:]}")
    return done.stdout


def _start_node(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    node = workdir / str(port)
    node.mkdir(parents=True, exist_ok=True)
    args = ["--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
    args += ["--cluster-config-file", str(node / "nodes.conf"), "--dir", str(node), "--save", "", "--appendonly", "no"]
    with (node / "redis.log").open("ab") as log:
        return subprocess.Popen([REDIS_SERVER, *args], stdout=log, stderr=subprocess.STDOUT)  # noqa: S603


def _wait(port: int, args: tuple[str, ...], needle: str, timeout_s: float) -> None:
    """Poll ``redis-cli -p port args`` until its output holds `needle`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ServiceUnavailable, subprocess.TimeoutExpired):
            if needle in _cli("-p", str(port), *args, timeout=2):
                return
        time.sleep(0.1)
    raise ServiceUnavailable(f"redis cluster node {port}: {' '.join(args)} never showed {needle!r}")


@contextlib.contextmanager
def running_cluster(workdir: Path, n: int = 3, timeout_s: float = 30) -> Iterator[str]:
    """Start `n` cluster-enabled nodes, create the cluster, yield its URL; stop them after."""
    ports = cluster_ports(n)
    procs = [_start_node(workdir, p) for p in ports]
    try:
        for p in ports:
            _wait(p, ("ping",), "PONG", timeout_s)
        _cli("--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas", "0", "--cluster-yes")
        for p in ports:
            _wait(p, ("cluster", "info"), "cluster_state:ok", timeout_s)
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
    finally:
        for proc in procs:
            terminate(proc, grace_s=5)
