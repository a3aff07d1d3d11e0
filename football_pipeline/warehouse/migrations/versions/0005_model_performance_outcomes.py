"""model_performance: accuracy per outcome (home win, draw, away win) and the model's RPS minus the
closing market's on the same matches, with its standard error.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Additive and idempotent: PostgreSQL adds the columns (`008_model_performance_columns.sql`) and re-runs
the table DDL (their comments) and the reader's grants; SQLite adds missing columns from the schema.
"""

from alembic import op

from football_pipeline.warehouse import ddl, sqlite_upgrade

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

POSTGRES_FILES = ("008_model_performance_columns.sql", ddl.TABLES_FILE, "005_roles.sql")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for name in POSTGRES_FILES:
            ddl.execute_file(connection, name)
    else:
        sqlite_upgrade.add_missing(connection, op)
