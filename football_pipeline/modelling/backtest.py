"""Walk-forward backtest: refit every model at each matchweek on what was known before it, predict the
matchweek, move on. Never a random split: every prediction is out of sample in time.

A *matchweek* starts on the first match date on which a team plays that has already played since the
last refit, so every model has seen each team's previous result (cadence "matchweek"; "week" and
"month" are coarser calendars for quick runs). The stack (LightGBM) trains only on predictions the
base models made in earlier steps; `burn_in_seasons` before the evaluation seasons are walked to give
it history. Reference baselines: the de-vigged (Shin) closing market on the same matches, and a
maximum-likelihood Dixon-Coles on the same windows.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from football_pipeline.common.seasons import Season
from football_pipeline.modelling import feature_store, market, metrics
from football_pipeline.modelling.boosting import StackConfig, StackModel, XGBoostConfig, XGBoostModel
from football_pipeline.modelling.dixon_coles import BayesianDixonColes, DixonColesConfig
from football_pipeline.modelling.dixon_coles import predict as bayes_predict
from football_pipeline.modelling.mle import DixonColesMLE, MLEConfig

BAYES, MLE, XGB, XGB_NO_ODDS = "bayesian_dixon_coles", "dixon_coles_mle", "xgboost", "xgboost_no_odds"
# The ML Dixon-Coles whose windows also hold the division below (`BacktestConfig.strengths_lower_division`):
# XGBoost's strength features come from it and it joins both stacks. Where no division below is loaded (or
# the option is off) it is the same fit as MLE, which is fitted on the Bayesian model's windows.
MLE_LOWER = "dixon_coles_mle_lower"
MARKET, MARKET_OPEN = "market", "market_pre_match"
ENSEMBLE, ENSEMBLE_NO_ODDS = "ensemble", "ensemble_no_odds"
STACKS = {ENSEMBLE: (BAYES, MLE_LOWER, XGB, MARKET_OPEN), ENSEMBLE_NO_ODDS: (BAYES, MLE_LOWER, XGB_NO_ODDS)}
BASE_MODELS = (BAYES, MLE_LOWER, XGB, XGB_NO_ODDS, MARKET_OPEN)  # what the stacks may pool
MODELS = (BAYES, MLE, MLE_LOWER, XGB, XGB_NO_ODDS, ENSEMBLE, ENSEMBLE_NO_ODDS, MARKET_OPEN, MARKET)
DC_FEATURES = ["dc_home_attack", "dc_home_defence", "dc_away_attack", "dc_away_defence", "dc_p_home", "dc_p_draw",
               "dc_p_away", "dc_expected_home_goals", "dc_expected_away_goals"]
P = ["p_home", "p_draw", "p_away"]
MIN_TRAIN = 200  # XGBoost sits out a step with fewer earlier matches that have features
MIN_EVALUATION_MATCHES = 100  # an evaluation season scored on fewer says little (the backtest's blocking check)
# The division below each competition (football-data.co.uk codes): its results rate promoted teams.
LOWER_DIVISION = {"E0": "E1", "E1": "E2", "E2": "E3", "SC0": "SC1", "D1": "D2", "I1": "I2", "SP1": "SP2", "F1": "F2"}
PROMOTION_FLAGS = ("home_promoted", "away_promoted", "home_newness", "away_newness")
Cadence = Literal["matchweek", "week", "month"]  # also the Dagster resource's config type (a launchpad enum)
CADENCES: tuple[str, ...] = get_args(Cadence)


@dataclass(frozen=True)
class BacktestConfig:
    competition: str = "E0"
    evaluation_seasons: tuple[str, ...] = ("2018-2019", "2019-2020", "2020-2021", "2021-2022", "2022-2023")
    window_seasons: int = 3  # seasons of the competition in each Dixon-Coles fit, the current one included
    # The Bayesian model's windows (and those of MLE, its reference) also hold the division below's earlier
    # window seasons. Off: measured, it helps the ML fit, 0.1997 -> 0.1985, but not the Bayesian model
    # (README, Model benchmarks).
    lower_division: bool = False
    # The ML fit behind XGBoost's Dixon-Coles strength features and the stacks' MLE_LOWER member does see
    # them (on: matchweek ML walk 0.1985 against 0.1997; README, Model benchmarks).
    strengths_lower_division: bool = True
    cadence: Cadence = "matchweek"
    burn_in_seasons: int = 1
    bayes: DixonColesConfig = field(default_factory=DixonColesConfig)
    mle: MLEConfig = field(default_factory=MLEConfig)
    xgboost: XGBoostConfig = field(default_factory=XGBoostConfig)
    stack: StackConfig = field(default_factory=StackConfig)
    bayesian: bool = True  # False: skip the Bayesian model (and the stacks built on it)

    def __post_init__(self) -> None:
        """Refuse seasons and cadences the walk cannot mean before any data is read (a CLI flag or
        FOOTBALL_MODELS_EVALUATION_SEASONS with '2022-23' would otherwise surface as 'no matches')."""
        if not self.evaluation_seasons:
            raise ValueError("no evaluation seasons given (e.g. 2022-2023,2023-2024)")
        for season in self.evaluation_seasons:
            try:
                Season.from_key(season)
            except ValueError:
                raise ValueError(f"evaluation season {season!r} is not a season "
                                 f"(expected the years it spans, e.g. 2022-2023)") from None
        if self.cadence not in CADENCES:
            raise ValueError(f"unknown refit cadence {self.cadence!r} (one of {', '.join(CADENCES)})")
        # `window` takes the last `window_seasons` seasons: 0 would silently mean all of them, and more than
        # the Bayesian model's season slots would fit it on fewer seasons than the ML fit it is compared with.
        if not 1 <= self.window_seasons <= self.bayes.season_capacity:
            raise ValueError(f"window of {self.window_seasons} seasons: between 1 and "
                             f"{self.bayes.season_capacity} (the Bayesian model's season slots)")
        if self.burn_in_seasons < 0:
            raise ValueError(f"burn-in of {self.burn_in_seasons} seasons: 0 or more")


def stale_evaluation(config: BacktestConfig, as_of: dt.date, automatic: bool = False) -> str | None:
    """Why the evaluation seasons no longer describe the as-of date (None: they do). The stacks learn
    their pool weights, temperatures and recent form from the backtest's out-of-sample predictions, so
    evaluation seasons that ended a season or more before the as-of season serve today's fixtures an
    ensemble weighted on an old league (a deployment that kept the default seasons for years)."""
    current = Season.containing(as_of)
    latest = max(Season.from_key(s) for s in config.evaluation_seasons)
    if latest.start_year >= current.start_year - 1:
        return None
    previous = Season(current.start_year - 1)
    behind = (f"the latest evaluation season {latest.key} ended {current.start_year - 1 - latest.start_year} "
              f"season(s) before the as-of season {current.key} ({as_of.isoformat()}): the stacks are weighted on "
              f"those seasons' predictions; ")
    if automatic:  # `auto` took the latest season the data has: the data is behind, not the setting
        return behind + (f"no later season of {config.competition} has {MIN_EVALUATION_MATCHES} played matches "
                         f"before the as-of date: load {previous.key} and {current.key}")
    return behind + (f"evaluate recent seasons: FOOTBALL_MODELS_EVALUATION_SEASONS=auto follows the as-of date, "
                     f"or e.g. {previous.key} (and {current.key} once it has {MIN_EVALUATION_MATCHES} played matches)")


AUTO_EVALUATION = "auto"


def recent_evaluation_seasons(frame: pd.DataFrame, competition: str, as_of: dt.date,
                              minimum: int = MIN_EVALUATION_MATCHES) -> tuple[str, ...]:
    """The evaluation seasons a deployment's backtest follows as its as-of date moves on (the models
    resource's `evaluation_seasons: auto`): the as-of season once `minimum` of its matches were played
    before the as-of date; until then the latest earlier season with that many played matches, scored,
    and beside it the as-of season's first matches, if any, walked so that the stacks learn from them
    (the `enough_matches` check holds them to no minimum, see `short_evaluation_seasons`). A season
    without results yet (before a season starts, or data that stops early) is left out. With no season
    of `minimum` played matches (a competition just loaded), the latest season with a result, or the
    as-of season: the backtest then fails its `enough_matches` check (or refuses a first season of data)
    with the reason. `frame`: matches of any competitions, played or scheduled; only results dated
    before the as-of date count."""
    comp = frame[frame["competition_id"] == competition]
    played = comp[(comp["match_date"] < pd.Timestamp(as_of)) & comp["result"].isin(["H", "D", "A"])]
    counts = played.groupby("season").size().to_dict()
    current = Season.containing(as_of).key
    if counts.get(current, 0) >= minimum:
        return (current,)
    earlier = sorted(s for s, n in counts.items() if n >= minimum and s < current)
    if not earlier:
        # No season to judge the models on: the latest with any result (else the as-of season) is
        # evaluated, and the backtest's blocking checks say what is missing, as for seasons set by hand.
        return (max((s for s in counts if s <= current), default=current),)
    return (earlier[-1], current) if counts.get(current, 0) else (earlier[-1],)


def latest_evaluation_seasons(frame: pd.DataFrame, competition: str,
                              minimum: int = MIN_EVALUATION_MATCHES) -> tuple[tuple[str, ...], dt.date]:
    """The evaluation seasons of a backtest on a data set as it stands (`football-pipeline backtest`
    without `--seasons`): `recent_evaluation_seasons` as of the day after the competition's last result,
    so the latest season with `minimum` results, beside it a later season's first results where one has
    begun. Returns the seasons and that as-of date. A competition without a result cannot be evaluated."""
    comp = frame[(frame["competition_id"] == competition) & frame["result"].isin(["H", "D", "A"])]
    if comp.empty:
        raise ValueError(f"{competition}: no played match to evaluate on (only fixtures, or no rows)")
    as_of = (pd.Timestamp(comp["match_date"].max()) + pd.Timedelta(days=1)).date()
    return recent_evaluation_seasons(frame, competition, as_of, minimum), as_of


def short_evaluation_seasons(config: BacktestConfig, scored: dict[str, int], as_of: dt.date,
                             minimum: int = MIN_EVALUATION_MATCHES) -> list[str]:
    """The evaluation seasons too thinly scored to judge the models on (`scored`: matches scored per
    season): each scored on fewer than `minimum` matches, except the as-of season while it is under way
    beside an earlier evaluation season that reaches the minimum (its first matchweeks are walked so the
    stacks weigh them; the earlier season carries the judgement). The as-of season alone must reach it."""
    short = [s for s in config.evaluation_seasons if scored.get(s, 0) < minimum]
    current = Season.containing(as_of).key
    carried = any(s != current and scored.get(s, 0) >= minimum for s in config.evaluation_seasons)
    return [s for s in short if not (s == current and carried)]


def blocks(frame: pd.DataFrame, cadence: str = "matchweek") -> list[tuple[pd.Timestamp, np.ndarray]]:
    """(refit date, row positions) per block of `frame` (one competition), in time order."""
    dates = pd.to_datetime(frame["match_date"]).to_numpy()
    order = np.argsort(dates, kind="stable")
    out: list[tuple[pd.Timestamp, list[int]]] = []
    played: set[str] = set()
    current_key = None
    for position in order:
        day = pd.Timestamp(dates[position])
        teams = {frame["home_team_id"].iat[position], frame["away_team_id"].iat[position]}
        if cadence == "matchweek":
            new = not out or (day != out[-1][0] and bool(teams & played))
        elif cadence == "week":
            key = day.to_period("W-SUN")
            new, current_key = key != current_key, key
        elif cadence == "month":
            key = day.to_period("M")
            new, current_key = key != current_key, key
        else:
            raise ValueError(f"unknown cadence {cadence!r}: matchweek, week or month")
        if new:
            out.append((day, []))
            played = set()
        out[-1][1].append(position)
        played |= teams
    return [(start, np.asarray(rows)) for start, rows in out]


def window(comp: pd.DataFrame, season: str, start: pd.Timestamp, seasons: int,
           lower: pd.DataFrame | None = None) -> pd.DataFrame:
    """Played matches of the last `seasons` seasons up to `season`, before `start`; with `lower` (the
    division below's matches, see `lower_division`) also its matches of those seasons before `season`.
    Last season's second-tier results rate the teams just promoted, and the teams they played link them to
    the relegated ones (ML walk, EPL 2018-23: RPS 0.1997 without, 0.1985 with). The current season's are
    left out: they rate only teams outside this competition. Their promotion flags are cleared (the
    promoted shift is about a first season up); a `lower_division` column tells the rows apart (the
    Bayesian model centres second-tier teams on a level of their own)."""
    keys = sorted(k for k in comp["season"].unique() if k <= season)[-seasons:]
    out = comp[comp["season"].isin(keys) & (comp["match_date"] < start) & comp["home_goals"].notna()]
    if lower is None:
        return out
    below = lower[lower["season"].isin([k for k in keys if k < season]) & (lower["match_date"] < start)
                  & lower["home_goals"].notna()]
    if below.empty:
        return out
    below = below.assign(lower_division=True, **{flag: 0.0 for flag in PROMOTION_FLAGS if flag in below})
    return pd.concat([out.assign(lower_division=False), below]).sort_values(["match_date", "match_id"])


def merge_fixture_blocks(steps: list[tuple[pd.Timestamp, np.ndarray]], played: np.ndarray,
                         seasons: np.ndarray) -> list[tuple[pd.Timestamp, np.ndarray]]:
    """Consecutive blocks of one season without a played match (the fixtures after the as-of date) as one
    step, from the first one's date: no result comes in between, so each would refit every model on the
    same matches. (The weekly retrain's walk would otherwise refit once per remaining matchweek.)"""
    out: list[tuple[pd.Timestamp, np.ndarray]] = []
    for start, rows in steps:
        if out and not played[rows].any() and not played[out[-1][1]].any() \
                and seasons[rows[0]] == seasons[out[-1][1][0]]:
            out[-1] = (out[-1][0], np.concatenate([out[-1][1], rows]))
        else:
            out.append((start, rows))
    return out


def walk_steps(comp: pd.DataFrame, cadence: str, seasons) -> list[tuple[pd.Timestamp, np.ndarray]]:
    """The steps the walk refits at (the base models' and the stacks' alike): the blocks of `seasons` of
    `comp` (one competition) at the cadence, the fixtures in a row of a season merged into one."""
    return merge_fixture_blocks([b for b in blocks(comp, cadence) if comp["season"].iat[b[1][0]] in seasons],
                                comp["result"].isin(["H", "D", "A"]).to_numpy(), comp["season"].to_numpy())


def lower_division(frame: pd.DataFrame, config: BacktestConfig, enabled: bool | None = None) -> pd.DataFrame | None:
    """The matches in `frame` of the division below `config.competition` (None: switched off, no such
    division, or none of its matches loaded). `enabled` defaults to `config.lower_division` (the Bayesian
    model's windows); pass `config.strengths_lower_division` for the ML strengths fit's."""
    enabled = config.lower_division if enabled is None else enabled
    code = LOWER_DIVISION.get(config.competition) if enabled else None
    below = frame[frame["competition_id"] == code] if code else frame.iloc[:0]
    return below if len(below) else None


def closing_market(frame: pd.DataFrame) -> np.ndarray:
    return market.shin(frame[["odds_close_home", "odds_close_draw", "odds_close_away"]].to_numpy(dtype=float))


def pre_match_market(frame: pd.DataFrame) -> np.ndarray:
    return market.shin(frame[["odds_open_home", "odds_open_draw", "odds_open_away"]].to_numpy(dtype=float))


def mle_walk(comp: pd.DataFrame, config: BacktestConfig, lower: pd.DataFrame | None = None) -> pd.DataFrame:
    """Point-in-time Dixon-Coles strengths and MLE probabilities for every match of the competition
    (NaN in its first season of data): each block uses a fit on matches before the block only (`lower`:
    see `window`)."""
    return resumable_mle_walk(comp, config, lower).values


@dataclass(frozen=True)
class MLEStep:
    """One block of an ML Dixon-Coles walk, as a later walk of the same configuration can take it over."""

    refit_date: dt.date
    match_ids: tuple[str, ...]
    fingerprint: str  # every input the block could read (`step_fingerprints`)
    values: np.ndarray | None  # the block's DC_FEATURES rows (None: not fitted, a first season or short window)
    state: dict  # the warm start the fit left for the next block (`DixonColesMLE.warm_state`)


@dataclass
class MLEWalk:
    values: pd.DataFrame  # DC_FEATURES per match of the competition
    steps: tuple[MLEStep, ...]
    reused: int  # blocks taken over from `resume`


def resumable_mle_walk(comp: pd.DataFrame, config: BacktestConfig, lower: pd.DataFrame | None = None,
                       prints: list[str] | None = None, resume: tuple[MLEStep, ...] = ()) -> MLEWalk:
    """`mle_walk` that records its blocks and takes over those of an earlier walk (`resume`) whose block
    and input digest (`prints`, one per block of `blocks(comp, config.cadence)`) are unchanged, in order,
    then restores the optimiser's warm start after the last one: the values are bit for bit those of a
    walk from the start."""
    model = DixonColesMLE(config.mle)
    out = pd.DataFrame(np.nan, index=comp.index, columns=DC_FEATURES)
    first_season = comp["season"].min()
    steps: list[MLEStep] = []
    taking_over, reused = bool(resume), 0
    for k, (start, rows) in enumerate(blocks(comp, config.cadence)):
        part = comp.iloc[rows]
        ids = tuple(part["match_id"].astype(str))
        fingerprint = prints[k] if prints is not None else ""
        if taking_over and k < len(resume) and prints is not None and (
                resume[k].refit_date, resume[k].match_ids, resume[k].fingerprint) == (start.date(), ids, fingerprint):
            if resume[k].values is not None:
                out.loc[part.index, DC_FEATURES] = resume[k].values
            steps.append(resume[k])
            reused += 1
            continue
        if taking_over:
            taking_over = False
            if steps:
                model.restore_warm_state(steps[-1].state)
        season = part["season"].iat[0]
        train = window(comp, season, start, config.window_seasons, lower) if season != first_season else None
        if train is None or len(train) < 100:
            steps.append(MLEStep(start.date(), ids, fingerprint, None, model.warm_state()))
            continue
        fit = model.fit(train, start.date())
        p = model.predict(fit, part["home_team_id"], part["away_team_id"])
        home = np.array([fit.strengths(t) for t in part["home_team_id"]])
        away = np.array([fit.strengths(t) for t in part["away_team_id"]])
        out.loc[part.index, "dc_home_attack"] = home[:, 0]
        out.loc[part.index, "dc_home_defence"] = home[:, 1]
        out.loc[part.index, "dc_away_attack"] = away[:, 0]
        out.loc[part.index, "dc_away_defence"] = away[:, 1]
        for column in ("p_home", "p_draw", "p_away", "expected_home_goals", "expected_away_goals"):
            out.loc[part.index, f"dc_{column}"] = p[column].to_numpy()
        steps.append(MLEStep(start.date(), ids, fingerprint, out.loc[part.index, DC_FEATURES].to_numpy(),
                             model.warm_state()))
    return MLEWalk(out, tuple(steps), reused)


def strengths_walk(frame: pd.DataFrame, features: pd.DataFrame, config: BacktestConfig,
                   resume: WalkCheckpoint | None = None) -> MLEWalk:
    """XGBoost's point-in-time Dixon-Coles strengths as the backtest walks them (`mle_walk` on windows
    with the division below where `config.strengths_lower_division`), taking over the blocks of an earlier
    backtest's checkpoint (`resume`, same configuration) whose inputs are unchanged: the production
    XGBoost fit then fits only the blocks a week of results changed."""
    comp = frame[frame["competition_id"] == config.competition].sort_values(["match_date", "match_id"])
    saved = resume.mle.get("strengths", ()) if resume is not None and resume.config == repr(config) else ()
    prints = [digest for _, digest in block_fingerprints(frame, features, config, comp)] if saved else None
    return resumable_mle_walk(comp, config, lower_division(frame, config, config.strengths_lower_division),
                              prints, saved)


@dataclass(frozen=True)
class StackStep:
    """One block of the stacks' walk (`stack_walk`): the stacks' probabilities it wrote."""

    refit_date: dt.date
    match_ids: tuple[str, ...]
    predictions: pd.DataFrame  # the stacks' columns of the block, fallbacks included (index: match_id)


CHECKPOINT_FORMAT = 2


@dataclass(frozen=True)
class WalkStep:
    """One refit of a walk, as a later walk of the same configuration and code can take it over."""

    refit_date: dt.date
    match_ids: tuple[str, ...]  # the block it predicted
    fingerprint: str  # every input the step could read (`step_fingerprints`)
    predictions: pd.DataFrame  # the base models' probabilities it wrote for the block (index: match_id)
    record: dict  # its row of `BacktestResult.fits`
    sampler: dict | None  # the Bayesian model's warm-start state after it (`BayesianDixonColes.warm_state`)


@dataclass(frozen=True)
class WalkCheckpoint:
    """A walk's refits, for resuming: the next walk of the same configuration (`config`, its repr) takes
    over every step whose block and inputs are unchanged, in order, restores the Bayesian sampler's state
    after the last one taken over and fits from there, drawing exactly what a walk from scratch draws
    (same seeds, same warm starts). A weekly retrain thus refits only the new matchweek(s), and a result
    corrected in an old season refits from that season's step on. The ML Dixon-Coles walks (every block
    of every season) resume the same way, and the stacks' blocks are taken over while everything they
    read (every base model's predictions before and of the block) was."""

    config: str
    steps: tuple[WalkStep, ...]
    mle: dict[str, tuple[MLEStep, ...]] = field(default_factory=dict)  # the ML Dixon-Coles walks by role
    stacks: tuple[StackStep, ...] = ()  # the stacks' walk
    format: int = CHECKPOINT_FORMAT

    def dump(self, path) -> None:
        with gzip.open(path, "wb", compresslevel=6) as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def load(path) -> WalkCheckpoint:
        """Read a checkpoint written by `dump` (a pickle: load only checkpoints this pipeline wrote to its own
        MLflow store, as with the pickled models there)."""
        with gzip.open(path, "rb") as handle:
            checkpoint = pickle.load(handle)
        if not isinstance(checkpoint, WalkCheckpoint) or checkpoint.format != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: not a walk checkpoint of format {CHECKPOINT_FORMAT}")
        return checkpoint


def step_fingerprints(frame: pd.DataFrame, features: pd.DataFrame, config: BacktestConfig,
                      last_days: list[pd.Timestamp]) -> list[str]:
    """For each step (the last match day of its block, ascending), a digest of everything the step could
    read: every row (all columns) of the competition and of the division below dated up to that day, and
    the competition rows' features. Features and Dixon-Coles strengths are point in time, so rows dated
    after the block cannot reach it; a changed, added or removed row on or before it changes the digest
    of this step and of every later one."""
    codes = {config.competition, LOWER_DIVISION.get(config.competition)}
    rows = frame[frame["competition_id"].isin(codes)]
    own = features.reindex(rows.index).to_numpy(dtype=float)
    ids = rows["match_id"].astype(str).to_numpy()
    digests = [f"{i}|{d}".encode() + f.tobytes() for i, d, f in zip(ids, feature_store.row_digests(rows), own,
                                                                         strict=True)]
    days = pd.to_datetime(rows["match_date"]).to_numpy()
    order = np.lexsort((ids, days))
    days = days[order]
    running, position, out = hashlib.sha1(), 0, []
    for last in last_days:
        end = int(np.searchsorted(days, np.datetime64(last), side="right"))
        for k in order[position:end]:
            running.update(digests[k])
        position = end
        out.append(running.copy().hexdigest()[:24])
    return out


def block_fingerprints(frame: pd.DataFrame, features: pd.DataFrame, config: BacktestConfig,
                       comp: pd.DataFrame) -> list[tuple[pd.Timestamp, str]]:
    """(last match day, `step_fingerprints` digest) of each block of `comp` (the competition's rows in
    the walk's order) at the configured cadence."""
    last_days = [comp["match_date"].iloc[rows].max() for _, rows in blocks(comp, config.cadence)]
    return list(zip(last_days, step_fingerprints(frame, features, config, last_days), strict=True))


def _resumable(checkpoint: WalkCheckpoint | None, config: BacktestConfig,
               log: Callable[[str], None]) -> tuple[WalkStep, ...]:
    if checkpoint is None:
        return ()
    if checkpoint.config != repr(config):
        log("walk checkpoint of another configuration: walking from the start")
        return ()
    return checkpoint.steps


@dataclass
class BacktestResult:
    predictions: pd.DataFrame  # long: one row per match and model
    scores: pd.DataFrame  # per model x season (and "all"), on the matches every model predicted
    fits: pd.DataFrame  # per refit: date, seconds, diagnostics (`reused`: taken over from a checkpoint)
    oos: pd.DataFrame  # wide out-of-sample history (for training a production stack)
    config: BacktestConfig
    checkpoint: WalkCheckpoint | None = None  # this walk's refits, for resuming the next one
    # Blocks taken over from the checkpoint it resumed, beside the refits (`reused_steps`): the ML
    # Dixon-Coles walks' blocks (both walks where there are two) and the stacks' blocks.
    taken_over: dict[str, int] = field(default_factory=dict)

    @property
    def reused_steps(self) -> int:
        return int(self.fits["reused"].sum()) if "reused" in self.fits else 0

    def score_of(self, model: str, season: str = "all") -> dict:
        row = self.scores[(self.scores["model"] == model) & (self.scores["season"] == season)]
        return row.iloc[0].to_dict() if len(row) else {}


def run_backtest(frame: pd.DataFrame, features: pd.DataFrame, feature_names: list[str], market_features: list[str],
                 config: BacktestConfig | None = None, log: Callable[[str], None] = lambda _: None,
                 progress: Callable[[str], None] | None = None,
                 resume: WalkCheckpoint | None = None) -> BacktestResult:
    """`frame`: `data.with_promoted(data.load_matches(...))` (any competitions; the backtest's is
    `config.competition`); `features`: `features.build_features(frame)` (same index). `log` gets a line
    per refit; `progress` (default: `log`) a line as each season's walk starts and when the walk ends.
    `resume`: an earlier walk's `result.checkpoint` (same configuration and modelling code: the caller's
    business, see `assets.models.backtest_version`); its steps whose blocks and inputs are unchanged are
    taken over instead of refitted (see `WalkCheckpoint`)."""
    config = config or BacktestConfig()
    progress = progress or log
    comp = frame[frame["competition_id"] == config.competition].sort_values(["match_date", "match_id"])
    seasons = sorted(comp["season"].unique())
    missing = [s for s in config.evaluation_seasons if s not in seasons]
    if missing:
        raise ValueError(f"{config.competition}: no matches for evaluation season(s) {', '.join(missing)} "
                         f"(seasons present: {', '.join(seasons) or 'none'})")
    first_eval = seasons.index(min(config.evaluation_seasons))
    if first_eval == 0:
        raise ValueError(f"{config.competition}: evaluation starts with the first season in the data "
                         f"({seasons[0]}); earlier seasons are needed for training")
    run_seasons = set(seasons[max(0, first_eval - config.burn_in_seasons):]) & (
        set(config.evaluation_seasons) | set(seasons[max(0, first_eval - config.burn_in_seasons):first_eval]))
    started = time.perf_counter()
    lower = lower_division(frame, config)
    strengths_lower = lower_division(frame, config, config.strengths_lower_division)
    saved = _resumable(resume, config, log)
    # One digest per block of the competition (`step_fingerprints` depends only on a block's last day):
    # the ML walks' blocks, and the walk's steps, which end where a block ends.
    per_block = block_fingerprints(frame, features, config, comp)
    print_of = dict(per_block)
    block_prints = [digest for _, digest in per_block]
    earlier_mle = resume.mle if saved else {}
    walks = {"strengths": resumable_mle_walk(comp, config, strengths_lower, block_prints,
                                             earlier_mle.get("strengths", ()))}
    # The reference the Bayesian model must beat is fitted on the Bayesian model's own windows.
    same_windows = (lower is None) == (strengths_lower is None)
    walks["reference"] = walks["strengths"] if same_windows else resumable_mle_walk(
        comp, config, lower, block_prints, earlier_mle.get("reference", ()))
    dc, reference = walks["strengths"].values, walks["reference"].values  # XGBoost's strengths, MLE_LOWER
    distinct = [walks["strengths"]] + ([] if same_windows else [walks["reference"]])
    taken = "" if not saved else ", " + " and ".join(
        f"{walk.reused} of {len(walk.steps)} blocks" for walk in distinct) + " taken over"
    log(f"Dixon-Coles MLE walk over {len(seasons)} seasons in {time.perf_counter() - started:.1f} s{taken}")
    x = features.loc[comp.index].join(dc)
    no_odds = [*feature_names, *DC_FEATURES]
    with_odds = [*no_odds, *market_features]
    outcome = pd.Series(np.nan, index=comp.index)
    played = comp["result"].isin(["H", "D", "A"])
    outcome[played] = metrics.outcome_index(comp.loc[played, "result"])
    oos = pd.DataFrame(index=comp.index)
    oos["match_date"] = comp["match_date"]
    oos["season"] = comp["season"]
    oos["result"] = comp["result"]
    pre = pre_match_market(comp)
    for k, column in enumerate(P):
        oos[f"{MARKET_OPEN}_{column}"] = pre[:, k]
        oos[f"{MLE}_{column}"] = reference[f"dc_{column}"]
        oos[f"{MLE_LOWER}_{column}"] = dc[f"dc_{column}"]
    closing = closing_market(comp)
    bayes = BayesianDixonColes(config.bayes) if config.bayesian else None
    fits = []
    base = [m for m in BASE_MODELS if config.bayesian or m != BAYES]
    stacks = {name: models for name, models in STACKS.items() if config.bayesian or BAYES not in models}
    steps = walk_steps(comp, config.cadence, run_seasons)
    prints = [print_of[comp["match_date"].iloc[rows].max()] for _, rows in steps]
    kept: list[WalkStep] = []
    taking_over = bool(saved)
    walking = time.perf_counter()
    for step, (start, rows) in enumerate(steps):
        t0 = time.perf_counter()
        part = comp.iloc[rows]
        season = part["season"].iat[0]
        ids = tuple(part["match_id"].astype(str))
        if taking_over and step < len(saved) and (saved[step].refit_date, saved[step].match_ids,
                                                  saved[step].fingerprint) == (start.date(), ids, prints[step]):
            previous = saved[step]
            for column in previous.predictions.columns:
                oos.loc[part.index, column] = previous.predictions.loc[list(ids), column].to_numpy()
            _record_form(oos, base, part.index, start, config.stack.form_window)
            fits.append({**previous.record, "reused": True})
            kept.append(previous)
            continue
        if taking_over:
            taking_over = False
            if kept and bayes is not None:
                bayes.restore_warm_state(kept[-1].sampler)
            progress(f"{config.competition}: {len(kept)} of {len(steps)} refits taken over from the checkpoint, "
                     f"walking from {start.date()}")
        written: list[str] = []
        if step == 0 or season != fits[-1]["season"]:
            done = time.perf_counter() - walking
            eta = f", about {done / step * (len(steps) - step) / 60:.0f} min to go" if step else ""
            progress(f"{config.competition} {season}: refit {step + 1} of {len(steps)} ({config.cadence}), "
                     f"{done:.0f} s so far{eta}")
        record = {"refit_date": start.date(), "season": season, "n_predicted": len(part)}
        if bayes is not None:
            train = window(comp, season, start, config.window_seasons, lower)
            posterior = bayes.fit(train, start.date(), seed=step, warm=step > 0)
            p = bayes_predict(posterior, list(part["home_team_id"]), list(part["away_team_id"]), season,
                              part["home_newness"].to_numpy(), part["away_newness"].to_numpy())
            for column in P:
                oos.loc[part.index, f"{BAYES}_{column}"] = p[column].to_numpy()
                written.append(f"{BAYES}_{column}")
            record.update({"bayes_seconds": posterior.fit_seconds, "n_train": posterior.n_matches,
                           **{f"bayes_{k}": v for k, v in posterior.diagnostics.items()}})
        earlier = (comp["match_date"] < start) & played & x["dc_p_home"].notna()
        record["xgboost_train"] = int(earlier.sum())
        for name, columns in ((XGB, with_odds), (XGB_NO_ODDS, no_odds)) if earlier.sum() >= MIN_TRAIN else ():
            model = XGBoostModel(columns, config.xgboost).fit(x[earlier], outcome[earlier].to_numpy(dtype=int))
            p = model.predict_proba(x.loc[part.index])
            for k, column in enumerate(P):
                oos.loc[part.index, f"{name}_{column}"] = p[:, k]
                written.append(f"{name}_{column}")
        _record_form(oos, base, part.index, start, config.stack.form_window)
        record["seconds"] = time.perf_counter() - t0
        fits.append({**record, "reused": False})
        kept.append(WalkStep(start.date(), ids, prints[step], oos.loc[part.index, written].set_axis(list(ids)),
                             record, bayes.warm_state() if bayes is not None else None))
        log(f"{start.date()} {season}: {len(part)} matches, step {record['seconds']:.1f} s")
    for k, column in enumerate(P):
        oos[f"{MARKET}_{column}"] = closing[:, k]
    # The stacks' blocks are taken over up to the first day a base model's prediction was not.
    fresh = [pd.Timestamp(record["refit_date"]) for record in fits if not record["reused"]]
    fresh += [pd.Timestamp(walk.steps[walk.reused].refit_date) for walk in distinct if walk.reused < len(walk.steps)]
    unchanged_before = (min(fresh) if fresh else pd.Timestamp.max) if saved else None
    fits = pd.DataFrame(fits)
    earlier_stacks = resume.stacks if saved else ()
    stack_steps: list[StackStep] = []
    stack_seconds = stack_walk(comp, oos, config, stacks, log, earlier_stacks, unchanged_before, stack_steps)
    stacks_taken = sum(1 for mine, theirs in zip(stack_steps, earlier_stacks, strict=False) if mine is theirs)
    if saved:
        progress(f"{config.competition}: stacks' walk: {stacks_taken} of {len(stack_steps)} blocks taken over")
    progress(f"{config.competition}: {len(steps)} refits and the stacks' walk in {time.perf_counter() - started:.0f} s")
    if len(fits):
        fits["stack_seconds"] = fits["refit_date"].map(stack_seconds).fillna(0.0)
        fits["seconds"] += fits["stack_seconds"]
    result = finish(comp, oos, fits, config)
    result.taken_over = {"mle_blocks": sum(walk.reused for walk in distinct),
                         "stack_blocks": stacks_taken}
    result.checkpoint = WalkCheckpoint(repr(config), tuple(kept), {role: walk.steps for role, walk in walks.items()},
                                       tuple(stack_steps))
    return result


def stack_walk(comp: pd.DataFrame, oos: pd.DataFrame, config: BacktestConfig,
               stacks: dict[str, tuple[str, ...]] | None = None,
               log: Callable[[str], None] = lambda _: None, resume: tuple[StackStep, ...] = (),
               unchanged_before: pd.Timestamp | None = None,
               record: list[StackStep] | None = None) -> dict[dt.date, float]:
    """The stacks' walk over `oos` (the base models' out-of-sample probabilities, filled in place): at
    each refit date of an evaluation season, each stack is fitted on the predictions made before that
    date and predicts the block (the fixtures after the last result: one block, `merge_fixture_blocks`).
    The base models' predictions of a block never depend on a stack, so this pass after theirs gives
    what interleaving would, and it can be replayed on a saved `oos`.
    `resume`: an earlier walk's blocks, taken over in order while the block (its date and matches) is
    the same and ends before `unchanged_before`, the first day whose base-model predictions were not
    taken over from that walk (so everything the stacks fitted and predicted on is as it was then).
    `record` gets a `StackStep` per block. Returns the seconds spent per refit date (0 where taken over)."""
    stacks = STACKS if stacks is None else stacks
    names = {f"{name}_{column}" for name in stacks for column in P}
    seconds: dict[dt.date, float] = {}
    taking_over = bool(resume) and unchanged_before is not None
    # The base models' steps of the evaluation seasons: the blocks of fixtures in a row are one step, as
    # each would fit the stacks on the same history (its weights only scaled by the later date).
    for k, (start, rows) in enumerate(walk_steps(comp, config.cadence, config.evaluation_seasons)):
        part = comp.iloc[rows]
        ids = tuple(part["match_id"].astype(str))
        taking_over = taking_over and k < len(resume) and (resume[k].refit_date, resume[k].match_ids) == (
            start.date(), ids) and part["match_date"].max() < unchanged_before
        if taking_over:
            saved = resume[k].predictions
            for column in saved.columns:  # in the order the walk created them (`oos`'s column order)
                if column in oos.columns or saved[column].notna().any():
                    oos.loc[part.index, column] = saved.loc[list(ids), column].to_numpy()
            seconds[start.date()] = 0.0
            if record is not None:
                record.append(resume[k])
            continue
        t0 = time.perf_counter()
        history = oos[(oos["match_date"] < start) & oos["result"].notna()]
        for name, models in stacks.items():
            try:
                stack = StackModel(list(models), config.stack).fit(history, start)
            except ValueError as error:
                log(f"{start.date()} {name}: {error}")
                continue
            p = stack.predict_proba(oos.loc[part.index])
            for j, column in enumerate(P):
                oos.loc[part.index, f"{name}_{column}"] = p[:, j]
        _fall_back(oos, part.index, stacks)
        seconds[start.date()] = time.perf_counter() - t0
        if record is not None:
            written = [c for c in oos.columns if c in names]
            record.append(StackStep(start.date(), ids, oos.loc[part.index, written].set_axis(list(ids))))
    return seconds


# Where a stack cannot predict a match (no pre-match odds for the market member, or too few earlier
# predictions with odds to fit it), the production ensemble serves the stack without odds
# (`production.EnsembleModel.predict_frame`); the backtest scores what production would have served.
FALLBACK = {ENSEMBLE: ENSEMBLE_NO_ODDS}


def _fall_back(oos: pd.DataFrame, index: pd.Index, stacks: dict[str, tuple[str, ...]]) -> None:
    for name, substitute in FALLBACK.items():
        if name not in stacks or substitute not in stacks:
            continue
        mine = [f"{name}_{c}" for c in P]
        theirs = [f"{substitute}_{c}" for c in P]
        if not set(theirs) <= set(oos.columns):
            continue
        current = oos.reindex(index=index, columns=mine)
        gap = current.isna().any(axis=1) & oos.loc[index, theirs].notna().all(axis=1)
        if gap.any():
            oos.loc[gap[gap].index, mine] = oos.loc[gap[gap].index, theirs].to_numpy()


def finish(comp: pd.DataFrame, oos: pd.DataFrame, fits: pd.DataFrame, config: BacktestConfig) -> BacktestResult:
    """Long predictions and scores of the evaluation seasons."""
    evaluated = oos[oos["season"].isin(config.evaluation_seasons)]
    predictions = long_predictions(comp.loc[evaluated.index], evaluated)
    return BacktestResult(predictions, score_table(predictions), fits, oos, config)


def restack(frame: pd.DataFrame, oos: pd.DataFrame, config: BacktestConfig | None = None,
            log: Callable[[str], None] = lambda _: None) -> BacktestResult:
    """Replay only the stacks on a saved walk's base-model predictions (`BacktestResult.oos`, e.g. read
    back from CSV): for trying a stack configuration without refitting the base models. `frame` is the
    frame the walk ran on (it gives the blocks and the match details)."""
    config = config or BacktestConfig()
    comp = frame[frame["competition_id"] == config.competition].sort_values(["match_date", "match_id"])
    missing = comp.index.difference(oos.index)
    if len(missing):
        raise ValueError(f"{len(missing)} matches of {config.competition} have no saved predictions "
                         f"(e.g. {comp.loc[missing[0], 'match_id']}): not the walk's frame")
    oos = oos.loc[comp.index].copy()
    oos["match_date"] = pd.to_datetime(oos["match_date"])
    same = (oos["match_date"].to_numpy() == pd.to_datetime(comp["match_date"]).to_numpy()) & (
        oos["result"].fillna("").to_numpy() == comp["result"].fillna("").to_numpy())
    if not same.all():
        first = comp.index[~same][0]
        raise ValueError(f"saved predictions do not line up with the matches: row {first} is "
                         f"{comp.loc[first, 'match_id']} here but dated {oos.loc[first, 'match_date']:%Y-%m-%d} "
                         f"with result {oos.loc[first, 'result']!r} there")
    oos = oos.drop(columns=[c for c in oos if c.startswith((f"{ENSEMBLE}_", f"{ENSEMBLE_NO_ODDS}_"))])
    stacks = {name: models for name, models in STACKS.items()
              if all(f"{m}_p_home" in oos for m in models)}
    seconds = stack_walk(comp, oos, config, stacks, log)
    fits = pd.DataFrame({"refit_date": list(seconds), "stack_seconds": list(seconds.values())})
    return finish(comp, oos, fits, config)


def recent_form(scored: pd.DataFrame, models, window_size: int) -> dict[str, float]:
    """Each base model's mean RPS over its last `window_size` scored predictions in `scored`."""
    form = {}
    for name in models:
        columns = [f"{name}_{c}" for c in P]
        if columns[0] not in scored:
            continue
        recent = scored.dropna(subset=columns).tail(window_size)
        form[name] = float(metrics.rps(_normalised(recent[columns].to_numpy(dtype=float)),
                                       metrics.outcome_index(recent["result"])).mean()) if len(recent) else np.nan
    return form


def _record_form(oos: pd.DataFrame, models: list[str], index, start: pd.Timestamp, window_size: int) -> None:
    """Each base model's recent form before `start`, on the rows it is about to predict."""
    scored = oos[(oos["match_date"] < start) & oos["result"].notna()]
    for name, value in recent_form(scored, models, window_size).items():
        oos.loc[index, f"{name}_form"] = value


def _normalised(p: np.ndarray) -> np.ndarray:
    return p / p.sum(axis=1, keepdims=True)


def long_predictions(comp: pd.DataFrame, wide: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for name in MODELS:
        columns = [f"{name}_{c}" for c in P]
        if columns[0] not in wide:
            continue
        values = wide[columns].to_numpy(dtype=float)
        keep = np.isfinite(values).all(axis=1)
        values = _normalised(values[keep])
        rows = comp[keep]
        parts.append(pd.DataFrame({
            "match_id": rows["match_id"].to_numpy(), "date": rows["match_date"].dt.date.to_numpy(),
            "competition": rows["competition_id"].to_numpy(), "season": rows["season"].to_numpy(),
            "home_team": rows["home_team_id"].to_numpy(), "away_team": rows["away_team_id"].to_numpy(),
            "model": name, "p_home": values[:, 0], "p_draw": values[:, 1], "p_away": values[:, 2],
            "result": rows["result"].to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["match_id", "date", "competition", "season", "home_team", "away_team", "model", *P, "result"])


def score_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Scores per model and season (and over all seasons) on the matches every model predicted; the
    closing market's RPS and log loss on those same matches beside each row, and the model's RPS minus
    the market's with its standard error (clustered by match date)."""
    scored = predictions[predictions["result"].isin(["H", "D", "A"])]
    models = [m for m in MODELS if m in set(scored["model"]) and m != MARKET]
    if not models:
        return pd.DataFrame()
    common = set.intersection(*(set(scored.loc[scored["model"] == m, "match_id"]) for m in models))
    market_rows = scored[scored["model"] == MARKET].set_index("match_id")
    rows = []
    for name in [*models, MARKET] if len(market_rows) else models:
        mine = scored[(scored["model"] == name) & scored["match_id"].isin(common)]
        for season, part in [*mine.groupby("season"), ("all", mine)]:
            if part.empty:
                continue
            result = metrics.score(part[P].to_numpy(), metrics.outcome_index(part["result"]))
            row = {"model": name, "season": season, "period_start": part["date"].min(),
                   "period_end": part["date"].max(), **result.as_dict()}
            same = market_rows.reindex(part["match_id"]).dropna(subset=P)
            if len(same):
                y = metrics.outcome_index(same["result"])
                row["market_n"] = len(same)
                market_rps = metrics.rps(same[P].to_numpy(), y)
                row["market_rps"] = float(market_rps.mean())
                row["market_log_loss"] = float(metrics.log_loss(same[P].to_numpy(), y).mean())
                if name != MARKET and len(same) == len(part) and len(part) > 1:
                    mine_rps = metrics.rps(part[P].to_numpy(), metrics.outcome_index(part["result"]))
                    edge = metrics.paired_difference(mine_rps, market_rps, clusters=part["date"].to_numpy())
                    row["rps_vs_market"], row["rps_vs_market_se"] = edge.mean, edge.se
            rows.append(row)
    return pd.DataFrame(rows)


def as_of_date(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
