"""Serving: `publish_log`, one row per publish (what, when, how long), for the publish-latency metric.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Additive and idempotent: PostgreSQL re-runs the table DDL (creating the missing table and its index) and
`005_roles.sql` (the reader may read it); SQLite creates the table if missing.
"""

from alembic import op

from football_pipeline.warehouse import ddl, schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

POSTGRES_FILES = (ddl.TABLES_FILE, "005_roles.sql")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in POSTGRES_FILES:
            ddl.execute_file(connection, name)
    else:
        schema.publish_log.create(connection, checkfirst=True)
