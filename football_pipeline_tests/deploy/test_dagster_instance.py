"""The deployment's dagster.yaml on a real PostgreSQL: runs, their events and asset materializations
are recorded in the database named by DAGSTER_POSTGRES_*, and the instance has the queued run
coordinator and concurrency settings the deployment relies on."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from football_pipeline.warehouse import engine as engines

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


@dg.asset
def kickoff_hours() -> list[int]:
    return [12, 15, 17, 20]


@dg.asset
def evening_kickoffs(kickoff_hours: list[int]) -> int:
    return sum(hour >= 17 for hour in kickoff_hours)


@pytest.fixture
def instance(postgres_url, tmp_path, monkeypatch):
    url = make_url(postgres_url)
    monkeypatch.setenv("DAGSTER_POSTGRES_HOST", url.host)
    monkeypatch.setenv("DAGSTER_POSTGRES_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_POSTGRES_DB", url.database)
    monkeypatch.setenv("DAGSTER_POSTGRES_USER", url.username)
    monkeypatch.setenv("DAGSTER_POSTGRES_PASSWORD", url.password or "")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")  # as the Dockerfile does
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_runs_and_events_are_recorded_in_postgresql(instance, postgres_url):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    concurrency = instance.get_concurrency_config()  # what the daemon's run queue reads
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert concurrency.pool_config.default_pool_limit == 1
    assert instance.telemetry_enabled is False

    result = dg.materialize([kickoff_hours, evening_kickoffs], instance=instance, tags={"check": "deployment"})
    assert result.success and result.output_for_node("evening_kickoffs") == 2
    run_id = result.run_id

    database = engines.create_engine(postgres_url)
    with database.connect() as connection:
        run = connection.execute(sa.text("SELECT status, pipeline_name FROM runs WHERE run_id = :id"),
                                 {"id": run_id}).one()
        events = connection.execute(sa.text(
            "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = :id "
            "AND dagster_event_type IS NOT NULL GROUP BY dagster_event_type"), {"id": run_id}).all()
        assets = set(connection.execute(sa.text("SELECT asset_key FROM asset_keys")).scalars())
        tags = dict(connection.execute(sa.text("SELECT key, value FROM run_tags WHERE run_id = :id"),
                                       {"id": run_id}).all())
    database.dispose()
    assert tuple(run) == ("SUCCESS", "__ephemeral_asset_job__")
    counts = dict(events)
    # (the event log stores a run's start and success under their historical PIPELINE_ names)
    assert counts["PIPELINE_START"] == counts["PIPELINE_SUCCESS"] == 1
    assert counts["ASSET_MATERIALIZATION"] == counts["STEP_SUCCESS"] == 2
    assert {'["kickoff_hours"]', '["evening_kickoffs"]'} <= assets
    assert tags["check"] == "deployment"

    # the instance reads back what the database holds
    recorded = instance.get_run_by_id(run_id)
    assert recorded.status == dg.DagsterRunStatus.SUCCESS
    materialization = instance.get_latest_materialization_event(dg.AssetKey("evening_kickoffs"))
    assert materialization.run_id == run_id
