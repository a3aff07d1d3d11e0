"""Canonical teams and their per-source spellings.

`teams.csv` holds one row per real club (`team_id` slug, display `name`, `country`), and
`team_aliases.csv` maps every spelling each source uses to a `team_id`, scoped by the country of the
league (sources spell the same club differently, and one spelling can mean different clubs in
different countries). A data directory may carry its own `teams.csv`/`team_aliases.csv` with the same
columns; their rows extend the bundled vocabulary, and may not contradict it (one spelling, two clubs).

The curated files are the starting point, not a gate: a club or spelling they do not know is resolved
when its partition loads (`football_pipeline.warehouse.resolve`) and the decision is stored in the
warehouse (`team_resolutions`); `Vocabulary.learn` adds those stored decisions back, so an id once
created is used for good.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
import unicodedata
from collections.abc import Container, Iterable
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
    # (source, country, spelling) -> the file that defined it (curated) or "learned" (a stored decision)
    origins: dict[tuple[str, str, str], str] = field(default_factory=dict)
    base: Path = DATA_DIR  # the curated starting point (the bundled files unless a drill replaces them)

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = (), base: Path | None = None) -> Vocabulary:
        """The bundled vocabulary (or `base`'s), extended by `teams.csv`/`team_aliases.csv` in `extra_dirs`."""
        base = Path(base) if base is not None else DATA_DIR
        digest = hashlib.sha256()
        teams: dict[str, Team] = {}
        aliases: dict[tuple[str, str, str], str] = {}
        origins: dict[tuple[str, str, str], str] = {}
        for directory in (base, *extra_dirs):
            teams_file, aliases_file = directory / "teams.csv", directory / "team_aliases.csv"
            if directory != base and not (teams_file.exists() or aliases_file.exists()):
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
                key = (row["source"], row["country"], normalise(row["alias"]))
                if key in aliases and aliases[key] != row["team_id"]:
                    raise VocabularyError(
                        f"{aliases_file}: {row['source']} spelling {row['alias']!r} ({row['country']}) is mapped "
                        f"to {row['team_id']!r} here but to {aliases[key]!r} in {origins[key]}: one spelling, two "
                        "clubs. Remove one of the two rows."
                    )
                aliases[key] = row["team_id"]
                origins[key] = str(aliases_file)
        missing = sorted({team_id for team_id in aliases.values() if team_id not in teams})
        if missing:
            raise VocabularyError(f"team_aliases refer to team_ids missing from teams.csv: {missing}")
        return cls(teams=teams, aliases=aliases, fingerprint=digest.hexdigest(), origins=origins, base=base)

    def learn(self, teams: Iterable[Team], aliases: Iterable[tuple[str, str, str, str]]) -> Vocabulary:
        """A copy that also knows stored decisions: teams created and (source, country, spelling, team_id).

        Curated rows win where both exist; the fingerprint (what a file's load depends on) stays the
        curated one, since a stored decision only repeats what resolution decided for that spelling."""
        learned = Vocabulary(dict(self.teams), dict(self.aliases), self.fingerprint, dict(self.origins), self.base)
        for team in teams:
            learned.teams.setdefault(team.team_id, team)
        for source, country, spelling, team_id in aliases:
            key = (source, country, normalise(spelling))
            if key not in learned.aliases and team_id in learned.teams:
                learned.aliases[key] = team_id
                learned.origins[key] = "learned"
        return learned

    def new_team_id(self, name: str, country: str) -> str:
        return new_team_id(name, country, self.teams)

    def team_names(self) -> set[str]:
        return {team.name for team in self.teams.values()}

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


def new_team_id(name: str, country: str, taken: Container[str]) -> str:
    """A stable id for a club first seen as `name`: its slug, made unique among `taken` ids."""
    base = slug(name) or "team"
    for candidate in (base, f"{base}-{country.lower()}"):
        if candidate not in taken:
            return candidate
    number = 2
    while f"{base}-{country.lower()}-{number}" in taken:
        number += 1
    return f"{base}-{country.lower()}-{number}"


def slug(name: str) -> str:
    """`Nott'm Forest` -> `nottm-forest`; accents dropped (`Düsseldorf` -> `dusseldorf`)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower().replace("'", "")).strip("-")


_FILLER = {"fc", "afc", "cf", "sc", "sv", "ac", "as", "ssc", "us", "vfb", "vfl", "tsg", "fsv", "club", "de", "cd",
           "ud", "rc", "sd", "real", "1", "the", "and", "&"}


def _tokens(name: str) -> list[str]:
    return [t for t in slug(name).split("-") if t and t not in _FILLER] or slug(name).split("-")


def _abbreviates(short: str, long: str) -> bool:
    """`man` for `manchester` (a prefix), `nottm` for `nottingham` (first letter, then letters in order)."""
    if long.startswith(short):
        return True
    if len(short) < 3 or short[0] != long[0]:
        return False
    rest = iter(long)
    return all(letter in rest for letter in short)


def similarity(a: str, b: str) -> float:
    """0-1: how alike two spellings of a club are. Abbreviations count (`Man City` / `Manchester City`:
    every token a prefix of the other's token in order); otherwise a character ratio of the slugs
    without filler words (FC, AFC, ...). Ranks candidates; it never decides alone for a match source."""
    left, right = _tokens(a), _tokens(b)
    if left == right:
        return 1.0
    short, long = sorted((left, right), key=len)
    if len(short) == len(long) and all(_abbreviates(x, y) or _abbreviates(y, x)
                                       for x, y in zip(short, long, strict=True)):
        return 0.9
    if len(short) < len(long) and short == long[:len(short)] and len(" ".join(short)) >= 5:
        return 0.85  # `Sheffield` for `Sheffield Wednesday` is weaker than an abbreviation of every word
    return difflib.SequenceMatcher(None, " ".join(left), " ".join(right)).ratio()


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
