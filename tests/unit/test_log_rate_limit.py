"""Log rate limiting (issue 13, hole 5): a broker outage must not write ~1 GB of ERROR lines an hour."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from warning import logs


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    owner = logging.getLogger("test-rate-limit-root")
    owner.addHandler(handler)
    owner.propagate = False
    logs.install_rate_limit(owner, burst=3, interval_s=10.0)
    try:
        yield owner, stream, handler
    finally:
        owner.removeHandler(handler)


def _emit(handler: logging.Handler, name: str, msg: str, args: tuple[object, ...], at: float) -> None:
    record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)
    record.created = at
    handler.handle(record)


def test_first_n_pass_then_one_summary(captured: tuple[logging.Logger, io.StringIO, logging.Handler]) -> None:
    _, stream, handler = captured
    for i in range(1000):  # one template, different arguments: one key
        _emit(handler, "aiokafka.consumer.group_coordinator", "Unable connect to %s: %s", ("node-1", i), i * 0.001)
    assert stream.getvalue().count("Unable connect") == 3
    _emit(handler, "aiokafka.consumer.group_coordinator", "Unable connect to %s: %s", ("node-1", 0), 11.0)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[3].startswith("suppressed 997 similar messages")
    assert lines[4].startswith("Unable connect")


def test_keys_are_separate_and_other_loggers_untouched(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    _, stream, handler = captured
    for i in range(10):
        _emit(handler, "redis.connection", "Error %s connecting", (i,), 0.0)
        _emit(handler, "faust.transport", "other %s", (i,), 0.0)
        _emit(handler, "warning.stream.app", "ours %s", (i,), 0.0)  # not a noisy logger: all pass
    text = stream.getvalue()
    assert text.count("Error") == 3
    assert text.count("other") == 3
    assert text.count("ours") == 10


def test_install_is_idempotent(captured: tuple[logging.Logger, io.StringIO, logging.Handler]) -> None:
    owner, _, handler = captured
    assert logs.install_rate_limit(owner) == []
    assert sum(isinstance(f, logs.RateLimitFilter) for f in handler.filters) == 1


def test_configure_limits_the_root_handlers() -> None:
    logs.configure("INFO")
    root = logging.getLogger()
    assert root.handlers
    assert all(any(isinstance(f, logs.RateLimitFilter) for f in h.filters) for h in root.handlers)
