"""Serving assets: the champion's predictions of the upcoming fixtures, published to the warehouse.

Thin: the work is in `football_pipeline.serving.publish`. The model comes from the MLflow registry's
`champion` alias, not from the models run: a version that did not beat the champion never reaches
consumers. The fixture inputs (features, Dixon-Coles strengths) come from `models/match_features` and
`models/xgboost`; the publish job refreshes the features first, so fixtures that reached the
warehouse after the last retrain are published too.
"""

import dagster as dg

from football_pipeline.assets.models import BoostedModels, ModelInputs
from football_pipeline.resources import WarehouseResource
from football_pipeline.resources.models import ModelsResource
from football_pipeline.serving import publish as publishing

GROUP = "serving"
PREDICTIONS = dg.AssetKey(["serving", "predictions"])


@dg.asset(key=PREDICTIONS, group_name=GROUP, kinds={"mlflow", "sql"},
          ins={"inputs": dg.AssetIn(["models", "match_features"]), "boosted": dg.AssetIn(["models", "xgboost"])},
          deps=[dg.AssetKey(["models", "ensemble"])])
def predictions(context: dg.AssetExecutionContext, inputs: ModelInputs, boosted: BoostedModels,
                warehouse: WarehouseResource, models: ModelsResource):
    """The registry champion's predictions of the competition's upcoming fixtures in `predictions`
    (percentages summing to 100, expected goals, 90% intervals, entropy, model version), written in one
    transaction; re-publishing a version replaces its rows. No champion, or one that cannot be loaded:
    the run fails and the previous predictions stay served."""
    try:
        report = publishing.publish(warehouse.engine(), models.registered_model, inputs.frame, inputs.features,
                                    boosted.mle_fit, boosted.mle, models.competition, inputs.as_of)
    except publishing.ChampionUnavailableError as exc:
        raise dg.Failure(description=str(exc),
                         metadata={"registered_model": models.registered_model}) from exc
    for skipped in report.skipped:
        context.log.warning(f"fixture {skipped.match_id} not published: {skipped.reason}")
    context.log.info(report.summary())
    return dg.MaterializeResult(metadata={
        "rows_written": report.rows_written,
        "rows_replaced": report.replaced,
        "registered_model": report.model_name,
        "model_version": report.model_version,
        "mlflow_run_id": report.mlflow_run_id or "",
        "fixtures": report.fixtures,
        "next_matchday": report.next_matchday.isoformat() if report.next_matchday else "",
        "skipped_fixtures": dg.MetadataValue.json([{"match_id": s.match_id, "reason": s.reason}
                                                   for s in report.skipped]),
        "stacks": dg.MetadataValue.json(report.stacks),
        "as_of": inputs.as_of.isoformat(),
    })


ASSETS = [predictions]
