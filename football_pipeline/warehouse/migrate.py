"""Bring a warehouse to the current schema (Alembic), keeping its data; refresh aggregates."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from football_pipeline.warehouse import engine as engines

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# PostgreSQL advisory lock key (bigint) that serialises upgrades of one database: two first loads at
# once would otherwise race in the DDL (UniqueViolation on pg_type_typname_nsp_index). Advisory locks
# are per database, so upgrades of different databases on one server do not wait for each other.
MIGRATION_LOCK_NAME = "football_pipeline.warehouse.migrate"
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(MIGRATION_LOCK_NAME.encode()).digest()[:8], "big",
                                    signed=True)


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> str | None:
    """Apply pending migrations; returns the revision the warehouse is at.

    Concurrent upgrades of one warehouse are serialised (a PostgreSQL advisory lock held on the
    migrating connection; for SQLite, a file lock next to the database): the second waits, then finds
    the schema current."""
    with _sqlite_file_lock(engine), engine.connect() as connection:
        with _advisory_lock(connection):
            command.upgrade(_config(connection), revision)
            connection.commit()
            return current(connection)


@contextlib.contextmanager
def _advisory_lock(connection: sa.Connection) -> Iterator[None]:
    """Hold the migration lock on `connection` (session level, so it outlives Alembic's per-migration
    transactions) until the block ends; a no-op outside PostgreSQL."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()  # Alembic starts from a connection outside any transaction, as without the lock
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()  # a failed migration leaves its transaction aborted
        if not connection.invalidated and not connection.closed:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


@contextlib.contextmanager
def _sqlite_file_lock(engine: sa.Engine) -> Iterator[None]:
    """For a SQLite file, an exclusive lock on `<database>.migrate.lock` for the whole upgrade: Alembic
    commits each migration on its own, and another process could otherwise slip in between and apply
    the same migration again. Nothing for other backends, in-memory databases, or without fcntl."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    try:
        import fcntl
    except ImportError:  # not POSIX: SQLite's own locking is all there is
        fcntl = None
    if not database or database == ":memory:" or database.startswith("file:") or fcntl is None:
        yield
        return
    path = Path(database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".migrate.lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def refresh_aggregates(engine: sa.Engine) -> str:
    """Bring team_stats_monthly up to date after a load; returns what kind of object it is."""
    if engine.dialect.name != "postgresql":
        return "view"
    with engine.connect() as connection:
        backend = engines.detect(connection)
        populated = connection.execute(
            sa.text("SELECT ispopulated FROM pg_matviews WHERE matviewname = 'team_stats_monthly'"
                    " AND schemaname = current_schema()")
        ).scalar()
    if populated is None:
        if backend.continuous_aggregates:
            # refresh_continuous_aggregate cannot run inside a transaction block.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("CALL refresh_continuous_aggregate('team_stats_monthly', NULL, NULL)")
            return "continuous aggregate"
        return "missing"
    concurrently = " CONCURRENTLY" if populated else ""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"REFRESH MATERIALIZED VIEW{concurrently} team_stats_monthly")
    return "materialized view"
