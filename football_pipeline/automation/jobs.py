"""Jobs. Dagster runs one partition per run: `football-pipeline run` launches the partition job once
per competition x season with data, between the reference and aggregate jobs; backfills from the UI
or CLI (`dagster job backfill -j partitions_job --all`) do the same over any partition set (the seasons
the instance lists: registered by the `season_partitions` sensor, the schedules and the CLI, see
automation/seasons.py)."""

from __future__ import annotations

import dagster as dg

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(["warehouse", "teams"], ["warehouse", "elo_ratings"]),
    description="Competitions, canonical teams and aliases, ClubElo ratings.",
)

partitions_job = dg.define_asset_job(
    "partitions_job",
    selection=dg.AssetSelection.groups("ingestion")
    | dg.AssetSelection.assets(["warehouse", "matches"], ["warehouse", "team_match_stats"],
                               ["warehouse", "odds"], ["warehouse", "xg"]),
    description="One competition x season: ingest and check every source, load the warehouse tables.",
)

aggregates_job = dg.define_asset_job(
    "aggregates_job",
    selection=dg.AssetSelection.assets(["warehouse", "team_season_stats"]),
    description="Refresh the per-team aggregates after loads.",
)

models_job = dg.define_asset_job(
    "models_job",
    selection=dg.AssetSelection.groups("models"),
    description="Features, walk-forward backtest, Bayesian Dixon-Coles, XGBoost and the stacked ensemble "
                "(registered in MLflow; the champion alias moves only on a better backtest).",
)

publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.assets(["models", "match_features"], ["serving", "predictions"]),
    description="Refresh the fixture features from the warehouse and publish the MLflow champion's "
                "predictions of the upcoming fixtures to `predictions` (requested by the "
                "publish_on_new_champion_or_fixtures sensor).",
)

JOBS = [reference_job, partitions_job, aggregates_job, models_job, publish_job]
