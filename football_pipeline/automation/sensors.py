"""Sensors: publish predictions when the champion or the fixtures change; aggregates after a full sync.

`publish_on_new_champion_or_fixtures` ticks every minute. Each tick reads two cheap things: the version
holding the `champion` alias in the MLflow registry, and a fingerprint of the competition's upcoming
fixtures in the warehouse (a hash of the match ids, kick-offs and teams of its matches on/after the
as-of date or still scheduled: one indexed query of a few hundred rows at most). It requests
`publish_job` only when the pair differs from the one in its cursor, with run key
`<version>:<fingerprint>`, so Dagster never launches the same publish twice and the cursor (kept in
the instance's storage) carries the decision across daemon restarts. No champion yet, an unreachable
warehouse or registry, or no upcoming fixture: a SkipReason saying so, never an exception, and the
cursor stays where it was so the next tick tries again.

`aggregates_after_full_sync` requests `aggregates_job` once every partition run of a day's full sync
(tag `football/full_sync`, set by the `daily_full_sync` schedule) has finished.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa

from football_pipeline.automation.jobs import aggregates_job, partitions_job, publish_job
from football_pipeline.modelling import tracking
from football_pipeline.resources import WarehouseResource
from football_pipeline.resources.models import ModelsResource
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import schema

FULL_SYNC_TAG = "football/full_sync"
CHAMPION_TAG = "football/champion_version"
FIXTURES_TAG = "football/fixtures"
PUBLISH_INTERVAL_S = 60


@dataclass(frozen=True)
class Fixtures:
    count: int
    fingerprint: str  # "<count>-<hash>", or "none" when there are no upcoming fixtures
    first_kickoff: str | None


def upcoming_fixtures(engine: sa.Engine, competition: str, as_of: dt.date) -> Fixtures:
    """A fingerprint of `competition`'s upcoming fixtures: matches on/after `as_of` or still scheduled.

    Changes when a fixture appears, disappears, moves (kick-off) or changes teams; not when a result or
    statistic of a past match is reloaded. One query on the competition's rows (index on competition,
    season), returning only the upcoming ones.
    """
    m = schema.matches
    query = (sa.select(m.c.match_id, m.c.kickoff_at, m.c.home_team_id, m.c.away_team_id)
             .where(m.c.competition_id == competition, sa.or_(m.c.match_date >= as_of, m.c.status == "scheduled"))
             .order_by(m.c.match_id, m.c.kickoff_at))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    if not rows:
        return Fixtures(0, "none", None)
    digest = hashlib.sha1()
    for match_id, kickoff, home, away in rows:
        stamp = kickoff.isoformat() if isinstance(kickoff, dt.datetime) else str(kickoff)
        digest.update(f"{match_id}|{stamp}|{home}|{away}\n".encode())
    first = min(row[1] for row in rows)
    return Fixtures(len(rows), f"{len(rows)}-{digest.hexdigest()[:12]}",
                    first.isoformat() if isinstance(first, dt.datetime) else str(first))


def _cursor(raw: str | None) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dg.sensor(job=publish_job, minimum_interval_seconds=PUBLISH_INTERVAL_S,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Publishes predictions when the MLflow champion changes or upcoming fixtures change "
                       "in the warehouse (run key <champion version>:<fixtures fingerprint>).")
def publish_on_new_champion_or_fixtures(context: dg.SensorEvaluationContext, warehouse: WarehouseResource,
                                        models: ModelsResource):
    name = models.registered_model
    try:
        champion = tracking.champion(name)
    except Exception as exc:  # noqa: BLE001 - the registry is down: skip, try again on the next tick
        return dg.SkipReason(f"MLflow registry unreachable ({type(exc).__name__}: {_first_line(exc)}); "
                             "will retry")
    if champion is None:
        return dg.SkipReason(f"registered model {name!r} has no champion yet: nothing to publish "
                             "(the models job registers and promotes one)")
    version = str(champion.version)

    engine = None
    try:
        engine = engines.create_engine(warehouse.resolved_url())
        fixtures = upcoming_fixtures(engine, models.competition, models.as_of_date())
    except Exception as exc:  # noqa: BLE001 - unreachable, restarting or not created yet: retry next tick
        return dg.SkipReason(f"warehouse {warehouse.describe()} unreachable or not ready "
                             f"({type(exc).__name__}: {_first_line(exc)}); will retry")
    finally:
        if engine is not None:
            engine.dispose()
    if fixtures.count == 0:
        return dg.SkipReason(f"no upcoming {models.competition} fixtures in the warehouse "
                             f"(on/after {models.as_of_date().isoformat()}): nothing to publish")

    key = f"{version}:{fixtures.fingerprint}"
    previous = _cursor(context.cursor)
    if previous.get("run_key") == key:
        return dg.SkipReason(f"champion v{version} and {fixtures.count} upcoming fixtures unchanged since the "
                             "last publish request")
    context.update_cursor(json.dumps({"run_key": key, "champion_version": version,
                                      "fixtures": fixtures.fingerprint}))
    changed = [what for what, old, new in (("champion", previous.get("champion_version"), version),
                                           ("fixtures", previous.get("fixtures"), fixtures.fingerprint))
               if old != new]
    context.log.info(f"requesting publish_job: {', '.join(changed)} changed (run key {key})")
    return dg.RunRequest(run_key=key, tags={CHAMPION_TAG: version, FIXTURES_TAG: fixtures.fingerprint})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dg.sensor(job=aggregates_job, minimum_interval_seconds=120,
           description="Refreshes the per-team aggregates once every partition run of a daily full sync "
                       "has finished.")
def aggregates_after_full_sync(context: dg.SensorEvaluationContext):
    today = dt.datetime.now(dt.UTC).date()
    requests = []
    waiting = []
    for day in (today - dt.timedelta(days=1), today):
        sync = day.isoformat()
        runs = context.instance.get_runs(filters=dg.RunsFilter(job_name=partitions_job.name,
                                                               tags={FULL_SYNC_TAG: sync}))
        if not runs:
            continue
        unfinished = [r for r in runs if r.status not in FINISHED]
        if unfinished:
            waiting.append(f"{sync}: {len(unfinished)} of {len(runs)} partition runs unfinished")
            continue
        requests.append(dg.RunRequest(run_key=f"aggregates:{sync}", tags={FULL_SYNC_TAG: sync}))
    if requests:
        return requests
    return dg.SkipReason("; ".join(waiting) if waiting else "no full sync in the last two days")


SENSORS = [publish_on_new_champion_or_fixtures, aggregates_after_full_sync]
