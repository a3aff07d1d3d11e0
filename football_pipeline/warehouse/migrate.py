"""Bring a warehouse to the current schema (Alembic), keeping its data; refresh aggregates."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from football_pipeline.warehouse import engine as engines

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> str | None:
    """Apply pending migrations; returns the revision the warehouse is at."""
    with engine.connect() as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()
        return current(connection)


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
