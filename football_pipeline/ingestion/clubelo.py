"""ClubElo rating histories (api.clubelo.com CSVs: Rank, Club, Country, Level, Elo, From, To)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from football_pipeline.common.teams import Vocabulary
from football_pipeline.ingestion.files import CLUBELO, SourceFileError, decode_text

COLUMNS = ["Rank", "Club", "Country", "Level", "Elo", "From", "To"]
# ClubElo's country -> the country of the league the club plays in (Welsh clubs play in England).
LEAGUE_COUNTRY = {"ENG": "ENG", "WAL": "ENG", "ESP": "ESP", "GER": "GER", "ITA": "ITA", "FRA": "FRA",
                  "MON": "FRA", "NED": "NED"}


def parse(data: bytes, path: str) -> pd.DataFrame:
    text, _ = decode_text(path, data)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise SourceFileError(path, f"missing ClubElo column(s) {missing}; header is {list(frame.columns)}")
    out = pd.DataFrame({
        "club": frame["Club"].str.strip(),
        "country": frame["Country"].str.strip(),
        "level": pd.to_numeric(frame["Level"], errors="coerce"),
        "elo": pd.to_numeric(frame["Elo"], errors="coerce"),
        "valid_from": pd.to_datetime(frame["From"], format="%Y-%m-%d", errors="coerce"),
        "valid_to": pd.to_datetime(frame["To"], format="%Y-%m-%d", errors="coerce"),
    })
    bad = out[["elo", "valid_from", "valid_to"]].isna().any(axis=1)
    if bad.any():
        first = int(bad.idxmax()) + 2
        raise SourceFileError(path, f"{int(bad.sum())} rows with an unreadable Elo or date (first: line {first})")
    return out


def read_directory(data_dir: Path, vocabulary: Vocabulary) -> tuple[pd.DataFrame, list[str]]:
    """Histories first (complete), then snapshots for clubs without one; clubs outside our leagues skipped."""
    return map_ratings(read_all(data_dir), vocabulary)


def read_all(data_dir: Path) -> pd.DataFrame:
    """Every ClubElo row of `data_dir/clubelo/`, parsed, with `is_history` (a club's file, not a snapshot)."""
    root = data_dir / CLUBELO
    frames = []
    for path in sorted(root.rglob("*.csv")):
        frame = parse(path.read_bytes(), str(path.relative_to(data_dir)))
        frame["is_history"] = "snapshot" not in path.parent.name
        frame["file"] = str(path.relative_to(data_dir))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["club", "country", "level", "elo", "valid_from", "valid_to", "is_history", "file"])
    return pd.concat(frames, ignore_index=True)


def map_ratings(ratings: pd.DataFrame, vocabulary: Vocabulary) -> tuple[pd.DataFrame, list[str]]:
    """Ratings onto canonical teams; the clubs no alias knows come back by name (skipped)."""
    if ratings.empty:
        return pd.DataFrame(columns=["team_id", "valid_from", "valid_to", "elo"]), []
    ratings = ratings.copy()
    lookup = {
        (club, country): vocabulary.resolve(CLUBELO, LEAGUE_COUNTRY.get(country, ""), club)
        for club, country in ratings[["club", "country"]].drop_duplicates().itertuples(index=False)
    }
    ratings["team_id"] = [lookup[(c, k)] for c, k in zip(ratings["club"], ratings["country"], strict=True)]
    unmapped = sorted({club for (club, _), team in lookup.items() if team is None})
    ratings = ratings[ratings["team_id"].notna()]
    with_history = set(ratings.loc[ratings["is_history"], "team_id"])
    ratings = ratings[ratings["is_history"] | ~ratings["team_id"].isin(with_history)]
    ratings = ratings.sort_values(["team_id", "valid_from", "is_history"]).drop_duplicates(
        ["team_id", "valid_from"], keep="last")
    return ratings[["team_id", "valid_from", "valid_to", "elo"]].reset_index(drop=True), unmapped
