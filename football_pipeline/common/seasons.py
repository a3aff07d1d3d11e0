"""Season keys and their spellings in each source.

The canonical key is `"2022-2023"`. football-data.co.uk writes `2223` (its URL segment), Understat
the start year `2022`, FBref `2022-2023`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_KEY = re.compile(r"(\d{4})-(\d{4})")
_FD_CODE = re.compile(r"(\d{2})(\d{2})")

# A season runs from July to June; COVID-delayed 2019-20 finished in August 2020, so matches are
# accepted up to the end of August of the end year.
SEASON_FIRST_MONTH = 7
SEASON_LAST_DAY = (8, 31)


@dataclass(frozen=True, order=True)
class Season:
    start_year: int

    @classmethod
    def from_key(cls, key: str) -> Season:
        match = _KEY.fullmatch(key)
        if not match or int(match.group(2)) != int(match.group(1)) + 1:
            raise ValueError(f"not a season key (expected e.g. '2022-2023'): {key!r}")
        return cls(int(match.group(1)))

    @classmethod
    def from_football_data_code(cls, code: str) -> Season:
        """`'2223'` -> 2022-2023, `'9394'` -> 1993-1994 (two-digit years: 90-99 are the 1990s)."""
        match = _FD_CODE.fullmatch(code)
        if not match:
            raise ValueError(f"not a football-data season code (expected e.g. '2223'): {code!r}")
        first, second = int(match.group(1)), int(match.group(2))
        if (first + 1) % 100 != second:
            raise ValueError(f"not a football-data season code (years not consecutive): {code!r}")
        return cls(1900 + first if first >= 90 else 2000 + first)

    @classmethod
    def containing(cls, day: dt.date) -> Season:
        return cls(day.year if day.month >= SEASON_FIRST_MONTH else day.year - 1)

    @property
    def key(self) -> str:
        return f"{self.start_year}-{self.start_year + 1}"

    @property
    def football_data_code(self) -> str:
        return f"{self.start_year % 100:02d}{(self.start_year + 1) % 100:02d}"

    @property
    def understat_year(self) -> str:
        return str(self.start_year)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.start_year, SEASON_FIRST_MONTH, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.start_year + 1, *SEASON_LAST_DAY)

    def __str__(self) -> str:
        return self.key


FIRST_SEASON = Season(1993)


def all_seasons(until: dt.date) -> list[Season]:
    """Every season from 1993-94 (the first football-data.co.uk season) to the one containing `until`."""
    last = Season.containing(until)
    return [Season(year) for year in range(FIRST_SEASON.start_year, last.start_year + 1)]
