"""Engines for the three backends, and what the connected server can do."""

from __future__ import annotations

import os
import re
import tempfile
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


def unusable(url: str, timeout: int = 10) -> str | None:
    """Why the warehouse at `url` cannot be used, in one line naming it with its password hidden (None: it
    can). Checked once before a run or a load, instead of a traceback per partition: a server must answer
    (within `timeout` seconds), a SQLite file's folder must be creatable and writable (WAL mode writes
    beside the file) and the file openable; a missing SQLite file is created, as the load would."""
    problem = url_problem(url)
    if problem:
        return f"warehouse {problem}"
    shown, parsed = redacted(url), make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None
        path = Path(parsed.database).expanduser()
        problem = _sqlite_folder_problem(path.parent)
        if problem:
            return f"warehouse {shown}: cannot create the SQLite file {path}: {problem}"
        engine = create_engine(url)
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        engine = sa.create_engine(parsed.set(drivername="postgresql+psycopg2"),
                                  connect_args={"connect_timeout": timeout})
    else:
        try:
            engine = sa.create_engine(parsed)
        except (sa.exc.SQLAlchemyError, ImportError) as error:  # no such dialect or driver
            return f"warehouse {shown}: {str(error).splitlines()[0]}"
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        if parsed.get_backend_name() == "sqlite":
            return f"warehouse {shown}: cannot open the SQLite file {parsed.database}: {reason}"
        return f"warehouse {shown} is not reachable: {reason}"
    finally:
        engine.dispose()
    return None


def _sqlite_folder_problem(folder: Path) -> str | None:
    """Why a SQLite file cannot be created in `folder` (None: it can)."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe, name = tempfile.mkstemp(dir=folder, prefix=".warehouse-check-")
        os.close(probe)
        os.unlink(name)
    except OSError as error:
        return f"its folder {folder} is not writable ({error.strerror or error})"
    return None


def url_problem(url: str) -> str | None:
    """Why `url` is not a database URL, naming it with any password hidden (None: it is one)."""
    try:
        make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        shown = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
        return (f"URL {shown!r} is not a database URL (e.g. sqlite:///path/warehouse.sqlite or "
                "postgresql://user:password@host:5432/database)")
    return None


def redacted(url: str) -> str:
    """The URL with its password hidden, for logs and summaries."""
    return make_url(url).render_as_string(hide_password=True)
