"""Alert sinks, chosen by URL (STYLE.md S5): ``memory://``, ``redis://...`` or ``redis+cluster://...``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warning.core.errors import ImproperlyConfigured
from warning.sinks.base import DEFAULT_PREFIX, AlertStore, Pending

if TYPE_CHECKING:
    from warning.core.ports import Clock
    from warning.core.units import Hierarchy

SCHEMES = ("memory", "redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


def open_sink(
    url: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    occurrence_ttl: int = 35 * 86400,
    feed_maxlen: int = 100_000,
    audit_maxlen: int = 0,
    clock: Clock | None = None,
    hierarchy: Hierarchy | None = None,
) -> AlertStore:
    """An `AlertStore` for `url`.

    ``memory://`` has no keys (so no prefix) and keeps every feed entry; its occurrence marks
    expire against `clock`, the deliverer's. Redis expires marks on its own clock, so it
    takes no `clock`. One call site serves both.
    """
    scheme = url.partition("://")[0]
    if scheme == "memory":
        from warning.sinks.memory import MemoryAlertSink

        return MemoryAlertSink(
            occurrence_ttl=occurrence_ttl, audit_maxlen=audit_maxlen, clock=clock, hierarchy=hierarchy
        )
    if scheme in SCHEMES[1:]:  # Redis or Redis Cluster (warning.sinks.connect)
        from warning.sinks.redis import RedisAlertSink

        return RedisAlertSink.from_url(
            url,
            prefix=prefix,
            occurrence_ttl=occurrence_ttl,
            feed_maxlen=feed_maxlen,
            audit_maxlen=audit_maxlen,
            hierarchy=hierarchy,
        )
    raise ImproperlyConfigured(
        f'Unknown sink scheme "{scheme}" in {url!r}; valid options are {list(SCHEMES)}\n'
        "Operator action: set WARNING_REDIS_URL to redis://host:port/db, redis+cluster://host:port,host:port "
        "(or memory:// for tests)."
    )


__all__ = ["AlertStore", "Pending", "open_sink"]
