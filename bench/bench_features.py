"""The `match_features` table stored incrementally by date: what a weekly sync costs next to a full write.

Builds a scratch warehouse from the bundled E0 and E1 files (2010-11 to 2022-23), then times, in one
process: computing every match's features (`features.build_features`, the in-memory part every sync
pays, against reading every stored row back); the first sync into an empty table (every row written: the reference); a sync one matchweek of
results later (the incremental case the weekly schedule meets); a sync with nothing new. Prints the
rows written and the ratios against the full write.

    .venv/bin/python bench/bench_features.py [--warehouse URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from football_pipeline import pipeline  # noqa: E402
from football_pipeline.modelling import data, feature_store, features  # noqa: E402
from football_pipeline.settings import BUNDLED_DATA_DIR  # noqa: E402
from football_pipeline.warehouse import engine as engines  # noqa: E402
from football_pipeline.warehouse import migrate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", help="an existing, loaded warehouse URL (default: build a scratch SQLite one)")
    parser.add_argument("--as-of", default="2023-04-01", help="the first sync's as-of date")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.warehouse or f"sqlite:///{Path(scratch) / 'warehouse.db'}"
        engine = engines.create_engine(url)
        if not args.warehouse:
            only = {(c, f"{y}-{y + 1}") for c in ("E0", "E1") for y in range(2010, 2023)}
            pipeline.load_directory(engine, BUNDLED_DATA_DIR, workers=2, only=only, today=dt.date(2026, 11, 26))
        migrate.upgrade(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM match_features")
        matches = data.load_matches(engine)
        first = dt.date.fromisoformat(args.as_of)
        dates = sorted(d for d in matches["match_date"].dt.date.unique() if d >= first)
        week_later = next(d for d in dates if d >= first + dt.timedelta(days=7))

        def timed_sync(as_of: dt.date):
            started = time.perf_counter()
            frame = data.with_promoted(data.split_as_of(matches, as_of))
            feats = features.build_features(frame)
            built = time.perf_counter() - started
            result = feature_store.sync(engine, frame, feats, as_of)
            return built, result

        built, full = timed_sync(first)
        _, weekly = timed_sync(week_later)
        _, idle = timed_sync(week_later)
        # The models need every match's features: reading them all back from the table is the
        # alternative to computing them, and costs this much.
        started = time.perf_counter()
        stored = feature_store.read(engine)
        read_back = time.perf_counter() - started
        backend = engine.dialect.name
        print(f"{len(matches):,} matches (E0+E1 2010-2023), {backend}, {os.cpu_count()} CPUs; "
              f"build_features {built:.2f} s for all of them; reading all {len(stored):,} stored rows back "
              f"{read_back:.2f} s")
        print("| sync | rows rewritten from | final rows written | provisional rows | kept | seconds | vs full |")
        print("|---|---|---|---|---|---|---|")
        for name, r in (("first (empty table)", full), (f"a week later ({week_later})", weekly),
                        ("nothing new", idle)):
            print(f"| {name} | {r.recomputed_from or '-'} | {r.final_written:,} | {r.provisional_written:,} | "
                  f"{r.kept:,} | {r.seconds:.2f} | {r.seconds / full.seconds:.2f} |")
        engine.dispose()


if __name__ == "__main__":
    main()
