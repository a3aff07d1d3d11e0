"""Referential integrity of one partition, checked in SQL after a load."""

from __future__ import annotations

import sqlalchemy as sa

from football_pipeline.warehouse import schema


def orphans(engine: sa.Engine, competition_id: str, season: str) -> list[str]:
    """Problems found, one line each; empty when the partition is consistent."""
    m, t, c = schema.matches, schema.teams, schema.competitions
    problems: list[str] = []
    with engine.connect() as connection:
        for side in ("home_team_id", "away_team_id"):
            missing = connection.execute(
                sa.select(sa.func.count()).select_from(m.outerjoin(t, t.c.team_id == m.c[side])).where(
                    m.c.competition_id == competition_id, m.c.season == season, t.c.team_id.is_(None)
                )
            ).scalar_one()
            if missing:
                problems.append(f"{missing} matches whose {side} is not in teams")
        missing = connection.execute(
            sa.select(sa.func.count()).select_from(m.outerjoin(c, c.c.competition_id == m.c.competition_id)).where(
                m.c.competition_id == competition_id, m.c.season == season, c.c.competition_id.is_(None)
            )
        ).scalar_one()
        if missing:
            problems.append(f"{missing} matches whose competition is not in competitions")
        for table in (schema.odds, schema.xg, schema.team_match_stats):
            in_partition = m.select().where(
                m.c.match_id == table.c.match_id, m.c.competition_id == competition_id, m.c.season == season
            ).exists()
            missing = connection.execute(
                sa.select(sa.func.count()).select_from(table).where(
                    table.c.competition_id == competition_id, table.c.season == season, ~in_partition
                )
            ).scalar_one()
            if missing:
                problems.append(f"{missing} {table.name} rows whose match is not in matches for the partition")
    return problems
