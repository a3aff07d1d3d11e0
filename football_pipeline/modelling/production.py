"""The models in service: fitted on everything known at the as-of date, predicting what comes after.

`fixture_frame` gives the point-in-time inputs of any set of matches (features, Dixon-Coles strengths
from a fit before the as-of date, promotion flags); `EnsembleModel` is the production stack as one
object (Bayesian posterior draws, both XGBoost models, both LightGBM stacks): MLflow serves it as one
pyfunc model whose input is a `fixture_frame`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from football_pipeline.modelling import metrics
from football_pipeline.modelling.backtest import (
    BASE_MODELS,
    BAYES,
    DC_FEATURES,
    ENSEMBLE,
    ENSEMBLE_NO_ODDS,
    MARKET_OPEN,
    MLE_LOWER,
    STACKS,
    XGB,
    XGB_NO_ODDS,
    BacktestConfig,
    lower_division,
    recent_form,
    window,
)
from football_pipeline.modelling.boosting import StackModel, XGBoostModel
from football_pipeline.modelling.dixon_coles import Posterior
from football_pipeline.modelling.dixon_coles import predict as bayes_predict
from football_pipeline.modelling.mle import DixonColesMLE, MLEFit

P = ["p_home", "p_draw", "p_away"]
IDENTITY = ["match_id", "match_date", "competition_id", "season", "home_team_id", "away_team_id", "home_promoted",
            "away_promoted", "home_newness", "away_newness"]


def dixon_coles_features(fit: MLEFit, model: DixonColesMLE, rows: pd.DataFrame) -> pd.DataFrame:
    p = model.predict(fit, rows["home_team_id"], rows["away_team_id"])
    home = np.array([fit.strengths(t) for t in rows["home_team_id"]]).reshape(-1, 2)
    away = np.array([fit.strengths(t) for t in rows["away_team_id"]]).reshape(-1, 2)
    return pd.DataFrame({
        "dc_home_attack": home[:, 0], "dc_home_defence": home[:, 1], "dc_away_attack": away[:, 0],
        "dc_away_defence": away[:, 1], "dc_p_home": p["p_home"].to_numpy(), "dc_p_draw": p["p_draw"].to_numpy(),
        "dc_p_away": p["p_away"].to_numpy(), "dc_expected_home_goals": p["expected_home_goals"].to_numpy(),
        "dc_expected_away_goals": p["expected_away_goals"].to_numpy()}, index=rows.index)


def upcoming(frame: pd.DataFrame, competition: str, as_of: dt.date) -> pd.DataFrame:
    """The competition's matches on or after the as-of date (their results hidden from every model)."""
    rows = frame[(frame["competition_id"] == competition) & (frame["match_date"] >= pd.Timestamp(as_of))]
    return rows.sort_values(["match_date", "match_id"])


@dataclass
class PosteriorModel:
    """The Bayesian Dixon-Coles alone as a servable model (registered in MLflow beside the ensemble):
    `predict_proba(fixtures)` -> (n, 3) H/D/A posterior-mean probabilities for rows with home_team_id,
    away_team_id, season and (optionally) home_newness/away_newness; `predict_frame` adds expected goals,
    90% intervals, entropy, totals, both-to-score and the most likely score."""

    posterior: Posterior

    def predict_frame(self, fixtures: pd.DataFrame) -> pd.DataFrame:
        parts = []
        for season, batch in fixtures.groupby("season", sort=False) if len(fixtures) else ():
            flags = [batch[c].to_numpy(dtype=float) if c in batch else np.zeros(len(batch))
                     for c in ("home_newness", "away_newness")]
            part = bayes_predict(self.posterior, list(batch["home_team_id"]), list(batch["away_team_id"]),
                                 str(season), *flags)
            part.index = batch.index
            parts.append(part)
        if not parts:
            return pd.DataFrame(columns=P, index=fixtures.index, dtype=float)
        return pd.concat(parts).reindex(fixtures.index)

    def predict_proba(self, fixtures: pd.DataFrame) -> np.ndarray:
        return self.predict_frame(fixtures)[P].to_numpy(dtype=float)


@dataclass
class EnsembleModel:
    """The production stack. `predict_proba(fixtures)` -> (n, 3) H/D/A; rows with pre-match prices use
    the stack with the market as an input, rows without them the no-odds stack."""

    posterior: Posterior
    xgboost: XGBoostModel
    xgboost_no_odds: XGBoostModel
    stacks: dict[str, StackModel]
    form: dict[str, float]
    market_features: list[str]
    as_of: dt.date
    training_size: int
    hyperparameters: dict = field(default_factory=dict)

    def base_predictions(self, fixtures: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=fixtures.index)
        # Each fixture gets its own season's home advantage (a batch may span the end of one season and
        # the start of the next).
        parts = []
        for season, batch in fixtures.groupby("season", sort=False) if len(fixtures) else ():
            part = bayes_predict(self.posterior, list(batch["home_team_id"]), list(batch["away_team_id"]),
                                 str(season), batch["home_newness"].to_numpy(), batch["away_newness"].to_numpy())
            part.index = batch.index
            parts.append(part)
        bayes = pd.concat(parts).reindex(fixtures.index) if parts else bayes_predict(
            self.posterior, [], [], None, np.zeros(0), np.zeros(0))
        for column in P:
            out[f"{BAYES}_{column}"] = bayes[column]
            # The ML Dixon-Coles member is the strengths fit whose probabilities `fixture_inputs` carries.
            out[f"{MLE_LOWER}_{column}"] = fixtures[f"dc_{column}"].to_numpy(dtype=float) \
                if f"dc_{column}" in fixtures else np.nan
        for name, model in ((XGB, self.xgboost), (XGB_NO_ODDS, self.xgboost_no_odds)):
            p = model.predict_proba(fixtures)
            for k, column in enumerate(P):
                out[f"{name}_{column}"] = p[:, k]
        for column in P:
            out[f"{MARKET_OPEN}_{column}"] = fixtures[f"market_{column}"].to_numpy(dtype=float) \
                if f"market_{column}" in fixtures else np.nan
        for name, value in self.form.items():
            out[f"{name}_form"] = value
        for column in ("expected_home_goals", "expected_away_goals", "entropy", "p_over_1_5", "p_over_2_5",
                       "p_over_3_5", "p_btts", "p_most_likely_score",
                       "p_home_lo", "p_home_hi", "p_draw_lo", "p_draw_hi", "p_away_lo", "p_away_hi"):
            out[f"{BAYES}_{column}"] = bayes[column]
        return out

    def predict_proba(self, fixtures: pd.DataFrame) -> np.ndarray:
        return self.predict_frame(fixtures)[P].to_numpy()

    def predict_frame(self, fixtures: pd.DataFrame) -> pd.DataFrame:
        """Probabilities plus which stack answered, entropy, and from the Bayesian model's score matrix its
        expected goals, 90% intervals, totals (over 1.5/2.5/3.5), both-to-score and top exact score's probability."""
        base = self.base_predictions(fixtures)
        with_market = base[[f"{MARKET_OPEN}_{c}" for c in P]].notna().all(axis=1).to_numpy()
        p = np.full((len(fixtures), 3), np.nan)
        if ENSEMBLE in self.stacks and with_market.any():
            p[with_market] = self.stacks[ENSEMBLE].predict_proba(base[with_market])
        rest = ~np.isfinite(p).all(axis=1)
        if rest.any():
            p[rest] = self.stacks[ENSEMBLE_NO_ODDS].predict_proba(base[rest])
        out = pd.DataFrame(p, columns=P, index=fixtures.index)
        out["stack"] = np.where(rest, ENSEMBLE_NO_ODDS, ENSEMBLE)
        # Goals, totals, both-to-score and exact score: the Bayesian model's score matrix (the stacks are 1X2).
        for column in ("expected_home_goals", "expected_away_goals", "p_home_lo", "p_home_hi", "p_draw_lo",
                       "p_draw_hi", "p_away_lo", "p_away_hi", "p_over_1_5", "p_over_2_5", "p_over_3_5", "p_btts",
                       "p_most_likely_score"):
            out[column] = base[f"{BAYES}_{column}"]
        out["entropy"] = -(p * np.log(np.clip(p, 1e-15, 1))).sum(axis=1)
        return out


def xgboost_training(frame: pd.DataFrame, feats: pd.DataFrame, dc: pd.DataFrame, config: BacktestConfig,
                     as_of: dt.date) -> tuple[pd.DataFrame, pd.Series]:
    """XGBoost's inputs for the competition's matches and which of them it trains on: played before the
    as-of date, with Dixon-Coles strengths (none in the first season of data)."""
    comp = frame[frame["competition_id"] == config.competition]
    x = feats.loc[comp.index].join(dc)
    train = (comp["match_date"] < pd.Timestamp(as_of)) & comp["result"].isin(["H", "D", "A"]) & x["dc_p_home"].notna()
    return x, train


def fit_xgboost(frame: pd.DataFrame, feats: pd.DataFrame, dc: pd.DataFrame, config: BacktestConfig,
                as_of: dt.date, feature_names: list[str], market_features: list[str],
                min_rows: int = 200) -> tuple[XGBoostModel, XGBoostModel]:
    x, train = xgboost_training(frame, feats, dc, config, as_of)
    if train.sum() < min_rows:
        raise ValueError(f"{config.competition}: {int(train.sum())} matches with features before {as_of}, "
                         f"too few to train XGBoost (at least {min_rows})")
    comp = frame.loc[x.index]
    y = metrics.outcome_index(comp.loc[train, "result"])
    no_odds = [*feature_names, *DC_FEATURES]
    with_odds = XGBoostModel([*no_odds, *market_features], config.xgboost).fit(x[train], y)
    without = XGBoostModel(no_odds, config.xgboost).fit(x[train], y)
    return with_odds, without


def fit_stacks(oos: pd.DataFrame, as_of: dt.date, config: BacktestConfig) -> tuple[dict[str, StackModel], dict]:
    history = oos[(oos["match_date"] < pd.Timestamp(as_of)) & oos["result"].notna()]
    stacks = {name: StackModel(list(models), config.stack).fit(history, pd.Timestamp(as_of))
              for name, models in STACKS.items()}
    form = {name: value for name, value in
            recent_form(history, BASE_MODELS, config.stack.form_window).items()
            if np.isfinite(value)}
    return stacks, form


def stack_metrics(stacks: dict[str, StackModel]) -> dict[str, float]:
    """What each stack learned, for MLflow: pool weight and calibrating temperature per base model, and
    the LightGBM rounds kept (0: the hold-out did not show the correction to help)."""
    out: dict[str, float] = {}
    for name, stack in stacks.items():
        out.update({f"{name}_weight_{m}": w for m, w in stack.weights_by_model().items()})
        out.update({f"{name}_temperature_{m}": t for m, t in stack.temperatures_by_model().items()})
        out[f"{name}_lightgbm_rounds"] = float(stack.rounds)
    return out


def fixture_inputs(frame: pd.DataFrame, feats: pd.DataFrame, rows: pd.DataFrame, mle_fit: MLEFit,
                   mle: DixonColesMLE) -> pd.DataFrame:
    """Everything `EnsembleModel.predict_proba` reads, for `rows` of `frame`."""
    return pd.concat([rows[IDENTITY], feats.loc[rows.index], dixon_coles_features(mle_fit, mle, rows)], axis=1)


def production_window(frame: pd.DataFrame, config: BacktestConfig, as_of: dt.date,
                      lower: bool | None = None) -> pd.DataFrame:
    """The window of a fit as of `as_of` (the Bayesian model's; `lower=config.strengths_lower_division`
    for the ML strengths fit's: with or without the division below, see `backtest.window`)."""
    comp = frame[frame["competition_id"] == config.competition]
    before = comp[comp["match_date"] < pd.Timestamp(as_of)]
    if before.empty:
        raise ValueError(f"{config.competition}: no matches before {as_of}")
    season = comp[comp["match_date"] >= pd.Timestamp(as_of)]["season"].min()
    season = season if isinstance(season, str) else before["season"].max()
    return window(comp, season, pd.Timestamp(as_of), config.window_seasons,
                  lower_division(frame, config, lower))


def thin(posterior: Posterior, draws: int = 400) -> Posterior:
    """Keep `draws` evenly spaced posterior draws (the served model stays small)."""
    total = len(posterior.samples["intercept"])
    pick = np.linspace(0, total - 1, min(draws, total)).astype(int)
    samples = {k: v[pick] for k, v in posterior.samples.items()}
    return Posterior(posterior.teams, posterior.seasons, samples, posterior.diagnostics, posterior.fit_seconds,
                     posterior.n_matches, posterior.as_of, posterior.config, posterior.mode)
