"""Competition x season partitions: one partition per league season (e.g. `E0|2022-2023`).

The competitions are static. The seasons follow the calendar (issue 25): the `season` dimension is a
`DynamicPartitionsDefinition(name="season")`, whose keys the Dagster instance stores, so a code server
started in June knows August's season without being reloaded:

- the instance (what the UI, the daemon and `dagster job backfill` read) lists a season once it is
  registered: `ensure_partitions` adds every season from 1993-94 to the one containing "today", plus the
  seasons of the keys about to run. The schedules register before requesting runs, the
  `season_partitions` sensor keeps the calendar registered (hourly), and `football-pipeline run` before
  its partition runs;
- in this process (schedule and sensor evaluation, `dg.materialize`, a job executed in process) the
  dimension also holds every season of the calendar as of `settings.today()` (which
  `FOOTBALL_PIPELINE_TODAY` pins), registered or not, so nothing computed at import time goes stale and
  an instance without registrations (an ephemeral one, in tests) still accepts a season of the calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import dagster as dg

from football_pipeline import settings
from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.common.seasons import Season, all_seasons

if TYPE_CHECKING:
    from dagster._core.definitions.partitions.context import PartitionLoadingContext

COMPETITION, SEASON = "competition", "season"


def calendar_seasons(today: dt.date | None = None) -> list[str]:
    """Season keys from 1993-1994 to the season containing `today` (default: `settings.today()`)."""
    return [s.key for s in all_seasons(today or settings.today())]


class SeasonPartitionsDefinition(dg.DynamicPartitionsDefinition):
    """The `season` dimension: the instance's registered seasons, and, in this process, every season of
    the calendar as of the moment it is asked (never as of the import).

    The code location's snapshot (what the UI and the daemon load) carries it as a plain
    `DynamicPartitionsDefinition(name="season")`: there a season exists once it is registered.
    """

    def __new__(cls):
        return super().__new__(cls, name=SEASON)

    @staticmethod
    def _registered(store) -> list[str]:
        return list(store.get_dynamic_partitions(partitions_def_name=SEASON)) if store is not None else []

    def get_partition_keys(self, current_time: dt.datetime | None = None,
                           dynamic_partitions_store=None) -> Sequence[str]:
        with dg.partition_loading_context(current_time, dynamic_partitions_store) as ctx:
            registered = self._registered(ctx.dynamic_partitions_store)
        return sorted(set(registered) | set(calendar_seasons()))

    def get_paginated_partition_keys(self, context: PartitionLoadingContext, limit: int, ascending: bool,
                                     cursor: str | None = None) -> dg.PaginatedResults[str]:
        with dg.partition_loading_context(new_ctx=context):
            keys = self.get_partition_keys()
        return dg.PaginatedResults.create_from_sequence(keys, limit=limit, ascending=ascending, cursor=cursor)

    def has_partition_key(self, partition_key: str, current_time: dt.datetime | None = None,
                          dynamic_partitions_store=None) -> bool:
        if partition_key in calendar_seasons():
            return True
        with dg.partition_loading_context(current_time, dynamic_partitions_store) as ctx:
            store = ctx.dynamic_partitions_store
            return store is not None and store.has_dynamic_partition(partitions_def_name=SEASON,
                                                                     partition_key=partition_key)

    def filter_valid_partition_keys(self, partition_keys: set[str]) -> set[str]:
        calendar = set(partition_keys) & set(calendar_seasons())
        rest = set(partition_keys) - calendar
        if not rest:
            return calendar
        with dg.partition_loading_context() as ctx:
            store = ctx.dynamic_partitions_store
            if store is None:
                return calendar
            registered = store.get_existing_dynamic_partitions(partitions_def_name=SEASON, partition_keys=list(rest))
        return calendar | set(registered)


SEASONS = SeasonPartitionsDefinition()
PARTITIONS = dg.MultiPartitionsDefinition(
    {
        COMPETITION: dg.StaticPartitionsDefinition([c.competition_id for c in COMPETITIONS]),
        SEASON: SEASONS,
    }
)


def partition_key(competition_id: str, season: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({COMPETITION: competition_id, SEASON: season})


def split(key: str | dg.MultiPartitionKey) -> tuple[str, Season]:
    """`E0|2022-2023` -> ("E0", Season(2022))."""
    if not isinstance(key, dg.MultiPartitionKey):
        competition, season = str(key).split("|")
        key = partition_key(competition, season)
    dims = key.keys_by_dimension
    return dims[COMPETITION], Season.from_key(dims[SEASON])


def season_of(key: str | dg.MultiPartitionKey | Season) -> str:
    """The season key of a partition key (`E0|2022-2023`), a season key (`2022-2023`) or a Season;
    ValueError for anything else."""
    if isinstance(key, Season):
        return key.key
    if isinstance(key, dg.MultiPartitionKey) or "|" in str(key):
        return split(key)[1].key
    return Season.from_key(str(key)).key


def seasons_to_register(keys: Iterable[str | dg.MultiPartitionKey | Season] = (),
                        today: dt.date | None = None) -> list[str]:
    """The seasons the instance must list: the calendar's up to `today` (default `settings.today()`)
    and the seasons of `keys` (partitions about to run, seasons found in a data directory)."""
    return sorted(set(calendar_seasons(today)) | {season_of(k) for k in keys})


def missing_seasons(instance: dg.DagsterInstance, keys: Iterable[str | dg.MultiPartitionKey | Season] = (),
                    today: dt.date | None = None) -> list[str]:
    """`seasons_to_register(keys, today)` that `instance` does not list yet, oldest first."""
    wanted = seasons_to_register(keys, today)
    existing = instance.get_existing_dynamic_partitions(partitions_def_name=SEASON, partition_keys=wanted)
    return [s for s in wanted if s not in existing]


def ensure_partitions(instance: dg.DagsterInstance, keys: Iterable[str | dg.MultiPartitionKey | Season] = (),
                      today: dt.date | None = None) -> list[str]:
    """Registers in `instance` every season of the calendar up to `today` and every season of `keys`
    that it does not list yet (idempotent); returns the seasons added, oldest first."""
    new = missing_seasons(instance, keys, today)
    if new:
        instance.add_dynamic_partitions(partitions_def_name=SEASON, partition_keys=new)
    return new
