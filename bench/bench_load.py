"""Ingest + validate + load throughput of the whole bundled dataset, per backend.

For each backend: a full load into an empty warehouse, then a no-change re-run. The reference, timed
in the same process, is the floor any loader pays: reading every bundled file with pandas.read_csv /
json.load, no validation, no database. Prints a Markdown table (the README's figures). (FBref pages: lxml's parse.)

    make bench                       # SQLite, PostgreSQL (POSTGRES_TEST_URL), TimescaleDB (TIMESCALEDB_URL)
    .venv/bin/python bench/bench_load.py --backends sqlite
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

import lxml.html
import pandas as pd
from sqlalchemy.engine import make_url

from football_pipeline import pipeline
from football_pipeline.ingestion.files import discover
from football_pipeline.settings import BUNDLED_DATA_DIR
from football_pipeline.warehouse import engine as engines

TARGET_FULL_S, TARGET_RERUN_S = 30.0, 10.0


def reference_read(data_dir: Path) -> float:
    started = time.perf_counter()
    for file in discover(data_dir):
        data = file.path.read_bytes()
        if file.source == "football-data":
            pd.read_csv(io.BytesIO(data), encoding="latin-1", on_bad_lines="skip", low_memory=False)
        elif file.source == "understat":
            json.loads(data)
        else:
            lxml.html.fromstring(data)
    return time.perf_counter() - started


def fresh_postgres(server_url: str) -> tuple[str, callable]:
    name = f"fp_bench_{uuid.uuid4().hex[:8]}"
    admin = engines.create_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def bench(url: str, workers: int) -> dict[str, float]:
    engine = engines.create_engine(url)
    full = pipeline.load_directory(engine, BUNDLED_DATA_DIR, workers=workers)
    rerun = pipeline.load_directory(engine, BUNDLED_DATA_DIR, workers=workers)
    engine.dispose()
    assert full.loaded == full.partitions and not full.refused, full.refused
    assert rerun.unchanged == rerun.partitions
    rows = sum(full.rows.values())
    return {"full": full.seconds, "rerun": rerun.seconds, "rows": rows, "partitions": full.partitions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgresql,timescaledb")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    reference = reference_read(BUNDLED_DATA_DIR)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            cleanup = None
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            elif backend == "postgresql":
                url, cleanup = fresh_postgres(os.environ.get("POSTGRES_TEST_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
            elif backend == "timescaledb":
                if not os.environ.get("TIMESCALEDB_URL"):
                    print("timescaledb: skipped (set TIMESCALEDB_URL)")
                    continue
                url, cleanup = fresh_postgres(os.environ["TIMESCALEDB_URL"])
            else:
                raise SystemExit(f"unknown backend {backend}")
            try:
                results[backend] = bench(url, args.workers)
            finally:
                if cleanup:
                    cleanup()

    print(f"\nBundled dataset, {platform.machine()} with {os.cpu_count()} CPUs, {args.workers} parser processes.")
    print(f"Reference (read every file with pandas/json, no checks, no database): {reference:.2f} s\n")
    print("| backend | partitions | rows loaded | full load (s) | rows/s | x reference | target | no-change re-run (s) | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for backend, r in results.items():
        print(f"| {backend} | {r['partitions']:.0f} | {r['rows']:,.0f} | {r['full']:.1f} | {r['rows'] / r['full']:,.0f} | "
              f"{r['full'] / reference:.0f}x | {'met' if r['full'] < TARGET_FULL_S else 'MISSED'} (<{TARGET_FULL_S:.0f} s) | "
              f"{r['rerun']:.2f} | {'met' if r['rerun'] < TARGET_RERUN_S else 'MISSED'} (<{TARGET_RERUN_S:.0f} s) |")


if __name__ == "__main__":
    main()
