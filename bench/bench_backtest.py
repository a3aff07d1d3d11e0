"""Quality benchmark (issue 4 targets): walk-forward backtest on the bundled Premier League data,
refitting every model each matchweek, scored next to the de-vigged Pinnacle closing line.

    .venv/bin/python bench/bench_backtest.py [--seasons 2018-2019,...] [--cadence matchweek] [--draws 250]
                                             [--json PATH] [--csv PATH] [--lower-division]
                                             [--no-lower-strengths]

Builds a scratch SQLite warehouse from the bundled E0 + E1 files (E1 gives promoted teams a history for
the features), then runs `football_pipeline.modelling.backtest.run_backtest`. Targets: ensemble_no_odds
RPS <= 0.1990, ensemble RPS <= 0.1970, accuracy >= 53%, the Bayesian model below the ML Dixon-Coles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from football_pipeline import pipeline  # noqa: E402
from football_pipeline.modelling import evaluate  # noqa: E402
from football_pipeline.modelling.backtest import STACKS, BacktestConfig, restack, run_backtest  # noqa: E402
from football_pipeline.modelling.boosting import StackConfig  # noqa: E402
from football_pipeline.modelling.dixon_coles import DixonColesConfig  # noqa: E402
from football_pipeline.modelling.features import FEATURES, MARKET_FEATURES  # noqa: E402
from football_pipeline.settings import BUNDLED_DATA_DIR  # noqa: E402
from football_pipeline.warehouse import engine as engines  # noqa: E402

TARGETS = {"ensemble_no_odds": 0.1990, "ensemble": 0.1970}


def _over(fits, column: str, limit: float = 1.01) -> int:
    """How many refits' `column` (an R-hat) reached `limit`."""
    return int((fits[column] >= limit).sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seasons", default="2018-2019,2019-2020,2020-2021,2021-2022,2022-2023")
    parser.add_argument("--cadence", default="matchweek", choices=["matchweek", "week", "month"])
    parser.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain in each refit")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--burn-in", type=int, default=3,
                        help="seasons walked before the evaluation to give the stack history")
    parser.add_argument("--lower-division", action="store_true",
                        help="Dixon-Coles windows with E1's earlier window seasons too")
    parser.add_argument("--no-lower-strengths", dest="strengths_lower_division", action="store_false",
                        help="the ML strengths fit (XGBoost's features, the stacks' ML member) without E1")
    parser.add_argument("--stack-pool", default="linear", choices=["linear", "logarithmic"],
                        help="how the stacks pool their base models (StackConfig.pool)")
    parser.add_argument("--home-step-scale", type=float, default=DixonColesConfig.home_step_scale,
                        help="scale of the HalfNormal prior on the home advantage's season-to-season step")
    parser.add_argument("--warehouse", help="an existing warehouse URL (default: build a scratch SQLite one)")
    parser.add_argument("--json", help="write the scores and timings here")
    parser.add_argument("--csv", help="write the predictions CSV here")
    parser.add_argument("--oos", help="write every base model's out-of-sample probabilities (burn-in included) here")
    parser.add_argument("--restack", metavar="OOS_CSV",
                        help="replay only the stacks on a saved --oos file (same seasons and cadence), "
                             "keeping its base-model predictions")
    args = parser.parse_args()
    seasons = tuple(args.seasons.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        url = args.warehouse or f"sqlite:///{Path(scratch) / 'warehouse.db'}"
        engine = engines.create_engine(url)
        if not args.warehouse:
            first = int(seasons[0][:4]) - 8
            only = {(c, f"{y}-{y + 1}") for c in ("E0", "E1") for y in range(first, int(seasons[-1][:4]) + 1)}
            summary = pipeline.load_directory(engine, BUNDLED_DATA_DIR, workers=2, only=only,
                                              today=dt.date(2026, 11, 26))
            print(f"warehouse: {summary.loaded} partitions in {summary.seconds:.1f} s", flush=True)
        frame, feats = evaluate.backtest_frame(engine)
        config = BacktestConfig(evaluation_seasons=seasons, cadence=args.cadence, burn_in_seasons=args.burn_in,
                                lower_division=args.lower_division,
                                strengths_lower_division=args.strengths_lower_division,
                                stack=StackConfig(pool=args.stack_pool), bayes=DixonColesConfig(num_samples=args.draws, home_step_scale=args.home_step_scale,
                                                       num_chains=args.chains, warm_warmup=150))
        started = time.perf_counter()
        if args.restack:
            saved = pd.read_csv(args.restack, index_col=0, parse_dates=["match_date"])
            result = restack(frame, saved, config)
        else:
            result = run_backtest(frame, feats, FEATURES, MARKET_FEATURES, config,
                                  log=lambda line: print(line, flush=True) if "MLE" in line else None)
        seconds = time.perf_counter() - started
        names = evaluate.team_names(engine)
    if args.restack:
        print(f"\nstacks replayed on the base models' predictions in {args.restack}: "
              f"{len(result.fits)} stack refits in {seconds:.0f} s\n")
    else:
        print(f"\n{len(result.fits)} refits in {seconds:.0f} s on {os.cpu_count()} CPUs "
              f"(Bayesian: mean {result.fits['bayes_seconds'].mean():.1f} s per refit, "
              f"max R-hat {result.fits['bayes_r_hat_max'].max():.4f}, "
              f"{_over(result.fits, 'bayes_r_hat_max')} refits at R-hat >= 1.01: "
              f"{_over(result.fits, 'bayes_r_hat_bulk_max')} by location (bulk, max "
              f"{result.fits['bayes_r_hat_bulk_max'].max():.4f}), "
              f"{_over(result.fits, 'bayes_r_hat_folded_max')} by spread (folded), "
              f"median smallest bulk ESS {result.fits['bayes_ess_bulk_min'].median():.0f}, "
              f"{int(result.fits['bayes_divergences'].sum())} divergences in all)\n")
    print(evaluate.format_scores(result.scores))
    overall = {m: result.score_of(m) for m in result.scores["model"].unique()}
    print()
    for model, target in TARGETS.items():
        rps = overall.get(model, {}).get("rps", float("nan"))
        print(f"{model}: RPS {rps:.4f} (target <= {target}) {'PASS' if rps <= target else 'MISS'}")
    accuracy = overall.get("ensemble", {}).get("accuracy", float("nan"))
    print(f"ensemble accuracy {accuracy:.1%} (target >= 53%) {'PASS' if accuracy >= 0.53 else 'MISS'}")
    bayes, mle = overall["bayesian_dixon_coles"]["rps"], overall["dixon_coles_mle"]["rps"]
    print(f"Bayesian {bayes:.4f} vs ML Dixon-Coles {mle:.4f}: {'PASS' if bayes < mle else 'MISS'}")
    lower = overall.get("dixon_coles_mle_lower", {}).get("rps", float("nan"))
    print(f"(ML Dixon-Coles with the division below, the stacks' member: {lower:.4f})")
    print("\npaired RPS differences on the same matches (standard error clustered by match date):")
    for model, reference in (("ensemble", "market_pre_match"), ("ensemble", "market"),
                             ("ensemble_no_odds", "dixon_coles_mle_lower"),
                             ("bayesian_dixon_coles", "dixon_coles_mle")):
        if {model, reference} <= set(result.predictions["model"]):
            d = evaluate.paired_rps(result.predictions, model, reference)
            low, high = d.interval
            print(f"  {model} - {reference}: {d.mean:+.5f} (se {d.se:.5f}, 95% {low:+.5f} .. {high:+.5f}, "
                  f"{d.n} matches)")
    members = STACKS["ensemble"]
    if set(members) <= set(result.predictions["model"]):
        bound = evaluate.hindsight_pool(result.predictions, members, "market_pre_match")
        print(f"\nhindsight pool of the ensemble's members (weights fitted on these {bound.n} matches: a bound "
              f"for any stack): RPS {bound.rps:.5f} vs the pre-match market's {bound.reference_rps:.5f}, "
              f"log-likelihood {bound.loglik_gain:+.2f} nats over it; weights "
              + ", ".join(f"{m} {w:.2f}" for m, w in bound.weights.items()))
    if args.csv:
        evaluate.write_csv(result.predictions, names, Path(args.csv))
    if args.oos:
        result.oos.to_csv(args.oos)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "seconds": seconds, "refits": len(result.fits), "config": repr(config),
            "scores": result.scores.astype({"period_start": str, "period_end": str}).to_dict("records"),
            "fits": result.fits.astype({"refit_date": str}).to_dict("records")}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
