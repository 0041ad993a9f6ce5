"""One exception tree, so callers can catch the engine's errors without catching everyone's."""

from __future__ import annotations


class WarningError(Exception):
    """Root of every error this package raises on purpose."""


class ImproperlyConfigured(WarningError):
    """A setting or thresholds entry is wrong; the message names the key and an operator action."""


class InvalidEvent(WarningError):
    """An input record cannot become an `Event`; it goes to the dead-letter topic, never dropped.

    `reason` is a short stable code (bounded: used as a metric label and for filtering the
    dead-letter topic); the message is the human explanation with the offending field.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


class Backpressure(WarningError):
    """A downstream store refused work for now; retry after `retry_after` seconds, do not commit."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(WarningError):
    """A local service (Kafka, Redis) could not be started or reached; the message says what to do."""
