"""Settings from the environment, with embedded defaults.

Everything here is read when called, never at import time, so tests and the CLI can set the
environment first. The defaults make `make run` work on a fresh machine with no configuration:
a SQLite warehouse, a local MLflow store and a local Dagster instance, all under one local state
folder.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DATA_DIR = PACKAGE_DIR / "bundled_data"


def project_root() -> Path | None:
    """The source checkout this package runs from, if any (editable installs, `make run`)."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else None


def state_dir() -> Path:
    """Local state folder: `FOOTBALL_PIPELINE_STATE_DIR`, else `.state/` in the checkout."""
    configured = os.environ.get("FOOTBALL_PIPELINE_STATE_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    root = project_root()
    return (root / ".state") if root else Path.home() / ".football-pipeline"


def warehouse_url() -> str:
    """`WAREHOUSE_URL` (any SQLAlchemy URL), else a SQLite file in the state folder."""
    configured = os.environ.get("WAREHOUSE_URL")
    if configured:
        return configured
    return f"sqlite:///{state_dir() / 'warehouse.sqlite'}"


def football_data_dir() -> Path:
    """`FOOTBALL_DATA_DIR` (same layout as the bundled data), else the bundled data."""
    configured = os.environ.get("FOOTBALL_DATA_DIR")
    return Path(configured).expanduser().resolve() if configured else BUNDLED_DATA_DIR


SOURCE_MODES = ("bundled", "live", "replay")


def source_mode() -> str:
    """`FOOTBALL_SOURCE_MODE`: bundled (default: files only, no network), live (scrape), or replay
    (re-run the spiders on the raw-response archive)."""
    return os.environ.get("FOOTBALL_SOURCE_MODE") or "bundled"


def scraped_dir() -> Path:
    """Where live and replayed crawls write files (bundled layout): `FOOTBALL_SCRAPED_DIR` or state/scraped."""
    configured = os.environ.get("FOOTBALL_SCRAPED_DIR")
    return Path(configured).expanduser().resolve() if configured else state_dir() / "scraped"


def archive_dir() -> Path:
    """The raw-response archive: `FOOTBALL_ARCHIVE_DIR` or state/archive."""
    configured = os.environ.get("FOOTBALL_ARCHIVE_DIR")
    return Path(configured).expanduser().resolve() if configured else state_dir() / "archive"


def mlflow_tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI`, else a SQLite-backed MLflow store in the state folder."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"sqlite:///{state_dir() / 'mlflow.db'}"


def dagster_home() -> Path:
    """`DAGSTER_HOME`, else a Dagster instance folder in the state folder."""
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured).expanduser().resolve() if configured else state_dir() / "dagster_home"


def _date_setting(name: str) -> dt.date | None:
    """An ISO date from the environment (None: unset); a ValueError naming the variable otherwise."""
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: not a date (expected an ISO date, e.g. 2023-04-01)") from None


def today() -> dt.date:
    """The date that temporal checks compare against (UTC). `FOOTBALL_PIPELINE_TODAY` pins it."""
    return _date_setting("FOOTBALL_PIPELINE_TODAY") or dt.datetime.now(dt.timezone.utc).date()


# A date inside the last bundled Premier League season: matches from it on are upcoming fixtures.
DEFAULT_AS_OF = dt.date(2023, 4, 1)


def as_of_date() -> dt.date:
    """The date that splits the data into history and upcoming fixtures: `FOOTBALL_PIPELINE_AS_OF`;
    else, in live mode, today (the fixtures feed and the sites' unplayed matches are the upcoming ones);
    else a date inside the last bundled season (results from it on are hidden from every model)."""
    return _date_setting("FOOTBALL_PIPELINE_AS_OF") or (today() if source_mode() == "live" else DEFAULT_AS_OF)


def check_environment() -> list[str]:
    """Every setting in the environment that cannot work, each naming the variable, its value and what is
    accepted (empty: none). The CLI calls it before any work. `FOOTBALL_MODELS_*` are checked by the
    `models` resource's own rules (`resources.models.environment_problems`), only when one is set."""
    problems = []
    for name in ("FOOTBALL_PIPELINE_TODAY", "FOOTBALL_PIPELINE_AS_OF"):
        try:
            _date_setting(name)
        except ValueError as error:
            problems.append(str(error))
    mode = os.environ.get("FOOTBALL_SOURCE_MODE")
    if mode and mode not in SOURCE_MODES:
        problems.append(f"FOOTBALL_SOURCE_MODE={mode!r}: not a source mode (one of {', '.join(SOURCE_MODES)})")
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        from football_pipeline.warehouse.engine import url_problem

        problem = url_problem(url)
        if problem:
            problems.append(f"WAREHOUSE_URL={problem.removeprefix('URL ')}")
    if any(value for name, value in os.environ.items() if name.startswith("FOOTBALL_MODELS_")):
        from football_pipeline.resources.models import environment_problems

        problems.extend(f"model settings: {problem}" for problem in environment_problems())
    return problems
