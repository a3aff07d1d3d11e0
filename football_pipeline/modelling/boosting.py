"""Gradient-boosted models: XGBoost on the point-in-time features, and the LightGBM meta-learner that
stacks the base models' out-of-sample probabilities.

The stack never sees an in-sample prediction: its training rows are predictions each base model made
before the match, in earlier walk-forward steps. Rows are weighted by recency (half-life
`half_life_days`). Each base model is first calibrated by a temperature of its own (one parameter,
fitted on all those rows: the Bayesian model's forecasts are too timid, XGBoost's too bold); the linear
pool's weights over the calibrated models are refitted at every step, so they follow the base models'
recent performance; LightGBM then corrects the pool (boosting from the pool's log-probabilities), kept
only where the most recent quarter of the training rows (held out, time ordered) shows a clear gain.
Measured on EPL 2018-23 (bench/bench_backtest.py --restack): a final temperature fitted on that
hold-out cost RPS, and so did a LightGBM correction admitted at a 0.002 log-loss margin, hence no
final temperature and a 0.005 margin; a geometric pool (`StackConfig.pool`) scored the same as the
linear one (matchweek walk 2018-23: ensemble 0.1976 vs 0.1975, ensemble_no_odds 0.1987 vs 0.1988).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.optimize import minimize, minimize_scalar

from football_pipeline.modelling import metrics

PROBABILITIES = ["p_home", "p_draw", "p_away"]


@dataclass(frozen=True)
class XGBoostConfig:
    n_estimators: int = 250
    learning_rate: float = 0.03
    max_depth: int = 3
    subsample: float = 0.8
    colsample_bytree: float = 0.6
    min_child_weight: float = 10.0
    reg_lambda: float = 5.0
    n_jobs: int = 2
    seed: int = 0


@dataclass
class XGBoostModel:
    features: list[str]
    config: XGBoostConfig = field(default_factory=XGBoostConfig)
    booster: xgb.XGBClassifier | None = None
    n_train: int = 0

    def fit(self, frame: pd.DataFrame, outcomes: np.ndarray) -> XGBoostModel:
        cfg = self.config
        self.booster = xgb.XGBClassifier(
            objective="multi:softprob", num_class=3, n_estimators=cfg.n_estimators,
            learning_rate=cfg.learning_rate, max_depth=cfg.max_depth, subsample=cfg.subsample,
            colsample_bytree=cfg.colsample_bytree, min_child_weight=cfg.min_child_weight,
            reg_lambda=cfg.reg_lambda, n_jobs=cfg.n_jobs, random_state=cfg.seed, tree_method="hist",
            eval_metric="mlogloss")
        self.booster.fit(frame[self.features].to_numpy(dtype=float), outcomes)
        self.n_train = len(frame)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("XGBoostModel.predict_proba before fit")
        return self.booster.predict_proba(frame[self.features].to_numpy(dtype=float))

    def importance(self) -> pd.DataFrame:
        gain = self.booster.get_booster().get_score(importance_type="gain")
        named = {self.features[int(k[1:])] if k.startswith("f") and k[1:].isdigit() else k: v
                 for k, v in gain.items()}
        return (pd.DataFrame({"feature": list(named), "gain": list(named.values())})
                .sort_values("gain", ascending=False, ignore_index=True))


@dataclass(frozen=True)
class StackConfig:
    half_life_days: float = 730.0  # recency weighting of the training rows
    n_estimators: int = 40  # at most this many LightGBM rounds on top of the pool (the hold-out picks)
    learning_rate: float = 0.03
    num_leaves: int = 4
    min_data_in_leaf: int = 100
    lambda_l2: float = 10.0
    min_gain: float = 0.005  # hold-out log-loss gain the LightGBM correction must show
    form_window: int = 150  # recent scored predictions that measure each base model's form (reported)
    min_rows: int = 200
    calibrate: bool = True  # each base model's temperature (False: pool the raw probabilities)
    # "linear": a mixture of the base models' probabilities (simplex weights); "logarithmic": a
    # geometric pool, P ∝ Π p_k^w_k with free weights (a conditional logit on the log-probabilities, as
    # in Benter's blend of a model with the market).
    pool: str = "linear"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pool not in ("linear", "logarithmic"):
            raise ValueError(f"StackConfig.pool must be 'linear' or 'logarithmic', not {self.pool!r}")


def pool_weights(predictions: list[np.ndarray], outcomes: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Simplex weights of the linear opinion pool that minimise the recency-weighted log loss: the
    weights follow the base models' recent performance."""
    stacked = np.stack(predictions)  # (models, rows, 3)
    hit = stacked[:, np.arange(len(outcomes)), outcomes]  # (models, rows)

    def loss(theta: np.ndarray) -> float:
        w = np.exp(theta - theta.max())
        w /= w.sum()
        return float(-(weight * np.log(np.clip(w @ hit, 1e-12, None))).sum() / weight.sum())

    theta = minimize(loss, np.zeros(len(predictions)), method="Nelder-Mead",
                     options={"xatol": 1e-4, "fatol": 1e-8, "maxiter": 2000}).x
    w = np.exp(theta - theta.max())
    return w / w.sum()


def log_pool(weights: np.ndarray, predictions: list[np.ndarray]) -> np.ndarray:
    """Log-probabilities of the geometric pool Π p_k^w_k, normalised over the outcomes."""
    logits = sum(w * np.log(np.clip(p, 1e-9, 1.0)) for w, p in zip(weights, predictions, strict=True))
    logits = logits - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def log_pool_weights(predictions: list[np.ndarray], outcomes: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weights of the geometric pool that minimise the recency-weighted log loss (free, not on the
    simplex: their sum also sets how sharp the pool is)."""
    rows = np.arange(len(outcomes))

    def loss(w: np.ndarray) -> float:
        return float(-(weight * log_pool(w, predictions)[rows, outcomes]).sum() / weight.sum())

    start = np.full(len(predictions), 1.0 / len(predictions))
    return minimize(loss, start, method="L-BFGS-B", bounds=[(-1.0, 3.0)] * len(predictions)).x


@dataclass
class StackModel:
    """Stacked ensemble over the base models' out-of-sample probabilities: each base model calibrated by
    its own temperature, a linear pool over them whose weights follow recent performance, corrected by
    a LightGBM multiclass booster that starts from the pool's log-probabilities (so it learns only what
    the pool misses: a few shallow, regularised rounds on the base models' log-odds) where that earns
    its place on held-out recent rows."""

    base_models: list[str]
    config: StackConfig = field(default_factory=StackConfig)
    weights: np.ndarray | None = None
    base_temperatures: np.ndarray | None = None  # each base model's calibrating temperature
    booster: lgb.Booster | None = None
    rounds: int = 0  # LightGBM rounds kept (chosen on the time-ordered hold-out)
    n_train: int = 0

    def _probabilities(self, frame: pd.DataFrame) -> list[np.ndarray]:
        out = []
        for k, m in enumerate(self.base_models):
            p = np.clip(frame[[f"{m}_p_home", f"{m}_p_draw", f"{m}_p_away"]].to_numpy(dtype=float), 1e-6, 1.0)
            p = p / p.sum(axis=1, keepdims=True)
            if self.base_temperatures is not None:
                p = _soften(p, float(self.base_temperatures[k]))
            out.append(p)
        return out

    @staticmethod
    def _inputs(probabilities: list[np.ndarray]) -> np.ndarray:
        return np.column_stack([c for p in probabilities
                                for c in (np.log(p[:, 0] / p[:, 1]), np.log(p[:, 2] / p[:, 1]))])

    def fit(self, history: pd.DataFrame, as_of: pd.Timestamp) -> StackModel:
        """`history`: earlier matches with `<model>_p_home/_p_draw/_p_away` for every base model (the
        predictions made before each match), match_date and result."""
        cfg = self.config
        history = history.dropna(subset=[f"{m}_p_home" for m in self.base_models]).sort_values("match_date")
        if len(history) < cfg.min_rows:
            raise ValueError(f"{len(history)} out-of-sample predictions to stack on, fewer than {cfg.min_rows}")
        y = metrics.outcome_index(history["result"])
        age = (pd.Timestamp(as_of) - pd.to_datetime(history["match_date"])).dt.days.to_numpy()
        weight = 0.5 ** (age / cfg.half_life_days)
        self.base_temperatures = None
        raw = self._probabilities(history)

        def calibrated(rows: slice) -> tuple[np.ndarray, list[np.ndarray]]:
            """Each base model's temperature fitted on `rows`, and every row's probabilities softened by it."""
            temperatures = np.array([_temperature(p[rows], y[rows], weight[rows]) if cfg.calibrate else 1.0
                                     for p in raw])
            return temperatures, [_soften(p, t) for p, t in zip(raw, temperatures, strict=True)]

        # Time-ordered hold-out (the newest quarter): how many LightGBM rounds help (0 is allowed: the
        # pool alone), with the base models calibrated on the older rows only.
        cut = int(len(history) * 0.75)
        _, older_fit = calibrated(slice(0, cut))
        earlier = [p[:cut] for p in older_fit]
        later = [p[cut:] for p in older_fit]
        held = StackModel(self.base_models, self.config)
        held._train(earlier, self._inputs(earlier), y[:cut], weight[:cut], cfg.n_estimators)
        later_x = self._inputs(later)
        losses = [float(metrics.log_loss(held._raw(later, later_x, k), y[cut:]).mean())
                  for k in range(cfg.n_estimators + 1)]
        # A few hundred held-out rows are noisy: the correction is kept only when it beats the pool on
        # the hold-out by a clear margin, not by chance.
        best = int(np.argmin(losses))
        self.rounds = best if losses[0] - losses[best] > cfg.min_gain else 0
        temperatures, probabilities = calibrated(slice(None))
        self.base_temperatures = temperatures if cfg.calibrate else None
        self._train(probabilities, self._inputs(probabilities), y, weight, self.rounds)
        self.n_train = len(history)
        return self

    def _train(self, probabilities, x, y, weight, rounds: int) -> None:
        cfg = self.config
        if cfg.pool == "logarithmic":
            self.weights = log_pool_weights(probabilities, y, weight)
        else:
            self.weights = pool_weights(probabilities, y, weight)
        init = self._pooled(probabilities)
        params = {"objective": "multiclass", "num_class": 3, "learning_rate": cfg.learning_rate,
                  "num_leaves": cfg.num_leaves, "min_data_in_leaf": cfg.min_data_in_leaf,
                  "lambda_l2": cfg.lambda_l2, "verbosity": -1, "seed": cfg.seed, "num_threads": 2,
                  "deterministic": True, "force_row_wise": True}
        data = lgb.Dataset(x, label=y, weight=weight, init_score=init)
        self.booster = lgb.train(params, data, num_boost_round=rounds) if rounds else None

    def _pooled(self, probabilities) -> np.ndarray:
        """The pool's log-probabilities."""
        if self.config.pool == "logarithmic":
            return log_pool(self.weights, probabilities)
        return np.log(np.clip(sum(w * p for w, p in zip(self.weights, probabilities, strict=True)), 1e-9, 1))

    def _raw(self, probabilities, x, rounds: int | None = None) -> np.ndarray:
        logits = self._pooled(probabilities)
        if self.booster is not None and rounds != 0:
            logits = logits + self.booster.predict(x, raw_score=True, num_iteration=rounds)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.weights is None:
            raise RuntimeError("StackModel.predict_proba before fit")
        probabilities = self._probabilities(frame)
        return self._raw(probabilities, self._inputs(probabilities))

    def weights_by_model(self) -> dict[str, float]:
        return {m: float(w) for m, w in zip(self.base_models, self.weights, strict=True)}

    def temperatures_by_model(self) -> dict[str, float]:
        temperatures = np.ones(len(self.base_models)) if self.base_temperatures is None else self.base_temperatures
        return {m: float(t) for m, t in zip(self.base_models, temperatures, strict=True)}


def _soften(p: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(p, 1e-9, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def _temperature(p: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> float:
    """The temperature that minimises the (weighted) log loss of `p` on outcomes `y` (1 = leave as is;
    below 1 sharpens, above 1 softens)."""
    if len(y) < 30:
        return 1.0
    weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    result = minimize_scalar(lambda t: float((weight * metrics.log_loss(_soften(p, t), y)).sum() / weight.sum()),
                             bounds=(0.5, 3.0), method="bounded")
    return float(result.x)
