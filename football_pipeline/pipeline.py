"""The data platform as a library: read, validate and load partitions, with no Dagster involved.

The Dagster assets call these functions one partition at a time; `load_directory` runs the same steps
over a whole data directory (the benchmark and `football-pipeline load` use it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from football_pipeline import settings
from football_pipeline.common.seasons import Season
from football_pipeline.common.teams import Vocabulary
from football_pipeline.ingestion import companions, fbref, football_data, understat
from football_pipeline.ingestion.files import (
    FBREF,
    FOOTBALL_DATA,
    UNDERSTAT,
    SourceFile,
    SourceFileError,
    discover,
    locate,
    sha256,
)
from football_pipeline.ingestion.records import Rejection
from football_pipeline.quality.validate import ValidatedFile, validate
from football_pipeline.warehouse import build, load, migrate, reference, schema

# Bump when parsing, validation or the canonical build change what a file loads as: files whose
# fingerprint changes are reloaded by a no-change re-run.
PARSER_VERSION = "1"
PARSERS = {FOOTBALL_DATA: football_data.parse, UNDERSTAT: understat.parse, FBREF: fbref.parse_schedule}


@dataclass
class SourceResult:
    """One source file of a partition, read and validated (or refused as a whole)."""

    file: SourceFile
    path: str  # as shown to users
    sha256: str
    content: bytes
    fingerprint: str
    validated: ValidatedFile | None = None
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.validated is not None and not self.validated.blocked

    def problem(self) -> str | None:
        if self.error:
            return self.error
        if self.validated is not None and self.validated.blocked:
            return f"{self.path}: blocking check(s) failed: " + " | ".join(self.validated.blocking_reasons())
        return None

    def record(self) -> load.FileRecord:
        rejections: tuple[Rejection, ...] = ()
        if self.validated is not None:
            rejections = tuple(self.validated.rejections)
        elif self.error:
            head = self.content[:2000].decode("utf-8", "replace")
            rejections = (Rejection(None, head, self.error, "file"),)
        status = "loaded" if self.usable else ("blocked" if self.validated is not None else "failed")
        rows = len(self.validated.matches) if self.validated is not None else 0
        return load.FileRecord(self.file.source, self.path, self.sha256, self.content, self.fingerprint,
                               rejections, status, self.problem(), rows)


@dataclass(frozen=True)
class Unavailable:
    """A source that should have had a file for the partition but could not be fetched, with no fallback."""

    source: str
    reason: str


def fingerprint(file: SourceFile, vocabulary: Vocabulary, content: bytes | None = None) -> str:
    """What a load of `file` depends on: its bytes and its companions', the parser version, the team
    vocabulary. Unchanged fingerprint, unchanged rows: a no-change re-run skips the file."""
    digest = sha256(file.path.read_bytes() if content is None else content)
    companion = "".join(f":{p.name}={sha256(p.read_bytes())}" for p in companions.companion_paths(file))
    key = f"{digest}{companion}:{PARSER_VERSION}:{vocabulary.fingerprint}"
    return hashlib.sha256(key.encode()).hexdigest()


def read_source(
    file: SourceFile, data_dir: Path, vocabulary: Vocabulary, today: dt.date | None = None
) -> SourceResult:
    """Parse and validate one file. A file that cannot be used at all comes back with `error` set."""
    content = file.path.read_bytes()
    digest = sha256(content)
    shown = file.relative_to(data_dir)
    extra = companions.companion_paths(file)
    result = SourceResult(file, shown, digest, content, fingerprint(file, vocabulary, content))
    try:
        parsed = PARSERS[file.source](content, path=shown, competition_id=file.competition_id, season=file.season)
        parsed.extras, parsed.companion_rejections = companions.read(
            file, extra, {p: _shown(p, data_dir) for p in extra})
        feed = companions.fixtures_path(file) if file.source == FOOTBALL_DATA else None
        feed_shown = _shown(feed, data_dir) if feed is not None and feed in extra else None
        if feed_shown is not None:
            parsed.info.update(companions.merge_fixtures(parsed, feed, feed_shown))
        result.validated = validate(parsed, vocabulary, pd.Timestamp(today or settings.today()))
        if feed_shown is not None:
            result.validated.rejections = [companions.fixture_rejection(r, feed_shown)
                                           for r in result.validated.rejections]
    except SourceFileError as error:
        result.error = str(error)
    return result


def _shown(path: Path, data_dir: Path) -> str:
    try:
        return str(path.relative_to(data_dir))
    except ValueError:
        return str(path)


def partition_files(data_dir: Path, competition_id: str, season: Season) -> dict[str, SourceFile]:
    """The source files that exist for one partition."""
    found = {source: locate(source, data_dir, competition_id, season) for source in PARSERS}
    return {source: file for source, file in found.items() if file is not None}


def unchanged(engine: sa.Engine, competition_id: str, season: str, fingerprints: dict[str, str]) -> bool:
    """True when exactly these files, with these fingerprints, are what the warehouse holds."""
    loaded = {source: f for (source, c, s), f in load.loaded_fingerprints(engine).items()
              if c == competition_id and s == season}
    return bool(fingerprints) and loaded == fingerprints


def prepare(competition_id: str, season: str, results: Iterable[SourceResult]) -> tuple[build.PartitionRows | None,
                                                                                     list[str]]:
    """The canonical rows of a partition, or the problems that stop it from loading (no database)."""
    results = list(results)
    problems = [p for p in (r.problem() for r in results) if p]
    if problems:
        return None, problems
    by_source = {r.file.source: r.validated for r in results}
    return build.build(competition_id, season, by_source.get(FOOTBALL_DATA), by_source.get(UNDERSTAT),
                       by_source.get(FBREF)), []


def load_sources(
    engine: sa.Engine, competition_id: str, season: str, results: Iterable[SourceResult], *,
    allow_shrink: bool = False, rows: build.PartitionRows | None = None,
) -> tuple[load.LoadResult | None, build.PartitionRows | None, list[str]]:
    """Load a partition from its read sources. Unusable sources are recorded (raw bytes, quarantine)
    and leave the warehouse as it was; returns the load, the rows built and the problems seen."""
    results = list(results)
    if rows is None:
        rows, problems = prepare(competition_id, season, results)
    else:
        problems = []
    if problems:
        for result in results:
            if not result.usable:
                load.record_unloaded(engine, competition_id, season, result.record())
        return None, None, problems
    loaded = load.load_partition(engine, rows, [r.record() for r in results], allow_shrink=allow_shrink)
    return loaded, rows, []


@dataclass
class DirectorySummary:
    data_dir: str
    partitions: int = 0
    loaded: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quarantined: int = 0
    seconds: float = 0.0


def _read_partition(args: tuple) -> tuple[str, str, list[SourceResult], build.PartitionRows | None]:
    """Worker step: everything short of the database (parse, validate, build)."""
    competition_id, season_key, files, data_dir, vocabulary, today, dialect = args
    results = [read_source(f, data_dir, vocabulary, today) for f in files]
    rows, _ = prepare(competition_id, season_key, results)
    if rows is not None and dialect == "postgresql":
        rows.copy_texts = {name: load.copy_text(schema.metadata.tables[name], frame)
                           for name, frame in rows.tables().items()}
    return competition_id, season_key, results, rows


def load_directory(
    engine: sa.Engine, data_dir: Path, *, skip_unchanged: bool = True, workers: int = 1,
    today: dt.date | None = None, only: set[tuple[str, str]] | None = None,
) -> DirectorySummary:
    """Migrate, load the reference tables, then every partition found in `data_dir`."""
    started = time.perf_counter()
    migrate.upgrade(engine)
    vocabulary = Vocabulary.load([data_dir])
    reference.load_reference(engine, vocabulary)
    summary = DirectorySummary(str(data_dir))
    grouped: dict[tuple[str, str], list[SourceFile]] = defaultdict(list)
    for file in discover(data_dir):
        grouped[(file.competition_id, file.season.key)].append(file)
    loaded_now = load.loaded_fingerprints(engine) if skip_unchanged else {}
    todo = []
    for (competition_id, season_key), files in sorted(grouped.items()):
        if only is not None and (competition_id, season_key) not in only:
            continue
        summary.partitions += 1
        prints = {f.source: fingerprint(f, vocabulary) for f in files}
        held = {s: p for (s, c, k), p in loaded_now.items() if c == competition_id and k == season_key}
        if skip_unchanged and held == prints:
            summary.unchanged += 1
            continue
        todo.append((competition_id, season_key, files, data_dir, vocabulary, today, engine.dialect.name))
    if workers > 1 and len(todo) > 1:
        # Forking a process that has started JAX's threads can deadlock the child: start the workers
        # from a clean server process then (the modelling commands load data after importing JAX).
        context = multiprocessing.get_context("forkserver") if "jax" in sys.modules else None
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            read = pool.map(_read_partition, todo, chunksize=2)
            _load_all(engine, read, summary)
    else:
        _load_all(engine, map(_read_partition, todo), summary)
    migrate.refresh_aggregates(engine)
    summary.seconds = time.perf_counter() - started
    return summary


def _load_all(engine: sa.Engine, read: Iterable[tuple], summary: DirectorySummary) -> None:
    for competition_id, season_key, results, rows in read:
        try:
            loaded, _, problems = load_sources(engine, competition_id, season_key, results, rows=rows)
        except load.LoadRefused as refused:
            summary.refused.append(str(refused))
            continue
        if problems:
            summary.refused.extend(problems)
            continue
        summary.loaded += 1
        summary.quarantined += loaded.quarantined
        for table, count in loaded.rows.items():
            summary.rows[table] += count


def table_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (schema.competitions, schema.teams, schema.team_aliases, schema.matches,
                          schema.team_match_stats, schema.odds, schema.xg, schema.lineups, schema.shots,
                          schema.elo_ratings, schema.quarantine,
                          schema.raw_files)
        }


def known_partitions(data_dir: Path) -> list[tuple[str, str]]:
    """(competition, season) of every partition that has at least one source file."""
    return sorted({(f.competition_id, f.season.key) for f in discover(data_dir)})
