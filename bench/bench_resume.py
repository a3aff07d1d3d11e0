"""Weekly-retrain benchmark: the backtest a week later, resumed from last week's walk checkpoint, against
the same walk from the start, in the same process, on the bundled Premier League data.

    .venv/bin/python bench/bench_resume.py [--season 2022-2023] [--as-of 2023-02-06] [--cadence matchweek]
                                           [--draws 1000] [--burn-in 1] [--json PATH]

Three walks of one configuration (the production backtest's: `BacktestConfig` with these settings):
  1. as of --as-of (last Monday's retrain): from the start; its checkpoint is kept, dumped and read back
     as it travels through MLflow;
  2. as of a week later, resumed from that checkpoint (this Monday's retrain);
  3. as of a week later, from the start (the reference).
Reports each walk's seconds, the refits (and the ML Dixon-Coles walks' and the stacks' blocks) taken over,
the speed-up 3 / 2, and checks that 2 and 3 give the same predictions bit for bit (exit status 1 if not).
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
from football_pipeline.modelling import data, features  # noqa: E402
from football_pipeline.modelling.backtest import BacktestConfig, WalkCheckpoint, run_backtest  # noqa: E402
from football_pipeline.modelling.dixon_coles import DixonColesConfig  # noqa: E402
from football_pipeline.settings import BUNDLED_DATA_DIR  # noqa: E402
from football_pipeline.warehouse import engine as engines  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--season", default="2022-2023", help="the evaluation season")
    parser.add_argument("--as-of", default="2023-02-06", help="last week's retrain date (a week later: this week's)")
    parser.add_argument("--cadence", default="matchweek", choices=["matchweek", "week", "month"])
    parser.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain in each refit")
    parser.add_argument("--burn-in", type=int, default=1, help="seasons walked before the evaluation season")
    parser.add_argument("--json", help="write the timings here")
    args = parser.parse_args()
    last_week = dt.date.fromisoformat(args.as_of)
    this_week = last_week + dt.timedelta(days=7)
    config = BacktestConfig(evaluation_seasons=(args.season,), cadence=args.cadence, burn_in_seasons=args.burn_in,
                            bayes=DixonColesConfig(num_samples=args.draws, warm_warmup=150))
    with tempfile.TemporaryDirectory() as scratch:
        engine = engines.create_engine(f"sqlite:///{Path(scratch) / 'warehouse.db'}")
        end = int(args.season[:4])
        only = {(c, f"{y}-{y + 1}") for c in ("E0", "E1") for y in range(end - 8, end + 1)}
        summary = pipeline.load_directory(engine, BUNDLED_DATA_DIR, workers=2, only=only, today=dt.date(2026, 11, 26))
        print(f"warehouse: {summary.loaded} partitions in {summary.seconds:.1f} s", flush=True)
        history = data.load_matches(engine)

        def walk(as_of: dt.date, resume: WalkCheckpoint | None = None):
            frame = data.with_promoted(data.split_as_of(history, as_of))
            feats = features.build_features(frame)
            started = time.perf_counter()
            # The ML walks' line (seconds, blocks taken over) and the progress lines of a resumed walk.
            say = (lambda line: print(f"  {line}", flush=True)) if resume is not None else (lambda _: None)
            result = run_backtest(frame, feats, features.FEATURES, features.MARKET_FEATURES, config, resume=resume,
                                  log=lambda line: say(line) if "MLE walk" in line else None, progress=say)
            return result, time.perf_counter() - started

        first, first_seconds = walk(last_week)
        path = Path(scratch) / "walk_checkpoint.pkl.gz"
        first.checkpoint.dump(path)
        size = path.stat().st_size
        print(f"as of {last_week}, from the start: {len(first.fits)} refits in {first_seconds:.0f} s "
              f"(checkpoint {size / 1e6:.2f} MB)", flush=True)
        resumed, resumed_seconds = walk(this_week, WalkCheckpoint.load(path))
        print(f"as of {this_week}, resumed: {resumed.reused_steps} of {len(resumed.fits)} refits, "
              f"{resumed.taken_over['mle_blocks']} ML Dixon-Coles blocks and {resumed.taken_over['stack_blocks']} "
              f"stack blocks taken over, {resumed_seconds:.1f} s", flush=True)
        scratch_walk, scratch_seconds = walk(this_week)
        print(f"as of {this_week}, from the start: {len(scratch_walk.fits)} refits in {scratch_seconds:.0f} s",
              flush=True)
    same = resumed.predictions.equals(scratch_walk.predictions) and resumed.oos.equals(scratch_walk.oos)
    ratio = scratch_seconds / resumed_seconds
    print(f"\nresumed walk {resumed_seconds:.1f} s vs from the start {scratch_seconds:.0f} s: {ratio:.1f}x faster "
          f"on {os.cpu_count()} CPUs; predictions {'identical' if same else 'DIFFERENT'} "
          f"({len(resumed.predictions)} rows)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "config": repr(config), "as_of": [last_week.isoformat(), this_week.isoformat()],
            "refits": len(resumed.fits), "refits_taken_over": resumed.reused_steps,
            "blocks_taken_over": resumed.taken_over,
            "seconds": {"last_week_from_start": first_seconds, "resumed": resumed_seconds,
                        "from_start": scratch_seconds},
            "speed_up": ratio, "identical": bool(same), "checkpoint_bytes": size,
            "bayes_seconds_refitted": float(pd.Series(resumed.fits.loc[~resumed.fits["reused"], "bayes_seconds"]).sum()),
        }, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
