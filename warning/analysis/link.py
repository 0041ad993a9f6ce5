"""``warning link FILE.csv --map MAP.toml --out CLUSTERS.csv``: resolve any CSV of person records.

The same tokeniser (`warning.core.tokens`, under the district's pseudonym key) and the same
incremental resolver (`warning.core.detectors.relational.resolve`) as the stream's relational
detector; the Fellegi-Sunter weights are fitted by EM on the file's own blocked pairs (no
labels), unless ``--weights`` names a weights file (``--save-weights`` writes one); a file too
small for EM (fewer than `MIN_EM_PAIRS` candidate pairs) uses the shipped weights.

The mapping file has a ``[columns]`` table with any subset of ``record_id``, ``name`` (or
``given_name`` + ``family_name``), ``id_number``, ``phone``, ``birth_date``, ``address`` (a
column or a list of columns joined in order) and ``gender``; other CSV columns are ignored.
Output: ``record_id,cluster_id`` for every row that has a record id (singletons included;
without a ``record_id`` column the 1-based line number is the id). A row that cannot be used
- wrong number of cells, no record id, a duplicate id - is reported as ``row N: reason`` on
stderr and left out; a row with one unreadable field (a birth date that is no date) is
reported and linked on its other fields.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, Final

import typer

from warning.core.detectors.relational.fs import MatchWeights
from warning.core.detectors.relational.resolve import Resolver, ResolverParams
from warning.core.detectors.relational.train import candidate_pairs, learn_weights
from warning.core.engine import DictKV
from warning.core.errors import WarningError
from warning.core.tokens import Tokeniser, group, parse_birth_date

FIELDS: Final = (
    "record_id",
    "name",
    "given_name",
    "family_name",
    "id_number",
    "phone",
    "birth_date",
    "address",
    "gender",
)
MIN_EM_PAIRS: Final = 200  # below this many candidate pairs the shipped weights are used
_GENDER: Final = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F", "1": "M", "2": "F"}


class MappingError(WarningError):
    """The mapping file does not describe the CSV (names the key and what is valid)."""


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which CSV columns hold which person field."""

    columns: Mapping[str, tuple[str, ...]]

    @classmethod
    def parse(cls, text: str, source: str = "map") -> ColumnMap:
        """From the TOML text of a mapping file."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"{source}: not valid TOML: {exc}") from None
        table = data.get("columns")
        if not isinstance(table, dict) or not table:
            raise MappingError(f'{source}: needs a [columns] table, e.g. name = "姓名"')
        out: dict[str, tuple[str, ...]] = {}
        for key, value in table.items():
            if key not in FIELDS:
                raise MappingError(f'{source}: unknown field "{key}" in [columns]; valid options are {list(FIELDS)}')
            cols = (value,) if isinstance(value, str) else value
            if not isinstance(cols, list | tuple) or not cols or not all(isinstance(c, str) and c for c in cols):
                raise MappingError(f"{source}: [columns] {key} must be a column name or a list of column names")
            if len(cols) > 1 and key != "address":
                raise MappingError(f"{source}: [columns] {key} takes one column (only address joins several)")
            out[key] = tuple(cols)
        if ("given_name" in out) != ("family_name" in out):
            raise MappingError(f"{source}: given_name and family_name go together")
        if "name" in out and "given_name" in out:
            raise MappingError(f"{source}: map either name or given_name + family_name, not both")
        if not {"name", "given_name", "id_number", "phone"} & set(out):
            raise MappingError(f"{source}: map at least one of name, given_name + family_name, id_number, phone")
        return cls(out)

    def check(self, header: Sequence[str]) -> dict[str, list[int]]:
        """Column indexes per field; `MappingError` naming any column the CSV lacks."""
        index = {h.strip(): i for i, h in enumerate(header)}
        missing = [c for cols in self.columns.values() for c in cols if c not in index]
        if missing:
            raise MappingError(f"columns {missing} are not in the CSV header; it has {list(index)}")
        return {f: [index[c] for c in cols] for f, cols in self.columns.items()}


@dataclass
class LinkResult:
    """Per-row clusters and what happened on the way."""

    clusters: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    weights: MatchWeights | None = None
    seconds: float = 0.0

    @property
    def largest(self) -> int:
        """Size of the largest cluster."""
        return max(Counter(c for _, c in self.clusters).values(), default=0)

    @property
    def n_clusters(self) -> int:
        """Distinct clusters."""
        return len({c for _, c in self.clusters})


def _record_tokens(tok: Tokeniser, cells: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    """Tokens of one row's fields, and a problem with a field ('' when none)."""
    problem = ""
    name = cells.get("name", "")
    if cells.get("given_name") or cells.get("family_name"):
        given, family = cells.get("given_name", ""), cells.get("family_name", "")
        cjk = any("\u4e00" <= c <= "\u9fff" for c in given + family)
        name = f"{family}{given}" if cjk else f"{given} {family}"
    born = None
    if raw := cells.get("birth_date", ""):
        born = parse_birth_date(raw)
        if born is None:
            problem = f"birth date {raw[:30]!r} is not a date (YYYY-MM-DD, YYYYMMDD or YYYY年M月D日); ignored"
    sex = _GENDER.get(cells.get("gender", "").strip().lower(), "")
    tokens = tok.person(
        name=name.strip(),
        id_number=cells.get("id_number", ""),
        phone=cells.get("phone", ""),
        birth_date=born,
        address=cells.get("address", ""),
        sex=sex,
    )
    return tokens, problem


def read_records(src: IO[str], cmap: ColumnMap, tok: Tokeniser) -> tuple[list[tuple[str, tuple[str, ...]]], list[str]]:
    """(record id, tokens) per usable row, and the problems (``row N: ...``) of the others."""
    reader = csv.reader(src)
    header = next(reader, None)
    if header is None:
        raise MappingError("the CSV is empty (no header row)")
    header[0] = header[0].removeprefix("\ufeff")
    index = cmap.check(header)
    records: list[tuple[str, tuple[str, ...]]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(f"row {lineno}: expected {len(header)} cells, got {len(row)}; left out")
            continue
        cells = {f: " ".join(row[i].strip() for i in idx if row[i].strip()) for f, idx in index.items()}
        rid = cells.get("record_id", str(lineno)) if "record_id" in index else str(lineno)
        if not rid:
            problems.append(f"row {lineno}: empty record id; left out")
            continue
        if rid in seen:
            problems.append(f"row {lineno}: record id {rid!r} repeats an earlier row; left out")
            continue
        seen.add(rid)
        tokens, problem = _record_tokens(tok, cells)
        if problem:
            problems.append(f"row {lineno}: {problem}")
        records.append((rid, tokens))
    return records, problems


def link_records(
    records: Sequence[tuple[str, Sequence[str]]],
    params: ResolverParams,
    weights: MatchWeights | None = None,
    progress: Callable[[Iterable[Any], int], Iterable[Any]] | None = None,
) -> tuple[list[tuple[str, str]], MatchWeights]:
    """Resolve records in file order; ``(record id, cluster id)`` per record."""
    if weights is None:
        profiles = [group(t) for _, t in records]
        if len(candidate_pairs(profiles, params.block_cap, MIN_EM_PAIRS)) < MIN_EM_PAIRS:
            from warning.pipeline import default_match_weights

            weights = default_match_weights()  # too few pairs for EM to learn anything from
        else:
            weights = learn_weights(profiles, params.block_cap, fitted_on="this file")
    resolver = Resolver(weights, params)
    store = DictKV()
    entity_of: list[str] = []
    steps: Iterable[Any] = records if progress is None else progress(records, len(records))
    for _, tokens in steps:
        resolution = resolver.resolve(store, tokens)
        entity_of.append(resolution.entity if resolution else "")
    roots: dict[str, str] = {}
    out = []
    for (rid, _), eid in zip(records, entity_of, strict=True):
        root = resolver.find(store, eid) if eid else f"single-{rid}"
        out.append((rid, roots.setdefault(root, f"K{len(roots):07d}")))
    return out, weights


def link_file(
    src: IO[str],
    cmap: ColumnMap,
    tok: Tokeniser,
    params: ResolverParams,
    weights: MatchWeights | None = None,
    progress: Callable[[Iterable[Any], int], Iterable[Any]] | None = None,
) -> LinkResult:
    """The whole command minus the files: read, fit (or take) weights, link."""
    started = time.perf_counter()
    records, problems = read_records(src, cmap, tok)
    result = LinkResult(problems=problems)
    if records:
        try:
            result.clusters, result.weights = link_records(records, params, weights, progress)
        except ValueError as exc:  # nothing shares a blocking key: every record is its own person
            result.problems.append(f"note: {exc}")
            result.clusters = [(rid, f"K{i:07d}") for i, (rid, _) in enumerate(records)]
    result.seconds = time.perf_counter() - started
    return result


def _progress_bar(items: Iterable[Any], total: int) -> Iterable[Any]:
    from rich.console import Console
    from rich.progress import track

    return track(items, total=total, description="linking", console=Console(stderr=True), transient=True)


def register(app: typer.Typer) -> None:
    """Add ``link`` to the ``warning`` typer app."""

    @app.command("link")
    def link(
        file: Annotated[Path, typer.Argument(help="CSV of person records (header row required)")],
        map_file: Annotated[Path, typer.Option("--map", help="TOML with a [columns] table (see the docs)")],
        out: Annotated[Path, typer.Option("--out", help="output CSV: record_id,cluster_id")],
        weights_file: Annotated[
            Path | None, typer.Option("--weights", help="match weights JSON to use instead of fitting EM")
        ] = None,
        save_weights: Annotated[Path | None, typer.Option("--save-weights", help="write the fitted weights")] = None,
    ) -> None:
        """Resolve person records into clusters with the stream's tokens and matcher."""
        from warning import settings as settings_mod
        from warning import thresholds

        cfg = settings_mod.load()
        params = thresholds.load(cfg.thresholds_file).thresholds.relational.resolver()
        tok = Tokeniser(cfg.pseudonym_key.get_secret_value().encode())
        try:
            cmap = ColumnMap.parse(map_file.read_text(encoding="utf-8"), str(map_file))
            weights = MatchWeights.from_dict(json.loads(weights_file.read_text())) if weights_file else None
            with file.open(encoding="utf-8-sig", newline="") as src:
                result = link_file(src, cmap, tok, params, weights, _progress_bar if sys.stderr.isatty() else None)
        except OSError as exc:
            sys.stderr.write(f"error: cannot read {exc.filename}: {exc.strerror}\n")
            raise typer.Exit(2) from None
        except (MappingError, ValueError, KeyError) as exc:
            sys.stderr.write(f"error: {exc}\n")
            raise typer.Exit(2) from None
        for line in result.problems:
            sys.stderr.write(line + "\n")
        with out.open("w", encoding="utf-8", newline="") as dst:
            writer = csv.writer(dst, lineterminator="\n")
            writer.writerow(["record_id", "cluster_id"])
            writer.writerows(result.clusters)
        if save_weights and result.weights:
            save_weights.write_text(json.dumps(result.weights.to_dict(), indent=1), encoding="utf-8")
        bad = sum(1 for p in result.problems if p.endswith("left out"))
        sys.stderr.write(
            f"linked {len(result.clusters)} records into {result.n_clusters} clusters "
            f"(largest {result.largest}) in {result.seconds:.1f} s; {bad} rows left out\n"
        )
        if not result.clusters:
            raise typer.Exit(1)
