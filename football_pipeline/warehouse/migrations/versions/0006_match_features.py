"""Models: `match_features`, the point-in-time features of every match, stored incrementally by date
(`football_pipeline.modelling.feature_store`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Additive and idempotent: PostgreSQL re-runs the table DDL (creating the missing table and its index) and
`005_roles.sql` (the reader may read it); SQLite creates the table if missing.
"""

from alembic import op

from football_pipeline.warehouse import ddl, schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

POSTGRES_FILES = (ddl.TABLES_FILE, "005_roles.sql")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in POSTGRES_FILES:
            ddl.execute_file(connection, name)
    else:
        schema.match_features.create(connection, checkfirst=True)
