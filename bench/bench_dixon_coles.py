"""Speed of the Bayesian Dixon-Coles fit: three Premier League seasons (~1,100 matches), 4 chains x
1,000 draws, as the models issue measures it. Cold fit (JIT compilation included), the same fit again
(compiled sampler reused), and warm-started weekly refits. Prints diagnostics next to each time.

    .venv/bin/python bench/bench_dixon_coles.py
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

import jax
import pandas as pd

from football_pipeline.common.seasons import Season
from football_pipeline.common.teams import Vocabulary
from football_pipeline.ingestion import football_data
from football_pipeline.modelling.dixon_coles import BayesianDixonColes
from football_pipeline.quality.validate import validate
from football_pipeline.settings import BUNDLED_DATA_DIR


def matches(codes: list[str]) -> pd.DataFrame:
    vocabulary, frames = Vocabulary.load(), []
    for code in codes:
        relative = f"football-data/E0/{code}.csv"
        season = Season.from_football_data_code(code)
        parsed = football_data.parse((BUNDLED_DATA_DIR / relative).read_bytes(), path=relative,
                                     competition_id="E0", season=season)
        frames.append(validate(parsed, vocabulary, pd.Timestamp("2026-01-01")).matches.assign(season=season.key))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    data = matches(["1516", "1617", "1718", "1819"])
    if len(sys.argv) == 3 and sys.argv[1] == "--export":
        columns = ["match_date", "season", "home_team_id", "away_team_id", "home_goals", "away_goals"]
        data[columns].to_csv(sys.argv[2], index=False)
        return
    model = BayesianDixonColes()
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs")
    rows = []
    as_of = dt.date(2018, 8, 10)
    for label, warm, day in (("cold fit (compiles)", False, as_of), ("cold fit again", False, as_of),
                             ("warm refit 1 (compiles)", True, as_of + dt.timedelta(days=7)),
                             ("warm refit 2", True, as_of + dt.timedelta(days=14)),
                             ("warm refit 3", True, as_of + dt.timedelta(days=21))):
        started = time.perf_counter()
        posterior = model.fit(data, day, warm=warm)
        seconds = time.perf_counter() - started
        d = posterior.diagnostics
        rows.append((label, posterior.n_matches, seconds, d["r_hat_max"], d["ess_bulk_min"], d["ess_tail_min"],
                     d["divergences"]))
    print("\n| fit | matches | seconds | max R-hat | min bulk ESS | min tail ESS | divergences |")
    print("|---|---|---|---|---|---|---|")
    for label, n, seconds, rhat, bulk, tail, div in rows:
        print(f"| {label} | {n} | {seconds:.1f} | {rhat:.4f} | {bulk:.0f} | {tail:.0f} | {div} |")


if __name__ == "__main__":
    main()
