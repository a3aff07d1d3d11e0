"""Reviewing what the open vocabulary decided, and accepting it into the curated files.

`football-pipeline teams review` lists the clubs created and the spellings resolved automatically
(`team_resolutions`), with their evidence; `football-pipeline teams accept DIR` appends them to
`DIR/teams.csv` and `DIR/team_aliases.csv` (a data dir's curated files, or the package's own
`football_pipeline/common/data/`) and marks them accepted. An accepted club keeps its id: curation adds
names and aliases to it, never a second id.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from football_pipeline.common.teams import normalise
from football_pipeline.warehouse import schema

TEAM_COLUMNS = ("team_id", "name", "country")
ALIAS_COLUMNS = ("source", "country", "alias", "team_id")


def decisions(engine: sa.Engine, include_accepted: bool = False) -> list[dict[str, object]]:
    """Stored decisions, newest season first, with the club's display name."""
    table, teams = schema.team_resolutions, schema.teams
    query = (sa.select(table, teams.c.name.label("team_name"))
             .join(teams, teams.c.team_id == table.c.team_id)
             .order_by(table.c.season.desc(), table.c.competition_id, table.c.source, table.c.alias))
    if not include_accepted:
        query = query.where(table.c.accepted_at.is_(None))
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def render(rows: list[dict[str, object]]) -> str:
    if not rows:
        return "No automatic team decisions to review."
    lines = []
    for row in rows:
        lines.append(f"{row['competition_id']} {row['season']}  {row['source']} {row['alias']!r} ({row['country']}) -> "
                     f"{row['team_id']} ({row['team_name']}): {row['decision']}")
        lines.append(f"    first seen in {row['first_seen_file']}; {row['evidence']}")
    return "\n".join(lines)


def accept(engine: sa.Engine, directory: Path) -> tuple[int, int]:
    """Append the pending decisions to `directory`'s teams.csv / team_aliases.csv; mark them accepted.
    Rows the files already hold are not repeated. Returns (teams added, aliases added)."""
    rows = decisions(engine)
    directory.mkdir(parents=True, exist_ok=True)
    teams_file, aliases_file = directory / "teams.csv", directory / "team_aliases.csv"
    have_teams = {r["team_id"] for r in _read(teams_file, TEAM_COLUMNS)}
    have_aliases = {(r["source"], r["country"], normalise(r["alias"])) for r in _read(aliases_file, ALIAS_COLUMNS)}
    new_teams = {}
    for row in rows:
        if row["decision"] == "new_team" and row["team_id"] not in have_teams:
            new_teams[row["team_id"]] = (row["team_id"], row["team_name"], row["country"])
    new_aliases = [(r["source"], r["country"], r["alias"], r["team_id"]) for r in rows
                   if (r["source"], r["country"], normalise(str(r["alias"]))) not in have_aliases]
    _append(teams_file, TEAM_COLUMNS, list(new_teams.values()))
    _append(aliases_file, ALIAS_COLUMNS, new_aliases)
    table = schema.team_resolutions
    with engine.begin() as connection:
        for row in rows:
            connection.execute(table.update().where(
                table.c.source == row["source"], table.c.country == row["country"], table.c.alias == row["alias"]
            ).values(accepted_at=dt.datetime.now(dt.timezone.utc)))
    return len(new_teams), len(new_aliases)


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != columns:
            raise ValueError(f"{path}: expected columns {columns}, found {reader.fieldnames}")
        return list(reader)


def _append(path: Path, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    new = not path.exists()
    text = path.read_text(encoding="utf-8") if not new else ""
    with path.open("a", encoding="utf-8", newline="") as handle:
        if text and not text.endswith("\n"):
            handle.write("\n")
        writer = csv.writer(handle, lineterminator="\n")
        if new:
            writer.writerow(columns)
        writer.writerows(rows)
