"""Alert sinks, chosen by URL (STYLE.md S5): ``memory://`` or ``redis://...``."""

from __future__ import annotations

from typing import Any

from warning.core.errors import ImproperlyConfigured
from warning.sinks.base import AlertStore

SCHEMES = ("memory", "redis", "rediss", "unix")


def open_sink(url: str, **options: Any) -> AlertStore:
    """An `AlertStore` for `url`; `options` go to the backend (prefix, occurrence_ttl, feed_maxlen).

    ``memory://`` ignores options it has no use for, so one call site serves both.
    """
    scheme = url.partition("://")[0]
    if scheme == "memory":
        from warning.sinks.memory import MemoryAlertSink

        return MemoryAlertSink()
    if scheme in ("redis", "rediss", "unix"):
        from warning.sinks.redis import RedisAlertSink

        return RedisAlertSink.from_url(url, **options)
    raise ImproperlyConfigured(
        f'Unknown sink scheme "{scheme}" in {url!r}; valid options are {list(SCHEMES)}\n'
        "Operator action: set WARNING_REDIS_URL to redis://host:port/db (or memory:// for tests)."
    )


__all__ = ["AlertStore", "open_sink"]
