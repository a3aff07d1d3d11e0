"""Schema on the three backends: migrations, the sql/ files, hypertables, aggregates, roles."""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from football_pipeline.warehouse import ddl, engine, migrate, schema

VIEWS = {"team_stats_monthly", "team_season_stats", "latest_predictions"}


def _schema_diff(connection: sa.Connection) -> list:
    def include(obj, name, kind, reflected, compare_to):
        # TimescaleDB adds its own time index to hypertables; views are not in the metadata.
        if kind == "index" and reflected and compare_to is None and name and name.endswith("_kickoff_at_idx"):
            return False
        return not (kind == "table" and name in VIEWS | {"alembic_version"})

    context = MigrationContext.configure(connection, opts={"include_object": include, "compare_type": False})
    return compare_metadata(context, schema.metadata)


def test_upgrade_builds_the_whole_schema_and_is_idempotent(warehouse):
    assert migrate.upgrade(warehouse) == migrate.head()
    assert migrate.upgrade(warehouse) == migrate.head()
    with warehouse.connect() as connection:
        inspector = sa.inspect(connection)
        assert set(schema.metadata.tables) <= set(inspector.get_table_names())
        views = set(inspector.get_view_names())
        if connection.dialect.name == "postgresql":
            views |= set(inspector.get_materialized_view_names())
        assert VIEWS <= views
        assert _schema_diff(connection) == []


def test_tables_ddl_file_is_generated_from_the_schema():
    assert ddl.read(ddl.TABLES_FILE) == ddl.postgres_tables_sql(), (
        "sql/002_tables.sql is stale: run `football-pipeline schema-sql --write` and add a migration"
    )


def test_sql_files_stamp_the_alembic_head():
    stamp = ddl.read("099_alembic_version.sql")
    assert re.search(rf"SELECT '{migrate.head()}' WHERE NOT EXISTS", stamp)


def test_sql_files_are_idempotent_and_alembic_takes_over_keeping_data(postgres_url):
    """docker-compose initialises a database from sql/ (twice must be harmless); `migrate` then
    finds it at head and keeps its rows."""
    warehouse = engine.create_engine(postgres_url)
    files = sorted(p.name for p in ddl.sql_dir().glob("*.sql"))
    for _ in range(2):
        with warehouse.begin() as connection:
            for name in files:
                ddl.execute_file(connection, name)
    with warehouse.begin() as connection:
        connection.execute(schema.teams.insert().values(team_id="arsenal", name="Arsenal", country="ENG"))
        assert migrate.current(connection) == migrate.head()
    migrate.upgrade(warehouse)
    with warehouse.connect() as connection:
        assert connection.execute(sa.select(schema.teams.c.name)).scalars().all() == ["Arsenal"]
        assert _schema_diff(connection) == []
    warehouse.dispose()


def test_timescaledb_hypertables_and_aggregate_kind(timescale_url):
    warehouse = engine.create_engine(timescale_url)
    migrate.upgrade(warehouse)
    with warehouse.connect() as connection:
        backend = engine.detect(connection)
        hypertables = set(connection.execute(sa.text(
            "SELECT hypertable_name FROM timescaledb_information.hypertables")).scalars())
        dimension = connection.execute(sa.text(
            "SELECT column_name FROM timescaledb_information.dimensions WHERE hypertable_name = 'matches'"
        )).scalar_one()
        caggs = set(connection.execute(sa.text(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates")).scalars())
        matviews = set(connection.execute(sa.text("SELECT matviewname FROM pg_matviews")).scalars())
    assert backend.name == engine.TIMESCALEDB
    assert {"matches", "team_match_stats"} <= hypertables
    assert dimension == "kickoff_at"
    if backend.continuous_aggregates:
        assert "team_stats_monthly" in caggs
    else:  # the Apache-licensed build refuses continuous aggregates: a materialized view instead
        assert backend.timescaledb_license == "apache"
        assert "team_stats_monthly" in matviews and "team_stats_monthly" not in caggs
    assert migrate.refresh_aggregates(warehouse) in {"materialized view", "continuous aggregate"}
    warehouse.dispose()


def test_continuous_aggregate_sql_is_valid_for_timescale():
    """The licensed path cannot run here (Apache build); its SQL must still respect what TimescaleDB
    allows in a continuous aggregate: one hypertable, no UNION, no sub-query, no join."""
    text = ddl.read("004_aggregates.sql")
    body = re.search(r"\$sql\$(.*?)\$sql\$", text, re.DOTALL).group(1).upper()
    assert "UNION" not in body and "JOIN" not in body and body.count("SELECT") == 1
    assert "FROM TEAM_MATCH_STATS" in body
    assert "TIMESCALEDB.CONTINUOUS" in text.upper() and "ADD_CONTINUOUS_AGGREGATE_POLICY" in text.upper()


def test_statement_splitter_keeps_dollar_quoted_blocks_whole():
    statements = ddl.statements(ddl.read("004_aggregates.sql"))
    assert len(statements) == 2
    assert statements[0].lstrip().startswith("DO $$") and statements[0].rstrip().endswith("$$;")


def test_database_from_before_0002_upgrades_keeping_its_rows(warehouse):
    """A warehouse created at 0001 (no lineups, no shots, no possession column) upgrades in place."""
    migrate.upgrade(warehouse, "0001")
    with warehouse.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP TABLE lineups, shots")
            connection.exec_driver_sql("DROP MATERIALIZED VIEW IF EXISTS team_stats_monthly CASCADE")
            connection.exec_driver_sql("ALTER TABLE team_match_stats DROP COLUMN possession")
            ddl.execute_file(connection, "004_aggregates.sql")
        else:
            connection.exec_driver_sql("DROP TABLE lineups")
            connection.exec_driver_sql("DROP TABLE shots")
            connection.exec_driver_sql("DROP VIEW team_season_stats")
            connection.exec_driver_sql("DROP VIEW team_stats_monthly")
            connection.exec_driver_sql("ALTER TABLE team_match_stats DROP COLUMN possession")
            from football_pipeline.warehouse import sqlite_views

            sqlite_views.create(connection)
        connection.execute(schema.teams.insert(), [{"team_id": t, "name": t.title(), "country": "ENG"}
                                                   for t in ("arsenal", "chelsea")])
        connection.exec_driver_sql(
            "INSERT INTO team_match_stats (match_id, team_id, kickoff_at, opponent_id, competition_id, season, "
            "is_home, goals_for, goals_against, points) VALUES ('E0:2022-2023:arsenal:chelsea', 'arsenal', "
            "'2023-05-02 19:45:00+00:00', 'chelsea', 'E0', '2022-2023', TRUE, 3, 1, 3)"
        )
    with warehouse.connect() as connection:
        assert "possession" not in {c["name"] for c in sa.inspect(connection).get_columns("team_match_stats")}
        assert migrate.current(connection) == "0001"
    assert migrate.upgrade(warehouse) == migrate.head()
    with warehouse.connect() as connection:
        inspector = sa.inspect(connection)
        assert {"lineups", "shots"} <= set(inspector.get_table_names())
        assert "possession" in {c["name"] for c in inspector.get_columns("team_match_stats")}
        kept = connection.execute(sa.text("SELECT team_id, goals_for, possession FROM team_match_stats")).all()
        assert [tuple(r) for r in kept] == [("arsenal", 3, None)]
        assert _schema_diff(connection) == []
