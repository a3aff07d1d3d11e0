"""Season partitions that follow the calendar (issue 25).

The `season` dimension of the partitions is dynamic: the instance lists the seasons that the UI, the
daemon and backfills see. They are registered here, at evaluation time, never at import:

- `season_partitions` (a sensor, running by default, hourly): every season from 1993-94 to the one
  containing today (`FOOTBALL_PIPELINE_TODAY` pins it), plus every season with files in the data
  directory (and the scraped one in live or replay mode). On July 1 the new season appears within the
  hour, without reloading the code location;
- the schedules (`daily_full_sync`, `hourly_live_refresh`) call `register_seasons` before requesting
  their runs, so a season they ask for is added rather than dropped;
- `football-pipeline run` calls `partitions.ensure_partitions` before its partition runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from football_pipeline import partitions, pipeline, settings
from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.common.seasons import Season
from football_pipeline.resources import SourceFilesResource

SEASONS_INTERVAL_S = 3600


def data_directories(sources: SourceFilesResource) -> list[Path]:
    """The data directory, and in live or replay mode the scraped directory too (when it exists)."""
    directories = [sources.directory()]
    if sources.source_mode() in ("live", "replay"):
        scraped = Path(sources.scraped_dir) if sources.scraped_dir else settings.scraped_dir()
        if scraped.is_dir():
            directories.append(scraped)
    return directories


def partitions_with_data(sources: SourceFilesResource) -> list[str]:
    """Partition keys (`E0|2022-2023`) with at least one source file in the data directory, and in live
    or replay mode in the scraped directory too: every known competition, any season (the season is
    registered before a run is requested for it)."""
    known = {c.competition_id for c in COMPETITIONS}
    return sorted({str(partitions.partition_key(c, s)) for d in data_directories(sources)
                   for c, s in pipeline.known_partitions(d) if c in known})


def register_seasons(context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext, keys: list[str],
                     today: dt.date | None = None) -> list[str]:
    """Registers in the context's instance the calendar's seasons up to `today` (default
    `settings.today()`) and the seasons of `keys` that it does not list yet; returns them, oldest first.
    A context built without an instance (a unit test) registers nothing."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:
        return []
    added = partitions.ensure_partitions(instance, keys, today)
    if added:
        context.log.info(f"registered season partitions: {', '.join(added)}")
    return added


@dg.sensor(minimum_interval_seconds=SEASONS_INTERVAL_S, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Registers the season partitions: every season from 1993-94 to the current one (by "
                       "the calendar, so a new season appears on July 1 without reloading the code location) "
                       "and every season with files in the data directory.")
def season_partitions(context: dg.SensorEvaluationContext, sources: SourceFilesResource):
    today = settings.today()
    keys = partitions_with_data(sources)
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:
        instance = None
    new = (partitions.missing_seasons(instance, keys, today) if instance is not None
           else partitions.seasons_to_register(keys, today))
    if not new:
        return dg.SkipReason(f"every season up to {Season.containing(today)} and every season in "
                             f"the data is registered")
    context.log.info(f"registering season partitions: {', '.join(new)}")
    return dg.SensorResult(dynamic_partitions_requests=[partitions.SEASONS.build_add_request(new)])


SENSORS = [season_partitions]
