"""Evaluate on anyone's data: the whole chain (ingest with the quality checks, features, walk-forward
backtest) on a directory in the bundled layout, written as one CSV row per match and model."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from football_pipeline.modelling import data, features, metrics
from football_pipeline.modelling.backtest import BacktestConfig, BacktestResult, run_backtest
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
                       log: Callable[[str], None] = print) -> BacktestResult:
    from football_pipeline import pipeline
    from football_pipeline.warehouse import engine as engines

    with tempfile.TemporaryDirectory(prefix="football-backtest-") as scratch:
        url = warehouse_url or f"sqlite:///{Path(scratch) / 'warehouse.db'}"
        engine = engines.create_engine(url)
        summary = pipeline.load_directory(engine, Path(data_dir), workers=2, today=today)
        log(f"Loaded {summary.partitions} partitions from {data_dir} ({summary.loaded} loaded, "
            f"{len(summary.refused)} refused) in {summary.seconds:.1f} s")
        for line in summary.refused:
            log(f"REFUSED {line}")
        frame, feats = backtest_frame(engine)
        log(f"{len(frame):,} matches, {feats.shape[1]} features")
        result = run_backtest(frame, feats, features.FEATURES, features.MARKET_FEATURES, config, log=log)
        names = team_names(engine)
        engine.dispose()
    if out is not None:
        write_csv(result.predictions, names, out)
    return result


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


def paired_rps(predictions: pd.DataFrame, model: str, reference: str) -> metrics.PairedDifference:
    """`model`'s RPS minus `reference`'s on the scored matches both predicted (long predictions as in
    `BacktestResult.predictions`), with the standard error clustered by match date."""
    scored = predictions[predictions["result"].isin(["H", "D", "A"])]
    a = scored[scored["model"] == model].set_index("match_id")
    b = scored[scored["model"] == reference].set_index("match_id")
    common = a.index.intersection(b.index)
    if len(common) < 2:
        raise ValueError(f"{model} and {reference} share {len(common)} scored matches; at least 2 are needed")
    a, b = a.loc[common], b.loc[common]
    y = metrics.outcome_index(a["result"])
    return metrics.paired_difference(metrics.rps(a[list(PROBABILITIES)].to_numpy(), y),
                                     metrics.rps(b[list(PROBABILITIES)].to_numpy(), y),
                                     clusters=a["date"].to_numpy())


def format_scores(scores: pd.DataFrame) -> str:
    if scores.empty:
        return "(no scored matches)"
    columns = [c for c in ("model", "season", "n", "rps", "log_loss", "brier", "accuracy", "ece",
                           "calibration_slope", "market_rps", "rps_vs_market", "rps_vs_market_se") if c in scores]
    return scores[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}")
