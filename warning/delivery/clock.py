"""The real clock, outside the pure core: only shells read the time."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The wall clock (`warning.core.ports.Clock`); tests use `ManualClock` instead."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)
