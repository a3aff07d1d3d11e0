"""Model assets: point-in-time features, the walk-forward backtest, the Bayesian Dixon-Coles fit,
XGBoost, and the LightGBM stack registered in MLflow. Thin: the work is in `football_pipeline.modelling`."""


import dataclasses
import datetime as dt
import functools
import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from football_pipeline.modelling import evaluate, feature_store, features, metrics, production, tracking
from football_pipeline.modelling.backtest import (
    AUTO_EVALUATION,
    BAYES,
    ENSEMBLE,
    ENSEMBLE_NO_ODDS,
    MARKET,
    MIN_EVALUATION_MATCHES,
    MLE,
    XGB,
    XGB_NO_ODDS,
    BacktestResult,
    WalkCheckpoint,
    run_backtest,
    short_evaluation_seasons,
    stale_evaluation,
    strengths_walk,
)
from football_pipeline.modelling.dixon_coles import BayesianDixonColes, Posterior
from football_pipeline.modelling.mle import DixonColesMLE
from football_pipeline.resources import WarehouseResource
from football_pipeline.resources.models import ModelsResource
from football_pipeline.warehouse import schema

GROUP = "models"
UPSTREAM = [dg.AssetKey(["warehouse", name]) for name in ("matches", "team_match_stats", "odds", "xg")]


@dataclass
class ModelInputs:
    frame: pd.DataFrame  # matches (results on or after the as-of date hidden)
    features: pd.DataFrame
    as_of: dt.date


def _tags(context: dg.AssetExecutionContext) -> dict[str, str]:
    tags = {"dagster_run_id": context.run.run_id, "dagster_asset": context.asset_key.to_user_string()}
    if context.has_partition_key:
        tags["dagster_partition"] = context.partition_key
    return tags


# The backtest's models by MLflow experiment (model family): each family's experiment holds its
# training runs and, tagged run_type=backtest, its scores from every backtest.
FAMILIES = {BAYES: (BAYES, MLE), "xgboost": (XGB, XGB_NO_ODDS), "ensemble": (ENSEMBLE, ENSEMBLE_NO_ODDS)}


@dg.asset(key=["models", "match_features"], group_name=GROUP, deps=UPSTREAM, kinds={"pandas"},
          check_specs=[dg.AssetCheckSpec("no_missing_values", asset=["models", "match_features"], blocking=True,
                                         description="Core features are present for every match between teams "
                                                     "with history, after the first season in the data, and no "
                                                     "feature that covered last season's matches has lost its "
                                                     "source in the latest season.")])
def match_features(context: dg.AssetExecutionContext, warehouse: WarehouseResource, models: ModelsResource):
    """Point-in-time features of every match in the warehouse (pi-ratings, Elo, form, venue splits,
    head-to-head, rest, promotion, pre-match market). Results on/after the as-of date are hidden. Stored
    incrementally by date in the `match_features` table: only the dates whose inputs changed (a new
    matchweek, a corrected result) and the fixtures are written; earlier rows stay as they were."""
    from football_pipeline.modelling import data

    as_of = models.as_of_date()
    engine = warehouse.engine()
    frame = data.with_promoted(data.split_as_of(data.load_matches(engine), as_of))
    feats = features.build_features(frame)
    stored = feature_store.sync(engine, frame, feats, as_of)
    context.log.info(f"match_features: rows rewritten from {stored.recomputed_from or 'nowhere (no change)'}, "
                     f"{stored.final_written} final and {stored.provisional_written} provisional rows written, "
                     f"{stored.kept} kept")
    judged = features.coverage(frame, feats, models.competition)
    upcoming = int(((frame["competition_id"] == models.competition)
                    & (frame["match_date"] >= pd.Timestamp(as_of))).sum())
    yield dg.Output(ModelInputs(frame, feats, as_of), metadata={
        "matches": len(frame), "features": feats.shape[1], "as_of": as_of.isoformat(),
        "upcoming_fixtures": upcoming, **stored.metadata(),
        "missing_share": dg.MetadataValue.json({k: round(float(v), 4) for k, v in feats.isna().mean().items()
                                                if v > 0}),
    })
    yield dg.AssetCheckResult(
        check_name="no_missing_values", passed=judged.passed,
        metadata={"missing": dg.MetadataValue.json(judged.missing), "matches_checked": judged.judged,
                  "dropped_features": dg.MetadataValue.json({k: list(v) for k, v in judged.dropped.items()}),
                  "seasons_compared": " -> ".join(judged.seasons) if judged.seasons else "none"},
        description=judged.reason(models.competition))


@dg.asset(key=["models", "backtest"], group_name=GROUP, ins={"inputs": dg.AssetIn(["models", "match_features"])},
          kinds={"mlflow", "sql"},
          check_specs=[dg.AssetCheckSpec("enough_matches", asset=["models", "backtest"], blocking=True,
                                         description=f"Every evaluation season has at least {MIN_EVALUATION_MATCHES} scored matches "
                                                     "predicted by every model (the as-of season's first "
                                                     "matches beside an earlier season that has: none)."),
                       dg.AssetCheckSpec("bayesian_beats_mle", asset=["models", "backtest"],
                                         description="The Bayesian Dixon-Coles scores a lower RPS than the "
                                                     "maximum-likelihood Dixon-Coles on the same windows."),
                       dg.AssetCheckSpec("evaluation_is_recent", asset=["models", "backtest"],
                                         description="The latest evaluation season is the as-of season or the "
                                                     "one before: the stacks are weighted on recent predictions.")])
def backtest(context: dg.AssetExecutionContext, inputs: ModelInputs, models: ModelsResource,
             warehouse: WarehouseResource):
    """Walk-forward backtest of every model (refit at each step on what was known before it), scored
    next to the de-vigged closing market; rows in `model_performance`, plots and predictions in MLflow."""
    config = models.backtest_config(inputs.frame, inputs.as_of)
    version = backtest_version(config)
    with tempfile.TemporaryDirectory() as scratch:
        resume, resumed_from = _previous_walk(version, Path(scratch) / "previous", context.log) \
            if models.resume_backtest else (None, None)
        started = time.perf_counter()
        result = run_backtest(inputs.frame, inputs.features, features.FEATURES, features.MARKET_FEATURES, config,
                              log=context.log.info, resume=resume)
        walk_seconds = time.perf_counter() - started
        artifacts = _backtest_artifacts(result, Path(scratch))
        overall = {m: result.score_of(m) for m in result.scores["model"].unique()} if len(result.scores) else {}
        logged = tracking.log_run(
            "backtest", params={"config": repr(config), "model_version": version},
            metrics={**{f"{m}.{k}": v for m, s in overall.items() for k, v in s.items()
                        if isinstance(v, float | int) and k not in ("season",)},
                     "walk_seconds": walk_seconds, "refits_taken_over": result.reused_steps,
                     **{f"{part}_taken_over": n for part, n in result.taken_over.items()}},
            artifacts=artifacts, tags={**_tags(context), "run_type": "backtest", "resumed_from": resumed_from})
        plot = artifacts["reliability.png"].read_bytes()
        family_runs = _log_families(result, config, version, logged.run_id, overall, Path(scratch),
                                    {**_tags(context), "run_type": "backtest"})
    # One set of rows per backtest and as-of date: each weekly backtest adds its own (a re-run replaces
    # them), and a backfill of an earlier date never overwrites a later one.
    written = write_performance(warehouse.engine(), result, f"{version}@{inputs.as_of.isoformat()}", logged.run_id)
    sizes = result.scores[result.scores["season"] != "all"].groupby("season")["n"].min().to_dict() \
        if len(result.scores) else {}
    short = short_evaluation_seasons(config, sizes, inputs.as_of)
    yield dg.Output(result, metadata={
        "mlflow_run_id": logged.run_id, "model_version": version, "model_performance_rows": written,
        "mlflow_family_runs": dg.MetadataValue.json(family_runs),
        "scores": dg.MetadataValue.md(evaluate.format_scores(result.scores).join(["```\n", "\n```"])),
        "reliability": dg.MetadataValue.md(_inline_png(plot)),
        "refits": len(result.fits), "refits_taken_over": result.reused_steps,
        **{f"{part}_taken_over": n for part, n in result.taken_over.items()},
        "resumed_from_mlflow_run": resumed_from or "none (walked from the start)",
        "walk_seconds": round(walk_seconds, 1), "evaluation_seasons": ",".join(config.evaluation_seasons),
    })
    yield dg.AssetCheckResult(check_name="enough_matches", passed=not short,
                              metadata={"scored_matches_per_season": dg.MetadataValue.json(sizes)},
                              description=f"too few scored matches in {', '.join(short)}" if short else None)
    bayes, mle = result.score_of(BAYES), result.score_of(MLE)
    yield dg.AssetCheckResult(
        check_name="bayesian_beats_mle", passed=bool(bayes and mle and bayes["rps"] < mle["rps"]),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"bayesian_rps": bayes.get("rps", float("nan")), "mle_rps": mle.get("rps", float("nan"))})
    stale = stale_evaluation(config, inputs.as_of, automatic=models.automatic_evaluation)
    yield dg.AssetCheckResult(
        check_name="evaluation_is_recent", passed=stale is None, severity=dg.AssetCheckSeverity.WARN,
        description=stale, metadata={"evaluation_seasons": ",".join(config.evaluation_seasons),
                                     "as_of": inputs.as_of.isoformat()})


CHECKPOINT_ARTIFACT = "walk_checkpoint.pkl.gz"


def _previous_walk(version: str, folder: Path, log) -> tuple[WalkCheckpoint | None, str | None]:
    """The checkpoint of the newest finished backtest of this version (configuration and modelling code)
    in MLflow, and its run id; (None, None) when there is none or it cannot be read (the walk then starts
    from the beginning: a checkpoint only saves time)."""
    try:
        found = tracking.latest_artifact("backtest", CHECKPOINT_ARTIFACT, folder, params={"model_version": version},
                                         tags={"run_type": "backtest"})
        if found is None:
            log.info(f"no earlier backtest of {version} with a walk checkpoint: walking from the start")
            return None, None
        run_id, path = found
        return WalkCheckpoint.load(path), run_id
    except Exception as error:  # noqa: BLE001 - any failure to read it means a full walk, not a failed backtest
        log.warning(f"the walk checkpoint of {version} could not be read ({type(error).__name__}: {error}): "
                    f"walking from the start")
        return None, None


def backtest_version(config) -> str:
    """The backtest's identity: a hash of its configuration and of the modelling code. Two versions with
    the same identity are the same models, fitted as of different dates (the champion's refresh rule)."""
    return "backtest-" + hashlib.sha1(repr(config).encode() + _code_fingerprint()).hexdigest()[:10]


def model_lineage(config, evaluation_setting: str) -> str:
    """The models' identity across the as-of dates: the configuration apart from the evaluation seasons,
    the evaluation seasons as set (`auto` or the pinned list) and the modelling code. `auto` moves the
    evaluation seasons, and with them the backtest's identity, at a season's turn; the lineage stays,
    and the champion's refresh rule follows it (`tracking.promote_if_better`)."""
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "evaluation_seasons"}
    text = repr(settings) + "|" + evaluation_setting
    return "lineage-" + hashlib.sha1(text.encode() + _code_fingerprint()).hexdigest()[:10]


@functools.cache
def _code_fingerprint() -> bytes:
    folder = Path(features.__file__).parent  # football_pipeline/modelling
    digest = hashlib.sha1()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()


def _inline_png(content: bytes) -> str:
    import base64

    return f"![reliability](data:image/png;base64,{base64.b64encode(content).decode()})"


def _log_families(result: BacktestResult, config, version: str, parent: str, overall: dict, folder: Path,
                  tags: dict[str, str]) -> dict[str, str]:
    """One run per model family in that family's experiment: its models' backtest scores, the closing
    market's on the same matches, and a reliability diagram of its models beside the market's."""
    runs = {}
    for family, names in FAMILIES.items():
        present = [n for n in names if n in overall]
        if not present:
            continue
        plot = folder / family / "reliability.png"
        plot.parent.mkdir(parents=True, exist_ok=True)
        reliability_plot(result, [*present, MARKET], plot)
        scores = result.scores[result.scores["model"].isin([*present, MARKET])]
        table = folder / family / "scores.csv"
        scores.to_csv(table, index=False)
        logged = tracking.log_run(
            family, params={"config": repr(config), "model_version": version},
            metrics={f"{m}.{k}": v for m in [*present, MARKET] if m in overall for k, v in overall[m].items()
                     if isinstance(v, float | int)},
            artifacts={"reliability.png": plot, "scores.csv": table},
            tags={**tags, "backtest_run_id": parent}, run_name=f"backtest {version}")
        runs[family] = logged.run_id
    return runs


def reliability_plot(result: BacktestResult, names, path: Path) -> None:
    """Reliability diagram of these models' backtest predictions (scored matches only)."""
    scored = result.predictions[result.predictions["result"].isin(["H", "D", "A"])]
    calibrations = {}
    for name in names:
        part = scored[scored["model"] == name]
        if len(part):
            calibrations[name] = metrics.calibration(part[production.P].to_numpy(),
                                                     metrics.outcome_index(part["result"]))
    metrics.reliability_png(calibrations, path)


def _backtest_artifacts(result: BacktestResult, folder: Path) -> dict[str, Path]:
    out = {"reliability.png": folder / "reliability.png", "scores.csv": folder / "scores.csv",
           "predictions.csv": folder / "predictions.csv", "refits.csv": folder / "refits.csv"}
    if result.checkpoint is not None:
        out[CHECKPOINT_ARTIFACT] = folder / CHECKPOINT_ARTIFACT
        result.checkpoint.dump(out[CHECKPOINT_ARTIFACT])
    reliability_plot(result, (ENSEMBLE, ENSEMBLE_NO_ODDS, BAYES, MARKET), out["reliability.png"])
    result.scores.to_csv(out["scores.csv"], index=False)
    result.predictions.to_csv(out["predictions.csv"], index=False)
    result.fits.to_csv(out["refits.csv"], index=False)
    return out


def write_performance(engine: sa.Engine, result: BacktestResult, version: str, run_id: str) -> int:
    """Replace this backtest version's rows in `model_performance` (one transaction; re-runs are idempotent)."""
    table = schema.model_performance
    rows = []
    for record in result.scores.to_dict("records"):
        rows.append({
            "model_name": record["model"], "model_version": version, "competition_id": result.config.competition,
            "season": record["season"], "period_start": record["period_start"], "period_end": record["period_end"],
            "n_matches": int(record["n"]), "accuracy": record["accuracy"],
            "accuracy_home": _number(record.get("accuracy_H")), "accuracy_draw": _number(record.get("accuracy_D")),
            "accuracy_away": _number(record.get("accuracy_A")), "log_loss": record["log_loss"],
            "rps": record["rps"], "brier": record["brier"], "ece": record["ece"],
            "calibration_slope": record["calibration_slope"],
            "calibration_intercept": record["calibration_intercept"],
            "market_rps": _number(record.get("market_rps")), "market_log_loss": _number(record.get("market_log_loss")),
            "rps_vs_market": _number(record.get("rps_vs_market")),
            "rps_vs_market_se": _number(record.get("rps_vs_market_se")),
            "mlflow_run_id": run_id})
    with engine.begin() as connection:
        connection.execute(table.delete().where(table.c.model_version == version,
                                                table.c.competition_id == result.config.competition))
        if rows:
            connection.execute(table.insert(), rows)
    return len(rows)


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@dg.asset(key=["models", "bayesian_dixon_coles"], group_name=GROUP, kinds={"jax", "mlflow"},
          ins={"inputs": dg.AssetIn(["models", "match_features"])}, output_required=False,
          check_specs=[dg.AssetCheckSpec(name, asset=["models", "bayesian_dixon_coles"], blocking=True,
                                         description=text) for name, text in (
              ("enough_training_matches", "The fit's window holds at least ModelsResource.min_training_matches "
                                          "played matches of the competition (default 200)."),
              ("r_hat", "Worst rank-normalised split R-hat below the limit (ModelsResource.max_r_hat, default "
                        "1.01); the metadata splits it into location (bulk) and spread (folded)."),
              ("effective_sample_size", "Smallest bulk and tail ESS at least ModelsResource.min_ess (default 400)."),
              ("no_divergences", "No divergent transitions."))])
def bayesian_dixon_coles(context: dg.AssetExecutionContext, inputs: ModelInputs, models: ModelsResource):
    """The Bayesian Dixon-Coles posterior as of the as-of date (NUTS on JAX; convergence checks block).
    Too little history (a first season, a competition just loaded) fails a blocking check and fits nothing:
    the previous fit and the champion stay in service."""
    config = models.backtest_config(inputs.frame, inputs.as_of)
    history = (inputs.frame["competition_id"] == config.competition) \
        & (inputs.frame["match_date"] < pd.Timestamp(inputs.as_of))
    # (`production_window` refuses a competition with no matches before the as-of date.)
    window = production.production_window(inputs.frame, config, inputs.as_of) if history.any() \
        else inputs.frame.iloc[:0]
    played = int(((window["competition_id"] == config.competition) & window["result"].isin(["H", "D", "A"])).sum())
    if played < models.min_training_matches:
        yield _too_few("enough_training_matches", played, models.min_training_matches,
                       f"{config.competition}: {played} played matches in the Bayesian model's window before "
                       f"{inputs.as_of}, fewer than {models.min_training_matches}: not fitted")
        return
    posterior = BayesianDixonColes(models.production_bayes()).fit(window, inputs.as_of)
    d = posterior.diagnostics
    served = production.thin(posterior)
    # An ESS that could not be computed (NaN, e.g. tail ESS without ArviZ) fails: NaN >= x is False.
    enough_ess = bool(d["ess_bulk_min"] >= models.min_ess and d["ess_tail_min"] >= models.min_ess)
    converged = bool(d["r_hat_max"] < models.max_r_hat and enough_ess
                     and d["divergences"] == 0)
    with tempfile.TemporaryDirectory() as scratch:
        summary = Path(scratch) / "posterior_summary.csv"
        posterior_summary(posterior).to_csv(summary, index=False)
        # Registered whether or not it converged (the version says which): the registry keeps the record,
        # the blocking checks below keep a failed fit away from the ensemble and the champion.
        logged = tracking.log_run(BAYES, params={"config": repr(posterior.config), "as_of": inputs.as_of.isoformat(),
                                                 "competition": models.competition},
                                  metrics={**d, "fit_seconds": posterior.fit_seconds, "n_matches": posterior.n_matches},
                                  artifacts={"posterior_summary.csv": summary},
                                  tags={**_tags(context), "converged": str(converged).lower()},
                                  model=production.PosteriorModel(served), model_name=models.bayesian_registered_model)
    yield dg.Output(served, metadata={
        "mlflow_run_id": logged.run_id, "registered_model": models.bayesian_registered_model,
        "version": str(logged.registered_version), "matches": posterior.n_matches, "teams": len(posterior.teams),
        "fit_seconds": round(posterior.fit_seconds, 2), **{k: float(v) for k, v in d.items()}})
    yield dg.AssetCheckResult(check_name="enough_training_matches", passed=True,
                              metadata={"played_matches": played, "minimum": models.min_training_matches})
    yield dg.AssetCheckResult(check_name="r_hat", passed=bool(d["r_hat_max"] < models.max_r_hat),
                              metadata={"r_hat_max": float(d["r_hat_max"]), "limit": models.max_r_hat,
                                        "r_hat_bulk_max": float(d["r_hat_bulk_max"]),
                                        "r_hat_folded_max": float(d["r_hat_folded_max"])})
    yield dg.AssetCheckResult(check_name="effective_sample_size",
                              passed=enough_ess,
                              metadata={"ess_bulk_min": float(d["ess_bulk_min"]),
                                        "ess_tail_min": float(d["ess_tail_min"])})
    yield dg.AssetCheckResult(check_name="no_divergences", passed=d["divergences"] == 0,
                              metadata={"divergences": int(d["divergences"])})


def _too_few(check: str, found: int, minimum: int, reason: str) -> dg.AssetCheckResult:
    """The failed blocking check of a model asset with too little history (its step yields no output)."""
    return dg.AssetCheckResult(check_name=check, passed=False, description=reason,
                               metadata={"played_matches": found, "minimum": minimum})


def posterior_summary(posterior: Posterior) -> pd.DataFrame:
    rows = []
    for name, values in posterior.samples.items():
        labels = posterior.teams if name in ("attack", "defence") else \
            posterior.seasons if name == "home_advantage" else None
        columns = values.reshape(len(values), -1)
        for k in range(columns.shape[1]):
            v = columns[:, k]
            label = labels[k] if labels is not None and k < len(labels) else (str(k) if columns.shape[1] > 1 else "")
            rows.append({"parameter": name, "index": label, "mean": v.mean(), "sd": v.std(),
                         "q05": float(pd.Series(v).quantile(0.05)), "q95": float(pd.Series(v).quantile(0.95))})
    return pd.DataFrame(rows)


@dataclass
class BoostedModels:
    xgboost: object
    xgboost_no_odds: object
    mle_fit: object
    mle: DixonColesMLE


@dg.asset(key=["models", "xgboost"], group_name=GROUP, kinds={"xgboost", "mlflow"},
          ins={"inputs": dg.AssetIn(["models", "match_features"])}, output_required=False,
          check_specs=[dg.AssetCheckSpec("enough_training_matches", asset=["models", "xgboost"], blocking=True,
                                         description="At least ModelsResource.min_training_matches played "
                                                     "matches with point-in-time Dixon-Coles strengths (none in "
                                                     "the first season of data) to train on (default 200).")])
def xgboost_model(context: dg.AssetExecutionContext, inputs: ModelInputs, models: ModelsResource):
    """XGBoost on the point-in-time features and Dixon-Coles strengths, with and without market inputs.
    Too few training rows fail a blocking check and train nothing: the champion stays in service."""
    config = models.backtest_config(inputs.frame, inputs.as_of)
    # The strengths fit sees the division below as the backtest's does (`strengths_lower_division`); its
    # blocks are taken over from the newest backtest checkpoint of this version where unchanged.
    with tempfile.TemporaryDirectory() as scratch:
        previous, _ = _previous_walk(backtest_version(config), Path(scratch), context.log) \
            if models.resume_backtest else (None, None)
    strengths = strengths_walk(inputs.frame, inputs.features, config, previous)
    dc = strengths.values
    rows = int(production.xgboost_training(inputs.frame, inputs.features, dc, config, inputs.as_of)[1].sum())
    if rows < models.min_training_matches:
        yield _too_few("enough_training_matches", rows, models.min_training_matches,
                       f"{config.competition}: {rows} played matches with Dixon-Coles strengths before "
                       f"{inputs.as_of}, fewer than {models.min_training_matches}: XGBoost not trained")
        return
    with_odds, without = production.fit_xgboost(inputs.frame, inputs.features, dc, config, inputs.as_of,
                                                features.FEATURES, features.MARKET_FEATURES,
                                                min_rows=models.min_training_matches)
    mle = DixonColesMLE(config.mle)
    mle_fit = mle.fit(production.production_window(inputs.frame, config, inputs.as_of,
                                                   config.strengths_lower_division), inputs.as_of)
    with tempfile.TemporaryDirectory() as scratch:
        importance = Path(scratch) / "feature_importance.csv"
        with_odds.importance().to_csv(importance, index=False)
        logged = tracking.log_run("xgboost", params={"config": repr(config.xgboost), "features": len(with_odds.features),
                                                     "as_of": inputs.as_of.isoformat()},
                                  metrics={"n_train": with_odds.n_train}, artifacts={"feature_importance.csv": importance},
                                  tags=_tags(context), model=with_odds, model_name=models.xgboost_registered_model)
    top = with_odds.importance().head(10)
    yield dg.Output(BoostedModels(with_odds, without, mle_fit, mle), metadata={
        "mlflow_run_id": logged.run_id, "registered_model": models.xgboost_registered_model,
        "version": str(logged.registered_version), "training_rows": with_odds.n_train,
        "mle_blocks_taken_over": strengths.reused,
        "top_features": dg.MetadataValue.md(top.to_string(index=False).join(["```\n", "\n```"])),
    })
    yield dg.AssetCheckResult(check_name="enough_training_matches", passed=True,
                              metadata={"played_matches": rows, "minimum": models.min_training_matches})


@dg.asset(key=["models", "ensemble"], group_name=GROUP, kinds={"lightgbm", "mlflow"},
          ins={"inputs": dg.AssetIn(["models", "match_features"]), "result": dg.AssetIn(["models", "backtest"]),
               "posterior": dg.AssetIn(["models", "bayesian_dixon_coles"]),
               "boosted": dg.AssetIn(["models", "xgboost"])},
          check_specs=[dg.AssetCheckSpec("beats_champion", asset=["models", "ensemble"], blocking=True,
                                         description="The `champion` alias moves to this version only if its "
                                                     "backtest RPS beats the champion's; otherwise the "
                                                     "champion stays in service.")])
def ensemble(context: dg.AssetExecutionContext, inputs: ModelInputs, result: BacktestResult, posterior: Posterior,
             boosted: BoostedModels, models: ModelsResource):
    """The production stack (LightGBM over Bayesian, XGBoost and the pre-match market), registered in
    MLflow as one pyfunc model; the champion alias moves only on a better backtest."""
    config = models.backtest_config(inputs.frame, inputs.as_of)
    stacks, form = production.fit_stacks(result.oos, inputs.as_of, config)
    model = production.EnsembleModel(posterior, boosted.xgboost, boosted.xgboost_no_odds, stacks, form,
                                     features.MARKET_FEATURES, inputs.as_of, stacks[ENSEMBLE].n_train,
                                     {"backtest": repr(config)})
    rows = production.upcoming(inputs.frame, models.competition, inputs.as_of)
    fixtures = production.fixture_inputs(inputs.frame, inputs.features, rows, boosted.mle_fit, boosted.mle)
    score = result.score_of(ENSEMBLE).get("rps", float("nan"))
    learned = production.stack_metrics(stacks)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        # The stack's reliability on its backtest, and what it leans on: the pool weights and temperatures
        # of its base models and the XGBoost member's feature importance.
        reliability_plot(result, (ENSEMBLE, ENSEMBLE_NO_ODDS, MARKET), folder / "reliability.png")
        pd.DataFrame([{"stack": name, "base_model": m, "weight": stack.weights_by_model()[m],
                       "temperature": stack.temperatures_by_model().get(m)}
                      for name, stack in stacks.items() for m in stack.base_models]
                     ).to_csv(folder / "stack_weights.csv", index=False)
        boosted.xgboost.importance().to_csv(folder / "feature_importance.csv", index=False)
        logged = tracking.log_run(
            "ensemble", params={"as_of": inputs.as_of.isoformat(), "competition": models.competition,
                                "backtest": repr(config), "stack": repr(config.stack)},
            metrics={"backtest_rps": score, "stack_rows": stacks[ENSEMBLE].n_train,
                     **{f"form_{k}": v for k, v in form.items()}, **learned},
            artifacts={name: folder / name for name in ("reliability.png", "stack_weights.csv",
                                                         "feature_importance.csv")},
            tags=_tags(context), model=model, model_name=models.registered_model,
            input_example=fixtures.head(3) if len(fixtures) else None)
    promotion = tracking.promote_if_better(models.registered_model, logged.registered_version, score,
                                           backtest=backtest_version(result.config), as_of=inputs.as_of.isoformat(),
                                           lineage=model_lineage(result.config, AUTO_EVALUATION if models.automatic_evaluation
                                                                 else ",".join(result.config.evaluation_seasons)),
                                           match_scores=evaluate.match_rps(result.predictions, ENSEMBLE))
    preview = model.predict_frame(fixtures) if len(fixtures) else pd.DataFrame()
    yield dg.Output(model, metadata={
        "mlflow_run_id": logged.run_id, "registered_model": models.registered_model,
        "version": str(logged.registered_version), "backtest_rps": score, "promotion": promotion.reason,
        "upcoming_fixtures": len(fixtures),
        "preview": dg.MetadataValue.md(
            pd.concat([rows[["match_date", "home_team_id", "away_team_id"]], preview[production.P].round(3)], axis=1)
            .head(10).to_string(index=False).join(["```\n", "\n```"]) if len(preview) else "(no upcoming fixtures)")})
    mine, theirs = ((promotion.score_on_common, promotion.champion_score_on_common)
                    if promotion.common_matches else (score, promotion.previous_score))
    tie = theirs is not None and abs(theirs - mine) < 1e-9
    yield dg.AssetCheckResult(
        check_name="beats_champion", passed=promotion.promoted,
        severity=dg.AssetCheckSeverity.WARN if tie else dg.AssetCheckSeverity.ERROR,
        description=promotion.reason, metadata={
            "backtest_rps": score, "champion_rps": promotion.previous_score,
            "common_matches": promotion.common_matches,
            "rps_on_common_matches": promotion.score_on_common,
            "champion_rps_on_common_matches": promotion.champion_score_on_common})


ASSETS = [match_features, backtest, bayesian_dixon_coles, xgboost_model, ensemble]
