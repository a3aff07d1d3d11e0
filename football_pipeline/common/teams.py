"""Canonical teams and their per-source spellings.

`teams.csv` holds one row per real club (`team_id` slug, display `name`, `country`), and
`team_aliases.csv` maps every spelling each source uses to a `team_id`, scoped by the country of the
league (sources spell the same club differently, and one spelling can mean different clubs in
different countries). A data directory may carry its own `teams.csv`/`team_aliases.csv` with the same
columns; their rows extend the bundled vocabulary.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SOURCES = ("football-data", "understat", "fbref", "clubelo")


class VocabularyError(ValueError):
    """The team vocabulary files are inconsistent."""


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str
    country: str


@dataclass
class Vocabulary:
    teams: dict[str, Team]
    aliases: dict[tuple[str, str, str], str]  # (source, country, spelling) -> team_id
    fingerprint: str = field(default="")

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = ()) -> Vocabulary:
        """The bundled vocabulary, extended by `teams.csv`/`team_aliases.csv` in `extra_dirs`."""
        digest = hashlib.sha256()
        teams: dict[str, Team] = {}
        aliases: dict[tuple[str, str, str], str] = {}
        for directory in (DATA_DIR, *extra_dirs):
            teams_file, aliases_file = directory / "teams.csv", directory / "team_aliases.csv"
            if directory != DATA_DIR and not (teams_file.exists() or aliases_file.exists()):
                continue
            for path in (teams_file, aliases_file):
                if path.exists():
                    digest.update(path.read_bytes())
            for row in _rows(teams_file, ("team_id", "name", "country")):
                teams[row["team_id"]] = Team(row["team_id"], row["name"], row["country"])
            for row in _rows(aliases_file, ("source", "country", "alias", "team_id")):
                if row["source"] not in SOURCES:
                    raise VocabularyError(
                        f"{aliases_file}: unknown source {row['source']!r} (known: {', '.join(SOURCES)})"
                    )
                aliases[(row["source"], row["country"], normalise(row["alias"]))] = row["team_id"]
        missing = sorted({team_id for team_id in aliases.values() if team_id not in teams})
        if missing:
            raise VocabularyError(f"team_aliases refer to team_ids missing from teams.csv: {missing}")
        return cls(teams=teams, aliases=aliases, fingerprint=digest.hexdigest())

    def resolve(self, source: str, country: str, spelling: str) -> str | None:
        return self.aliases.get((source, country, normalise(spelling)))

    def alias_rows(self) -> list[dict[str, str]]:
        return [
            {"source": s, "country": c, "alias": a, "team_id": t}
            for (s, c, a), t in sorted(self.aliases.items())
        ]


def normalise(spelling: str) -> str:
    """Spellings compare after trimming whitespace, including the non-breaking spaces of old files."""
    return " ".join(spelling.replace("\xa0", " ").split())


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or tuple(reader.fieldnames) != columns:
            raise VocabularyError(f"{path}: expected columns {columns}, found {reader.fieldnames}")
        return [
            {key: (value or "").strip() for key, value in row.items()}
            for row in reader
        ]
