"""Point-in-time features for 1X2 match prediction.

`build_features(matches)` walks the matches date by date: every match of a date gets its features from
the state left by earlier dates only, then that date's results update the state. A match without a
result (NaN goals) gets features but never changes the state, so results on or after a date can never
reach the features of that date (the point-in-time property the tests check by rewriting and deleting
later results).

Per-team state lives in plain dicts and deques and covers every competition in the input (a team
relegated from E0 keeps its ratings and form in E1):

- pi-ratings (Constantinou & Fenton 2013): a home and an away rating per team.
- Elo with home advantage and the World Football Elo goal-difference multiplier.
- Rolling form over the last 5/10/20 played matches (any venue) and home/away splits (the home team's
  last home matches, the away team's last away matches). A stat unknown for some past matches (xG
  exists only for some competitions and seasons) is averaged over the matches where it is known.
- Head-to-head over the last 6 meetings, rest days, experience and promotion flags.

Market features come from the pre-match (opening) prices, Shin de-vigged. Closing prices are the
evaluation baseline and are never read here.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from football_pipeline.modelling.market import shin

# pi-ratings
PI_C = 3.0
PI_LAMBDA = 0.035
PI_GAMMA = 0.7
# Elo
ELO_START = 1500.0
ELO_K = 20.0
ELO_HOME_ADVANTAGE = 60.0

FORM_WINDOWS = (5, 10, 20)
FORM_STATS = (
    "goals_for",
    "goals_against",
    "xg_for",
    "xg_against",
    "shots_for",
    "shots_against",
    "sot_for",
    "points",
)
VENUE_WINDOWS = (5, 10)
VENUE_STATS = ("goals_for", "goals_against", "xg_for", "xg_against", "points")
H2H_MEETINGS = 6
REST_CAP_DAYS = 30.0
MATCHES_PLAYED_CAP = 100.0


def _side_names(prefix: str, windows, stats) -> tuple[list[str], list[str], list[str]]:
    home = [f"{prefix}{w}_home_{s}" for w in windows for s in stats]
    away = [f"{prefix}{w}_away_{s}" for w in windows for s in stats]
    diff = [f"{prefix}{w}_diff_{s}" for w in windows for s in stats]
    return home, away, diff


_FORM_HOME, _FORM_AWAY, _FORM_DIFF = _side_names("form", FORM_WINDOWS, FORM_STATS)
_VENUE_HOME, _VENUE_AWAY, _VENUE_DIFF = _side_names("venue", VENUE_WINDOWS, VENUE_STATS)

_SCALAR_FEATURES = [
    "pi_home_rating",
    "pi_away_rating",
    "pi_rating_diff",
    "pi_expected_gd",
    "elo_home",
    "elo_away",
    "elo_diff",
    "elo_p_home",
    "h2h_n",
    "h2h_home_points",
    "h2h_goal_diff",
    "rest_home",
    "rest_away",
    "rest_diff",
    "matches_played_home",
    "matches_played_away",
    "season_matches_home",
    "season_matches_away",
    "promoted_home",
    "promoted_away",
]

FEATURES: list[str] = (
    _SCALAR_FEATURES[:8]
    + _FORM_HOME
    + _FORM_AWAY
    + _FORM_DIFF
    + _VENUE_HOME
    + _VENUE_AWAY
    + _VENUE_DIFF
    + _SCALAR_FEATURES[8:]
)
MARKET_FEATURES: list[str] = ["market_p_home", "market_p_draw", "market_p_away", "market_overround"]

_COL = {name: i for i, name in enumerate(FEATURES)}


def _block(names: list[str]) -> slice:
    start = _COL[names[0]]
    assert [_COL[n] for n in names] == list(range(start, start + len(names)))
    return slice(start, start + len(names))


_S_FORM_HOME, _S_FORM_AWAY, _S_FORM_DIFF = _block(_FORM_HOME), _block(_FORM_AWAY), _block(_FORM_DIFF)
_S_VENUE_HOME, _S_VENUE_AWAY, _S_VENUE_DIFF = _block(_VENUE_HOME), _block(_VENUE_AWAY), _block(_VENUE_DIFF)


# --- rating formulas ---------------------------------------------------------------------------------


def pi_expected_goal_difference(rating: float) -> float:
    """ĝ(R) = sign(R) (10^(|R|/c) - 1): the goal difference a pi-rating R stands for."""
    magnitude = 10.0 ** (abs(rating) / PI_C) - 1.0
    return magnitude if rating >= 0 else -magnitude


def pi_update(home_home: float, home_away: float, away_away: float, away_home: float, gd_observed: float):
    """One match's pi-rating update. Returns the new (home team's home, home team's away, away team's
    away, away team's home) ratings."""
    gd_predicted = pi_expected_goal_difference(home_home) - pi_expected_goal_difference(away_away)
    error = abs(gd_observed - gd_predicted)
    psi = PI_C * math.log10(1.0 + error)
    psi_home = psi if gd_observed > gd_predicted else -psi
    psi_away = psi if gd_observed < gd_predicted else -psi
    change_home = psi_home * PI_LAMBDA
    change_away = psi_away * PI_LAMBDA
    return (
        home_home + change_home,
        home_away + change_home * PI_GAMMA,
        away_away + change_away,
        away_home + change_away * PI_GAMMA,
    )


def elo_expected(diff: float) -> float:
    """Expected score of the side `diff` Elo points stronger (home advantage included)."""
    return 1.0 / (1.0 + 10.0 ** (-diff / 400.0))


def elo_goal_multiplier(goal_difference: float) -> float:
    gd = abs(goal_difference)
    if gd <= 1:
        return 1.0
    if gd == 2:
        return 1.5
    return (11.0 + gd) / 8.0


def _previous_season(season: str) -> str | None:
    """'2018-2019' -> '2017-2018', '2018' -> '2017'; None when the label is not years."""
    parts = str(season).split("-")
    try:
        return "-".join(str(int(p) - 1).zfill(len(p)) for p in parts)
    except ValueError:
        return None


# --- rolling means -----------------------------------------------------------------------------------


def _window_means(history, windows) -> np.ndarray:
    """Means over the last w entries of `history` (rows of stats, oldest first) for each w, skipping
    NaN per stat; NaN where a stat is unknown for all of them. Returns len(windows) * n_stats values,
    window-major."""
    rows = np.array(history, dtype=float)[::-1]  # most recent first
    known = ~np.isnan(rows)
    sums = np.cumsum(np.where(known, rows, 0.0), axis=0)
    counts = np.cumsum(known, axis=0)
    last = np.minimum(np.asarray(windows) - 1, len(rows) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums[last] / counts[last]
    return means.ravel()


def _points(goals_for: float, goals_against: float) -> float:
    return 3.0 if goals_for > goals_against else (1.0 if goals_for == goals_against else 0.0)


# --- the builder -------------------------------------------------------------------------------------


def _column(matches: pd.DataFrame, name: str) -> np.ndarray:
    if name not in matches.columns:
        return np.full(len(matches), np.nan)
    return pd.to_numeric(matches[name], errors="coerce").to_numpy(dtype=float)


def market_features(matches: pd.DataFrame) -> np.ndarray:
    """(n, 4): Shin probabilities from the opening prices and their overround; NaN rows where a price is
    missing or not above 1."""
    prices = np.column_stack([_column(matches, f"odds_open_{o}") for o in ("home", "draw", "away")])
    out = np.full((len(prices), 4), np.nan)
    valid = np.all(np.isfinite(prices) & (prices > 1.0), axis=1)
    if valid.any():
        # Many rows share a price triple; de-vig each distinct one once.
        unique, inverse = np.unique(prices[valid], axis=0, return_inverse=True)
        out[valid, :3] = shin(unique)[inverse.ravel()]
        out[valid, 3] = (1.0 / prices[valid]).sum(axis=1) - 1.0
    return out


def build_features(matches: pd.DataFrame) -> pd.DataFrame:
    """Point-in-time features, one row per match, same index and order as `matches`; columns
    FEATURES + MARKET_FEATURES."""
    n = len(matches)
    dates = pd.to_datetime(matches["match_date"])
    if dates.isna().any():
        raise ValueError("build_features: match_date is missing for some matches")
    day = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    home = matches["home_team_id"].astype(str).to_numpy()
    away = matches["away_team_id"].astype(str).to_numpy()
    competition = matches["competition_id"].astype(str).to_numpy()
    season = matches["season"].astype(str).to_numpy()
    hg, ag = _column(matches, "home_goals"), _column(matches, "away_goals")
    hxg, axg = _column(matches, "home_xg"), _column(matches, "away_xg")
    hs, as_ = _column(matches, "home_shots"), _column(matches, "away_shots")
    hsot, asot = _column(matches, "home_sot"), _column(matches, "away_sot")
    played = ~(np.isnan(hg) | np.isnan(ag))

    # Season membership (fixtures are known before a season starts): for the promotion flags.
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c, s, h, a in zip(competition, season, home, away, strict=True):
        members[(c, s)].update((h, a))

    def promoted(team: str, c: str, s: str) -> float:
        previous = members.get((c, _previous_season(s)))
        return 1.0 if previous is not None and team not in previous else 0.0

    out = np.full((n, len(FEATURES)), np.nan)
    nan_form = np.full(len(FORM_WINDOWS) * len(FORM_STATS), np.nan)
    nan_venue = np.full(len(VENUE_WINDOWS) * len(VENUE_STATS), np.nan)

    pi_home: dict[str, float] = defaultdict(float)
    pi_away: dict[str, float] = defaultdict(float)
    elo: dict[str, float] = defaultdict(lambda: ELO_START)
    form_history: dict[str, deque] = defaultdict(lambda: deque(maxlen=max(FORM_WINDOWS)))
    home_history: dict[str, deque] = defaultdict(lambda: deque(maxlen=max(VENUE_WINDOWS)))
    away_history: dict[str, deque] = defaultdict(lambda: deque(maxlen=max(VENUE_WINDOWS)))
    form_cache: dict[str, np.ndarray] = {}
    home_cache: dict[str, np.ndarray] = {}
    away_cache: dict[str, np.ndarray] = {}
    meetings: dict[tuple[str, str], deque] = defaultdict(lambda: deque(maxlen=H2H_MEETINGS))
    last_day: dict[str, int] = {}
    n_played: dict[str, int] = defaultdict(int)
    n_season: dict[tuple[str, str, str], int] = defaultdict(int)

    # Within a date, updates run in match_id order, so the result does not depend on the input order
    # (it matters only for a team with two results on one date).
    match_id = matches["match_id"].astype(str).to_numpy()
    order = np.lexsort((match_id, day))
    boundaries = np.flatnonzero(np.diff(day[order])) + 1
    for group in np.split(order, boundaries):
        # 1. features for every match of the date, from the state before it
        for i in group:
            h, a, c, s, d = home[i], away[i], competition[i], season[i], day[i]
            row = out[i]
            rh, ra = pi_home[h], pi_away[a]
            row[0] = rh
            row[1] = ra
            row[2] = rh - ra
            row[3] = pi_expected_goal_difference(rh) - pi_expected_goal_difference(ra)
            eh, ea = elo[h], elo[a]
            diff = eh + ELO_HOME_ADVANTAGE - ea
            row[4] = eh
            row[5] = ea
            row[6] = diff
            row[7] = elo_expected(diff)

            fh, fa = form_cache.get(h, nan_form), form_cache.get(a, nan_form)
            row[_S_FORM_HOME] = fh
            row[_S_FORM_AWAY] = fa
            row[_S_FORM_DIFF] = fh - fa
            vh, va = home_cache.get(h, nan_venue), away_cache.get(a, nan_venue)
            row[_S_VENUE_HOME] = vh
            row[_S_VENUE_AWAY] = va
            row[_S_VENUE_DIFF] = vh - va

            base = _COL["h2h_n"]
            past = meetings.get((h, a) if h < a else (a, h))
            if past:
                pts = gd = 0.0
                for past_home, past_hg, past_ag in past:
                    own, other = (past_hg, past_ag) if past_home == h else (past_ag, past_hg)
                    pts += _points(own, other)
                    gd += own - other
                row[base] = len(past)
                row[base + 1] = pts / len(past)
                row[base + 2] = gd / len(past)
            else:
                row[base] = 0.0

            rest_h = min(d - last_day[h], REST_CAP_DAYS) if h in last_day else np.nan
            rest_a = min(d - last_day[a], REST_CAP_DAYS) if a in last_day else np.nan
            row[base + 3] = rest_h
            row[base + 4] = rest_a
            row[base + 5] = rest_h - rest_a
            row[base + 6] = min(n_played[h], MATCHES_PLAYED_CAP)
            row[base + 7] = min(n_played[a], MATCHES_PLAYED_CAP)
            row[base + 8] = n_season[(h, c, s)]
            row[base + 9] = n_season[(a, c, s)]
            row[base + 10] = promoted(h, c, s)
            row[base + 11] = promoted(a, c, s)

        # 2. that date's results update the state
        for i in group:
            if not played[i]:
                continue
            h, a, c, s, d = home[i], away[i], competition[i], season[i], day[i]
            goals_h, goals_a = hg[i], ag[i]
            gd = goals_h - goals_a

            pi_home[h], pi_away[h], pi_away[a], pi_home[a] = pi_update(
                pi_home[h], pi_away[h], pi_away[a], pi_home[a], gd
            )

            score = 1.0 if gd > 0 else (0.5 if gd == 0 else 0.0)
            delta = (
                ELO_K * elo_goal_multiplier(gd) * (score - elo_expected(elo[h] + ELO_HOME_ADVANTAGE - elo[a]))
            )
            elo[h] += delta
            elo[a] -= delta

            points_h, points_a = _points(goals_h, goals_a), _points(goals_a, goals_h)
            form_history[h].append((goals_h, goals_a, hxg[i], axg[i], hs[i], as_[i], hsot[i], points_h))
            form_history[a].append((goals_a, goals_h, axg[i], hxg[i], as_[i], hs[i], asot[i], points_a))
            form_cache[h] = _window_means(form_history[h], FORM_WINDOWS)
            form_cache[a] = _window_means(form_history[a], FORM_WINDOWS)
            home_history[h].append((goals_h, goals_a, hxg[i], axg[i], points_h))
            away_history[a].append((goals_a, goals_h, axg[i], hxg[i], points_a))
            home_cache[h] = _window_means(home_history[h], VENUE_WINDOWS)
            away_cache[a] = _window_means(away_history[a], VENUE_WINDOWS)

            meetings[(h, a) if h < a else (a, h)].append((h, goals_h, goals_a))
            last_day[h] = last_day[a] = d
            n_played[h] += 1
            n_played[a] += 1
            n_season[(h, c, s)] += 1
            n_season[(a, c, s)] += 1

    frame = pd.DataFrame(out, index=matches.index, columns=FEATURES)
    market = pd.DataFrame(market_features(matches), index=matches.index, columns=MARKET_FEATURES)
    return pd.concat([frame, market], axis=1)


# Features every match needs once both teams have history (the competition's first season is exempt).
REQUIRED = ["pi_home_rating", "pi_away_rating", "elo_home", "elo_away", "form5_home_points", "form5_away_points"]
# A feature whose coverage among the latest season's played matches falls below DROPPED_BELOW after
# covering at least WAS_COVERED of the previous season's has lost its source (a feed stopped, a column
# renamed upstream); judged once the latest season has MIN_JUDGED played matches.
WAS_COVERED, DROPPED_BELOW, MIN_JUDGED = 0.9, 0.5, 20


@dataclass(frozen=True)
class Coverage:
    """What the `no_missing_values` check judged: core features missing, features whose source dropped out."""

    judged: int  # matches between teams with history, after the competition's first season
    missing: dict[str, int]  # REQUIRED feature -> judged matches without it
    dropped: dict[str, tuple[float, float]]  # feature -> (coverage previous season, latest season)
    seasons: tuple[str, str] | None  # (previous, latest) seasons compared, if there were two

    @property
    def passed(self) -> bool:
        return self.judged > 0 and not any(self.missing.values()) and not self.dropped

    def reason(self, competition: str) -> str | None:
        if self.judged == 0:
            return f"no {competition} matches after its first season"
        parts = []
        if any(self.missing.values()):
            parts.append("missing in judged matches: " + ", ".join(
                f"{name} ({n})" for name, n in self.missing.items() if n))
        if self.dropped:
            previous, latest = self.seasons
            parts.append(f"present in {previous} but not in {latest}: " + ", ".join(
                f"{name} ({before:.0%} -> {after:.0%} of played matches)"
                for name, (before, after) in self.dropped.items()))
        return "; ".join(parts) or None


def coverage(matches: pd.DataFrame, feats: pd.DataFrame, competition: str,
             columns: list[str] | None = None) -> Coverage:
    """Judge the features of `competition`'s matches (`feats` from `build_features(matches)`): every
    REQUIRED feature present once both teams have history, and no feature of `columns` (default: all)
    that covered the previous season's played matches but lost most of its coverage in the latest one.
    Features that never had a source for the competition (xG for a league Understat does not cover) are
    not judged by the second rule; neither are unplayed fixtures (no odds yet is normal)."""
    comp = matches["competition_id"] == competition
    seasons = sorted(matches.loc[comp, "season"].unique())
    judged = comp & (matches["season"] != (seasons[0] if seasons else None)) & (
        feats["matches_played_home"] > 0) & (feats["matches_played_away"] > 0)
    missing = {name: int(feats.loc[judged, name].isna().sum()) for name in REQUIRED}
    dropped: dict[str, tuple[float, float]] = {}
    pair = None
    played = comp & matches["home_goals"].notna()
    with_results = sorted(matches.loc[played, "season"].unique())
    if len(with_results) >= 2:
        pair = (with_results[-2], with_results[-1])
        previous = played & (matches["season"] == pair[0])
        latest = played & (matches["season"] == pair[1])
        if latest.sum() >= MIN_JUDGED:
            for name in columns if columns is not None else list(feats.columns):
                before = float(feats.loc[previous, name].notna().mean())
                after = float(feats.loc[latest, name].notna().mean())
                if before >= WAS_COVERED and after < DROPPED_BELOW:
                    dropped[name] = (before, after)
    return Coverage(int(judged.sum()), missing, dropped, pair)
