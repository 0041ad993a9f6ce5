"""A SIGKILL in the middle of a state flush (issue 13, bench_faults worker_sigkill).

The stream shell writes a batch's state entry by entry after its outputs (`warning.stream.kv`);
a worker killed mid-flush restores only a prefix of those writes and the batch is redelivered.
Found in the bench: the changelog held the engine's dedupe marks of three events whose
relational entries never arrived, so the redelivered events were dropped as duplicates, the
entity counter stayed behind and every later person alert got another alert id (4 of 10
alerts "lost" against replay). The redelivered batch must give the alerts of a clean pass.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from warning.core.detectors.relational.detector import RelationalDetector, RelationalParams
from warning.core.engine import Engine
from warning.core.events import Event, Location, Party
from warning.core.ports import Detector
from warning.core.tokens import Tokeniser
from warning.pipeline import default_match_weights
from warning.stream.kv import TableKV, write_order

TOK = Tokeniser(b"crash-cut-test-key-0123")
TZ = timezone(timedelta(hours=8))
BATCH = 6


class CutTable(dict[str, Any]):
    """A Faust table stand-in whose changelog loses the tail of one flush."""

    def __init__(self) -> None:
        super().__init__()
        self.left: int | None = None  # writes that reach the changelog before the kill

    def _reaches(self) -> bool:
        if self.left is None:
            return True
        self.left -= 1
        return self.left >= 0

    def __setitem__(self, key: str, value: Any) -> None:
        if self._reaches():
            super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if self._reaches():
            super().__delitem__(key)


def shell_pass(det: Detector, events: list[Event], crash: tuple[int, float] | None) -> list[str]:
    """The detect agent's loop (engine, outputs, flush) in batches; `crash` = (batch, share of
    its flush that reached the changelog): a new engine on the JSON-restored table gets that
    batch again (its offsets were never committed). The distinct alert messages sent, in order."""
    table, engine, sent, i = CutTable(), Engine(det.key_space, [det], timedelta(0)), [], 0
    while i < len(events):
        kv = TableKV(table, 0)
        sent += [
            json.dumps(a.to_dict(), sort_keys=True) for e in events[i : i + BATCH] for a in engine.offer(kv, e).alerts
        ]
        if crash is not None and i // BATCH == crash[0]:
            table.left = int(len(kv._dirty) * crash[1])
            kv.flush(object)
            table, crash = CutTable(), None
            table.update(json.loads(json.dumps(dict(kv._table))))
            engine = Engine(det.key_space, [det], timedelta(0))
            continue
        kv.flush(object)
        i += BATCH
    return list(dict.fromkeys(sent))


def district() -> list[Event]:
    """One-off callers throughout (each founds an entity) and a repeat caller who starts late."""
    rng = random.Random(3)
    start = datetime(2026, 3, 2, 9, tzinfo=TZ)
    surnames, given = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    out = []
    for i in range(60):
        name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        party = Party("complainant", name, tokens=TOK.person(name=name, phone=f"13{rng.randrange(10**9):09d}"))
        if i >= 30 and i % 8 == 0:  # the repeat caller: hotline, grid, then petition
            party = Party("complainant", "张伟强", tokens=TOK.person(name="张伟强", phone="15512349505"))
        channel = ("hotline", "grid", "petition")[i % 3]
        t = start + timedelta(hours=3 * i)
        grid = f"S01-C01-G0{i % 3 + 1}"
        loc = Location("S01", "S01-C01", grid)
        out.append(Event(f"e{i}", channel, f"r{i}", t, t, loc, "labour", parties=(party,)))  # type: ignore[arg-type]
    return out


def detector() -> RelationalDetector:
    return RelationalDetector(RelationalParams(), default_match_weights())


def test_the_district_raises_a_person_alert() -> None:
    kinds = [json.loads(a)["details"]["kind"] for a in shell_pass(detector(), district(), None)]
    assert "cross_channel_person" in kinds


@pytest.mark.parametrize("batch", [1, 3, 4])
@pytest.mark.parametrize("share", [0.0, 0.2, 0.5, 0.8, 0.95])
def test_a_batch_cut_short_gives_the_alerts_of_a_clean_pass(batch: int, share: float) -> None:
    clean = shell_pass(detector(), district(), None)
    assert shell_pass(detector(), district(), (batch, share)) == clean


def test_dedupe_marks_and_clock_are_written_last_and_buffer_chunks_before_their_index() -> None:
    keys = [f"relational|district|tok:np:{i}" for i in range(40)] + [
        f"~seen/{h}/{s}" for h in range(3) for s in range(16)
    ]
    keys += ["~seen", "~buf", "~buf/3", "~bufn", "~clock", "~src"]
    order = sorted(keys, key=write_order)
    first_mark = min(i for i, k in enumerate(order) if k.startswith("~seen"))
    assert all(k.startswith("~seen") for k in order[first_mark:-1]) and order[-1] == "~clock"
    assert order.index("~buf/3") < order.index("~buf") and order.index("~bufn") < order.index("~buf")
    assert all(not k.startswith("~") for k in order[:40])


def test_an_event_buffered_before_the_cut_is_buffered_once() -> None:
    """Its buffer chunk reached the changelog, its dedupe mark (and the clock, written after
    it) did not: the redelivered event must not wait in the buffer twice (applied twice)."""
    from warning.core.engine import DictKV

    engine, kv = Engine("district", [detector()], timedelta(hours=1)), DictKV()
    es = district()[:3]  # 3 h apart: the last one waits in the buffer
    for e in es:
        engine.offer(kv, e)
    assert engine.pending(kv) == 1
    for key in [k for k in kv.data if k.startswith(("~seen", "~clock"))]:
        del kv.data[key]  # the cut
    engine.offer(kv, es[-1])
    assert engine.pending(kv) == 1
    assert engine.drain(kv).applied == 1
