"""Publish the champion's predictions of the upcoming fixtures into the warehouse's `predictions` table.

Dagster-free: the `serving/predictions` asset and tests call `publish`.

- The model is the registry's champion (`models:/<name>@champion`), never the last fitted one: a model
  that did not beat the champion's backtest never reaches consumers. No champion, or one that cannot be
  loaded: `ChampionUnavailableError` naming the model, before anything is written (the previous
  predictions stay served).
- One row per upcoming fixture and (model name, registered version): probabilities in percent rounded
  to 0.1 so that the three sum to exactly 100.0, expected goals, the Bayesian 90% intervals in percent
  (`credible_interval`), entropy, and what the model is (type, version, training size, features,
  hyperparameters, MLflow run).
- Idempotent and atomic: the version's rows for those fixtures are deleted and inserted again in one
  transaction; a failure anywhere rolls everything back.
- A fixture whose team is not in `teams` (the table the predictions' foreign keys point at) is
  skipped and named in the report; the other fixtures are published.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from football_pipeline.modelling import production, tracking
from football_pipeline.modelling.tracking import ChampionUnavailableError
from football_pipeline.warehouse import schema

MODEL_TYPE = "ensemble"
PCT = ("home_win_pct", "draw_pct", "away_win_pct")
INTERVALS = {"home_win_pct": ("p_home_lo", "p_home_hi"), "draw_pct": ("p_draw_lo", "p_draw_hi"),
             "away_win_pct": ("p_away_lo", "p_away_hi")}
_CHUNK = 500  # rows per INSERT statement

__all__ = ["ChampionUnavailableError", "PublishReport", "SkippedFixture", "percentages", "publish",
           "unwrap_ensemble"]


@dataclass(frozen=True)
class SkippedFixture:
    match_id: str
    reason: str


@dataclass
class PublishReport:
    model_name: str
    model_version: str
    mlflow_run_id: str | None
    fixtures: int  # upcoming fixtures of the competition
    rows_written: int
    replaced: int  # rows of this model version that existed before for these matches (re-publish)
    skipped: list[SkippedFixture] = field(default_factory=list)
    next_matchday: dt.date | None = None  # the first upcoming match date published
    predicted_at: dt.datetime | None = None
    stacks: dict[str, int] = field(default_factory=dict)  # which stack answered, per fixture count

    def summary(self) -> str:
        text = (f"{self.model_name} v{self.model_version}: {self.rows_written} predictions written "
                f"({self.replaced} replaced) for {self.fixtures} upcoming fixtures")
        if self.next_matchday:
            text += f", next matchday {self.next_matchday.isoformat()}"
        if self.skipped:
            text += "; skipped " + "; ".join(f"{s.match_id} ({s.reason})" for s in self.skipped)
        return text


def unwrap_ensemble(model: Any) -> Any:
    """The pickled object inside a pyfunc loaded from the registry (`ProbabilityModel.model`), or the
    object itself when it is not a pyfunc (tests may pass the model directly)."""
    unwrap = getattr(model, "unwrap_python_model", None)
    if callable(unwrap):
        python_model = unwrap()
        return getattr(python_model, "model", python_model)
    return model


def percentages(p: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities -> percentages with one decimal whose rows sum to exactly 100.0 (largest
    remainder: each row's 1000 tenths go to the outcomes in proportion, the leftovers to the largest
    fractions)."""
    p = np.asarray(p, dtype=float)
    if p.ndim != 2 or p.shape[1] != 3 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probabilities must be finite, non-negative (n, 3) home/draw/away rows")
    totals = p.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise ValueError("a row of probabilities sums to 0")
    tenths = p / totals * 1000.0
    floor = np.floor(tenths)
    short = (1000 - floor.sum(axis=1)).astype(int)
    order = np.argsort(-(tenths - floor), axis=1, kind="stable")
    for i, k in enumerate(short):
        floor[i, order[i, :k]] += 1
    return floor / 10.0


def _pct(value: Any) -> float | None:
    number = float(value) if value is not None else math.nan
    return round(100.0 * number, 1) if math.isfinite(number) else None


def _number(value: Any, digits: int = 4) -> float | None:
    number = float(value) if value is not None else math.nan
    return round(number, digits) if math.isfinite(number) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _utc(value: Any) -> dt.datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def _known_teams(connection: sa.Connection, team_ids: set[str]) -> set[str]:
    if not team_ids:
        return set()
    t = schema.teams
    return set(connection.execute(sa.select(t.c.team_id).where(t.c.team_id.in_(sorted(team_ids)))).scalars())


def _feature_names(model: Any) -> list[str]:
    names: list[str] = []
    for attribute in ("xgboost", "xgboost_no_odds"):
        for name in getattr(getattr(model, attribute, None), "features", None) or []:
            if name not in names:
                names.append(str(name))
    return names


def publish(engine: sa.Engine, champion_name: str, frame: pd.DataFrame, features: pd.DataFrame, mle_fit: Any,
            mle: Any, competition: str, as_of: dt.date,
            model_loader: Callable[[str], Any] = tracking.load_champion) -> PublishReport:
    """Predict `competition`'s upcoming fixtures (matches of `frame` on/after `as_of`) with the champion
    of registered model `champion_name` and write them to `predictions` in one transaction.

    Raises `ChampionUnavailableError` (nothing written) when there is no champion or it cannot be
    loaded or used; any database error rolls the whole publish back.
    """
    started, started_at = time.perf_counter(), dt.datetime.now(dt.UTC)
    version = tracking.champion(champion_name)
    if version is None:
        raise ChampionUnavailableError(
            f"registered model {champion_name!r} has no champion: nothing published, the previous "
            "predictions stay served")
    try:
        loaded = model_loader(champion_name)
    except ChampionUnavailableError:
        raise
    except Exception as exc:
        raise ChampionUnavailableError(
            f"champion v{version.version} of registered model {champion_name!r} could not be loaded: {exc}"
        ) from exc
    # The champion may have moved while loading: publish under the version actually loaded.
    loaded_run = getattr(getattr(loaded, "metadata", None), "run_id", None)
    if loaded_run and version.run_id and loaded_run != version.run_id:
        now = tracking.champion(champion_name)
        if now is None or now.run_id != loaded_run:
            raise ChampionUnavailableError(
                f"champion of {champion_name!r} moved while it was being loaded; publish again")
        version = now
    model = unwrap_ensemble(loaded)
    if not callable(getattr(model, "predict_frame", None)):
        raise ChampionUnavailableError(
            f"champion v{version.version} of {champion_name!r} is a {type(model).__name__}, not an ensemble "
            "with predict_frame (expected football_pipeline.modelling.production.EnsembleModel)")

    rows = production.upcoming(frame, competition, as_of)
    report = PublishReport(model_name=champion_name, model_version=str(version.version),
                           mlflow_run_id=version.run_id, fixtures=len(rows), rows_written=0, replaced=0)

    with engine.connect() as connection:
        known = _known_teams(connection, set(rows["home_team_id"]) | set(rows["away_team_id"]))
    unknown = ~(rows["home_team_id"].isin(known) & rows["away_team_id"].isin(known))
    for _, row in rows[unknown].iterrows():
        missing = [t for t in (row["home_team_id"], row["away_team_id"]) if t not in known]
        report.skipped.append(SkippedFixture(str(row["match_id"]), "team not in teams: " + ", ".join(missing)))
    rows = rows[~unknown]
    if rows.empty:
        return report

    try:
        inputs = production.fixture_inputs(frame, features, rows, mle_fit, mle)
        predicted = model.predict_frame(inputs)
    except Exception as exc:
        raise ChampionUnavailableError(
            f"champion v{version.version} of {champion_name!r} failed to predict {len(rows)} fixtures: {exc}"
        ) from exc
    pct = percentages(predicted[production.P].to_numpy(dtype=float))

    predicted_at = dt.datetime.now(dt.UTC)
    feature_names = _feature_names(model)
    base_hyper = _jsonable(getattr(model, "hyperparameters", {}) or {})
    training_size = getattr(model, "training_size", None)
    records = []
    for i, (index, row) in enumerate(rows.iterrows()):
        out = predicted.loc[index]
        interval = {name: [_pct(out.get(lo)), _pct(out.get(hi))] for name, (lo, hi) in INTERVALS.items()
                    if lo in predicted and hi in predicted}
        hyper = dict(base_hyper)
        if "stack" in predicted:
            hyper["stack"] = str(out["stack"])
        records.append({
            "match_id": str(row["match_id"]), "model_name": champion_name, "model_version": report.model_version,
            "kickoff_at": _utc(row["kickoff_at"]), "competition_id": str(row["competition_id"]),
            "season": str(row["season"]), "home_team_id": str(row["home_team_id"]),
            "away_team_id": str(row["away_team_id"]),
            "home_win_pct": float(pct[i, 0]), "draw_pct": float(pct[i, 1]), "away_win_pct": float(pct[i, 2]),
            "expected_home_goals": _number(out.get("expected_home_goals")),
            "expected_away_goals": _number(out.get("expected_away_goals")),
            "credible_interval": interval or None, "entropy": _number(out.get("entropy"), 6),
            "model_type": MODEL_TYPE, "training_size": int(training_size) if training_size is not None else None,
            "features": feature_names, "hyperparameters": hyper, "mlflow_run_id": version.run_id,
            "predicted_at": predicted_at,
        })
    if "stack" in predicted:
        report.stacks = {str(k): int(v) for k, v in predicted["stack"].value_counts().items()}

    table = schema.predictions
    match_ids = [r["match_id"] for r in records]
    with engine.begin() as connection:  # one transaction: all rows or none
        for start in range(0, len(match_ids), _CHUNK):
            chunk = match_ids[start:start + _CHUNK]
            deleted = connection.execute(table.delete().where(
                table.c.model_name == champion_name, table.c.model_version == report.model_version,
                table.c.match_id.in_(chunk)))
            report.replaced += max(deleted.rowcount or 0, 0)
        for start in range(0, len(records), _CHUNK):
            connection.execute(table.insert(), records[start:start + _CHUNK])
        connection.execute(schema.publish_log.insert().values(
            model_name=champion_name, model_version=report.model_version, competition_id=competition,
            started_at=started_at, finished_at=dt.datetime.now(dt.UTC),
            duration_seconds=time.perf_counter() - started, fixtures=report.fixtures, rows_written=len(records),
            replaced=report.replaced, skipped=len(report.skipped)))
    report.rows_written = len(records)
    report.predicted_at = predicted_at
    report.next_matchday = pd.Timestamp(rows["match_date"].min()).date()
    return report
