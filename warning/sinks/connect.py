"""Redis connections by URL: one server (``redis://``) or Redis Cluster (``redis+cluster://``).

The rule (README, deploy/README-production.md): the URL's scheme says which. ``redis://``,
``rediss://`` and ``unix://`` give a plain ``redis.asyncio.Redis`` as before;
``redis+cluster://[user:pass@]host:port[,host:port...]`` (or ``rediss+cluster://`` for TLS)
gives a ``redis.asyncio.cluster.RedisCluster`` seeded with those nodes (it discovers the rest;
one reachable seed is enough). A cluster has no databases, so the URL takes no ``/db``.

Why the key prefix must then carry a hash tag. Every write of the sink is one Lua script over
the alert hash, its occurrence mark, its feeds, its indexes and the audit stream; `pending`
intersects two indexes (ZINTERCARD). Cluster refuses a script or command whose keys lie in
several hash slots (CROSSSLOT), and feeds, indexes and the audit stream are shared by every
alert, so no per-alert tag can put one write in one slot. The tag therefore goes in the
prefix: with ``WARNING_REDIS_PREFIX={warning}:`` Cluster hashes only ``warning`` for every
key, so one district's keys live in one slot (one shard, with its replica for failover), and
several districts (``{district-a}:``, ``{district-b}:``) spread over the shards. One district's
load (DESIGN.md §9) fits one shard with room to spare. The key names keep their shape
(``{warning}:feed:S03``), so the officers' ACL patterns (``~{warning}:feed:S03``,
``~{warning}:feed:S03-*``; ``{`` and ``}`` are not glob characters) still mean "my unit and
below". `check_prefix` refuses a cluster URL with an untagged prefix at start-up rather than
failing on the first write.

What differs on a cluster, and is handled here or by the callers: ACL users live per node
(`all_nodes` targets ``ACL SETUSER``/``ACL SAVE`` at every node); redis-py's cluster pipeline
runs MULTI only over keys of one slot (the console's failure counter uses one key); EVALSHA
goes to the slot's node and SCRIPT LOAD to every primary (redis-py does both).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster

from warning.core.errors import ImproperlyConfigured

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
PLAIN_SCHEMES = ("redis", "rediss", "unix")

AnyRedis = aioredis.Redis | RedisCluster
"""What the sink, the console and the ACL commands talk to."""


def is_cluster(url: str) -> bool:
    """True when `url` names a Redis Cluster (scheme ``redis+cluster`` or ``rediss+cluster``)."""
    return url.partition("://")[0] in CLUSTER_SCHEMES


def hash_tag(prefix: str) -> str | None:
    """The hash tag Cluster would hash for keys starting with `prefix`, if the prefix fixes it.

    Cluster hashes the text between the first ``{`` and the first ``}`` after it when that is
    non-empty; otherwise the whole key. Only a tag wholly inside the prefix pins every key.
    """
    start = prefix.find("{")
    end = prefix.find("}", start + 1) if start >= 0 else -1
    return prefix[start + 1 : end] if end > start + 1 else None


def check_prefix(url: str, prefix: str) -> None:
    """Refuse a cluster URL whose key prefix would spread one write over several slots."""
    if is_cluster(url) and hash_tag(prefix) is None:
        raise ImproperlyConfigured(
            f"WARNING_REDIS_PREFIX={prefix!r} has no hash tag, but WARNING_REDIS_URL is a Redis Cluster: "
            "every sink write is one script over many keys and Cluster refuses keys of several slots.\n"
            "Operator action: set WARNING_REDIS_PREFIX to a tagged prefix such as {warning}: "
            "(one per district: {district-a}:)."
        )


def seeds(url: str) -> list[str]:
    """Plain ``redis://`` URLs of a cluster URL's seed nodes (credentials and query kept)."""
    scheme, _, rest = url.partition("://")
    plain = CLUSTER_SCHEMES[scheme]
    rest, _, query = rest.partition("?")
    netloc, _, db = rest.partition("/")
    if db not in ("", "0"):
        raise ImproperlyConfigured(f"a Redis Cluster URL takes no database number: {url!r} (Cluster has only db 0)")
    creds, at, hosts = netloc.rpartition("@")
    suffix = f"/?{query}" if query else ""
    return [f"{plain}://{creds}{at}{hp}{suffix}" for hp in hosts.split(",") if hp]


def node_url(url: str) -> str:
    """A URL one plain client can use: the first seed of a cluster URL, else `url` itself.

    For commands any node answers alike (AUTH of an officer's login, since `all_nodes` puts
    every ACL user on every node).
    """
    return seeds(url)[0] if is_cluster(url) else url


def client_from_url(url: str, **kwargs: Any) -> AnyRedis:
    """A lazy client for `url`: ``RedisCluster`` for a cluster URL, else ``Redis``."""
    if not is_cluster(url):
        return aioredis.Redis.from_url(url, **kwargs)
    first, *others = seeds(url)
    nodes = []
    for seed in others:
        parts = urlsplit(seed)
        nodes.append(ClusterNode(parts.hostname or "127.0.0.1", parts.port or 6379))
    if nodes:
        kwargs["startup_nodes"] = nodes
    return RedisCluster.from_url(first, **kwargs)


async def all_nodes(client: Any, *args: str) -> Any:
    """Run a per-node command (``ACL SETUSER``, ``ACL SAVE``) on every node of a cluster.

    A plain client just runs it. On a cluster redis-py would send ACL commands to one default
    node only, and an officer known to one node could log in only there.
    """
    if isinstance(client, RedisCluster):
        await client.initialize()  # the node list; redis-py 8.1 drops a target_nodes="all" flag here
        return await client.execute_command(*args, target_nodes=client.get_nodes())
    return await client.execute_command(*args)
