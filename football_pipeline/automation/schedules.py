"""Schedules (all in UTC): the daily full sync, the hourly live fixtures/line-ups refresh, the weekly retrain.

- `daily_reference_sync` 01:45: competitions, canonical teams and aliases, ClubElo ratings, so the
  partition loads at 02:00 see every team.
- `daily_full_sync` 02:00: one `partitions_job` run per competition x season partition with data (what
  `football-pipeline run` loads), run key `<date>|<partition>`, tagged `football/full_sync=<date>`;
  the `aggregates_after_full_sync` sensor refreshes the aggregates once they have all finished.
- `hourly_live_refresh` at minute 5: in live mode only (`FOOTBALL_SOURCE_MODE=live`), the current
  season's partition of every competition (the spiders fetch new fixtures, results and line-ups);
  otherwise a SkipReason.
- `weekly_retrain` Monday 03:00: `models_job` (the champion moves only on a better backtest; the
  publish sensor then republishes).

Run keys include the scheduled time, so a tick evaluated twice never launches twice.

Seasons follow the calendar (issue 25): before requesting runs, the full sync and the hourly refresh
register in the instance every season from 1993-94 to the one containing the tick's date, plus the
seasons they request (`seasons.register_seasons`), so a season that began after the code location
was loaded is added, never dropped.
"""

import datetime as dt

import dagster as dg

from football_pipeline import partitions
from football_pipeline.automation.jobs import models_job, partitions_job, reference_job
from football_pipeline.automation.seasons import partitions_with_data, register_seasons
from football_pipeline.automation.sensors import FULL_SYNC_TAG
from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.common.seasons import Season
from football_pipeline.resources import SourceFilesResource

UTC = "UTC"
DAILY_REFERENCE_CRON = "45 1 * * *"
DAILY_FULL_SYNC_CRON = "0 2 * * *"
HOURLY_LIVE_CRON = "5 * * * *"
WEEKLY_RETRAIN_CRON = "0 3 * * 1"


def _scheduled(context: dg.ScheduleEvaluationContext) -> dt.datetime:
    when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    return when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dg.schedule(cron_schedule=DAILY_REFERENCE_CRON, job=reference_job, execution_timezone=UTC,
             description="Daily reference data (teams, aliases, ClubElo) before the 02:00 full sync.")
def daily_reference_sync(context: dg.ScheduleEvaluationContext):
    day = _scheduled(context).date().isoformat()
    return dg.RunRequest(run_key=f"reference:{day}", tags={FULL_SYNC_TAG: day})


@dg.schedule(cron_schedule=DAILY_FULL_SYNC_CRON, job=partitions_job, execution_timezone=UTC,
             description="Daily full sync at 02:00 UTC: every competition x season partition with data.")
def daily_full_sync(context: dg.ScheduleEvaluationContext, sources: SourceFilesResource):
    day = _scheduled(context).date().isoformat()
    keys = partitions_with_data(sources)
    if not keys:
        return dg.SkipReason(f"no source files in {sources.directory()}: no partition to sync")
    register_seasons(context, keys, _scheduled(context).date())
    return [dg.RunRequest(run_key=f"{day}|{key}", partition_key=key, tags={FULL_SYNC_TAG: day}) for key in keys]


@dg.schedule(cron_schedule=HOURLY_LIVE_CRON, job=partitions_job, execution_timezone=UTC,
             description="Hourly in live mode: the current season of every competition (fixtures, results, "
                         "line-ups scraped). Skips unless FOOTBALL_SOURCE_MODE=live.")
def hourly_live_refresh(context: dg.ScheduleEvaluationContext, sources: SourceFilesResource):
    mode = sources.source_mode()
    if mode != "live":
        return dg.SkipReason(f"source mode is {mode!r}: the hourly fixtures/line-ups refresh runs only in live "
                             "mode (FOOTBALL_SOURCE_MODE=live)")
    when = _scheduled(context)
    season = Season.containing(when.date()).key
    keys = [str(partitions.partition_key(c.competition_id, season)) for c in COMPETITIONS]
    register_seasons(context, keys, when.date())  # a season begun since the code location loaded: added
    hour = when.strftime("%Y-%m-%dT%H")
    return [dg.RunRequest(run_key=f"{hour}|{key}", partition_key=key, tags={"football/live_refresh": hour})
            for key in keys]


@dg.schedule(cron_schedule=WEEKLY_RETRAIN_CRON, job=models_job, execution_timezone=UTC,
             description="Weekly retrain, Monday 03:00 UTC: features, backtest, Bayesian Dixon-Coles, XGBoost, "
                         "ensemble; the champion moves only on a better backtest.")
def weekly_retrain(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(run_key=f"retrain:{_scheduled(context).date().isoformat()}")


SCHEDULES = [daily_reference_sync, daily_full_sync, hourly_live_refresh, weekly_retrain]
