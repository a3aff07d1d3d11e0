"""A small warehouse of predictions, odds and evaluations for the serving tests.

Times are UTC. AS_OF falls between a played match and the next matchdays. Premier League (six teams):
matchday one runs Friday 7 March to Monday 10 March 2025, and the next round starts the day after,
Tuesday 11 March, with Fulham, who played on the Friday. La Liga (four teams): Saturday and Sunday,
then the following weekend.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from football_pipeline.warehouse import schema

UTC = dt.timezone.utc
AS_OF = dt.datetime(2025, 3, 1, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=UTC)


TEAMS = {
    "ENG": ["arsenal", "chelsea", "liverpool", "everton", "fulham", "brentford"],
    "ESP": ["barcelona", "real-madrid", "sevilla", "valencia"],
}

# (competition, home, away, kick-off)
FIXTURES = [
    ("E0", "arsenal", "chelsea", at(22, 15, month=2)),  # played before AS_OF
    ("E0", "everton", "fulham", at(7, 20)),  # next matchday: Friday ...
    ("E0", "arsenal", "liverpool", at(8, 15)),
    ("E0", "chelsea", "brentford", at(10, 20)),  # ... to Monday
    ("E0", "fulham", "arsenal", at(11, 19, 45)),  # the round after: Tuesday
    ("E0", "liverpool", "chelsea", at(12, 20)),
    ("E0", "brentford", "everton", at(12, 20)),
    ("SP1", "barcelona", "sevilla", at(8, 18)),  # next matchday
    ("SP1", "valencia", "real-madrid", at(9, 20)),
    ("SP1", "sevilla", "valencia", at(15, 18)),  # the weekend after
    ("SP1", "real-madrid", "barcelona", at(16, 20)),
]
NEXT_MATCHDAY = {
    "E0": ["E0:2024-2025:everton:fulham", "E0:2024-2025:arsenal:liverpool", "E0:2024-2025:chelsea:brentford"],
    "SP1": ["SP1:2024-2025:barcelona:sevilla", "SP1:2024-2025:valencia:real-madrid"],
}


def match_id(competition: str, home: str, away: str) -> str:
    return f"{competition}:2024-2025:{home}:{away}"


def probabilities(i: int) -> tuple[float, float, float]:
    """Distinct percentages summing to 100 (to 0.1), one set per fixture."""
    home = round(30.0 + 1.1 * i, 1)
    draw = round(28.0 - 0.3 * i, 1)
    return home, draw, round(100.0 - home - draw, 1)


def prediction(competition, home, away, kickoff, model, version, predicted_at, pcts) -> dict:
    return {
        "match_id": match_id(competition, home, away), "model_name": model, "model_version": version,
        "kickoff_at": kickoff, "competition_id": competition, "season": "2024-2025",
        "home_team_id": home, "away_team_id": away,
        "home_win_pct": pcts[0], "draw_pct": pcts[1], "away_win_pct": pcts[2],
        "expected_home_goals": 1.2 + pcts[0] / 100, "expected_away_goals": 1.0 + pcts[2] / 100,
        "credible_interval": {"home_win_pct": [pcts[0] - 5, pcts[0] + 5]}, "entropy": 1.05,
        "model_type": "dixon_coles" if model == "dixon_coles" else "gradient_boosting",
        "training_size": 3000, "features": ["elo", "xg"], "hyperparameters": {"xi": 0.0018},
        "mlflow_run_id": f"run-{version}", "predicted_at": predicted_at,
    }


def odds_rows(competition, home, away, bookmaker, phase, prices) -> list[dict]:
    return [
        {"match_id": match_id(competition, home, away), "bookmaker": bookmaker, "market": "1x2", "line": 0.0,
         "outcome": outcome, "phase": phase, "price": price, "competition_id": competition, "season": "2024-2025"}
        for outcome, price in zip(("home", "draw", "away"), prices, strict=True)
    ]


PINNACLE_CLOSING = (2.10, 3.60, 3.40)  # arsenal v liverpool
PINNACLE_OPENING = (2.25, 3.50, 3.10)
AVERAGE_OPENING = {"arsenal": (2.05, 3.45, 3.30), "everton": (2.60, 3.20, 2.80)}


def predictions_rows() -> list[dict]:
    """dixon_coles v1 for every fixture (28 Feb), v2 republished for the Premier League (1 Mar 06:00,
    different numbers); xgboost for two fixtures. Every row sums to 100."""
    rows = []
    for i, (competition, home, away, kickoff) in enumerate(FIXTURES):
        rows.append(prediction(competition, home, away, kickoff, "dixon_coles", "1", at(28, 9, month=2),
                               probabilities(i)))
        if competition == "E0" and kickoff > AS_OF:
            rows.append(prediction(competition, home, away, kickoff, "dixon_coles", "2", at(1, 6),
                                   probabilities(i + 15)))
    for i, (competition, home, away, kickoff) in enumerate(FIXTURES[2:4]):
        rows.append(prediction(competition, home, away, kickoff, "xgboost", "7", at(1, 7), probabilities(i + 30)))
    return rows


def performance_rows() -> list[dict]:
    def row(competition, model, version, start, end, n, rps, market_rps, accuracy):
        return {"model_name": model, "model_version": version, "competition_id": competition,
                "season": "2024-2025", "period_start": start, "period_end": end, "n_matches": n,
                "accuracy": accuracy, "log_loss": 0.98, "rps": rps, "brier": 0.58, "ece": 0.02,
                "calibration_slope": 1.0, "calibration_intercept": 0.0, "market_rps": market_rps,
                "market_log_loss": 0.97, "mlflow_run_id": f"eval-{version}"}
    d = dt.date
    return [
        row("E0", "dixon_coles", "1", d(2025, 1, 1), d(2025, 1, 15), 50, 0.20, 0.19, 0.50),
        row("E0", "dixon_coles", "1", d(2025, 1, 16), d(2025, 1, 31), 150, 0.22, 0.20, 0.46),
        row("E0", "dixon_coles", "1", d(2025, 2, 1), d(2025, 2, 28), 100, 0.18, 0.19, 0.55),
        row("E0", "xgboost", "7", d(2025, 2, 1), d(2025, 2, 28), 100, 0.21, 0.19, 0.49),
        row("SP1", "dixon_coles", "1", d(2025, 1, 1), d(2025, 1, 31), 80, 0.19, 0.21, 0.52),
    ]


def populate(connection: sa.Connection) -> None:
    connection.execute(schema.competitions.insert(), [
        {"competition_id": "E0", "name": "Premier League", "country": "ENG", "tier": 1},
        {"competition_id": "SP1", "name": "La Liga", "country": "ESP", "tier": 1},
    ])
    connection.execute(schema.teams.insert(), [
        {"team_id": team, "name": team.replace("-", " ").title(), "country": country}
        for country, teams in TEAMS.items() for team in teams
    ])
    connection.execute(schema.predictions.insert(), predictions_rows())
    connection.execute(schema.odds.insert(), [
        *odds_rows("E0", "arsenal", "liverpool", "pinnacle", "opening", PINNACLE_OPENING),
        *odds_rows("E0", "arsenal", "liverpool", "pinnacle", "closing", PINNACLE_CLOSING),
        *odds_rows("E0", "arsenal", "liverpool", "market_avg", "opening", AVERAGE_OPENING["arsenal"]),
        *odds_rows("E0", "arsenal", "liverpool", "bet365", "opening", (1.5, 4.0, 6.0)),
        *odds_rows("E0", "everton", "fulham", "market_avg", "opening", AVERAGE_OPENING["everton"]),
        # an incomplete Pinnacle quote (no draw price) is not shown
        *odds_rows("E0", "everton", "fulham", "pinnacle", "opening", (2.7, 3.3, 2.9))[::2],
    ])
    connection.execute(schema.model_performance.insert(), performance_rows())
