"""Fuzzed input records for the chaos suite (bench/bench_faults.py, issue 13 build item 2).

Each record is derived from a valid one of the same channel and broken in one way: random
bytes, truncated JSON, huge numbers and strings, deep nesting, wrong types, NaN/Infinity,
unicode edge cases, injection text, extreme or impossible dates. Some stay valid on purpose
(unicode and injection text in free text): the suite compares the engine with replay of the
same mixed files, so whatever ingest decides, both shells must decide the same.

Records never contain a newline byte and are never blank: the input files are JSON lines, and
`warning.stream.publish.read_records` would split or skip such a line where Kafka would not.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

ID_FIELDS = ("report_id", "ticket_no", "case_no")

UNICODE = [
    "\u0000",
    "\ud800",  # a lone surrogate: json.dumps escapes it, decoding gives an unpaired code point
    "\u202e\u202d",  # bidi overrides
    "\u200b\u200d\ufeff",  # zero-width and BOM
    "e\u0301\u0301\u0301",  # stacked combining marks
    "\U0001f600\U0001f3f3\ufe0f\u200d\U0001f308",
    "\uffff\U0010ffff",
    "１２３４５６７８９０",  # full-width digits
]
INJECTION = [
    "'; DROP TABLE alerts; --",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "{{7*7}}${7*7}#{7*7}",
    "$(rm -rf /)`id`",
    "\r\nFLUSHALL\r\n*1\r\n$8\r\nFLUSHALL\r\n",
    "redis.call('FLUSHALL')",
    "../../../../etc/passwd",
    '\n[ERROR] fake log line "level": "critical"',
    "%s%s%s%n%x",
]
DATES = [
    "9999-12-31T23:59:59+08:00",
    "0001-01-01T00:00:00+08:00",
    "1900-01-01T00:00:00+08:00",
    "1970-01-01T00:00:00Z",
    "2026-02-30T10:00:00+08:00",
    "2026-03-02T25:61:00+08:00",
    "2026-03-02T10:00:00+25:00",
    "2026-03-02",
    "10:00",
    "",
    "1700000000",
    "-1",
]
WRONG = [None, True, [], {}, [1, 2], {"a": {"b": 1}}, -1, 1.5, "x" * 3]


def _field(rng: random.Random, rec: dict[str, Any]) -> str:
    return rng.choice(sorted(k for k in rec if k not in ID_FIELDS))


def _json(rec: dict[str, Any]) -> bytes:
    return json.dumps(rec, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def random_bytes(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    return bytes(rng.choice([b for b in range(256) if b != 10]) for _ in range(rng.randint(1, 300)))


def truncated(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    return raw[: rng.randint(1, len(raw) - 1)]


def huge_number(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    text = _json({**rec, _field(rng, rec): 0})
    number = rng.choice(["9" * rng.randint(400, 20_000), "1e400", "-1e400", "1" + "0" * 4301, "0." + "0" * 5000 + "1"])
    key = next(k for k in rec if k not in ID_FIELDS)
    return text.replace(f'"{key}": '.encode(), f'"{key}": {number}, "{key}_": '.encode(), 1)


def huge_string(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    return _json({**rec, _field(rng, rec): rng.choice("x测\u200b") * rng.randint(50_000, 300_000)})


def deep_nesting(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    depth = rng.randint(1_000, 60_000)
    key = _field(rng, rec)
    text = _json({**rec, key: 0})
    nested = ("[" * depth + "]" * depth) if rng.random() < 0.5 else ('{"a":' * depth + "1" + "}" * depth)
    return text.replace(f'"{key}": 0'.encode(), f'"{key}": {nested}'.encode(), 1)


def wrong_type(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    return _json({**rec, _field(rng, rec): rng.choice(WRONG)})


def nan(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    return _json({**rec, _field(rng, rec): rng.choice([float("nan"), float("inf"), float("-inf")])})


def unicode_edge(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    key = rng.choice([k for k, v in rec.items() if isinstance(v, str) and k not in ID_FIELDS])
    return _json({**rec, key: str(rec[key]) + rng.choice(UNICODE)})


def injection(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    key = rng.choice([k for k, v in rec.items() if isinstance(v, str) and k not in ID_FIELDS])
    return _json({**rec, key: rng.choice(INJECTION)})


def extreme_date(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    return _json({**rec, "occurred_at": rng.choice([*DATES, 0, 1.7e9, -1e18, 10**20])})


def not_an_object(rng: random.Random, rec: dict[str, Any], raw: bytes) -> bytes:
    return rng.choice([b"null", b"[]", b"42", b'"text"', b"true", b"{}", b"\xef\xbb\xbf{}", b"\x00"])


Mutation = Callable[[random.Random, dict[str, Any], bytes], bytes]
_ALL: tuple[Mutation, ...] = (random_bytes, truncated, huge_number, huge_string, deep_nesting, wrong_type)
_ALL += (nan, unicode_edge, injection, extreme_date, not_an_object)
MUTATIONS: dict[str, Mutation] = {f.__name__: f for f in _ALL}
RARE = {"huge_string", "deep_nesting"}  # big records: fewer of them keep the run short


def fuzz_one(rng: random.Random, raw: bytes, n: int) -> bytes:
    """One mutated copy of the valid record `raw`, its id made unique with `n`."""
    rec = json.loads(raw)
    for key in ID_FIELDS:
        if key in rec:
            rec[key] = f"FUZZ-{n}"
    raw = _json(rec)
    names = sorted(MUTATIONS)
    weights = [0.2 if name in RARE else 1.0 for name in names]
    out = MUTATIONS[rng.choices(names, weights)[0]](rng, rec, raw)
    out = out.replace(b"\n", b" ").rstrip(b"\r")
    return out if out.strip() else b"\x00"
