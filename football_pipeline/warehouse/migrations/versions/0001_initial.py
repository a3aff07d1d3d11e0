"""Initial warehouse: reference tables, canonical matches, odds, xG, quarantine, predictions, aggregates.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

PostgreSQL/TimescaleDB run the numbered, idempotent `sql/` files; SQLite gets the same tables from
the SQLAlchemy schema and plain views for the aggregates.
"""

from alembic import op

from football_pipeline.warehouse import ddl, schema, sqlite_views

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

POSTGRES_FILES = ("001_extensions.sql", ddl.TABLES_FILE, "003_timescale.sql", "004_aggregates.sql", "005_roles.sql")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in POSTGRES_FILES:
            ddl.execute_file(connection, name)
    else:
        schema.metadata.create_all(connection)
        sqlite_views.create(connection)
