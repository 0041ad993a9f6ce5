"""Sends that are never acknowledged-and-lost: retried on error, and waited for before a batch ends.

Faust acknowledges an agent's batch when the agent asks for the next one, and commits offsets
after `producer.flush()`, which waits for batches in flight but not for their success: a send
the broker refused (or one still retrying when the worker died) would leave the input
committed and its output gone. So every agent that turns input into output waits here for
the broker's acknowledgement of each output before its batch ends, re-sending on failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from warning import logs

log = logs.get("stream.sending")

Sent = tuple[Any, bytes, Any, Any]
"""A sent output: topic, key, value and the future of its broker acknowledgement."""


async def send(topic: Any, key: bytes, value: Any) -> Sent:
    """Send, retrying with capped backoff: a produce error must not ack-and-lose the batch."""
    delay = 0.2
    while True:
        try:
            return topic, key, value, await topic.send(key=key, value=value)
        except Exception:
            log.exception("send_failed", topic=topic.get_topic_name())
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def acked(topic: Any, key: bytes, value: Any, fut: Any) -> None:
    """Wait for the broker's acknowledgement of a send; re-send until one comes."""
    while True:
        try:
            await fut
            return
        except Exception:
            log.exception("send_unacknowledged", topic=topic.get_topic_name())
            fut = (await send(topic, key, value))[3]


async def all_acked(sent: Iterable[Sent]) -> None:
    """Return once the broker acknowledged every one of `sent` (in order; one round trip for all)."""
    for topic, key, value, fut in sent:
        await acked(topic, key, value, fut)
