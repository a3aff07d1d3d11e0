"""The read-only role on PostgreSQL: a consumer logging in with football_reader reads predictions and
the football tables, through the example queries too, and nothing else; writes nothing; creates nothing.

Both ways a database gets its schema are checked: the `sql/` files (docker-compose's initialisation)
and the Alembic migrations (`football-pipeline migrate`).
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from football_pipeline.serving import queries
from football_pipeline.warehouse import ddl, migrate, schema
from football_pipeline.warehouse import engine as engines
from football_pipeline_tests.serving import data

pytestmark = pytest.mark.postgres

READABLE = {
    "competitions", "teams", "team_aliases", "team_resolutions", "matches", "team_match_stats", "odds", "xg",
    "elo_ratings", "lineups", "shots", "predictions", "publish_log", "model_performance", "match_features",
    "team_stats_monthly", "team_season_stats", "latest_predictions",
}
PRIVATE = {"quarantine", "raw_files", "source_files", "alembic_version"}


def _build(url: str, path: str) -> None:
    owner = engines.create_engine(url)
    if path == "sql files":
        with owner.begin() as connection:
            for name in sorted(p.name for p in ddl.sql_dir().glob("*.sql")):
                ddl.execute_file(connection, name)
    else:
        migrate.upgrade(owner)
    with owner.begin() as connection:
        data.populate(connection)
        connection.execute(schema.raw_files.insert().values(sha256="a" * 64, size_bytes=3, content=b"x,y"))
        connection.execute(schema.source_files.insert().values(
            source="football-data", competition_id="E0", season="2024-2025", path="E0/2425.csv",
            sha256="a" * 64, fingerprint="f" * 64, status="loaded", rows_loaded=1, rows_quarantined=1,
            checked_at=data.AS_OF))
        connection.execute(schema.quarantine.insert().values(
            source="football-data", competition_id="E0", season="2024-2025", source_file="E0/2425.csv",
            source_sha256="a" * 64, source_row=2, check_name="schema", reason="bad", raw_row="x,y"))
        connection.execute(schema.matches.insert().values(
            match_id=data.match_id("E0", "arsenal", "chelsea"), kickoff_at=data.at(22, 15, month=2),
            match_date=data.at(22, 15, month=2).date(), kickoff_time_known=True, competition_id="E0",
            season="2024-2025", home_team_id="arsenal", away_team_id="chelsea", status="completed",
            home_goals=1, away_goals=0, result="H", primary_source="football-data", sources="football-data",
            data_quality_score=0.9))
    owner.dispose()


@pytest.fixture(params=["sql files", "alembic"])
def reader(request, postgres_url):
    """An engine logged in as a fresh LOGIN role that holds only football_reader."""
    _build(postgres_url, request.param)
    login = f"fp_consumer_{uuid.uuid4().hex[:10]}"
    admin = engines.create_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE ROLE "{login}" LOGIN IN ROLE football_reader')
    engine = engines.create_engine(make_url(postgres_url).set(username=login).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %(login)s",
                {"login": login})
            connection.exec_driver_sql(f'DROP OWNED BY "{login}"')
            connection.exec_driver_sql(f'DROP ROLE "{login}"')
        admin.dispose()


def _denied(connection: sa.Connection, statement: str) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
        with connection.begin_nested():
            connection.exec_driver_sql(statement)


def test_reader_reads_predictions_and_football_tables(reader):
    with reader.connect() as connection:
        assert connection.execute(sa.text("SELECT current_user")).scalar_one().startswith("fp_consumer_")
        counts = {t: connection.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one()
                  for t in ("predictions", "latest_predictions", "model_performance", "matches", "odds",
                            "teams", "competitions")}
        connection.execute(sa.text("SELECT count(*) FROM team_season_stats")).scalar_one()
    assert counts == {"predictions": len(data.predictions_rows()), "latest_predictions": 11 + 2,
                      "model_performance": 5, "matches": 1, "odds": 17, "teams": 10, "competitions": 2}
    # the consumer queries run as the reader
    rows = queries.next_matchday(reader, as_of=data.AS_OF, competition_id="E0", model_name="dixon_coles")
    assert [r["match_id"] for r in rows] == data.NEXT_MATCHDAY["E0"]
    assert len(queries.model_vs_market_by_month(reader)) == 4
    assert len(queries.team_upcoming(reader, "arsenal", as_of=data.AS_OF)) == 3


def test_reader_can_read_exactly_the_football_tables(reader):
    """Every relation in the schema: readable iff it is a football table or view."""
    with reader.connect() as connection:
        relations = dict(connection.execute(sa.text(
            "SELECT c.relname, has_table_privilege(c.oid, 'SELECT') FROM pg_class AS c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')"
        )).all())
        sequences = connection.execute(sa.text(
            "SELECT c.relname FROM pg_class AS c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind = 'S' AND (has_sequence_privilege(c.oid, 'USAGE') OR has_sequence_privilege(c.oid, 'SELECT'))"
        )).scalars().all()
    assert {name for name, readable in relations.items() if readable} == READABLE
    assert PRIVATE <= {name for name, readable in relations.items() if not readable}
    assert sequences == []


@pytest.mark.parametrize("statement", [
    "SELECT * FROM quarantine",
    "SELECT content FROM raw_files",
    "SELECT * FROM source_files",
    "INSERT INTO teams (team_id, name, country) VALUES ('x', 'X', 'ENG')",
    "INSERT INTO predictions SELECT * FROM predictions LIMIT 1",
    "UPDATE predictions SET home_win_pct = home_win_pct",
    "UPDATE matches SET home_goals = 9",
    "DELETE FROM predictions",
    "DELETE FROM model_performance",
    "TRUNCATE odds",
    "INSERT INTO model_performance (model_name, model_version, competition_id, season, period_start, "
    "period_end, n_matches) VALUES ('m', '1', 'E0', '2024-2025', '2025-01-01', '2025-01-31', 1)",
    "CREATE TABLE consumer_notes (note text)",
    "CREATE VIEW consumer_view AS SELECT 1 AS one",
    "CREATE SCHEMA consumer",
    "REFRESH MATERIALIZED VIEW team_stats_monthly",
    "DROP VIEW latest_predictions",
    "ALTER TABLE predictions ADD COLUMN note text",
    "GRANT SELECT ON quarantine TO football_reader",
])
def test_reader_writes_and_creates_nothing(reader, statement):
    with reader.connect() as connection:
        _denied(connection, statement)
        connection.rollback()
    # and nothing changed
    with reader.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM predictions")).scalar_one() == len(
            data.predictions_rows())
        assert connection.execute(sa.text("SELECT count(*) FROM teams WHERE team_id = 'x'")).scalar_one() == 0
