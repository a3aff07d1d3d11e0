"""Line-ups (FBref match reports), shots (Understat), and possession on team_match_stats.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Additive and idempotent, as every migration here: PostgreSQL re-runs the table DDL (which creates
what is missing), adds the new columns and the reader's grants; SQLite creates missing tables and adds
missing columns from the SQLAlchemy schema. A database created fresh already has all of it.
"""

from alembic import op

from football_pipeline.warehouse import ddl, sqlite_upgrade

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

POSTGRES_FILES = ("006_additive_columns.sql", ddl.TABLES_FILE, "005_roles.sql")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in POSTGRES_FILES:
            ddl.execute_file(connection, name)
    else:
        sqlite_upgrade.add_missing(connection, op)
