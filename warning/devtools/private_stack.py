"""A second, private Kafka broker + redis-server under its own directory and free ports.

Why: the chaos suite (bench/bench_faults.py, tests/integration/test_faults.py) SIGKILLs brokers
and Redis. Doing that to the shared stack (``.stack/``, 9092/6379) would break every other test
and helper on the machine, so faults only ever hit a stack this module started: its own
``stack_dir`` (a temporary directory), its own ports (chosen free at start) and its own PIDs.
It is `warning.devtools.stack` with other `Settings` (``WARNING_STACK_DIR`` and the port
variables), so ``make demo``/``make test`` and the shared stack are untouched by it.

The broker's jar cache is hard-linked from the shared stack's cache when that one is current
(read only; no Maven run), otherwise `stack.up` resolves it with Maven into the private dir.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warning.devtools import stack as stack_mod
from warning.devtools.testing import free_port
from warning.settings import Settings

HOST = stack_mod.HOST


def _seed_jars(private: Settings) -> None:
    """Hard-link (or copy) the shared stack's current jar cache into the private stack."""
    shared = stack_mod.paths(Settings()).kafka_lib
    target = stack_mod.paths(private).kafka_lib
    if stack_mod.jars_current(target) or not stack_mod.jars_current(shared):
        return
    target.parent.mkdir(parents=True, exist_ok=True)

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(shared, target, copy_function=link, dirs_exist_ok=True)


@dataclass
class PrivateStack:
    """Settings and process control of one private stack (see the module docstring)."""

    root: Path
    settings: Settings

    @classmethod
    def create(cls, root: Path) -> PrivateStack:
        """Free ports now, files under `root`; nothing is started yet."""
        root.mkdir(parents=True, exist_ok=True)
        kafka, controller, redis_port = free_port(), free_port(), free_port()
        while len({kafka, controller, redis_port}) < 3:
            controller, redis_port = free_port(), free_port()
        settings = Settings(
            stack_dir=root,
            kafka_port=kafka,
            kafka_controller_port=controller,
            redis_port=redis_port,
            kafka_bootstrap=f"{HOST}:{kafka}",
            redis_url=f"redis://{HOST}:{redis_port}/0",
            kafka_heap="384m",
        )
        return cls(root, settings)

    @property
    def env(self) -> dict[str, str]:
        """Environment for a worker (or CLI) of this stack; it connects as its role's ACL user."""
        s = self.settings
        return {
            "WARNING_STACK_DIR": str(self.root),
            "WARNING_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "WARNING_KAFKA_PORT": str(s.kafka_port),
            "WARNING_KAFKA_CONTROLLER_PORT": str(s.kafka_controller_port),
            "WARNING_REDIS_PORT": str(s.redis_port),
            "WARNING_REDIS_URL": s.redis_url,
        }

    def redis_dsn(self, db: int = 0) -> str:
        """This stack's Redis URL as the cli user (its `default` user is off)."""
        return self.settings.model_copy(
            update={"redis_url": f"redis://{HOST}:{self.settings.redis_port}/{db}"}
        ).redis_dsn("cli")

    def up(self, services: tuple[stack_mod.ServiceName, ...] = stack_mod.SERVICES) -> dict[str, float]:
        """Start (or restart) services; seconds each took to become ready (0 if already up)."""
        _seed_jars(self.settings)
        out = stack_mod.up(self.settings, services, report=lambda _m: None)
        return {name: s.ready_s or 0.0 for name, s in out.items()}

    def down(self) -> dict[str, str]:
        """Stop both services (only ours: verified PIDs)."""
        return stack_mod.down(self.settings)

    def pid(self, service: stack_mod.ServiceName) -> int | None:
        """Our verified PID of `service`, None when it is not running."""
        pid_file, marker = stack_mod._markers(self.settings)[service]
        return stack_mod.owned_pid(pid_file, marker)

    def kill(self, service: stack_mod.ServiceName, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to our own `service` process and wait until it is gone."""
        pid = self.pid(service)
        if pid is None:
            raise RuntimeError(f"private {service} is not running")
        ticks = stack_mod._proc_start_ticks(pid)
        os.kill(pid, sig)
        deadline = time.monotonic() + 30
        while stack_mod._proc_start_ticks(pid) == ticks and time.monotonic() < deadline:
            time.sleep(0.05)
        # a killed JVM keeps its listening socket while the kernel tears it down
        port = self.settings.kafka_port if service == "kafka" else self.settings.redis_port
        while stack_mod.port_open(port, timeout=0.2) and time.monotonic() < deadline:
            time.sleep(0.05)


@contextlib.contextmanager
def running_private_stack(root: Path) -> Iterator[PrivateStack]:
    """A started private stack, stopped (by PID) on exit."""
    ps = PrivateStack.create(root)
    try:
        ps.up()
        yield ps
    finally:
        ps.down()
