"""/healthz of a real worker turns 503 when its router cannot reach Redis (issue 14, item 5).

The worker runs on the shared Kafka with WARNING_REDIS_URL pointing at a port where nothing
listens and WARNING_HEALTH_REDIS_SECONDS=1: the Redis probe timer (every 10 s) fails, and from
then on /healthz answers 503 with the reason, which is what the compose healthcheck and an
orchestrator act on. (The stalled-consumer half is unit-tested: stalling Faust on purpose
is not something a test can do reliably.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from warning.devtools.harness import running_engine
from warning.devtools.testing import free_port
from warning.settings import Settings

pytestmark = pytest.mark.integration


def test_healthz_turns_503_when_redis_is_unreachable(stack: Settings, tmp_path: Path, unique: str) -> None:
    env = {"WARNING_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "WARNING_HEALTH_REDIS_SECONDS": "1"}
    with running_engine(stack, tmp_path, unique, extra_env=env) as engine:
        deadline = time.monotonic() + 45
        status, body = engine.health()
        while status == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            status, body = engine.health()
        assert status == 503, f"/healthz stayed {status}: {body}\n{engine.log_tail()}"
    assert body["ok"] is False
    assert any(r.startswith("redis unreachable") for r in body["reasons"]), body
    assert body["redis_unreachable_seconds"] > 1
