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
from football_pipeline.common import competitions
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
from football_pipeline.warehouse import build, load, migrate, reference, resolve, schema

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
    refused: str | None = None  # refused when the partition's teams were resolved (warehouse.resolve)

    @property
    def usable(self) -> bool:
        return self.validated is not None and not self.validated.blocked and self.refused is None

    def problem(self) -> str | None:
        if self.error:
            return self.error
        if self.validated is not None and self.validated.blocked:
            return f"{self.path}: blocking check(s) failed: " + " | ".join(self.validated.blocking_reasons())
        if self.refused:
            return self.refused if self.refused.startswith(self.path) else f"{self.path}: {self.refused}"
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


def fatal_problems(results: Iterable[SourceResult]) -> list[str]:
    """What keeps a partition as it was: its primary source failing (football-data, when it has a file),
    or every source failing. A secondary source's failure is that source's alone."""
    results = list(results)
    problems = [p for p in (r.problem() for r in results) if p]
    primary = [r for r in results if r.file.source == resolve.PRIMARY]
    if any(not r.usable for r in primary) or not any(r.usable for r in results):
        return problems
    return []


def prepare(competition_id: str, season: str, results: Iterable[SourceResult], vocabulary: Vocabulary | None = None,
            known: resolve.Context | None = None, resolution: resolve.Resolution | None = None,
            ) -> tuple[build.PartitionRows | None, list[str]]:
    """The canonical rows of a partition (no database), with the problems seen; rows None when the
    problems keep the partition as it was. Unknown spellings are resolved first (`warehouse.resolve`):
    a secondary file whose spellings cannot be resolved is left out (its result marked refused)."""
    results = list(results)
    fatal = fatal_problems(results)
    if fatal:
        return None, fatal
    files = {r.file.source: r.validated for r in results if r.usable}
    if resolution is None:
        resolution = resolve.resolve(competition_id, season, files, vocabulary or Vocabulary.load(), known)
    for result in results:
        if result.file.source in resolution.refused and result.usable:
            result.refused = resolution.refused[result.file.source]
    fatal = fatal_problems(results)
    if fatal:
        return None, fatal
    files = {r.file.source: r.validated for r in results if r.usable}
    resolve.apply(files, resolution)
    rows = build.build(competition_id, season, files.get(FOOTBALL_DATA), files.get(UNDERSTAT), files.get(FBREF))
    rows.resolution = resolution
    return rows, [p for p in (r.problem() for r in results) if p]


def learned_vocabulary(engine: sa.Engine, vocabulary: Vocabulary | None = None) -> Vocabulary:
    """The curated vocabulary plus what earlier loads decided (`team_resolutions`)."""
    return resolve.learned(engine, vocabulary or Vocabulary.load())


def load_sources(
    engine: sa.Engine, competition_id: str, season: str, results: Iterable[SourceResult], *,
    allow_shrink: bool = False, rows: build.PartitionRows | None = None, vocabulary: Vocabulary | None = None,
) -> tuple[load.LoadResult | None, build.PartitionRows | None, list[str]]:
    """Load a partition from its read sources. Unknown team spellings are resolved against the warehouse
    (last season's clubs, stored decisions) and the decisions stored with the load. Unusable sources
    are recorded (raw bytes, quarantine); only the primary source's failure (or every source's) leaves
    the warehouse as it was. Returns the load (None when nothing loaded), the rows, the problems seen."""
    results = list(results)
    vocabulary = learned_vocabulary(engine, vocabulary)
    problems = fatal_problems(results)
    if not problems:
        files = {r.file.source: r.validated for r in results if r.usable}
        resolution = resolve.resolve(competition_id, season, files, vocabulary,
                                     resolve.context(engine, competition_id, season))
        if rows is None or resolution.refused or any(resolution.mapping.values()):
            rows, problems = prepare(competition_id, season, results, vocabulary, resolution=resolution)
        else:
            rows.resolution = resolution
            problems = [p for p in (r.problem() for r in results) if p]
    else:
        rows = None
    if rows is None:
        for result in results:
            if not result.usable:
                load.record_unloaded(engine, competition_id, season, result.record())
        return None, None, problems
    rows.reference = resolve.reference_rows(rows, vocabulary)
    loaded = load.load_partition(engine, rows, [r.record() for r in results], allow_shrink=allow_shrink)
    return loaded, rows, problems


@dataclass
class DirectorySummary:
    data_dir: str
    partitions: int = 0
    loaded: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)
    sources_left_out: list[str] = field(default_factory=list)  # a secondary file refused, the partition loaded
    teams_resolved: list[str] = field(default_factory=list)  # decisions on spellings the vocabulary lacked
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quarantined: int = 0
    seconds: float = 0.0


def _read_partition(args: tuple) -> tuple[str, str, list[SourceResult], build.PartitionRows | None]:
    """Worker step: everything short of the database (parse, validate, build)."""
    competition_id, season_key, files, data_dir, vocabulary, today, dialect = args
    results = [read_source(f, data_dir, vocabulary, today) for f in files]
    usable = [r.validated for r in results if r.usable]
    # Spellings the vocabulary lacks are decided in the loading process, which sees the warehouse.
    rows = None if resolve.needs_resolution(usable) else prepare(competition_id, season_key, results, vocabulary)[0]
    if rows is not None and dialect == "postgresql":
        rows.copy_texts = {name: load.copy_text(schema.metadata.tables[name], frame)
                           for name, frame in rows.tables().items()}
    return competition_id, season_key, results, rows


def load_directory(
    engine: sa.Engine, data_dir: Path, *, skip_unchanged: bool = True, workers: int = 1,
    today: dt.date | None = None, only: set[tuple[str, str]] | None = None, vocabulary_dir: Path | None = None,
) -> DirectorySummary:
    """Migrate, load the reference tables, then every partition found in `data_dir`."""
    started = time.perf_counter()
    migrate.upgrade(engine)
    vocabulary = Vocabulary.load([data_dir], base=vocabulary_dir)
    # The bundled reference up front; a data dir's own teams and aliases are written with the partitions
    # that load (in their transaction), so a refused directory leaves none of its rows behind.
    reference.load_reference(engine, Vocabulary.load(base=vocabulary_dir))
    vocabulary = learned_vocabulary(engine, vocabulary)
    summary = DirectorySummary(str(data_dir))
    grouped: dict[tuple[str, str], list[SourceFile]] = defaultdict(list)
    for file in discover(data_dir):
        grouped[(file.competition_id, file.season.key)].append(file)
    loaded_now = load.loaded_fingerprints(engine) if skip_unchanged else {}
    todo = []
    # Season by season, divisions from the top, so that last season's clubs are known when a new
    # spelling is resolved.
    order = sorted(grouped.items(), key=lambda item: (item[0][1], _tier(item[0][0]), item[0][0]))
    for (competition_id, season_key), files in order:
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
            _load_all(engine, read, summary, vocabulary)
    else:
        _load_all(engine, map(_read_partition, todo), summary, vocabulary)
    migrate.refresh_aggregates(engine)
    summary.seconds = time.perf_counter() - started
    return summary


def _tier(competition_id: str) -> int:
    return competitions.BY_ID[competition_id].tier if competition_id in competitions.BY_ID else 99


def _load_all(engine: sa.Engine, read: Iterable[tuple], summary: DirectorySummary, vocabulary: Vocabulary) -> None:
    for competition_id, season_key, results, rows in read:
        try:
            loaded, built, problems = load_sources(engine, competition_id, season_key, results, rows=rows,
                                                   vocabulary=vocabulary)
        except load.LoadRefused as refused:
            summary.refused.append(str(refused))
            continue
        if loaded is None:
            summary.refused.extend(problems)
            continue
        summary.sources_left_out.extend(problems)
        summary.teams_resolved.extend(built.resolution.summary() if built.resolution else [])
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
