"""The next-matchday query under load: one million predictions on PostgreSQL, 16 concurrent clients.

Builds a scratch database on the server at POSTGRES_TEST_URL (default 127.0.0.1:5432) with the
warehouse schema (Alembic, as `football-pipeline migrate` does), then fills it with COPY: the seven
bundled competitions and their real teams, 26 seasons of double round-robin fixtures (2000-01 to
2025-26, weekly rounds from Friday to Monday), Pinnacle and market-average 1X2 odds (opening and
closing for played matches, opening for upcoming ones), and 1,000,000 predictions: three models,
each match predicted by several weekly versions, as a publisher that re-predicts upcoming fixtures
every week leaves them (the current season's remaining fixtures included). ANALYZE, then the
`sql/examples/next_matchday.sql` query, run through `football_pipeline.serving.queries` exactly as
a consumer would, from 16 client processes with a connection each (a random competition and a random
"now" within the next fortnight per execution). Prints p50/p95/p99 latency and passes if p95 < 10 ms.
The database is dropped at the end.

    make bench-serving
    .venv/bin/python bench/bench_predictions_query.py --clients 16 --executions 4000
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from football_pipeline.common.competitions import COMPETITIONS
from football_pipeline.common.teams import Vocabulary
from football_pipeline.serving import queries
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import migrate, schema

TARGET_P95_MS = 10.0
TOTAL_PREDICTIONS = 1_000_000
SEASONS = [f"{y}-{y + 1}" for y in range(2000, 2026)]
TEAMS_PER_COMPETITION = {"E0": 20, "E1": 24, "SP1": 20, "D1": 18, "I1": 20, "F1": 18, "N1": 18}
MODELS = ("dixon_coles", "xgboost", "stack")
CHAMPION = "stack"
NOW = dt.datetime(2026, 1, 14, 12, 0, tzinfo=dt.timezone.utc)  # mid-season in 2025-26
# Kick-off slots of a round, relative to its Saturday (days, hour, minute): Friday night to Monday night.
SLOTS = [(-1, 20, 0), (0, 12, 30), (0, 15, 0), (0, 15, 0), (0, 15, 0), (0, 17, 30), (1, 14, 0),
         (1, 16, 30), (1, 19, 0), (2, 20, 0), (0, 15, 0), (0, 20, 0)]


def fresh_database(server_url: str) -> tuple[str, callable]:
    name = f"fp_bench_serving_{uuid.uuid4().hex[:8]}"
    admin = engines.create_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def real_teams() -> dict[str, list[tuple[str, str, str]]]:
    """Real teams of each competition's country from the bundled vocabulary (England split in two)."""
    by_country: dict[str, list[tuple[str, str, str]]] = {}
    for team in sorted(Vocabulary.load().teams.values(), key=lambda t: t.team_id):
        by_country.setdefault(team.country, []).append((team.team_id, team.name, team.country))
    out, taken = {}, {}
    for competition in COMPETITIONS:
        n = TEAMS_PER_COMPETITION[competition.competition_id]
        start = taken.get(competition.country, 0)
        out[competition.competition_id] = by_country[competition.country][start:start + n]
        taken[competition.country] = start + n
    return out


def round_robin(teams: list[str]) -> list[list[tuple[str, str]]]:
    """Double round robin by the circle method: rounds of (home, away)."""
    ids = list(teams)
    n = len(ids)
    rounds = []
    for r in range(n - 1):
        pairs = [(ids[i], ids[n - 1 - i]) for i in range(n // 2)]
        rounds.append([(a, b) if (r + i) % 2 == 0 else (b, a) for i, (a, b) in enumerate(pairs)])
        ids = [ids[0], ids[-1], *ids[1:-1]]
    return rounds + [[(b, a) for a, b in rnd] for rnd in rounds]


def fixtures(teams: dict[str, list[tuple[str, str, str]]]) -> pd.DataFrame:
    rows = []
    for competition, members in teams.items():
        for season in SEASONS:
            start_year = int(season[:4])
            first_saturday = dt.date(start_year, 8, 10)
            first_saturday += dt.timedelta(days=(5 - first_saturday.weekday()) % 7)
            for r, games in enumerate(round_robin([t[0] for t in members])):
                saturday = first_saturday + dt.timedelta(weeks=r + (2 if r >= 19 else 0))  # winter break
                for slot, (home, away) in enumerate(games):
                    days, hour, minute = SLOTS[slot % len(SLOTS)]
                    kickoff = dt.datetime.combine(saturday + dt.timedelta(days=days), dt.time(hour, minute),
                                                  tzinfo=dt.timezone.utc)
                    rows.append((f"{competition}:{season}:{home}:{away}", kickoff, competition, season, home, away))
    return pd.DataFrame(rows, columns=["match_id", "kickoff_at", "competition_id", "season",
                                       "home_team_id", "away_team_id"])


def copy(connection: sa.Connection, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S+00")
    buffer.seek(0)
    cursor = connection.connection.dbapi_connection.cursor()
    columns = ", ".join(frame.columns)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
    cursor.close()


def probabilities(rng: np.random.Generator, n: int) -> np.ndarray:
    """Percentages rounded to 0.01 that sum to 100 (the last absorbs the rounding)."""
    p = rng.dirichlet([4.5, 2.8, 3.2], size=n) * 100
    p = np.round(p, 2)
    p[:, 2] = np.round(100 - p[:, 0] - p[:, 1], 2)
    return p


def populate(url: str, total: int = TOTAL_PREDICTIONS, seed: int = 7) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    teams = real_teams()
    games = fixtures(teams)
    played = games["kickoff_at"] < NOW
    engine = engines.create_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(schema.competitions.insert(), [
            {"competition_id": c.competition_id, "name": c.name, "country": c.country, "tier": c.tier}
            for c in COMPETITIONS])
        copy(connection, "teams", pd.DataFrame(
            [t for members in teams.values() for t in members], columns=["team_id", "name", "country"]))

        goals = rng.poisson([1.5, 1.15], size=(len(games), 2))
        matches = games.assign(
            match_date=games["kickoff_at"].dt.strftime("%Y-%m-%d"), kickoff_time_known=True,
            status=np.where(played, "completed", "scheduled"),
            home_goals=pd.Series(goals[:, 0], dtype="Int64").where(played),
            away_goals=pd.Series(goals[:, 1], dtype="Int64").where(played),
            result=pd.Series(np.select([goals[:, 0] > goals[:, 1], goals[:, 0] == goals[:, 1]], ["H", "D"], "A"))
            .where(played), primary_source="football-data", sources="football-data",
            data_quality_score=0.95)
        copy(connection, "matches", matches)

        odds = []
        for bookmaker, margin in (("pinnacle", 1.025), ("market_avg", 1.055)):
            for phase in ("opening", "closing"):
                p = probabilities(rng, len(games)) / 100
                frame = games[["match_id", "competition_id", "season"]].copy()
                if phase == "closing":
                    frame, p = frame[played.to_numpy()], p[played.to_numpy()]
                for k, outcome in enumerate(("home", "draw", "away")):
                    odds.append(frame.assign(bookmaker=bookmaker, market="1x2", line=0.0, outcome=outcome,
                                             phase=phase, price=np.round(1 / (p[:, k] * margin), 2)))
        odds = pd.concat(odds, ignore_index=True)
        copy(connection, "odds", odds[["match_id", "bookmaker", "market", "line", "outcome", "phase", "price",
                                       "competition_id", "season"]])

        # Predictions: every model predicts every match in several weekly versions; the oldest version of
        # the oldest matches is left out to make exactly `total` rows.
        per_match = max(1, -(-total // (len(games) * len(MODELS))))
        excess = per_match * len(MODELS) * len(games) - total
        skip = [excess // len(MODELS) + (1 if i < excess % len(MODELS) else 0) for i in range(len(MODELS))]
        if max(skip) > len(games):
            raise ValueError(f"{total} predictions is too few for {len(games)} matches x {len(MODELS)} models")
        features = json.dumps(["elo_diff", "xg_for_5", "xg_against_5", "rest_days", "market_home"])
        for model_index, model in enumerate(MODELS):
            hyper = json.dumps({"xi": 0.0018, "draws": 1000} if model == "dixon_coles"
                               else {"max_depth": 4, "learning_rate": 0.05, "n_estimators": 600})
            for version in range(per_match):
                frame = games.iloc[skip[model_index]:] if version == 0 else games
                take = len(frame)
                p = probabilities(rng, take)
                lower = np.clip(p - 6, 0, 100).round(1)
                upper = np.clip(p + 6, 0, 100).round(1)
                ci = [json.dumps({"home_win_pct": [a, b], "draw_pct": [c, d], "away_win_pct": [e, f]})
                      for a, b, c, d, e, f in zip(lower[:, 0], upper[:, 0], lower[:, 1], upper[:, 1],
                                                  lower[:, 2], upper[:, 2], strict=True)]
                # the newest version is published two days before kick-off, each older one a week earlier;
                # none after NOW (upcoming matches carry the versions published so far)
                age = per_match - 1 - version
                predicted_at = (frame["kickoff_at"] - pd.Timedelta(days=2) - pd.Timedelta(weeks=age)).clip(
                    upper=NOW - pd.Timedelta(hours=age + 1))
                out = frame.assign(
                    model_name=model, model_version=f"{2026 - per_match + version}.{model_index}",
                    home_win_pct=p[:, 0], draw_pct=p[:, 1], away_win_pct=p[:, 2],
                    expected_home_goals=np.round(0.6 + p[:, 0] / 40, 3), expected_away_goals=np.round(0.5 + p[:, 2] / 40, 3),
                    credible_interval=ci, entropy=np.round(-(p / 100 * np.log(p / 100 + 1e-12)).sum(axis=1), 4),
                    model_type=("bayesian_poisson" if model == "dixon_coles" else "gradient_boosting"),
                    training_size=rng.integers(2000, 40000, size=take), features=features, hyperparameters=hyper,
                    mlflow_run_id=uuid.uuid4().hex, predicted_at=predicted_at,
                )
                copy(connection, "predictions", out[[c.name for c in schema.predictions.columns]])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
        counts = {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608 (fixed names)
                  for t in ("predictions", "matches", "odds", "teams")}
    engine.dispose()
    return counts


def _client(url: str, executions: int, seed: int, barrier, results) -> None:
    rng = random.Random(seed)
    competitions = list(TEAMS_PER_COMPETITION)
    engine = engines.create_engine(url)
    latencies, rows = [], 0
    with engine.connect() as connection:
        queries.next_matchday(connection, as_of=NOW, competition_id="E0", model_name=CHAMPION)  # warm the connection
        connection.rollback()
        barrier.wait()
        for _ in range(executions):
            competition = rng.choice(competitions)
            as_of = NOW + dt.timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
            started = time.perf_counter()
            result = queries.next_matchday(connection, as_of=as_of, competition_id=competition, model_name=CHAMPION)
            connection.rollback()  # end the read transaction, as a pooled web request would
            latencies.append((time.perf_counter() - started) * 1000)
            rows += len(result)
    engine.dispose()
    results.put((latencies, rows))


def run_clients(url: str, clients: int, executions: int) -> tuple[list[float], int, float]:
    context = mp.get_context("spawn")
    barrier, results = context.Barrier(clients + 1), context.Queue()
    per_client = -(-executions // clients)
    processes = [context.Process(target=_client, args=(url, per_client, 1000 + i, barrier, results))
                 for i in range(clients)]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    collected = [results.get(timeout=600) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    latencies = [x for lat, _ in collected for x in lat]
    return latencies, sum(r for _, r in collected), elapsed


def explain(url: str) -> str:
    """The plan the clients run: the prepared statement's generic plan, with its timings."""
    engine = engines.create_engine(url)
    params = {"as_of": NOW, "competition_id": "E0", "model_name": CHAMPION}
    with engine.connect() as connection:
        queries.run(connection, "next_matchday", **params)  # prepares it on this connection
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        plan = connection.execute(sa.text(
            "EXPLAIN (ANALYZE, BUFFERS) EXECUTE football_next_matchday (:competition_id, :as_of, :model_name)"),
            params)
        text = "\n".join(row[0] for row in plan)
    engine.dispose()
    return text


def pgbench(url: str, clients: int, seconds: int) -> list[float] | None:
    """The same SQL from pgbench (C clients, prepared, generic plan): what the database alone does under
    the same concurrency, without the Python clients' CPU. None when pgbench is not installed."""
    if shutil.which("pgbench") is None:
        return None
    competitions = ", ".join(f"'{c}'" for c in TEAMS_PER_COMPETITION)
    sql = " ".join(queries.body("next_matchday").split())
    sql = (sql.replace(":competition_id", f"(ARRAY[{competitions}])[:competition]")
              .replace(":as_of", f"(TIMESTAMPTZ '{NOW.isoformat()}' + make_interval(mins => :minute))")
              .replace(":model_name", f"'{CHAMPION}'"))
    script = (f"\\set competition random(1, {len(TEAMS_PER_COMPETITION)})\n\\set minute random(0, {14 * 24 * 60 - 1})\n"
              f"SET plan_cache_mode = force_generic_plan;\n{sql};\n")
    parsed = make_url(url)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "next_matchday.pgbench")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(script)
        command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds), "-l",
                   "-f", path, "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
                   "-U", parsed.username or "postgres", parsed.database]
        env = {**os.environ, **({"PGPASSWORD": parsed.password} if parsed.password else {})}
        subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True, text=True)
        latencies = []
        for name in os.listdir(folder):
            if name.startswith("pgbench_log"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    latencies += [int(line.split()[2]) / 1000 for line in handle]
    return latencies


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-url", default=os.environ.get("POSTGRES_TEST_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--executions", type=int, default=4000, help="in total, over all clients")
    parser.add_argument("--predictions", type=int, default=TOTAL_PREDICTIONS)
    parser.add_argument("--pgbench-seconds", type=int, default=10, help="0: skip the database-only run")
    parser.add_argument("--explain", action="store_true", help="print the query plan")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (prints its URL)")
    parser.add_argument("--reuse", metavar="URL", help="query a database an earlier --keep run left (no load)")
    args = parser.parse_args()

    if args.reuse:
        url, drop, args.keep = args.reuse, (lambda: None), True
    else:
        url, drop = fresh_database(args.server_url)
    try:
        if args.reuse:
            engine = engines.create_engine(url)
            with engine.connect() as connection:
                counts = {"predictions": connection.execute(sa.text("SELECT count(*) FROM predictions")).scalar_one()}
            engine.dispose()
        else:
            started = time.perf_counter()
            counts = populate(url, args.predictions)
            load_s = time.perf_counter() - started
            print(f"Loaded in {load_s:.0f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        if args.explain:
            print(explain(url))
        latencies, rows, elapsed = run_clients(url, args.clients, args.executions)
        p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
        verdict = "PASS" if p95 < TARGET_P95_MS else "FAIL"
        print(f"next_matchday.sql on PostgreSQL, {counts['predictions']:,} predictions, {args.clients} clients, "
              f"{len(latencies):,} executions in {elapsed:.1f} s ({len(latencies) / elapsed:,.0f}/s), "
              f"{rows / len(latencies):.1f} rows per result")
        print(f"latency ms: p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  max {max(latencies):.2f}  "
              f"mean {statistics.fmean(latencies):.2f}")
        database_only = pgbench(url, args.clients, args.pgbench_seconds) if args.pgbench_seconds else None
        if database_only:
            print(f"database alone (pgbench, same SQL, {args.clients} clients, {len(database_only):,} executions): "
                  + "  ".join(f"p{q} {percentile(database_only, q):.2f}" for q in (50, 95, 99)) + " ms")
        print(f"target p95 < {TARGET_P95_MS:.0f} ms: {verdict}  ({platform.machine()}, {os.cpu_count()} cores, "
              f"client and server on the same machine)")
        return 0 if verdict == "PASS" else 1
    finally:
        if args.keep:
            print(f"kept: {engines.redacted(url)}")
        else:
            drop()


if __name__ == "__main__":
    sys.exit(main())
