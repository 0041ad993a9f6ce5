"""``warning score-series``: a general streaming anomaly scorer for a ``timestamp,value`` CSV.

Input: ``timestamp,value`` rows (header optional; timestamps ISO-8601 or epoch seconds; regular
or irregular intervals, gaps; counts, rates, percentages, latencies, temperatures; any length).
Output: ``timestamp,value,score,alert`` with ``score`` in [0, 1) from
`warning.core.detectors.series.StreamScorer` (``--detail`` adds the model, the test that won
and the surprise ``-log10 p``), parameters from the thresholds file ``[dynamic.series]`` (no
per-file tuning; ``--direction`` picks rises, dips or both). The score of row i uses rows < i
and row i itself only (score, then learn), so scoring any prefix gives the same scores. The
time of day used for daily profiles is the wall clock as written (its own UTC offset kept;
epoch seconds read as UTC).

Malformed rows - a missing or extra column, a timestamp that does not parse, a value that is
not a finite number, or a timestamp *earlier* than the previous good row's (time must not go
backwards; equal timestamps are allowed) - are reported on stderr as ``row N: reason`` (N is
the 1-based line number of the file) and written to the output with empty ``score`` and
``alert`` so output rows line up with input rows; they are not learned from. Everything else
is still scored.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated

import typer

from warning.core.detectors.series import DIRECTIONS, Assessment, Direction, ScorerParams, StreamScorer


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """What a run did: rows scored, rows rejected, rows flagged as alerts."""

    scored: int
    malformed: int
    alerts: int


def _parse_time(text: str) -> datetime:
    t = text.strip()
    if not t:
        raise ValueError("empty timestamp")
    try:
        return datetime.fromtimestamp(float(t), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(t)
    except ValueError:
        raise ValueError(f"bad timestamp {t[:40]!r}") from None
    # naive timestamps compare among themselves; mixing naive and aware is reported per row
    return parsed


def _parse_value(text: str) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise ValueError(f"non-numeric value {text.strip()[:40]!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {text.strip()!r}")
    return v


def _is_header(row: list[str]) -> bool:
    if len(row) < 2:
        return False
    try:
        _parse_value(row[1])
    except ValueError:
        try:
            _parse_time(row[0])
        except ValueError:
            return True
    return False


def _seconds(ts: datetime) -> tuple[float, float]:
    """(absolute epoch seconds, wall clock as written read as UTC seconds)."""
    wall = ts.replace(tzinfo=UTC).timestamp()
    return (ts.timestamp() if ts.tzinfo is not None else wall), wall


def assess_rows(
    rows: Iterable[list[str]], params: ScorerParams | None = None
) -> Iterator[tuple[int, list[str], Assessment | None, str]]:
    """Yield ``(line number, row, assessment or None, error)`` for each data row, streaming."""
    scorer = StreamScorer(params)
    state = scorer.init_state()
    last: datetime | None = None
    for lineno, row in enumerate(rows, start=1):
        if lineno == 1 and _is_header(row):
            continue
        if not row or all(not c.strip() for c in row):
            continue  # blank line: nothing to score, nothing to report
        if len(row) != 2:
            yield lineno, row, None, f"expected 2 columns (timestamp,value), got {len(row)}"
            continue
        try:
            ts = _parse_time(row[0])
            value = _parse_value(row[1])
            if last is not None and ts < last:
                raise ValueError(
                    f"timestamp goes backwards: {row[0].strip()} is earlier than the previous row's {last.isoformat()}"
                )
            t, wall = _seconds(ts)
        except (ValueError, TypeError, OverflowError) as exc:  # TypeError: naive vs aware comparison
            reason = str(exc) if isinstance(exc, ValueError) else "mixes timestamps with and without UTC offset"
            yield lineno, row, None, reason
            continue
        last = ts
        state, found = scorer.step(state, value, t, wall)
        yield lineno, row, found, ""


def score_rows(
    rows: Iterable[list[str]], params: ScorerParams | None = None
) -> Iterator[tuple[int, list[str], float | None, str]]:
    """Yield ``(line number, row, score or None, error)`` for each data row, streaming."""
    for lineno, row, found, reason in assess_rows(rows, params):
        yield lineno, row, (None if found is None else found.score), reason


def score_file(
    src: IO[str], dst: IO[str], err: IO[str], params: ScorerParams | None = None, detail: bool = False
) -> ScoreSummary:
    """Score a CSV stream into `dst`; report malformed rows on `err`."""
    scorer = StreamScorer(params)
    writer = csv.writer(dst, lineterminator="\n")
    extra = ["model", "test", "surprise"] if detail else []
    writer.writerow(["timestamp", "value", "score", "alert", *extra])
    scored = malformed = alerts = 0
    for lineno, row, found, reason in assess_rows(csv.reader(src), params):
        if found is None:
            malformed += 1
            err.write(f"row {lineno}: {reason}\n")
            cells = [*row, "", ""][:2]
            writer.writerow([cells[0], cells[1], "", "", *["" for _ in extra]])
            continue
        scored += 1
        flag = scorer.is_alert(found.score)
        alerts += flag
        more = [found.model, found.test, f"{found.surprise:.6g}"] if detail else []
        writer.writerow([row[0].strip(), row[1].strip(), f"{found.score:.6f}", "1" if flag else "0", *more])
    return ScoreSummary(scored, malformed, alerts)


def _direction(text: str) -> Direction:
    for d in DIRECTIONS:
        if d == text:
            return d
    raise ValueError(f'Unknown direction "{text}"; valid options are {list(DIRECTIONS)}')


def register(app: typer.Typer) -> None:
    """Add ``score-series`` to the ``warning`` typer app."""
    import sys

    @app.command("score-series")
    def score_series(
        file: Annotated[Path, typer.Argument(help="CSV of timestamp,value rows (header optional)")],
        out: Annotated[Path | None, typer.Option("--out", help="output CSV (default: stdout)")] = None,
        direction: Annotated[
            str | None,
            typer.Option("--direction", help="score rises (up), dips (down) or both (default: thresholds file)"),
        ] = None,
        detail: Annotated[bool, typer.Option("--detail", help="add model,test,surprise columns")] = False,
    ) -> None:
        """Score any timestamp,value series (no look-ahead): writes timestamp,value,score,alert."""
        from dataclasses import replace

        from warning import settings as settings_mod
        from warning import thresholds

        cfg = settings_mod.load()
        params = thresholds.load(cfg.thresholds_file).thresholds.dynamic.series.params()
        if direction is not None:
            if direction not in DIRECTIONS:
                sys.stderr.write(f'error: unknown direction "{direction}"; valid options are {list(DIRECTIONS)}\n')
                raise typer.Exit(2)
            params = replace(params, direction=_direction(direction))
        try:
            src = file.open(encoding="utf-8", newline="")
        except OSError as exc:
            sys.stderr.write(f"error: cannot read {file}: {exc.strerror}\n")
            raise typer.Exit(2) from None
        with src:
            if out is None:
                summary = score_file(src, sys.stdout, sys.stderr, params, detail)
            else:
                with out.open("w", encoding="utf-8", newline="") as dst:
                    summary = score_file(src, dst, sys.stderr, params, detail)
        sys.stderr.write(f"scored {summary.scored} rows, {summary.malformed} malformed, {summary.alerts} alerts\n")
        if summary.scored == 0:
            raise typer.Exit(1)
