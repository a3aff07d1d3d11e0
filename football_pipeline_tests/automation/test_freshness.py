"""Live data older than six hours is a failed (WARN) freshness check."""

from __future__ import annotations

import dagster as dg

from football_pipeline.automation.freshness import FRESHNESS_CHECKS, LIVE_ASSETS, MAX_AGE, freshness_sensor
from football_pipeline.definitions import defs


def _evaluate(instance) -> dict[str, bool]:
    job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*FRESHNESS_CHECKS))
    definitions = dg.Definitions(asset_checks=FRESHNESS_CHECKS, assets=[dg.AssetSpec(key) for key in LIVE_ASSETS],
                                 jobs=[job])
    result = definitions.resolve_job_def("freshness").execute_in_process(instance=instance)
    return {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}


def test_the_checks_warn_after_six_hours_and_are_registered():
    assert MAX_AGE.total_seconds() == 6 * 3600
    specs = [spec for check in FRESHNESS_CHECKS for spec in check.check_specs]
    assert {spec.asset_key for spec in specs} == set(LIVE_ASSETS)
    assert defs.resolve_sensor_def(freshness_sensor.name) is not None
    graph = defs.resolve_asset_graph()
    assert {k for k in graph.asset_check_keys if k.name == specs[0].name} == {s.key for s in specs}


def test_never_updated_data_fails_and_fresh_data_passes():
    with dg.instance_for_test() as instance:
        assert _evaluate(instance) == {"warehouse/team_season_stats": False, "warehouse/elo_ratings": False}
        for key in LIVE_ASSETS:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        assert _evaluate(instance) == {"warehouse/team_season_stats": True, "warehouse/elo_ratings": True}
