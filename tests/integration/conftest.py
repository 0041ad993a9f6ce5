"""Fixtures for integration tests: the real local Kafka broker and redis-server (never mocks).

`make test` starts the stack before pytest and stops it after; the `stack` fixture calls the
idempotent `warning.devtools.stack.up` anyway, so a bare `pytest tests/integration` works too (the
first run starts the services, later runs find them healthy in well under a second).

When the stack cannot be started the tests are skipped with the reason, except in CI
(``CI`` set) or with ``WARNING_REQUIRE_STACK=1``, where a missing stack is a failure: a green
run that silently skipped every integration test would prove nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from warning import settings as settings_mod
from warning.core.errors import ServiceUnavailable
from warning.devtools import stack as stack_mod
from warning.settings import Settings
from warning.sinks.redis import RedisAlertSink


def _stack_required() -> bool:
    # Test code may read the environment; the package itself reads it only in warning/settings.py.
    return bool(os.environ.get("CI")) or os.environ.get("WARNING_REQUIRE_STACK") == "1"


@pytest.fixture(scope="session")
def stack() -> Settings:
    """Settings of a running, healthy local stack (started on demand, left running)."""
    cfg = settings_mod.load()
    try:
        stack_mod.up(cfg)
    except ServiceUnavailable as exc:
        message = f"local Kafka/Redis stack unavailable: {exc}"
        if _stack_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    # again after `up`: the stack's generated passwords exist now, so `redis_url` carries the cli
    # user's (the stack's `default` user is off) and every client built from it logs in
    return settings_mod.load()


def kafka_admin_client(cfg: Settings, client_id: str = "warning-tests") -> Any:
    """A kafka-python `KafkaAdminClient` for `cfg.kafka_bootstrap`; the caller closes it."""
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=cfg.kafka_bootstrap, client_id=client_id, request_timeout_ms=15_000)


@pytest.fixture(scope="session")
def kafka_admin(stack: Settings) -> Iterator[Any]:
    """One admin client for the session (create/delete test topics, read group offsets)."""
    admin = kafka_admin_client(stack)
    try:
        yield admin
    finally:
        admin.close()


@pytest.fixture
def redis_client(stack: Settings) -> Iterator[redis.Redis]:
    """Sync client on `settings.redis_url` (its db); keys need a per-test prefix, see `unique`."""
    client = redis.Redis.from_url(stack.redis_url, socket_timeout=10)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def unique() -> str:
    """A short random token for topic names, consumer groups and Redis key prefixes."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
async def rsink(stack: Settings, unique: str) -> AsyncIterator[RedisAlertSink]:
    """A Redis sink on `settings.redis_url` under a per-test prefix, its keys removed after."""
    client = aioredis.Redis.from_url(stack.redis_url, decode_responses=True)
    prefix = f"test:{unique}:warning:"
    sink = RedisAlertSink(client, prefix=prefix, occurrence_ttl=600)
    try:
        yield sink
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
        await sink.close()
