"""The next-season drill: real bundled seasons loaded with a vocabulary that has never seen the clubs
first seen after a cut-off season, and what the load decided compared with the curated mapping.

Used by `bench/bench_team_resolution.py` and the drill tests (football_pipeline_tests/warehouse/
test_next_season_drill.py).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

from football_pipeline.common import competitions
from football_pipeline.common.teams import DATA_DIR, Vocabulary, normalise
from football_pipeline.ingestion.files import FOOTBALL_DATA, discover
from football_pipeline.pipeline import PARSERS
from football_pipeline.warehouse import schema


def layout(source: Path, dest: Path, competitions: list[str] | None = None, since: str = "2014-2015",
           until: str | None = None) -> Path:
    """A data dir of links to `source`'s football-data, Understat and FBref files (with their companion
    files) for `competitions` (default every one) and seasons from `since` to `until`."""
    for file in discover(source):
        if competitions and file.competition_id not in competitions:
            continue
        if file.season.key < since or (until and file.season.key > until):
            continue
        relative = file.path.relative_to(source)
        _link(file.path, dest / relative)
        companion = file.path.with_suffix("")  # understat/EPL/2015/ (shots), fbref/.../matches/
        for folder in (companion, file.path.parent / "matches"):
            if folder.is_dir() and folder != file.path.parent:
                for path in folder.rglob("*"):
                    if path.is_file():
                        _link(path, dest / path.relative_to(source))
    return dest


def _link(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(path)


def spellings(data_dir: Path) -> dict[tuple[str, str, str], set[str]]:
    """(source, competition, season) -> every team spelling of that file."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for file in discover(data_dir):
        parsed = PARSERS[file.source](file.path.read_bytes(), path=str(file.path), competition_id=file.competition_id,
                                      season=file.season)
        names = set(parsed.matches["home_team"]) | set(parsed.matches["away_team"])
        found[(file.source, file.competition_id, file.season.key)] = {normalise(n) for n in names if n == n}
    return found


def first_seasons(data_dir: Path, vocabulary: Vocabulary | None = None) -> dict[str, str]:
    """Curated team id -> the first season it appears in any match source of `data_dir`."""
    vocabulary = vocabulary or Vocabulary.load()
    first: dict[str, str] = {}
    for (source, competition_id, season), names in sorted(spellings(data_dir).items(), key=lambda i: i[0][2]):
        country = competitions.get(competition_id).country
        for name in names:
            team_id = vocabulary.resolve(source, country, name)
            if team_id is not None:
                first.setdefault(team_id, season)
    return first


def hide_clubs(dest: Path, first: dict[str, str], cutoff: str) -> set[str]:
    """Write the curated vocabulary to `dest` less every club first seen after `cutoff` (and its aliases)."""
    hidden = {team_id for team_id, season in first.items() if season > cutoff}
    write_vocabulary(dest, drop_teams=hidden)
    return hidden


def write_vocabulary(dest: Path, drop_teams: set[str] = frozenset(),
                     drop_aliases: set[tuple[str, str]] = frozenset()) -> Path:
    """The curated teams.csv/team_aliases.csv written to `dest` less some clubs (with every alias of
    theirs) and some (source, spelling) rows."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, column in (("teams.csv", 0), ("team_aliases.csv", 3)):
        with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        with (dest / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(rows[0])
            writer.writerows(row for row in rows[1:] if row[column] not in drop_teams
                             and not (name == "team_aliases.csv" and (row[0], row[2]) in drop_aliases))
    return dest


def compare_links(engine: sa.Engine, data_dir: Path, curated: Vocabulary | None = None) -> dict[str, object]:
    """Cross-source links of the curated vocabulary, against what the warehouse now maps."""
    curated = curated or Vocabulary.load()
    with engine.connect() as connection:
        stored = {(s, c, normalise(a)): t for s, c, a, t in connection.execute(
            sa.select(schema.team_aliases.c.source, schema.team_aliases.c.country, schema.team_aliases.c.alias,
                      schema.team_aliases.c.team_id))}
    files = spellings(data_dir)
    by_partition: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(dict)
    for (source, competition_id, season), names in files.items():
        by_partition[(competition_id, season)][source] = names
    links = recovered = wrong = 0
    missed: list[str] = []
    wrong_pairs: list[str] = []
    for (competition_id, season), sources in sorted(by_partition.items()):
        if FOOTBALL_DATA not in sources:
            continue
        country = competitions.get(competition_id).country
        for other, names in sources.items():
            if other == FOOTBALL_DATA:
                continue
            for a in sources[FOOTBALL_DATA]:
                for b in names:
                    same_club = curated.resolve(FOOTBALL_DATA, country, a) == curated.resolve(other, country, b)
                    auto_a, auto_b = stored.get((FOOTBALL_DATA, country, a)), stored.get((other, country, b))
                    linked = auto_a is not None and auto_a == auto_b
                    if same_club:
                        links += 1
                        recovered += linked
                        if not linked:
                            missed.append(f"{competition_id} {season}: {FOOTBALL_DATA} {a!r} -> {auto_a}, "
                                          f"{other} {b!r} -> {auto_b}")
                    elif linked:
                        wrong += 1
                        wrong_pairs.append(f"{competition_id} {season}: {FOOTBALL_DATA} {a!r} and {other} {b!r} "
                                           f"both {auto_a}")
    return {"links": links, "recovered": recovered, "wrong": wrong, "missed": missed, "wrong_pairs": wrong_pairs}

