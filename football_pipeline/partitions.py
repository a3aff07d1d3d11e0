"""Competition x season partitions: one partition per league season (e.g. `E0|2022-2023`)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.common.seasons import Season, all_seasons

COMPETITION, SEASON = "competition", "season"


def competition_season_partitions(until: dt.date | None = None) -> dg.MultiPartitionsDefinition:
    """Every competition x every season from 1993-94 to the current one (the set grows each July)."""
    seasons = all_seasons(until or dt.datetime.now(dt.timezone.utc).date())
    return dg.MultiPartitionsDefinition(
        {
            COMPETITION: dg.StaticPartitionsDefinition([c.competition_id for c in COMPETITIONS]),
            SEASON: dg.StaticPartitionsDefinition([s.key for s in seasons]),
        }
    )


PARTITIONS = competition_season_partitions()


def partition_key(competition_id: str, season: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({COMPETITION: competition_id, SEASON: season})


def split(key: str | dg.MultiPartitionKey) -> tuple[str, Season]:
    """`E0|2022-2023` -> ("E0", Season(2022))."""
    if not isinstance(key, dg.MultiPartitionKey):
        competition, season = str(key).split("|")
        key = partition_key(competition, season)
    dims = key.keys_by_dimension
    return dims[COMPETITION], Season.from_key(dims[SEASON])
