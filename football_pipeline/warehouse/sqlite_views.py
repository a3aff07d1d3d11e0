"""SQLite versions of the aggregate views (`sql/004_aggregates.sql` serves PostgreSQL/TimescaleDB)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from football_pipeline.warehouse import ddl


def create(connection: sa.Connection) -> None:
    """Plain views with the same columns: SQLite has no materialized views and no time_bucket."""
    aggregates = ddl.read("004_aggregates.sql")
    monthly = re.search(r"\$sql\$(.*?)\$sql\$", aggregates, re.DOTALL).group(1)
    monthly = monthly.replace("%1$s", "strftime('%Y-%m-01', kickoff_at)")
    season = aggregates[aggregates.index("CREATE OR REPLACE VIEW team_season_stats"):]
    season = season.replace("CREATE OR REPLACE VIEW", "CREATE VIEW IF NOT EXISTS").rstrip().rstrip(";")
    connection.exec_driver_sql(f"CREATE VIEW IF NOT EXISTS team_stats_monthly AS {monthly}")
    connection.exec_driver_sql(season)


def create_serving(connection: sa.Connection) -> None:
    """`latest_predictions` from `sql/007_serving.sql`: the view is portable SQL; only PostgreSQL's
    CREATE OR REPLACE and the reader-role grant (SQLite has no roles) are left out."""
    view = next(s for s in ddl.statements(ddl.read("007_serving.sql")) if "VIEW latest_predictions" in s)
    view = view.replace("CREATE OR REPLACE VIEW", "CREATE VIEW IF NOT EXISTS").rstrip().rstrip(";")
    connection.exec_driver_sql(view)
