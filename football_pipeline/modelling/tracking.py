"""MLflow tracking for the model families: one experiment per family, runs, the registry and the champion.

Dagster-free: assets call these functions and put the returned run id on their materializations.

- `experiment_for(family)`: the experiment "football-pipeline/<family>", created on first use.
- `log_run(family, ...)`: one run with params, metrics, artifacts and tags, and optionally a model logged
  as a pyfunc (`ProbabilityModel`, which returns p_home/p_draw/p_away) and registered under a name.
- `champion`, `promote_if_better`, `load_champion`: the `champion` alias of a registered model moves to
  a version only when that version's backtest score strictly beats the champion's recorded score, or
  when it is the champion's own model refitted on newer data (same backtest configuration and code).

The tracking store is `settings.mlflow_tracking_uri()` (a SQLite store in the state folder unless
`MLFLOW_TRACKING_URI` says otherwise) and it is also the model registry. Every call points MLflow's
process-wide tracking and registry URIs at that store (model logging and loading go through them).
With a store that is not a tracking server (SQLite, a file store, a database URL) experiments are
created with their artifacts under `<state dir>/mlartifacts/`, never in the working directory.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import cloudpickle
import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from football_pipeline import settings

EXPERIMENT_PREFIX = "football-pipeline/"
CHAMPION_ALIAS = "champion"
PROBABILITY_COLUMNS = ("p_home", "p_draw", "p_away")
MODEL_ARTIFACT = "model"  # the pyfunc model's name in a run, and its pickled object's artifact key
# Each promoted-or-not version's per-match backtest scores (match_id, score), on its run: a challenger
# is compared with the champion on the matches both backtests scored.
MATCH_SCORES_ARTIFACT = "backtest_match_scores.csv"
MIN_COMMON_MATCHES = 100  # fewer matches in common: the two backtests are not comparable
# MLflow's limits (mlflow.utils.validation), kept here so long values are shortened on our side.
_MAX_KEY = 250
_MAX_PARAM_VALUE = 6000
_MAX_TAG_VALUE = 8000
# Tracking URIs whose server chooses where artifacts go; any other store gets an explicit location.
_SERVER_SCHEMES = {"http", "https", "databricks", "databricks-uc", "uc"}


class ChampionUnavailableError(RuntimeError):
    """A registered model has no champion, or its champion cannot be loaded."""


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    model_uri: str | None  # None when no model was logged
    registered_version: str | None  # None when the model was not registered


@dataclass(frozen=True)
class Promotion:
    promoted: bool
    reason: str
    previous_version: str | None  # the champion before this decision, if any
    previous_score: float | None  # its recorded score for the metric, if any
    # Where both versions have per-match scores: how many matches they share, and each one's mean there.
    common_matches: int | None = None
    score_on_common: float | None = None
    champion_score_on_common: float | None = None


class ProbabilityModel(mlflow.pyfunc.PythonModel):
    """Pyfunc wrapper around a pickled object with `predict_proba(DataFrame) -> (n, 3)` (home, draw, away).

    The object travels as the run artifact "model" (cloudpickle); `predict` returns a DataFrame with
    columns p_home, p_draw, p_away on the input's index.
    """

    def load_context(self, context) -> None:
        with open(context.artifacts[MODEL_ARTIFACT], "rb") as handle:
            self.model = cloudpickle.load(handle)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        proba = np.asarray(self.model.predict_proba(model_input), dtype=float)
        if proba.ndim != 2 or proba.shape != (len(model_input), 3):
            raise ValueError(
                f"{type(self.model).__name__}.predict_proba returned shape {proba.shape}; "
                f"expected ({len(model_input)}, 3) home/draw/away probabilities"
            )
        if not np.all(np.isfinite(proba)) or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError(
                f"{type(self.model).__name__}.predict_proba returned rows that are not finite "
                "probabilities summing to 1"
            )
        index = model_input.index if isinstance(model_input, pd.DataFrame) else None
        return pd.DataFrame(proba, columns=list(PROBABILITY_COLUMNS), index=index)


# --- store ---------------------------------------------------------------------------------------


def _client() -> MlflowClient:
    """Point MLflow (tracking and registry) at the configured store and return a client for it."""
    uri = settings.mlflow_tracking_uri()
    if uri.startswith("sqlite:///"):
        db = uri[len("sqlite:///") :].split("?", 1)[0]
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _is_server(uri: str) -> bool:
    return urlparse(uri).scheme.lower() in _SERVER_SCHEMES


def _error_code(exc: MlflowException) -> str:
    return str(getattr(exc, "error_code", ""))


def experiment_for(family: str) -> str:
    """The id of experiment "football-pipeline/<family>", created (or restored if deleted) on first use."""
    if not family or not family.strip():
        raise ValueError("model family must be a non-empty string")
    client = _client()
    name = EXPERIMENT_PREFIX + family
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = None
        if not _is_server(settings.mlflow_tracking_uri()):
            slug = re.sub(r"[^\w.\-]+", "_", family).strip("._") or "family"
            folder = settings.state_dir() / "mlartifacts" / slug
            folder.mkdir(parents=True, exist_ok=True)
            location = folder.as_uri()
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException as exc:  # created meanwhile by another process
            if _error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


# --- runs ----------------------------------------------------------------------------------------


def _clean_key(key: Any) -> str:
    """A valid, portable MLflow param/metric/tag key: letters, digits, _ - . space and / between parts."""
    text = re.sub(r"[^\w.\- /]", "_", str(key))
    parts = ["_" if part in (".", "..") else part for part in text.split("/") if part]
    cleaned = "/".join(parts)[:_MAX_KEY].rstrip("/")
    return cleaned or "_"


def _unique_key(key: str, taken: Mapping[str, Any]) -> str:
    if key not in taken:
        return key
    n = 2
    while f"{key[: _MAX_KEY - 4]}_{n}" in taken:
        n += 1
    return f"{key[: _MAX_KEY - 4]}_{n}"


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"...[{len(text)} chars]"
    return text[: limit - len(marker)] + marker


def _param_value(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        items = value.tolist() if isinstance(value, np.ndarray) else list(value)
        if isinstance(value, (set, frozenset)):
            items = sorted(items, key=str)
        try:
            text = json.dumps(items, default=str)
        except (TypeError, ValueError):
            text = str(items)
    else:
        text = str(value)
    return _shorten(text, _MAX_PARAM_VALUE)


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mappings become dotted keys; values become strings within MLflow's length limit."""
    flat: dict[str, str] = {}

    def walk(mapping: Mapping[str, Any], prefix: str) -> None:
        for key, value in mapping.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping) and value:
                walk(value, f"{name}.")
            else:
                flat[_unique_key(_clean_key(name), flat)] = _param_value(value)

    walk(params, prefix)
    return flat


def _metric_values(metrics: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    kept: dict[str, float] = {}
    skipped: list[str] = []
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if math.isfinite(number):
            kept[_unique_key(_clean_key(key), kept)] = number
        else:
            skipped.append(str(key))
    return kept, skipped


def _artifact_targets(artifacts: Mapping[str, Path | str]) -> list[tuple[Path, str]]:
    """(local path, name in the run) pairs, checked before the run starts.

    The key names the artifact in the run (sub-folders with "/"); a key without a suffix takes the
    file's suffix ("reliability" + plot.png -> "reliability.png"). A directory is logged whole under its key.
    """
    targets = []
    for key, path in artifacts.items():
        local = Path(path)
        if not local.exists():
            raise FileNotFoundError(f"artifact {key!r}: {local} does not exist")
        name = PurePosixPath(str(key).replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or not name.parts or str(name) == ".":
            raise ValueError(f"artifact name {key!r} must be a relative path inside the run")
        if local.is_file() and not name.suffix:
            name = name.with_suffix(local.suffix)
        targets.append((local, str(name)))
    return targets


def log_run(
    family: str,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    artifacts: Mapping[str, Path | str] | None = None,
    tags: Mapping[str, Any] | None = None,
    model: object | None = None,
    model_name: str | None = None,
    input_example: pd.DataFrame | None = None,
    run_name: str | None = None,
) -> LoggedRun:
    """Log one run in the family's experiment and return its id (and the model's URI and version).

    Params are flattened (nested dicts -> dotted keys) and stringified within MLflow's limits; NaN,
    infinite and missing metrics are skipped (named in the tag `skipped_metrics`); tags with value None
    are dropped. `model` (any picklable object with `predict_proba(DataFrame) -> (n, 3)`) is logged as
    the pyfunc `ProbabilityModel` named "model"; with `model_name` that model becomes a new version of
    the registered model `model_name`. The run ends FAILED if anything raises while it is open.
    """
    if model_name is not None and model is None:
        raise ValueError("model_name given without a model to register")
    if model is not None and not callable(getattr(model, "predict_proba", None)):
        raise TypeError(f"{type(model).__name__} has no predict_proba(DataFrame) method")
    targets = _artifact_targets(artifacts or {})
    flat_params = flatten_params(params or {})
    metric_values, skipped = _metric_values(metrics or {})
    run_tags = {"family": family}
    for key, value in (tags or {}).items():
        if value is not None:
            run_tags[_clean_key(key)] = _shorten(str(value), _MAX_TAG_VALUE)
    if skipped:
        run_tags["skipped_metrics"] = _shorten(", ".join(skipped), _MAX_TAG_VALUE)

    experiment_id = experiment_for(family)  # also points MLflow at the store
    model_uri = registered_version = None
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=run_tags) as run:
        if flat_params:
            mlflow.log_params(flat_params)
        if metric_values:
            mlflow.log_metrics(metric_values)
        with tempfile.TemporaryDirectory(prefix="football-mlflow-") as tmp:
            staging = Path(tmp)
            for local, name in targets:
                if local.is_dir():
                    mlflow.log_artifacts(str(local), artifact_path=name)
                    continue
                staged = staging / "artifacts" / name
                staged.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local, staged)
                folder = posixpath.dirname(name)
                mlflow.log_artifact(str(staged), artifact_path=folder or None)
            if model is not None:
                pickled = staging / "model.pkl"
                with open(pickled, "wb") as handle:
                    cloudpickle.dump(model, handle)
                info = mlflow.pyfunc.log_model(
                    name=MODEL_ARTIFACT,
                    python_model=ProbabilityModel(),
                    artifacts={MODEL_ARTIFACT: str(pickled)},
                    input_example=input_example,
                    registered_model_name=model_name,
                )
                model_uri = info.model_uri
                if model_name is not None and info.registered_model_version is not None:
                    registered_version = str(info.registered_model_version)
    return LoggedRun(run_id=run.info.run_id, model_uri=model_uri, registered_version=registered_version)


def latest_artifact(family: str, artifact: str, destination: Path, *, params: Mapping[str, str] | None = None,
                    tags: Mapping[str, str] | None = None, search: int = 20) -> tuple[str, Path] | None:
    """The newest finished run in the family's experiment whose params and tags have these values and that
    holds `artifact`, with the artifact downloaded under `destination`: (run id, local path). None when no
    such run exists (among the `search` newest matching runs)."""
    client = _client()
    experiment = client.get_experiment_by_name(EXPERIMENT_PREFIX + family)
    if experiment is None:
        return None
    clauses = ["attributes.status = 'FINISHED'"]
    for kind, values in (("params", params or {}), ("tags", tags or {})):
        for key, value in values.items():
            if "'" in str(value) or "`" in str(key):  # MLflow's filter strings have no escapes for them
                raise ValueError(f"latest_artifact: cannot search for {key}={value!r}")
            clauses.append(f"{kind}.`{key}` = '{value}'")
    runs = client.search_runs([experiment.experiment_id], filter_string=" and ".join(clauses),
                              order_by=["attributes.start_time DESC"], max_results=search)
    for run in runs:
        if artifact in {PurePosixPath(a.path).name for a in client.list_artifacts(run.info.run_id)}:
            destination.mkdir(parents=True, exist_ok=True)
            path = client.download_artifacts(run.info.run_id, artifact, str(destination))
            return run.info.run_id, Path(path)
    return None


# --- registry and champion -----------------------------------------------------------------------


def champion(model_name: str) -> ModelVersion | None:
    """The version of `model_name` holding the `champion` alias; None if there is none (or no such model)."""
    client = _client()
    try:
        registered = client.get_registered_model(model_name)
    except MlflowException as exc:
        if _error_code(exc) == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = (registered.aliases or {}).get(CHAMPION_ALIAS)
    if version is None:
        return None
    return client.get_model_version(model_name, str(version))


def score_tag(metric: str) -> str:
    """The model-version tag holding a version's backtest score for `metric` (e.g. backtest_rps)."""
    return f"backtest_{_clean_key(metric)}"


def _log_match_scores(client: MlflowClient, run_id: str, scores: pd.Series) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / MATCH_SCORES_ARTIFACT
        pd.DataFrame({"match_id": scores.index.astype(str), "score": scores.to_numpy(dtype=float)}).to_csv(
            path, index=False)
        client.log_artifact(run_id, str(path))


def _match_scores(client: MlflowClient, version: ModelVersion) -> pd.Series | None:
    """The version's per-match backtest scores, None where its run has none (recorded before them)."""
    names = {PurePosixPath(a.path).name for a in client.list_artifacts(version.run_id)}
    if MATCH_SCORES_ARTIFACT not in names:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        path = client.download_artifacts(version.run_id, MATCH_SCORES_ARTIFACT, scratch)
        frame = pd.read_csv(path, dtype={"match_id": str})
    return pd.Series(frame["score"].to_numpy(dtype=float), index=frame["match_id"].to_numpy())


def _recorded_score(version: ModelVersion, metric: str) -> float | None:
    try:
        score = float((version.tags or {})[score_tag(metric)])
    except (KeyError, TypeError, ValueError):
        return None
    return score if math.isfinite(score) else None


def _pair(a: float, b: float) -> tuple[str, str]:
    """Both numbers to 4 decimals, or more where 4 would make different numbers look equal."""
    digits = 4
    while digits < 12 and a != b and f"{a:.{digits}f}" == f"{b:.{digits}f}":
        digits += 1
    return f"{a:.{digits}f}", f"{b:.{digits}f}"


BACKTEST_TAG = "backtest_version"  # which walk-forward backtest (configuration) scored a version
AS_OF_TAG = "trained_as_of"  # the date up to which a version's models saw results
# The settings and code a version was built from, with the evaluation seasons as *set* (`auto`, or the
# seasons pinned): versions of one lineage whose backtests differ only because `auto` moved the
# evaluation seasons with the as-of date are the same model refitted.
LINEAGE_TAG = "model_lineage"


def promote_if_better(
    model_name: str,
    version: str | int,
    score: float,
    metric: str = "rps",
    lower_is_better: bool = True,
    backtest: str | None = None,
    as_of: str | None = None,
    match_scores: pd.Series | None = None,
    lineage: str | None = None,
) -> Promotion:
    """Record `score` on the version (tag `backtest_<metric>`) and move `champion` to it only if it wins.

    It wins when there is no champion yet, when the champion has no recorded score for `metric`, or when
    `score` strictly beats the champion's recorded score. It also takes over as a *refresh* when it is
    the champion's own model refitted on newer data: the same backtest (`backtest`: a fingerprint of
    the walk's configuration and the modelling code) and a later training date (`as_of`, ISO). A
    walk-forward prediction depends only on what came before its match, so on every match the
    champion's backtest scored, such a version's backtest predicts exactly what the champion's did;
    its score differs only by the matches played since (or not at all, on finished evaluation
    seasons). Without the rule a weekly retrain would never replace the champion, and the served
    predictions would come from models fitted on ever older data. The same holds across a change of
    backtest that only the as-of date made: the same `lineage` (settings and code, the evaluation
    seasons as set: `auto` moves them to a new season, where the two backtests share too few matches
    to compare, or score the same ones alike) and a later training date is a refresh too. A
    non-finite score never wins; a version that already holds the alias stays champion
    (promoted=False). The decision is also recorded on the version (tags `promotion`, and
    `backtest_version` / `trained_as_of` / `model_lineage` when given).

    `match_scores` (index match_id, the version's per-match backtest score) is kept on the version's
    run; where the champion has its own, the two are compared on the matches both backtests scored,
    not on their overall scores (a backtest of other seasons or another competition scored other
    matches): the challenger must beat the champion's mean on at least MIN_COMMON_MATCHES shared matches.
    """
    client = _client()
    version = str(version)
    run_id = client.get_model_version(model_name, version).run_id  # fails clearly if the version does not exist
    score = float(score)
    current = champion(model_name)
    previous_version = current.version if current is not None else None
    previous_version = str(previous_version) if previous_version is not None else None
    previous_score = _recorded_score(current, metric) if current is not None else None

    client.set_model_version_tag(model_name, version, score_tag(metric), repr(score))
    for tag, value in ((BACKTEST_TAG, backtest), (AS_OF_TAG, as_of), (LINEAGE_TAG, lineage)):
        if value is not None:
            client.set_model_version_tag(model_name, version, tag, str(value))
    if match_scores is not None:
        _log_match_scores(client, run_id, match_scores)
    theirs = _match_scores(client, current) if current is not None and match_scores is not None else None
    common = None
    if theirs is not None:
        shared = match_scores.index.intersection(theirs.index)
        common = (len(shared), float(match_scores.loc[shared].mean()) if len(shared) else math.nan,
                  float(theirs.loc[shared].mean()) if len(shared) else math.nan)
    promoted = False
    if not math.isfinite(score):
        reason = f"{metric} {score} is not a finite score: not promoted"
    elif current is None:
        promoted = True
        reason = f"{metric} {score:.4f}: no champion yet, v{version} promoted"
    elif previous_version == version:
        reason = f"v{version} already holds champion ({metric} {score:.4f})"
    elif previous_score is None:
        promoted = True
        reason = (
            f"{metric} {score:.4f}: champion v{previous_version} has no recorded {metric}, "
            f"v{version} promoted"
        )
    else:
        new, old = _pair(score, previous_score)
        beats = score < previous_score if lower_is_better else score > previous_score
        where = ""
        if common is not None:
            n, mine, champions = common
            new, old = _pair(mine, champions)
            beats = n >= MIN_COMMON_MATCHES and (mine < champions if lower_is_better else mine > champions)
            where = (f" on the {n} matches both backtests scored" if n >= MIN_COMMON_MATCHES else
                     f" (only {n} matches in common with the champion's backtest, fewer than "
                     f"{MIN_COMMON_MATCHES}: not comparable)")
        champion_tags = current.tags or {}
        same_backtest = backtest is not None and champion_tags.get(BACKTEST_TAG) == str(backtest)
        same_lineage = lineage is not None and champion_tags.get(LINEAGE_TAG) == str(lineage)
        older = champion_tags.get(AS_OF_TAG)
        newer = as_of is not None and older is not None and str(as_of) > older
        if beats:
            promoted = True
            sign = "<" if lower_is_better else ">"
            reason = f"{metric} {new} {sign} champion v{previous_version} {old}{where}: v{version} promoted"
        elif same_backtest and newer:
            promoted = True
            reason = (f"v{version} is champion v{previous_version} refitted on newer data (same backtest "
                      f"{backtest}; trained as of {as_of}, champion as of {older}; {metric} {new}, champion "
                      f"{old}{where}): promoted as a refresh")
        elif same_lineage and newer:
            promoted = True
            reason = (f"v{version} is champion v{previous_version}'s model refitted on newer data, evaluated on "
                      f"seasons the as-of date moved to (same settings and code {lineage}; backtest {backtest}, "
                      f"champion's {champion_tags.get(BACKTEST_TAG)}; trained as of {as_of}, champion as of "
                      f"{older}; {metric} {new}, champion {old}{where}): promoted as a refresh")
        else:
            reason = f"{metric} {new} does not beat champion v{previous_version} {old}{where}: champion stays"
    if promoted:
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
    client.set_model_version_tag(model_name, version, "promotion", reason)
    return Promotion(
        promoted=promoted,
        reason=reason,
        previous_version=previous_version,
        previous_score=previous_score,
        common_matches=common[0] if common is not None else None,
        score_on_common=common[1] if common is not None else None,
        champion_score_on_common=common[2] if common is not None else None,
    )


def load_champion(model_name: str) -> mlflow.pyfunc.PyFuncModel:
    """The pyfunc model at `models:/<model_name>@champion`; ChampionUnavailableError if none or unloadable."""
    current = champion(model_name)
    if current is None:
        raise ChampionUnavailableError(
            f"registered model {model_name!r} has no champion: no version holds the "
            f"{CHAMPION_ALIAS!r} alias (promote one with promote_if_better)"
        )
    uri = f"models:/{model_name}@{CHAMPION_ALIAS}"
    try:
        return mlflow.pyfunc.load_model(uri)
    except Exception as exc:
        raise ChampionUnavailableError(
            f"champion v{current.version} of registered model {model_name!r} ({uri}, source "
            f"{current.source}) could not be loaded: {exc}"
        ) from exc
