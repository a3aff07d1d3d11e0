"""Reference tables: competitions, canonical teams and their per-source aliases."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.common.teams import Vocabulary
from football_pipeline.warehouse import schema
from football_pipeline.warehouse.load import bulk_insert, upsert


def load_reference(engine: sa.Engine, vocabulary: Vocabulary) -> dict[str, int]:
    """Upsert competitions, teams and aliases. Nothing is deleted: teams are in use, and the aliases a
    data dir's files or the open vocabulary's decisions added (with the partitions that loaded them)
    stay."""
    competitions = [
        {"competition_id": c.competition_id, "name": c.name, "country": c.country, "tier": c.tier,
         "understat_league": c.understat_league, "fbref_comp_id": c.fbref_comp_id}
        for c in COMPETITIONS
    ]
    teams = [{"team_id": t.team_id, "name": t.name, "country": t.country} for t in vocabulary.teams.values()]
    aliases = vocabulary.alias_rows()
    with engine.begin() as connection:
        upsert(connection, schema.competitions, competitions, ["competition_id"])
        for start in range(0, len(teams), 500):
            upsert(connection, schema.teams, teams[start:start + 500], ["team_id"])
        for start in range(0, len(aliases), 500):
            upsert(connection, schema.team_aliases, aliases[start:start + 500], ["source", "country", "alias"])
    return {"competitions": len(competitions), "teams": len(teams), "team_aliases": len(aliases)}


def load_elo_ratings(engine: sa.Engine, ratings: pd.DataFrame, source: str = "clubelo") -> int:
    """Replace one source's Elo ratings in one transaction."""
    with engine.begin() as connection:
        connection.execute(schema.elo_ratings.delete().where(schema.elo_ratings.c.source == source))
        return bulk_insert(connection, schema.elo_ratings, ratings.assign(source=source))
