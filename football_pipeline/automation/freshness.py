"""Freshness: in live mode the data must not go stale. Each check warns when its asset was last
updated more than six hours ago; the freshness sensor (switch it on in a live deployment, beside the
hourly refresh schedule) evaluates them."""

from __future__ import annotations

import datetime as dt

import dagster as dg

MAX_AGE = dt.timedelta(hours=6)
# Rewritten by every sync (the aggregates after the partition loads; ClubElo's ratings).
LIVE_ASSETS = [dg.AssetKey(["warehouse", "team_season_stats"]), dg.AssetKey(["warehouse", "elo_ratings"])]

FRESHNESS_CHECKS = dg.build_last_update_freshness_checks(
    assets=LIVE_ASSETS, lower_bound_delta=MAX_AGE, severity=dg.AssetCheckSeverity.WARN)

freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=FRESHNESS_CHECKS, name="live_data_freshness", minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.STOPPED)
