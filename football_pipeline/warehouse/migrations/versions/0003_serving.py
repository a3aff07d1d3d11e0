"""Serving: the `latest_predictions` view and an index for the next-matchday query.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Additive and idempotent, as every migration here: PostgreSQL re-runs the table DDL (which creates the
missing index `ix_predictions_competition_id_kickoff_at_match_id`), then `007_serving.sql` (the view and the
reader's grant on it); SQLite creates the index if missing and the same view.
"""

from alembic import op

from football_pipeline.warehouse import ddl, schema, sqlite_views

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

POSTGRES_FILES = (ddl.TABLES_FILE, "007_serving.sql")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in POSTGRES_FILES:
            ddl.execute_file(connection, name)
    else:
        for index in schema.predictions.indexes:
            index.create(connection, checkfirst=True)
        sqlite_views.create_serving(connection)
