"""Clubs with no history, scored: the first matches of clubs the open vocabulary created, against the
de-vigged closing market, walk-forward.

The EPL files from `--since` on, with every club first seen after `--cutoff` taken out of the
vocabulary (bench/drill.py): those clubs are created when their season loads, with no history in any
loaded division. The backtest walks the evaluation seasons twice, on the curated vocabulary and on the
drilled one, and reports

* whether the two walks agree (team ids are names only: the predictions must be the same), and
* per model, RPS on each new club's first `--first` matches of its first season, next to the market's
  on the same matches, and over the whole evaluation for reference.

    .venv/bin/python bench/bench_new_clubs.py                      # EPL 2017-18.., new after 2019-20
    .venv/bin/python bench/bench_new_clubs.py --draws 1000 --cadence matchweek
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.drill import first_seasons, hide_clubs, layout  # noqa: E402
from football_pipeline import settings  # noqa: E402
from football_pipeline.modelling.backtest import BacktestConfig  # noqa: E402
from football_pipeline.modelling.dixon_coles import DixonColesConfig  # noqa: E402
from football_pipeline.modelling.evaluate import backtest_directory, match_rps  # noqa: E402

MODELS = ("market", "bayesian_dixon_coles", "dixon_coles_mle", "xgboost", "ensemble", "ensemble_no_odds")


def new_club_matches(predictions: pd.DataFrame, first_seen: dict[str, str], first: int) -> dict[str, list[str]]:
    """Club -> match ids of its first `first` scored matches of the season it was first seen in, for the
    clubs first seen in an evaluated season."""
    rows = predictions[predictions["model"] == "market"].sort_values("date")
    out = {}
    for club, season in sorted(first_seen.items()):
        mine = rows[((rows["home_team"] == club) | (rows["away_team"] == club)) & (rows["season"] == season)]
        if len(mine):
            out[club] = mine["match_id"].astype(str).head(first).tolist()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="2017-2018")
    parser.add_argument("--cutoff", default="2019-2020")
    parser.add_argument("--seasons", default="2020-2021,2021-2022,2022-2023")
    parser.add_argument("--first", type=int, default=6, help="a new club's first matches scored")
    parser.add_argument("--cadence", default="matchweek")
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=500)
    args = parser.parse_args(argv)

    seasons = tuple(args.seasons.split(","))
    config = BacktestConfig(competition="E0", evaluation_seasons=seasons, cadence=args.cadence,
                            bayes=DixonColesConfig(num_warmup=args.warmup, num_samples=args.draws))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_dir = layout(settings.BUNDLED_DATA_DIR, work / "data", competitions=["E0"], since=args.since)
        first_seen = first_seasons(data_dir)
        hidden = hide_clubs(work / "vocabulary", first_seen, args.cutoff)
        runs = {}
        for name, vocabulary_dir in (("curated", None), ("drilled", work / "vocabulary")):
            started = time.perf_counter()
            result = backtest_directory(data_dir, config, vocabulary_dir=vocabulary_dir, log=lambda _: None,
                                        progress=lambda line: print(f"[{name}] {line}") if line.startswith(
                                            ("TEAM", "REFUSED", "LEFT")) else None)
            runs[name] = (result, time.perf_counter() - started)
    curated, drilled = runs["curated"][0], runs["drilled"][0]
    print(f"{len(hidden)} clubs unknown to the drilled vocabulary: {', '.join(sorted(hidden))}")
    print(f"walks: curated {runs['curated'][1]:.0f} s, drilled {runs['drilled'][1]:.0f} s")

    # Same matches, same probabilities, whatever the ids are called.
    key = ["date", "model", "p_home", "p_draw", "p_away", "result"]
    a = curated.predictions[key].sort_values(key).reset_index(drop=True)
    b = drilled.predictions[key].sort_values(key).reset_index(drop=True)
    same = len(a) == len(b) and np.allclose(a[["p_home", "p_draw", "p_away"]], b[["p_home", "p_draw", "p_away"]],
                                            atol=1e-9)
    print(f"predictions identical on both vocabularies: {same} ({len(a)} rows)")

    # The drilled run's rows, labelled with the curated ids of their clubs (rows are identical when `same`).
    labelled = drilled.predictions.merge(
        curated.predictions[key + ["home_team", "away_team"]].drop_duplicates(key), on=key, how="left",
        suffixes=("", "_curated"))
    labelled = labelled.assign(home_team=labelled["home_team_curated"], away_team=labelled["away_team_curated"])
    firsts = new_club_matches(labelled, {c: first_seen[c] for c in hidden}, args.first)
    ids = sorted({m for ms in firsts.values() for m in ms})
    print(f"clubs first seen in an evaluated season: {', '.join(f'{c} {first_seen[c]}' for c in firsts)}; "
          f"{len(ids)} matches")
    print(f"| model | RPS, new clubs' first {args.first} | market, same | gap | RPS, all | market, all |")
    print("|---|---|---|---|---|---|")
    market = match_rps(drilled.predictions, "market")
    for model in MODELS:
        scores = match_rps(drilled.predictions, model)
        common = scores.index.intersection(market.index)
        mine = [m for m in ids if m in common]
        if not mine:
            continue
        print(f"| {model} | {scores.loc[mine].mean():.4f} | {market.loc[mine].mean():.4f} | "
              f"{scores.loc[mine].mean() - market.loc[mine].mean():+.4f} | {scores.loc[common].mean():.4f} | "
              f"{market.loc[common].mean():.4f} |")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
