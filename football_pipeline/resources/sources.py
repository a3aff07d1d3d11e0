"""Where the source files live (bundled data or `FOOTBALL_DATA_DIR`), and the team vocabulary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
from pydantic import Field

from football_pipeline import settings
from football_pipeline.common.teams import Vocabulary


class SourceFilesResource(dg.ConfigurableResource):
    """A directory in the bundled layout: football-data/<DIV>/<SSSS>.csv, understat/<LEAGUE>/<YEAR>.json."""

    data_dir: str | None = Field(
        default=None, description="Data directory. Default: $FOOTBALL_DATA_DIR, else the bundled real data."
    )
    today: str | None = Field(
        default=None,
        description="ISO date that temporal checks compare with (a completed match may not be later). "
        "Default: $FOOTBALL_PIPELINE_TODAY, else today (UTC).",
    )

    def directory(self) -> Path:
        return Path(self.data_dir).expanduser().resolve() if self.data_dir else settings.football_data_dir()

    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.today) if self.today else settings.today()

    def vocabulary(self) -> Vocabulary:
        """The bundled teams and aliases, extended by teams.csv/team_aliases.csv in the data directory."""
        return Vocabulary.load([self.directory()])
