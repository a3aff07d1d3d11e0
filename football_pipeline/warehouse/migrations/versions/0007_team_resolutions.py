"""Open vocabulary: `team_resolutions`, the clubs and spellings the curated vocabulary did not know,
with what the load decided (a new club, a new spelling of a known one, or the club whose matches a
secondary source's spelling shares) and the evidence.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

Additive and idempotent: PostgreSQL re-runs the table DDL and `005_roles.sql` (the reader may read it);
SQLite creates the table if missing.
"""

from alembic import op

from football_pipeline.warehouse import ddl, schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

POSTGRES_FILES = (ddl.TABLES_FILE, "005_roles.sql")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in POSTGRES_FILES:
            ddl.execute_file(connection, name)
    else:
        schema.team_resolutions.create(connection, checkfirst=True)


def downgrade() -> None:
    schema.team_resolutions.drop(op.get_bind(), checkfirst=True)
