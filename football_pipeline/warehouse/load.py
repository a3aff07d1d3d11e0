"""Transactional, idempotent loads of one competition x season partition.

A load replaces the partition's rows in `matches`, `team_match_stats`, `odds` and `xg` and its
quarantine records in one transaction: re-running it leaves the same rows, and a failure part-way
(the server going away included) leaves the previous state. Two guards keep good data from being
replaced by worse: a source whose file is missing now does not wipe what was loaded from it, and a
file with fewer completed matches than the warehouse holds for the partition is refused, naming the
matches it would lose and why the file lacks them (the row quarantined for that pairing, or absent). A
refused load still keeps the files it was given (bytes in `raw_files`, rejected rows in `quarantine`,
the refusal in `source_files.message`); the loaded rows stay as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from football_pipeline.common.teams import normalise
from football_pipeline.ingestion.records import Rejection
from football_pipeline.warehouse import schema
from football_pipeline.warehouse.build import PartitionRows


class LoadRefused(RuntimeError):
    """A load would lose data that is in the warehouse; nothing was changed."""


@dataclass(frozen=True)
class FileRecord:
    """What a load records about one source file."""

    source: str
    path: str
    sha256: str
    content: bytes
    fingerprint: str
    rejections: tuple[Rejection, ...]
    status: str = "loaded"  # loaded | blocked | failed
    message: str | None = None
    rows_loaded: int = 0


@dataclass(frozen=True)
class LoadResult:
    competition_id: str
    season: str
    rows: dict[str, int]
    quarantined: int
    replaced: dict[str, int]  # rows deleted per table


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def load_partition(
    engine: sa.Engine, rows: PartitionRows, files: Iterable[FileRecord], *, allow_shrink: bool = False
) -> LoadResult:
    files = list(files)
    sources = {f.source for f in files}
    quarantined = 0
    with _keep_files_if_refused(engine, rows, files), engine.begin() as connection:
        _refuse_losses(connection, rows, sources, allow_shrink, files)
        write_reference(connection, rows.reference)
        replaced = {}
        for table in schema.PARTITIONED:
            deleted = connection.execute(
                table.delete().where(table.c.competition_id == rows.competition_id, table.c.season == rows.season)
            )
            replaced[table.name] = deleted.rowcount
        counts = {}
        prepared = rows.copy_texts if connection.dialect.name == "postgresql" else {}
        for name, frame in rows.tables().items():
            counts[name] = bulk_insert(connection, schema.metadata.tables[name], prepared.get(name, frame))
        for record in files:
            extra = rows.conflicts.get(record.source, [])
            quarantined += _record_file(connection, rows.competition_id, rows.season, record, extra)
    return LoadResult(rows.competition_id, rows.season, counts, quarantined, replaced)


def write_reference(connection: sa.Connection, reference: dict[str, list[dict]]) -> None:
    """Teams, aliases and team decisions a partition needs, in its load's transaction: upserted, except
    a stored decision, which is permanent (the first one stays)."""
    for name, keys in (("teams", ["team_id"]), ("team_aliases", ["source", "country", "alias"]),
                       ("team_resolutions", ["source", "country", "alias"])):
        upsert(connection, schema.metadata.tables[name], reference.get(name) or [], keys,
               keep_existing=name == "team_resolutions")


def upsert(connection: sa.Connection, table: sa.Table, rows: Sequence[dict], keys: Sequence[str],
           keep_existing: bool = False) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE (or, `keep_existing`, DO NOTHING), on SQLite and PostgreSQL."""
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(list(rows))
    if keep_existing:
        connection.execute(statement.on_conflict_do_nothing(index_elements=list(keys)))
        return
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates))


def record_unloaded(engine: sa.Engine, competition_id: str, season: str, record: FileRecord) -> int:
    """A blocked or unreadable file: keep its bytes and rejected rows; the loaded data stays as it was."""
    with engine.begin() as connection:
        return _record_file(connection, competition_id, season, record, [])


def loaded_fingerprints(engine: sa.Engine) -> dict[tuple[str, str, str], str]:
    """(source, competition, season) -> fingerprint of what is loaded, for skipping unchanged files."""
    table = schema.source_files
    with engine.connect() as connection:
        result = connection.execute(
            sa.select(table.c.source, table.c.competition_id, table.c.season, table.c.fingerprint).where(
                table.c.status == "loaded"
            )
        )
        return {(s, c, season): f for s, c, season, f in result}


def held_sources(engine: sa.Engine, competition_id: str, season: str) -> dict[str, int]:
    """How many of the partition's matches each source contributed to what the warehouse holds."""
    with engine.connect() as connection:
        return _held(connection, competition_id, season)


def _held(connection: sa.Connection, competition_id: str, season: str, completed: bool = False) -> dict[str, int]:
    matches = schema.matches
    query = sa.select(matches.c.sources, sa.func.count()).where(
        matches.c.competition_id == competition_id, matches.c.season == season)
    if completed:
        query = query.where(matches.c.status == "completed")
    rows = connection.execute(query.group_by(matches.c.sources)).all()
    held: dict[str, int] = {}
    for sources, count in rows:
        for source in sources.split(","):
            held[source] = held.get(source, 0) + count
    return held


def _refuse_losses(connection: sa.Connection, rows: PartitionRows, sources: set[str], allow_shrink: bool,
                   files: Iterable[FileRecord] = ()) -> None:
    """A source missing from this load would wipe what it loaded; a source with fewer completed matches
    than it loaded before would shrink the warehouse. Both are refused; the second names the matches it
    would lose and why (the file's quarantined row for the pairing, or absent: a truncated file?).
    Scheduled matches may come and go (a fixture moved, or dropped from the feed): not a loss."""
    label = f"{rows.competition_id} {rows.season}"
    before = _held(connection, rows.competition_id, rows.season)
    completed_before = _held(connection, rows.competition_id, rows.season, completed=True)
    now: dict[str, int] = {}
    completed = rows.matches["status"].eq("completed").to_numpy()
    for listed, done in zip(rows.matches["sources"], completed, strict=True):
        for source in listed.split(",") if done else ():
            now[source] = now.get(source, 0) + 1
    left_out = {f.source: f.message for f in files if f.status != "loaded"}
    for source, total in sorted(before.items()):
        if source in left_out:  # a secondary file refused (the primary's refusal never gets here)
            raise LoadRefused(
                f"{label}: the warehouse holds {total} matches loaded from {source}, and this load's {source} file "
                f"is left out ({left_out[source]}); refusing to drop them: fix that file, or add what it asks for"
            )
        if source not in sources:
            raise LoadRefused(
                f"{label}: the warehouse holds {total} matches loaded from {source}, but no {source} file was "
                "given for this load; refusing to drop them (restore the file, or delete the partition explicitly)"
            )
        count = completed_before.get(source, 0)
        if now.get(source, 0) < count and not allow_shrink:
            raise LoadRefused(_shrink_message(connection, rows, source, now.get(source, 0), count, files))


SHOWN_LOSSES = 10  # lost matches named in a refusal; the rest are counted
_ROW_WORD = {"football-data": "line", "understat": "record"}


def _shrink_message(connection: sa.Connection, rows: PartitionRows, source: str, now_count: int, count: int,
                    files: Iterable[FileRecord]) -> str:
    """Why a load is refused for `source`: the completed matches it would lose, each with the reason the
    new file lacks it (its row there was quarantined, it is there without a result, or it is absent)."""
    label = f"{rows.competition_id} {rows.season}"
    record = next((f for f in files if f.source == source), None)
    rejections = [(r, _row_teams(r.raw_row or "")) for r in
                  (*(record.rejections if record is not None else ()), *rows.conflicts.get(source, []))]
    lost = _lost_matches(connection, rows, source)
    names = _team_names(connection, rows, {t for m in lost for t in (m[0], m[1])})
    scheduled = _pairings(rows, source, completed=False)
    lines, quarantined, without_result = [], 0, 0
    for home, away, day in lost:
        rejected = _rejection_for(rejections, names.get(home, ()), names.get(away, ()), day)
        if rejected is not None:
            quarantined += 1
            where = f"{_ROW_WORD.get(source, 'row')} {rejected.source_row}" if rejected.source_row else "file"
            why = f"quarantined, {where} ({rejected.check_name}): {_clip(rejected.reason)}"
        elif (home, away) in scheduled:
            without_result += 1
            why = "in the file without a result (now scheduled)"
        else:
            why = "absent from the file"
        lines.append(f"  {_shown_name(names, home)} v {_shown_name(names, away)} {day.isoformat()}: {why}")
    absent = len(lost) - quarantined - without_result
    path = record.path if record is not None else f"the {source} file"
    head = (f"{label}: the new files would replace data with less ({source} holds {now_count} completed matches, "
            f"the warehouse {count}). Refusing to load {path}, which lacks {len(lost)} completed "
            f"match{'es' if len(lost) != 1 else ''} the warehouse holds")
    parts = [f"{n} {what}" for n, what in ((quarantined, "quarantined"), (without_result, "without a result"),
                                           (absent, "absent from the file")) if n]
    head += f" ({', '.join(parts)})" if parts else ""
    if len(lines) > SHOWN_LOSSES:
        lines = [*lines[:SHOWN_LOSSES], f"  ... and {len(lines) - SHOWN_LOSSES} more"]
    hint = "A truncated or partial file? " if absent else ""
    fix = "Fix or restore those rows" if quarantined or without_result else "Restore the complete file"
    return "\n".join([head + ":", *lines, f"{hint}{fix}, or load with allow_shrink to accept the smaller set."])


def _lost_matches(connection: sa.Connection, rows: PartitionRows,
                  source: str) -> list[tuple[str, str, dt.date]]:
    """The completed matches held from `source` that the new rows do not have from it, by date. A pairing
    is matched to the held match nearest in date, so a corrected date is not counted as a loss."""
    matches = schema.matches
    held = connection.execute(
        sa.select(matches.c.home_team_id, matches.c.away_team_id, matches.c.match_date, matches.c.sources)
        .where(matches.c.competition_id == rows.competition_id, matches.c.season == rows.season,
               matches.c.status == "completed")
    ).all()
    new = _pairings(rows, source, completed=True)
    lost = []
    by_pairing: dict[tuple[str, str], list[dt.date]] = {}
    for home, away, day, sources in held:
        if source in sources.split(","):
            by_pairing.setdefault((home, away), []).append(_as_date(day))
    for pairing, days in by_pairing.items():
        remaining = sorted(days)
        for day in new.get(pairing, []):
            if remaining:
                remaining.remove(min(remaining, key=lambda held_day, d=day: abs((held_day - d).days)))
        lost.extend((*pairing, day) for day in remaining)
    return sorted(lost, key=lambda m: (m[2], m[0], m[1]))


def _pairings(rows: PartitionRows, source: str, completed: bool) -> dict[tuple[str, str], list[dt.date]]:
    """(home, away) -> dates of the new rows' matches from `source`, completed or not."""
    frame = rows.matches
    out: dict[tuple[str, str], list[dt.date]] = {}
    for home, away, day, status, listed in zip(frame["home_team_id"], frame["away_team_id"], frame["match_date"],
                                               frame["status"], frame["sources"], strict=True):
        if (status == "completed") == completed and source in str(listed).split(","):
            out.setdefault((home, away), []).append(_as_date(day))
    return out


def _as_date(value) -> dt.date:
    return pd.Timestamp(value).date()


def _team_names(connection: sa.Connection, rows: PartitionRows,
                team_ids: set[str]) -> dict[str, tuple[str, ...]]:
    """team_id -> its spellings: its name first, then every source's aliases, then the id itself."""
    if not team_ids:
        return {}
    names: dict[str, list[str]] = {t: [] for t in team_ids}
    teams, aliases = schema.teams, schema.team_aliases
    for team_id, name in connection.execute(sa.select(teams.c.team_id, teams.c.name).where(
            teams.c.team_id.in_(team_ids))):
        names[team_id].append(name)
    for team_id, alias in connection.execute(sa.select(aliases.c.team_id, aliases.c.alias).where(
            aliases.c.team_id.in_(team_ids))):
        names[team_id].append(alias)
    for row in rows.reference.get("team_aliases", []):  # spellings this load adds
        if row["team_id"] in names:
            names[row["team_id"]].append(row["alias"])
    return {t: tuple(dict.fromkeys([*spellings, t])) for t, spellings in names.items()}


def _shown_name(names: dict[str, tuple[str, ...]], team_id: str) -> str:
    return names.get(team_id, (team_id,))[0]


def _rejection_for(rejections: list[tuple[Rejection, list[str]]], home: Iterable[str], away: Iterable[str],
                   day: dt.date) -> Rejection | None:
    """The rejected row (with its cells) for home v away, home named before away, preferring one that
    carries the date."""
    home_keys, away_keys = {_key(n) for n in home}, {_key(n) for n in away}
    found = []
    for rejection, cells in rejections:
        at_home = next((i for i, c in enumerate(cells) if c in home_keys), None)
        if at_home is not None and any(c in away_keys for c in cells[at_home + 1:]):
            found.append(rejection)
    if not found:
        return None
    spelled = {day.strftime("%d/%m/%Y"), day.strftime("%d/%m/%y"), day.isoformat()}
    return next((r for r in found if any(s in (r.raw_row or "") for s in spelled)), found[0])


def _row_teams(raw: str) -> list[str]:
    """A raw row's cells, normalised: an Understat record's home and away titles, else the row split on
    the separators of the sources' rows (football-data CSV, FBref's `|`-joined cells)."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if isinstance(record, dict):
            sides = [record.get(key) for key in ("h", "a")]
            return [_key(str(s.get("title"))) if isinstance(s, dict) and s.get("title") else "" for s in sides]
    return [_key(cell) for cell in re.split(r"[,|;\t]", text)]


def _key(spelling: str) -> str:
    return normalise(spelling.strip().strip('"')).casefold()


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@contextlib.contextmanager
def _keep_files_if_refused(engine: sa.Engine, rows: PartitionRows, files: list[FileRecord]) -> Iterator[None]:
    """Around a load's transaction: when the load is refused (after its rollback), keep the files it was
    given as `record_unloaded` keeps blocked ones, in a transaction of their own, with the refusal as their
    message. A file the warehouse already holds as loaded, unchanged, stays recorded as loaded."""
    try:
        yield
    except LoadRefused as refused:
        try:
            _record_refused(engine, rows, files, str(refused))
        except Exception as error:  # noqa: BLE001 - the refusal is the news; say the record failed too
            first = (str(error).splitlines() or [type(error).__name__])[0]
            refused.add_note(f"(the refused files could not be recorded: {first})")
        raise


def _record_refused(engine: sa.Engine, rows: PartitionRows, files: list[FileRecord], reason: str) -> None:
    table = schema.source_files
    with engine.begin() as connection:
        loaded = dict(connection.execute(sa.select(table.c.source, table.c.fingerprint).where(
            table.c.competition_id == rows.competition_id, table.c.season == rows.season,
            table.c.status == "loaded")).all())
        for record in files:
            if record.status == "loaded" and loaded.get(record.source) == record.fingerprint:
                continue
            kept = dataclasses.replace(record, status="blocked", message=f"load refused: {reason}")
            _record_file(connection, rows.competition_id, rows.season, kept, rows.conflicts.get(record.source, []))


def _record_file(
    connection: sa.Connection, competition_id: str, season: str, record: FileRecord, extra: list[Rejection]
) -> int:
    raw = schema.raw_files
    exists = connection.execute(sa.select(raw.c.sha256).where(raw.c.sha256 == record.sha256)).first()
    if exists is None:
        connection.execute(raw.insert().values(sha256=record.sha256, size_bytes=len(record.content),
                                               content=record.content))
    quarantine = schema.quarantine
    connection.execute(quarantine.delete().where(
        quarantine.c.source == record.source, quarantine.c.competition_id == competition_id,
        quarantine.c.season == season,
    ))
    rejections = [*record.rejections, *extra]
    if rejections:
        connection.execute(quarantine.insert(), [
            {"source": record.source, "competition_id": competition_id, "season": season,
             "source_file": record.path, "source_sha256": record.sha256, "source_row": r.source_row,
             "check_name": r.check_name, "reason": r.reason, "raw_row": r.raw_row}
            for r in rejections
        ])
    _upsert_source_file(connection, competition_id, season, record, len(rejections))
    return len(rejections)


def _upsert_source_file(
    connection: sa.Connection, competition_id: str, season: str, record: FileRecord, quarantined: int
) -> None:
    table = schema.source_files
    key = (table.c.source == record.source) & (table.c.competition_id == competition_id) & (table.c.season == season)
    current = connection.execute(sa.select(table).where(key)).mappings().first()
    values = {
        "path": record.path, "sha256": record.sha256, "status": record.status, "message": record.message,
        "rows_quarantined": quarantined, "checked_at": now(),
    }
    if record.status == "loaded":
        values.update(fingerprint=record.fingerprint, rows_loaded=record.rows_loaded)
    if current is None:
        values.setdefault("fingerprint", "")
        values.setdefault("rows_loaded", 0)
        connection.execute(table.insert().values(source=record.source, competition_id=competition_id,
                                                 season=season, **values))
    else:
        connection.execute(table.update().where(key).values(**values))


# -- bulk inserts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CopyText:
    """A frame rendered for PostgreSQL's COPY, so that parser processes can do it off the loader."""

    columns: tuple[str, ...]
    text: str
    rows: int


def copy_text(table: sa.Table, frame: pd.DataFrame) -> CopyText:
    columns = [c.name for c in table.columns if c.name in frame.columns]
    buffer = io.StringIO()
    _as_text(table, frame[columns], "%Y-%m-%d %H:%M:%S+00").to_csv(
        buffer, header=False, index=False, na_rep="", lineterminator="\n")
    return CopyText(tuple(columns), buffer.getvalue(), len(frame))


def bulk_insert(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame | CopyText) -> int:
    """Insert `frame` (columns named as the table's) in the connection's transaction; returns the count.

    PostgreSQL gets COPY; SQLite a positional executemany of bound parameters.
    """
    if isinstance(frame, CopyText) or connection.dialect.name == "postgresql":
        prepared = frame if isinstance(frame, CopyText) else copy_text(table, frame)
        if prepared.rows:
            _copy(connection, table, prepared)
        return prepared.rows
    if frame.empty:
        return 0
    columns = [c.name for c in table.columns if c.name in frame.columns]
    if connection.dialect.name == "sqlite":
        _sqlite_executemany(connection, table, _as_text(table, frame[columns], "%Y-%m-%d %H:%M:%S.%f"))
    else:
        raise ValueError(f"unsupported warehouse backend {connection.dialect.name!r}: use SQLite or PostgreSQL")
    return len(frame)


def _as_text(table: sa.Table, frame: pd.DataFrame, datetime_format: str) -> pd.DataFrame:
    """Dates and UTC timestamps as the text the backend reads (for SQLite: what SQLAlchemy's SQLite
    types read back); booleans as 0/1; everything else unchanged."""
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        column, values = table.c[name], frame[name]
        if isinstance(column.type, sa.Date):
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        elif isinstance(column.type, sa.DateTime):
            values = pd.to_datetime(values, utc=True).dt.strftime(datetime_format)
        elif isinstance(column.type, sa.Boolean):
            values = values.astype("boolean").astype("Int64")
        elif isinstance(column.type, sa.Integer):
            values = pd.to_numeric(values).astype("Int64")  # 22, not 22.0, whatever pandas made of it
        out[name] = values
    return out


def _sqlite_executemany(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Positional executemany, skipping SQLAlchemy's per-row parameter processing (the bulk of the cost)."""
    preparer = connection.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c) for c in frame.columns)
    placeholders = ", ".join("?" for _ in frame.columns)
    statement = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({placeholders})"
    columns = [_python_values(frame[name]) for name in frame.columns]
    connection.exec_driver_sql(statement, list(zip(*columns, strict=True)))


def _python_values(values: pd.Series) -> list:
    """Plain Python objects, missing values as None (DB-API drivers know nothing of numpy or pd.NA)."""
    as_object = values.astype(object)
    missing = pd.isna(as_object).to_numpy()
    out = as_object.tolist()
    for position in np.nonzero(missing)[0]:
        out[position] = None
    return [v.item() if isinstance(v, np.generic) else v for v in out]


def _copy(connection: sa.Connection, table: sa.Table, prepared: CopyText) -> None:
    """COPY ... FROM STDIN in the connection's transaction (CSV: an empty field is NULL)."""
    preparer = connection.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c) for c in prepared.columns)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN WITH (FORMAT csv)",
                           io.StringIO(prepared.text))
    finally:
        cursor.close()
