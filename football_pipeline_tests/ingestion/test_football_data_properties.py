"""Property: a football-data file cut at any byte gives a clear error or correct rows, never a wrong row."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion import football_data
from football_pipeline.ingestion.files import SourceFileError
from football_pipeline.settings import BUNDLED_DATA_DIR

SEASON = Season(2022)
PATH = "football-data/E0/2223.csv"
HEAD = b"".join((BUNDLED_DATA_DIR / PATH).read_bytes().splitlines(keepends=True)[:25])
KEY = ["source_row", "match_date", "home_team", "away_team", "home_goals", "away_goals"]


def parse(data: bytes):
    return football_data.parse(data, path=PATH, competition_id="E0", season=SEASON)


FULL = parse(HEAD)
MATCHES = set(FULL.matches[KEY].itertuples(index=False, name=None))
ODDS = set(FULL.odds.itertuples(index=False, name=None))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(HEAD) - 1))
def test_cut_anywhere_never_yields_a_wrong_row(cut):
    try:
        parsed = parse(HEAD[:cut])
    except SourceFileError as error:
        assert PATH in str(error)
        return
    assert parsed.file_problems or HEAD[:cut].endswith((b"\n", b"\r"))
    rows = set(parsed.matches[KEY].itertuples(index=False, name=None))
    assert rows <= MATCHES
    assert set(parsed.odds.itertuples(index=False, name=None)) <= ODDS
    if not HEAD[:cut].endswith((b"\n", b"\r")):
        assert any("truncated" in p for p in parsed.file_problems)


def test_full_head_parses_every_row():
    assert len(FULL.matches) == 24 and not FULL.file_problems and not FULL.rejections
    assert pd.api.types.is_datetime64_any_dtype(FULL.matches["match_date"])
