"""The one Definitions of the code location: assets by layer, checks, jobs, resources."""

from __future__ import annotations

import dagster as dg

from football_pipeline.assets import ingestion, models, serving, warehouse
from football_pipeline.automation.freshness import FRESHNESS_CHECKS, freshness_sensor
from football_pipeline.automation.jobs import JOBS
from football_pipeline.automation.schedules import SCHEDULES
from football_pipeline.automation.seasons import SENSORS as SEASON_SENSORS
from football_pipeline.automation.sensors import SENSORS
from football_pipeline.resources import SourceFilesResource, SourceResultIOManager, WarehouseResource
from football_pipeline.resources import models as models_resource


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            ingestion.football_data_matches,
            ingestion.understat_matches,
            ingestion.fbref_matches,
            warehouse.teams,
            warehouse.partition_tables,
            warehouse.team_season_stats,
            warehouse.elo_ratings,
            *models.ASSETS,
            *serving.ASSETS,
        ],
        asset_checks=FRESHNESS_CHECKS,
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=[*SENSORS, *SEASON_SENSORS, freshness_sensor],
        resources={
            "warehouse": WarehouseResource(),
            "sources": SourceFilesResource(),
            "source_io_manager": SourceResultIOManager(),
            "models": models_resource.from_environment(),
        },
    )


defs = build_definitions()
