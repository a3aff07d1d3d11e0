"""Model settings as a Dagster resource: which competition, as of when, how the backtest walks."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg
import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from football_pipeline import settings
from football_pipeline.common import competitions
from football_pipeline.modelling.backtest import (
    AUTO_EVALUATION,
    MIN_EVALUATION_MATCHES,
    BacktestConfig,
    Cadence,
    recent_evaluation_seasons,
)
from football_pipeline.modelling.dixon_coles import DixonColesConfig

SEASON_SLOTS = DixonColesConfig.season_capacity  # the Bayesian model's seasons: the longest window
# Upper bounds that catch a typo (10^9 draws would run for days, not fail): well above any real setting.
MAX_DRAWS, MAX_CHAINS = 100_000, 64
MAX_R_HAT_LIMIT = 1.1  # the classic Gelman-Rubin threshold; a looser limit (or inf) turns the gate off


class ModelsResource(dg.ConfigurableResource):
    """Defaults suit the embedded `make run` (a monthly walk over the as-of season, after a burn-in
    season); a deployment sets the cadence to `matchweek` (the backtest CLI's default).

    Settings are checked when the resource is built, so a bad value fails before any model step runs:
    the cadence is an enum in the config schema (the Dagster launchpad refuses `weekly` at launch), the
    ranges and the evaluation seasons fail the resource's initialisation (the run's first model step,
    `match_features`), and `from_environment` names the `FOOTBALL_MODELS_*` variable at load."""

    competition: str = Field(default="E0", description="competition the models predict")
    as_of: str | None = Field(default=None, description="ISO date splitting history from upcoming fixtures; "
                              "default $FOOTBALL_PIPELINE_AS_OF or a date in the last bundled season")
    evaluation_seasons: str = Field(default=AUTO_EVALUATION, description="comma-separated backtest seasons, or "
                                    f"`{AUTO_EVALUATION}`: the as-of season once {MIN_EVALUATION_MATCHES} of its "
                                    "matches are played, until then the latest earlier season with as many beside "
                                    "the as-of season's first matches (follows the as-of date)")
    burn_in_seasons: int = Field(default=1, ge=0, description="seasons walked before evaluation to train the stack")
    window_seasons: int = Field(default=3, ge=1, le=SEASON_SLOTS, description="seasons in each training window "
                                f"(1 to {SEASON_SLOTS}, the Bayesian model's season slots)")
    lower_division: bool = Field(default=False, description="the Bayesian model's windows also hold the "
                                 "division below (E0: E1) in the window's earlier seasons, where it is loaded")
    strengths_lower_division: bool = Field(default=True, description="the ML Dixon-Coles fit behind XGBoost's "
                                           "strength features and the stacks sees the division below")
    cadence: Cadence = Field(default="month", description="backtest refit cadence: matchweek, week or month")
    backtest_draws: int = Field(default=1000, ge=1, le=MAX_DRAWS,
                                description=f"NUTS draws per chain in backtest refits (1 to {MAX_DRAWS})")
    draws: int = Field(default=1000, ge=1, le=MAX_DRAWS,
                       description=f"NUTS draws per chain of the production fit (1 to {MAX_DRAWS})")
    chains: int = Field(default=4, ge=2, le=MAX_CHAINS,
                        description=f"NUTS chains (R-hat compares chains: 2 to {MAX_CHAINS})")
    warmup: int = Field(default=1000, ge=1, le=MAX_DRAWS,
                        description=f"NUTS warm-up (adaptation) iterations per chain (1 to {MAX_DRAWS})")
    max_r_hat: float = Field(default=1.01, gt=1.0, le=MAX_R_HAT_LIMIT, allow_inf_nan=False,
                             description="convergence check: worst rank-normalised split R-hat (the larger of "
                             f"its bulk and folded halves) below this (above 1, at most {MAX_R_HAT_LIMIT})")
    min_ess: float = Field(default=400.0, ge=0, allow_inf_nan=False,
                           description="convergence check: smallest bulk and tail ESS")
    min_training_matches: int = Field(default=200, ge=1, description="blocking check: the Bayesian fit's window and "
                                      "XGBoost's training rows hold at least this many played matches")
    resume_backtest: bool = Field(default=True, description="the backtest takes over the refits of the newest "
                                  "earlier backtest of the same version (configuration and modelling code) in "
                                  "MLflow whose blocks and inputs are unchanged and refits only the rest (same "
                                  "draws as a walk from the start); false: walk from the start")
    registered_model: str = Field(default="football-pipeline-ensemble", description="MLflow registry name "
                                  "of the ensemble (the served model; its `champion` alias)")
    bayesian_registered_model: str = Field(default="football-pipeline-bayesian-dixon-coles",
                                           description="MLflow registry name of the Bayesian Dixon-Coles fits")
    xgboost_registered_model: str = Field(default="football-pipeline-xgboost",
                                          description="MLflow registry name of the XGBoost fits (with odds features)")

    @field_validator("competition")
    @classmethod
    def _known_competition(cls, value: str) -> str:
        competitions.get(value)  # ValueError: unknown competition 'X9' (known: E0, E1, ...)
        return value

    @model_validator(mode="after")
    def _settings_mean_something(self) -> ModelsResource:
        if self.as_of:
            try:
                self.as_of_date()
            except ValueError:
                raise ValueError(f"as_of {self.as_of!r} is not an ISO date (e.g. 2023-05-01)") from None
        if not self.automatic_evaluation:
            self.backtest_config()  # the evaluation seasons (BacktestConfig refuses '2022-23', an empty list)
        return self

    @property
    def automatic_evaluation(self) -> bool:
        return self.evaluation_seasons.strip() == AUTO_EVALUATION

    def missing_history(self, matches: pd.DataFrame, as_of: dt.date | None = None) -> str | None:
        """Why the models cannot run on these matches (`data.load_matches`, any competitions; None: they
        can): no evaluation season, or too few seasons before it for the burn-in and the first window."""
        config = self.backtest_config(matches, as_of)
        seasons = sorted(matches.loc[matches["competition_id"] == self.competition, "season"].unique())
        absent = [s for s in config.evaluation_seasons if s not in seasons]
        if absent:
            return f"no {self.competition} data for evaluation season(s) {', '.join(absent)}"
        earlier = [s for s in seasons if s < min(config.evaluation_seasons)]
        needed = self.burn_in_seasons + 1
        if len(earlier) < needed:
            return (f"{self.competition} needs {needed} season(s) before {min(config.evaluation_seasons)} "
                    f"(burn-in and training), has {len(earlier)}")
        return None

    def as_of_date(self) -> dt.date:
        return dt.date.fromisoformat(self.as_of) if self.as_of else settings.as_of_date()

    def production_bayes(self) -> DixonColesConfig:
        return DixonColesConfig(num_warmup=self.warmup, num_samples=self.draws, num_chains=self.chains)

    def evaluation(self, matches: pd.DataFrame | None = None, as_of: dt.date | None = None) -> tuple[str, ...]:
        """The evaluation seasons: as set, or with `auto` those `recent_evaluation_seasons` finds in
        `matches` (`data.load_matches`) as of `as_of` (default: the resource's)."""
        if not self.automatic_evaluation:
            return tuple(s.strip() for s in self.evaluation_seasons.split(",") if s.strip())
        if matches is None:
            raise ValueError(f"evaluation_seasons={AUTO_EVALUATION!r} is chosen from the matches: none given")
        as_of = as_of or self.as_of_date()
        return recent_evaluation_seasons(matches, self.competition, as_of)

    def backtest_config(self, matches: pd.DataFrame | None = None, as_of: dt.date | None = None) -> BacktestConfig:
        """The backtest's configuration; `matches` and `as_of` choose the seasons of `auto` (`evaluation`)."""
        return BacktestConfig(
            competition=self.competition,
            evaluation_seasons=self.evaluation(matches, as_of),
            window_seasons=self.window_seasons, lower_division=self.lower_division,
            strengths_lower_division=self.strengths_lower_division, cadence=self.cadence,
            burn_in_seasons=self.burn_in_seasons, bayes=DixonColesConfig(num_warmup=self.warmup, num_samples=self.backtest_draws,
                                   num_chains=self.chains, warm_warmup=min(self.warmup, 200)))


ENV_PREFIX = "FOOTBALL_MODELS_"


def from_environment(**overrides) -> ModelsResource:
    """The deployment's model settings: each field may be set as `FOOTBALL_MODELS_<FIELD>` (e.g.
    `FOOTBALL_MODELS_CADENCE=matchweek`, `FOOTBALL_MODELS_DRAWS=2000`); unset fields keep their defaults.
    A value that does not fit its field (or a combination the backtest cannot run) is a ValueError naming
    the variable and the reason."""
    models, problems = _read_environment(overrides)
    if models is None:
        raise ValueError("; ".join(problems))
    return models


def environment_problems() -> list[str]:
    """What is wrong with the `FOOTBALL_MODELS_*` settings, one message per variable, each naming it, its
    value and what is accepted (empty: nothing); variables that name no setting are listed too."""
    fields = {ENV_PREFIX + name.upper() for name in ModelsResource.model_fields if name != "as_of"}
    problems = []
    for name, value in sorted(os.environ.items()):
        if name.startswith(ENV_PREFIX) and name not in fields and value:
            known = ("the as-of date is FOOTBALL_PIPELINE_AS_OF" if name == ENV_PREFIX + "AS_OF"
                     else "known: " + ", ".join(sorted(fields)))
            problems.append(f"{name}={value!r}: not a model setting ({known})")
    seasons = os.environ.get(ENV_PREFIX + "EVALUATION_SEASONS")
    for reason in _read_environment({})[1]:
        # Reasons about the settings together come from the evaluation seasons (`_settings_mean_something`).
        named = reason.startswith(ENV_PREFIX) or not seasons
        problems.append(reason if named else f"{ENV_PREFIX}EVALUATION_SEASONS={seasons!r}: {reason}")
    return problems


def _read_environment(overrides: dict[str, object]) -> tuple[ModelsResource | None, list[str]]:
    """The resource from the environment and `overrides`, or None and the reasons it cannot be built."""
    values: dict[str, object] = {}
    problems = []
    for name, field in ModelsResource.model_fields.items():
        if name == "as_of":  # FOOTBALL_PIPELINE_AS_OF, shared with the serving side
            continue
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            continue
        kind = field.annotation if field.annotation in (int, float) else str
        try:
            values[name] = kind(raw)
        except ValueError:
            problems.append(f"{ENV_PREFIX + name.upper()}={raw!r}: not a valid {kind.__name__}")
    if problems:
        return None, problems
    try:
        return ModelsResource(**{**values, **overrides}), []
    except ValidationError as error:
        return None, _reasons(error, from_env=set(values) - set(overrides))


def _reasons(error: ValidationError, from_env: set[str]) -> list[str]:
    """Pydantic's errors, one per setting, named as the user set it: `FOOTBALL_MODELS_WINDOW_SEASONS=0: ...`."""
    lines = []
    for item in error.errors():
        reason = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:  # the settings together (the evaluation seasons, the as-of date)
            lines.append(reason)
            continue
        field = str(item["loc"][0])
        name = ENV_PREFIX + field.upper() if field in from_env else field
        if item["type"] == "finite_number":  # inf or nan: say which numbers are
            reason += f" ({_bounds(field)})"
        lines.append(f"{name}={item['input']!r}: {reason}")
    return lines


def _bounds(field: str) -> str:
    """A field's range as its constraints say, e.g. `greater than 1.0 and at most 1.1`."""
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    limits = [f"{words[k]} {getattr(m, k)}" for m in ModelsResource.model_fields[field].metadata for k in words
              if getattr(m, k, None) is not None]
    return " and ".join(limits) or "a finite number"
