"""The demo's engine of its own per run (issue 15): its group starts at the topics' ends, and the
topics Faust made for it are deleted afterwards, on the real broker."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from warning.devtools.demo import delete_app_topics, start_group_at_end
from warning.settings import Settings
from warning.stream.publish import Publisher

pytestmark = pytest.mark.integration


def test_a_new_demo_group_starts_at_the_end_and_its_topics_go_afterwards(stack: Settings, unique: str) -> None:
    boot, app, earlier = stack.kafka_bootstrap, f"demo-t{unique}", f"t{unique}-input"
    admin = KafkaAdminClient(bootstrap_servers=boot)
    try:
        admin.create_topics([NewTopic(n, 2, 1) for n in (earlier, f"{app}-state-street-changelog")])
        with Publisher(boot) as pub:
            for i in range(5):
                pub.send(earlier, f"earlier run {i}".encode(), key=str(i).encode())
        start_group_at_end(boot, app, [earlier])
        consumer = KafkaConsumer(bootstrap_servers=boot, group_id=app, enable_auto_commit=False)
        try:
            tps = [TopicPartition(earlier, p) for p in (0, 1)]
            assert sum(consumer.committed(tp) or 0 for tp in tps) == 5  # an earlier run's records are behind it
        finally:
            consumer.close(autocommit=False)

        delete_app_topics(boot, app)
        deadline = time.monotonic() + 30
        while f"{app}-state-street-changelog" in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.5)
        topics = admin.list_topics()
        assert f"{app}-state-street-changelog" not in topics
        assert earlier in topics  # only the app's own topics go
    finally:
        admin.delete_topics([earlier])
        admin.close()
