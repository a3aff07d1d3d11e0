"""football-data odds headers, read per season."""

from __future__ import annotations

import pytest

from football_pipeline.common.seasons import Season
from football_pipeline.ingestion.odds_columns import LineColumn, PriceColumn, classify

S2223 = Season(2022)
S2425 = Season(2024)
S2526 = Season(2025)


def price(header, bookmaker, market, outcome, phase, line, aggregate=None) -> PriceColumn:
    return PriceColumn(header, bookmaker, market, outcome, phase, line, aggregate)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("B365H", price("B365H", "bet365", "1x2", "home", "opening", 0.0)),
        ("B365D", price("B365D", "bet365", "1x2", "draw", "opening", 0.0)),
        ("PSH", price("PSH", "pinnacle", "1x2", "home", "opening", 0.0)),
        ("PSCH", price("PSCH", "pinnacle", "1x2", "home", "closing", 0.0)),
        ("PSCA", price("PSCA", "pinnacle", "1x2", "away", "closing", 0.0)),
        ("P>2.5", price("P>2.5", "pinnacle", "over_under", "over", "opening", 2.5)),
        ("PC<2.5", price("PC<2.5", "pinnacle", "over_under", "under", "closing", 2.5)),
        ("B365C>2.5", price("B365C>2.5", "bet365", "over_under", "over", "closing", 2.5)),
        ("PAHH", price("PAHH", "pinnacle", "asian_handicap", "home", "opening", None)),
        ("PCAHH", price("PCAHH", "pinnacle", "asian_handicap", "home", "closing", None)),
        ("B365CAHA", price("B365CAHA", "bet365", "asian_handicap", "away", "closing", None)),
        ("MaxCA", price("MaxCA", "market_max", "1x2", "away", "closing", 0.0, "max")),
        ("AvgH", price("AvgH", "market_avg", "1x2", "home", "opening", 0.0, "avg")),
        ("Max>2.5", price("Max>2.5", "market_max", "over_under", "over", "opening", 2.5, "max")),
        ("BbMxH", price("BbMxH", "betbrain_max", "1x2", "home", "opening", 0.0, "max")),
        ("BbAvAHA", price("BbAvAHA", "betbrain_avg", "asian_handicap", "away", "opening", None, "avg")),
        ("WHCD", price("WHCD", "william_hill", "1x2", "draw", "closing", 0.0)),
    ],
)
def test_price_columns(header: str, expected: PriceColumn) -> None:
    assert classify(header, S2223) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("AHh", LineColumn("AHh", None, "opening")),
        ("AHCh", LineColumn("AHCh", None, "closing")),
        ("BbAHh", LineColumn("BbAHh", "betbrain", "opening")),
        ("B365AH", LineColumn("B365AH", "bet365", "opening")),
        ("GBAH", LineColumn("GBAH", "gamebookers", "opening")),
    ],
)
def test_line_columns(header: str, expected: LineColumn) -> None:
    assert classify(header, S2223) == expected


# --- the BFD trap: the same letters mean different things in 2024-25 and 2025-26 -----------------------


def test_2024_25_bfd_is_betfair_draw() -> None:
    assert classify("BFD", S2425) == price("BFD", "betfair", "1x2", "draw", "opening", 0.0)
    assert classify("BFH", S2425) == price("BFH", "betfair", "1x2", "home", "opening", 0.0)
    assert classify("BFCD", S2425) == price("BFCD", "betfair", "1x2", "draw", "closing", 0.0)


def test_2024_25_bfdh_is_not_a_price_column() -> None:
    # Betfred (prefix BFD) is only published from 2025-26; in 2024-25 'BFDH' is not Betfair + 'DH'.
    assert classify("BFDH", S2425) is None
    assert classify("BFDCD", S2425) is None


def test_2025_26_bfd_prefix_is_betfred() -> None:
    assert classify("BFDH", S2526) == price("BFDH", "betfred", "1x2", "home", "opening", 0.0)
    assert classify("BFDD", S2526) == price("BFDD", "betfred", "1x2", "draw", "opening", 0.0)
    assert classify("BFDA", S2526) == price("BFDA", "betfred", "1x2", "away", "opening", 0.0)
    assert classify("BFDCD", S2526) == price("BFDCD", "betfred", "1x2", "draw", "closing", 0.0)


def test_2025_26_bfd_alone_and_betfair_are_not_price_columns() -> None:
    assert classify("BFD", S2526) is None
    assert classify("BFH", S2526) is None


def test_betfair_outside_2024_25_is_unknown() -> None:
    assert classify("BFD", S2223) is None
    assert classify("BFDH", S2223) is None


@pytest.mark.parametrize("season", [S2425, S2526], ids=["2024-25", "2025-26"])
def test_betfair_exchange_closing_ah_home_in_both_seasons(season: Season) -> None:
    assert classify("BFECAHH", season) == price("BFECAHH", "betfair_exchange", "asian_handicap", "home",
                                                "closing", None)
    assert classify("BFED", season) == price("BFED", "betfair_exchange", "1x2", "draw", "opening", 0.0)
    assert classify("BFEC>2.5", season) == price("BFEC>2.5", "betfair_exchange", "over_under", "over",
                                                 "closing", 2.5)


@pytest.mark.parametrize(
    "header",
    ["Referee", "HomeTeam", "FTHG", "Time", "XYZH", "B365", "B365X", "B365CC", "PSCX", "Bb1X2", "BbAH", "",
     "AHhh"],
)
def test_unknown_headers_are_none(header: str) -> None:
    assert classify(header, S2223) is None
