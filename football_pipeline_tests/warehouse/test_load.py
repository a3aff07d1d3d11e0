"""Partition loads on every backend: real rows, idempotence, atomicity, and the loss guards."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from football_pipeline import pipeline
from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import files
from football_pipeline.warehouse import load, migrate, reference, schema
from football_pipeline_tests.conftest import TODAY, copy_bundled
from football_pipeline_tests.helpers import E0_2223, EPL_2022, real_lines, set_cell, write

SEASON = Season(2022)


def snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of the partitioned tables and the quarantine (minus load timestamps), sorted."""
    out = {}
    with engine.connect() as connection:
        for table in (*schema.PARTITIONED, schema.quarantine):
            columns = [c for c in table.columns if c.name not in ("loaded_at", "quarantined_at", "quarantine_id")]
            out[table.name] = sorted(connection.execute(sa.select(*columns)).all(), key=repr)
    return out


def read_partition(data_dir: Path, vocabulary) -> list[pipeline.SourceResult]:
    found = pipeline.partition_files(data_dir, "E0", SEASON)
    return [pipeline.read_source(f, data_dir, vocabulary, TODAY) for f in found.values()]


@pytest.fixture
def e0(data_dir: Path) -> Path:
    copy_bundled(data_dir, E0_2223, EPL_2022)
    return data_dir


@pytest.fixture
def ready(warehouse, vocabulary) -> sa.Engine:
    migrate.upgrade(warehouse)
    reference.load_reference(warehouse, vocabulary)
    return warehouse


def test_real_partition_loads_and_reloads_identically(ready, e0, vocabulary):
    loaded, rows, problems = pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert problems == []
    assert loaded.rows["matches"] == 380 and loaded.rows["team_match_stats"] == 760 and loaded.rows["xg"] == 380
    assert loaded.rows["odds"] == len(rows.odds) > 380 * 30
    first = snapshot(ready)

    again, _, _ = pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert again.replaced["matches"] == 380
    assert snapshot(ready) == first

    migrate.refresh_aggregates(ready)
    with ready.connect() as connection:
        table = connection.execute(sa.text(
            "SELECT team_name, played, points, goals_for, goals_against FROM team_season_stats "
            "WHERE competition_id = 'E0' AND season = '2022-2023' ORDER BY points DESC LIMIT 2")).all()
        city = connection.execute(sa.select(schema.matches).where(
            schema.matches.c.match_id == "E0:2022-2023:manchester-city:arsenal")).mappings().one()
        xg = connection.execute(sa.select(schema.xg.c.home_xg, schema.xg.c.away_xg).where(
            schema.xg.c.match_id == city["match_id"])).one()
    # The real 2022-23 Premier League: City champions on 89 points, Arsenal 84.
    assert [tuple(r) for r in table] == [("Manchester City", 38, 89, 94, 33), ("Arsenal", 38, 84, 88, 43)]
    assert (city["home_goals"], city["away_goals"], city["result"]) == (4, 1, "H")
    assert city["sources"] == "football-data,understat" and 0 < city["data_quality_score"] <= 1
    assert city["match_date"] == dt.date(2023, 4, 26)
    assert xg.home_xg > xg.away_xg


def test_failure_mid_load_leaves_previous_state(ready, e0, vocabulary, monkeypatch, warehouse_url):
    pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    before = snapshot(ready)
    lines = real_lines()
    lines[1] = set_cell(lines[1], lines[0], "Referee", "A Different Referee")
    write(e0 / E0_2223, lines)
    original = load.bulk_insert

    def dies_during_odds(connection, table, frame):
        if table.name == "odds":
            original(connection, table, frame.head(1000))
            if connection.dialect.name == "postgresql":
                # The database goes away mid-load: the server kills this session.
                pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                killer = sa.create_engine(ready.url, isolation_level="AUTOCOMMIT")
                with killer.connect() as other:
                    other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
                killer.dispose()
                connection.exec_driver_sql("SELECT 1")
            raise ConnectionError("connection to the warehouse lost")
        return original(connection, table, frame)

    monkeypatch.setattr(load, "bulk_insert", dies_during_odds)
    with pytest.raises((sa.exc.OperationalError, sa.exc.DBAPIError, ConnectionError)):
        pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    monkeypatch.setattr(load, "bulk_insert", original)
    assert snapshot(ready) == before


def test_missing_source_file_does_not_wipe_its_rows(ready, e0, vocabulary):
    pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    before = snapshot(ready)
    (e0 / E0_2223).unlink()
    with pytest.raises(load.LoadRefused, match="380 matches loaded from football-data"):
        pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert snapshot(ready) == before


def test_fewer_matches_than_loaded_is_refused_unless_allowed(ready, e0, vocabulary):
    pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    before = snapshot(ready)
    write(e0 / E0_2223, real_lines()[:300])
    with pytest.raises(load.LoadRefused, match="football-data holds 299 completed matches, the warehouse 380"):
        pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert snapshot(ready) == before
    loaded, _, _ = pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary), allow_shrink=True)
    # Understat still has all 380 matches: the 81 missing from football-data stay, from Understat.
    assert loaded.rows["matches"] == 380
    with ready.connect() as connection:
        sources = dict(connection.execute(sa.text(
            "SELECT primary_source, count(*) FROM matches GROUP BY primary_source")).all())
    assert sources == {"football-data": 299, "understat": 81}


def test_blocked_file_is_kept_with_its_rejections_and_loads_nothing(ready, e0, vocabulary):
    pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    before = snapshot(ready)
    lines = real_lines()
    lines[8] = set_cell(lines[8], lines[0], "HomeTeam", "Gunners")
    write(e0 / E0_2223, lines)
    loaded, _, problems = pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    assert loaded is None and "'Gunners'" in problems[0]
    after = snapshot(ready)
    assert {k: v for k, v in after.items() if k != "quarantine"} == {
        k: v for k, v in before.items() if k != "quarantine"}
    with ready.connect() as connection:
        raw = connection.execute(sa.select(schema.raw_files.c.content).where(
            schema.raw_files.c.sha256 == files.sha256((e0 / E0_2223).read_bytes()))).scalar_one()
        quarantined = connection.execute(sa.select(schema.quarantine).where(
            schema.quarantine.c.check_name == "teams_known")).mappings().all()
        state = connection.execute(sa.select(schema.source_files).where(
            schema.source_files.c.source == "football-data")).mappings().one()
    assert raw == (e0 / E0_2223).read_bytes()
    assert [(q["source_file"], q["source_row"]) for q in quarantined] == [(E0_2223, 9)]
    assert "Gunners" in quarantined[0]["raw_row"]
    assert state["status"] == "blocked" and state["rows_loaded"] == 380


def test_unreadable_file_is_archived_and_reported(ready, e0, vocabulary):
    write(e0 / E0_2223, "<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>\n")
    results = read_partition(e0, vocabulary)
    football = next(r for r in results if r.file.source == "football-data")
    assert "HTML page" in football.error and E0_2223 in football.error
    loaded, _, problems = pipeline.load_sources(ready, "E0", SEASON.key, results)
    assert loaded is None and problems
    with ready.connect() as connection:
        (reason,) = connection.execute(sa.select(schema.quarantine.c.reason)).scalars().all()
        stored = connection.execute(sa.select(sa.func.count()).select_from(schema.raw_files)).scalar_one()
        matches = connection.execute(sa.select(sa.func.count()).select_from(schema.matches)).scalar_one()
    assert "Just a moment" in reason and stored == 1 and matches == 0


def test_no_change_rerun_is_detected(ready, e0, vocabulary):
    pipeline.load_sources(ready, "E0", SEASON.key, read_partition(e0, vocabulary))
    prints = {r.file.source: r.fingerprint for r in read_partition(e0, vocabulary)}
    assert pipeline.unchanged(ready, "E0", SEASON.key, prints)
    lines = real_lines()
    lines[1] = set_cell(lines[1], lines[0], "Referee", "A Different Referee")
    write(e0 / E0_2223, lines)
    prints = {r.file.source: r.fingerprint for r in read_partition(e0, vocabulary)}
    assert not pipeline.unchanged(ready, "E0", SEASON.key, prints)


def test_fbref_schedule_reports_and_understat_shots_load_on_every_backend(ready, data_dir, vocabulary):
    copy_bundled(data_dir, "football-data/I1/2021.csv", "fbref/I1/2020-2021/schedule.html",
                 *[f"fbref/I1/2020-2021/matches/{m}.html" for m in ("34e95e35", "a3e10e13", "e0a20cfe")])
    season = Season(2020)
    found = pipeline.partition_files(data_dir, "I1", season)
    results = [pipeline.read_source(f, data_dir, vocabulary, TODAY) for f in found.values()]
    loaded, _, problems = pipeline.load_sources(ready, "I1", season.key, results)
    assert problems == [] and loaded.rows["matches"] == 380 and loaded.rows["lineups"] > 60
    with ready.connect() as connection:
        possession = connection.execute(sa.text(
            "SELECT team_id, possession FROM team_match_stats WHERE match_id = 'I1:2020-2021:parma:napoli' "
            "ORDER BY team_id")).all()
        starters = connection.execute(sa.text(
            "SELECT count(*) FROM lineups WHERE match_id = 'I1:2020-2021:parma:napoli' AND starter")).scalar_one()
        kickoff = connection.execute(sa.select(schema.matches.c.kickoff_at, schema.matches.c.kickoff_time_known).where(
            schema.matches.c.match_id == "I1:2020-2021:parma:napoli")).one()
    assert [tuple(r) for r in possession] == [("napoli", 61), ("parma", 39)]
    assert starters == 22 and kickoff.kickoff_time_known

    copy_bundled(data_dir, "understat/EPL/2015.json", "football-data/E0/1516.csv",
                 *[f"understat/EPL/2015/matches/{m}.json" for m in range(81, 91)])
    season = Season(2015)
    found = pipeline.partition_files(data_dir, "E0", season)
    results = [pipeline.read_source(f, data_dir, vocabulary, TODAY) for f in found.values()]
    loaded, _, problems = pipeline.load_sources(ready, "E0", season.key, results)
    assert problems == [] and loaded.rows["shots"] > 200
    with ready.connect() as connection:
        goals = connection.execute(sa.text(
            "SELECT team_id, count(*) FROM shots WHERE match_id = 'E0:2015-2016:arsenal:west-ham-united' "
            "AND result = 'Goal' GROUP BY team_id")).all()
    assert [tuple(r) for r in goals] == [("west-ham-united", 2)]  # Arsenal 0-2 West Ham, 9 August 2015
