"""Season partitions that follow the calendar (issue 25): ticks evaluated after July 1 of a new year
register the new season in the instance and request runs for it, with the definitions imported once
(never reloaded); an unknown season in the hourly refresh is added, not dropped."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import pytest
from dagster._core.definitions.partitions.snap.snap import PartitionsSnap

from football_pipeline import partitions
from football_pipeline.automation import schedules, seasons
from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.definitions import defs
from football_pipeline.resources import SourceFilesResource
from football_pipeline.settings import BUNDLED_DATA_DIR

UTC = dt.UTC
ALL = sorted(c.competition_id for c in COMPETITIONS)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def host_keys(instance) -> set[str]:
    """The partition keys that the UI and the daemon see: the code location's snapshot of the partitions
    (a plain dynamic `season` dimension there) read against the instance."""
    remote = PartitionsSnap.from_def(partitions.PARTITIONS).get_partitions_definition()
    return {str(k) for k in remote.get_partition_keys(dynamic_partitions_store=instance)}


def tick(schedule, instance, when, **resources):
    """One tick as the daemon evaluates it: the schedule function, then Dagster's resolution of each
    run request's partition against the definitions and the instance (an unknown key raises there)."""
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=when, resources=resources,
                                   repository_def=defs.get_repository_def()) as context:
        return schedule.evaluate_tick(context)


def live(monkeypatch):
    monkeypatch.setenv("FOOTBALL_SOURCE_MODE", "live")
    return SourceFilesResource()


def test_the_season_dimension_is_dynamic_in_the_snapshot_the_ui_loads():
    remote = PartitionsSnap.from_def(partitions.PARTITIONS).get_partitions_definition()
    season = remote.get_partitions_def_for_dimension(partitions.SEASON)
    assert type(season) is dg.DynamicPartitionsDefinition and season.name == "season"
    ingestion = defs.resolve_assets_def(["ingestion", "football_data_matches"])
    assert ingestion.partitions_def is partitions.PARTITIONS


def test_ensure_partitions_registers_the_calendar_and_the_keys_once(instance):
    added = partitions.ensure_partitions(instance, ["E0|2030-2031", "2029-2030"], today=dt.date(2027, 7, 1))
    assert added[0] == "1993-1994" and added[-3:] == ["2027-2028", "2029-2030", "2030-2031"]
    assert "2028-2029" not in added  # neither in the calendar nor asked for
    assert list(instance.get_dynamic_partitions("season")) == added
    assert partitions.ensure_partitions(instance, ["E0|2030-2031"], today=dt.date(2027, 7, 1)) == []
    with pytest.raises(ValueError, match="not a season key"):
        partitions.ensure_partitions(instance, ["E0|2030-31"])


def test_after_july_1_the_hourly_tick_registers_the_new_season_and_requests_it(instance, monkeypatch):
    definitions_before = (defs, partitions.PARTITIONS)
    june = dt.datetime(2027, 6, 20, 9, 5, tzinfo=UTC)
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", june.date().isoformat())
    sources = live(monkeypatch)
    result = tick(schedules.hourly_live_refresh, instance, june, sources=sources)
    assert sorted(r.partition_key for r in result.run_requests) == [f"{c}|2026-2027" for c in ALL]
    assert "E0|2026-2027" in host_keys(instance) and "E0|2027-2028" not in host_keys(instance)

    # "Today" moves past July 1 of a new year; the definitions are the ones imported before.
    july = dt.datetime(2027, 7, 2, 14, 5, tzinfo=UTC)
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", july.date().isoformat())
    result = tick(schedules.hourly_live_refresh, instance, july, sources=sources)
    assert sorted(r.partition_key for r in result.run_requests) == [f"{c}|2027-2028" for c in ALL]
    assert all(r.run_key == f"2027-07-02T14|{r.partition_key}" for r in result.run_requests)
    assert all(r.tags["dagster/partition"] == r.partition_key for r in result.run_requests)  # resolved
    assert list(instance.get_dynamic_partitions("season"))[-1] == "2027-2028"
    assert {f"{c}|2027-2028" for c in ALL} <= host_keys(instance)
    assert (defs, partitions.PARTITIONS) == definitions_before


def test_an_unknown_season_in_the_hourly_request_set_is_added_not_dropped(instance, monkeypatch):
    # The calendar (FOOTBALL_PIPELINE_TODAY, pinned in 2026-27 by conftest) does not know 2027-28 yet:
    # the tick's own date does, and its keys are registered rather than filtered out.
    partitions.ensure_partitions(instance)
    assert not partitions.PARTITIONS.has_partition_key("E0|2027-2028")
    when = dt.datetime(2027, 8, 10, 15, 5, tzinfo=UTC)
    result = tick(schedules.hourly_live_refresh, instance, when, sources=live(monkeypatch))
    assert sorted(r.partition_key for r in result.run_requests) == [f"{c}|2027-2028" for c in ALL]
    assert "2027-2028" in instance.get_dynamic_partitions("season")
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        assert partitions.PARTITIONS.has_partition_key("E0|2027-2028")


def test_the_daily_full_sync_registers_and_requests_a_season_found_in_the_data(instance, tmp_path,
                                                                                monkeypatch):
    (tmp_path / "football-data" / "E0").mkdir(parents=True)
    shutil.copyfile(BUNDLED_DATA_DIR / "football-data/E0/2223.csv", tmp_path / "football-data/E0/2223.csv")
    shutil.copyfile(BUNDLED_DATA_DIR / "football-data/E0/2223.csv", tmp_path / "football-data/E0/2728.csv")
    sources = SourceFilesResource(data_dir=str(tmp_path))
    when = dt.datetime(2027, 7, 2, 2, 0, tzinfo=UTC)
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", when.date().isoformat())
    result = tick(schedules.daily_full_sync, instance, when, sources=sources)
    assert [r.partition_key for r in result.run_requests] == ["E0|2022-2023", "E0|2027-2028"]
    registered = list(instance.get_dynamic_partitions("season"))
    assert registered[0] == "1993-1994" and registered[-1] == "2027-2028"


def test_the_season_sensor_registers_the_new_season_on_july_1(instance, tmp_path, monkeypatch):
    sources = SourceFilesResource(data_dir=str(tmp_path))
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", "2027-06-30")

    def evaluate():
        with dg.build_sensor_context(instance=instance, resources={"sources": sources}) as context:
            return seasons.season_partitions(context)

    first = evaluate()
    [request] = first.dynamic_partitions_requests
    assert request.partitions_def_name == "season"
    assert request.partition_keys[0] == "1993-1994" and request.partition_keys[-1] == "2026-2027"
    instance.add_dynamic_partitions("season", request.partition_keys)  # what the daemon does with it
    assert isinstance(evaluate(), dg.SkipReason)

    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", "2027-07-01")
    assert evaluate().dynamic_partitions_requests[0].partition_keys == ["2027-2028"]


def test_the_season_sensor_runs_by_default():
    by_name = {sensor.name: sensor for sensor in defs.sensors}
    sensor = by_name["season_partitions"]
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == seasons.SEASONS_INTERVAL_S
