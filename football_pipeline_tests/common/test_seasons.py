"""Season keys and their spellings in each source."""

from __future__ import annotations

import datetime as dt

import pytest

from football_pipeline.common.seasons import FIRST_SEASON, Season, all_seasons


@pytest.mark.parametrize(
    ("code", "key", "start_year"),
    [
        ("2223", "2022-2023", 2022),
        ("9394", "1993-1994", 1993),
        ("9900", "1999-2000", 1999),
        ("0001", "2000-2001", 2000),
        ("0910", "2009-2010", 2009),
        ("2526", "2025-2026", 2025),
    ],
)
def test_football_data_code_and_key_round_trip(code: str, key: str, start_year: int) -> None:
    season = Season.from_football_data_code(code)
    assert season == Season(start_year)
    assert season.key == key
    assert str(season) == key
    assert season.football_data_code == code
    assert Season.from_key(key) == season
    assert Season.from_key(key).football_data_code == code


def test_source_spellings_and_bounds() -> None:
    season = Season.from_key("2022-2023")
    assert season.understat_year == "2022"
    assert season.first_day == dt.date(2022, 7, 1)
    # COVID-delayed seasons ran into August: the last accepted day is 31 August of the end year.
    assert season.last_day == dt.date(2023, 8, 31)


def test_seasons_order_by_start_year() -> None:
    assert Season(1993) < Season.from_key("1999-2000") < Season.from_football_data_code("0001")
    assert sorted([Season(2022), Season(1993), Season(2000)]) == [Season(1993), Season(2000), Season(2022)]


@pytest.mark.parametrize(
    "key",
    ["2022-2024", "2023-2022", "2022/2023", "22-23", "2223", "2022-23", "", " 2022-2023", "2022-2023x",
     "abcd-efgh"],
)
def test_invalid_keys_raise(key: str) -> None:
    with pytest.raises(ValueError, match="not a season key"):
        Season.from_key(key)


@pytest.mark.parametrize("code", ["2224", "2322", "222", "22233", "22-23", "2022", "ab12", "", "9901"])
def test_invalid_football_data_codes_raise(code: str) -> None:
    with pytest.raises(ValueError, match="not a football-data season code"):
        Season.from_football_data_code(code)


@pytest.mark.parametrize(
    "parse", [lambda: Season.from_key("2022-2023\n"), lambda: Season.from_football_data_code("2223\n")]
)
def test_trailing_newline_is_not_a_valid_key(parse) -> None:
    with pytest.raises(ValueError):
        parse()


@pytest.mark.parametrize(
    ("day", "start_year"),
    [
        (dt.date(2022, 7, 1), 2022),  # first day of a season
        (dt.date(2022, 6, 30), 2021),  # last day of June belongs to the season before
        (dt.date(2023, 1, 1), 2022),
        (dt.date(2020, 8, 1), 2020),  # August 2020 opens 2020-21 (COVID games also fall in 2019-20's bounds)
        (dt.date(1993, 8, 14), 1993),
        (dt.date(2000, 2, 29), 1999),
    ],
)
def test_containing(day: dt.date, start_year: int) -> None:
    assert Season.containing(day) == Season(start_year)


def test_all_seasons_from_first_football_data_season() -> None:
    seasons = all_seasons(dt.date(2026, 11, 26))
    assert seasons[0] == FIRST_SEASON == Season.from_key("1993-1994")
    assert seasons[-1] == Season.from_key("2026-2027")
    assert len(seasons) == 2026 - 1993 + 1
    years = [s.start_year for s in seasons]
    assert years == list(range(1993, 2027))


def test_all_seasons_edges() -> None:
    assert all_seasons(dt.date(2023, 6, 30))[-1] == Season(2022)
    assert all_seasons(dt.date(2023, 7, 1))[-1] == Season(2023)
    assert all_seasons(dt.date(1993, 7, 1)) == [Season(1993)]
    assert all_seasons(dt.date(1993, 6, 30)) == []
