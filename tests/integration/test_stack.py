"""The local stack against the real broker and redis-server: idempotent up, health, round trips."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis

from warning.devtools import stack as stack_mod
from warning.settings import Settings

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_fast(stack: Settings) -> None:
    before = stack_mod.status(stack)
    t0 = time.monotonic()
    again = stack_mod.up(stack)
    elapsed = time.monotonic() - t0

    assert elapsed < 10, f"second up took {elapsed:.1f} s: it must not restart anything"
    for name in stack_mod.SERVICES:
        assert again[name].started is False
        assert again[name].pid is not None
        assert again[name].pid == before[name].pid


def test_status_reports_healthy_owned_services(stack: Settings) -> None:
    st = stack_mod.status(stack)

    assert set(st) == {"kafka", "redis"}
    for s in st.values():
        assert s.healthy, s
        assert s.pid is not None
        assert not s.foreign
        assert (s.rss_mb or 0) > 1
    assert st["kafka"].port == stack.kafka_port
    assert st["redis"].port == stack.redis_port


def test_kafka_topic_round_trip_through_a_group(stack: Settings, kafka_admin: Any, unique: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    topic, group = f"test-stack-{unique}", f"test-stack-group-{unique}"
    kafka_admin.create_topics([NewTopic(topic, 1, 1)], timeout_ms=15_000)
    try:
        assert topic in kafka_admin.list_topics()
        producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
        try:
            for i in range(3):
                producer.send(topic, key=b"k", value=f"v{i}".encode()).get(timeout=15)
            producer.flush(timeout=15)
        finally:
            producer.close()

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=stack.kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        try:
            got: list[bytes] = []
            deadline = time.monotonic() + 30
            while len(got) < 3 and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500).values():
                    got.extend(r.value for r in records)
            consumer.commit()
            committed = consumer.committed(TopicPartition(topic, 0))
        finally:
            consumer.close()
        assert got == [b"v0", b"v1", b"v2"]
        assert committed == 3
    finally:
        kafka_admin.delete_topics([topic], timeout_ms=15_000)


def test_aiokafka_group_consume_and_commit(stack: Settings, kafka_admin: Any, unique: str) -> None:
    """Faust rides on aiokafka: its group join + commit must work against this broker too."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    topic, group = f"test-stack-aio-{unique}", f"test-stack-aio-group-{unique}"
    kafka_admin.create_topics([NewTopic(topic, 1, 1)], timeout_ms=15_000)

    async def run() -> tuple[list[bytes], int | None]:
        producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(2):
                await producer.send_and_wait(topic, f"a{i}".encode(), key=b"k")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack.kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            got: list[bytes] = []
            while len(got) < 2:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), timeout=30)
                got.extend(r.value for records in batch.values() for r in records)
            await consumer.commit()
            committed = await consumer.committed(TopicPartition(topic, 0))
        finally:
            await consumer.stop()
        return got, committed

    try:
        got, committed = asyncio.run(asyncio.wait_for(run(), timeout=60))
        assert got == [b"a0", b"a1"]
        assert committed == 2
    finally:
        kafka_admin.delete_topics([topic], timeout_ms=15_000)


def test_redis_round_trip_with_aof(redis_client: redis.Redis, unique: str) -> None:
    key = f"test:stack:{unique}"
    try:
        redis_client.set(key, "v", ex=60)
        assert redis_client.get(key) == b"v"
        assert redis_client.config_get("appendonly") == {"appendonly": "yes"}
        assert redis_client.config_get("bind") == {"bind": "127.0.0.1"}
        assert str(redis_client.config_get("aclfile")["aclfile"]).endswith("/users.acl")
    finally:
        redis_client.delete(key)
