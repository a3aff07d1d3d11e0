"""Transactional, idempotent loads of one competition x season partition.

A load replaces the partition's rows in `matches`, `team_match_stats`, `odds` and `xg` and its
quarantine records in one transaction: re-running it leaves the same rows, and a failure part-way
(the server going away included) leaves the previous state. Two guards keep good data from being
replaced by worse: a source whose file is missing now does not wipe what was loaded from it, and a
file with fewer completed matches than the warehouse holds for the partition is refused.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

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
    with engine.begin() as connection:
        _refuse_losses(connection, rows, sources, allow_shrink)
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
        rows = reference.get(name) or []
        if not rows:
            continue
        table = schema.metadata.tables[name]
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).values(rows)
        if name == "team_resolutions":
            connection.execute(statement.on_conflict_do_nothing(index_elements=keys))
        else:
            updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
            connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))


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


def _refuse_losses(connection: sa.Connection, rows: PartitionRows, sources: set[str], allow_shrink: bool) -> None:
    """A source missing from this load would wipe what it loaded; a source with fewer completed matches
    than it loaded before would shrink the warehouse (a truncated or partial file?). Both are refused.
    Scheduled matches may come and go (a fixture moved, or dropped from the feed): not a loss."""
    label = f"{rows.competition_id} {rows.season}"
    before = _held(connection, rows.competition_id, rows.season)
    completed_before = _held(connection, rows.competition_id, rows.season, completed=True)
    now: dict[str, int] = {}
    completed = rows.matches["status"].eq("completed").to_numpy()
    for listed, done in zip(rows.matches["sources"], completed, strict=True):
        for source in listed.split(",") if done else ():
            now[source] = now.get(source, 0) + 1
    for source, total in sorted(before.items()):
        if source not in sources:
            raise LoadRefused(
                f"{label}: the warehouse holds {total} matches loaded from {source}, but no {source} file was "
                "given for this load; refusing to drop them (restore the file, or delete the partition explicitly)"
            )
        count = completed_before.get(source, 0)
        if now.get(source, 0) < count and not allow_shrink:
            raise LoadRefused(
                f"{label}: the new files would replace data with less ({source} holds {now.get(source, 0)} completed "
                f"matches, the warehouse {count}): a truncated or partial file? Refusing; load with allow_shrink "
                "to accept the smaller set."
            )


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
