"""Schedule ticks (dg.build_schedule_context): cron strings in UTC, the daily full sync's run per
partition with data, the hourly refresh only in live mode, the weekly retrain."""

import datetime as dt

import dagster as dg
import pytest

from football_pipeline.automation import schedules
from football_pipeline.automation.sensors import FULL_SYNC_TAG
from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.resources import SourceFilesResource
from football_pipeline_tests.conftest import copy_bundled

UTC = dt.UTC
WHEN = dt.datetime(2025, 10, 14, 2, 0, tzinfo=UTC)  # a Tuesday, in the 2025-26 season


def evaluate(schedule, when=WHEN, **resources):
    with dg.build_schedule_context(scheduled_execution_time=when, resources=resources or None) as context:
        return schedule(context)


def as_list(result):
    return result if isinstance(result, list) else [result]


def test_schedules_are_registered_in_utc_with_their_crons_and_jobs():
    from football_pipeline.definitions import defs

    by_name = {s.name: s for s in defs.schedules}
    expected = {"daily_reference_sync": ("45 1 * * *", "reference_job"),
                "daily_full_sync": ("0 2 * * *", "partitions_job"),
                "hourly_live_refresh": ("5 * * * *", "partitions_job"),
                "weekly_retrain": ("0 3 * * 1", "models_job")}
    assert set(by_name) == set(expected)
    for name, (cron, job) in expected.items():
        assert (by_name[name].cron_schedule, by_name[name].job_name) == (cron, job), name
        assert by_name[name].execution_timezone == "UTC"


def test_daily_full_sync_requests_every_partition_with_data(tmp_path):
    copy_bundled(tmp_path, "football-data/E0/2122.csv", "football-data/E0/2223.csv", "understat/EPL/2022.json",
                 "football-data/SP1/2223.csv")
    requests = as_list(evaluate(schedules.daily_full_sync, sources=SourceFilesResource(data_dir=str(tmp_path))))
    assert [r.partition_key for r in requests] == ["E0|2021-2022", "E0|2022-2023", "SP1|2022-2023"]
    assert [r.run_key for r in requests] == [f"2025-10-14|{r.partition_key}" for r in requests]
    assert all(r.tags[FULL_SYNC_TAG] == "2025-10-14" for r in requests)
    # The same tick evaluated again asks for the same runs (Dagster launches each run key once).
    again = as_list(evaluate(schedules.daily_full_sync, sources=SourceFilesResource(data_dir=str(tmp_path))))
    assert [r.run_key for r in again] == [r.run_key for r in requests]


def test_daily_full_sync_on_the_bundled_data_covers_every_bundled_partition():
    requests = as_list(evaluate(schedules.daily_full_sync, sources=SourceFilesResource()))
    keys = {r.partition_key for r in requests}
    assert len(keys) == len(requests) >= 80
    assert {"E0|2022-2023", "SP1|2022-2023"} <= keys


def test_daily_full_sync_skips_an_empty_directory(tmp_path):
    result = evaluate(schedules.daily_full_sync, sources=SourceFilesResource(data_dir=str(tmp_path)))
    assert isinstance(result, dg.SkipReason) and "no source files" in result.skip_message


def test_reference_sync_runs_before_the_full_sync():
    request = evaluate(schedules.daily_reference_sync, when=WHEN.replace(hour=1, minute=45))
    assert request.run_key == "reference:2025-10-14"


@pytest.mark.parametrize("mode", ["bundled", "replay"])
def test_hourly_refresh_skips_unless_live(mode):
    result = evaluate(schedules.hourly_live_refresh, sources=SourceFilesResource(mode=mode))
    assert isinstance(result, dg.SkipReason)
    assert f"source mode is {mode!r}" in result.skip_message and "live" in result.skip_message


def test_hourly_refresh_in_live_mode_requests_the_current_season(monkeypatch):
    monkeypatch.setenv("FOOTBALL_SOURCE_MODE", "live")
    when = WHEN.replace(hour=14, minute=5)
    requests = as_list(evaluate(schedules.hourly_live_refresh, when=when, sources=SourceFilesResource()))
    assert sorted(r.partition_key for r in requests) == sorted(f"{c.competition_id}|2025-2026" for c in COMPETITIONS)
    assert all(r.run_key == f"2025-10-14T14|{r.partition_key}" for r in requests)


def test_weekly_retrain_on_monday():
    monday = dt.datetime(2025, 10, 13, 3, 0, tzinfo=UTC)
    request = evaluate(schedules.weekly_retrain, when=monday)
    assert request.run_key == "retrain:2025-10-13"
    assert schedules.weekly_retrain.job_name == "models_job"
