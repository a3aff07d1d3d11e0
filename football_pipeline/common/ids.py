"""Canonical match identity.

In a league season each home/away pairing is played exactly once, so a match is identified by
competition, season and the two canonical teams. Sources are joined onto it by teams and a date within
a day, never by kick-off time (Understat's times are UTC, football-data's UK local time).
"""

from __future__ import annotations


def match_id(competition_id: str, season: str, home_team_id: str, away_team_id: str) -> str:
    return f"{competition_id}:{season}:{home_team_id}:{away_team_id}"
