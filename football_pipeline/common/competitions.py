"""Competitions and their identifiers in each source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Competition:
    competition_id: str  # football-data.co.uk division code; the partition key
    name: str
    country: str  # country of the league; team aliases are scoped by it
    tier: int
    understat_league: str | None
    fbref_comp_id: int | None


COMPETITIONS: tuple[Competition, ...] = (
    Competition("E0", "Premier League", "ENG", 1, "EPL", 9),
    Competition("E1", "Championship", "ENG", 2, None, 10),
    Competition("SP1", "La Liga", "ESP", 1, "La_liga", 12),
    Competition("D1", "Bundesliga", "GER", 1, "Bundesliga", 20),
    Competition("I1", "Serie A", "ITA", 1, "Serie_A", 11),
    Competition("F1", "Ligue 1", "FRA", 1, "Ligue_1", 13),
    Competition("N1", "Eredivisie", "NED", 1, None, 23),
)

BY_ID: dict[str, Competition] = {c.competition_id: c for c in COMPETITIONS}
BY_UNDERSTAT_LEAGUE: dict[str, Competition] = {
    c.understat_league: c for c in COMPETITIONS if c.understat_league
}


def get(competition_id: str) -> Competition:
    try:
        return BY_ID[competition_id]
    except KeyError:
        known = ", ".join(BY_ID)
        raise ValueError(f"unknown competition {competition_id!r} (known: {known})") from None
