"""Evaluate on anyone's data: the whole chain (ingest with the quality checks, features, walk-forward
backtest) on a directory in the bundled layout, written as one CSV row per match and model."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from football_pipeline.common import competitions
from football_pipeline.modelling import data, features, metrics
from football_pipeline.modelling.backtest import (
    MIN_EVALUATION_MATCHES,
    BacktestConfig,
    BacktestResult,
    latest_evaluation_seasons,
    run_backtest,
)
from football_pipeline.warehouse import schema

CSV_COLUMNS = ["date", "competition", "season", "home_team", "away_team", "model", "p_home", "p_draw", "p_away",
               "result"]
PROBABILITIES = ("p_home", "p_draw", "p_away")


def backtest_frame(engine: sa.Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every match in the warehouse (all competitions: team histories cross them) and its features."""
    frame = data.with_promoted(data.load_matches(engine))
    return frame, features.build_features(frame)


def backtest_directory(data_dir: Path, config: BacktestConfig, out: Path | None = None,
                       warehouse_url: str | None = None, today: dt.date | None = None,
                       log: Callable[[str], None] = print,
                       progress: Callable[[str], None] | None = None,
                       latest: bool = False, vocabulary_dir: Path | None = None) -> BacktestResult:
    """Load `data_dir`'s leagues of the competition's country (its pyramid: teams move between them,
    other countries' leagues share no team) into a scratch warehouse, then walk forward. `log` gets
    every refit, `progress` (default: `log`) the load, the features and each season's start. `latest`:
    evaluate the data's latest season with enough results instead of `config`'s seasons
    (`backtest.latest_evaluation_seasons`; the result's config holds the seasons chosen). `vocabulary_dir`:
    curated teams/aliases in place of the bundled ones (the next-season drill)."""
    from football_pipeline import pipeline
    from football_pipeline.ingestion.files import discover
    from football_pipeline.warehouse import engine as engines

    progress = progress or log
    country = competitions.get(config.competition).country
    only = {(f.competition_id, f.season.key) for f in discover(Path(data_dir))
            if competitions.BY_ID[f.competition_id].country == country}
    if not any(competition == config.competition for competition, _ in only):
        raise ValueError(f"{config.competition}: no files for it in {data_dir}")
    with tempfile.TemporaryDirectory(prefix="football-backtest-") as scratch:
        url = warehouse_url or f"sqlite:///{Path(scratch) / 'warehouse.db'}"
        engine = engines.create_engine(url)
        summary = pipeline.load_directory(engine, Path(data_dir), workers=2, today=today, only=only,
                                          vocabulary_dir=vocabulary_dir)
        progress(f"Loaded {summary.partitions} partitions ({', '.join(sorted({c for c, _ in only}))}) from "
                 f"{data_dir} ({summary.loaded} loaded, {len(summary.refused)} refused) in {summary.seconds:.1f} s")
        for line in summary.refused:
            progress(f"REFUSED {line}")
        for line in summary.sources_left_out:
            progress(f"LEFT OUT {line}")
        for line in summary.teams_resolved:
            progress(f"TEAM {line}")
        frame, feats = backtest_frame(engine)
        progress(f"{len(frame):,} matches, {feats.shape[1]} features")
        if latest:
            seasons, as_of = latest_evaluation_seasons(frame, config.competition)
            config = dataclasses.replace(config, evaluation_seasons=seasons)
            why = latest_reason(frame, config.competition, seasons, as_of)
            progress(f"Evaluating {config.competition} {', '.join(seasons)}: {why}")
        result = run_backtest(frame, feats, features.FEATURES, features.MARKET_FEATURES, config, log=log,
                              progress=progress)
        names = team_names(engine)
        engine.dispose()
    if out is not None:
        write_csv(result.predictions, names, out)
    return result


def latest_reason(frame: pd.DataFrame, competition: str, seasons: Sequence[str], as_of: dt.date) -> str:
    """Why `latest_evaluation_seasons` chose `seasons`, in words (the CLI's progress line)."""
    played = frame[(frame["competition_id"] == competition) & frame["result"].isin(["H", "D", "A"])]
    counts = played.groupby("season").size()
    scored = ", ".join(f"{season} {counts.get(season, 0)}" for season in seasons)
    last = as_of - dt.timedelta(days=1)
    if len(seasons) > 1:
        return (f"the latest season with {MIN_EVALUATION_MATCHES} results, and the next one's first matches "
                f"(results: {scored}; the last on {last})")
    if counts.get(seasons[0], 0) >= MIN_EVALUATION_MATCHES:
        return f"the latest season with {MIN_EVALUATION_MATCHES} results ({scored}; the last on {last})"
    return f"no season has {MIN_EVALUATION_MATCHES} results, the latest with any ({scored}; the last on {last})"


def team_names(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(schema.teams.c.team_id, schema.teams.c.name)).all())


def write_csv(predictions: pd.DataFrame, names: dict[str, str], out: Path) -> None:
    table = predictions.copy()
    table["home_team"] = table["home_team"].map(names).fillna(table["home_team"])
    table["away_team"] = table["away_team"].map(names).fillna(table["away_team"])
    for column in ("p_home", "p_draw", "p_away"):
        table[column] = table[column].round(6)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table.sort_values(["date", "home_team", "model"])[CSV_COLUMNS].to_csv(out, index=False)


def match_rps(predictions: pd.DataFrame, model: str) -> pd.Series:
    """`model`'s RPS on each scored match it predicted (long predictions as in
    `BacktestResult.predictions`), indexed by match_id."""
    rows = predictions[(predictions["model"] == model) & predictions["result"].isin(["H", "D", "A"])]
    scores = metrics.rps(rows[list(PROBABILITIES)].to_numpy(dtype=float), metrics.outcome_index(rows["result"]))
    return pd.Series(scores, index=rows["match_id"].astype(str).to_numpy(), dtype=float)


def paired_rps(predictions: pd.DataFrame, model: str, reference: str) -> metrics.PairedDifference:
    """`model`'s RPS minus `reference`'s on the scored matches both predicted (long predictions as in
    `BacktestResult.predictions`), with the standard error clustered by match date."""
    a, b = match_rps(predictions, model), match_rps(predictions, reference)
    common = a.index.intersection(b.index)
    if len(common) < 2:
        raise ValueError(f"{model} and {reference} share {len(common)} scored matches; at least 2 are needed")
    dates = (predictions.assign(match_id=predictions["match_id"].astype(str))
             .drop_duplicates("match_id").set_index("match_id")["date"])
    return metrics.paired_difference(a.loc[common].to_numpy(), b.loc[common].to_numpy(),
                                     clusters=dates.loc[common].to_numpy())


def format_scores(scores: pd.DataFrame) -> str:
    if scores.empty:
        return "(no scored matches)"
    columns = [c for c in ("model", "season", "n", "rps", "log_loss", "brier", "accuracy", "ece",
                           "calibration_slope", "market_rps", "rps_vs_market", "rps_vs_market_se") if c in scores]
    return scores[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}")


@dataclass(frozen=True)
class HindsightPool:
    """The linear pool of `models` whose weights are fitted on the scored matches themselves: no stack
    trained on earlier predictions can be expected to beat it, so it bounds what pooling these members
    can reach. `loglik_gain` is its log-likelihood minus the `reference` member's alone, in nats."""

    weights: dict[str, float]
    rps: float
    reference_rps: float
    loglik_gain: float
    n: int


def hindsight_pool(predictions: pd.DataFrame, models: Sequence[str], reference: str) -> HindsightPool:
    """`predictions`: the long backtest predictions (`BacktestResult.predictions`); matches every one of
    `models` predicted and whose result is known."""
    from football_pipeline.modelling.boosting import pool_weights

    if reference not in models:
        raise ValueError(f"hindsight_pool: the reference {reference!r} is not one of the pooled models")
    scored = predictions[predictions["result"].isin(["H", "D", "A"]) & predictions["model"].isin(models)]
    wide = scored.pivot_table(index="match_id", columns="model", values=list(PROBABILITIES), aggfunc="first")
    wide = wide.dropna()
    results = scored.drop_duplicates("match_id").set_index("match_id").loc[wide.index, "result"]
    y = metrics.outcome_index(results)
    members = [wide[[(c, m) for c in PROBABILITIES]].to_numpy(dtype=float) for m in models]
    weights = pool_weights(members, y, np.ones(len(y)))
    pool = sum(w * p for w, p in zip(weights, members, strict=True))
    alone = members[list(models).index(reference)]
    rows = np.arange(len(y))
    return HindsightPool(
        weights={m: float(w) for m, w in zip(models, weights, strict=True)},
        rps=float(metrics.rps(pool, y).mean()), reference_rps=float(metrics.rps(alone, y).mean()),
        loglik_gain=float(np.log(pool[rows, y]).sum() - np.log(alone[rows, y]).sum()), n=len(y))
