"""football-data.co.uk odds headers, mapped per season.

A header is a bookmaker prefix, an optional `C` for closing prices, and a market suffix: `B365H`,
`PSCH` (Pinnacle closing home), `BFECAHH` (Betfair Exchange closing Asian-handicap home), `P>2.5`.
Prefixes are only valid in the seasons the bookmaker was published: `BFD` is Betfair's *draw* price in
2024-25 (`BF` + `D`) but the Betfred prefix from 2025-26 (`BFDH`, `BFDD`, `BFDA`), so stripping a
trailing H/D/A generically would misread one of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

from football_pipeline.common.seasons import Season


@dataclass(frozen=True)
class Bookmaker:
    prefix: str
    code: str
    first_season: int | None = None  # start year, inclusive
    last_season: int | None = None
    aggregate: str | None = None  # "max" or "avg" for market-wide aggregates

    def valid_in(self, season: Season) -> bool:
        return (self.first_season is None or season.start_year >= self.first_season) and (
            self.last_season is None or season.start_year <= self.last_season
        )


BOOKMAKERS: tuple[Bookmaker, ...] = (
    Bookmaker("B365", "bet365"),
    Bookmaker("BW", "bwin"),
    Bookmaker("IW", "interwetten"),
    Bookmaker("LB", "ladbrokes"),
    Bookmaker("PS", "pinnacle"),  # 1X2 prices
    Bookmaker("P", "pinnacle"),  # totals and Asian-handicap prices
    Bookmaker("WH", "william_hill"),
    Bookmaker("VC", "vc_bet"),
    Bookmaker("SB", "sportingbet"),
    Bookmaker("GB", "gamebookers"),
    Bookmaker("SO", "sporting_odds"),
    Bookmaker("SY", "stanleybet"),
    Bookmaker("SJ", "stan_james"),
    Bookmaker("BS", "blue_square"),
    Bookmaker("1XB", "1xbet"),
    Bookmaker("BF", "betfair", first_season=2024, last_season=2024),
    Bookmaker("BFE", "betfair_exchange"),
    Bookmaker("BFD", "betfred", first_season=2025),
    Bookmaker("BMGM", "betmgm"),
    Bookmaker("BV", "betvictor"),
    Bookmaker("CL", "coral"),
    Bookmaker("Max", "market_max", aggregate="max"),
    Bookmaker("Avg", "market_avg", aggregate="avg"),
    Bookmaker("BbMx", "betbrain_max", aggregate="max"),
    Bookmaker("BbAv", "betbrain_avg", aggregate="avg"),
)

# suffix -> (market, outcome, line); Asian-handicap lines come from separate columns
PRICE_SUFFIXES: dict[str, tuple[str, str, float | None]] = {
    "H": ("1x2", "home", 0.0),
    "D": ("1x2", "draw", 0.0),
    "A": ("1x2", "away", 0.0),
    ">2.5": ("over_under", "over", 2.5),
    "<2.5": ("over_under", "under", 2.5),
    "AHH": ("asian_handicap", "home", None),
    "AHA": ("asian_handicap", "away", None),
}

# Columns that are neither prices nor match facts: counts of bookmakers in BetBrain's averages.
BOOKMAKER_COUNT_COLUMNS = frozenset({"Bb1X2", "BbOU", "BbAH"})
# Asian-handicap lines shared by all bookmakers of a phase (home handicap).
SHARED_LINE_COLUMNS = {"AHh": "opening", "AHCh": "closing"}
BETBRAIN_LINE_COLUMN = "BbAHh"


@dataclass(frozen=True)
class PriceColumn:
    header: str
    bookmaker: str
    market: str
    outcome: str
    phase: str  # "opening" (pre-match, as first published in the file) or "closing"
    line: float | None
    aggregate: str | None


@dataclass(frozen=True)
class LineColumn:
    header: str
    bookmaker: str | None  # None: shared by every bookmaker
    phase: str


def classify(header: str, season: Season) -> PriceColumn | LineColumn | None:
    """What an odds header means in `season`; None when it is not an odds column we know."""
    if header in SHARED_LINE_COLUMNS:
        return LineColumn(header, None, SHARED_LINE_COLUMNS[header])
    if header == BETBRAIN_LINE_COLUMN:
        return LineColumn(header, "betbrain", "opening")
    for bookmaker in _prefixes_longest_first(season):
        if not header.startswith(bookmaker.prefix):
            continue
        rest = header[len(bookmaker.prefix):]
        if rest == "AH":
            return LineColumn(header, bookmaker.code, "opening")
        phase = "opening"
        if rest not in PRICE_SUFFIXES and rest.startswith("C") and rest[1:] in PRICE_SUFFIXES:
            phase, rest = "closing", rest[1:]
        if rest in PRICE_SUFFIXES:
            market, outcome, line = PRICE_SUFFIXES[rest]
            return PriceColumn(header, bookmaker.code, market, outcome, phase, line, bookmaker.aggregate)
    return None


def _prefixes_longest_first(season: Season) -> list[Bookmaker]:
    return sorted(
        (b for b in BOOKMAKERS if b.valid_in(season)), key=lambda b: len(b.prefix), reverse=True
    )
