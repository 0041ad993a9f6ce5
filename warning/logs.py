"""Structured logging for every process; one call at each entry point.

Fields are codes and counts (channel, reason, topic, alert type, unit codes) — never names,
ID numbers, phones or free text, which is why call sites pass keyword fields instead of
formatting records into messages.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

import structlog


def configure(level: str = "INFO", json: bool = False) -> None:
    """Route stdlib and structlog through one renderer (console or JSON lines)."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]  # write/flush suffice
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    if not root.handlers:  # what logging's last resort would print (WARNING+, the bare message), but filterable
        root.addHandler(logging.StreamHandler(sys.stderr))
    install_rate_limit(root)


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is now, not the one seen at `configure` time.

    Loggers are cached on first use, so a logger bound to the stream of the moment kept writing
    to a stream pytest had closed since (a capture of an earlier test): "I/O operation on
    closed file" from a later test's expected log line.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def get(name: str) -> structlog.stdlib.BoundLogger:
    """A logger bound to a component name."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(component=name)
    return logger


# Loggers that repeat one line per retry while a broker or Redis is down: a 29 s broker outage
# produced 78,000 ERROR lines (8.2 MB) from these before the limit existed.
NOISY_LOGGERS: Final[tuple[str, ...]] = ("aiokafka", "kafka", "faust", "mode", "redis", "warning.delivery")


class RateLimitFilter(logging.Filter):
    """Pass the first `burst` records of one (logger, level, message template) per `interval_s`.

    Keyed on the template (``record.msg``), not the formatted text, so retries that differ only
    in an address or attempt count fall together. What is dropped is counted, never lost
    silently: the first record of a key in a later window is preceded by one WARNING
    ``suppressed K similar messages``. Time comes from ``record.created`` so tests need no clock.
    One instance per handler: the summary goes to that handler only.
    """

    def __init__(
        self,
        handler: logging.Handler | None = None,
        burst: int = 10,
        interval_s: float = 60.0,
        prefixes: tuple[str, ...] = NOISY_LOGGERS,
    ) -> None:
        super().__init__()
        self.handler = handler
        self.burst = burst
        self.interval_s = interval_s
        self.prefixes = prefixes
        # key -> [window start, records seen in the window]
        self._windows: dict[tuple[str, int, str], list[float]] = {}

    def _limited(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in self.prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "rate_limit_summary", False) or not self._limited(record.name):
            return True
        key = (record.name, record.levelno, str(record.msg))
        window = self._windows.get(key)
        if window is None or record.created - window[0] >= self.interval_s:
            if window is not None and window[1] > self.burst:
                self._summarise(record, int(window[1]) - self.burst)
            if len(self._windows) > 1024:  # bounded: templates are few, but never trust that
                self._windows.clear()
            self._windows[key] = [record.created, 1]
            return True
        window[1] += 1
        return window[1] <= self.burst

    def _summarise(self, record: logging.LogRecord, suppressed: int) -> None:
        summary = logging.LogRecord(
            record.name,
            logging.WARNING,
            record.pathname,
            record.lineno,
            "suppressed %d similar messages (%s) in %.0f s",
            (suppressed, str(record.msg)[:80], self.interval_s),
            None,
        )
        summary.created = record.created
        summary.rate_limit_summary = True
        if self.handler is not None:
            self.handler.handle(summary)


def install_rate_limit(
    logger: logging.Logger | None = None, burst: int = 10, interval_s: float = 60.0
) -> list[RateLimitFilter]:
    """Attach a `RateLimitFilter` to every handler of `logger` (root by default) that lacks one.

    On handlers rather than on the named loggers because a logger's filters do not see records
    of its children (``aiokafka.consumer.group_coordinator``), and handlers see them all.
    Idempotent: call again after Faust installs its own handlers.
    """
    target = logger or logging.getLogger()
    added = []
    for handler in target.handlers:
        if not any(isinstance(f, RateLimitFilter) for f in handler.filters):
            limiter = RateLimitFilter(handler, burst=burst, interval_s=interval_s)
            handler.addFilter(limiter)
            added.append(limiter)
    return added
