"""Engines for the three backends, and what the connected server can do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

SQLITE, POSTGRESQL, TIMESCALEDB = "sqlite", "postgresql", "timescaledb"


def create_engine(url: str) -> sa.Engine:
    """An engine for `url`; a SQLite file's folder is created, and SQLite enforces foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy 2.1 defaults plain postgresql:// to psycopg 3; this product ships psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return sa.create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is off), as SQLAlchemy's docs advise.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock up front: two loads never interleave halfway.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class Backend:
    name: str  # sqlite | postgresql | timescaledb
    timescaledb_version: str | None = None
    timescaledb_license: str | None = None  # "apache" forbids continuous aggregates and policies

    @property
    def continuous_aggregates(self) -> bool:
        return self.name == TIMESCALEDB and self.timescaledb_license not in (None, "apache")


def detect(connection: sa.Connection) -> Backend:
    """What the server behind `connection` is: TimescaleDB once the extension is installed in it."""
    if connection.dialect.name == "sqlite":
        return Backend(SQLITE)
    version = connection.execute(
        sa.text("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    ).scalar()
    if version is None:
        return Backend(POSTGRESQL)
    license_ = connection.execute(sa.text("SELECT current_setting('timescaledb.license', true)")).scalar()
    return Backend(TIMESCALEDB, version, license_)


def redacted(url: str) -> str:
    """The URL with its password hidden, for logs and summaries."""
    return make_url(url).render_as_string(hide_password=True)
