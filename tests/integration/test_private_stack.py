"""The chaos suite's private stack: its own broker and Redis, killed and restarted, never the shared one.

Faults (SIGKILL of the broker or Redis) must only ever hit a stack started for them; this checks
that `PrivateStack` runs on other ports and another directory than the shared stack, that
SIGKILL really ends our own process and that each service comes back with its data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from warning.devtools.private_stack import running_private_stack
from warning.settings import Settings

pytestmark = pytest.mark.integration


def test_private_stack_survives_sigkill_of_broker_and_redis_and_leaves_the_shared_one_alone(
    stack: Settings, tmp_path: Path
) -> None:
    with running_private_stack(tmp_path / "chaos") as ps:
        own = ps.settings
        assert {own.kafka_port, own.kafka_controller_port, own.redis_port}.isdisjoint(
            {stack.kafka_port, stack.kafka_controller_port, stack.redis_port}
        )
        assert own.stack_dir != stack.stack_dir
        client = redis.Redis.from_url(ps.redis_dsn(), socket_timeout=5)
        client.set("chaos:probe", "1")  # AOF is written before the reply: a process kill keeps it
        shared_pids = {name: ps.pid(name) for name in ("kafka", "redis")}
        ps.kill("redis")
        ps.kill("kafka")
        assert ps.pid("kafka") is None and ps.pid("redis") is None
        ps.up()
        assert client.get("chaos:probe") == b"1"
        assert {name: ps.pid(name) for name in ("kafka", "redis")} != shared_pids
        client.close()
    shared = redis.Redis.from_url(stack.redis_url, socket_timeout=5)
    try:
        assert shared.ping()  # the shared stack was never touched
    finally:
        shared.close()
