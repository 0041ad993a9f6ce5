"""The Redis-or-Cluster rule of `warning.sinks.connect` and its key-scheme consequences."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster

from warning.core.errors import ImproperlyConfigured
from warning.delivery.acl import key_patterns
from warning.sinks import open_sink
from warning.sinks.connect import check_prefix, client_from_url, hash_tag, is_cluster, node_url, seeds
from warning.sinks.redis import RedisAlertSink


def test_the_scheme_says_cluster() -> None:
    assert is_cluster("redis+cluster://10.0.0.1:7000")
    assert is_cluster("rediss+cluster://u:p@10.0.0.1:7000,10.0.0.2:7000")
    assert not is_cluster("redis://127.0.0.1:6379/4")
    assert not is_cluster("unix:///run/redis.sock")


@pytest.mark.parametrize(
    ("prefix", "tag"),
    [("{warning}:", "warning"), ("{district-a}:", "district-a"), ("x{a}{b}:", "a"), ("warning:", None), ("{}:", None)],
)
def test_hash_tag_is_what_cluster_hashes(prefix: str, tag: str | None) -> None:
    assert hash_tag(prefix) == tag


def test_a_cluster_url_needs_a_tagged_prefix() -> None:
    check_prefix("redis://127.0.0.1:6379/0", "warning:")  # single node: any prefix
    check_prefix("redis+cluster://127.0.0.1:7000", "{warning}:")
    with pytest.raises(ImproperlyConfigured, match="hash tag"):
        check_prefix("redis+cluster://127.0.0.1:7000", "warning:")
    with pytest.raises(ImproperlyConfigured, match="hash tag"):
        open_sink("redis+cluster://127.0.0.1:7000", prefix="warning:")


def test_seeds_keep_credentials_and_query_and_refuse_a_db() -> None:
    url = "redis+cluster://engine:s3cret@a:7000,b:7001?socket_timeout=3"
    assert seeds(url) == [
        "redis://engine:s3cret@a:7000/?socket_timeout=3",
        "redis://engine:s3cret@b:7001/?socket_timeout=3",
    ]
    assert seeds("rediss+cluster://a:7000/") == ["rediss://a:7000"]
    assert node_url(url) == "redis://engine:s3cret@a:7000/?socket_timeout=3"
    assert node_url("redis://x:1/3") == "redis://x:1/3"
    with pytest.raises(ImproperlyConfigured, match="database"):
        seeds("redis+cluster://a:7000/4")


async def test_a_cluster_url_gives_a_cluster_client_seeded_with_every_node() -> None:
    client = client_from_url("redis+cluster://a:7000,b:7001", decode_responses=True)
    assert isinstance(client, RedisCluster)
    assert {(n.host, n.port) for n in client.startup_nodes} == {("a", 7000), ("b", 7001)}
    sink = open_sink("redis+cluster://a:7000", prefix="{warning}:")
    assert isinstance(sink, RedisAlertSink) and isinstance(sink.client, RedisCluster)
    assert sink.feed_key("S03") == "{warning}:feed:S03"


def test_tagged_prefix_keeps_my_unit_and_below_patterns() -> None:
    assert key_patterns("S03", "{warning}:") == ["~{warning}:feed:S03", "~{warning}:feed:S03-*"]
    assert key_patterns("district", "{warning}:") == ["~{warning}:feed:*"]
