"""The publish sensor's ticks (dg.build_sensor_context): a request only when the champion version or the
upcoming fixtures change, a stable run key, a cursor that carries across restarts, and skip reasons
(never exceptions) when there is no champion, no fixtures, or no reachable warehouse or registry."""

import datetime as dt
import json
from types import SimpleNamespace

import dagster as dg
import pytest
import sqlalchemy as sa

from football_pipeline.automation import sensors
from football_pipeline.modelling import tracking
from football_pipeline.resources import WarehouseResource
from football_pipeline.resources.models import ModelsResource
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import migrate, schema

AS_OF = dt.date(2023, 4, 1)
UTC = dt.UTC
NAME = "sensor-test-model"


def match(home, away, day, status="scheduled", competition="E0"):
    kickoff = dt.datetime(2023, 4, day, 15, tzinfo=UTC)
    return {"match_id": f"{competition}:2022-2023:{home}:{away}", "kickoff_at": kickoff, "match_date": kickoff.date(),
            "kickoff_time_known": True, "competition_id": competition, "season": "2022-2023",
            "home_team_id": home, "away_team_id": away, "status": status, "primary_source": "football_data",
            "sources": "football_data", "data_quality_score": 1.0}


@pytest.fixture
def warehouse_url(sqlite_url):
    engine = engines.create_engine(sqlite_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(schema.competitions.insert(), [
            {"competition_id": "E0", "name": "Premier League", "country": "ENG", "tier": 1},
            {"competition_id": "SP1", "name": "La Liga", "country": "ESP", "tier": 1}])
        connection.execute(schema.teams.insert(), [
            {"team_id": t, "name": t.title(), "country": "ENG"} for t in ("arsenal", "chelsea", "everton", "fulham")])
        connection.execute(schema.matches.insert(), [
            {**match("arsenal", "chelsea", 1, status="completed"), "match_date": dt.date(2023, 3, 18),
             "kickoff_at": dt.datetime(2023, 3, 18, 15, tzinfo=UTC)},  # played before the as-of date
            match("everton", "fulham", 1, status="completed"),  # on the as-of date: an upcoming fixture
            match("chelsea", "everton", 8)])
    engine.dispose()
    return sqlite_url


@pytest.fixture
def champion(monkeypatch):
    """The registry's champion, set by the test (None: no champion)."""
    state = SimpleNamespace(version=None)

    def fake(name):
        assert name == NAME
        return None if state.version is None else SimpleNamespace(version=state.version, run_id="r")

    monkeypatch.setattr(sensors.tracking, "champion", fake)
    return state


def tick(url, cursor=None):
    with dg.build_sensor_context(cursor=cursor, resources={
            "warehouse": WarehouseResource(url=url),
            "models": ModelsResource(registered_model=NAME, as_of=AS_OF.isoformat())}) as context:
        return sensors.publish_on_new_champion_or_fixtures(context), context.cursor


def add(url, *rows):
    engine = engines.create_engine(url)
    with engine.begin() as connection:
        connection.execute(schema.matches.insert(), list(rows))
    engine.dispose()


def test_requests_publish_once_per_champion_and_fixtures(warehouse_url, champion):
    champion.version = "1"
    result, cursor = tick(warehouse_url)
    assert isinstance(result, dg.RunRequest)
    version, fingerprint = result.run_key.split(":")
    assert version == "1" and fingerprint.startswith("2-")  # two upcoming fixtures
    assert result.tags[sensors.CHAMPION_TAG] == "1" and result.tags[sensors.FIXTURES_TAG] == fingerprint
    assert json.loads(cursor)["run_key"] == result.run_key

    # A fresh context (a restarted daemon) computes the same key; with the stored cursor it skips.
    assert tick(warehouse_url)[0].run_key == result.run_key
    skipped, same = tick(warehouse_url, cursor)
    assert isinstance(skipped, dg.SkipReason) and "unchanged" in skipped.skip_message
    assert same == cursor

    # A new fixture: a new request.
    add(warehouse_url, match("fulham", "arsenal", 9))
    fixtures, cursor = tick(warehouse_url, cursor)
    assert fixtures.run_key.startswith("1:3-") and fixtures.run_key != result.run_key

    # A new champion: a new request.
    champion.version = "2"
    promoted, cursor = tick(warehouse_url, cursor)
    assert promoted.run_key == "2:" + fixtures.run_key.split(":")[1]
    assert isinstance(tick(warehouse_url, cursor)[0], dg.SkipReason)


def test_fingerprint_ignores_other_competitions_and_past_matches(warehouse_url):
    engine = engines.create_engine(warehouse_url)
    before = sensors.upcoming_fixtures(engine, "E0", AS_OF)
    with engine.begin() as connection:
        connection.execute(schema.matches.insert(), [
            {**match("arsenal", "fulham", 2, competition="SP1")},
            {**match("fulham", "chelsea", 1, status="completed"), "match_date": dt.date(2023, 3, 4),
             "kickoff_at": dt.datetime(2023, 3, 4, 15, tzinfo=UTC)}])
    assert sensors.upcoming_fixtures(engine, "E0", AS_OF) == before
    with engine.begin() as connection:  # a fixture moved: a different fingerprint, same count
        connection.execute(sa.update(schema.matches).where(schema.matches.c.match_id == "E0:2022-2023:chelsea:everton")
                           .values(kickoff_at=dt.datetime(2023, 4, 8, 17, 30, tzinfo=UTC)))
    moved = sensors.upcoming_fixtures(engine, "E0", AS_OF)
    engine.dispose()
    assert moved.count == before.count == 2 and moved.fingerprint != before.fingerprint


def test_skips_with_a_reason_without_a_champion(warehouse_url, champion):
    result, cursor = tick(warehouse_url)
    assert isinstance(result, dg.SkipReason)
    assert f"{NAME!r} has no champion yet" in result.skip_message
    assert cursor is None


def test_no_champion_in_a_real_empty_registry(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert tracking.champion(NAME) is None
    result, _ = tick(warehouse_url)
    assert isinstance(result, dg.SkipReason) and "has no champion yet" in result.skip_message


def test_unreachable_warehouse_or_registry_skips_and_keeps_the_cursor(warehouse_url, champion, monkeypatch):
    champion.version = "1"
    _, cursor = tick(warehouse_url)
    down = "postgresql://nobody@127.0.0.1:1/warehouse"
    result, kept = tick(down, cursor)
    assert isinstance(result, dg.SkipReason) and "unreachable or not ready" in result.skip_message
    assert kept == cursor
    empty = warehouse_url.replace("warehouse.sqlite", "empty.sqlite")  # no tables yet
    assert "not ready" in tick(empty, cursor)[0].skip_message

    def registry_down(name):
        raise ConnectionError("MLflow server refused the connection")

    monkeypatch.setattr(sensors.tracking, "champion", registry_down)
    result, kept = tick(warehouse_url, cursor)
    assert isinstance(result, dg.SkipReason) and "MLflow registry unreachable" in result.skip_message
    assert kept == cursor


def test_no_upcoming_fixtures_skips(sqlite_url, champion):
    champion.version = "1"
    engine = engines.create_engine(sqlite_url)
    migrate.upgrade(engine)
    engine.dispose()
    result, cursor = tick(sqlite_url)
    assert isinstance(result, dg.SkipReason) and "no upcoming E0 fixtures" in result.skip_message
    assert cursor is None


def test_sensors_are_registered_with_their_jobs():
    from football_pipeline.definitions import defs

    by_name = {sensor.name: sensor for sensor in defs.sensors}
    sensor = by_name["publish_on_new_champion_or_fixtures"]
    assert sensor.job_name == "publish_job"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert by_name["aggregates_after_full_sync"].job_name == "aggregates_job"
    job = defs.resolve_job_def("publish_job")
    assert dg.AssetKey(["serving", "predictions"]) in job.asset_layer.executable_asset_keys


def test_aggregates_wait_for_the_full_sync(monkeypatch):
    today = dt.datetime.now(UTC).date().isoformat()
    statuses = []

    class Instance:
        def get_runs(self, filters):
            assert filters.job_name == "partitions_job"
            if filters.tags[sensors.FULL_SYNC_TAG] != today:
                return []
            return [SimpleNamespace(status=s) for s in statuses]

    def run(instance):
        context = SimpleNamespace(instance=instance)
        return sensors.aggregates_after_full_sync._raw_fn(context)

    assert "no full sync" in run(Instance()).skip_message
    statuses[:] = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED]
    assert "1 of 2 partition runs unfinished" in run(Instance()).skip_message
    statuses[:] = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    [request] = run(Instance())
    assert request.run_key == f"aggregates:{today}"
