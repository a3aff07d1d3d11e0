"""Warehouse assets: reference tables, the per-partition canonical tables, and aggregates."""


from typing import Any

import dagster as dg
import sqlalchemy as sa

from football_pipeline import partitions, pipeline
from football_pipeline.assets.ingestion import FBREF_KEY, FOOTBALL_DATA_KEY, UNDERSTAT_KEY
from football_pipeline.ingestion import clubelo
from football_pipeline.resources import SourceFilesResource, WarehouseResource
from football_pipeline.common.teams import Vocabulary
from football_pipeline.warehouse import integrity, load, migrate, reference, resolve, review

TEAMS_KEY = dg.AssetKey(["warehouse", "teams"])
MATCHES_KEY = dg.AssetKey(["warehouse", "matches"])
PARTITION_TABLES = {
    "matches": "Canonical matches: one row per real match, merged across sources, with data_quality_score.",
    "team_match_stats": "One row per team per match: goals, points, xG and match statistics (a hypertable).",
    "odds": "Odds, long: match, bookmaker, market, line, outcome, opening/closing, decimal price.",
    "xg": "Expected goals per match and source (Understat), with the source's own forecast.",
}


class WarehouseLoadConfig(dg.Config):
    allow_shrink: bool = False
    """Accept a file with fewer completed matches than the warehouse holds (otherwise refused)."""
    force: bool = False
    """Rewrite the partition even when its files are unchanged since the last load."""


@dg.asset(key=TEAMS_KEY, group_name="warehouse", kinds={"sql"})
def teams(context: dg.AssetExecutionContext, sources: SourceFilesResource, warehouse: WarehouseResource):
    """Competitions, canonical teams and every source's spellings of them (teams, team_aliases).

    The curated (bundled) vocabulary; a data dir's own teams.csv/team_aliases.csv rows, and the clubs
    and spellings the open vocabulary decided, are written with the partitions that load them, in their
    transaction. The metadata lists those decisions for review."""
    engine = warehouse.engine()
    sources.vocabulary()  # a data dir's files that contradict the bundled ones are refused here, named
    counts = reference.load_reference(engine, Vocabulary.load())
    pending = review.decisions(engine)
    table = "| competition | season | source | spelling | team | decision | evidence |\n|---|---|---|---|---|---|---|\n"
    table += "\n".join(f"| {r['competition_id']} | {r['season']} | {r['source']} | {r['alias']} | {r['team_id']} | "
                       f"{r['decision']} | {str(r['evidence'])[:160]} |" for r in pending[:100])
    return dg.MaterializeResult(metadata={**{k: dg.MetadataValue.int(v) for k, v in counts.items()},
                                          "warehouse": warehouse.describe(),
                                          "decisions_to_review": dg.MetadataValue.int(len(pending)),
                                          "decisions": dg.MetadataValue.md(table if pending else "none")})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["warehouse", name], group_name="warehouse", description=text, kinds={"sql"},
                     partitions_def=partitions.PARTITIONS,
                     deps=[FOOTBALL_DATA_KEY, UNDERSTAT_KEY, FBREF_KEY, TEAMS_KEY])
        for name, text in PARTITION_TABLES.items()
    ],
    ins={"football_data": dg.AssetIn(FOOTBALL_DATA_KEY), "understat": dg.AssetIn(UNDERSTAT_KEY),
         "fbref": dg.AssetIn(FBREF_KEY)},
    check_specs=[
        dg.AssetCheckSpec("referential_integrity", asset=MATCHES_KEY, blocking=True,
                          description="Every match's teams and competition exist; every odds, xG and "
                                      "team-match row belongs to a match of the partition."),
        dg.AssetCheckSpec("sources_available", asset=MATCHES_KEY,
                          description="Every source of the partition could be read and used now; a secondary "
                                      "file refused (e.g. spellings not resolved) is left out and named here, "
                                      "and a source that loaded this partition before keeps it as it was."),
        dg.AssetCheckSpec("teams_resolved", asset=MATCHES_KEY,
                          description="Club spellings the curated vocabulary lacked, and what the load decided: "
                                      "a new club, a new spelling of an absent expected club, or the club whose "
                                      "matches a secondary source shares (with the evidence)."),
        dg.AssetCheckSpec("cross_source_agreement", asset=MATCHES_KEY,
                          description="football-data, Understat and FBref agree on each shared match's score and "
                                      "date (within a day); disagreements are listed."),
    ],
    pool="warehouse",
)
def partition_tables(
    context: dg.AssetExecutionContext,
    config: WarehouseLoadConfig,
    football_data: Any,  # pipeline.SourceResult | pipeline.Unavailable | None (Dagster types no unions)
    understat: Any,
    fbref: Any,
    warehouse: WarehouseResource,
    sources: SourceFilesResource,
):
    """Load one competition x season into matches, team_match_stats, odds and xg in one transaction."""
    competition_id, season = partitions.split(context.partition_key)
    engine = warehouse.engine()
    inputs = [r for r in (football_data, understat, fbref) if r is not None]
    unavailable = [r for r in inputs if isinstance(r, pipeline.Unavailable)]
    results = [r for r in inputs if isinstance(r, pipeline.SourceResult)]
    problems = pipeline.fatal_problems(results)
    if problems:
        raise dg.Failure(description=f"{competition_id} {season}: not loaded, the warehouse is unchanged. "
                                     + " | ".join(problems))
    held = load.held_sources(engine, competition_id, season.key)
    missing = [u for u in unavailable if held.get(u.source)]
    status, counts, findings = "no source files for this partition: warehouse unchanged", {}, []
    decisions: list[str] = []
    left_out: list[str] = []
    if missing:
        status = "kept as it was: " + "; ".join(f"{u.source} unavailable ({u.reason})" for u in missing)
        results = []
    if results:
        prints = {r.file.source: r.fingerprint for r in results}
        if not config.force and pipeline.unchanged(engine, competition_id, season.key, prints):
            status = "unchanged since the last load: nothing written"
            rows, left_out = pipeline.prepare(competition_id, season.key, results,
                                              pipeline.learned_vocabulary(engine, sources.vocabulary()))
            findings = rows.findings + [c.reason for rejected in rows.conflicts.values() for c in rejected]
        else:
            try:
                loaded, rows, left_out = pipeline.load_sources(engine, competition_id, season.key, results,
                                                               allow_shrink=config.allow_shrink,
                                                               vocabulary=sources.vocabulary())
            except load.LoadRefused as refused:
                raise dg.Failure(description=str(refused)) from refused
            if loaded is None:
                raise dg.Failure(description=f"{competition_id} {season}: not loaded, the warehouse is unchanged. "
                                             + " | ".join(left_out))
            decisions = rows.resolution.summary() if rows.resolution else []
            migrate.refresh_aggregates(engine)
            status, counts = "loaded", loaded.rows
            findings = rows.findings + [c.reason for rejected in rows.conflicts.values() for c in rejected]
            context.log.info(f"{competition_id} {season}: {loaded.rows}, quarantined {loaded.quarantined}")

    for name in PARTITION_TABLES:
        metadata = {"status": status, "warehouse": warehouse.describe()}
        if name in counts:
            metadata["rows"] = dg.MetadataValue.int(counts[name])
        yield dg.MaterializeResult(asset_key=["warehouse", name], metadata=metadata)
    missing_sources = [f"{u.source}: {u.reason}" for u in unavailable] + left_out
    yield dg.AssetCheckResult(
        asset_key=MATCHES_KEY, check_name="sources_available", passed=not missing_sources,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(missing_sources) or None,
        metadata={"status": status, "left_out": "\n".join(left_out) or "none"},
    )
    yield dg.AssetCheckResult(
        asset_key=MATCHES_KEY, check_name="teams_resolved", passed=not decisions,
        severity=dg.AssetCheckSeverity.WARN,
        description=("; ".join(decisions)[:2000] or None),
        metadata={"decisions": dg.MetadataValue.int(len(decisions)),
                  "details": "\n".join(decisions) or "none",
                  "review": "football-pipeline teams review (accept with: football-pipeline teams accept DIR)"},
    )
    orphans = integrity.orphans(engine, competition_id, season.key)
    yield dg.AssetCheckResult(
        asset_key=MATCHES_KEY, check_name="referential_integrity", passed=not orphans,
        severity=dg.AssetCheckSeverity.ERROR, metadata={"problems": "\n".join(orphans) or "none"},
    )
    yield dg.AssetCheckResult(
        asset_key=MATCHES_KEY, check_name="cross_source_agreement", passed=not findings,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"disagreements": dg.MetadataValue.int(len(findings)), "first": "\n".join(findings[:20]) or "none"},
    )


@dg.asset(key=["warehouse", "team_season_stats"], group_name="warehouse", kinds={"sql"},
          deps=[dg.AssetKey(["warehouse", "team_match_stats"])])
def team_season_stats(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """League tables per competition and season (team_stats_monthly aggregate, rolled up in a view)."""
    engine = warehouse.engine()
    kind = migrate.refresh_aggregates(engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT count(*) FROM team_season_stats")).scalar_one()
        latest = connection.execute(sa.text(
            "SELECT competition_id, season FROM team_season_stats ORDER BY season DESC, competition_id LIMIT 1"
        )).first()
        table = ""
        if latest:
            top = connection.execute(
                sa.text("SELECT team_name, played, wins, draws, losses, goals_for, goals_against, points "
                        "FROM team_season_stats WHERE competition_id = :c AND season = :s "
                        "ORDER BY points DESC, goal_difference DESC, goals_for DESC"),
                {"c": latest[0], "s": latest[1]},
            ).all()
            table = f"**{latest[0]} {latest[1]}**\n\n| team | P | W | D | L | GF | GA | Pts |\n|---|---|---|---|---|---|---|---|\n"
            table += "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in top)
    return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.int(rows), "aggregate": kind,
                                          "latest_table": dg.MetadataValue.md(table or "no data")})


@dg.asset(key=["warehouse", "elo_ratings"], group_name="warehouse", kinds={"sql"}, deps=[TEAMS_KEY],
          check_specs=[dg.AssetCheckSpec(
              "clubelo_names", asset=["warehouse", "elo_ratings"],
              description="Every ClubElo club that could be ours (our countries, a tier we load) is a "
                          "warehouse club: by its alias, or by country, the seasons it was rated at the "
                          "level our club played, and a name alike (stored in team_resolutions). An "
                          "unresolved name is a WARN, never a block.")])
def elo_ratings(context: dg.AssetExecutionContext, sources: SourceFilesResource, warehouse: WarehouseResource):
    """ClubElo ratings history of the clubs in our leagues (clubelo/ in the data directory)."""
    engine = warehouse.engine()
    vocabulary = pipeline.learned_vocabulary(engine, sources.vocabulary())
    raw = clubelo.read_all(sources.directory())
    ratings, unmapped = clubelo.map_ratings(raw, vocabulary)
    decided, unresolved = resolve.clubelo(engine, raw, unmapped, vocabulary, clubelo.LEAGUE_COUNTRY)
    if decided:
        with engine.begin() as connection:
            load.write_reference(connection, {"team_aliases": [
                {"source": d.source, "country": d.country, "alias": d.spelling, "team_id": d.team_id}
                for d in decided], "team_resolutions": [d.row() for d in decided]})
        vocabulary = pipeline.learned_vocabulary(engine, sources.vocabulary())
        ratings, unmapped = clubelo.map_ratings(raw, vocabulary)
    count = reference.load_elo_ratings(engine, ratings)
    yield dg.MaterializeResult(metadata={
        "rows": dg.MetadataValue.int(count),
        "teams": dg.MetadataValue.int(ratings["team_id"].nunique() if count else 0),
        "clubs_not_in_our_leagues": dg.MetadataValue.int(len(unmapped) - len(unresolved)),
        "clubs_resolved_by_name": dg.MetadataValue.int(len(decided)),
    })
    yield dg.AssetCheckResult(
        asset_key=["warehouse", "elo_ratings"], check_name="clubelo_names", passed=not unresolved,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(unresolved)[:2000] or None,
        metadata={"resolved": "\n".join(d.describe() for d in decided) or "none",
                  "unresolved": "\n".join(unresolved) or "none"},
    )
