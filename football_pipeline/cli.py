"""`football-pipeline`: run the asset graph, load a directory, migrate, regenerate DDL."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from football_pipeline import settings
from football_pipeline.common.teams import VocabularyError

# `backtest --seasons latest` (the default): the seasons are chosen from the data (evaluate.backtest_directory).
LATEST_SEASONS = "latest"

LOCAL_INSTANCE_YAML = """\
# Local Dagster instance for `make run` and `make ui` (SQLite storage in this folder).
# The deployment's instance settings are in the project's top-level dagster.yaml.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def _prepare_dagster_home() -> Path:
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _refuse(command: str, problems: list[str]) -> int:
    """Print why `command` does nothing (on stderr; indented lines belong to the line above) and exit 2."""
    for line in problems:
        print(line if line.startswith("  ") else f"{command}: {line}", file=sys.stderr)
    return 2


def _data_dir(args: argparse.Namespace) -> tuple[Path, str]:
    """The data directory and where it was set (`--data-dir`, `FOOTBALL_DATA_DIR`, the bundled data)."""
    if getattr(args, "data_dir", None):
        return Path(args.data_dir).expanduser().resolve(), "--data-dir"
    return settings.football_data_dir(), ("FOOTBALL_DATA_DIR" if os.environ.get("FOOTBALL_DATA_DIR")
                                          else "the bundled data")


def _data_dir_problems(data_dir: Path, origin: str, need_files: bool = True) -> list[str]:
    """Why `data_dir` cannot be loaded, before any work: it does not exist, holds files no partition reads
    (each listed with the name expected), or (`need_files`) holds no source file at all."""
    from football_pipeline.ingestion import files

    if not data_dir.is_dir():
        state = "is not a directory" if data_dir.exists() else "does not exist"
        return [f"data directory {data_dir} {state} (set by {origin})"]
    expected = "; ".join(files.EXPECTED.values())
    unread = files.unrecognised(data_dir)
    if unread:
        return [f"{len(unread)} file(s) in {data_dir} match no partition; nothing was loaded. Expected: "
                f"{expected}", *(f"  {line}" for line in unread)]
    if need_files and not files.discover(data_dir):
        return [f"nothing to load: no source file in {data_dir} (set by {origin}); expected {expected}"]
    return []


def _renamed(data_dir: Path) -> list[str]:
    """football-data files read under their download name, with the season their dates gave them."""
    from football_pipeline.ingestion import files

    return [f"{f.relative_to(data_dir)} read as {f.competition_id}|{f.season.key} (season from its first date)"
            for f in files.discover(data_dir) if f.source == files.FOOTBALL_DATA
            and f.path != files.football_data_file(data_dir, f.competition_id, f.season).path]


PARTITION_FORM = "COMPETITION|SEASON, e.g. E0|2022-2023"


def _partition_problem(competition: str, season: str) -> tuple[str, str] | None:
    """Why (competition, season) is no partition, and the likely key ('' if none); None: a known
    competition and a season from 1993-94 to the one after today's (a run registers its seasons)."""
    from football_pipeline.common import competitions
    from football_pipeline.common.seasons import FIRST_SEASON, Season

    if competition not in competitions.BY_ID:
        spelled = competition.upper() if competition.upper() in competitions.BY_ID else ""
        return f"unknown competition {competition!r} (known: {', '.join(competitions.BY_ID)})", spelled and (
            f"{spelled}|{season}")
    try:
        Season.from_key(season)
    except ValueError:
        short = re.fullmatch(r"(\d{4})-(\d{2})", season)
        return (f"season {season!r} is not a season key (the years it spans)",
                f"{competition}|{short[1]}-{int(short[1]) + 1}" if short else "")
    last = Season(Season.containing(settings.today()).start_year + 1)
    if not FIRST_SEASON.key <= season <= last.key:
        return f"season {season} is outside the partitions ({FIRST_SEASON.key} to {last.key})", ""
    return None


def _partition_refusal(competition: str, season: str) -> tuple[str, str] | None:
    """`_partition_problem`, with a likely key that is itself a partition ('e0|2022-23' -> E0|2022-2023)."""
    refused = _partition_problem(competition, season)
    if refused and refused[1]:
        again = _partition_problem(*refused[1].split("|"))
        if again:
            refused = refused[0], again[1]
    return refused


def _partitions(values: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """`--partition` values as (competition, season) keys, and a message per value that is no partition."""
    keys, problems = [], []
    for value in values:
        competition, bar, season = (part.strip() for part in value.strip().partition("|"))
        refused = _partition_refusal(competition, season) if bar else ("not COMPETITION|SEASON", "")
        why, hint = refused or (None, "")
        if why:
            problems.append(f"bad partition {value!r}: {why}; expected {PARTITION_FORM}"
                            + (f" (did you mean {hint}?)" if hint else ""))
        else:
            keys.append((competition, season))
    return keys, problems


def _warehouse_problem(url: str) -> list[str]:
    from football_pipeline.warehouse import engine as engines

    problem = engines.unusable(url)
    return [problem] if problem else []


def run(args: argparse.Namespace) -> int:
    """Materialize the whole asset graph on the configured data, one partition per run."""
    data_dir, origin = _data_dir(args)
    requested, problems = _partitions(args.partition or [])
    # Live and replay runs scrape a partition asked for by name: its file need not be here yet.
    scraping = settings.source_mode() != "bundled"
    problems = _data_dir_problems(data_dir, origin, need_files=not (scraping and requested)) + problems
    if not problems and requested and not scraping:
        from football_pipeline.common.seasons import Season
        from football_pipeline.ingestion import files

        have = {(f.competition_id, f.season.key) for f in files.discover(data_dir)}
        problems = [f"no source file for partition {c}|{k} in {data_dir} (e.g. "
                    f"{files.football_data_file(data_dir, c, Season.from_key(k)).relative_to(data_dir)})"
                    for c, k in requested if (c, k) not in have]
    if problems or (problems := _warehouse_problem(settings.warehouse_url())):  # once, not per partition
        return _refuse("run", problems)
    if args.data_dir:
        os.environ["FOOTBALL_DATA_DIR"] = str(data_dir)
    home = _prepare_dagster_home()
    import dagster as dg

    from football_pipeline import partitions, pipeline
    from football_pipeline.modelling import data
    from football_pipeline.resources.models import from_environment
    from football_pipeline.warehouse import engine as engines

    try:  # a bad FOOTBALL_MODELS_* value is refused now, not after minutes of loading
        models = from_environment()
    except ValueError as error:
        print(f"run: model settings: {error}", file=sys.stderr)
        return 2
    # Imported only now: importing the module builds its `defs`, and with them the resources.
    from football_pipeline.definitions import build_definitions

    defs = build_definitions()  # built now: the resources read this process's environment
    started = time.perf_counter()
    keys = sorted(set(requested)) if requested else pipeline.known_partitions(data_dir)
    print(f"football-pipeline: data {data_dir}", flush=True)
    for line in _renamed(data_dir):
        print(f"football-pipeline: {line}", flush=True)
    print(f"football-pipeline: warehouse {engines.redacted(settings.warehouse_url())}", flush=True)
    checks: Counter[str] = Counter()
    failed_checks: list[str] = []
    failed_runs: list[str] = []

    def execute(job_name: str, partition_key: str | None = None) -> None:
        job = defs.resolve_job_def(job_name)
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance, partition_key=partition_key, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
        label = f"{job_name}[{partition_key}]" if partition_key else job_name
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.passed:
                checks["passed"] += 1
            else:
                severity = evaluation.severity.value
                checks[f"failed ({severity})"] += 1
                finding = evaluation.metadata.get("first_findings")
                detail = finding.value.splitlines()[0] if finding else (evaluation.description or "")
                failed_checks.append(f"{label} {evaluation.check_name} [{severity}] {detail}".strip())
        if not result.success:
            failure = next((e for e in result.all_events if e.is_step_failure), None)
            reason = failure.step_failure_data.error.message.strip().splitlines()[0] if failure else "failed"
            failed_runs.append(f"{label}: {reason}")

    execute("reference_job")
    with dg.DagsterInstance.get() as instance:  # the seasons to run, listed in the instance (the UI) first
        partitions.ensure_partitions(instance, [f"{c}|{s}" for c, s in keys])
    for number, (competition_id, season) in enumerate(keys, start=1):
        key = str(partitions.partition_key(competition_id, season))
        print(f"  [{number}/{len(keys)}] {key}", flush=True)
        execute("partitions_job", key)
    execute("aggregates_job")
    warehouse = engines.create_engine(settings.warehouse_url())
    loaded = data.load_matches(warehouse, [models.competition])
    warehouse.dispose()
    why_not = models.missing_history(loaded)
    if why_not is None:
        print(f"  models ({models.competition}, evaluated on {', '.join(models.evaluation(loaded))}): features, "
              "walk-forward backtest, Bayesian Dixon-Coles, XGBoost, ensemble", flush=True)
        execute("models_job")
        _publish(execute)
    else:
        print(f"  models: skipped ({why_not})")

    engine = engines.create_engine(settings.warehouse_url())
    counts = pipeline.table_counts(engine)
    performance = _latest_performance(engine)
    upcoming = _next_matchday(engine)
    engine.dispose()
    elapsed = time.perf_counter() - started
    print()
    print(f"Done in {elapsed:.0f} s: {len(keys)} competition x season partitions, {len(failed_runs)} failed runs.")
    print("Rows per table:")
    for table, count in counts.items():
        print(f"  {table:<18} {count:>10,}")
    print("Asset checks: " + ", ".join(f"{count} {state}" for state, count in sorted(checks.items())))
    for line in failed_checks[:15]:
        print(f"  - {line[:200]}")
    if len(failed_checks) > 15:
        print(f"  ... and {len(failed_checks) - 15} more (see the Dagster UI)")
    print(f"Rows quarantined: {counts['quarantine']:,} (table quarantine: source file, row, raw row, reason)")
    if performance:
        print("Backtest (table model_performance; all evaluated matches; market = de-vigged closing odds):")
        for line in performance:
            print(f"  {line}")
        print(f"MLflow: {settings.mlflow_tracking_uri()}   (mlflow ui --backend-store-uri <that>)")
    if upcoming:
        print("Next matchday (table predictions; sql/examples/next_matchday.sql):")
        for line in upcoming:
            print(f"  {line}")
    for line in failed_runs:
        print(f"FAILED {line[:300]}")
    print(f"Warehouse: {engines.redacted(settings.warehouse_url())}")
    print(f"Dagster UI on these runs: DAGSTER_HOME={home} .venv/bin/dagster dev -w workspace.yaml   (or: make ui)")
    return 1 if failed_runs else 0


def _publish(execute) -> None:
    """One tick of the serving sensor; when it asks for a publish (new champion or fixtures), run it."""
    import dagster as dg

    from football_pipeline.automation.sensors import publish_on_new_champion_or_fixtures
    from football_pipeline.resources import WarehouseResource
    from football_pipeline.resources.models import from_environment

    with dg.DagsterInstance.get() as instance, dg.build_sensor_context(
            instance=instance, resources={"warehouse": WarehouseResource(), "models": from_environment()}) as context:
        tick = publish_on_new_champion_or_fixtures(context)
    requests = tick.run_requests if isinstance(tick, dg.SensorResult) else [tick] if isinstance(
        tick, dg.RunRequest) else []
    if requests:
        print(f"  publish: {requests[0].run_key}", flush=True)
        execute("publish_job")
    else:
        reason = getattr(tick, "skip_message", None) or getattr(getattr(tick, "skip_reason", None),
                                                                "skip_message", "")
        print(f"  publish: skipped ({reason})", flush=True)


def _latest_performance(engine) -> list[str]:
    import sqlalchemy as sa

    from football_pipeline.warehouse import schema

    table = schema.model_performance
    with engine.connect() as connection:
        latest = connection.execute(sa.select(table.c.model_version).order_by(
            table.c.evaluated_at.desc(), table.c.evaluation_id.desc()).limit(1)).scalar()
        if latest is None:
            return []
        rows = connection.execute(sa.select(table).where(table.c.model_version == latest,
                                                         table.c.season == "all").order_by(table.c.rps)).all()
    return [f"{r.model_name:<22} n={r.n_matches:<5} RPS {r.rps:.4f}  log loss {r.log_loss:.4f}  "
            f"accuracy {r.accuracy:.1%}  market RPS {r.market_rps if r.market_rps is None else round(r.market_rps, 4)}"
            for r in rows]


def _next_matchday(engine) -> list[str]:
    import datetime as dt

    from football_pipeline.resources.models import from_environment
    from football_pipeline.serving import queries

    models = from_environment()
    as_of = dt.datetime.combine(models.as_of_date(), dt.time(), tzinfo=dt.timezone.utc)
    try:
        rows = queries.next_matchday(engine, as_of=as_of, competition_id=models.competition)
    except Exception as error:  # the summary must not hide the run's own result
        return [f"(could not read predictions: {str(error).splitlines()[0][:200]})"]
    return [f"{str(r['kickoff_at'])[:10]} {r['home_team_id']:>24} - {r['away_team_id']:<24} "
            f"{r['home_win_pct']:5.1f} {r['draw_pct']:5.1f} {r['away_win_pct']:5.1f}  ({r['model_name']} v{r['model_version']})"
            for r in rows]


def load(args: argparse.Namespace) -> int:
    """Load a data directory straight into the warehouse (no Dagster), skipping unchanged files."""
    from football_pipeline import pipeline
    from football_pipeline.warehouse import engine as engines

    url = args.warehouse_url or settings.warehouse_url()
    data_dir, origin = _data_dir(args)
    problems = _data_dir_problems(data_dir, origin) or _warehouse_problem(url)
    if problems:
        return _refuse("load", problems)
    for line in _renamed(data_dir):
        print(line)
    engine = engines.create_engine(url)
    try:
        summary = pipeline.load_directory(engine, data_dir, skip_unchanged=not args.force, workers=args.workers)
    except VocabularyError as error:
        return _refuse("load", [str(error)])
    print(f"{summary.partitions} partitions: {summary.loaded} loaded, {summary.unchanged} unchanged, "
          f"{len(summary.refused)} refused, in {summary.seconds:.1f} s -> {engines.redacted(url)}")
    for table, count in summary.rows.items():
        print(f"  {table:<18} {count:>10,}")
    for line in summary.teams_resolved:
        print(f"TEAM {line}")
    if summary.teams_resolved:
        print("  review them: football-pipeline teams review; keep them: football-pipeline teams accept DIR")
    for line in summary.sources_left_out:
        print(f"LEFT OUT {line}")
    for line in summary.refused:
        print(f"REFUSED {line}")
    return 1 if summary.refused else 0


def teams(args: argparse.Namespace) -> int:
    """The clubs and spellings the loads decided on their own: list them, or accept them into curated files."""
    from football_pipeline.warehouse import engine as engines
    from football_pipeline.warehouse import migrate as migrations
    from football_pipeline.warehouse import review

    url = args.warehouse_url or settings.warehouse_url()
    problems = _warehouse_problem(url)
    if problems:
        return _refuse("teams", problems)
    engine = engines.create_engine(url)
    migrations.upgrade(engine)
    if args.action == "review":
        print(review.render(review.decisions(engine, include_accepted=args.all)))
        return 0
    if not args.directory:
        return _refuse("teams", ["accept needs the directory whose teams.csv/team_aliases.csv to extend, e.g. "
                                 "football-pipeline teams accept $FOOTBALL_DATA_DIR"])
    directory = Path(args.directory).expanduser().resolve()
    added_teams, added_aliases = review.accept(engine, directory)
    print(f"accepted into {directory}: {added_teams} team(s) in teams.csv, {added_aliases} alias(es) in "
          "team_aliases.csv")
    return 0


def crawl(args: argparse.Namespace) -> int:
    """One spider for one league-season, politely, into the scraped folder (a subprocess per crawl)."""
    from football_pipeline.acquire import SPIDERS
    from football_pipeline.scraping.runner import run_crawl

    refused = _partition_refusal(args.competition, args.season)
    if refused:
        why, hint = refused
        hint = hint and " (did you mean --competition {} --season {}?)".format(*hint.split("|"))
        return _refuse("crawl", [f"--competition {args.competition} --season {args.season}: {why}; expected e.g. "
                                 f"--competition E0 --season 2022-2023{hint}"])
    spider, defaults = SPIDERS[args.source]
    arguments = {"competition": args.competition, "season": args.season, **defaults}
    for item in args.arg or []:
        key, _, value = item.partition("=")
        arguments[key] = value
    data_dir = Path(args.out).resolve() if args.out else settings.scraped_dir()
    report = run_crawl(spider, arguments, data_dir=data_dir, archive_dir=settings.archive_dir(), mode=args.mode,
                       timeout=args.timeout)
    print(f"{spider} {args.competition} {args.season} ({args.mode}): {len(report.files)} files, {report.requests} "
          f"requests, {report.archived} responses archived in {report.seconds:.0f} s -> {data_dir}")
    for file in report.files:
        print(f"  wrote {file['path']} ({file['via']})")
    for problem in report.problems:
        print(f"  {problem['kind'].upper()} {problem['url']}: {problem['reason']}")
        for detail in problem.get("details", [])[:10]:
            print(f"      {detail}")
    return 1 if report.problems and not report.files else 0


def migrate(args: argparse.Namespace) -> int:
    from football_pipeline.warehouse import engine as engines
    from football_pipeline.warehouse import migrate as migrations

    url = args.warehouse_url or settings.warehouse_url()
    if problems := _warehouse_problem(url):
        return _refuse("migrate", problems)
    revision = migrations.upgrade(engines.create_engine(url))
    print(f"{engines.redacted(url)} is at schema revision {revision}")
    return 0


def backtest(args: argparse.Namespace) -> int:
    """Walk-forward backtest on a data directory: ingest + checks, features, every model, a CSV out."""
    from football_pipeline.modelling.backtest import BacktestConfig
    from football_pipeline.modelling.dixon_coles import DixonColesConfig
    from football_pipeline.modelling.evaluate import backtest_directory, format_scores

    bayes = DixonColesConfig(num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains,
                             warm_warmup=min(args.warmup, 200))
    data_dir, origin = _data_dir(args)
    try:
        # Seasons are checked here, before the data directory is read ("2022-23" is refused at once);
        # `latest` (the default) is chosen from the data once it is loaded.
        latest = args.seasons.strip() == LATEST_SEASONS
        seasons = (BacktestConfig().evaluation_seasons if latest
                   else tuple(season.strip() for season in args.seasons.split(",") if season.strip()))
        config = BacktestConfig(competition=args.competition, evaluation_seasons=seasons,
                                window_seasons=args.window, lower_division=args.lower_division,
                                strengths_lower_division=args.strengths_lower_division,
                                cadence=args.cadence, burn_in_seasons=args.burn_in, bayes=bayes)
        problems = _data_dir_problems(data_dir, origin) or (_warehouse_problem(args.warehouse_url)
                                                            if args.warehouse_url else [])
        if problems:
            return _refuse("backtest", problems)
        # Progress (the load, each season's start with the time to go) on stderr; every refit with --verbose.
        result = backtest_directory(data_dir, config, Path(args.out), args.warehouse_url,
                                    log=print if args.verbose else (lambda _: None),
                                    progress=lambda line: print(line, file=sys.stderr, flush=True),
                                    latest=latest)
    except ValueError as error:
        print(f"backtest: {error}", file=sys.stderr)
        return 2
    print(format_scores(result.scores))
    print(f"{len(result.predictions):,} predictions -> {args.out}")
    return 0


def metrics(args: argparse.Namespace) -> int:
    """Serve Prometheus metrics read from the warehouse on every scrape (blocks until interrupted)."""
    from football_pipeline.serving.metrics import serve

    serve(args.port, args.warehouse_url, args.addr)
    return 0


def schema_sql(args: argparse.Namespace) -> int:
    from football_pipeline.warehouse import ddl

    text = ddl.postgres_tables_sql()
    if args.write:
        target = ddl.sql_dir() / ddl.TABLES_FILE
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="football-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("run", help="materialize every asset on the data (default: bundled) and summarise")
    p.add_argument("--data-dir", help="a directory in the bundled layout (default: $FOOTBALL_DATA_DIR or bundled)")
    p.add_argument("--partition", action="append", help="only this partition, e.g. E0|2022-2023 (repeatable)")
    p.set_defaults(handler=run)

    p = commands.add_parser("load", help="load a data directory into the warehouse without Dagster")
    p.add_argument("--data-dir")
    p.add_argument("--warehouse-url", help="default: $WAREHOUSE_URL or the local SQLite warehouse")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="parallel parsers")
    p.add_argument("--force", action="store_true", help="reload files even when unchanged")
    p.set_defaults(handler=load)

    p = commands.add_parser("crawl", help="scrape one league-season from one site (polite; archived; replayable)")
    p.add_argument("source", choices=["football-data", "understat", "fbref"])
    p.add_argument("--competition", required=True, help="E0, E1, SP1, D1, I1, F1 or N1")
    p.add_argument("--season", required=True, help="e.g. 2025-2026")
    p.add_argument("--mode", choices=["live", "replay"], default="live", help="replay: from the raw archive only")
    p.add_argument("--arg", action="append", help="spider argument, e.g. shots=first:5 or match_reports=none")
    p.add_argument("--out", help="data directory to write into (default: the scraped folder in the state folder)")
    p.add_argument("--timeout", type=float, default=7200)
    p.set_defaults(handler=crawl)

    p = commands.add_parser("backtest", help="walk-forward backtest of every model on a data directory -> CSV")
    p.add_argument("--data-dir", help="a directory in the bundled layout (default: $FOOTBALL_DATA_DIR or bundled)")
    p.add_argument("--competition", default="E0")
    p.add_argument("--seasons", default=LATEST_SEASONS,
                   help="evaluation seasons, e.g. 2023-2024,2024-2025; default `latest`: the competition's latest "
                        "season in DIR with 100 results (and the next one's first matches, if it has begun)")
    p.add_argument("--out", required=True, help="CSV: date, competition, season, home_team, away_team, model, "
                                                "p_home, p_draw, p_away, result")
    p.add_argument("--cadence", choices=["matchweek", "week", "month"], default="matchweek",
                   help="refit cadence (default: every matchweek)")
    p.add_argument("--window", type=int, default=3, help="seasons in each Dixon-Coles fit, the current one included")
    p.add_argument("--lower-division", action="store_true",
                   help="fit Dixon-Coles also on the division below (E0: E1) in the window's earlier seasons")
    p.add_argument("--no-lower-strengths", dest="strengths_lower_division", action="store_false",
                   help="the ML Dixon-Coles fit behind XGBoost's strength features and the stacks leaves out the "
                        "division below (default: it sees its earlier window seasons where they are in DIR)")
    p.add_argument("--burn-in", type=int, default=1, help="seasons walked before the evaluation to train the stack")
    p.add_argument("--draws", type=int, default=1000, help="NUTS draws per chain")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--warehouse-url", help="default: a scratch SQLite database")
    p.add_argument("--verbose", action="store_true", help="log every refit")
    p.set_defaults(handler=backtest)

    p = commands.add_parser("metrics", help="serve Prometheus metrics read from the warehouse")
    p.add_argument("--port", type=int, default=9108)
    p.add_argument("--addr", default="0.0.0.0")
    p.add_argument("--warehouse-url", help="default: $WAREHOUSE_URL or the local SQLite warehouse")
    p.set_defaults(handler=metrics)

    p = commands.add_parser("teams", help="review the clubs and spellings loads decided on their own, or accept "
                                          "them into a directory's teams.csv/team_aliases.csv")
    p.add_argument("action", choices=["review", "accept"])
    p.add_argument("directory", nargs="?", help="accept: the directory to write (a data dir, or the package's "
                                                "football_pipeline/common/data)")
    p.add_argument("--all", action="store_true", help="review: accepted decisions too")
    p.add_argument("--warehouse-url", help="default: $WAREHOUSE_URL or the local SQLite warehouse")
    p.set_defaults(handler=teams)

    p = commands.add_parser("migrate", help="create or upgrade the warehouse schema")
    p.add_argument("--warehouse-url")
    p.set_defaults(handler=migrate)

    p = commands.add_parser("schema-sql", help="print (or --write) sql/002_tables.sql from the schema")
    p.add_argument("--write", action="store_true")
    p.set_defaults(handler=schema_sql)

    args = parser.parse_args(argv)
    if args.handler is not schema_sql:  # the settings, checked before any work, each problem named
        problems = settings.check_environment()
        if problems:
            return _refuse(args.command, problems)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
